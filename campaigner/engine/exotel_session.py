"""A rate limiter and an Exotel client behind it: how run, screen and health talk to Exotel.

Every request campaigner sends must pass the account's limiter (200 requests a minute,
shared by every campaign of the account), so no command may build an
:class:`~campaigner.exotel.client.ExotelClient` without one. This is that set-up,
written once: the limiter runs in a nursery of its own for as long as the client is
open, the client's gate is an :class:`~campaigner.engine.gate.EngineGate` over it
(which, without ``on_request``, is exactly the limiter), and both stop together when
the block ends. A run opens its services' nursery inside this block, so the client
outlives every service (none can send on a closed client). A run passes
``on_request`` (to journal every answer) and the account's shared ``account`` budget;
``screen`` and ``health`` pass neither.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import trio

from campaigner.engine.gate import EngineGate
from campaigner.engine.limiter import AccountBudget, RateLimiter
from campaigner.exotel.client import ExotelClient
from campaigner.settings import ExotelSettings

CLIENT_TIMEOUT = 15.0  # seconds (trio's): the client's own default


@dataclass(frozen=True, slots=True)
class ExotelSession:
    """The client and the limiter and gate every one of its requests passes."""

    client: ExotelClient
    limiter: RateLimiter
    gate: EngineGate


@asynccontextmanager
async def open_exotel(
    settings: ExotelSettings,
    requests_per_minute: int,
    *,
    account: AccountBudget | None = None,
    on_request: Callable[[str, int, str | None], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    client_timeout: float = CLIENT_TIMEOUT,
) -> AsyncIterator[ExotelSession]:
    """A client paced at ``requests_per_minute`` (and ``account``'s shared budget)."""
    async with trio.open_nursery() as nursery:
        limiter = await nursery.start(RateLimiter(requests_per_minute, account=account).run)
        gate = EngineGate(limiter, on_request)
        async with ExotelClient(
            settings, transport=transport, gate=gate, timeout=client_timeout
        ) as client:
            yield ExotelSession(client, limiter, gate)
        nursery.cancel_scope.cancel()
