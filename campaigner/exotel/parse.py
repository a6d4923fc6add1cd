"""Answer parsers: decoded Exotel bodies in, typed results out, one function per answer.

They raise :class:`ParseError` (a ``ValueError``) with a one-line message; the client
turns it into ``ProtocolError`` and the callback parsers into ``CallbackError``.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from campaigner.domain import CallObservation, LegState, ObservationSource
from campaigner.exotel import envelope, v1_records, v3_records
from campaigner.exotel.models import ExoPhoneDetails, NumberMetadata
from campaigner.exotel.v1 import Cursor, next_cursor
from campaigner.exotel.v2 import ExoPhoneData

Model = TypeVar("Model", bound=BaseModel)

# 001: DND is "Yes", "No" or "Unavailable"; unknown must not read as "not on DND".
_DND = {"yes": True, "no": False}

# The deepest answer or callback Exotel documents is a v3 envelope's
# response[].call_details.recordings[].url (five levels); 32 leaves room for any real
# answer, while a document nested hundreds deep is refused before it reaches pydantic or
# the journal (whose JSON encoder recurses, and fails near Python's recursion limit).
MAX_DEPTH = 32


class ParseError(ValueError):
    """An answer or callback body does not have the shape the reference describes."""


def validate(model: type[Model], data: object, what: str) -> Model:
    """``model.model_validate`` with a one-line message naming the first bad field,
    prefixed with ``what`` when given. Data nested deeper than :data:`MAX_DEPTH` is refused
    first: everything validated here is also journaled, and must stay encodable."""
    check_depth(data, what)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ParseError(f"{what}: {describe(exc)}" if what else describe(exc)) from None


def check_depth(data: object, what: str = "", limit: int = MAX_DEPTH) -> None:
    """Raise :class:`ParseError` when ``data`` nests lists/dicts deeper than ``limit``.

    Iterative on purpose: a recursive walk is what fails on hostile depth.
    """
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: list[object] = list(node.values())
        elif isinstance(node, list):
            children = list(node)
        else:
            continue
        if depth > limit:
            prefix = f"{what}: " if what else ""
            raise ParseError(f"{prefix}nested more than {limit} levels deep")
        stack.extend((child, depth + 1) for child in children)


def describe(exc: ValidationError) -> str:
    """The first error of a ValidationError as ``field.path: message``, without the input."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def v1_call(doc: dict[str, object], source: ObservationSource) -> CallObservation:
    """``{"Call": {...}}`` (connect answer or call details)."""
    record = validate(v1_records.CallEnvelope, doc, "v1 call").call
    return record.observation(source, doc)


def v1_record(entry: object, source: ObservationSource, what: str = "v1 call") -> CallObservation:
    """A bare v1 Call object (one bulk entry, or a record an integration stored)."""
    record = validate(v1_records.V1Call, entry, what)
    return record.observation(source, entry if isinstance(entry, dict) else {})


def v1_bulk(doc: dict[str, object]) -> tuple[list[CallObservation], Cursor | None]:
    """One bulk page: the calls on it and the cursor of the next page (if any)."""
    page = validate(v1_records.BulkPage, doc, "v1 bulk page")
    calls = []
    for index, entry in enumerate(page.calls):
        calls.append(v1_record(entry, "bulk", f"v1 bulk page: Calls.{index}"))
    return calls, next_cursor(page.metadata.next_page_uri if page.metadata else None)


def v1_numbers(doc: dict[str, object]) -> NumberMetadata:
    """``{"Numbers": {...}}`` of number metadata."""
    numbers = validate(v1_records.NumbersEnvelope, doc, "v1 number metadata").numbers
    return NumberMetadata(
        phone_number=numbers.phone_number,
        circle=numbers.circle,
        circle_name=numbers.circle_name,
        number_type=numbers.number_type,
        operator=numbers.operator,
        operator_name=numbers.operator_name,
        dnd=_DND.get((numbers.dnd or "").lower()),
    )


def _only_item(doc: dict[str, object], what: str) -> dict[str, object]:
    """The single item of a v2/v3 envelope (the caller has already checked failures)."""
    found = envelope.items(doc)
    if not found:
        raise ParseError(f"{what}: the envelope has no response item")
    return found[0]


def v3_call(doc: dict[str, object], source: ObservationSource) -> CallObservation:
    """A v3 envelope with ``response.call_details``."""
    item = validate(v3_records.CallResponse, _only_item(doc, "v3 call"), "v3 call")
    return item.call_details.observation(source, doc)


def v3_legs(doc: dict[str, object]) -> tuple[LegState, LegState]:
    """A v3 envelope with ``response.leg_details``."""
    item = validate(v3_records.LegResponse, _only_item(doc, "v3 legs"), "v3 legs")
    return item.leg_details.leg_states()


def exophone(doc: dict[str, object]) -> ExoPhoneDetails:
    """A v2 envelope with ``response[0].data`` describing one ExoPhone."""
    data = _only_item(doc, "v2 ExoPhone").get("data")
    return validate(ExoPhoneData, data, "v2 ExoPhone data").details()
