"""Every v1 call's ``Price`` ends up in the journal, so the report's spend is known.

Exotel prices a v1 record when it finishes it, about two minutes after the call ends, and
callbacks carry no price: a call decided by its callback is priced by the poller's price
sweep (bulk call details, riding along with polling rounds when they have room), and a
call decided by polling keeps the price of the record that decided it. Judged against the
simulator, which prices every finished v1 record as Exotel does (docs/simulator.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from campaigner.engine.poller import PRICE_WAIT
from campaigner.engine.tracker import PRICE_TRIES
from campaigner.report.summary import build_summary
from campaigner.simulator import Scenario
from campaigner.simulator.v1_wire import price
from campaigner.store.journal import Journal
from tests.engine.harness import Outcome, run_against_sim, sim_host, write_campaign
from tests.engine.test_polling_truth import AGENTS, CAMPAIGN, EVERY_KIND, contacts
from tests.engine.truth import check_truth


async def run(
    tmp_path: Path,
    *,
    api: str = "v1",
    callbacks: bool = True,
    n: int = 24,
    faults: dict[str, Any] | None = None,
    timing: dict[str, Any] | None = None,
    poll_after: str = "2m",
) -> Outcome:
    text = CAMPAIGN.format(
        api=api,
        mode="agent_first",
        agents=AGENTS,
        contacts=contacts(n),
        poll_after=poll_after,
        give_up="2h",
    )
    path = write_campaign(tmp_path, text)
    scenario = Scenario.model_validate(
        {
            "seed": 7,
            "outcome_mix": EVERY_KIND,
            "faults": faults or {},
            "timing": timing or {},
            "agents": {agent: {} for agent in AGENTS},
        }
    )
    return await run_against_sim(path, scenario, callbacks=callbacks)


def journaled_prices(journal: Journal) -> dict[str, set[Decimal]]:
    """Every non-null price the journal's events hold, by call SID (where the report's
    spend query looks: a details record's ``Call.Price`` or a bulk entry's ``Price``)."""
    rows = journal.conn.execute(
        "SELECT c.sid, coalesce(json_extract(e.payload, '$.Call.Price'), "
        "json_extract(e.payload, '$.Price')) FROM events e JOIN calls c ON c.id = e.call_id "
        "WHERE c.sid IS NOT NULL AND json_valid(e.payload)"
    ).fetchall()
    found: dict[str, set[Decimal]] = {}
    for sid, value in rows:
        if value is not None:
            found.setdefault(str(sid), set()).add(Decimal(str(value)))
    return found


def simulator_prices(out: Outcome) -> dict[str, Decimal]:
    """What Exotel (the simulator) charged for each call it placed."""
    return {
        sid: Decimal(f"{price(call):.3f}")
        for sid, call in out.sim.book.by_sid.items()
        if call.api == "v1"
    }


def spend_of(out: Outcome) -> Any:
    with out.journal() as journal:
        return build_summary(journal, now=datetime(2026, 11, 24, tzinfo=UTC)).spend


@pytest.mark.parametrize(
    ("callbacks", "faults"),
    [(True, {}), (True, {"callback_drop": 0.3}), (False, {})],
    ids=["callbacks", "30%-lost", "polling-only"],
)
async def test_every_call_is_journaled_with_exotels_price(
    tmp_path: Path,
    autojump_clock: trio.testing.MockClock,
    callbacks: bool,
    faults: dict[str, Any],
) -> None:
    out = await run(tmp_path, callbacks=callbacks, faults=faults)
    assert out.result.reason == "complete"
    truth = simulator_prices(out)
    with out.journal() as journal:
        check_truth(journal, out.sim, mode="agent_first")
        placed = [r[0] for r in journal.conn.execute("SELECT sid FROM calls WHERE sid NOT NULL")]
        prices = journaled_prices(journal)
        by = dict(journal.conn.execute("SELECT resolved_by, count(*) FROM calls GROUP BY 1"))
    assert len(placed) >= 24
    assert set(truth.values()) - {Decimal(0)}, "the simulator priced no call"
    for sid in placed:
        assert prices.get(sid) == {truth[sid]}, sid
    if callbacks:
        assert by.get("callback", 0) > 0  # calls whose own answers never carried a price
    # The report adds the same prices up, and knows every call's.
    spend = spend_of(out)
    assert spend.calls_unpriced == 0
    assert spend.calls_priced == len(placed)
    assert spend.total is not None
    assert Decimal(spend.total) == sum(truth[sid] for sid in placed)
    assert spend.per_connected is not None


async def test_prices_ride_along_and_cost_almost_no_request(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """With callbacks, prices cost no call's own details and few bulk requests: they ride
    in polling's rounds (calls still open past poll_after), and one last sweep at the end
    asks for the rest in a single request."""
    out = await run(tmp_path, n=40)
    requests = out.sim.requests
    calls = len(out.sim.calls())
    assert not [r for r in requests if r.kind == "v1.call"]
    bulk = [r for r in requests if r.kind == "v1.calls"]
    assert bulk
    # Each bulk request settles many prices: far fewer requests than calls.
    assert len(bulk) * 4 <= calls
    # The last sweep is one request, once the last call's record is finished.
    last_end = max(c.ended_at for c in out.sim.calls())
    assert len([r for r in bulk if r.time > last_end]) == 1


async def test_without_rounds_to_ride_prices_wait_for_each_other(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """No call outlives poll_after, so polling makes no round to ride: prices are asked
    for in requests of their own, each once the oldest has waited PRICE_WAIT (fewer than
    100 are ever due here), so those requests are PRICE_WAIT apart, not one per call."""
    out = await run(tmp_path, n=60, poll_after="30m")
    calls = out.sim.calls()
    last_end = max(c.ended_at for c in calls)
    bulk = [r.time for r in out.sim.requests if r.kind == "v1.calls"]
    during = [t for t in bulk if t < last_end]
    assert during  # the run lasted long enough for prices to be asked for before its end
    assert all(b - a >= PRICE_WAIT for a, b in zip(during, during[1:], strict=False))
    assert len(bulk) * 10 <= len(calls)
    with out.journal() as journal:
        prices = journaled_prices(journal)
    truth = simulator_prices(out)
    assert {sid: {truth[sid]} for sid in truth} == prices


async def test_an_unfinished_record_is_asked_again_then_left_unknown(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Exotel slower than usual to finish records (15 minutes): the price sweep asks a
    bounded number of times, the run does not wait for it beyond record_wait, and the
    report says the prices are unknown rather than making one up."""
    out = await run(tmp_path, n=4, timing={"record_finalize_delay": 900.0})
    assert out.result.reason == "complete"
    last_end = max(c.ended_at for c in out.sim.calls())
    after = [r for r in out.sim.requests if r.kind == "v1.calls" and r.time > last_end]
    assert 1 <= len(after) <= PRICE_TRIES
    assert trio.current_time() <= last_end + 300.0 + 60.0  # record_wait (+ a wake-up)
    spend = spend_of(out)
    assert spend.calls_priced == 0
    assert spend.total is None
    assert spend.calls_unpriced == len(out.sim.calls())
    with out.journal() as journal:  # given up on, so that the next run does not ask again
        given_up = journal.conn.execute(
            "SELECT count(DISTINCT call_id) FROM events WHERE effect = 'price_unknown'"
        ).fetchone()[0]
    assert given_up == len(out.sim.calls())


