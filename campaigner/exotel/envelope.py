"""The v2/v3 answer envelope: ``{request_id, method, http_code, metadata, response}``.

docs/exotel/quirks.md: ``response`` is a list for some endpoints and an object for others; each
item is ``{code, error_data, status: success|failure, <payload>}``; HTTP 200 can carry an
inner ``code: 409, status: failure``, and HTTP 207 carries per-item results. So success is
decided per item, never from the HTTP status alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigner.exotel.values import blank_to_none


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """One failed envelope item: its own HTTP-like code, Exotel's code and message."""

    status: int
    code: str | None
    message: str


def is_envelope(doc: object) -> bool:
    """True for a v2/v3 envelope (has a ``response`` object or list)."""
    return isinstance(doc, dict) and isinstance(doc.get("response"), (dict, list))


def items(doc: dict[str, object]) -> list[dict[str, object]]:
    """The envelope's items, whether ``response`` is one object or a list of them."""
    response = doc.get("response")
    if isinstance(response, dict):
        return [response]
    if isinstance(response, list):
        return [item for item in response if isinstance(item, dict)]
    return []


def failure(item: dict[str, object], fallback_status: int) -> ItemFailure | None:
    """The item's failure, or ``None`` when it succeeded."""
    code = item.get("code")
    inner = code if isinstance(code, int) and not isinstance(code, bool) else None
    failed = item.get("status") == "failure" or (inner is not None and inner >= 400)
    if not failed:
        return None
    error = item.get("error_data")
    error = error if isinstance(error, dict) else {}
    status = inner if inner is not None and inner >= 400 else fallback_status
    return ItemFailure(status=status, code=_code(error.get("code")), message=_message(error))


def first_failure(doc: dict[str, object], fallback_status: int) -> ItemFailure | None:
    """The first failed item of an envelope, if any."""
    for item in items(doc):
        found = failure(item, fallback_status)
        if found is not None:
            return found
    return None


def _code(value: object) -> str | None:
    try:
        return blank_to_none(value)
    except ValueError:
        return None


def _message(error: dict[str, object]) -> str:
    texts = []
    for key in ("message", "description"):
        value = error.get(key)
        if isinstance(value, str) and value.strip() and value.strip() not in texts:
            texts.append(value.strip())
    return ": ".join(texts) or "request failed"
