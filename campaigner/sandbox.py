"""Sandbox mode: the built-in simulator, in the same process and the same nursery.

``campaigner run --sandbox`` and the engine's tests use it. No account, no public
URL and no socket are needed: the client's requests go to the simulator through an
in-process transport, and the simulator's callbacks go to the run's receiver app
through ``httpx.ASGITransport``. Everything else (paths, bodies, quirks, limits,
faults) is exactly what the simulator serves over HTTP.
"""

from __future__ import annotations

import httpx
import trio

from campaigner.clock import WallClock
from campaigner.engine.receiver import CallbackReceiver
from campaigner.settings import ExotelSettings
from campaigner.simulator import Scenario, Simulator

SANDBOX_HOST = "http://sandbox.exotel.invalid"
SANDBOX_CALLBACKS = "http://sandbox-callbacks.invalid/exotel"


class _Forward(httpx.AsyncBaseTransport):
    """A transport whose target (the simulator) is attached once the run has started."""

    def __init__(self) -> None:
        self.target: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.target is None:
            raise httpx.ConnectError("the sandbox simulator is not running yet", request=request)
        return await self.target.handle_async_request(request)


class Sandbox:
    """Wires a :class:`Simulator` into a run (see ``RunOptions.extra_services``)."""

    def __init__(self, scenario: Scenario, clock: WallClock, sid_nonce: str | None = None) -> None:
        """``sid_nonce`` is for tests only: by default every sandbox's simulator hands out
        SIDs of its own, so a resumed run never meets the SIDs its journal already holds."""
        self.scenario = scenario
        self.sid_nonce = sid_nonce
        self.clock = clock
        self.transport = _Forward()
        self.simulator: Simulator | None = None
        account = scenario.account
        self.settings = ExotelSettings(
            api_key=account.api_key,
            api_token=account.api_token,
            account_sid=account.sid,
            base_url=SANDBOX_HOST,
            ccm_base_url=SANDBOX_HOST,
        )

    async def start(self, nursery: trio.Nursery, app: CallbackReceiver) -> None:
        """Start the simulator in ``nursery``, posting its callbacks to ``app``."""
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        self.simulator = Simulator(
            self.scenario, clock=self.clock, callback_client=client, sid_nonce=self.sid_nonce
        )
        self.transport.target = self.simulator.transport()
        await nursery.start(_hold, client)
        await nursery.start(self.simulator.run)


async def _hold(
    client: httpx.AsyncClient, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Keep the simulator's callback client open for the run, and close it after."""
    async with client:
        task_status.started()
        await trio.sleep_forever()
