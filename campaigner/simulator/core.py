"""The simulator: one request -> response handler over an in-memory account.

``Simulator.handle`` routes a request, checks Basic auth and the account SID, applies
the rate limit and request faults, and answers as Exotel would. The same handler backs
the in-process httpx transport (``transport()``) and the ASGI app served by hypercorn
(``asgi_app``). Background work (callbacks, heartbeats) is the one service ``run``.

Create it inside ``trio.run`` (it anchors its clocks there).
"""

from __future__ import annotations

import random
import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio

from campaigner.clock import TrioWallClock, WallClock
from campaigner.simulator.calls import CallBook, CallInfo
from campaigner.simulator.delivery import DeliveryStats, Dispatcher
from campaigner.simulator.exophones import ExoPhoneBoard
from campaigner.simulator.guards import authorised, plain, server_error, styled_error
from campaigner.simulator.inspect import inspect, is_inspection
from campaigner.simulator.limits import Bursts, RollingWindow
from campaigner.simulator.routes import Ctx, Route
from campaigner.simulator.routes import route as find_route
from campaigner.simulator.scenario import Device, Health, Kind, Scenario
from campaigner.simulator.timeline import SimCall
from campaigner.simulator.v1_wire import rest_exception
from campaigner.simulator.v3_wire import envelope, error_data, json_response


