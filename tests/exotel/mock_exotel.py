"""A scripted stand-in for Exotel at the transport seam (httpx.MockTransport).

Each send takes the next scripted step (a response or an exception to raise) and is
recorded with trio's clock, so tests can assert exactly when every try left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import trio
import trio.lowlevel

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class Sent:
    at: float
    request: httpx.Request


@dataclass
class ScriptedExotel:
    """Answers with ``steps`` in order; the last step repeats when they run out."""

    steps: list[Step]
    sent: list[Sent] = field(default_factory=list)
    events: list[str] | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(Sent(trio.current_time(), request))
        if self.events is not None:
            self.events.append("send")
        step = self.steps[min(len(self.sent), len(self.steps)) - 1]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        return step(request)

    @property
    def times(self) -> list[float]:
        return [s.at for s in self.sent]


@dataclass
class RecordingGate:
    """A RequestGate that records what it was asked, in order with the sends."""

    events: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    async def acquire(self, purpose: str) -> None:
        self.events.append(f"acquire:{purpose}")
        await trio.lowlevel.checkpoint()

    def on_status(self, status: int, code: str | None = None) -> None:
        self.statuses.append(status)
        self.events.append(f"status:{status}")
