"""v1 bulk call details: filters, sort order, ``Before``/``After`` cursors, ``Metadata``.

001 page: ``Sid`` (at most 100), ``DateCreated`` (``gte:...;lte:...``, one month at
most; last 31 days when absent), ``To``/``From``/``PhoneNumber`` (at most 5 each),
``Status``, ``Direction``, ``Duration``, ``Price``, ``PageSize`` (default 50, max 100),
``SortBy=DateCreated:asc`` (default descending). docs/exotel/quirks.md: "Bulk call details never
return ongoing calls", and numbers match after normalising (records show ``09...``,
filters come in E.164). A cursor is the SID of the page's edge record.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from campaigner.simulator.dates import parse_v1_date
from campaigner.simulator.phones import to_e164
from campaigner.simulator.timeline import SimCall
from campaigner.simulator.v1_wire import call_record, price, respond, rest_exception

if TYPE_CHECKING:
    from campaigner.simulator.core import Simulator
    from campaigner.simulator.routes import Ctx

MAX_SIDS, MAX_NUMBERS, MAX_PAGE, DEFAULT_PAGE = 100, 5, 100, 50
DAY = 86400.0
_OPS: dict[str, Callable[[float, float], bool]] = {
    "gte": operator.ge,
    "lte": operator.le,
    "eq": operator.eq,
}


class BadFilter(ValueError):
    """A filter value Exotel would reject with 400."""


def _comparisons(text: str, unit: str) -> list[tuple[Callable[[float, float], bool], float]]:
    out = []
    for part in text.split(";"):
        op, _, value = part.partition(":")
        if op not in _OPS:
            raise BadFilter(f"unsupported operator {op!r}")
        value = value.removesuffix(unit) if unit else value
        try:
            out.append((_OPS[op], parse_v1_date(value) if unit == "date" else float(value)))
        except ValueError:
            raise BadFilter(f"bad value {value!r}") from None
    return out


def _numbers(params: httpx.QueryParams, name: str) -> set[str] | None:
    raw = params.get(name)
    if not raw:
        return None
    items = [item for item in raw.split(",") if item]
    if len(items) > MAX_NUMBERS:
        raise BadFilter(f"{name}: at most {MAX_NUMBERS} numbers")
    return {to_e164(item) or item for item in items}


class Query:
    """A parsed bulk query: the predicate, the order and the page window."""

    def __init__(self, params: httpx.QueryParams, wall_now: float) -> None:
        sids = [s for s in params.get("Sid", "").split(",") if s]
        if len(sids) > MAX_SIDS:
            raise BadFilter(f"Sid: at most {MAX_SIDS} call SIDs")
        self.sids = sids
        self.to = _numbers(params, "To")
        self.frm = _numbers(params, "From")
        self.phone = _numbers(params, "PhoneNumber")
        self.status = _csv(params.get("Status"))
        self.direction = _csv(params.get("Direction"))
        self.duration = _comparisons(params["Duration"], "s") if params.get("Duration") else []
        self.price = _comparisons(params["Price"], "") if params.get("Price") else []
        self.created = self._created(params.get("DateCreated"), wall_now)
        self.page_size = self._page_size(params.get("PageSize"))
        sort = params.get("SortBy", "DateCreated:desc")
        if sort not in ("DateCreated:asc", "DateCreated:desc"):
            raise BadFilter(f"SortBy: unsupported {sort!r}")
        self.ascending = sort == "DateCreated:asc"

    @staticmethod
    def _created(raw: str | None, wall_now: float) -> list[tuple[Callable[..., bool], float]]:
        if not raw:
            return [(operator.ge, wall_now - 31 * DAY)]  # 001: "Default if not set: Last 31 days"
        bounds = _comparisons(raw, "date")
        values = [value for _, value in bounds]
        if len(values) == 2 and max(values) - min(values) > 31 * DAY:
            raise BadFilter("DateCreated: the range may span one month at most")
        return bounds

    @staticmethod
    def _page_size(raw: str | None) -> int:
        if raw is None:
            return DEFAULT_PAGE
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
            raise BadFilter(f"PageSize must be between 1 and {MAX_PAGE}")
        return int(raw)

    def matches(self, call: SimCall, shown_status: str) -> bool:
        """Does the (ended) call pass every filter?"""
        checks = (
            self.to is None or call.to in self.to,
            self.frm is None or call.frm in self.frm,
            self.phone is None or call.caller in self.phone,
            self.status is None or shown_status in self.status,
            self.direction is None or "outbound-api" in self.direction,
        )
        return (
            all(checks)
            and all(op(call.end, value) for op, value in self.duration)
            and all(op(price(call), value) for op, value in self.price)
            and all(op(call.wall0, value) for op, value in self.created)
        )


def _csv(raw: str | None) -> set[str] | None:
    return {item for item in raw.split(",") if item} if raw else None


def _candidates(sim: Simulator, query: Query) -> list[SimCall]:
    if not query.sids:
        return sim.book.ordered
    found = (sim.book.by_sid.get(sid) for sid in query.sids)
    return sorted((call for call in found if call is not None), key=lambda c: c.seq)


def _page(rows: list[SimCall], query: Query, params: httpx.QueryParams) -> tuple[int, int]:
    after, before = params.get("After"), params.get("Before")
    index = {call.sid: i for i, call in enumerate(rows)} if (after or before) else {}
    if after:
        if after not in index:
            raise BadFilter(f"After: unknown cursor {after!r}")
        start = index[after] + 1
    elif before:
        if before not in index:
            raise BadFilter(f"Before: unknown cursor {before!r}")
        start = max(0, index[before] - query.page_size)
        return start, min(index[before], start + query.page_size)
    else:
        start = 0
    return start, min(len(rows), start + query.page_size)


async def bulk(sim: Simulator, ctx: Ctx) -> httpx.Response:
    """``GET /v1/Accounts/<sid>/Calls[.json]``."""
    params = ctx.request.url.params
    try:
        query = Query(params, ctx.wall)
        rows = _select(sim, ctx, query)
        start, stop = _page(rows, query, params)
    except BadFilter as exc:
        return rest_exception(400, str(exc), ctx.as_json)
    calls = [call_record(c, sim.book.offset(c, ctx.now), sim.scenario) for c in rows[start:stop]]
    body: dict[str, Any] = {
        "Metadata": _metadata(sim, ctx, query, rows, start, stop),
        "Calls": calls,
    }
    return respond(200, body, ctx.as_json)


def _select(sim: Simulator, ctx: Ctx, query: Query) -> list[SimCall]:
    book, pending_completed = sim.book, sim.scenario.faults.pending_status == "completed"
    finalize = sim.scenario.timing.record_finalize_delay
    rows = []
    for call in _candidates(sim, query):
        x = book.offset(call, ctx.now)
        if x < call.end:
            continue  # docs/exotel/quirks.md: "Bulk call details never return ongoing calls"
        shown = "completed" if pending_completed and x < call.end + finalize else call.status
        if query.matches(call, shown):
            rows.append(call)
    return rows if query.ascending else rows[::-1]


def _metadata(
    sim: Simulator, ctx: Ctx, query: Query, rows: list[SimCall], start: int, stop: int
) -> dict[str, Any]:
    kept = [(k, v) for k, v in ctx.request.url.params.multi_items() if k not in ("After", "Before")]
    base = ctx.request.url.path + "?"

    def uri(extra: list[tuple[str, str]]) -> str:
        return base + urlencode(kept + extra)

    return {
        "Total": len(rows),
        "PageSize": query.page_size,
        "FirstPageUri": uri([]),
        "PrevPageUri": uri([("Before", rows[start].sid)]) if start > 0 else None,
        "NextPageUri": uri([("After", rows[stop - 1].sid)]) if stop < len(rows) else None,
    }
