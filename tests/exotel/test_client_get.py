"""GETs: retries on 429/5xx/network errors in virtual time, the gate, parsing, paging."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
import trio

from campaigner import __version__
from campaigner.domain import LegState
from campaigner.errors import (
    BadRequestError,
    ConfigError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from campaigner.exotel import ExotelClient
from campaigner.settings import ExotelSettings

from .conftest import fixture_json, json_response
from .mock_exotel import RecordingGate, ScriptedExotel

CALL = fixture_json("v1_call_details_with_details_true.json")
SID = "b6cfaf5f5cef3ca0fc937749ef96d245"


def client_for(
    settings: ExotelSettings, exotel: ScriptedExotel, gate: RecordingGate | None = None
) -> ExotelClient:
    return ExotelClient(settings, transport=exotel.transport(), gate=gate)


async def test_429_twice_then_ok(settings: ExotelSettings, autojump_clock: trio.abc.Clock) -> None:
    exotel = ScriptedExotel([httpx.Response(429), httpx.Response(429), json_response(200, CALL)])
    gate = RecordingGate()
    async with client_for(settings, exotel, gate) as client:
        obs = await client.call_details(SID, api="v1")
    assert obs.sid == SID
    assert exotel.times == [0.0, 1.0, 3.0]
    assert gate.statuses == [429, 429, 200]


async def test_fifth_try_leaves_at_15s_then_raises(
    settings: ExotelSettings, autojump_clock: trio.abc.Clock
) -> None:
    exotel = ScriptedExotel([httpx.Response(503, text="down")])
    async with client_for(settings, exotel) as client:
        with pytest.raises(ServerError) as info:
            await client.call_details(SID, api="v1")
    assert exotel.times == [0.0, 1.0, 3.0, 7.0, 15.0]  # 1 + 2 + 4 + 8
    assert trio.current_time() == 15.0
    assert str(info.value) == f"GET /v1/Accounts/acme1/Calls/{SID}.json HTTP 503: down"


async def test_rate_limited_after_five_tries(
    settings: ExotelSettings, autojump_clock: trio.abc.Clock
) -> None:
    exotel = ScriptedExotel([httpx.Response(429, text="<html>Too many</html>")])
    async with client_for(settings, exotel) as client:
        with pytest.raises(RateLimitedError, match="Too many$"):
            await client.number_metadata("+919876543210")
    assert len(exotel.sent) == 5


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        httpx.ReadTimeout("slow read"),
        httpx.WriteTimeout("slow write"),
        httpx.PoolTimeout("pool"),
        httpx.RemoteProtocolError("Server disconnected without sending a response"),
        httpx.ReadError("reset"),
    ],
)
async def test_network_errors_are_retried_then_transport_error(
    settings: ExotelSettings, autojump_clock: trio.abc.Clock, error: Exception
) -> None:
    exotel = ScriptedExotel([error])
    async with client_for(settings, exotel) as client:
        with pytest.raises(TransportError) as info:
            await client.call_details(SID, api="v1")
    assert exotel.times == [0.0, 1.0, 3.0, 7.0, 15.0]
    assert info.value.status == 0
    assert info.value.message == f"no answer after 5 tries: {type(error).__name__}: {error}"
    assert info.value.__cause__ is error


async def test_network_error_then_answer(
    settings: ExotelSettings, autojump_clock: trio.abc.Clock
) -> None:
    exotel = ScriptedExotel([httpx.ReadTimeout("x"), json_response(200, CALL)])
    async with client_for(settings, exotel) as client:
        assert (await client.call_details(SID, api="v1")).status == "completed"
    assert exotel.times == [0.0, 1.0]


async def test_non_retryable_errors_are_not_retried(
    settings: ExotelSettings, autojump_clock: trio.abc.Clock
) -> None:
    body = {"RestException": {"Status": 404, "Message": "No matching results"}}
    exotel = ScriptedExotel([json_response(404, body)])
    async with client_for(settings, exotel) as client:
        with pytest.raises(NotFoundError, match="No matching results"):
            await client.call_details("nosuch", api="v1")
    assert len(exotel.sent) == 1


async def test_local_protocol_error_is_not_retried(
    settings: ExotelSettings, autojump_clock: trio.abc.Clock
) -> None:
    exotel = ScriptedExotel([httpx.LocalProtocolError("bad header")])
    async with client_for(settings, exotel) as client:
        with pytest.raises(TransportError, match="^GET .*: no answer: LocalProtocolError"):
            await client.call_details(SID, api="v1")
    assert len(exotel.sent) == 1


async def test_gate_before_every_send_including_retries(
    settings: ExotelSettings, autojump_clock: trio.abc.Clock
) -> None:
    gate = RecordingGate()
    exotel = ScriptedExotel(
        [httpx.ConnectError("x"), httpx.Response(500), json_response(200, CALL)],
        events=gate.events,
    )
    async with client_for(settings, exotel, gate) as client:
        await client.call_details(SID, api="v1", purpose="reconcile")
    assert gate.events == [
        "acquire:reconcile",
        "send",
        "acquire:reconcile",
        "send",
        "status:500",
        "acquire:reconcile",
        "send",
        "status:200",
    ]


@pytest.mark.parametrize(
    ("call", "purpose"),
    [
        (lambda c: c.call_details(SID, api="v1"), "poll"),
        (lambda c: c.call_legs(SID), "poll"),
        (lambda c: c.number_metadata("+91"), "lookup"),
        (lambda c: c.exophone_details("0114"), "health"),
        (lambda c: c.bulk_call_details(sids=[SID]), "reconcile"),
    ],
)
async def test_purpose_per_operation(settings: ExotelSettings, call: object, purpose: str) -> None:
    gate = RecordingGate()
    exotel = ScriptedExotel([httpx.Response(404)])
    async with client_for(settings, exotel, gate) as client:
        with pytest.raises(NotFoundError):
            await call(client)  # type: ignore[operator]
    assert gate.events == [f"acquire:{purpose}", "status:404"]


async def test_request_carries_basic_auth_and_user_agent(settings: ExotelSettings) -> None:
    exotel = ScriptedExotel([json_response(200, CALL)])
    async with client_for(settings, exotel) as client:
        await client.call_details(SID, api="v1")
    request = exotel.sent[0].request
    assert str(request.url) == f"http://exotel.test/v1/Accounts/acme1/Calls/{SID}.json?details=true"
    assert request.url.userinfo == b""
    assert (
        request.headers["authorization"]
        == httpx.BasicAuth("KEYzq7Xw4vT9sEcret", "TOKp3Rm8uY2hLeaky")._auth_header
    )
    assert request.headers["user-agent"] == f"campaigner/{__version__}"
    assert request.headers["accept"] == "application/json"


async def test_v3_details_and_legs(settings: ExotelSettings) -> None:
    exotel = ScriptedExotel(
        [
            json_response(200, fixture_json("reference/v3_call_details_terminal.json")),
            json_response(200, fixture_json("reference/v3_call_legs.json")),
        ]
    )
    async with client_for(settings, exotel) as client:
        obs = await client.call_details("cabf", api="v3")
        legs = await client.call_legs("cabf")
    assert (obs.api, obs.source, obs.terminal, obs.talk_time) == ("v3", "details", True, 59)
    assert legs == (LegState("completed"), LegState("completed"))
    assert [str(s.request.url) for s in exotel.sent] == [
        "http://ccm.exotel.test/v3/accounts/acme1/calls/cabf",
        "http://ccm.exotel.test/v3/accounts/acme1/calls/cabf/legs",
    ]


async def test_number_metadata_dnd_values(settings: ExotelSettings) -> None:
    answers = [
        json_response(200, {"Numbers": {"PhoneNumber": "09876543210", "DND": dnd}})
        for dnd in ("Yes", "No", "Unavailable")
    ]
    exotel = ScriptedExotel(answers)
    async with client_for(settings, exotel) as client:
        found = [(await client.number_metadata("09876543210")).dnd for _ in range(3)]
    assert found == [True, False, None]
    assert exotel.sent[0].request.url.path == "/v1/Accounts/acme1/Numbers/09876543210.json"


async def test_exophone_details_207_item_failure(settings: ExotelSettings) -> None:
    body = fixture_json("v2_envelope_207_multistatus_item_failure.json")
    exotel = ScriptedExotel([json_response(207, body)])
    async with client_for(settings, exotel) as client:
        with pytest.raises(BadRequestError) as info:
            await client.exophone_details("0114")
    assert str(info.value) == (
        "GET /v2/accounts/acme1/incoming-phone-numbers/0114 HTTP 400 code 1002: "
        "Invalid parameter: Destination is not a valid Ip or Fqdn (in an HTTP 207 answer)"
    )


async def test_exophone_details_ok(settings: ExotelSettings) -> None:
    exotel = ScriptedExotel(
        [json_response(200, fixture_json("reference/v2_exophone_details.json"))]
    )
    async with client_for(settings, exotel) as client:
        details = await client.exophone_details("01139585476")
    assert details.outgoing_status == "active"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(200, text="<html>oops"), "unreadable answer: body is not well-formed XML"),
        (httpx.Response(200, text="not json"), "unreadable answer: body is not JSON"),
        (json_response(200, [1]), "expected a JSON object, got list"),
        (json_response(200, {"Call": {"Sid": ""}}), "v1 call: Call.Sid: String should have"),
        (json_response(200, {"Call": {"Sid": "x", "Duration": "17s"}}), "Call.Duration"),
    ],
)
async def test_unparseable_2xx_is_a_protocol_error(
    settings: ExotelSettings, response: httpx.Response, message: str
) -> None:
    exotel = ScriptedExotel([response])
    async with client_for(settings, exotel) as client:
        with pytest.raises(ProtocolError) as info:
            await client.call_details(SID, api="v1")
    assert message in info.value.message
    assert len(exotel.sent) == 1


async def test_missing_credentials_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="missing EXOTEL_API_KEY, EXOTEL_API_TOKEN"):
        ExotelClient(ExotelSettings(account_sid="a"))


def test_timeouts_and_pool_limits(settings: ExotelSettings) -> None:
    client = ExotelClient(settings, timeout=12.0)
    http = client._http  # the configuration is the point of this test
    assert http.timeout == httpx.Timeout(12.0, connect=5.0)
    pool = http._transport._pool  # type: ignore[attr-defined]
    assert (pool._max_connections, pool._keepalive_expiry) == (10, 2.0)


async def test_log_records_name_path_status_attempt(
    settings: ExotelSettings, autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    exotel = ScriptedExotel([httpx.Response(502), json_response(200, {"Calls": []})])
    caplog.set_level(logging.DEBUG, logger="campaigner.exotel")
    async with client_for(settings, exotel) as client:
        await client.bulk_call_details(to=["+919876543210"])
    assert [r.getMessage() for r in caplog.records] == [
        "GET /v1/Accounts/acme1/Calls.json -> 502 (attempt 1, reconcile)",
        "GET /v1/Accounts/acme1/Calls.json -> 200 (attempt 2, reconcile)",
    ]
    assert [(r.levelname, r.http_status, r.attempt) for r in caplog.records] == [  # type: ignore[attr-defined]
        ("WARNING", 502, 1),
        ("DEBUG", 200, 2),
    ]


async def test_bulk_date_range_in_ist(settings: ExotelSettings) -> None:
    exotel = ScriptedExotel([json_response(200, {"Calls": []})])
    window = (datetime(2025, 3, 1, 0, 0, tzinfo=UTC), datetime(2025, 3, 1, 6, 0, tzinfo=UTC))
    async with client_for(settings, exotel) as client:
        assert await client.bulk_call_details(date_created=window) == []
    params = exotel.sent[0].request.url.params
    assert params["DateCreated"] == "gte:2025-03-01 05:30:00;lte:2025-03-01 11:30:00"
