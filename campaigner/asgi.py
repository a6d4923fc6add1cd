"""ASGI plumbing shared by the callback receiver and the simulator's server.

Both serve a plain ASGI app with hypercorn on trio; what they share lives here, once,
at the top of the package so that the simulator never imports the engine:

- the ASGI type aliases (``Scope``, ``Message``, ``Receive``, ``Send``);
- :func:`lifespan`: hypercorn's trio worker sends a ``lifespan`` scope first, and an
  app that returns from it without answering crashes the worker at start-up, so every
  app answers startup and shutdown and returns only after shutdown;
- :func:`hypercorn_config`: no access log, our own error logger, a short graceful
  timeout (a run or a test must not wait on idle keep-alive connections to stop);
- :func:`serve_capped`: serve with hypercorn's HTTP/1.1 machinery, at most N
  connections at once (the callback receiver's server).

Why not ``hypercorn.trio.serve`` for the receiver: it accepts every connection it is
offered. 200 idle connections then take the run's file descriptors; every ``accept``
fails with EMFILE (trio logs a traceback for each and retries), the journal and the
Exotel client cannot open sockets, and callbacks arrive 15 s late while dialing stalls.
:func:`serve_capped` instead:

- the soft RLIMIT_NOFILE is raised to the hard limit when the receiver starts;
- the number of open connections is capped below what the descriptors allow; at the
  cap the *oldest* connection is closed to make room, so a holder of many idle
  connections cannot keep Exotel's callbacks out (they get a connection every time;
  the idle ones are recycled), and an ``accept`` that fails for lack of descriptors is
  a counted, rate-limited warning and a short pause, never a traceback;
- each connection is hypercorn's own ``TCPServer`` (keep-alive timeout, head size cap),
  exactly as ``hypercorn.trio.serve`` would run it.

The simulator's server is a test and demo tool with a handful of clients: it keeps
``hypercorn.trio.serve`` (through :func:`hypercorn_config`).
"""

from __future__ import annotations

import errno
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import trio
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.config import Config
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState

try:
    import resource
except ImportError:  # pragma: no cover - not on POSIX
    resource = None  # type: ignore[assignment]

log = logging.getLogger("campaigner.receiver")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_CONNECTIONS = 256
FD_RESERVE = 64  # descriptors kept for the journal, the Exotel client, logs, the simulator
_ACCEPT_PAUSE = 0.1  # seconds to wait after an accept failed for lack of descriptors
_OUT_OF_FDS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


@dataclass
class ConnectionStats:
    """What the connection cap did: for the receiver's stats and the tests."""

    open: int = 0
    peak: int = 0  # the most connections ever open at once
    accepted: int = 0
    evicted: int = 0  # closed to make room for a newer connection
    accept_failed: int = 0  # accept() failed (out of descriptors)
    failed: int = 0  # a connection's handling raised (hypercorn or the app): closed


async def lifespan(receive: Receive, send: Send) -> None:
    """Answer hypercorn's lifespan scope: startup, then shutdown (then return)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def hypercorn_config(
    *,
    graceful_timeout: float,
    errorlog: logging.Logger | None = None,
    bind: list[str] | None = None,
) -> Config:
    """A hypercorn config without access log, logging errors to ``errorlog`` (or nowhere)."""
    config = Config()
    config.accesslog = None
    config.errorlog = errorlog
    config.graceful_timeout = graceful_timeout
    if bind is not None:
        config.bind = bind
    return config


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    if resource is None:  # pragma: no cover
        return 1024
    infinite = resource.RLIM_INFINITY
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == infinite:
        return 1 << 20
    target = hard if hard != infinite else 1 << 20
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # not allowed here: the cap below follows the limit in force
    return int(soft)


def connection_cap(wanted: int, soft_limit: int) -> int:
    """At most ``wanted`` connections, and never more than the descriptors allow."""
    return max(4, min(wanted, (soft_limit - FD_RESERVE) // 2))


async def serve_capped(
    app: Any,
    config: Config,
    listeners: list[trio.SocketListener],
    *,
    max_connections: int,
    shutdown: trio.Event,
    stats: ConnectionStats,
    warn: Callable[[str, str], None],
) -> None:
    """Serve ``app`` on ``listeners`` until ``shutdown``; then give open connections
    ``config.graceful_timeout`` seconds to finish."""
    context = WorkerContext(None)
    wrapped = ASGIWrapper(app)
    state = ConnectionState({})
    live: OrderedDict[int, trio.CancelScope] = OrderedDict()
    counter = 0

    async def one(stream: trio.SocketStream, key: int, scope: trio.CancelScope) -> None:
        with scope:
            try:
                # hypercorn types the stream as SSL, and runs plain sockets the same way
                plain: Any = stream
                await TCPServer(wrapped, config, context, state, plain).run()
            except Exception as exc:  # one connection's failure must not end the receiver
                stats.failed += 1
                warn("connection_failed", f"a connection failed ({type(exc).__name__})")
            finally:
                live.pop(key, None)
                stats.open = len(live)
                # hypercorn's own close is skipped when the connection is cancelled
                # (evicted, or cut off at shutdown): the socket must not leak.
                await trio.aclose_forcefully(stream)

    async def accept(listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        nonlocal counter
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in _OUT_OF_FDS:
                    raise
                stats.accept_failed += 1
                warn("accept_failed", "could not accept a connection: out of file descriptors")
                await trio.sleep(_ACCEPT_PAUSE)
                continue
            stats.accepted += 1
            while len(live) >= max_connections:
                _, oldest = live.popitem(last=False)
                oldest.cancel()
                stats.evicted += 1
                warn("evicted", "too many open connections: closed the oldest")
            counter += 1
            # registered now, so that an eviction before the task starts still counts
            scope = live[counter] = trio.CancelScope()
            stats.open = len(live)
            stats.peak = max(stats.peak, stats.open)
            nursery.start_soon(one, stream, counter, scope)

    try:
        async with trio.open_nursery() as connections:
            async with trio.open_nursery() as acceptors:
                for listener in listeners:
                    acceptors.start_soon(accept, listener, connections)
                await shutdown.wait()
                acceptors.cancel_scope.cancel()
            for listener in listeners:
                await trio.aclose_forcefully(listener)
            await context.terminated.set()  # idle keep-alive connections close now
            connections.cancel_scope.deadline = trio.current_time() + config.graceful_timeout
    finally:  # cancelled from outside: the sockets still close
        for listener in listeners:
            await trio.aclose_forcefully(listener)
