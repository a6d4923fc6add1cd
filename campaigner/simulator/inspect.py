"""Inspection endpoints under ``/_sim/``: what the simulator did, for tests in other processes.

Tests that run ``campaigner sim`` in another process (kill -9 tests, the soak) cannot call
``Simulator.calls()``; these endpoints answer the same over HTTP. Exotel has no ``/_sim/``
path, so no client of the real API can reach them by mistake. They need the account's
Basic credentials like every other path, but they are not Exotel's: they spend no rate
limit, no fault applies to them, and they are left out of the request log and counters
(so asking does not change the answer).

- ``GET /_sim/calls[?offset=N&limit=M]``: every ``CallInfo`` in creation order, its trio
  times as seconds since the simulator started and as POSIX wall times.
- ``GET /_sim/truth[?offset=N&limit=M]``: what really happened on every call, leg by leg
  (``CallTruth``, same order and paging as ``/_sim/calls``): the ground truth that
  tests/engine/truth.py compares a run's recorded outcomes, talk times and recordings with.
- ``GET /_sim/stats``: the ``SimStats`` counters and callback/heartbeat delivery counts.
- ``POST /_sim/heartbeat``: send one heartbeat now (409 without a ``heartbeat.url``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import httpx
import trio

from campaigner.simulator.guards import authorised
from campaigner.simulator.v1_wire import recording_url

if TYPE_CHECKING:
    from campaigner.simulator.calls import CallInfo
    from campaigner.simulator.core import Simulator
    from campaigner.simulator.scenario import Scenario
    from campaigner.simulator.timeline import SimCall

PREFIX = "/_sim/"
_TIMES = ("created_at", "answered_at", "ended_at")

Endpoint = Callable[["Simulator", httpx.Request], Awaitable[httpx.Response]]


def is_inspection(request: httpx.Request) -> bool:
    """True for a ``/_sim/...`` path (never an Exotel one)."""
    return request.url.path.startswith(PREFIX)


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )


def _error(status: int, message: str) -> httpx.Response:
    return _json(status, {"error": message})


def _clock(sim: Simulator) -> tuple[float, float]:
    """(trio now, POSIX wall now) read once, so every time in one answer agrees."""
    return trio.current_time(), sim.wall_now()


def call_json(info: CallInfo, start: float, now: float, wall: float) -> dict[str, Any]:
    """One ``CallInfo`` as JSON: each trio time ``t`` becomes ``t`` (seconds since the
    simulator started) and ``t_wall`` (POSIX seconds on the simulator's wall clock)."""
    body = asdict(info)
    for name in _TIMES:
        value = body[name]
        body[name] = None if value is None else value - start
        body[f"{name}_wall"] = None if value is None else wall - (now - value)
    return body


@dataclass(frozen=True, slots=True)
class CallTruth:
    """What really happened on one call, decided when it was created.

    ``CallInfo`` says what Exotel *reports* (overall v1 and v3 statuses); this says what
    each leg really did, so a test can judge a run's outcomes against the facts rather
    than against the statuses the run itself read. Leg statuses use the v1 vocabulary
    (``completed``, ``busy``, ``no-answer``, ``failed``, ``canceled``; ``""`` for a leg
    never dialed): leg 0 is ``From``, leg 1 is ``To`` (``""`` for a call to a flow).
    """

    sid: str
    api: str  # "v1" or "v3"
    from_number: str  # E.164, leg 0
    to_number: str | None  # E.164, leg 1; None for a call to a flow
    flow: bool  # a call to a flow (v1 ``Url``)
    kind: str  # as ``CallInfo.kind``
    legs: tuple[str, str]  # the final status of leg 0 and leg 1
    talk: int  # seconds both sides were connected (0 when they never were)
    recorded: bool  # the call was recorded (as asked, or by Exotel's default)
    recording_url: str | None  # the recording, when there is one (recorded and talked)
    created_at: float  # trio times
    ended_at: float
    finished_at: float  # when the record stops showing placeholders (finalisation)
    answer_lost: bool
    created_on_5xx: bool


def call_truth(sim: Simulator, call: SimCall) -> CallTruth:
    """The ground truth of one call."""
    return truth_of(call, sim.scenario)


def truth_of(call: SimCall, scenario: Scenario) -> CallTruth:
    """The ground truth of one call, from the call and its scenario alone (no simulator:
    the sandbox's call ledger is read by tests after the process that made it is gone)."""
    opts = call.opts
    scale = scenario.time_scale
    ended = call.created + call.end / scale
    return CallTruth(
        sid=call.sid,
        api=call.api,
        from_number=call.frm,
        to_number=call.to,
        flow=opts is not None and opts.app_id is not None,
        kind=call.kind,
        legs=(call.leg1, call.leg2),
        talk=call.talk,
        recorded=opts is not None and opts.record,
        recording_url=recording_url(call, scenario.account.sid),
        created_at=call.created,
        ended_at=ended,
        finished_at=ended + scenario.timing.record_finalize_delay / scale,
        answer_lost=call.lost == 1,
        created_on_5xx=call.lost == 2,
    )


def truths(sim: Simulator) -> list[CallTruth]:
    """The ground truth of every call, in creation order (as ``Simulator.calls``)."""
    return [call_truth(sim, call) for call in sim.book.ordered]


def truth_json(truth: CallTruth, start: float) -> dict[str, Any]:
    """One ``CallTruth`` as JSON, its trio times as seconds since the simulator started."""
    body = asdict(truth)
    body["legs"] = list(truth.legs)
    for name in ("created_at", "ended_at", "finished_at"):
        body[name] -= start
    return body


def _window(request: httpx.Request, total: int) -> tuple[int, int] | None:
    params = request.url.params
    raw_offset, raw_limit = params.get("offset", "0"), params.get("limit", str(total))
    if not (raw_offset.isdigit() and raw_limit.isdigit()):
        return None
    offset = int(raw_offset)
    return offset, min(total, offset + int(raw_limit))


async def calls(sim: Simulator, request: httpx.Request) -> httpx.Response:
    """``GET /_sim/calls``: a JSON list of every call (``offset``/``limit`` page it)."""
    infos = sim.calls()
    window = _window(request, len(infos))
    if window is None:
        return _error(400, "offset and limit must be non-negative integers")
    now, wall = _clock(sim)
    return _json(200, [call_json(info, sim.start, now, wall) for info in infos[slice(*window)]])


async def truth(sim: Simulator, request: httpx.Request) -> httpx.Response:
    """``GET /_sim/truth``: what really happened on every call (paged like ``calls``)."""
    window = _window(request, len(sim.book.ordered))
    if window is None:
        return _error(400, "offset and limit must be non-negative integers")
    return _json(
        200,
        [truth_json(call_truth(sim, c), sim.start) for c in sim.book.ordered[slice(*window)]],
    )


async def stats(sim: Simulator, request: httpx.Request) -> httpx.Response:
    """``GET /_sim/stats``: counters per (method, endpoint kind, status) and deliveries."""
    snapshot = sim.stats()
    now, wall = _clock(sim)
    counters = [
        {"method": method, "kind": kind, "status": status, "count": count}
        for (method, kind, status), count in sorted(snapshot.counters.items())
    ]
    return _json(
        200,
        {
            "now": now - sim.start,
            "now_wall": wall,
            "calls": snapshot.calls,
            "requests": snapshot.requests,
            "counters": counters,
            "delivery": asdict(snapshot.delivery),
            "pending_deliveries": snapshot.pending_deliveries,
        },
    )


async def heartbeat(sim: Simulator, request: httpx.Request) -> httpx.Response:
    """``POST /_sim/heartbeat``: queue one heartbeat for the delivery service now."""
    if not sim.scenario.heartbeat.url:
        return _error(409, "the scenario has no heartbeat.url")
    sim.trigger_heartbeat()
    return _json(202, {"heartbeat": "queued"})


ENDPOINTS: dict[str, tuple[str, Endpoint]] = {
    "calls": ("GET", calls),
    "truth": ("GET", truth),
    "stats": ("GET", stats),
    "heartbeat": ("POST", heartbeat),
}


async def inspect(sim: Simulator, request: httpx.Request) -> httpx.Response:
    """Answer one ``/_sim/...`` request (auth first, then the endpoint)."""
    if not authorised(request, sim.scenario.account):
        return _error(401, "Authentication failed")
    found = ENDPOINTS.get(request.url.path.removeprefix(PREFIX))
    if found is None:
        return _error(404, f"no inspection endpoint {request.url.path}")
    method, endpoint = found
    if request.method != method:
        return _error(405, f"{request.url.path} answers {method} only")
    return await endpoint(sim, request)
