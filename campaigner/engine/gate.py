"""The engine's request gate: the rate limiter, prepaid dials, and a request journal.

The dialer must commit a call's intent after the rate-limit wait and before the
POST: were the intent written before waiting, a crash during the wait would leave
an intent that was never sent, and the contact would be held as "maybe dialed"
until reconciliation proved otherwise (hours). So the dialer acquires the
"connect" grant itself, journals the intent, and marks the task that sends the
POST as prepaid; the client's own ``acquire("connect")`` then passes at once.
Every answer's status is journaled (the report's budget and error charts).
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from campaigner.engine.limiter import RateLimiter


class EngineGate:
    """Implements ``campaigner.exotel.client.RequestGate`` for a run."""

    def __init__(
        self,
        limiter: RateLimiter,
        on_request: Callable[[str, int, str | None], None] | None = None,
    ) -> None:
        self._limiter = limiter
        self._on_request = on_request
        self._prepaid: set[object] = set()
        self._purpose: dict[object, str] = {}

    def prepay_current_task(self) -> None:
        """The current task already holds a "connect" grant for its next connect."""
        self._prepaid.add(trio.lowlevel.current_task())

    async def acquire(self, purpose: str) -> None:
        task = trio.lowlevel.current_task()
        self._purpose[task] = purpose
        if purpose == "connect" and task in self._prepaid:
            self._prepaid.discard(task)
            return
        await self._limiter.acquire(purpose)

    def on_status(self, status: int, code: str | None = None) -> None:
        purpose = self._purpose.get(trio.lowlevel.current_task(), "unknown")
        self._limiter.on_status(status)
        if self._on_request is not None:
            self._on_request(purpose, status, code)

    def forget_current_task(self) -> None:
        """Drop per-task bookkeeping once a task's requests are done."""
        task = trio.lowlevel.current_task()
        self._purpose.pop(task, None)
        self._prepaid.discard(task)
