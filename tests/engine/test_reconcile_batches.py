"""How lost answers share bulk listings: five numbers a request, within a day, riders last."""

from __future__ import annotations

from campaigner.engine.open_calls import OpenCall
from campaigner.engine.reconciler import NUMBERS_PER_LISTING, batches


def call(call_id: int, phone: str, intent_at: float, next_at: float = 0.0) -> OpenCall:
    return OpenCall(
        call_id=call_id,
        contact_id=call_id,
        phone=phone,
        attempt=1,
        first_leg="+919900000001",
        caller_id="+912241499102",
        agent=None,
        state="ambiguous",
        intent_at=intent_at,
        intent_trio=next_at,  # the key below reads it as "next time"
    )


def next_time(c: OpenCall) -> float:
    return c.intent_trio


def ids(groups: list[list[OpenCall]]) -> list[list[int]]:
    return [[c.call_id for c in group] for group in groups]


def test_due_calls_fill_listings_of_five_numbers_in_time_order() -> None:
    due = [call(i, f"+9197000000{i:02d}", 1000.0 - i) for i in range(1, 13)]
    groups = batches(due, due, next_time)
    assert [len(g) for g in groups] == [5, 5, 2]
    assert ids(groups)[0] == [12, 11, 10, 9, 8]  # oldest attempt first


def test_one_number_twice_takes_one_place() -> None:
    due = [call(1, "+919700000001", 0.0), call(2, "+919700000001", 10.0)]
    due += [call(i, f"+9197000000{i:02d}", 20.0 + i) for i in range(3, 7)]
    groups = batches(due, due, next_time)
    assert ids(groups) == [[1, 2, 3, 4, 5, 6]]
    assert len({c.phone for c in groups[0]}) == NUMBERS_PER_LISTING


def test_attempts_more_than_a_day_apart_never_share_a_listing() -> None:
    due = [call(1, "+919700000001", 0.0), call(2, "+919700000002", 86400.0 + 1)]
    assert ids(batches(due, due, next_time)) == [[1], [2]]


def test_spare_places_go_to_the_calls_due_soonest() -> None:
    due = [call(1, "+919700000001", 0.0)]
    later = [call(i, f"+9197000000{i:02d}", 5.0, next_at=100.0 - i) for i in range(2, 9)]
    groups = batches(due, due + later, next_time)
    assert ids(groups) == [[1, 8, 7, 6, 5]]  # four riders, soonest due first; no new listing
