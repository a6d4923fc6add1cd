"""Map an Exotel answer to the campaigner exception tree, by HTTP status first.

docs/exotel/quirks.md: "A 401 or 429 body may not be JSON at all: classify errors by HTTP status
first, treat the body as optional". The body only refines the class (NDNC in a 403, code
10706 in a 409) and supplies Exotel's code and message: v1 ``RestException`` in JSON or
XML, the v2/v3 envelope's ``error_data``, or a short text taken from anything else.
"""

from __future__ import annotations

import html
import re
from http import HTTPStatus

from campaigner.errors import (
    AgentBusyError,
    AgentUnavailableError,
    AuthError,
    BadRequestError,
    ConflictError,
    DndRefusedError,
    ExotelError,
    ForbiddenError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
)
from campaigner.exotel import envelope
from campaigner.exotel.bodies import BodyError, decode_body
from campaigner.exotel.values import blank_to_none

MAX_MESSAGE = 200
AGENT_BUSY_CODE = "10706"  # 002: 409/10706 "User device is currently busy"
# The v3 connect page's error table (docs/exotel/): codes about the agent's (the user's,
# ``from``) device or account, not about the contact. The contact was not called, so the
# engine rests the agent and re-queues the contact, as for 10706.
AGENT_DEVICE_CODES: dict[str, str] = {
    "10703": "agent's device is turned off",  # 404 "Device is currently unavailable"
    "1012": "agent's device is unavailable",  # 409
    "10705": "agent's device is unverified",  # 409
    "10731": "agent is not an Exotel user",  # 404 "User not found"
    "10702": "agent's device was not found",  # 404 "User Device not found"
    "10806": "agent has no device",  # 404 "No device found for user"
    "10712": "VoIP calls are not allowed",  # 405: a SIP agent on an account without VoIP
}
_AGENT_STATUSES = (404, 405, 409)

_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
_NDNC_NUMBER = re.compile(r"\bcall to \[([^\]]{1,40})\]", re.IGNORECASE)


def ndnc_number(message: str) -> str | None:
    """The number a 403 NDNC refusal names, as Exotel wrote it, or None.

    docs/exotel/quirks.md: "Call to [<number>] cannot be made because of TRAI NDNC regulations".
    Exotel checks both legs, so the number may be the agent's rather than the contact's.
    """
    match = _NDNC_NUMBER.search(message)
    return match.group(1).strip() if match else None


def error_class(status: int, code: str | None, message: str) -> type[ExotelError]:
    """The exception class for an HTTP status, refined by Exotel's code and message."""
    if status == 401:
        return AuthError
    if status == 403:
        # docs/exotel/quirks.md: a DND number gets 403 "... cannot be made because of TRAI NDNC ..."
        return DndRefusedError if "NDNC" in message.upper() else ForbiddenError
    if status in (404, 409) and code == AGENT_BUSY_CODE:
        # 002's error table lists 10706 "User device is currently busy" under 409 and 404.
        return AgentBusyError
    if status in _AGENT_STATUSES and code in AGENT_DEVICE_CODES:
        return AgentUnavailableError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return BadRequestError
    return ProtocolError


def classify(
    status: int, body: bytes, *, method: str | None = None, path: str | None = None
) -> ExotelError:
    """The error for a non-2xx answer (or a 2xx whose envelope reports a failure)."""
    status, code, message = describe(status, body)
    cls = error_class(status, code, message)
    return cls(message, status=status, code=code, method=method, path=path)


def describe(status: int, body: bytes) -> tuple[int, str | None, str]:
    """(HTTP status, Exotel code, one-line message) for an error body of any shape."""
    try:
        doc = decode_body(body) if body.strip() else None
    except BodyError:
        return status, None, short_text(body) or _reason(status)
    if isinstance(doc, dict):
        found = _rest_exception(doc) or _envelope_error(doc, status) or _plain(doc)
        if found is not None:
            code, message = found
            return status, code, message or _reason(status)
    if body.lstrip().startswith(b"<"):
        return status, None, short_text(body) or _reason(status)  # an HTML error page
    return status, None, _reason(status)


def inner_failure(status: int, doc: object) -> tuple[int, str | None, str] | None:
    """A failure hidden in a 2xx envelope: HTTP 200 with ``response.code: 409``, or 207.

    The item's own code is then the only status there is, so it decides the class.
    """
    if not envelope.is_envelope(doc):
        return None
    assert isinstance(doc, dict)
    found = envelope.first_failure(doc, status)
    if found is None:
        return None
    return found.status, found.code, _one_line(found.message)


def _rest_exception(doc: dict[str, object]) -> tuple[str | None, str] | None:
    rest = doc.get("RestException")
    if not isinstance(rest, dict):
        return None
    message = rest.get("Message")
    return _safe_code(rest.get("Code")), _one_line(message) if isinstance(message, str) else ""


def _envelope_error(doc: dict[str, object], status: int) -> tuple[str | None, str] | None:
    if not envelope.is_envelope(doc):
        return None
    found = envelope.first_failure(doc, status)
    return None if found is None else (found.code, _one_line(found.message))


def _plain(doc: dict[str, object]) -> tuple[str | None, str] | None:
    message = doc.get("message") or doc.get("Message") or doc.get("error")
    if isinstance(message, str) and message.strip():
        return None, _one_line(message)
    return None


def _safe_code(value: object) -> str | None:
    try:
        return blank_to_none(value)
    except ValueError:
        return None


def short_text(body: bytes) -> str:
    """A non-JSON body (an HTML 429 page, a proxy's text) cut down to one short line."""
    text = body[: MAX_MESSAGE * 20].decode("utf-8", errors="replace")
    return _one_line(html.unescape(_TAGS.sub(" ", text)))


def _one_line(text: str) -> str:
    flat = _SPACES.sub(" ", text).strip()
    return flat if len(flat) <= MAX_MESSAGE else flat[: MAX_MESSAGE - 1] + "…"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
