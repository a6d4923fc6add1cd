"""Send WireRequests: the gate before every send, safe retries, errors translated here.

docs/exotel/basics.md: on 429 back off exponentially from 1 s, doubling, at most 5 tries;
5xx "retry after a delay". That holds for GETs only. A connect POST is sent exactly once:
if its answer is lost after the request may have left, or is anything but one of Exotel's
own refusals (a proxy's 408 or 499, a 5xx), the call may exist, and dialing again could
ring a customer twice; it raises OutcomeUnknownError so the engine can reconcile through
bulk call details instead.

Every httpx exception is translated here and chained as ``__cause__``
(foreign errors are translated at the seam);
nothing above this module sees an httpx type. Credentials never reach a message: they
are not in URLs (httpx ``auth=`` adds the header) and every text is scrubbed anyway.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx
import trio

from campaigner.errors import (
    ExotelError,
    OutcomeUnknownError,
    ProtocolError,
    TransportError,
)
from campaigner.exotel.bodies import BodyError, decode_body
from campaigner.exotel.classify import classify, describe, error_class, inner_failure
from campaigner.exotel.wire import WireRequest

logger = logging.getLogger("campaigner.exotel")

Purpose = Literal["connect", "poll", "reconcile", "lookup", "health"]

MAX_TRIES = 5  # FAQ: "up to a maximum of 5 retries"; 5 sends in all, as the brief fixes
FIRST_BACKOFF = 1.0  # FAQ: "Start with a 1-second delay and double it with each retry"

# No byte of the request can have reached Exotel: safe to report "not created".
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)
# Exotel's own refusals of a connect, the only answers that prove no call was made: the
# v1 connect page's 400 (bad parameters), 401, 403 (NDNC included), 404 and 429, and the
# v3 error table's 400, 401, 404, 409 and 405/10712 (VoIP not allowed). Anything else
# after the request left (a proxy's 408 or 499 after forwarding it, a 5xx, an unknown 4xx,
# an unreadable 2xx) leaves the call's existence unknown.
_REFUSALS = frozenset({400, 401, 403, 404, 409, 429})
_REFUSAL_CODES = {405: frozenset({"10712"})}
# Worth another try for an idempotent GET.
_RETRYABLE: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


class RequestGate(Protocol):
    """Admission control around every HTTP send (the engine's rate limiter implements it)."""

    async def acquire(self, purpose: str) -> None:
        """Wait until one more request for ``purpose`` may leave."""

    def on_status(self, status: int, code: str | None = None) -> None:
        """Feedback after every answer (429 means slow down); ``code`` is Exotel's error
        code when an error answer carried one."""


class OpenGate:
    """The default gate: lets everything through at once."""

    async def acquire(self, purpose: str) -> None:
        return None

    def on_status(self, status: int, code: str | None = None) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful (2xx, no failure inside) answer: its status and decoded body."""

    status: int
    doc: object


class Scrubber:
    """Replaces credentials (and their Basic form) in any text with ``********``."""

    def __init__(self, key: str, token: str) -> None:
        basic = base64.b64encode(f"{key}:{token}".encode()).decode("ascii")
        self._secrets = tuple(s for s in (basic, key, token) if s)

    def __repr__(self) -> str:
        return "Scrubber(********)"

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, "********")
        return value

    def cause(self, exc: Exception) -> Exception:
        """``exc`` to chain as ``__cause__``, or a same-type copy with a scrubbed text."""
        text = str(exc)
        if self.text(text) == text:
            return exc
        try:
            return type(exc)(self.text(text))
        except Exception:  # an exception type with another constructor
            return RuntimeError(f"{type(exc).__name__}: {self.text(text)}")

    def error(self, err: ExotelError) -> ExotelError:
        """The same error, rebuilt if any of its texts carried a secret."""
        texts = (err.message, err.code or "", err.path or "")
        if all(self.text(t) == t for t in texts):
            return err
        return type(err)(
            self.text(err.message),
            status=err.status,
            code=self.text(err.code) if err.code else None,
            method=err.method,
            path=self.text(err.path) if err.path else None,
        )


class Sender:
    """Sends WireRequests through one httpx client, a gate, and the retry rules."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        gate: RequestGate,
        scrubber: Scrubber,
        *,
        max_tries: int = MAX_TRIES,
        first_backoff: float = FIRST_BACKOFF,
    ) -> None:
        self._http = http
        self._gate = gate
        self._scrub = scrubber
        self._max_tries = max_tries
        self._first_backoff = first_backoff

    async def get(self, req: WireRequest, purpose: Purpose) -> Answer:
        """Send an idempotent request, retrying 429, 5xx and network errors with backoff."""
        delay = self._first_backoff
        for attempt in range(1, self._max_tries + 1):
            last = attempt == self._max_tries
            try:
                response = await self._send(req, purpose, attempt)
            except _RETRYABLE as exc:
                if last:
                    raise self._lost(TransportError, req, exc, attempt) from self._scrub.cause(exc)
            except httpx.HTTPError as exc:
                raise self._lost(TransportError, req, exc, attempt) from self._scrub.cause(exc)
            else:
                if last or not _retryable(response.status_code):
                    return self._answer(req, response)
            await trio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def post_once(self, req: WireRequest, purpose: Purpose) -> Answer:
        """Send a non-idempotent request exactly once; never retried, whatever happens."""
        try:
            response = await self._send(req, purpose, 1)
        except _NOT_SENT as exc:
            raise self._lost(TransportError, req, exc, 1) from self._scrub.cause(exc)
        except httpx.HTTPError as exc:
            raise self._lost(OutcomeUnknownError, req, exc, 1) from self._scrub.cause(exc)
        try:
            return self._answer(req, response)
        except ExotelError as exc:
            unknown = self._after_post(exc, req)
            if unknown is exc:
                raise
            raise unknown from exc

    async def _send(self, req: WireRequest, purpose: Purpose, attempt: int) -> httpx.Response:
        await self._gate.acquire(purpose)
        request = self._http.build_request(
            req.method, req.url, headers=list(req.all_headers()), content=req.body() or None
        )
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            _log(logging.WARNING, req, f"failed: {type(exc).__name__}", attempt, purpose)
            raise
        code = None if response.is_success else describe(response.status_code, response.content)[1]
        self._gate.on_status(response.status_code, code)
        level = logging.DEBUG if response.is_success else logging.WARNING
        _log(level, req, str(response.status_code), attempt, purpose, response.status_code)
        return response

    def _answer(self, req: WireRequest, response: httpx.Response) -> Answer:
        status, body = response.status_code, response.content
        if not 200 <= status < 300:
            raise self._scrub.error(classify(status, body, method=req.method, path=req.path))
        try:
            doc = decode_body(body)
        except BodyError as exc:
            raise self._error(ProtocolError, req, f"unreadable answer: {exc}", status) from None
        failed = inner_failure(status, doc)
        if failed is not None:
            inner, code, message = failed
            cls = error_class(inner, code, message)
            raise self._error(cls, req, f"{message} (in an HTTP {status} answer)", inner, code)
        return Answer(status=status, doc=doc)

    def _after_post(self, exc: ExotelError, req: WireRequest) -> ExotelError:
        """What a failed connect answer means for "was the call created?".

        Only proof is proof: an answer that is not one of Exotel's documented refusals
        (``_REFUSALS``) says nothing about the call, so it becomes OutcomeUnknownError and
        the engine reconciles before the contact can be dialed again.
        """
        if refused(exc.status, exc.code):
            return exc  # Exotel refused it: no call was created; safe to report as is
        why = f"the call may or may not exist ({exc.message})"
        return self._error(OutcomeUnknownError, req, why, exc.status, exc.code)

    def _lost(
        self, cls: type[ExotelError], req: WireRequest, exc: Exception, attempt: int
    ) -> ExotelError:
        tries = f" after {attempt} tries" if attempt > 1 else ""
        message = f"no answer{tries}: {type(exc).__name__}: {self._scrub.text(str(exc))}"
        if cls is OutcomeUnknownError:
            message = f"the call may or may not exist: answer lost ({type(exc).__name__})"
        return self._error(cls, req, message)

    def _error(
        self,
        cls: type[ExotelError],
        req: WireRequest,
        message: str,
        status: int = 0,
        code: str | None = None,
    ) -> ExotelError:
        err = cls(message, status=status, code=code, method=req.method, path=req.path)
        return self._scrub.error(err)


def refused(status: int, code: str | None) -> bool:
    """True when an answer to a connect is one of Exotel's refusals: no call exists."""
    return status in _REFUSALS or code in _REFUSAL_CODES.get(status, frozenset())


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _log(
    level: int, req: WireRequest, outcome: str, attempt: int, purpose: str, status: int = 0
) -> None:
    # Path only: the query of a bulk request holds customers' numbers, and no URL we
    # build ever holds credentials.
    logger.log(
        level,
        "%s %s -> %s (attempt %d, %s)",
        req.method,
        req.path,
        outcome,
        attempt,
        purpose,
        extra={
            "http_method": req.method,
            "http_path": req.path,
            "http_status": status,
            "attempt": attempt,
            "purpose": purpose,
        },
    )
