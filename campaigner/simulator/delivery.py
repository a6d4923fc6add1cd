"""The one background service: a heap of deliveries keyed by trio time.

Callbacks and heartbeats are not tasks per call. A call puts one *cursor* in the heap
at the time of its next event; when it comes due, the cursor hands that event's
deliveries (after the seeded drop / duplicate / delay / reorder faults) to a fixed pool
of worker tasks and re-files itself at the call's next event. A delivery that fails or
gets a non-2xx answer is retried with doubling backoff, as Exotel does (FAQ: "If your
endpoint does not acknowledge the webhook, Exotel may retry delivery"; 000: heartbeats
are retried on non-2xx).
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import trio

from campaigner.simulator.callbacks import TERMINAL, build, events_of
from campaigner.simulator.calls import CallBook
from campaigner.simulator.scenario import Scenario
from campaigner.simulator.timeline import SimCall

CURSOR, CALLBACK, HEARTBEAT, HEARTBEAT_TICK = 0, 1, 2, 3
Item = tuple[float, int, int, Any, int, int]  # due, seq, kind, ref, code, attempt


@dataclass(slots=True)
class DeliveryStats:
    """Counters of everything the service did; read them through ``Simulator.stats()``."""

    delivered: int = 0  # callback requests answered 2xx (duplicates included)
    attempts: int = 0  # callback requests sent, retries included
    retried: int = 0
    gave_up: int = 0  # callbacks abandoned after the last retry
    dropped: int = 0  # callbacks deliberately never sent (fault)
    duplicated: int = 0
    delayed: int = 0
    reordered: int = 0  # stale `answered` sent after `terminal`
    early: int = 0  # sent before the connect POST's answer
    heartbeats_sent: int = 0  # heartbeat requests, retries included
    heartbeats_delivered: int = 0


class Dispatcher:
    """Schedules and sends callbacks and heartbeats; ``run`` is the service."""

    def __init__(
        self, scenario: Scenario, book: CallBook, heartbeat: Callable[[], dict[str, Any]]
    ) -> None:
        self.scenario = scenario
        self.book = book
        self.scale = scenario.time_scale
        self.stats = DeliveryStats()
        self._heartbeat = heartbeat
        self._heap: list[Item] = []
        self._seq = itertools.count()
        self._rng = random.Random(f"{scenario.seed}:callbacks")
        self._wake = trio.Event()
        self._target = math.inf
        self._client: httpx.AsyncClient | None = None

    # ---- scheduling ------------------------------------------------------------------

    def push(self, due: float, kind: int, ref: Any = None, code: int = 0, attempt: int = 0) -> None:
        """File an item; wakes the service if it is now the earliest."""
        heapq.heappush(self._heap, (due, next(self._seq), kind, ref, code, attempt))
        if due < self._target:
            self._target = due
            self._wake.set()

    def schedule_call(self, call: SimCall) -> None:
        """Put the call's cursor at its first callback event (if it owes any)."""
        events = events_of(call)
        if events:
            self.push(self.book.at(call, events[0][0]), CURSOR, call)

    def trigger_heartbeat(self, now: float) -> None:
        """Send one heartbeat now, outside the periodic schedule."""
        self.push(now, HEARTBEAT_TICK, None, 0)

    @property
    def pending(self) -> int:
        """Items still in the heap (cursors, deliveries, retries, heartbeat ticks)."""
        return len(self._heap)

    def _cursor(self, call: SimCall, now: float) -> None:
        events = events_of(call)
        while call.next_event < len(events):
            offset, code = events[call.next_event]
            due = self.book.at(call, offset)
            if due > now:
                self.push(due, CURSOR, call)
                return
            call.next_event += 1
            self._fan_out(call, code, due)

    def _fan_out(self, call: SimCall, code: int, due: float) -> None:
        faults, rng = self.scenario.faults, self._rng
        if rng.random() < faults.callback_drop:
            self.stats.dropped += 1
            return
        if code & 3 != TERMINAL and rng.random() < faults.callback_reorder:
            # docs/exotel/quirks.md: "a stale `answered` can come after the terminal event"
            due = self.book.at(call, call.end + 1)
            self.stats.reordered += 1
        elif rng.random() < faults.callback_delay:
            due += rng.uniform(*faults.callback_delay_range) / self.scale
            self.stats.delayed += 1
        self.push(due, CALLBACK, call, code)
        if rng.random() < faults.callback_duplicate:
            self.push(due + rng.uniform(1.0, 10.0) / self.scale, CALLBACK, call, code)
            self.stats.duplicated += 1

    # ---- the service -----------------------------------------------------------------

    async def run(self, client: httpx.AsyncClient, *, task_status: trio.TaskStatus[None]) -> None:
        """Deliver everything as it comes due, forever (cancel the nursery to stop)."""
        self._client = client
        workers = self.scenario.callbacks.workers
        send, recv = trio.open_memory_channel[Item](workers * 4)
        async with trio.open_nursery() as nursery, send:
            for _ in range(workers):
                nursery.start_soon(self._worker, recv.clone())
            if self.scenario.heartbeat.url:
                self.push(trio.current_time(), HEARTBEAT_TICK, None, 1)
            task_status.started()
            while True:
                await self._pump(send)
                self._wake = trio.Event()
                self._target = self._heap[0][0] if self._heap else math.inf
                with trio.move_on_at(self._target):
                    await self._wake.wait()

    async def _pump(self, send: trio.MemorySendChannel[Item]) -> None:
        heap = self._heap
        while heap and heap[0][0] <= trio.current_time():
            item = heapq.heappop(heap)
            kind = item[2]
            if kind == CURSOR:
                self._cursor(item[3], item[0])
            elif kind == HEARTBEAT_TICK:
                self._tick(item)
            else:
                await send.send(item)

    def _tick(self, item: Item) -> None:
        now = trio.current_time()
        self.push(now, HEARTBEAT, json.dumps(self._heartbeat()).encode())
        if item[4]:  # periodic: file the next one
            self.push(
                item[0] + self.scenario.heartbeat.interval / self.scale, HEARTBEAT_TICK, None, 1
            )

    async def _worker(self, recv: trio.MemoryReceiveChannel[Item]) -> None:
        async with recv:
            async for item in recv:
                await self._attempt(item)

    async def _attempt(self, item: Item) -> None:
        _due, _seq, kind, ref, code, attempt = item
        if kind == HEARTBEAT:
            self.stats.heartbeats_sent += 1
            url = self.scenario.heartbeat.url or ""
            ok = await self._send("POST", url, {"Content-Type": "application/json"}, ref)
            self.stats.heartbeats_delivered += ok
        else:
            self.stats.attempts += 1
            ok = await self._send(*build(ref, code, self.scenario))
            self.stats.delivered += ok
        if ok:
            return
        if attempt < self.scenario.callbacks.retries:
            self.stats.retried += kind == CALLBACK
            backoff = self.scenario.callbacks.backoff * 2**attempt / self.scale
            self.push(trio.current_time() + backoff, kind, ref, code, attempt + 1)
        elif kind == CALLBACK:
            self.stats.gave_up += 1

    async def _send(self, method: str, url: str, headers: dict[str, str], content: bytes) -> bool:
        if self._client is None:
            return False
        try:
            response = await self._client.request(
                method,
                url,
                headers=headers,
                content=content or None,
                timeout=self.scenario.callbacks.timeout,
            )
        except httpx.HTTPError:
            return False
        return 200 <= response.status_code < 300

    async def deliver_early(self, call: SimCall) -> None:
        """Send every event of a (very short, already ended) call now, inline."""
        events = events_of(call)
        call.next_event = len(events)
        now = trio.current_time()
        for _offset, code in events:
            self.stats.early += 1
            await self._attempt((now, next(self._seq), CALLBACK, call, code, 0))
