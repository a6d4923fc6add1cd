"""Phone numbers as the simulator sees them: E.164 inside, 0-prefixed national outside.

Clients send E.164 (or any Indian format); Exotel echoes numbers back in 0-prefixed
national form (docs/exotel/quirks.md: "Numbers come back in 0-prefixed national form
(`09XXXXXXXXX`) even when E.164 was sent"). Everything the simulator stores or matches
is E.164, so a bulk filter in E.164 finds a record shown as ``09...``.

Normalising must be cheap (the benchmarks create ~300k calls): the common Indian shapes
take a hand-written fast path and only the rest go through ``phonenumbers``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

_STRIP = str.maketrans("", "", " -().")


def to_e164(raw: str) -> str | None:
    """E.164 form of ``raw`` (Indian by default), or None when it is not a valid number."""
    text = raw.strip().translate(_STRIP)
    fast = _fast_indian(text)
    return fast if fast is not None else _slow_e164(text)


def _fast_indian(text: str) -> str | None:
    # An Indian national significant number is always 10 digits and never starts with 0.
    if text.startswith("+91"):
        nsn = text[3:]
    elif len(text) == 11 and text[0] == "0":
        nsn = text[1:]
    elif len(text) == 12 and text.startswith("91"):
        nsn = text[2:]
    elif len(text) == 10:
        nsn = text
    else:
        return None
    if len(nsn) == 10 and nsn.isdigit() and nsn[0] in "6789":
        return "+91" + nsn
    return None


@lru_cache(maxsize=65536)
def _slow_e164(text: str) -> str | None:
    try:
        parsed = phonenumbers.parse(text, "IN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def national(e164: str) -> str:
    """The 0-prefixed national form Exotel echoes for Indian numbers (others unchanged)."""
    return "0" + e164[3:] if e164.startswith("+91") else e164


def is_indian(e164: str) -> bool:
    """True for +91 numbers (number metadata covers Indian numbers only)."""
    return e164.startswith("+91")


@lru_cache(maxsize=4096)
def is_mobile(e164: str) -> bool:
    """Mobile or fixed line, from numbering-plan data (never from the first digit:
    ``+918041234567`` is a Bangalore landline)."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    return kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


@dataclass(frozen=True, slots=True)
class Circle:
    """A telecom circle (code and name) as number metadata reports it."""

    code: str
    name: str


CIRCLES = (
    Circle("KA", "Karnataka Telecom Circle"),
    Circle("MH", "Maharashtra Telecom Circle"),
    Circle("MU", "Mumbai Metro Telecom Circle"),
    Circle("DL", "Delhi Metro Telecom Circle"),
    Circle("GJ", "Gujarat Telecom Circle"),
    Circle("TN", "Tamil Nadu Telecom Circle"),
    Circle("UE", "Uttar Pradesh (East) Telecom Circle"),
    Circle("WB", "West Bengal Telecom Circle"),
)

# Operator code -> name, as v1 number metadata shows them ("R" Reliance, "V" Vodafone).
OPERATORS = {"A": "Airtel", "V": "Vodafone Idea", "R": "Reliance Jio", "B": "BSNL"}


def stable_fraction(e164: str, salt: str) -> float:
    """A number in [0, 1) fixed by the number and salt: lets metadata and connect agree."""
    digest = hashlib.blake2b(f"{salt}:{e164}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def default_circle(e164: str) -> Circle:
    """The circle the simulator attributes to an unconfigured number (stable per number)."""
    return CIRCLES[int(stable_fraction(e164, "circle") * len(CIRCLES))]


def default_operator(e164: str) -> str:
    """The operator code the simulator attributes to an unconfigured number."""
    codes = sorted(OPERATORS)
    return codes[int(stable_fraction(e164, "operator") * len(codes))]
