"""A call's life as the client sees it through GETs, and the record that is finished late.

docs/exotel/quirks.md: "The v1 Call record is finished late: `Status: completed` can come with
`EndTime: "1970-01-01 05:30:00"` ..., `Duration: null` and `Price: null` for about two
minutes after the call ends. Don't finalise talk time until `EndTime` is real." The
simulator keeps the placeholders for ``record_finalize_delay`` (120 s here); the client
must say ``record_complete=False`` and give no talk time until they are gone.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from trio.testing import MockClock

from campaigner.domain import CallObservation

from .conftest import ANCHOR, END, FINAL, TALK, Harness, spec


def _view(obs: CallObservation) -> tuple[object, ...]:
    return (
        obs.status,
        obs.terminal,
        obs.record_complete,
        obs.talk_time,
        obs.duration,
        obs.ended_at,
        obs.detail_leg_status,
    )


async def test_v1_details_over_a_calls_life(h: Harness, autojump_clock: MockClock) -> None:
    obs = await h.client.connect(spec("v1", record=True))
    seen = {}
    # queued 0-1, leg 1 rings 1-6, leg 2 rings 6-11, talk 11-71, placeholders until 191.
    for offset in (0.5, 3, 8, 30, END, FINAL - 1, FINAL):
        await h.until(obs.sid, offset)
        seen[offset] = _view(await h.client.call_details(obs.sid, api="v1"))
    ended = ANCHOR + timedelta(seconds=END)
    assert seen == {
        0.5: ("queued", False, False, None, None, None, (None, None)),
        3: ("ringing", False, False, None, None, None, (None, None)),
        8: ("in-progress", False, False, None, None, None, ("in-progress", None)),
        30: ("in-progress", False, False, None, None, None, ("in-progress", "in-progress")),
        END: ("completed", True, False, None, None, None, ("completed", "completed")),
        FINAL - 1: ("completed", True, False, None, None, None, ("completed", "completed")),
        FINAL: ("completed", True, True, TALK, END, ended, ("completed", "completed")),
    }


async def test_v1_recording_and_price_only_on_the_finished_record(
    h: Harness, autojump_clock: MockClock
) -> None:
    obs = await h.client.connect(spec("v1", record=True))
    await h.until(obs.sid, END + 1)
    pending = await h.client.call_details(obs.sid, api="v1")
    (listed,) = await h.client.bulk_call_details(sids=[obs.sid])
    assert (pending.recording_url, pending.price) == (None, None)
    assert (listed.record_complete, listed.duration, listed.price) == (False, None, None)
    await h.until(obs.sid, FINAL)
    final = await h.client.call_details(obs.sid, api="v1")
    (listed,) = await h.client.bulk_call_details(sids=[obs.sid])
    assert final.recording_url is not None
    assert listed.record_complete
    assert (listed.duration, listed.recording_url) == (END, final.recording_url)


@pytest.mark.parametrize("offset", [END, FINAL - 1])
async def test_v3_details_stay_active_while_processing(
    h: Harness, autojump_clock: MockClock, offset: float
) -> None:
    # 002: "active: The call is not yet over OR post call processing data is yet to be
    # processed"; end_time is the epoch-zero placeholder meanwhile.
    obs = await h.client.connect(spec("v3"))
    await h.until(obs.sid, offset)
    details = await h.client.call_details(obs.sid, api="v3")
    assert (details.state, details.status, details.terminal) == ("active", None, False)
    assert (details.record_complete, details.talk_time, details.ended_at) == (False, None, None)


async def test_v3_details_once_processed(h: Harness, autojump_clock: MockClock) -> None:
    obs = await h.client.connect(spec("v3"))
    await h.until(obs.sid, FINAL)
    details = await h.client.call_details(obs.sid, api="v3")
    assert (details.state, details.status, details.terminal) == ("terminal", "completed", True)
    assert (details.record_complete, details.talk_time) == (True, TALK)
    assert details.ended_at == ANCHOR + timedelta(seconds=END)
