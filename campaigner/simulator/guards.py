"""Refusals before an endpoint runs: auth (401), rate limit (429), and error styles.

Each API version writes errors its own way: v1 a RestException (JSON or XML), v2 and v3
an envelope with ``error_data``. docs/exotel/quirks.md: "A 401 or 429 body may not be JSON at
all ... expect no `Retry-After` header": the ``plain_401``/``plain_429`` faults answer
with a text body instead, and no answer carries ``Retry-After``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import random

import httpx

from campaigner.simulator.scenario import Account
from campaigner.simulator.v1_wire import rest_exception
from campaigner.simulator.v2_api import v2_error
from campaigner.simulator.v3_wire import envelope, error_data, json_response


def styled_error(
    style: str, as_json: bool, method: str, request_id: str, http: int, code: int, text: str
) -> httpx.Response:
    """An error answer in the style of the API version (``code`` is v2/v3 only)."""
    if style == "v1":
        return rest_exception(http, text, as_json)
    if style == "v2":
        return v2_error(request_id, http, code, text)
    body = envelope(request_id, method, http, "call_details", None, error_data(code, text))
    return json_response(http, body)


def plain(status: int, text: str) -> httpx.Response:
    """A non-JSON error body, as a proxy or gateway in front of Exotel would send."""
    return httpx.Response(status, content=text, headers={"Content-Type": "text/plain"})


def credentials(request: httpx.Request) -> tuple[str, str] | None:
    """(key, token) from an HTTP Basic ``Authorization`` header, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, token = decoded.partition(":")
    return (key, token) if sep else None


def authorised(request: httpx.Request, account: Account) -> bool:
    """Do the Basic credentials match the account's key and token? (constant time)"""
    given = credentials(request)
    if given is None:
        return False
    key_ok = hmac.compare_digest(given[0].encode(), account.api_key.encode())
    token_ok = hmac.compare_digest(given[1].encode(), account.api_token.encode())
    return key_ok and token_ok


def server_error(
    style: str, as_json: bool, method: str, request_id: str, rng: random.Random
) -> httpx.Response:
    """A 5xx: Exotel's own 500, or a 502/503 from the load balancer with a text body."""
    status = rng.choice((500, 500, 502, 503))
    if status != 500:
        return plain(status, "Bad Gateway" if status == 502 else "Service Unavailable")
    return styled_error(style, as_json, method, request_id, 500, 1100, "Internal Server Error")
