"""Shared helpers: a fixed-timing scenario, an in-process API client, a callback recorder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import trio

from campaigner.simulator import Scenario, Simulator
from campaigner.simulator.scenario import Timing

AGENT = "+919800000001"
CUSTOMER = "+919811111111"
EXOPHONE = "+912241499102"  # sid "02241499102" in the default ExoPhones
AUTH = ("sandbox-key", "sandbox-token")
V1 = "/v1/Accounts/sandbox"
V3 = "/v3/accounts/sandbox"

# Every range collapsed to one value, so timelines are exact:
# queued 0-1, leg 1 rings 1-6, leg 2 rings 6-11, talk 11-71, record final at 191.
FIXED = Timing(
    queue=(1, 1),
    ring=(5, 5),
    no_answer_ring=(30, 30),
    busy_after=(3, 3),
    failed_after=(2, 2),
    talk=(60, 60),
    hangup_after=(4, 4),
    record_finalize_delay=120,
)


def make_scenario(**changes: Any) -> Scenario:
    """The fixed-timing scenario (every call completes unless told otherwise)."""
    base: dict[str, Any] = {"seed": 7, "timing": FIXED, "outcome_mix": {"completed": 1.0}}
    return Scenario.model_validate({**base, **changes})


@dataclass
class Received:
    """One callback or heartbeat request the recorder got."""

    time: float
    method: str
    url: str
    content_type: str
    body: bytes

    def form(self) -> dict[str, str]:
        """Parse a multipart/form-data body into a dict (fields are plain text)."""
        boundary = self.content_type.split("boundary=")[1]
        fields = {}
        for part in self.body.decode().split(f"--{boundary}")[1:-1]:
            head, _, value = part.strip("\r\n").partition("\r\n\r\n")
            name = head.split('name="')[1].split('"')[0]
            fields[name] = value
        return fields


@dataclass
class Recorder:
    """Answers callbacks (statuses from ``answers``, then 200) and keeps what arrived."""

    answers: list[int] = field(default_factory=list)
    got: list[Received] = field(default_factory=list)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.got.append(
            Received(
                trio.current_time(),
                request.method,
                str(request.url),
                request.headers.get("content-type", ""),
                await request.aread(),
            )
        )
        return httpx.Response(self.answers.pop(0) if self.answers else 200)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


SimFactory = Callable[..., Simulator]


@pytest.fixture
def make_sim(recorder: Recorder) -> SimFactory:
    """Build a simulator (inside the test's trio run) whose callbacks go to ``recorder``."""

    def build(scenario: Scenario | None = None, **changes: Any) -> Simulator:
        return Simulator(scenario or make_scenario(**changes), callback_client=recorder.client())

    return build


@pytest.fixture
async def sim(make_sim: SimFactory) -> Simulator:
    return make_sim()


def api_client(sim: Simulator, auth: tuple[str, str] | None = AUTH) -> httpx.AsyncClient:
    """An httpx client whose transport is the simulator (no sockets)."""
    return httpx.AsyncClient(transport=sim.transport(), base_url="http://sim", auth=auth)


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(sim) as client:
        yield client


@pytest.fixture
async def running(sim: Simulator, nursery: trio.Nursery) -> Simulator:
    """``sim`` with its delivery service started."""
    await nursery.start(sim.run)
    return sim


def connect_form(**extra: str) -> dict[str, str]:
    """A valid v1 connect form from AGENT to CUSTOMER via EXOPHONE."""
    return {"From": AGENT, "To": CUSTOMER, "CallerId": EXOPHONE, **extra}


def v3_body(**extra: Any) -> dict[str, Any]:
    """A valid v3 create body from AGENT to CUSTOMER via EXOPHONE."""
    return {
        "from": {"contact_uri": AGENT},
        "to": {"contact_uri": CUSTOMER},
        "virtual_number": EXOPHONE,
        **extra,
    }
