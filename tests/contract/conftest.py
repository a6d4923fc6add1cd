"""The real ExotelClient against a real Simulator: shared numbers, scenario and harness.

The client and the simulator were written apart from the reference; these tests make them
talk. In-process tests use ``sim.transport()`` under ``autojump_clock`` (exact virtual
time); callbacks the simulator sends land in a :class:`Capture` (an ``httpx.MockTransport``)
so every body can be fed to the client's parsers. The credentials are distinctive so that a
leak into any error text is caught.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import trio

from campaigner.clock import TrioWallClock
from campaigner.domain import CallSpec
from campaigner.errors import ExotelError
from campaigner.exotel import ExotelClient
from campaigner.settings import ExotelSettings
from campaigner.simulator import Scenario, Simulator
from tests.simulator.conftest import FIXED

ACCOUNT = "acmecontract"
API_KEY = "KEYc0ntractQz7Wx"
API_TOKEN = "TOKc0ntractVb4Ny"
SECRETS = (API_KEY, API_TOKEN, base64.b64encode(f"{API_KEY}:{API_TOKEN}".encode()).decode())
BASE = "http://sim.test"

AGENT = "+919800000001"
CUSTOMER = "+919811111111"
EXOPHONE = "+912241499102"  # sid "02241499102" among the default ExoPhones
EXOPHONE_SID = "02241499102"
CALLBACK_URL = "http://receiver.test/exotel?token=cb-secret"
HEARTBEAT_URL = "http://receiver.test/heartbeat?token=hb-secret"

# 2025-01-06 10:00:00 IST: every simulated date is derived from this instant.
ANCHOR = datetime(2025, 1, 6, 4, 30, tzinfo=UTC)

# tests/simulator's fixed timing, every range one value, so each timeline is exact
# (simulated seconds): queued 0-1, leg 1 rings 1-6, leg 2 rings 6-11, talk 11-71, record
# final at 191.
TALK, END, FINAL = 60, 71, 191


def scenario(**changes: Any) -> Scenario:
    """The fixed-timing scenario with the contract credentials; every call completes."""
    base: dict[str, Any] = {
        "seed": 11,
        "timing": FIXED,
        "outcome_mix": {"completed": 1.0},
        "account": {"sid": ACCOUNT, "api_key": API_KEY, "api_token": API_TOKEN},
    }
    return Scenario.model_validate({**base, **changes})


def settings(token: str = API_TOKEN, account: str = ACCOUNT, base: str = BASE) -> ExotelSettings:
    return ExotelSettings(
        api_key=API_KEY, api_token=token, account_sid=account, base_url=base, ccm_base_url=base
    )


def spec(api: str = "v1", first: str = AGENT, second: str | None = CUSTOMER, **kw: Any) -> CallSpec:
    """A connect from ``first`` to ``second`` via EXOPHONE (unless ``caller_id`` is given)."""
    kw.setdefault("caller_id", EXOPHONE)
    return CallSpec(api=api, first_leg=first, second_leg=second, **kw)  # type: ignore[arg-type]


@dataclass
class Delivery:
    """One callback or heartbeat request the simulator sent."""

    time: float
    method: str
    url: httpx.URL
    content_type: str
    body: bytes


@dataclass
class Capture:
    """The receiving end of the simulator's callbacks: answers 200 and keeps everything."""

    got: list[Delivery] = field(default_factory=list)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        content_type = request.headers.get("content-type", "")
        self.got.append(
            Delivery(trio.current_time(), request.method, request.url, content_type, body)
        )
        return httpx.Response(200)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))

    def to(self, path: str) -> list[Delivery]:
        """What arrived at the receiver's ``path`` (callbacks or heartbeats)."""
        return [d for d in self.got if d.url.path == path]


@dataclass
class Harness:
    """A simulator (its delivery service running), a client on its transport, a capture."""

    sim: Simulator
    client: ExotelClient
    capture: Capture
    tap: Tap

    def seen(self, method: str, kind: str) -> list[int]:
        """Statuses of the requests of one endpoint kind, in order."""
        return [r.status for r in self.sim.requests if (r.method, r.kind) == (method, kind)]

    async def until(self, sid: str, offset: float) -> None:
        """Sleep until ``offset`` simulated seconds after the call's creation."""
        await trio.sleep_until(self.sim.call(sid).created_at + offset)


class Tap(httpx.AsyncBaseTransport):
    """Sits between the client and the simulator: keeps every URL sent, and optionally
    rewrites requests first (e.g. dropping v1's ``.json`` to get XML answers)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        rewrite: Callable[[httpx.Request], None] | None = None,
    ) -> None:
        self.inner = inner
        self.rewrite = rewrite
        self.urls: list[httpx.URL] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.rewrite is not None:
            self.rewrite(request)
        self.urls.append(request.url)
        return await self.inner.handle_async_request(request)


Build = Callable[..., Any]


@pytest.fixture
async def make(nursery: trio.Nursery) -> AsyncIterator[Build]:
    """``await make(**scenario_changes)`` -> a running :class:`Harness` (closed at the end)."""
    clients: list[ExotelClient] = []

    async def build(scn: Scenario | None = None, **changes: Any) -> Harness:
        capture = Capture()
        sim = Simulator(
            scn or scenario(**changes),
            clock=TrioWallClock(ANCHOR),
            callback_client=capture.client(),
        )
        await nursery.start(sim.run)
        tap = Tap(sim.transport())
        client = ExotelClient(settings(), transport=tap)
        clients.append(client)
        return Harness(sim, client, capture, tap)

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
async def h(make: Build) -> Harness:
    """The default harness."""
    harness: Harness = await make()
    return harness


async def raised(awaitable: Any) -> ExotelError:
    """The ExotelError an operation raises (fails the test if it returns)."""
    with pytest.raises(ExotelError) as info:
        await awaitable
    return info.value


def assert_no_secrets(*texts: str) -> None:
    """Neither credential, nor their Basic form, appears in any of ``texts``."""
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"a credential leaked into: {text!r}"


def error_texts(err: BaseException) -> list[str]:
    """Every text an error shows: str, repr, and the same for its whole cause chain."""
    texts: list[str] = []
    current: BaseException | None = err
    while current is not None:
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return texts
