"""The async Exotel client: typed operations over the wire formats, on httpx and trio.

Each operation builds a :class:`~campaigner.exotel.wire.WireRequest` (pure), hands it to
the :class:`~campaigner.exotel.sending.Sender` (gate, retries, error translation) and
parses the answer into campaigner's vocabulary. Nothing outside ``campaigner.exotel``
needs to know a field name, a path, or an httpx type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import TypeVar

import httpx

from campaigner import __version__
from campaigner.domain import ApiVersion, CallObservation, CallSpec, LegState
from campaigner.errors import OutcomeUnknownError, ProtocolError
from campaigner.exotel import parse, v1, v2, v3
from campaigner.exotel.models import ExoPhoneDetails, NumberMetadata
from campaigner.exotel.parse import ParseError
from campaigner.exotel.registry import build_connect, wire_for
from campaigner.exotel.sending import (
    FIRST_BACKOFF,
    MAX_TRIES,
    Answer,
    OpenGate,
    Purpose,
    RequestGate,
    Scrubber,
    Sender,
)
from campaigner.exotel.wire import WireRequest
from campaigner.settings import ExotelSettings

__all__ = ["ExotelClient", "OpenGate", "RequestGate"]  # the gate protocol lives in sending

USER_AGENT = f"campaigner/{__version__}"
# hypercorn closes idle connections after 5 s; expiring ours at 2 s avoids
# sending on a connection the server is closing (a RemoteProtocolError race at exactly 5 s).
KEEPALIVE_EXPIRY = 2.0
CONNECT_TIMEOUT = 5.0

_T = TypeVar("_T")
_Reader = Callable[[dict[str, object]], _T]


class ExotelClient:
    """Talks to Exotel (or the simulator) for one account; use as ``async with``.

    ``transport`` replaces the network (``httpx.MockTransport`` or the simulator's
    in-process transport in tests); ``gate`` is the engine's rate limiter, awaited before
    every send including retries. Credentials come from ``settings`` and go only into
    httpx's Basic auth, never into a URL, a log line, a repr or an error.
    """

    def __init__(
        self,
        settings: ExotelSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        gate: RequestGate | None = None,
        timeout: float = 15.0,
        max_connections: int = 10,
        max_tries: int = MAX_TRIES,
        first_backoff: float = FIRST_BACKOFF,
    ) -> None:
        key, token, self._account = settings.require_credentials()
        self._v1_base, self._v3_base = settings.v1_base, settings.v3_base
        self._http = httpx.AsyncClient(
            auth=httpx.BasicAuth(key, token),
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
        self._sender = Sender(
            self._http,
            gate or OpenGate(),
            Scrubber(key, token),
            max_tries=max_tries,
            first_backoff=first_backoff,
        )

    def __repr__(self) -> str:
        return f"ExotelClient(account={self._account!r}, v1={self._v1_base}, v3={self._v3_base})"

    async def __aenter__(self) -> ExotelClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    def connect_request(self, spec: CallSpec) -> WireRequest:
        """The request :meth:`connect` would send (for ``plan --show``)."""
        return build_connect(
            spec, account_sid=self._account, v1_base=self._v1_base, v3_base=self._v3_base
        )

    async def connect(self, spec: CallSpec) -> CallObservation:
        """Place one call. Sent once, never retried.

        Raises ``TransportError`` when the request cannot have left (the call does not
        exist), ``OutcomeUnknownError`` when it may have (lost answer, 5xx, unreadable
        2xx: reconcile, never redial), ``RateLimitedError``/``DndRefusedError``/
        ``AgentBusyError``/... when Exotel refused it.
        """
        req = self.connect_request(spec)
        answer = await self._sender.post_once(req, "connect")
        try:
            return wire_for(spec.api).parse_call(_object(answer.doc), "connect")
        except ParseError as exc:
            message = f"the call may or may not exist: unreadable answer ({exc})"
            raise OutcomeUnknownError(
                message, status=answer.status, method=req.method, path=req.path
            ) from None

    async def call_details(
        self, sid: str, *, api: ApiVersion, purpose: Purpose = "poll"
    ) -> CallObservation:
        """One call's state: v1 with ``details=true`` (leg statuses), or v3."""
        wire = wire_for(api)
        base = self._v1_base if wire.host == "v1_base" else self._v3_base
        req = wire.call_details(sid, account_sid=self._account, base=base)
        answer = await self._sender.get(req, purpose)
        return self._parsed(req, answer, lambda doc: wire.parse_call(doc, "details"))

    async def bulk_call_details(
        self,
        *,
        sids: Sequence[str] = (),
        to: Sequence[str] = (),
        from_: Sequence[str] = (),
        phone_numbers: Sequence[str] = (),
        status: Sequence[str] = (),
        date_created: tuple[datetime, datetime] | None = None,
        page_size: int = v1.MAX_PAGE_SIZE,
        sort_ascending: bool = False,
        max_pages: int | None = None,
        purpose: Purpose = "reconcile",
    ) -> list[CallObservation]:
        """v1 bulk call details, following ``Metadata.NextPageUri`` to the end.

        docs/exotel/quirks.md: "Bulk call details never return ongoing calls": a SID missing from
        the result is still in progress, not lost. Paging stops when the next URI is null
        or missing, its cursor repeats, a page is empty, or after ``max_pages``. More than
        100 SIDs is a ValueError: the caller batches.
        """
        filters = v1.BulkFilter(
            sids=tuple(sids),
            to=tuple(to),
            from_=tuple(from_),
            phone_numbers=tuple(phone_numbers),
            status=tuple(status),
            date_created=date_created,
            page_size=page_size,
            sort_ascending=sort_ascending,
        )
        return await self._pages(filters, max_pages, purpose)

    async def _pages(
        self, filters: v1.BulkFilter, max_pages: int | None, purpose: Purpose
    ) -> list[CallObservation]:
        found: dict[str, CallObservation] = {}
        cursor: v1.Cursor | None = None
        seen: set[v1.Cursor] = set()
        pages = 0
        while max_pages is None or pages < max_pages:
            req = v1.build_bulk(
                filters, account_sid=self._account, base=self._v1_base, cursor=cursor
            )
            calls, cursor = self._parsed(req, await self._sender.get(req, purpose), parse.v1_bulk)
            pages += 1
            for call in calls:
                found.setdefault(call.sid, call)
            if not calls or cursor is None or cursor in seen:
                break
            seen.add(cursor)
        return list(found.values())

    async def call_legs(self, sid: str) -> tuple[LegState, LegState]:
        """(first leg, second leg) of a v3 call from its legs endpoint."""
        req = v3.build_call_legs(sid, account_sid=self._account, base=self._v3_base)
        return self._parsed(req, await self._sender.get(req, "poll"), parse.v3_legs)

    async def number_metadata(self, number: str) -> NumberMetadata:
        """Circle, operator, type and DND flag of an Indian number (v1)."""
        req = v1.build_number_metadata(number, account_sid=self._account, base=self._v1_base)
        return self._parsed(req, await self._sender.get(req, "lookup"), parse.v1_numbers)

    async def exophone_details(self, exophone_sid: str) -> ExoPhoneDetails:
        """Connectivity of one ExoPhone (v2); 000 discourages polling it."""
        req = v2.build_exophone_details(exophone_sid, account_sid=self._account, base=self._v1_base)
        return self._parsed(req, await self._sender.get(req, "health"), parse.exophone)

    def _parsed(self, req: WireRequest, answer: Answer, reader: _Reader[_T]) -> _T:
        try:
            return reader(_object(answer.doc))
        except ParseError as exc:
            raise ProtocolError(
                str(exc), status=answer.status, method=req.method, path=req.path
            ) from None


def _object(doc: object) -> dict[str, object]:
    if not isinstance(doc, dict):
        raise ParseError(f"expected a JSON object, got {type(doc).__name__}")
    return doc
