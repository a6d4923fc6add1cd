"""The simulator's intended outcome (``CallInfo.kind``) gives the documented campaigner outcome.

Each row sets up one call the way docs/simulator.md says produces an outcome kind, runs
it to the end, and reads it back through every source the client has: the terminal
callback, call details (v1 with ``details=true``), the v1 bulk listing, and v3 details with
the legs endpoint. Every observation goes through ``campaigner.outcomes.verdict`` and must
give the outcome docs/outcomes.md documents for that status in that dial mode:

- v1 with leg statuses (callback ``Legs``, ``Details.Leg1Status``/``Leg2Status``): the
  "v1 legs" table;
- v1 without them (bulk listing): the "v1 Status" table, the contact's result;
- v3: the "v3 status" table, refined by the legs endpoint (a contact leg ``failed``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest
from trio.testing import MockClock

from campaigner.domain import CallObservation, DialMode, Outcome
from campaigner.errors import DndRefusedError
from campaigner.exotel import parse_v1_callback, parse_v3_callback
from campaigner.outcomes import verdict
from campaigner.simulator import CallInfo

from .conftest import AGENT, CALLBACK_URL, CUSTOMER, FINAL, Build, Delivery, Harness, spec

C, B, NA, F, AU = (
    Outcome.CONNECTED,
    Outcome.BUSY,
    Outcome.NO_ANSWER,
    Outcome.FAILED,
    Outcome.AGENT_UNANSWERED,
)


@dataclass(frozen=True)
class Row:
    """One way to produce an outcome kind, and what each source must then say."""

    mode: DialMode
    setup: str  # "<customer|agent>:<outcome>", "outage" or "dnd"
    kind: str  # CallInfo.kind
    v1_legs: Outcome | None  # None: v1 does not create the call (403 NDNC)
    v1_status: Outcome | None
    v3: Outcome | None  # None: v3 cannot do this (flows are v1 only)
    v3_legs: Outcome | None


ROWS = [
    Row("agent_first", "customer:completed", "completed", C, C, C, C),
    Row("agent_first", "customer:busy", "busy", B, B, NA, F),
    Row("agent_first", "customer:no_answer", "no_answer", NA, NA, NA, NA),
    Row("agent_first", "customer:failed", "failed", F, F, NA, F),
    Row("agent_first", "agent:agent_unanswered", "agent_unanswered", AU, NA, AU, AU),
    Row("agent_first", "agent:busy", "agent_unanswered", AU, B, AU, AU),
    Row("agent_first", "agent:agent_hangup", "agent_hangup", AU, F, AU, AU),
    Row("agent_first", "outage", "from_leg_no_dial", AU, F, AU, AU),
    Row("agent_first", "dnd", "to_leg_no_dial", None, None, F, F),
    Row("contact_first", "customer:completed", "completed", C, C, C, C),
    Row("contact_first", "customer:busy", "busy", B, B, NA, F),
    Row("contact_first", "customer:no_answer", "no_answer", NA, NA, NA, NA),
    Row("contact_first", "customer:failed", "failed", F, F, NA, F),
    Row("contact_first", "agent:agent_unanswered", "agent_unanswered", AU, NA, AU, AU),
    Row("contact_first", "agent:failed", "agent_unanswered", AU, F, AU, AU),
    Row("contact_first", "customer:agent_hangup", "agent_hangup", AU, F, AU, AU),
    Row("contact_first", "outage", "from_leg_no_dial", F, F, F, F),
    Row("contact_first", "dnd", "from_leg_no_dial", None, None, F, F),
    Row("flow", "customer:completed", "completed", C, C, None, None),
    Row("flow", "customer:busy", "busy", B, B, None, None),
    Row("flow", "customer:no_answer", "no_answer", NA, NA, None, None),
]


def _scenario(row: Row) -> dict[str, Any]:
    # The agent is a listed user, so the simulator knows which leg is the customer's.
    changes: dict[str, Any] = {"agents": {AGENT: {}}}
    if row.setup == "outage":
        changes["exophones"] = [{"number": "+912241499102", "outgoing": "major_outage"}]
    elif row.setup == "dnd":
        changes["numbers"] = {CUSTOMER: {"dnd": True}}
    else:
        who, outcome = row.setup.split(":")
        changes["numbers"] = {CUSTOMER if who == "customer" else AGENT: {"outcome": outcome}}
    return changes


async def _run(make: Build, row: Row, api: str) -> tuple[Harness, CallInfo, Delivery]:
    """Place the row's call, run it until its record is final: (harness, info, callback)."""
    h: Harness = await make(**_scenario(row))
    first, second = (AGENT, CUSTOMER) if row.mode == "agent_first" else (CUSTOMER, AGENT)
    target: dict[str, Any] = {"second": second}
    if row.mode == "flow":
        target = {"second": None, "flow_app_id": "1357"}
    callback = {"status_callback_url": CALLBACK_URL, "callback_content_type": "application/json"}
    obs = await h.client.connect(spec(api, first, **callback, **target))
    await h.until(obs.sid, FINAL)
    info = h.sim.call(obs.sid)
    assert info.kind == row.kind
    (sent,) = h.capture.to("/exotel")
    return h, info, sent


def _outcome(obs: CallObservation, mode: DialMode) -> Outcome | None:
    found = verdict(obs, mode)
    return None if found is None else found.outcome


@pytest.mark.parametrize("row", [r for r in ROWS if r.v1_legs], ids=lambda r: f"{r.mode}-{r.setup}")
async def test_v1_kind_gives_the_documented_outcome(
    make: Build, autojump_clock: MockClock, row: Row
) -> None:
    h, info, sent = await _run(make, row, "v1")
    callback = parse_v1_callback(sent.body, sent.content_type, sent.url.query.decode())
    details = await h.client.call_details(info.sid, api="v1")
    (listed,) = await h.client.bulk_call_details(sids=[info.sid])
    assert callback.status == details.status == listed.status == info.status
    got = [_outcome(o, row.mode) for o in (callback, details, listed)]
    assert got == [row.v1_legs, row.v1_legs, row.v1_status]


@pytest.mark.parametrize("row", [r for r in ROWS if r.v3], ids=lambda r: f"{r.mode}-{r.setup}")
async def test_v3_kind_gives_the_documented_outcome(
    make: Build, autojump_clock: MockClock, row: Row
) -> None:
    h, info, sent = await _run(make, row, "v3")
    callback = parse_v3_callback(sent.body, sent.content_type, sent.url.query.decode())
    details = await h.client.call_details(info.sid, api="v3")
    with_legs = dataclasses.replace(details, legs=await h.client.call_legs(info.sid))
    assert callback.status == details.status == info.v3_status
    got = [_outcome(o, row.mode) for o in (callback, details, with_legs)]
    assert got == [row.v3, row.v3, row.v3_legs]


async def test_v1_dnd_is_refused_in_both_dial_modes(make: Build, autojump_clock: MockClock) -> None:
    for first, second in ((AGENT, CUSTOMER), (CUSTOMER, AGENT)):
        h: Harness = await make(numbers={CUSTOMER: {"dnd": True}})
        with pytest.raises(DndRefusedError, match="TRAI NDNC regulations"):
            await h.client.connect(spec("v1", first, second))
        assert h.sim.calls() == []
