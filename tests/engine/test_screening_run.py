"""DND screening, opt-outs and the frequency cap, end to end against the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
import trio.testing

from campaigner.simulator import Scenario, Simulator
from campaigner.store.journal import Journal
from campaigner.store.shared import SharedState
from tests.engine.harness import run_against_sim, sim_host, write_campaign
from tests.engine.invariants import check_invariants

CAMPAIGN = """
name: {name}
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001", "+919900000002", "+919900000003"]}}
contacts: {{inline: {contacts}}}
screening: {screening}
{extra}
"""

NUMBERS = [f"+9197000000{i:02d}" for i in range(1, 11)]
DND = NUMBERS[2], NUMBERS[7]
COMPLETED = Scenario.model_validate({"outcome_mix": {"completed": 1}})


def campaign(
    tmp_path: Path, name: str, screening: str = "{}", extra: str = "", **kw: object
) -> Path:
    contacts = kw.get("contacts", NUMBERS)
    text = CAMPAIGN.format(name=name, contacts=contacts, screening=screening, extra=extra)
    return write_campaign(tmp_path, text, f"{name}.yaml")


def scenario(**numbers: object) -> Scenario:
    conf = {n: {"dnd": True} for n in DND}
    return Scenario.model_validate(
        {"numbers": {**conf, **numbers}, "outcome_mix": {"completed": 1}}
    )


def requests(sim: Simulator, kind: str) -> int:
    return sum(n for (_, k, _), n in sim.stats().counters.items() if k == kind)


def contacts(journal: Journal) -> dict[str, tuple[str, str | None, int]]:
    rows = journal.conn.execute("SELECT phone, outcome, reason, attempts FROM contacts")
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def dialed(sim: Simulator) -> set[str]:
    return {c.to_number for c in sim.calls() if c.to_number}


def attempted(journal: Journal) -> set[str]:
    """Contacts a connect was sent for (Exotel may have refused it)."""
    rows = journal.conn.execute(
        "SELECT DISTINCT phone FROM contacts JOIN calls ON calls.contact_id = contacts.id"
    )
    return {r[0] for r in rows}


async def test_dnd_numbers_are_skipped_and_the_second_campaign_asks_nothing(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    first = await run_against_sim(campaign(tmp_path, "first"), scenario())
    assert first.result.reason == "complete"
    assert requests(first.sim, "v1.numbers") == len(NUMBERS)
    with first.journal() as journal:
        found = contacts(journal)
        check_invariants(journal, first.sim, max_calls=1 + 3)
    assert {n: found[n] for n in DND} == dict.fromkeys(DND, ("skipped", "dnd", 0))
    assert dialed(first.sim) == set(NUMBERS) - set(DND)
    stats = first.result.stats
    assert (stats.looked_up, stats.from_cache, stats.screening_skipped["dnd"]) == (10, 0, 2)

    second = await run_against_sim(campaign(tmp_path, "second"), scenario())
    assert requests(second.sim, "v1.numbers") == 0  # every number came from the shared cache
    assert second.result.stats.from_cache == len(NUMBERS)
    with second.journal() as journal:
        assert {n: contacts(journal)[n] for n in DND} == dict.fromkeys(DND, ("skipped", "dnd", 0))
    assert dialed(second.sim) == set(NUMBERS) - set(DND)


async def test_403_ndnc_skips_without_retry_and_is_cached(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    retry = "retry: {max_attempts: 3, on: [busy, no_answer, failed]}"
    out = await run_against_sim(campaign(tmp_path, "calls", "{dnd: call}", retry), scenario())
    assert requests(out.sim, "v1.numbers") == 0  # dnd: call looks nothing up
    with out.journal() as journal:
        assert {n: contacts(journal)[n] for n in DND} == dict.fromkeys(DND, ("skipped", "dnd", 0))
        refused = journal.conn.execute(
            "SELECT count(*) FROM calls WHERE state = 'not_placed' AND error_status = 403"
        ).fetchone()[0]
    assert refused == 2  # one attempt each, never retried
    with SharedState.open(tmp_path / ".campaigner") as shared:
        rows = shared.conn.execute("SELECT phone, dnd, source FROM numbers ORDER BY phone")
        assert [tuple(r) for r in rows] == [(n, 1, "ndnc") for n in DND]

    # A campaign that skips DND numbers needs no lookup for them any more.
    later = await run_against_sim(campaign(tmp_path, "later"), scenario())
    assert requests(later.sim, "v1.numbers") == len(NUMBERS) - len(DND)
    assert not dialed(later.sim) & set(DND)


@pytest.mark.parametrize(("call_type", "called"), [("trans", True), (None, False)])
async def test_only_transactional(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, call_type: str | None, called: bool
) -> None:
    extra = f"call: {{call_type: {call_type}}}" if call_type else ""
    path = campaign(tmp_path, "trans", "{dnd: only_transactional}", extra)
    unavailable = NUMBERS[0]
    out = await run_against_sim(path, scenario(**{unavailable: {"dnd": "unavailable"}}))
    assert unavailable in dialed(out.sim)  # "Unavailable" is called
    with out.journal() as journal:
        # Transactional calls are sent; the simulator, like Exotel, may still refuse
        # them with 403 NDNC, which ends them skipped (dnd) all the same.
        assert (set(DND) <= attempted(journal)) is called
        assert bool(set(DND) & attempted(journal)) is called
        assert {contacts(journal)[n][:2] for n in DND} == {("skipped", "dnd")}


async def test_opted_out_contacts_are_skipped(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    (tmp_path / "optout.csv").write_text(f"name,phone\nA,0{NUMBERS[0][3:]}\nB,{NUMBERS[4]}\n")
    (tmp_path / "dnc.txt").write_text(f"{NUMBERS[5][3:8]} {NUMBERS[5][8:]}\nnot a number\n")
    screening = "{dnd: call, opt_out: [optout.csv, dnc.txt]}"
    out = await run_against_sim(campaign(tmp_path, "optout", screening), scenario())
    opted = {NUMBERS[0], NUMBERS[4], NUMBERS[5]}
    assert not dialed(out.sim) & opted
    assert out.result.preparation.opted_out == 3
    assert "3 contacts opted out (screening.opt_out): not called" in out.messages
    with out.journal() as journal:
        assert {n: contacts(journal)[n] for n in opted} == dict.fromkeys(
            opted, ("skipped", "opted_out", 0)
        )
        kind, message, data = journal.conn.execute(
            "SELECT kind, message, data FROM run_log WHERE kind = 'opted_out'"
        ).fetchone()
    assert message == (
        "3 contacts opted out (3 numbers in optout.csv, dnc.txt; 1 lines without a valid number)"
    )
    assert json.loads(data) == {
        "count": 3,
        "files": ["optout.csv", "dnc.txt"],
        "numbers": 3,
        "unreadable": 1,
    }


async def test_frequency_cap_holds_across_two_campaigns(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    shared_numbers = NUMBERS[:2]
    first = campaign(tmp_path, "first", "{dnd: call}", contacts=shared_numbers)
    capped = "{dnd: call, frequency_cap: {calls: 1, per: 1h}}"
    second = campaign(tmp_path, "second", capped, contacts=NUMBERS[:5])
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, COMPLETED)
        assert (await host.run(first)) is not None
        assert (await host.run(second)) is not None
        calls = host.sim.calls()
        nursery.cancel_scope.cancel()
    by_number: dict[str, list[float]] = {}
    for call in calls:
        by_number.setdefault(call.to_number or "", []).append(call.created_at)
    second_start = min(by_number[NUMBERS[3]] + by_number[NUMBERS[4]])
    for number in shared_numbers:
        first_call, second_call = by_number[number]
        # deferred to exactly one hour after the first campaign's call, not skipped
        assert second_call - first_call == pytest.approx(3600.0, abs=0.01)
        assert second_call > second_start
    with Journal.read(tmp_path / ".campaigner" / "second.sqlite3") as journal:
        kinds = [r[0] for r in journal.conn.execute("SELECT kind FROM run_log")]
        assert kinds.count("frequency_capped") == 2  # the first deferral, then the summary
        assert {v[0] for v in contacts(journal).values()} == {"connected"}


async def test_a_cap_that_cannot_be_met_before_the_deadline_skips(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    first = campaign(tmp_path, "first", "{dnd: call}", contacts=NUMBERS[:1])
    deadline = "schedule: {deadline: 2026-11-23T10:30:00+05:30}"
    gap = "{dnd: call, min_gap: 4h}"
    second = campaign(tmp_path, "second", gap, deadline, contacts=NUMBERS[:2])
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, COMPLETED)
        await host.run(first)
        result = await host.run(second)
        nursery.cancel_scope.cancel()
    assert result is not None
    assert result.reason == "complete"
    with Journal.read(tmp_path / ".campaigner" / "second.sqlite3") as journal:
        found = contacts(journal)
    assert found[NUMBERS[0]] == ("skipped", "frequency_cap", 0)
    assert found[NUMBERS[1]][0] == "connected"
