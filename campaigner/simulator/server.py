"""The simulator's two faces: an httpx transport (in-process) and an ASGI app (hypercorn).

Both call ``Simulator.handle``. They differ only in how a deliberately lost answer is
lost: the transport waits the client's own read timeout and raises ``httpx.ReadTimeout``
(instant under ``autojump_clock``); the server holds the request for
``faults.ambiguous_hold`` real seconds and then breaks the connection mid-answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
import trio
from hypercorn.trio import serve

from campaigner.asgi import Receive, Scope, Send, hypercorn_config, lifespan
from campaigner.simulator.core import AnswerLost

if TYPE_CHECKING:
    from campaigner.simulator.core import Simulator


class SimTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=sim.transport())``: no sockets, virtual-time exact."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        try:
            return await self._sim.handle(request)
        except AnswerLost:
            timeout = request.extensions.get("timeout", {}).get("read")
            if timeout:
                await trio.sleep(timeout)  # the client gives up after its own read timeout
            raise


class AsgiApp:
    """Plain ASGI over ``Simulator.handle`` (answers lifespan: campaigner.asgi.lifespan)."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"unsupported ASGI scope {scope['type']!r}")
        request = await _request(scope, receive)
        if request is None:
            return  # the client went before its body was complete: nothing was asked
        try:
            response = await self._sim.handle(request)
        except AnswerLost:
            await trio.sleep(self._sim.scenario.faults.ambiguous_hold)
            await _break(send)
            return
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": response.content})


async def _request(scope: Scope, receive: Receive) -> httpx.Request | None:
    """The request, or None when the client disconnected before sending all of it (a
    half-sent connect is not a request Exotel acts on, nor one it counts)."""
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        more = message.get("more_body", False)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    host = next((v for k, v in headers if k.lower() == "host"), "127.0.0.1")
    raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
    query = scope.get("query_string", b"")
    url = f"{scope.get('scheme', 'http')}://{host}{raw_path.decode('latin-1')}"
    url += "?" + query.decode("latin-1") if query else ""
    return httpx.Request(scope["method"], url, headers=headers, content=body)


async def _break(send: Send) -> None:
    # Promise a body, then end without it: the server must drop the connection, so the
    # client sees the answer lost mid-flight (not a clean HTTP error it could trust).
    headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{", "more_body": False})


async def serve_http(
    sim: Simulator,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``sim`` over HTTP until cancelled; ``nursery.start`` returns the bound URLs."""
    config = hypercorn_config(graceful_timeout=1.0, bind=[f"{host}:{port}"])
    await serve(sim.asgi_app, config, task_status=task_status)
