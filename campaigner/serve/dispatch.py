"""One callback receiver for every campaign of a ``serve``: route by the token in the path.

Why: Exotel is given one public URL per account set-up, and a serve runs many
campaigns. Every run still has its own unguessable token (new per run,
campaigner.engine.verify), and its URL is ``<public>/<token>/<api>``; this app looks the
token up and hands the request, untouched, to that run's own receiver, which checks the
token again in constant time and judges the callback as ``run`` does. An unknown token
is a counted 403 without reading the body. Heartbeats (``.../heartbeat/<secret>``) name
ExoPhones of the account, not a run: each live campaign's receiver gets a copy.

``/status/<secret>`` (JSON) and ``/status/<secret>/html`` answer the status page when a
status secret is configured (campaigner.serve.status); anything else is 404.

It subclasses the run's receiver only to be served by the same hardened server
(connection cap, idle timeout, body limits: campaigner.engine.receiver).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable

import trio

from campaigner.asgi import Message, Receive, Scope, Send
from campaigner.engine.receiver import CallbackReceiver
from campaigner.exotel.callbacks import MAX_HEARTBEAT_BYTES

StatusPage = Callable[[bool], tuple[str, bytes]]  # html? -> (content type, body)


class Dispatch(CallbackReceiver):
    """The serve's ASGI app: callbacks routed by token, heartbeats to every run."""

    def __init__(self, status_secret: str | None = None) -> None:
        # its own token is never handed out: the base class's route is unreachable
        super().__init__(secrets.token_urlsafe(32), lambda observation: None)
        self._routes: dict[str, CallbackReceiver] = {}
        self._owner: dict[str, str] = {}  # token -> campaign key
        self._status_secret = status_secret.encode() if status_secret else None
        self.status_page: StatusPage | None = None
        self.unknown = 0

    def attach(self, key: str, app: CallbackReceiver, tokens: tuple[str, ...]) -> None:
        """Route ``tokens`` (a run's current and still-valid earlier tokens) to ``app``."""
        self.detach(key)
        for token in tokens:
            self._routes[token] = app
            self._owner[token] = key

    def detach(self, key: str) -> None:
        """The campaign's run ended: its tokens are answered 403 until it runs again."""
        for token in [t for t, k in self._owner.items() if k == key]:
            del self._routes[token]
            del self._owner[token]

    def campaigns(self) -> set[str]:
        return set(self._owner.values())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # lifespan, websockets
            return
        parts = [p for p in str(scope.get("path", "")).split("/") if p]
        if len(parts) >= 2 and parts[-2] == "heartbeat":
            await self._fan_out(scope, receive, send)
            return
        if parts and parts[0] == "status" and self._status(parts) is not None:
            await self._answer_status(parts, send)
            return
        app = self._routes.get(parts[-2]) if len(parts) >= 2 else None
        if app is None:
            self.unknown += 1
            self.stats.refused += 1
            self.warn("unknown", "refused a callback whose token names no live campaign")
            await _respond(send, 403 if len(parts) >= 2 else 404, b"forbidden")
            return
        await app(scope, receive, send)

    def _status(self, parts: list[str]) -> bool | None:
        """True: the HTML page; False: JSON; None: not a status request with the secret."""
        if self._status_secret is None or self.status_page is None or len(parts) < 2:
            return None
        if not hmac.compare_digest(parts[1].encode(), self._status_secret):
            return None
        if len(parts) == 2:
            return False
        return True if parts[2:] == ["html"] else None

    async def _answer_status(self, parts: list[str], send: Send) -> None:
        assert self.status_page is not None
        kind, body = self.status_page(bool(self._status(parts)))
        await _respond(send, 200, body, kind)

    async def _fan_out(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A heartbeat concerns the account's ExoPhones: every live run's receiver gets it."""
        body = bytearray()
        with trio.move_on_after(10.0):
            while True:
                message = await receive()
                body += message.get("body", b"")
                if len(body) > MAX_HEARTBEAT_BYTES:
                    await _respond(send, 413, b"too large")
                    return
                if not message.get("more_body", False):
                    break
        apps = list({id(a): a for a in self._routes.values()}.values())
        answer: list[Message] = []
        for app in apps:
            replies: list[Message] = []

            async def replay(data: bytes = bytes(body)) -> Message:
                return {"type": "http.request", "body": data, "more_body": False}

            async def capture(message: Message, out: list[Message] = replies) -> None:
                out.append(message)

            await app(scope, replay, capture)
            if not answer or _status_of(replies) == 200:
                answer = replies
        if not answer:
            await _respond(send, 404, b"not found")
            return
        for message in answer:
            await send(message)


def _status_of(messages: list[Message]) -> int:
    return next((int(m["status"]) for m in messages if m["type"] == "http.response.start"), 0)


async def _respond(send: Send, status: int, body: bytes, kind: str = "text/plain") -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", kind.encode()), (b"cache-control", b"no-store")],
        }
    )
    await send({"type": "http.response.body", "body": body})
