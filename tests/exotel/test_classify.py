"""Error classification: HTTP status first, body optional, every body shape."""

from __future__ import annotations

import json

import pytest

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
from campaigner.exotel.classify import MAX_MESSAGE, classify


def rest(status: int, message: str, code: str | None = None) -> bytes:
    inner: dict[str, object] = {"Status": status, "Message": message}
    if code:
        inner["Code"] = code
    return json.dumps({"RestException": inner}).encode()


def v3_error(http: int, code: int, message: str, description: str) -> bytes:
    return json.dumps(
        {
            "request_id": "1e2a",
            "method": "POST",
            "http_code": http,
            "metadata": None,
            "response": {
                "code": http,
                "error_data": {"code": code, "message": message, "description": description},
                "status": "failure",
                "call_details": None,
            },
        }
    ).encode()


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "message"),
    [
        (401, b"", AuthError, None, "Unauthorized"),
        (401, rest(401, "Authentication failed"), AuthError, None, "Authentication failed"),
        (
            403,
            rest(403, "Call to [09876543210] cannot be made because of TRAI NDNC regulations"),
            DndRefusedError,
            None,
            "Call to [09876543210] cannot be made because of TRAI NDNC regulations",
        ),
        (403, rest(403, "IP not allowed"), ForbiddenError, None, "IP not allowed"),
        (403, b"", ForbiddenError, None, "Forbidden"),
        (404, rest(404, "No matching results"), NotFoundError, None, "No matching results"),
        (400, rest(400, "Invalid To"), BadRequestError, None, "Invalid To"),
        (405, b"", BadRequestError, None, "Method Not Allowed"),
        (422, b"{}", BadRequestError, None, "Unprocessable Entity"),
        (409, b"", ConflictError, None, "Conflict"),
        (429, b"", RateLimitedError, None, "Too Many Requests"),
        (500, b"", ServerError, None, "Internal Server Error"),
        (503, b"upstream connect error", ServerError, None, "upstream connect error"),
        (302, b"", ProtocolError, None, "Found"),
        (418, b"", BadRequestError, None, "I'm a Teapot"),
    ],
)
def test_status_first(
    status: int, body: bytes, cls: type[ExotelError], code: str | None, message: str
) -> None:
    err = classify(status, body, method="GET", path="/v1/Accounts/a/Calls/x.json")
    assert type(err) is cls
    assert (err.status, err.code, err.message) == (status, code, message)
    assert str(err) == f"GET /v1/Accounts/a/Calls/x.json HTTP {status}: {message}"


@pytest.mark.parametrize(
    ("http", "code", "cls", "message"),
    [
        (409, 10706, AgentBusyError, "User device is currently busy"),
        (404, 10706, AgentBusyError, "User device is currently busy"),  # 002 lists it under 404 too
        (409, 10705, AgentUnavailableError, "User device is unverified"),
        (409, 1012, AgentUnavailableError, "User device is unavailable"),
        (404, 10703, AgentUnavailableError, "Device is currently unavailable (turned off)"),
        (404, 10731, AgentUnavailableError, "User not found"),
        (404, 10702, AgentUnavailableError, "User Device not found"),
        (404, 10806, AgentUnavailableError, "No device found for user"),
        (405, 10712, AgentUnavailableError, "VOIP calls are not allowed"),
        (409, 1008, ConflictError, "Duplicate resource"),
        (401, 1010, AuthError, "Authentication failed"),
        (404, 10716, NotFoundError, "Given virtual_number not found"),
        (404, 1017, NotFoundError, "AccountSid not found"),
        (404, 10744, NotFoundError, "Call not found"),
        (400, 1002, BadRequestError, "Valid values for RecordingChannels are single, dual"),
        (429, 10724, RateLimitedError, "Too many requests"),
        (500, 1100, ServerError, "Internal Server Error"),
    ],
)
def test_v3_error_codes(http: int, code: int, cls: type[ExotelError], message: str) -> None:
    err = classify(http, v3_error(http, code, "msg", message))
    assert type(err) is cls
    assert (err.status, err.code, err.message) == (http, str(code), f"msg: {message}")


def test_v3_message_and_description_equal_are_not_repeated() -> None:
    err = classify(404, v3_error(404, 1000, "Not Found", "Not Found"))
    assert err.message == "Not Found"


def test_v1_restexception_code_is_kept() -> None:
    err = classify(409, rest(409, "busy", code="10706"))
    assert type(err) is AgentBusyError
    assert err.code == "10706"


def test_xml_restexception() -> None:
    body = (
        b"<?xml version='1.0'?><TwilioResponse><RestException><Status>401</Status>"
        b"<Message>Authentication is required</Message></RestException></TwilioResponse>"
    )
    err = classify(401, body)
    assert (type(err), err.message) == (AuthError, "Authentication is required")


def test_html_429_page_becomes_short_text() -> None:
    page = (
        b"<html><head><title>429 Too Many Requests</title></head>"
        b"<body><h1>Slow &amp; down</h1></body></html>"
    )
    err = classify(429, page)
    assert type(err) is RateLimitedError
    assert err.message == "429 Too Many Requests Slow & down"


def test_long_bodies_are_truncated() -> None:
    err = classify(500, b"x" * 10_000)
    assert len(err.message) == MAX_MESSAGE
    assert err.message.endswith("…")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff\xfe garbage", "\ufffd\ufffd garbage"),
        (b"[1, 2]", "Bad Gateway"),
        (b"null", "Bad Gateway"),
        (b'{"RestException": "nope"}', "Bad Gateway"),
        (b'{"RestException": {"Status": 502}}', "Bad Gateway"),
        (b"   ", "Bad Gateway"),
        (b"<p></p>", "Bad Gateway"),
    ],
)
def test_odd_bodies(body: bytes, message: str) -> None:
    err = classify(502, body)
    assert type(err) is ServerError
    assert err.message == message


def test_xml_with_doctype_is_not_parsed() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    err = classify(400, body)
    assert type(err) is BadRequestError
    assert "aaaa" not in err.message


def test_plain_message_json() -> None:
    assert classify(400, b'{"message": "bad  \\n thing"}').message == "bad thing"