async def test_v3_calls_are_never_swept_for_a_price(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """v3 call details carry no price: nothing is queued, no v1 call record is asked for."""
    out = await run(tmp_path, api="v3", n=8)
    assert out.result.reason == "complete"
    assert not [r for r in out.sim.requests if r.kind in ("v1.calls", "v1.call")]
    assert spend_of(out).calls_priced == 0


async def test_a_resumed_run_asks_for_the_prices_a_stopped_run_missed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A run stopped abruptly (no last sweep) leaves calls its callbacks decided unpriced;
    the next run asks for them, and every call ends priced."""
    text = CAMPAIGN.format(
        api="v1",
        mode="agent_first",
        agents=AGENTS,
        contacts=contacts(24),
        poll_after="30m",  # no polling round for prices to ride before the stop
        give_up="2h",
    )
    path = write_campaign(tmp_path, text)
    scenario = Scenario.model_validate({"seed": 7, "outcome_mix": EVERY_KIND})
    journal_path = tmp_path / ".campaigner" / "polling-truth.sqlite3"
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, scenario)
        assert await host.run(path, stop_after=600.0) is None
        with Journal.read(journal_path) as journal:
            closed = [r[0] for r in journal.conn.execute("SELECT sid FROM calls WHERE open = 0")]
            missed = set(closed) - set(journaled_prices(journal))
        assert missed  # callbacks decided them and the stop came before any sweep
        result = await host.run(path)
        assert result is not None
        assert result.reason == "complete"
        with Journal.read(journal_path) as journal:
            placed = [
                r[0] for r in journal.conn.execute("SELECT sid FROM calls WHERE sid NOT NULL")
            ]
            prices = journaled_prices(journal)
        truth = {sid: Decimal(f"{price(call):.3f}") for sid, call in host.sim.book.by_sid.items()}
        for sid in placed:
            assert prices.get(sid) == {truth[sid]}, sid
        nursery.cancel_scope.cancel()
