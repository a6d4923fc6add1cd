"""No API key or token in any exception text, repr, chained cause, traceback or log record."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable

import httpx
import pytest
import trio

from campaigner.domain import CallSpec
from campaigner.errors import ExotelError
from campaigner.exotel import ExotelClient
from campaigner.settings import ExotelSettings

from .conftest import API_KEY, API_TOKEN, SECRETS, assert_no_secrets, json_response
from .mock_exotel import ScriptedExotel

SPEC = CallSpec(api="v1", first_leg="+919876543210", second_leg="+918041234567", caller_id="080")
ECHO = f"bad credentials {API_KEY}:{API_TOKEN} ({SECRETS[2]})"

OPERATIONS: dict[str, Callable[[ExotelClient], Awaitable[object]]] = {
    "connect": lambda client: client.connect(SPEC),
    "details": lambda client: client.call_details("x", api="v1"),
    "bulk": lambda client: client.bulk_call_details(sids=["x"]),
}

STEPS = [
    httpx.Response(401, text=""),
    httpx.Response(401, text=ECHO),
    json_response(403, {"RestException": {"Status": 403, "Message": ECHO}}),
    json_response(400, {"RestException": {"Status": 400, "Message": "x", "Code": API_TOKEN}}),
    httpx.Response(429, text=f"<html>{ECHO}</html>"),
    httpx.Response(500, text=ECHO),
    httpx.Response(200, text=ECHO),
    httpx.ConnectError(f"cannot reach {ECHO}"),
    httpx.ReadTimeout("timed out"),
    httpx.RemoteProtocolError("Server disconnected"),
]


def texts_of(err: BaseException) -> list[str]:
    out = ["".join(traceback.format_exception(err))]
    seen: BaseException | None = err
    while seen is not None:
        out += [str(seen), repr(seen), repr(seen.args)]
        if isinstance(seen, ExotelError):
            out += [seen.message, str(seen.code), str(seen.path)]
        seen = seen.__cause__ or seen.__context__
    return out


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = []
    for record in caplog.records:
        out += [record.getMessage(), repr(record.args), repr(record.__dict__)]
    return out


@pytest.mark.parametrize(
    "step", STEPS, ids=lambda s: type(s).__name__ + str(getattr(s, "status_code", ""))
)
@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_no_credentials_anywhere(
    settings: ExotelSettings,
    autojump_clock: trio.abc.Clock,
    caplog: pytest.LogCaptureFixture,
    step: object,
    operation: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    exotel = ScriptedExotel([step])  # type: ignore[list-item]
    async with ExotelClient(settings, transport=exotel.transport()) as client:
        with pytest.raises(ExotelError) as info:
            await OPERATIONS[operation](client)
        assert_no_secrets(*texts_of(info.value), *log_texts(caplog), repr(client))
    # The credentials did go where they belong: the Authorization header only.
    assert all(s.request.headers["authorization"].startswith("Basic ") for s in exotel.sent)
    assert all(API_KEY not in str(s.request.url) for s in exotel.sent)


def test_settings_and_client_reprs(settings: ExotelSettings) -> None:
    client = ExotelClient(settings)
    assert_no_secrets(repr(settings), str(settings), repr(client), repr(client._sender.__dict__))


async def test_scrubbed_message_text(settings: ExotelSettings) -> None:
    exotel = ScriptedExotel([httpx.Response(401, text=ECHO)])
    async with ExotelClient(settings, transport=exotel.transport()) as client:
        with pytest.raises(ExotelError) as info:
            await client.call_details("x", api="v1")
    assert info.value.message == "bad credentials ********:******** (********)"


async def test_real_socket_errors_carry_no_credentials() -> None:
    # Real httpx/trio error texts (nothing listens on port 1), on the real clock.
    settings = ExotelSettings(
        api_key=API_KEY, api_token=API_TOKEN, account_sid="acme1", base_url="http://127.0.0.1:1"
    )
    async with ExotelClient(settings, timeout=2.0, first_backoff=0.001) as client:
        with pytest.raises(ExotelError) as details:
            await client.call_details("x", api="v1")
        with pytest.raises(ExotelError) as connect:
            await client.connect(SPEC)
    assert type(details.value).__name__ == type(connect.value).__name__ == "TransportError"
    assert isinstance(details.value.__cause__, httpx.ConnectError)
    assert_no_secrets(*texts_of(details.value), *texts_of(connect.value))
