"""The dial queue against a model: which contacts ``Journal.due_contacts`` hands out, in
what order, for any mix of states, due times, screening and exclusions.

The query was rewritten as two index walks when the scale benchmark showed the single
sorted query growing with the contact list (bench/scale.py); this pins its meaning: due
retries first (by due time, then file order), then new contacts in file order.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from campaigner.store.journal import Journal
from tests.fuzz.strategies import fuzz

NOW = 1000.0
contacts = st.lists(
    st.tuples(
        st.sampled_from(["ready", "ready", "active", "done"]),
        st.sampled_from([0.0, 0.0, 10.0, 500.0, NOW, NOW + 1, 2000.0]),
        st.booleans(),  # screened
    ),
    max_size=40,
)


def model(
    rows: list[tuple[int, str, float, bool]], limit: int, exclude: set[int], screened_only: bool
) -> list[int]:
    ready = [
        (cid, next_at)
        for cid, state, next_at, screened in rows
        if state == "ready"
        and next_at <= NOW
        and cid not in exclude
        and (screened or not screened_only)
    ]
    retries = sorted((next_at, cid) for cid, next_at in ready if next_at > 0)
    fresh = sorted(cid for cid, next_at in ready if next_at == 0)
    return ([cid for _, cid in retries] + fresh)[:limit]


@fuzz()
@given(
    spec=contacts,
    limit=st.integers(1, 12),
    exclude=st.sets(st.integers(1, 40), max_size=6),
    screened_only=st.booleans(),
)
def test_due_contacts_matches_the_model(
    tmp_path: Path,
    spec: list[tuple[str, float, bool]],
    limit: int,
    exclude: set[int],
    screened_only: bool,
) -> None:
    path = tmp_path / "queue.sqlite3"
    path.unlink(missing_ok=True)
    with Journal.open(path) as journal:
        journal.sync_contacts(((f"+9197{i:08d}", "x", f"f:{i}", {}) for i in range(len(spec))), 0.0)
        rows = []
        for cid, (state, next_at, screened) in enumerate(spec, start=1):
            journal.conn.execute(
                "UPDATE contacts SET state = ?, next_at = ?, screened = ? WHERE id = ?",
                (state, next_at, int(screened), cid),
            )
            rows.append((cid, state, next_at, screened))
        due = journal.due_contacts(NOW, limit, exclude, screened_only=screened_only)
    assert [c.id for c in due] == model(rows, limit, exclude, screened_only)
