"""The callback receiver: Exotel's status callbacks and heartbeats, over ASGI.

Why it looks like this:
- Exotel signs nothing and sends no auth (docs/exotel/, "What public integrations
  add"), so the callback URL carries an unguessable token, new for every run, and the
  heartbeat URL a secret from the settings; anything else is refused (403/404). A
  previous run's token is still accepted, but only for the open calls that run placed.
  Tokens are compared as bytes in constant time, whatever characters the path holds.
- The token only gets a callback read: what it says about a call is then checked
  against the call it names (campaigner.engine.verify) before it can decide anything.
- The handler journals the event (synchronously, via ``on_call``/``on_heartbeat``)
  and only then answers 200: an event acknowledged is an event kept. The work is
  microseconds, so Exotel gets its prompt 200 (FAQ: "Always respond with HTTP 200
  promptly").
- Bodies are capped (413) and read with a deadline (408), and a connection that sends
  no complete request head within ``IDLE_TIMEOUT`` is closed, so a hostile or slow
  client (slowloris) cannot hold the run's memory or its receiver.
- Refused and malformed requests are counted, and warned about at most once a minute
  per kind: a flood of forged callbacks must not flood the operator's log. Any other
  failure while handling a request is a counted 500 and such a warning too, never a
  traceback per request; what a stranger sent is never quoted in a log line.
- Connections are capped (campaigner.asgi): idle connections by the hundred
  cannot exhaust the run's file descriptors or keep Exotel's callbacks out.
The path's last segments decide the route, so a reverse proxy may keep or strip a
prefix: ``.../<token>/<api>`` (a route per registered API version: v1, v3),
``.../heartbeat/<secret>``.
"""

from __future__ import annotations

import hmac
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from campaigner.asgi import (
    MAX_CONNECTIONS,
    ConnectionStats,
    Receive,
    Scope,
    Send,
    connection_cap,
    hypercorn_config,
    lifespan,
    raise_fd_limit,
    serve_capped,
)
from campaigner.domain import CallObservation
from campaigner.errors import CallbackError
from campaigner.exotel.callbacks import MAX_HEARTBEAT_BYTES, parse_heartbeat
from campaigner.exotel.models import Heartbeat
from campaigner.exotel.registry import REGISTRY, api_version

log = logging.getLogger("campaigner.receiver")
# hypercorn's own messages ("Running on ... (CTRL + C to quit)") are not the operator's
# business; its warnings and errors are.
_server_log = logging.getLogger("campaigner.receiver.server")
_server_log.setLevel(logging.WARNING)

MAX_BODY = 64 * 1024
BODY_DEADLINE = 10.0  # seconds a client may take to send a body (then 408)
IDLE_TIMEOUT = 5.0  # hypercorn's keep-alive: idle, or still sending its head, then closed
WARN_EVERY = 60.0  # seconds between two warnings of one kind (refused, malformed, ...)


@dataclass
class ReceiverStats:
    """Counters for the progress display and the report."""

    accepted: int = 0
    heartbeats: int = 0
    refused: int = 0
    malformed: int = 0
    too_large: int = 0
    timed_out: int = 0
    unanswered: int = 0  # the connection closed before the answer could be sent
    failed: int = 0  # an unexpected error while handling a request (answered 500)
    by_status: dict[int, int] = field(default_factory=dict)
    connections: ConnectionStats = field(default_factory=ConnectionStats)


class _Warnings:
    """At most one warning per kind every ``every`` seconds, saying how many were held back."""

    def __init__(self, every: float = WARN_EVERY) -> None:
        self._every = every
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()

    def warn(self, kind: str, message: str, *args: object) -> None:
        now = trio.current_time()
        last = self._last.get(kind)
        if last is not None and now - last < self._every:
            self._held[kind] += 1
            return
        held = self._held.pop(kind, 0)
        if held:
            message += f" (and {held} more like it since the last such warning)"
        self._last[kind] = now
        log.warning(message, *args)


