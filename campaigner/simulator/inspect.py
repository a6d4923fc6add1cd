"""Inspection endpoints under ``/_sim/``: what the simulator did, for tests in other processes.

Tests that run ``campaigner sim`` in another process (kill -9 tests, the soak) cannot call
``Simulator.calls()``; these endpoints answer the same over HTTP. Exotel has no ``/_sim/``
path, so no client of the real API can reach them by mistake. They need the account's
Basic credentials like every other path, but they are not Exotel's: they spend no rate
limit, no fault applies to them, and they are left out of the request log and counters
(so asking does not change the answer).

- ``GET /_sim/calls[?offset=N&limit=M]``: every ``CallInfo`` in creation order, its trio
  times as seconds since the simulator started and as POSIX wall times.
- ``GET /_sim/stats``: the ``SimStats`` counters and callback/heartbeat delivery counts.
- ``POST /_sim/heartbeat``: send one heartbeat now (409 without a ``heartbeat.url``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import httpx
import trio

from campaigner.simulator.guards import authorised

if TYPE_CHECKING:
    from campaigner.simulator.calls import CallInfo
    from campaigner.simulator.core import Simulator

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
