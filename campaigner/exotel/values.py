"""Lenient readers for the scalar values Exotel sends, as pydantic annotated types.

Exotel's answers drift in type from one answer to the next (docs/exotel/quirks.md,
"Field types drift"): ``Duration`` is ``"17"``, ``17`` or null; ``Price`` ``"1.500"``, ``0``
or null; empty fields are ``null`` or ``""``; ``AnsweredBy`` is ``human``, ``HUMAN`` or null;
and an end time that is not known yet is the epoch-zero placeholder. Each reader below
accepts exactly those variants and rejects anything else, so a field that is truly
malformed still fails validation loudly instead of becoming a silent ``None``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator

# India Standard Time. Asia/Kolkata has had this fixed offset since 1945 and no DST, so a
# fixed offset is exact and needs no tz database on the machine.
IST = timezone(timedelta(hours=5, minutes=30), "IST")

_TEXT_SCALARS = (str, int, Decimal)


def blank_to_none(value: object) -> str | None:
    """``None`` and ``""`` mean "no value"; numbers become their text (e.g. ``AccountSid``)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, _TEXT_SCALARS + (float,)):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return str(value)


def lower_or_none(value: object) -> str | None:
    """Text compared case-insensitively: ``AnsweredBy`` is ``human`` or ``HUMAN``."""
    text = blank_to_none(value)
    return text.lower() if text is not None else None


def to_count(value: object) -> int | None:
    """A whole number of seconds sent as ``17``, ``"17"``, ``17.0``, ``""`` or null."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"expected a whole number, got {type(value).__name__}")
    if number < 0:
        raise ValueError("expected a non-negative number")
    return number


def to_money(value: object) -> Decimal | None:
    """A price sent as ``"1.500"``, ``0``, ``0.5``, ``""`` or null, kept exact as a Decimal."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected a price, got {type(value).__name__}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("expected a decimal price") from None
    if not amount.is_finite():
        raise ValueError("expected a finite price")
    return amount


def to_exotel_time(value: object) -> datetime | None:
    """An Exotel time as an aware datetime, or ``None`` when unset or a placeholder.

    v1 sends ``YYYY-MM-DD HH:mm:ss`` with no offset, in account-local time (IST for
    Indian accounts); v3 adds ``+05:30``. docs/exotel/quirks.md: ``EndTime``/``end_time`` of a call
    not yet finished (or whose record is finished late) is ``1970-01-01 05:30:00[+05:30]``,
    epoch zero in IST: that means "not yet", never a date, so any 1970-or-earlier time
    becomes ``None`` (no Exotel call predates 1970).
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a date-time text, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("expected YYYY-MM-DD HH:mm:ss[+hh:mm]") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=IST)
    if moment.year <= 1970:
        return None
    return moment


def to_rfc3339(value: object) -> datetime:
    """An RFC 3339 timestamp (heartbeat ``timestamp``, v2 times); an offset is required."""
    if not isinstance(value, str):
        raise ValueError("expected an RFC 3339 timestamp")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("expected an RFC 3339 timestamp like 2018-08-22T15:19:23Z") from None
    if moment.tzinfo is None:
        raise ValueError("an RFC 3339 timestamp needs an offset or Z")
    return moment


def to_rfc3339_or_none(value: object) -> datetime | None:
    """Like :func:`to_rfc3339`, but ``None``/``""`` mean "never checked"."""
    if value is None or value == "":
        return None
    return to_rfc3339(value)


Text = Annotated[str | None, BeforeValidator(blank_to_none)]
Lower = Annotated[str | None, BeforeValidator(lower_or_none)]
Count = Annotated[int | None, BeforeValidator(to_count)]
Money = Annotated[Decimal | None, BeforeValidator(to_money)]
ExoTime = Annotated[datetime | None, BeforeValidator(to_exotel_time)]
Rfc3339 = Annotated[datetime, BeforeValidator(to_rfc3339)]
Rfc3339OrNone = Annotated[datetime | None, BeforeValidator(to_rfc3339_or_none)]