class CallbackReceiver:
    """An ASGI app; ``on_call`` and ``on_heartbeat`` journal an event and return."""

    def __init__(
        self,
        token: str,
        on_call: Callable[[CallObservation], None],
        *,
        heartbeat_token: str | None = None,
        on_heartbeat: Callable[[Heartbeat], None] | None = None,
        max_body: int = MAX_BODY,
        body_deadline: float = BODY_DEADLINE,
        previous_tokens: tuple[str, ...] = (),
        previous_allows: Callable[[str, str], bool] | None = None,
    ) -> None:
        """``previous_tokens`` are earlier runs' tokens: a callback carrying one is applied
        only if ``previous_allows(token, sid)`` says that run placed the open call."""
        self._token = _secret_bytes(token)
        self._previous = [(t, _secret_bytes(t)) for t in previous_tokens]
        self._previous_allows = previous_allows
        self._on_call = on_call
        self._heartbeat_token = None if heartbeat_token is None else _secret_bytes(heartbeat_token)
        self._on_heartbeat = on_heartbeat
        self._max_body = max_body
        self._body_deadline = body_deadline
        self._warnings = _Warnings()
        self.stats = ReceiverStats()
        self.guard: Any = None  # the run's CallbackGuard (campaigner.engine.verify), if any

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets and the like: hypercorn closes the connection
        try:
            status, text = await self._handle(scope, receive)
        except Exception as exc:  # the contract: one request's failure is a 500, not a crash
            self.stats.failed += 1
            self._warnings.warn("failed", "a callback request failed (%s)", type(exc).__name__)
            status, text = 500, "internal error"
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        try:
            await _respond(send, status, text)
        except (trio.BrokenResourceError, trio.BusyResourceError, trio.ClosedResourceError):
            # The connection went (the client hung up, or hypercorn closed it as idle at the
            # same instant: its close and our answer then collide). What was accepted is
            # already journaled; an uncaught error here would log a traceback per request.
            self.stats.unanswered += 1
            self._warnings.warn("unanswered", "a connection closed before its answer (%d)", status)

    def warn(self, kind: str, message: str) -> None:
        """A rate-limited warning of ``kind`` (for the connection cap)."""
        self._warnings.warn(kind, message)

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[int, str]:
        parts = [p for p in str(scope.get("path", "")).split("/") if p]
        method = str(scope.get("method", "GET")).upper()
        if len(parts) < 2 or method not in ("GET", "POST"):
            self.stats.refused += 1
            return 404, "not found"
        if parts[-2] == "heartbeat":
            secret, route = parts[-1], "heartbeat"
        else:
            secret, route = parts[-2], parts[-1]
        previous = self._authorised(secret, route)
        if previous is False:
            self.stats.refused += 1
            shown = route if route in _ROUTES else "an unknown route"
            self._warnings.warn("refused", "refused a callback with a wrong token on %s", shown)
            return 403, "forbidden"
        # 000: a heartbeat lists every affected ExoPhone, up to 10 MB; only requests that
        # carry the heartbeat secret get that far.
        limit = MAX_HEARTBEAT_BYTES if route == "heartbeat" else self._max_body
        body = await _read_body(receive, limit, self._body_deadline)
        if isinstance(body, int):
            return self._unread(body, route, limit)
        content_type = _header(scope, b"content-type")
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        try:
            return self._dispatch(route, body, content_type, query, method, previous)
        except CallbackError as exc:
            self.stats.malformed += 1
            self._warnings.warn("malformed", "malformed %s callback: %s", route, exc)
            return 400, "malformed"

    def _unread(self, status: int, route: str, limit: int) -> tuple[int, str]:
        if status == 413:
            self.stats.too_large += 1
            self._warnings.warn("too_large", "refused a %s callback over %d bytes", route, limit)
            return 413, "payload too large"
        self.stats.timed_out += 1
        self._warnings.warn("timed_out", "a %s callback's body did not arrive in time", route)
        return 408, "request timeout"

    def _authorised(self, secret: str, route: str) -> str | bool:
        """False, True (the current secret), or the previous run's token it matched."""
        given = _secret_bytes(secret)
        if route == "heartbeat":
            expected = self._heartbeat_token
            return expected is not None and hmac.compare_digest(given, expected)
        if route not in REGISTRY:
            return False
        if hmac.compare_digest(given, self._token):
            return True
        for token, expected in self._previous:
            if hmac.compare_digest(given, expected):
                return token
        return False

    def _dispatch(
        self,
        route: str,
        body: bytes,
        content_type: str,
        query: str,
        method: str,
        previous: str | bool = True,
    ) -> tuple[int, str]:
        if route == "heartbeat":
            if self._on_heartbeat is None:
                return 404, "not found"
            self._on_heartbeat(parse_heartbeat(body, content_type))
            self.stats.heartbeats += 1
            return 200, "OK"
        obs = api_version(route).parse_callback(body, content_type, query, method)
        if isinstance(previous, str) and not (
            self._previous_allows is not None and self._previous_allows(previous, obs.sid)
        ):
            self.stats.refused += 1
            self._warnings.warn("old_token", "refused a callback with an old run's token")
            return 403, "forbidden"
        self._on_call(obs)
        self.stats.accepted += 1
        return 200, "OK"


async def _read_body(receive: Receive, limit: int, deadline: float) -> bytes | int:
    """The body, or the status to answer: 413 past ``limit`` bytes, 408 past ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    with trio.move_on_after(deadline):
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > limit:
                return 413
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
    return 408


_ROUTES = (*REGISTRY, "heartbeat")  # a status-callback route per API version


def _secret_bytes(text: str) -> bytes:
    # hmac.compare_digest takes only ASCII str: a path segment "%C3%A9" raised TypeError
    # (a 500 and a traceback per request). Bytes compare anything, in constant time.
    return text.encode("utf-8", "backslashreplace")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return ""


async def _respond(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def serve_receiver(
    app: CallbackReceiver,
    listen: str,
    *,
    shutdown: trio.Event,
    idle_timeout: float = IDLE_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``listen`` (host:port) until ``shutdown`` is set.

    Reports the bound URL through ``task_status`` (port 0 picks a free port). A connection
    idle for ``idle_timeout`` seconds is closed, and so is one whose request head is not
    complete by then: hypercorn's keep-alive timer runs until a whole head has arrived,
    and dribbled bytes do not restart it (measured), which is what stops a slowloris.
    At most ``max_connections`` are open at once (fewer if the file-descriptor limit,
    raised to its hard limit here, is low): at the cap the oldest is closed.
    """
    config = hypercorn_config(graceful_timeout=2.0, errorlog=_server_log)
    config.keep_alive_timeout = idle_timeout
    config.h11_max_incomplete_size = 16 * 1024
    cap = connection_cap(max_connections, raise_fd_limit())
    name, _, port = listen.rpartition(":")
    host = name.strip("[]") or None
    listeners = await trio.open_tcp_listeners(int(port), host=host, backlog=config.backlog)
    bound = listeners[0].socket.getsockname()
    shown = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
    task_status.started(f"http://{shown}:{bound[1]}")
    await serve_capped(
        app,
        config,
        listeners,
        max_connections=cap,
        shutdown=shutdown,
        stats=app.stats.connections,
        warn=app.warn,
    )
