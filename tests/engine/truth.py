"""The truth oracle: each call's recorded outcome, talk time and recording against what
really happened, call by call.

The invariants (tests/engine/invariants.py) prove that every contact gets *an* outcome,
once; this proves it is the *true* one. The simulator knows what each leg really did
(``campaigner.simulator.inspect.CallTruth``, or ``GET /_sim/truth`` from another
process). The true outcome of a call is read off docs/outcomes.md's leg table
(``outcome-table:v1-legs``) applied to those real legs, for v1 and v3 alike: the
table says what each combination of legs means, and the real legs are facts, not
statuses an API reported. ``campaigner.outcomes`` is deliberately not used, so that a
bug in the engine's mapping cannot hide behind the oracle.

Where an API cannot tell two outcomes apart, the outcomes a run may record instead of
the true one are listed in one place, :data:`CANNOT_TELL`, and justified in
docs/outcomes.md ("What the API cannot tell").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from campaigner.simulator import Simulator
from campaigner.simulator.inspect import CallTruth, truths
from campaigner.store.journal import Journal

OUTCOMES_DOC = Path(__file__).resolve().parents[2] / "docs" / "outcomes.md"
NEVER_DIALED = ""  # a leg status the simulator reports for a leg that was never dialed
NO_DIAL_KINDS = frozenset({"from_leg_no_dial", "to_leg_no_dial"})
# Connect refusals about the agent (busy, or their device or user: the v3 page's error
# table): no call exists and the contact did nothing, so such a refusal has no outcome
# (docs/outcomes.md, "Outcomes that do not come from Exotel's status").
AGENT_REFUSALS = frozenset({"10706", "10703", "1012", "10705", "10731", "10806", "10702"})

# What an API cannot tell (docs/outcomes.md, "What the API cannot tell"): for a call whose
# contact leg really ended with this status, the outcomes a run may record besides the
# true one. Everything not listed here must be exactly the true outcome.
CANNOT_TELL: dict[tuple[str, str], frozenset[str]] = {
    # v3's status says "unanswered" for a busy, rung-out or failed contact leg alike; its
    # legs endpoint (read or not) shows a busy leg as `failed`.
    ("v3", "busy"): frozenset({"no_answer", "failed"}),
    # ... and only the legs endpoint (a request more) tells `failed` from `no-answer`.
    ("v3", "failed"): frozenset({"no_answer"}),
}


def doc_table(marker: str, doc: Path = OUTCOMES_DOC) -> list[dict[str, str]]:
    """The rows of the markdown table after ``<!-- outcome-table:{marker} -->``, as dicts
    keyed by its header (the documentation is the specification the oracle reads)."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"<!-- outcome-table:{marker} -->") + 1
    header = [cell.strip() for cell in lines[start].strip().strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    if not rows:
        raise AssertionError(f"{doc}: table {marker} is empty")
    return rows


@cache
def _leg_rows() -> tuple[tuple[str, str, str, str], ...]:
    return tuple(
        (row["mode"], row["leg 0"], row["leg 1"], row["outcome"]) for row in doc_table("v1-legs")
    )


def true_outcome(truth: CallTruth, mode: str) -> str:
    """The outcome docs/outcomes.md's leg table gives the call's real legs."""
    first, second = (leg or "-" for leg in truth.legs)
    for row_mode, row_first, row_second, outcome in _leg_rows():
        if row_mode == mode and row_first in ("*", first) and row_second in ("*", second):
            return outcome
    raise AssertionError(f"docs/outcomes.md has no leg row for {mode} {first} {second}")


def contact_leg(mode: str) -> int:
    """Which leg (0 = ``From``) is the contact's (docs/outcomes.md, "Which leg is which")."""
    return 1 if mode == "agent_first" else 0


def allowed_outcomes(truth: CallTruth, mode: str) -> frozenset[str]:
    """The true outcome, plus whatever :data:`CANNOT_TELL` lets the API confuse it with."""
    true = true_outcome(truth, mode)
    leg = truth.legs[contact_leg(mode)]
    extra: frozenset[str] = frozenset()
    if truth.kind not in NO_DIAL_KINDS and true != "agent_unanswered":
        extra = CANNOT_TELL.get((truth.api, leg), frozenset())
    return frozenset({true}) | extra


def contact_number(truth: CallTruth, mode: str) -> str | None:
    """The number the call really dialed for the contact (a call booked to the wrong
    contact would otherwise pass with a plausible outcome)."""
    return truth.to_number if contact_leg(mode) == 1 else truth.from_number


def agent_number(truth: CallTruth, mode: str) -> str | None:
    """The agent the call really connected (None for a flow)."""
    if mode == "flow":
        return None
    return truth.from_number if contact_leg(mode) == 1 else truth.to_number


# ---- what the run recorded ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recorded:
    """One call as the run recorded it (journal row or export entry)."""

    sid: str
    phone: str  # the contact, E.164
    agent: str | None
    outcome: str | None  # None while the call is still open
    talk_time: int | None  # None until Exotel's record was finished
    recording_url: str | None


@dataclass(frozen=True, slots=True)
class Refusal:
    """A connect Exotel refused: no call exists (journal rows without a SID)."""

    phone: str
    agent: str | None
    status: int | None
    code: str | None
    outcome: str | None


@dataclass
class Run:
    """What a run recorded: its calls and each contact's final outcome."""

    calls: list[Recorded]
    contacts: dict[str, str | None]  # phone -> outcome (None while not done)
    last_call: dict[str, str | None] = field(default_factory=dict)  # phone -> SID or None
    refused: list[Refusal] = field(default_factory=list)


def from_journal(journal: Journal) -> Run:
    """Read a run's calls from its journal (in-process tests)."""
    rows = journal.conn.execute(
        "SELECT c.sid, k.phone, c.agent, c.outcome, c.talk_time, c.recording_url, c.open, "
        "c.error_status, c.error_code FROM calls c JOIN contacts k ON k.id = c.contact_id "
        "ORDER BY c.id"
    ).fetchall()
    calls, last, refused = [], {}, []
    for sid, phone, agent, outcome, talk, url, is_open, status, code in rows:
        last[phone] = sid
        if sid is not None:
            calls.append(Recorded(sid, phone, agent, None if is_open else outcome, talk, url))
        elif code is not None:
            refused.append(Refusal(phone, agent, status, code, outcome))
    contacts = {
        phone: outcome if state == "done" else None
        for phone, state, outcome in journal.conn.execute(
            "SELECT phone, state, outcome FROM contacts"
        )
    }
    return Run(calls, contacts, last, refused)


def from_export(records: Iterable[Mapping[str, Any]]) -> Run:
    """Read a run's calls from ``campaigner export --format json`` (other processes).

    The export lists calls with a SID only, so a contact whose last attempt never got
    one (refused, proven not placed) is not checked against its last call."""
    calls: list[Recorded] = []
    contacts: dict[str, str | None] = {}
    for record in records:
        if not str(record["phone"]).startswith("+"):
            continue  # a skipped row, as written in the file
        phone = str(record["phone"])
        contacts[phone] = record["outcome"]
        for call in record["calls"]:
            calls.append(
                Recorded(
                    str(call["sid"]),
                    phone,
                    call.get("agent"),
                    call["outcome"],
                    call["talk_time"],
                    call["recording_url"],
                )
            )
    return Run(calls, contacts)


def fetch_truths(url: str, auth: tuple[str, str], page: int = 5000) -> list[dict[str, Any]]:
    """``GET /_sim/truth`` of a simulator in another process, every page."""
    found: list[dict[str, Any]] = []
    with httpx.Client(base_url=url, auth=auth, timeout=60) as http:
        while True:
            answer = http.get("/_sim/truth", params={"offset": len(found), "limit": page})
            answer.raise_for_status()
            if not (batch := answer.json()):
                return found
            found.extend(batch)


def truth_from_json(body: Mapping[str, Any]) -> CallTruth:
    """A ``/_sim/truth`` entry (times relative to the simulator's start) as a CallTruth."""
    return CallTruth(**{**body, "legs": tuple(body["legs"])})


# ---- the comparison -----------------------------------------------------------------------


@dataclass
class Verdict:
    """The oracle's findings on one run."""

    checked: int = 0
    wrong: list[str] = field(default_factory=list)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (true, recorded)

    def fail_if_wrong(self) -> None:
        if self.wrong:
            shown = "\n  ".join(self.wrong[:15])
            raise AssertionError(
                f"{len(self.wrong)} of {self.checked} calls disagree with the truth:\n  {shown}"
            )


def _url(value: str | None) -> str | None:
    return value or None  # Exotel sends "" for "no recording"


def judge(
    run: Run,
    facts: Sequence[CallTruth],
    *,
    mode: str,
    complete: bool = True,
    allow_unknown: bool = False,
    recording: bool | None = None,
) -> Verdict:
    """Compare every recorded call with what really happened; collect what disagrees.

    ``complete``: the run finished, so every call is closed with its outcome and every
    connected call's record was followed to the end (talk time and recording known).
    ``allow_unknown``: ``unknown`` is honest when the run gave up within
    ``tracking.give_up_after`` (faults, kills); it is never a wrong outcome.
    ``recording``: whether the campaign asked for recordings; every call must then be
    recorded exactly when asked (Exotel's own default must not decide).
    """
    verdict = Verdict()
    by_sid = {truth.sid: truth for truth in facts}
    seen = set()
    for call in run.calls:
        truth = by_sid.get(call.sid)
        tag = f"{call.sid[:10]} {call.phone}"
        if truth is None:
            verdict.wrong.append(f"{tag}: the simulator never created this call")
            continue
        verdict.checked += 1
        seen.add(call.sid)
        problems = _problems(call, truth, mode, complete, allow_unknown, recording)
        true = true_outcome(truth, mode)
        verdict.outcomes[(true, str(call.outcome))] += 1
        verdict.wrong.extend(
            f"{tag} ({truth.api} {mode}, really {true}, legs {truth.legs}): {p}" for p in problems
        )
    for refusal in run.refused:
        if refusal.code in AGENT_REFUSALS and refusal.outcome is not None:
            verdict.wrong.append(
                f"connect for {refusal.phone} refused {refusal.status}/{refusal.code} (agent "
                f"{refusal.agent}'s side, no call) recorded as {refusal.outcome}"
            )
    if complete:
        missing = [t.sid for t in facts if t.sid not in seen]
        if missing:
            verdict.wrong.append(f"calls placed but not recorded: {missing[:5]}")
        _check_contacts(run, by_sid, verdict)
    return verdict


def _problems(
    call: Recorded,
    truth: CallTruth,
    mode: str,
    complete: bool,
    allow_unknown: bool,
    recording: bool | None,
) -> list[str]:
    found = []
    if contact_number(truth, mode) != call.phone:
        found.append(f"recorded for {call.phone}, but it called {contact_number(truth, mode)}")
    agent = agent_number(truth, mode)
    if call.agent is not None and agent is not None and call.agent != agent:
        found.append(f"recorded agent {call.agent}, but it called {agent}")
    if recording is not None and truth.recorded != recording:
        found.append(f"recorded={truth.recorded} although the campaign asked {recording}")
    if call.outcome is None:
        if complete:
            found.append("still open at the end of the run")
        return found
    allowed = allowed_outcomes(truth, mode)
    if call.outcome not in allowed and not (allow_unknown and call.outcome == "unknown"):
        found.append(f"outcome {call.outcome}, allowed {sorted(allowed)}")
    if call.talk_time is not None:
        if call.talk_time != truth.talk:
            found.append(f"talk time {call.talk_time}, really {truth.talk}")
        if _url(call.recording_url) != truth.recording_url:
            found.append(f"recording {call.recording_url!r}, really {truth.recording_url!r}")
    else:
        if _url(call.recording_url) is not None:
            found.append("a recording URL without a finished record")
        if complete and truth.talk > 0 and call.outcome == "connected":
            found.append("connected, but its finished record (talk time) was never read")
    return found


NOT_FROM_A_CALL = frozenset({"skipped", "expired"})


def _check_contacts(run: Run, by_sid: Mapping[str, CallTruth], verdict: Verdict) -> None:
    """A contact's outcome is its last call's (docs/outcomes.md), skipped/expired aside."""
    outcome_of = {call.sid: call.outcome for call in run.calls}
    for phone, outcome in run.contacts.items():
        if outcome is None or outcome in NOT_FROM_A_CALL:
            continue
        sid = run.last_call.get(phone)
        if sid is None or sid not in by_sid:
            continue
        if outcome_of.get(sid) != outcome:
            verdict.wrong.append(
                f"contact {phone} ended {outcome}, its last call {sid[:10]} {outcome_of.get(sid)}"
            )


def check_truth(
    journal: Journal,
    sim: Simulator,
    *,
    mode: str = "agent_first",
    complete: bool = True,
    allow_unknown: bool = False,
    recording: bool | None = None,
) -> Verdict:
    """Judge an in-process run (journal and simulator); raise naming every wrong call."""
    verdict = judge(
        from_journal(journal),
        truths(sim),
        mode=mode,
        complete=complete,
        allow_unknown=allow_unknown,
        recording=recording,
    )
    verdict.fail_if_wrong()
    return verdict


def check_export_truth(
    records: Iterable[Mapping[str, Any]],
    facts: Iterable[Mapping[str, Any]],
    *,
    mode: str = "agent_first",
    allow_unknown: bool = False,
    recording: bool | None = None,
) -> Verdict:
    """Judge a run from the outside: its export against ``/_sim/truth``."""
    verdict = judge(
        from_export(records),
        [truth_from_json(body) for body in facts],
        mode=mode,
        allow_unknown=allow_unknown,
        recording=recording,
    )
    verdict.fail_if_wrong()
    return verdict
