"""What a connect's answer proves, end to end against the simulator, in virtual time.

Only Exotel's own refusals prove that no call was made; a proxy's 408 or 499 after it
forwarded the POST proves nothing, so the call must be reconciled (and adopted), never
counted as "not created" and dialed again.
"""

from __future__ import annotations

from pathlib import Path

import trio.testing

from tests.engine.test_faults import run_faulty


async def test_proxy_timeout_after_forwarding_is_reconciled_never_redialed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    out = await run_faulty(tmp_path, {"connect_proxy_timeout": 0.3})
    made = [c for c in out.sim.calls() if c.created_on_5xx]
    assert made
    journal = out.journal()
    adopted = journal.conn.execute(
        "SELECT error_status FROM calls WHERE adopted = 1 ORDER BY id"
    ).fetchall()
    assert len(adopted) == len(made)
    assert {row[0] for row in adopted} <= {408, 499}
    failed = journal.conn.execute(
        "SELECT count(*) FROM calls WHERE error_status IN (408, 499) AND state = 'not_placed'"
    ).fetchone()[0]
    assert failed == 0
