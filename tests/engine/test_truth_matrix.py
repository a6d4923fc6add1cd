"""Every recorded outcome is the true one: {v1, v3} x dial modes x how results arrive x
every outcome the simulator can produce x Exotel's record finalisation of 0 and 120 s.

One engine run per (api, mode, delivery, finalisation), in virtual time against the
in-process simulator, with a few contacts and agents set up so that every kind of call
happens in it many times over, whichever agent or caller ID the engine picks: a
configured outcome per contact, the agent's leg failing on a third or half of the calls
(the outcome mix), an ExoPhone that cannot dial half of its calls, v3 contacts on the DND registry,
v3 agents whose device refuses every call. Each cell then judges that run's calls of one
kind, told by their real legs, with the truth oracle (tests/engine/truth.py). The run
is shared by its cells (``RUNS``): the matrix costs 30 runs, not 250.

Cells that fail today because of a bug someone is fixing are marked in one place,
:func:`known_bug`, as strict xfails: once the fix lands they XPASS, which fails, and
the marker must go.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio.testing

from campaigner.simulator import Scenario, Simulator
from campaigner.simulator.inspect import CallTruth, truth_json, truths
from tests.engine.harness import run_against_sim, write_campaign
from tests.engine.truth import (
    AGENT_REFUSALS,
    NO_DIAL_KINDS,
    Recorded,
    Run,
    allowed_outcomes,
    from_journal,
    judge,
    true_outcome,
    truth_from_json,
)

AGENTS = ["+919900000001", "+919900000002", "+919900000003"]
# v3 refuses a call whose `from` agent's device cannot take it (agent-first only)
DEVICE_AGENTS = {
    "+919900000004": "off",  # 404/10703
    "+919900000005": "unavailable",  # 409/1012
    "+919900000006": "unverified",  # 409/10705
    "+919900000007": "unknown_user",  # 404/10731
}
GOOD_PHONE, HALF_DOWN = "+912241499102", "+911139585476"  # HALF_DOWN: partial outage
CONTACT_OUTCOMES = ["completed", "busy", "no_answer", "failed", "agent_hangup"]
DND_CONTACTS = ["+919700000091", "+919700000092"]  # v3 creates a call, never dialing them
PLAIN_CONTACTS = [f"+91970000008{i}" for i in range(6)]  # answer; their agent may not

APIS_MODES = [
    ("v1", "agent_first"),
    ("v1", "contact_first"),
    ("v1", "flow"),
    ("v3", "agent_first"),
    ("v3", "contact_first"),
]
DELIVERIES = ["callbacks", "polling", "lossy"]  # lossy: 30% of callbacks lost, 30% duplicated
FINALISE = [0, 120]
# The outcome mix, for every leg without a configured outcome: the agent's leg fails on
# 30% or 50% of calls (agent-first: the mix's agent_unanswered is always leg 0's; contact-first:
# its busy and no_answer hit the customer's leg, which the simulator takes to be `To`).
AGENT_FAILS: dict[str, dict[str, float]] = {
    "agent_first": {"completed": 0.7, "agent_unanswered": 0.3},
    "contact_first": {"completed": 0.5, "busy": 0.25, "no_answer": 0.25},
    "flow": {"completed": 1},
}
KINDS = [
    "completed",
    "busy",
    "no_answer",
    "failed",
    "agent_unanswered",  # the agent's leg was busy, rang out or failed
    "agent_hangup",
    "from_leg_no_dial",  # the ExoPhone could not dial
    "to_leg_no_dial",  # v3: the contact is on the DND registry
    "device_error",  # v3: the agent's device refuses the connect, no call exists
]


def kinds(api: str, mode: str) -> list[str]:
    """The kinds of call a run in this api and mode can produce."""
    found = list(KINDS)
    if mode == "flow":
        found = [k for k in found if k not in ("agent_unanswered", "agent_hangup")]
    if api == "v1" or mode != "agent_first":
        # v1 refuses a DND number (403, skipped); v3 contact-first never dials the DND
        # contact's leg 0, which is a from_leg_no_dial like the ExoPhone's.
        found.remove("to_leg_no_dial")
        found.remove("device_error")  # only v3 checks the `from` user's device
    return found


def kind_of(truth: CallTruth, mode: str) -> str:
    """What kind of call it really was, told by its legs (not by the simulator's label)."""
    if truth.kind in NO_DIAL_KINDS:
        return truth.kind
    outcome = true_outcome(truth, mode)
    if outcome == "agent_unanswered" and "canceled" in truth.legs:
        return "agent_hangup"  # the first leg hung up while the second rang
    return "completed" if outcome == "connected" else outcome


def known_bug(api: str, mode: str, delivery: str, finalise: int, kind: str) -> str | None:
    """Why a cell fails today (a bug another engineer is fixing), or None.

    The one place strict xfails are decided: remove a line when its fix has landed.
    """
    return None


@dataclass(frozen=True)
class Cell:
    api: str
    mode: str
    delivery: str
    finalise: int

    @property
    def key(self) -> str:
        return f"{self.api}-{self.mode}-{self.delivery}-final{self.finalise}"


@dataclass
class Done:
    run: Run
    facts: list[CallTruth]
    reason: str


RUNS: dict[Cell, Done] = {}  # one engine run per cell, shared by its kinds


def contacts() -> dict[str, str]:
    """Contact number -> its configured outcome (three of each)."""
    return {
        f"+9197000{i:02d}{j}00": outcome
        for i, outcome in enumerate(CONTACT_OUTCOMES)
        for j in range(3)
    }


def campaign_text(cell: Cell) -> str:
    numbers = [*contacts(), *PLAIN_CONTACTS, *DND_CONTACTS]
    dial: dict[str, object]
    if cell.mode == "flow":
        dial = {"mode": "flow", "app_id": "248751"}
    else:
        dial = {"mode": cell.mode, "agents": list(agents(cell))}
    return "\n".join(
        [
            "name: matrix",
            f"api: {cell.api}",
            f"caller_ids: {json.dumps([GOOD_PHONE, HALF_DOWN])}",
            f"dial: {json.dumps(dial)}",
            f"contacts: {{inline: {json.dumps(numbers)}}}",
            "call: {recording: {record: true}, ring_timeout: 30, time_limit: 300}",
            "retry: {max_attempts: 2, on: [busy, no_answer, failed], backoff: {first: 1m}}",
            "pacing: {requests_per_minute: 180, max_concurrent_calls: 5}",
            "tracking: {poll_after: 2m, poll_interval: 1m, give_up_after: 2h}",
            "screening: {dnd: call}",
            "health: {circuit_breaker: null}  # many calls fail here on purpose",
            'schedule: {windows: [{start: "00:00", end: "24:00"}]}',
            "",
        ]
    )


def agents(cell: Cell) -> dict[str, dict[str, str]]:
    """The campaign's agents; broken devices only where v3 checks them."""
    if cell.mode == "flow":
        return {}
    listed: dict[str, dict[str, str]] = {agent: {} for agent in AGENTS}
    if "device_error" in kinds(cell.api, cell.mode):
        listed |= {agent: {"device": device} for agent, device in DEVICE_AGENTS.items()}
    return listed


def scenario(cell: Cell) -> Scenario:
    numbers: dict[str, Any] = {phone: {"outcome": o} for phone, o in contacts().items()}
    numbers |= {phone: {"dnd": True} for phone in DND_CONTACTS}
    faults = {"callback_drop": 0.3, "callback_duplicate": 0.3} if cell.delivery == "lossy" else {}
    return Scenario.model_validate(
        {
            "seed": 11,
            "exophones": [
                {"number": GOOD_PHONE},
                {"number": HALF_DOWN},
            ],
            # half its calls cannot dial from 1 s on (a run's start-up check passes)
            "heartbeat": {
                "timeline": [
                    {"at": 1, "exophone": "01139585476", "outgoing": "partial_network_outage"}
                ]
            },
            # not listed in contact-first: the simulator then takes `To` (the agent) for
            # the customer's leg, and the mix's failures land on the agent's leg
            "agents": {} if cell.mode == "contact_first" else agents(cell),
            "numbers": numbers,
            "outcome_mix": AGENT_FAILS[cell.mode],
            "timing": {"record_finalize_delay": cell.finalise},
            "faults": faults,
        }
    )


def write_cell(cell: Cell, work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    return write_campaign(work, campaign_text(cell))


async def run_cell(cell: Cell, work: Path) -> Done:
    if cell not in RUNS:
        path = write_cell(cell, work)
        out = await run_against_sim(path, scenario(cell), callbacks=cell.delivery != "polling")
        RUNS[cell] = Done(from_journal(out.journal()), truths(out.sim), out.result.reason)
    return RUNS[cell]


def whole_runs() -> list[Cell]:
    """One cell per engine run: (api, mode) x delivery x finalisation."""
    return [Cell(a, m, d, f) for a, m in APIS_MODES for d in DELIVERIES for f in FINALISE]


def cells() -> list[Any]:
    """Every (run, kind of call) pair, the known bugs marked strict xfail."""
    params = []
    for cell in whole_runs():
        for kind in kinds(cell.api, cell.mode):
            bug = known_bug(cell.api, cell.mode, cell.delivery, cell.finalise, kind)
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            params.append(pytest.param(cell, kind, marks=marks, id=f"{cell.key}-{kind}"))
    return params


@pytest.mark.parametrize(("cell", "kind"), cells())
async def test_recorded_outcome_is_the_truth(
    cell: Cell,
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
    autojump_clock: trio.testing.MockClock,
) -> None:
    done = await run_cell(cell, tmp_path_factory.getbasetemp() / "matrix" / cell.key)
    assert done.reason == "complete"
    if kind == "device_error":
        refused = [r for r in done.run.refused if r.code in AGENT_REFUSALS - {"10706"}]
        assert refused, f"no device refusal happened in {cell.key}"
        verdict = judge(Run([], {}, {}, refused), [], mode=cell.mode, complete=False)
        verdict.fail_if_wrong()
        return
    of_kind = [truth for truth in done.facts if kind_of(truth, cell.mode) == kind]
    assert of_kind, f"no {kind} call happened in {cell.key}: the set-up no longer makes one"
    mine = {truth.sid for truth in of_kind}
    run = Run([c for c in done.run.calls if c.sid in mine], {}, {})
    verdict = judge(run, of_kind, mode=cell.mode, recording=True)
    verdict.fail_if_wrong()
    assert verdict.checked == len(of_kind)


@pytest.mark.parametrize("cell", whole_runs(), ids=lambda cell: cell.key)
async def test_every_contact_ends_with_its_last_calls_outcome(
    cell: Cell, tmp_path_factory: pytest.TempPathFactory, autojump_clock: trio.testing.MockClock
) -> None:
    """The whole run: no call missing, none invented, contacts end as their last call."""
    done = await run_cell(cell, tmp_path_factory.getbasetemp() / "matrix" / cell.key)
    verdict = judge(done.run, done.facts, mode=cell.mode, recording=True)
    assert verdict.checked == len(done.facts)
    contact_errors = [w for w in verdict.wrong if w.startswith(("contact ", "calls placed"))]
    assert not contact_errors, contact_errors


# ---- the oracle itself can fail ----------------------------------------------------------


def fact(
    legs: tuple[str, str], *, api: str = "v1", talk: int = 0, url: str | None = None
) -> CallTruth:
    return CallTruth(
        sid="s" * 32,
        api=api,
        from_number=AGENTS[0],
        to_number=PLAIN_CONTACTS[0],
        flow=False,
        kind="completed",
        legs=legs,
        talk=talk,
        recorded=url is not None,
        recording_url=url,
        created_at=0.0,
        ended_at=60.0,
        finished_at=180.0,
        answer_lost=False,
        created_on_5xx=False,
    )


def recorded(outcome: str, talk: int | None = None, url: str | None = None) -> Run:
    call = Recorded("s" * 32, PLAIN_CONTACTS[0], AGENTS[0], outcome, talk, url)
    return Run([call], {PLAIN_CONTACTS[0]: outcome}, {PLAIN_CONTACTS[0]: call.sid})


URL = "https://recordings.example/s.mp3"


@pytest.mark.parametrize(
    ("legs", "api", "run", "complaint"),
    [
        (("completed", "busy"), "v1", recorded("connected", 0), "outcome connected"),
        (("busy", ""), "v1", recorded("busy", 0), "allowed ['agent_unanswered']"),
        (("completed", "no-answer"), "v3", recorded("failed", 0), "outcome failed"),
        (("completed", "completed"), "v1", recorded("connected", 41, URL), "talk time 41"),
        (("completed", "completed"), "v1", recorded("connected", 42, None), "recording None"),
        (("completed", "completed"), "v1", recorded("connected"), "was never read"),
        (("completed", "completed"), "v1", recorded("unknown", 42, URL), "outcome unknown"),
    ],
)
def test_the_oracle_names_an_untrue_call(
    legs: tuple[str, str], api: str, run: Run, complaint: str
) -> None:
    verdict = judge(run, [fact(legs, api=api, talk=42, url=URL)], mode="agent_first")
    assert verdict.checked == 1
    assert any(complaint in wrong for wrong in verdict.wrong), verdict.wrong


def test_the_oracle_names_invented_and_missing_calls() -> None:
    other = Run([Recorded("x" * 32, PLAIN_CONTACTS[0], None, "busy", 0, None)], {}, {})
    verdict = judge(other, [fact(("completed", "busy"))], mode="agent_first")
    assert [w.split(":")[0] for w in verdict.wrong] == [
        f"{'x' * 10} {PLAIN_CONTACTS[0]}",
        "calls placed but not recorded",
    ]


@pytest.mark.parametrize(
    ("api", "legs", "allowed"),
    [
        ("v1", ("completed", "busy"), {"busy"}),
        ("v3", ("completed", "busy"), {"busy", "no_answer", "failed"}),
        ("v3", ("completed", "failed"), {"failed", "no_answer"}),
        ("v3", ("completed", "no-answer"), {"no_answer"}),
        ("v3", ("busy", ""), {"agent_unanswered"}),
        ("v3", ("completed", "canceled"), {"agent_unanswered"}),
    ],
)
def test_only_what_the_api_cannot_tell_is_loose(
    api: str, legs: tuple[str, str], allowed: set[str]
) -> None:
    assert allowed_outcomes(fact(legs, api=api), "agent_first") == allowed


async def test_the_truth_over_http_is_the_truth_in_process(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """``GET /_sim/truth`` (other processes: chaos, soak, kill -9) tells the same story."""
    contact = PLAIN_CONTACTS[0]
    sim = Simulator(Scenario.model_validate({"numbers": {contact: {"outcome": "busy"}}}))
    auth = ("sandbox-key", "sandbox-token")
    async with httpx.AsyncClient(
        transport=sim.transport(), base_url="http://sim", auth=auth
    ) as http:
        form = {"From": AGENTS[0], "To": contact, "CallerId": GOOD_PHONE, "Record": "true"}
        placed = await http.post("/v1/Accounts/sandbox/Calls/connect.json", data=form)
        assert placed.status_code == 200
        await trio.sleep(600)
        body = (await http.get("/_sim/truth")).json()
    (fact,) = truths(sim)
    assert (fact.legs, fact.talk, fact.recorded, fact.recording_url) == (
        ("completed", "busy"),
        0,
        True,
        None,
    )
    assert body == [truth_json(fact, sim.start)]
    assert truth_from_json(body[0]).legs == fact.legs
