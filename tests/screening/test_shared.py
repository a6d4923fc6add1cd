"""The state shared across campaigns: number cache, call history, heartbeats."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

from campaigner.exotel.models import Heartbeat, NumberMetadata
from campaigner.screening.frequency import CallingRules
from campaigner.store.shared import DND_TTL, UNAVAILABLE_TTL, SharedState

DAY = 86400.0
NOW = 1_800_000_000.0


def meta(dnd: bool | None) -> NumberMetadata:
    return NumberMetadata("09812300001", "KA", "Karnataka", "Mobile", "A", "Airtel", dnd)


def test_lookups_are_cached_until_they_expire(tmp_path: Path) -> None:
    with SharedState.open(tmp_path) as shared:
        shared.remember("+919812300001", meta(True), NOW)
        shared.remember("+919812300002", meta(None), NOW)
        found = shared.cached(["+919812300001", "+919812300002", "+919812300003"], NOW + 1)
        dnd = {p: i.dnd for p, i in found.items()}
        assert dnd == {"+919812300001": True, "+919812300002": None}
        assert found["+919812300001"].expires_at == NOW + DND_TTL
        assert found["+919812300002"].expires_at == NOW + UNAVAILABLE_TTL
        later = shared.cached(["+919812300001", "+919812300002"], NOW + 2 * DAY)
        assert list(later) == ["+919812300001"]
        assert shared.cached(["+919812300001"], NOW + DND_TTL) == {}


def test_a_403_ndnc_is_remembered_as_dnd(tmp_path: Path) -> None:
    with SharedState.open(tmp_path) as shared:
        shared.remember("+919812300001", meta(False), NOW)
        shared.remember_ndnc("+919812300001", NOW + 10)
        info = shared.cached(["+919812300001"], NOW + 11)["+919812300001"]
        assert (info.dnd, info.source) == (True, "ndnc")


def test_the_cache_is_shared_by_every_opener_and_readable(tmp_path: Path) -> None:
    assert SharedState.read(tmp_path) is None
    with SharedState.open(tmp_path) as writer:
        writer.remember("+919812300001", meta(False), NOW)
    reader = SharedState.read(tmp_path)
    assert reader is not None
    with reader:
        assert reader.cached(["+919812300001"], NOW)["+919812300001"].dnd is False


def test_claims_obey_the_rules_and_release_forgets(tmp_path: Path) -> None:
    rules = CallingRules(cap_calls=1, cap_per=3600.0)
    with SharedState.open(tmp_path) as a, SharedState.open(tmp_path) as b:
        assert a.claim_call("+919812300001", NOW, rules, "a") is None
        # another campaign (connection) sees it at once
        assert b.claim_call("+919812300001", NOW + 60, rules, "b") == NOW + 3600
        assert b.earliest_call("+919812300001", NOW + 60, rules) == NOW + 3600
        a.release_call("+919812300001", NOW, "a")
        assert b.claim_call("+919812300001", NOW + 60, rules, "b") is None
        # without rules a call is always recorded, and counts for campaigns with rules
        assert a.claim_call("+919812300002", NOW, CallingRules(), "a") is None
        assert b.earliest_call("+919812300002", NOW + 1, rules) == NOW + 3600


def _claim_many(args: tuple[str, int]) -> int:
    directory, worker = args
    rules = CallingRules(cap_calls=1, cap_per=3600.0)
    won = 0
    with SharedState.open(Path(directory)) as shared:
        for i in range(100):
            at = NOW + worker * 0.001 + i * 0.01
            won += shared.claim_call("+919812300001", at, rules, f"worker-{worker}") is None
    return won


def test_two_processes_cannot_both_pass_a_cap_of_one(tmp_path: Path) -> None:
    SharedState.open(tmp_path).close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        wins = pool.map(_claim_many, [(str(tmp_path), w) for w in range(2)])
    assert sum(wins) == 1


def beat(minute: int, status: str = "OK", outgoing: tuple[str, ...] = ()) -> Heartbeat:
    stamp = datetime(2026, 11, 23, 4, minute, tzinfo=UTC)
    return Heartbeat(stamp, status, (), outgoing)  # type: ignore[arg-type]


def test_heartbeats_are_idempotent_and_ordered(tmp_path: Path) -> None:
    with SharedState.open(tmp_path) as shared:
        warning = beat(5, "WARNING", ("02241499102",))
        assert shared.record_heartbeat("acct", warning, NOW) == "new"
        assert shared.record_heartbeat("acct", warning, NOW) == "repeat"
        assert shared.record_heartbeat("acct", beat(0), NOW) == "stale"
        assert shared.record_heartbeat("other", beat(0), NOW) == "new"
        latest = shared.latest_heartbeat("acct")
        assert latest is not None
        assert (latest.status_type, latest.outgoing_affected) == ("WARNING", ("02241499102",))
        assert shared.conn.execute("SELECT sum(repeats) FROM heartbeats").fetchone()[0] == 1


def test_old_history_is_pruned(tmp_path: Path) -> None:
    with SharedState.open(tmp_path) as shared:
        shared.claim_call("+919812300001", NOW - 400 * DAY, CallingRules(), "a")
        shared.claim_call("+919812300001", NOW - 300 * DAY, CallingRules(), "a")
    with SharedState.open(tmp_path, now=NOW) as shared:
        rows = shared.conn.execute("SELECT at FROM placed_calls").fetchall()
        assert [r[0] for r in rows] == [NOW - 300 * DAY]


def test_pruning_runs_at_most_once_a_day(tmp_path: Path) -> None:
    with SharedState.open(tmp_path, now=NOW):
        pass
    with SharedState.open(tmp_path) as shared:
        shared.claim_call("+919812300001", NOW - 400 * DAY, CallingRules(), "a")
    with SharedState.open(tmp_path, now=NOW + 3600) as shared:
        assert shared.conn.execute("SELECT count(*) FROM placed_calls").fetchone()[0] == 1
    with SharedState.open(tmp_path, now=NOW + 2 * DAY) as shared:
        assert shared.conn.execute("SELECT count(*) FROM placed_calls").fetchone()[0] == 0
