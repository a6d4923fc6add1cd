"""Masking: reports get forwarded, so people's numbers are hidden by default.

A report travels by mail to managers and vendors; a contact's number, an agent's
personal phone and the account SID do not need to travel with it. Masking keeps
the last 4 digits, enough to find a contact in the export or the CRM. Numbers
inside free text (Exotel's error messages, run-log messages, contact variables)
are masked the same way. ``--no-mask`` turns all of this off.

Caller IDs (the company's own ExoPhones) are masked like every other number: they
appear inside run-log and Exotel messages too, where they cannot be told from a
contact's number, and one number shown two ways in one page reads as two numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DOT = "\u2022"  # •

# Eight or more digits, possibly separated by single spaces or dashes, maybe after a "+".
_NUMBER_IN_TEXT = re.compile(r"\+?\d(?:[ -]?\d){7,}")
# An http(s) URL with a plain host (no port, user:password@, spaces or quotes).
_PLAIN_LINK = re.compile(r"https?://[A-Za-z0-9.-]+(?:/[^\s\"'<>@#]*)?")


def mask_phone(phone: str) -> str:
    """``+919812300001`` -> ``+91••••••0001``: Indian country code and last 4 digits kept."""
    if phone.startswith("+91") and len(phone) == 13:
        return "+91" + DOT * 6 + phone[-4:]
    return _mask_digits(phone)


def _mask_digits(text: str) -> str:
    """Every digit but the last four becomes a dot; other characters stay."""
    digits = sum(c.isdigit() for c in text)
    keep_from = digits - 4
    out = []
    seen = 0
    for char in text:
        if char.isdigit():
            out.append(char if seen >= keep_from else DOT)
            seen += 1
        else:
            out.append(char)
    return "".join(out)


def mask_text(text: str) -> str:
    """Mask every phone-like run of 8+ digits inside free text."""
    if len(text) < 8:
        return text  # too short to hold a number (most contact variables)
    return _NUMBER_IN_TEXT.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    return mask_phone(match.group(0))


def mask_sid(sid: str) -> str:
    """An account SID keeps its first and last two characters: ``ex•••••••23``."""
    if len(sid) <= 6:
        return DOT * len(sid)
    return sid[:2] + DOT * (len(sid) - 4) + sid[-2:]


def mask_data(value: Any) -> Any:
    """Mask numbers in every string of a JSON-like value (run-log data)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {str(k): mask_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_data(v) for v in value]
    return value


def identity(text: str) -> str:
    return text


def maskers(mask: bool) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """(phone masker, free-text masker) for ``mask``; both the identity when off."""
    return (mask_phone, mask_text) if mask else (identity, identity)


def safe_link(url: str | None) -> str | None:
    """A recording URL fit for an ``href``: http(s) only, with any user:password removed.

    A link from Exotel is shown as given; anything else (``javascript:``, ``data:``,
    a URL carrying credentials) is refused or stripped, so a report cannot carry a
    script or a secret in a link.
    """
    if not url:
        return None
    if _PLAIN_LINK.fullmatch(url):
        return url  # the common case, checked cheaply: 100,000 contacts have many links
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
