"""The promises campaigner makes, checked against what the simulator actually did.

``check_invariants`` also runs the truth oracle (tests/engine/truth.py): every call's
recorded outcome, talk time and recording must be what really happened, not merely
present.
"""

from __future__ import annotations

from collections import defaultdict

from campaigner.simulator import CallInfo, Simulator
from campaigner.store.journal import Journal
from tests.engine.truth import check_truth


def contact_number(call: CallInfo, mode: str) -> str:
    if mode == "agent_first":
        assert call.to_number is not None
        return call.to_number
    return call.from_number


def check_invariants(
    journal: Journal,
    sim: Simulator,
    *,
    mode: str = "agent_first",
    max_calls: int,
    complete: bool = True,
    allow_unknown: bool = True,
    recording: bool | None = None,
) -> None:
    """Raise AssertionError naming the first broken promise, then any untrue outcome.

    ``allow_unknown``: a call given up as ``unknown`` is honest, not wrong (faults and
    kills can make it so); ``recording``: whether the campaign asked for recordings.
    """
    calls = sim.calls()
    if complete:
        open_contacts = journal.conn.execute(
            "SELECT phone, state FROM contacts WHERE state != 'done'"
        ).fetchall()
        assert not open_contacts, f"contacts without a final outcome: {open_contacts[:5]}"
    by_number: dict[str, list[CallInfo]] = defaultdict(list)
    for call in calls:
        by_number[contact_number(call, mode)].append(call)
    for number, placed in by_number.items():
        assert len(placed) <= max_calls, f"{number} got {len(placed)} calls (at most {max_calls})"
        spans = sorted((c.created_at, c.ended_at) for c in placed)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"two calls to {number} overlapped"
    journaled = {
        str(r[0]) for r in journal.conn.execute("SELECT sid FROM calls WHERE sid IS NOT NULL")
    }
    placed_sids = {c.sid for c in calls}
    missing = placed_sids - journaled
    # Mid-run, a call whose POST was cut off is journaled as an intent without a SID
    # (reconciliation will adopt it); once complete, every call must be there.
    unresolved = journal.conn.execute(
        "SELECT count(*) FROM calls WHERE open = 1 AND sid IS NULL"
    ).fetchone()[0]
    allowed = 0 if complete else unresolved
    assert len(missing) <= allowed, (
        f"calls the simulator placed but the journal lacks: {sorted(missing)[:5]}"
    )
    invented = journaled - placed_sids
    assert not invented, f"journal SIDs the simulator never created: {sorted(invented)[:5]}"
    open_calls = journal.conn.execute("SELECT count(*) FROM calls WHERE open = 1").fetchone()[0]
    if complete:
        assert open_calls == 0, f"{open_calls} calls still open"
    check_truth(
        journal,
        sim,
        mode=mode,
        complete=complete,
        allow_unknown=allow_unknown,
        recording=recording,
    )
