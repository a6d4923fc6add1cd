"""Phone numbers: one normalisation (E.164) shared by the loader, the compiler and the engine.

A contact's identity in a campaign is its E.164 number, so every layer must normalise
the same way: ``normalise("098765 43210") == normalise("+91-98765-43210")``. Parsing
uses the phonenumbers library; a fast path handles the overwhelmingly common Indian
shapes (``+91`` + 10 digits, ``0`` + 10 digits, 10 digits) with one validity check
instead of a full parse, because a million-row contact file must validate in seconds
(measured: a full parse costs about 30 us; the fast path about 2 us; see
docs/benchmarks.md for the front door's figures).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat
from phonenumbers import ValidationResult as _VR

# Characters people put inside numbers that carry no meaning.
_FORMATTING = str.maketrans("", "", " -().\t\u00a0/")
_MAX_SHOWN = 40
_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_POSSIBLE_REASONS = {
    _VR.TOO_SHORT: "too short",
    _VR.TOO_LONG: "too long",
    _VR.INVALID_LENGTH: "wrong number of digits",
    _VR.INVALID_COUNTRY_CODE: "unknown country code",
}


# The number types phonenumbers counts as valid (phonenumberutil._number_type_helper).
_NUMBER_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number",
    "pager", "uan", "voicemail", "fixed_line", "mobile",
)  # fmt: skip


class InvalidPhoneNumber(ValueError):
    """A string that is not a dialable phone number; ``reason`` says why in a few words."""

    def __init__(self, raw: str, reason: str) -> None:
        self.raw = raw
        self.reason = reason
        shown = raw if len(raw) <= _MAX_SHOWN else raw[: _MAX_SHOWN - 3] + "..."
        super().__init__(f"{shown!r} is not a valid phone number ({reason})")


def normalise(raw: str, default_region: str = "IN") -> str:
    """The E.164 form of ``raw`` (``"+919876543210"``), or :class:`InvalidPhoneNumber`.

    Numbers without a country code are read in ``default_region``. Extensions are
    refused: Exotel cannot dial them.
    """
    return _normalise(raw, default_region)


@lru_cache(maxsize=4096)
def _normalise(raw: str, default_region: str) -> str:
    if default_region == "IN":
        fast = _fast_indian(raw)
        if fast is not None:
            return fast
    return _parse(raw, default_region)


def _fast_indian(raw: str) -> str | None:
    """E.164 for the common Indian shapes, or None to fall back to a full parse."""
    text = raw.translate(_FORMATTING)
    if text.startswith("+91"):
        nsn = text[3:]
    elif text.startswith("0091"):
        nsn = text[4:]
    elif len(text) == 11 and text[0] == "0":
        nsn = text[1:]
    else:
        nsn = text
    if len(nsn) != 10 or not nsn.isascii() or not nsn.isdigit() or nsn[0] == "0":
        return None
    general, types = _indian_ten_digit_patterns()
    return "+91" + nsn if general.fullmatch(nsn) and types.fullmatch(nsn) else None


@cache
def _indian_ten_digit_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """phonenumbers' validity test for 10-digit Indian numbers, as two compiled patterns.

    ``is_valid_number`` tries each number type's pattern in turn through several layers
    (about 9 us a number); these are the same patterns from the same metadata, joined
    once, filtered to the types that allow 10 digits. A property test checks that this
    fast path agrees with a full parse.
    """
    meta = phonenumbers.PhoneMetadata.metadata_for_region("IN")
    assert meta is not None
    assert meta.general_desc is not None
    descs = [getattr(meta, name) for name in _NUMBER_TYPES]
    alternatives = [
        f"(?:{d.national_number_pattern})"
        for d in descs
        if d is not None
        and d.national_number_pattern
        and (not d.possible_length or 10 in d.possible_length)
    ]
    ten_digits = not meta.general_desc.possible_length or 10 in meta.general_desc.possible_length
    general = re.compile((ten_digits and meta.general_desc.national_number_pattern) or "(?!)")
    return general, re.compile("|".join(alternatives) or "(?!)")


def _parse(raw: str, default_region: str) -> str:
    if not raw.strip():
        raise InvalidPhoneNumber(raw, "empty")
    try:
        number = phonenumbers.parse(raw, default_region)
    except NumberParseException as exc:
        raise InvalidPhoneNumber(raw, _PARSE_REASONS.get(exc.error_type, "not a number")) from None
    if number.extension:
        raise InvalidPhoneNumber(raw, "has an extension, which cannot be dialed")
    if not phonenumbers.is_valid_number(number):
        result = phonenumbers.is_possible_number_with_reason(number)
        raise InvalidPhoneNumber(raw, _POSSIBLE_REASONS.get(result, "no such number range"))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def national(e164: str) -> str:
    """The national form Exotel echoes back (``"+919876543210"`` -> ``"09876543210"``).

    # docs/exotel/quirks.md: "Numbers come back in 0-prefixed national form (09XXXXXXXXX)
    # even when E.164 was sent, and PhoneNumberSid is the ExoPhone number itself."
    """
    return _national(e164)


@lru_cache(maxsize=1024)
def _national(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        raise InvalidPhoneNumber(e164, "not in E.164 form") from None
    formatted = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in formatted if ch.isdigit())


def is_sip(uri: str) -> bool:
    """True for a SIP URI (``sip:agent@example.com``): v3 agents with VoIP may be one."""
    lowered = uri.strip().lower()
    for scheme in ("sip:", "sips:"):
        if lowered.startswith(scheme) and len(lowered) > len(scheme):
            return True
    return False


def is_region(code: str) -> bool:
    """True when phonenumbers knows ``code`` (ISO 3166 alpha-2) as a region."""
    return code in phonenumbers.SUPPORTED_REGIONS
