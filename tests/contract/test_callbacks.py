"""What the simulator pushes, read by the client's parsers, agrees with what it did.

The client asks for callbacks in its own words (``CallSpec`` -> v1 ``StatusCallback*`` or
v3 ``status_callback``); the simulator sends them to a :class:`Capture`, and every body
goes through ``parse_v1_callback`` / ``parse_v3_callback`` / ``parse_heartbeat``. Each
parsed observation must match the simulator's ``CallInfo``: SID, event, terminal status,
legs, talk time, recording, and the moment it was sent.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import trio
from trio.testing import MockClock

from campaigner.domain import CallObservation, LegState
from campaigner.exotel import parse_heartbeat, parse_v1_callback, parse_v3_callback
from campaigner.simulator.phones import national

from .conftest import (
    AGENT,
    ANCHOR,
    CALLBACK_URL,
    CUSTOMER,
    END,
    EXOPHONE,
    HEARTBEAT_URL,
    TALK,
    Build,
    Delivery,
    Harness,
    spec,
)

# With FIXED timing: leg 1 answers at 6 s, leg 2 at 11 s, the call ends at 71 s.
A1, A2 = 6, 11


def recording(sid: str) -> str:
    return f"https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/acmecontract/{sid}.mp3"


def v1(sent: Delivery) -> CallObservation:
    return parse_v1_callback(sent.body, sent.content_type, sent.url.query.decode())


def v3(sent: Delivery) -> CallObservation:
    return parse_v3_callback(sent.body, sent.content_type, sent.url.query.decode(), sent.method)


def summary(obs: CallObservation) -> tuple[object, ...]:
    return obs.sid, obs.event, obs.terminal, obs.status, obs.talk_time, obs.recording_url


# ---- v1 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/json"])
async def test_v1_answered_and_terminal(
    h: Harness, autojump_clock: MockClock, content_type: str
) -> None:
    obs = await h.client.connect(
        spec("v1", record=True, custom_field="order-17", status_callback_url=CALLBACK_URL,
             callback_events=("terminal", "answered"), callback_content_type=content_type)
    )  # fmt: skip
    await h.until(obs.sid, END + 1)
    info = h.sim.call(obs.sid)
    sent = h.capture.to("/exotel")
    assert [str(d.url) for d in sent] == [CALLBACK_URL] * 3  # called exactly as given
    assert [d.method for d in sent] == ["POST"] * 3
    assert all(d.content_type.startswith(content_type) for d in sent)
    assert [d.time - info.created_at for d in sent] == [A1, A2, END]
    parsed = [v1(d) for d in sent]
    assert [summary(p) for p in parsed] == [
        (info.sid, "answered", False, "in-progress", 0, None),
        (info.sid, "answered", False, "in-progress", 0, None),
        (info.sid, "terminal", True, info.status, TALK, recording(info.sid)),
    ]
    # docs/exotel/quirks.md: answered events show Legs[0] in-progress, Legs[1] empty, then both.
    assert [p.legs for p in parsed] == [
        (LegState("in-progress", 0), LegState(None, 0)),
        (LegState("in-progress", 0), LegState("in-progress", 0)),
        (LegState("completed", END - A1), LegState("completed", TALK)),
    ]
    terminal = parsed[-1]
    assert terminal.talk_time == info.ended_at - (info.answered_at or 0)
    assert (terminal.record_complete, terminal.custom_field) == (True, "order-17")
    assert (terminal.from_number, terminal.to_number, terminal.caller_id) == (
        AGENT,
        CUSTOMER,
        national(EXOPHONE),
    )
    assert terminal.ended_at == ANCHOR + timedelta(seconds=END)


@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/json"])
async def test_v1_unanswered_call(
    make: Build, autojump_clock: MockClock, content_type: str
) -> None:
    h: Harness = await make(numbers={CUSTOMER: {"outcome": "busy"}})
    obs = await h.client.connect(
        spec("v1", record=True, status_callback_url=CALLBACK_URL,
             callback_content_type=content_type)
    )  # fmt: skip
    await trio.sleep(END)
    info = h.sim.call(obs.sid)
    (sent,) = h.capture.to("/exotel")
    parsed = v1(sent)
    assert summary(parsed) == (info.sid, "terminal", True, "busy", 0, None)  # no recording
    assert parsed.legs == (LegState("completed", int(info.ended_at) - A1), LegState("busy", 0))


async def test_v1_duplicates_parse_the_same(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(faults={"callback_duplicate": 1.0})
    obs = await h.client.connect(spec("v1", status_callback_url=CALLBACK_URL))
    await h.until(obs.sid, END + 20)
    first, second = (v1(d) for d in h.capture.to("/exotel"))
    assert first == second
    assert (first.sid, first.terminal) == (obs.sid, True)


# ---- v3 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "content_type", "sent_type"),
    [
        ("POST", "application/json", "application/json"),
        ("POST", "multipart/form-data", "multipart/form-data"),
        ("GET", None, ""),
    ],
)
async def test_v3_answered_and_terminal(
    h: Harness,
    autojump_clock: MockClock,
    method: str,
    content_type: str | None,
    sent_type: str,
) -> None:
    obs = await h.client.connect(
        spec("v3", record=True, custom_field="order-9", status_callback_url=CALLBACK_URL,
             callback_events=("answered", "terminal"), callback_method=method,
             callback_content_type=content_type)
    )  # fmt: skip
    await h.until(obs.sid, END + 1)
    info = h.sim.call(obs.sid)
    sent = h.capture.to("/exotel")
    assert [d.method for d in sent] == [method] * 3
    assert all(d.content_type.startswith(sent_type) for d in sent)
    assert all(d.url.params["token"] == "cb-secret" for d in sent)  # our query kept
    assert [d.time - info.created_at for d in sent] == [A1, A2, END]
    parsed = [v3(d) for d in sent]
    assert [summary(p) for p in parsed] == [
        (info.sid, "answered", False, None, None, None),
        (info.sid, "answered", False, None, None, None),
        (info.sid, "terminal", True, info.v3_status, TALK, recording(info.sid)),
    ]
    terminal = parsed[-1]
    assert (terminal.state, terminal.record_complete, terminal.custom_field) == (
        "terminal",
        True,
        "order-9",
    )
    assert terminal.ended_at == ANCHOR + timedelta(seconds=END)
    assert terminal.caller_id == EXOPHONE


async def test_v3_terminal_of_an_unanswered_call(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(numbers={AGENT: {"outcome": "no_answer"}})
    obs = await h.client.connect(spec("v3", record=True, status_callback_url=CALLBACK_URL))
    await trio.sleep(END)
    info = h.sim.call(obs.sid)
    (sent,) = h.capture.to("/exotel")
    assert summary(v3(sent)) == (info.sid, "terminal", True, "from_leg_unanswered", 0, None)
    assert sent.time == info.ended_at


# ---- heartbeats -----------------------------------------------------------------------------

PHONES = {"02241499102": "+912241499102", "08047091234": "+918047091234",
          "01139585476": "+911139585476"}  # fmt: skip


async def test_heartbeats_of_every_status_type(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(heartbeat={"url": HEARTBEAT_URL, "interval": 3600})
    await trio.sleep(10)
    h.sim.set_exophone_health("02241499102", outgoing="major_outage")
    h.sim.trigger_heartbeat()
    await trio.sleep(10)
    for sid in PHONES:
        h.sim.set_exophone_health(sid, incoming="partial_network_outage")
    h.sim.trigger_heartbeat()
    await trio.sleep(10)
    beats = [parse_heartbeat(d.body, d.content_type) for d in h.capture.to("/heartbeat")]
    assert [(b.timestamp - ANCHOR).total_seconds() for b in beats] == [0, 10, 20]
    assert [(b.status_type, b.incoming_affected, b.outgoing_affected) for b in beats] == [
        ("OK", (), ()),
        ("WARNING", (), ("02241499102",)),
        ("CRITICAL", tuple(PHONES), ("02241499102",)),
    ]
    assert [b.data for b in beats] == [{}, {"02241499102": PHONES["02241499102"]}, PHONES]


async def test_heartbeat_payload_too_large(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(heartbeat={"url": HEARTBEAT_URL, "payload_too_large": True})
    h.sim.set_exophone_health("02241499102", outgoing="major_outage")
    await trio.sleep(1)
    (sent,) = h.capture.to("/heartbeat")
    beat = parse_heartbeat(sent.body, sent.content_type)
    assert (beat.status_type, beat.incoming_affected, beat.outgoing_affected, beat.data) == (
        "PAYLOAD_TOO_LARGE",
        (),
        (),
        {},
    )
    assert str(sent.url) == HEARTBEAT_URL