class AnswerLost(httpx.ReadTimeout):
    """A connect POST whose call was created but whose answer is deliberately lost."""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One handled request (status 0: the answer was deliberately lost)."""

    time: float
    method: str
    path: str
    kind: str
    status: int


@dataclass(frozen=True, slots=True)
class SimStats:
    """A cheap snapshot of what the simulator did so far."""

    calls: int
    requests: int
    counters: dict[tuple[str, str, int], int]
    delivery: DeliveryStats
    pending_deliveries: int = 0


@dataclass(slots=True)
class _Log:
    counters: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    records: deque[RequestRecord] = field(default_factory=deque)
    total: int = 0


class Simulator:
    """A faithful local Exotel account (see docs/simulator.md)."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        clock: WallClock | None = None,
        callback_client: httpx.AsyncClient | None = None,
        request_log_size: int = 100_000,
        sid_nonce: str | None = None,
    ) -> None:
        """``sid_nonce`` fixes the call SIDs (two instances given the same one and the same
        seed hand out the same SIDs); by default each instance draws its own, so SIDs are
        unique across instances while every other random choice follows the seed."""
        self.scenario = scenario or Scenario()
        self._clock = clock or TrioWallClock()
        self._client = callback_client
        self.start = trio.current_time()
        self.book = CallBook(self.scenario, sid_nonce)
        self.board = ExoPhoneBoard(self.scenario, self.start, self._wall())
        self.dispatcher = Dispatcher(self.scenario, self.book, self._heartbeat_payload)
        self._limit = RollingWindow(
            self.scenario.rate_limit.requests, self.scenario.rate_limit.window
        )
        self._v2_limit = RollingWindow(self.scenario.rate_limit.exophone_details, 60.0)
        self._bursts = Bursts(self.scenario.faults.bursts, self.start, self.scenario.time_scale)
        self._rng = random.Random(f"{self.scenario.seed}:faults")
        self._ids = random.Random(f"{self.scenario.seed}:request-ids")
        self._log = _Log(records=deque(maxlen=request_log_size))

    # ---- plumbing --------------------------------------------------------------------

    def _wall(self) -> float:
        return self._clock.now().timestamp()

    def wall_now(self) -> float:
        """POSIX time now on the simulator's wall clock (the one its dates come from)."""
        return self._wall()

    def request_id(self) -> str:
        """A v2/v3 envelope ``request_id`` (32 hex digits, seeded)."""
        return f"{self._ids.getrandbits(128):032x}"

    def _heartbeat_payload(self) -> dict[str, Any]:
        self.board.advance(trio.current_time(), self._wall())
        return self.board.heartbeat(self._wall(), self.scenario.heartbeat.payload_too_large)

    # ---- the handler -----------------------------------------------------------------

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as Exotel would (raises ``AnswerLost`` for a lost answer).

        ``/_sim/...`` paths are the inspection endpoints (``inspect.py``), not Exotel's:
        answered before the rate limit, faults and request log.
        """
        await request.aread()
        if is_inspection(request):
            return await inspect(self, request)
        now, wall = trio.current_time(), self._wall()
        self.board.advance(now, wall)
        route, match = find_route(request)
        kind = route.kind if route else "unknown"
        try:
            if route is None or match is None:
                response = self._no_route(request, match)
            else:
                as_json = route.style != "v1" or match.group(match.re.groups) == ".json"
                ctx = Ctx(request, now, wall, match.groups(), as_json, route.style)
                response = await self._guarded(route, ctx)
        except AnswerLost:
            self._record(now, request, kind, 0)
            raise
        self._record(now, request, kind, response.status_code)
        return response

    def _no_route(self, request: httpx.Request, match: re.Match[str] | None) -> httpx.Response:
        status = 405 if match else 404
        text = "Method Not Allowed" if match else "Not Found"
        if request.url.path.startswith("/v1/"):
            return rest_exception(status, text, request.url.path.endswith(".json"))
        body = envelope(self.request_id(), request.method, status, "call_details", None,
                        error_data(status, text))  # fmt: skip
        return json_response(status, body)

    async def _guarded(self, route: Route, ctx: Ctx) -> httpx.Response:
        refusal = self._check_auth(ctx) or self._check_limits(route, ctx)
        if refusal is not None:
            return refusal
        if ctx.request.method == "GET" and self._rng.random() < self.scenario.faults.get_5xx:
            return self.server_error(ctx)
        return await route.handler(self, ctx)

    def _record(self, now: float, request: httpx.Request, kind: str, status: int) -> None:
        log = self._log
        log.total += 1
        log.counters[(request.method, kind, status)] += 1
        log.records.append(RequestRecord(now, request.method, request.url.path, kind, status))

    def _error(self, ctx: Ctx, http: int, code: int, text: str) -> httpx.Response:
        method, rid = ctx.request.method, self.request_id()
        return styled_error(ctx.style, ctx.as_json, method, rid, http, code, text)

    def _check_auth(self, ctx: Ctx) -> httpx.Response | None:
        account = self.scenario.account
        if authorised(ctx.request, account):
            if ctx.groups[0] == account.sid:
                return None
            if ctx.style == "v3":  # 002: 404/1017 "AccountSid not found"
                return self._error(ctx, 404, 1017, "AccountSid not found")
        if self._rng.random() < self.scenario.faults.plain_401:
            return plain(401, "Unauthorized")
        return self._error(ctx, 401, 1010, "Authentication failed")

    def _check_limits(self, route: Route, ctx: Ctx) -> httpx.Response | None:
        now = ctx.now
        admitted = (
            not self._bursts.active(now)
            and self._limit.admit(now)
            and (route.kind != "v2.exophone" or self._v2_limit.admit(now))
        )
        if admitted:
            return None
        if self._rng.random() < self.scenario.faults.plain_429:
            return plain(429, "Too Many Requests")
        return self._error(ctx, 429, 10724, "Too many requests")

    def server_error(self, ctx: Ctx) -> httpx.Response:
        """A 5xx answer in the request's style (fault injection)."""
        return server_error(
            ctx.style, ctx.as_json, ctx.request.method, self.request_id(), self._rng
        )

    # ---- placing calls ---------------------------------------------------------------

    async def place(
        self,
        ctx: Ctx,
        call: SimCall,
        plan: dict[str, Any],
        exophone_sid: str,
        render: Callable[[SimCall], httpx.Response],
    ) -> httpx.Response:
        """Create a validated call, applying connect faults, and answer with ``render``."""
        faults, rng = self.scenario.faults, self._rng
        health = self.board.state[exophone_sid].outgoing
        down = health == "major_outage" or (
            health == "partial_network_outage" and rng.random() < 0.5
        )
        plan["from_no_dial"] = down or plan.get("from_no_dial", False)
        if rng.random() < faults.connect_5xx:
            if rng.random() < faults.connect_5xx_created:
                self._create(call, plan, ctx)
                call.lost = 2
            return self.server_error(ctx)
        if faults.connect_proxy_timeout and rng.random() < faults.connect_proxy_timeout:
            # A proxy in front of Exotel forwarded the POST, then gave up waiting for the
            # answer (nginx's 499, a load balancer's 408): the call exists all the same.
            self._create(call, plan, ctx)
            call.lost = 2
            status = rng.choice((408, 499))
            return plain(status, "Request Timeout" if status == 408 else "Client Closed Request")
        if rng.random() < faults.connect_ambiguous:
            self._create(call, plan, ctx)
            call.lost = 1
            raise AnswerLost("the simulator lost this answer on purpose", request=ctx.request)
        opts = call.opts
        owes = opts is not None and bool(opts.callback_url or opts.v3_callbacks)
        early = owes and rng.random() < faults.early_callback
        plan["compress"] = early
        self._create(call, plan, ctx, schedule=not early)
        if early:
            # The callbacks of a very short call go out while the POST holds its answer.
            await trio.sleep_until(self.book.at(call, call.end))
            await self.dispatcher.deliver_early(call)
        return render(call)

    def _create(self, call: SimCall, plan: dict[str, Any], ctx: Ctx, schedule: bool = True) -> None:
        self.book.create(call, plan, ctx.now, ctx.wall)
        if schedule:
            self.dispatcher.schedule_call(call)

    # ---- the service and the two faces -----------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Deliver callbacks and heartbeats until cancelled: ``await nursery.start(sim.run)``."""
        if self._client is not None:
            await self.dispatcher.run(self._client, task_status=task_status)
            return
        timeout = httpx.Timeout(self.scenario.callbacks.timeout)
        limits = httpx.Limits(
            max_connections=64, max_keepalive_connections=16, keepalive_expiry=2.0
        )
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            await self.dispatcher.run(client, task_status=task_status)

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport answering from this simulator, for in-process clients."""
        from campaigner.simulator.server import SimTransport

        return SimTransport(self)

    @property
    def asgi_app(self) -> Any:
        """The ASGI application serving this simulator (for hypercorn)."""
        from campaigner.simulator.server import AsgiApp

        return AsgiApp(self)

    # ---- control hooks ---------------------------------------------------------------

    def set_number(
        self,
        number: str,
        *,
        outcome: Kind | None = None,
        dnd: bool | str | None = None,
    ) -> None:
        """Change how a number behaves from now on (None leaves a setting as it is)."""
        self.book.set_number(number, outcome=outcome, dnd=dnd)

    def set_agent_busy(self, number: str, busy: bool) -> None:
        """Mark an agent number always busy (or not) from now on."""
        self.book.set_agent(number, busy=busy)

    def set_agent_device(self, number: str, device: Device) -> None:
        """Set an agent's device state from now on (v3 refusals; see ``Agent.device``)."""
        self.book.set_agent(number, device=device)

    def set_exophone_health(
        self,
        sid: str,
        *,
        incoming: Health | None = None,
        outgoing: Health | None = None,
        alternates: tuple[str, ...] | None = None,
    ) -> None:
        """Change an ExoPhone's connectivity (and the alternates it names) from now on."""
        self.board.set(sid, incoming, outgoing, self._wall())
        if alternates is not None:
            self.board.set_alternates(sid, alternates)

    def trigger_heartbeat(self) -> None:
        """Send a heartbeat now (needs ``run``; does nothing without a heartbeat URL)."""
        if self.scenario.heartbeat.url:
            self.dispatcher.trigger_heartbeat(trio.current_time())

    def set_faults(self, **changes: Any) -> None:
        """Replace fault settings, e.g. ``set_faults(callback_drop=0.5)`` (validated)."""
        faults = type(self.scenario.faults).model_validate(
            {**self.scenario.faults.model_dump(), **changes}
        )
        self.scenario = self.scenario.model_copy(update={"faults": faults})
        self.book.scenario = self.dispatcher.scenario = self.scenario
        self._bursts = Bursts(faults.bursts, self.start, self.scenario.time_scale)

    # ---- introspection ---------------------------------------------------------------

    def calls(self) -> list[CallInfo]:
        """Every call ever created, in creation order."""
        return [self.book.info(call) for call in self.book.ordered]

    def call(self, sid: str) -> CallInfo:
        """One call by SID (KeyError if the simulator never created it)."""
        return self.book.info(self.book.by_sid[sid])

    @property
    def requests(self) -> list[RequestRecord]:
        """The most recent requests (bounded by ``request_log_size``)."""
        return list(self._log.records)

    def stats(self) -> SimStats:
        """Counters per (method, endpoint kind, status) and callback/heartbeat counts."""
        return SimStats(
            calls=len(self.book.ordered),
            requests=self._log.total,
            counters=dict(self._log.counters),
            delivery=DeliveryStats(**{
                name: getattr(self.dispatcher.stats, name)
                for name in DeliveryStats.__dataclass_fields__
            }),
            pending_deliveries=self.dispatcher.pending,
        )  # fmt: skip
