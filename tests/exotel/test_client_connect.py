"""The connect POST: sent once, never retried; lost answers become OutcomeUnknownError."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx
import pytest
import trio

from campaigner.domain import CallSpec
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
    OutcomeUnknownError,
    RateLimitedError,
    TransportError,
)
from campaigner.exotel import ExotelClient
from campaigner.settings import ExotelSettings

from .conftest import fixture_bytes, fixture_json, json_response
from .mock_exotel import RecordingGate, ScriptedExotel

V1 = CallSpec(api="v1", first_leg="+919876543210", second_leg="+918041234567", caller_id="080471")
V3 = CallSpec(api="v3", first_leg="+919876543210", second_leg="+918041234567", caller_id="080471")
PATH = "/v1/Accounts/acme1/Calls/connect.json"


async def connect(
    settings: ExotelSettings, step: object, spec: CallSpec = V1
) -> tuple[ScriptedExotel, ExotelError | None]:
    exotel = ScriptedExotel([step])  # type: ignore[list-item]
    async with ExotelClient(settings, transport=exotel.transport()) as client:
        try:
            await client.connect(spec)
        except ExotelError as exc:
            return exotel, exc
    return exotel, None


async def test_v1_connect_sends_the_form_once(settings: ExotelSettings) -> None:
    gate = RecordingGate()
    answer = json_response(200, fixture_json("reference/v1_connect_response.json"))
    exotel = ScriptedExotel([answer], events=gate.events)
    async with ExotelClient(settings, transport=exotel.transport(), gate=gate) as client:
        obs = await client.connect(V1)
    assert (obs.sid, obs.source, obs.status, obs.terminal) == (
        "c5797dcbaaeed7678c4062a4a3ed2f8a",
        "connect",
        "in-progress",
        False,
    )
    (sent,) = exotel.sent
    assert (sent.request.method, sent.request.url.path) == ("POST", PATH)
    assert sent.request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(sent.request.content.decode()) == [
        ("From", "+919876543210"),
        ("To", "+918041234567"),
        ("CallerId", "080471"),
        ("TimeLimit", "14400"),
        ("TimeOut", "30"),
        ("Record", "false"),  # Exotel records by default: never leave it out
    ]
    assert gate.events == ["acquire:connect", "send", "status:200"]


async def test_v3_connect_sends_json(settings: ExotelSettings) -> None:
    answer = json_response(200, fixture_json("reference/v3_connect_response.json"))
    exotel = ScriptedExotel([answer])
    async with ExotelClient(settings, transport=exotel.transport()) as client:
        obs = await client.connect(V3)
    assert (obs.api, obs.sid, obs.state) == ("v3", "3f3fedf8f0928550a60bfa6302dc16b2", "active")
    request = exotel.sent[0].request
    assert str(request.url) == "http://ccm.exotel.test/v3/accounts/acme1/calls"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content)["to"] == {"contact_uri": "+918041234567"}


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("t"), httpx.PoolTimeout("p")],
)
async def test_not_sent_is_a_transport_error(settings: ExotelSettings, error: Exception) -> None:
    exotel, err = await connect(settings, error)
    assert type(err) is TransportError
    assert str(err) == f"POST {PATH}: no answer: {type(error).__name__}: {error}"
    assert err.__cause__ is error
    assert len(exotel.sent) == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("t"),
        httpx.WriteTimeout("t"),
        httpx.RemoteProtocolError("Server disconnected without sending a response"),
        httpx.ReadError("reset"),
        httpx.WriteError("broken pipe"),
    ],
)
async def test_lost_answer_is_outcome_unknown(
    settings: ExotelSettings, autojump_clock: trio.abc.Clock, error: Exception
) -> None:
    exotel, err = await connect(settings, error)
    assert type(err) is OutcomeUnknownError
    assert str(err) == (
        f"POST {PATH}: the call may or may not exist: answer lost ({type(error).__name__})"
    )
    assert err.__cause__ is error
    assert exotel.times == [0.0]
    assert trio.current_time() == 0.0  # no backoff, no second try


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_outcome_unknown(settings: ExotelSettings, status: int) -> None:
    exotel, err = await connect(settings, httpx.Response(status, text="boom"))
    assert type(err) is OutcomeUnknownError
    assert (err.status, err.message) == (status, "the call may or may not exist (boom)")
    assert len(exotel.sent) == 1


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(408, text="<html><body>408 Request Time-out</body></html>"),
        httpx.Response(499, text="client closed request"),
        httpx.Response(408),
        json_response(410, {"RestException": {"Status": 410, "Message": "Gone"}}),
        httpx.Response(302, headers={"Location": "http://elsewhere.test/"}),
        httpx.Response(405, text="Method Not Allowed"),
    ],
)
async def test_an_answer_that_is_not_exotels_refusal_is_outcome_unknown(
    settings: ExotelSettings, response: httpx.Response
) -> None:
    # A proxy that timed out after forwarding the POST answers 408 or 499: Exotel may
    # well have created the call, so only reconciliation may say it did not.
    exotel, err = await connect(settings, response)
    assert type(err) is OutcomeUnknownError
    assert err.status == response.status_code
    assert err.message.startswith("the call may or may not exist")
    assert len(exotel.sent) == 1


@pytest.mark.parametrize(
    ("status", "code", "refused"),
    [
        (400, 1002, BadRequestError),
        (401, 1010, AuthError),
        (403, 1, ForbiddenError),
        (404, 10716, NotFoundError),
        (405, 10712, AgentUnavailableError),
        (409, 1012, ConflictError),
        (429, 10724, RateLimitedError),
    ],
)
async def test_exotels_documented_refusals_prove_no_call(
    settings: ExotelSettings, status: int, code: int, refused: type[ExotelError]
) -> None:
    body = v3_failure(status, code, "refused")
    _, err = await connect(settings, json_response(status, body), V3)
    assert isinstance(err, refused)
    assert not isinstance(err, OutcomeUnknownError)
    assert (err.status, err.code) == (status, str(code))


async def test_429_is_rate_limited_not_retried(settings: ExotelSettings) -> None:
    exotel, err = await connect(settings, httpx.Response(429))
    assert type(err) is RateLimitedError
    assert len(exotel.sent) == 1


async def test_403_ndnc_xml(settings: ExotelSettings) -> None:
    body = fixture_bytes("v1_connect_403_ndnc_restexception.xml")
    _, err = await connect(settings, httpx.Response(403, content=body))
    assert type(err) is DndRefusedError
    assert str(err) == (
        f"POST {PATH} HTTP 403: Call to [01234] cannot be made because of TRAI NDNC regulations"
    )


def v3_failure(http_code: int, code: int, message: str) -> dict[str, object]:
    return {
        "request_id": "r",
        "method": "POST",
        "http_code": http_code,
        "metadata": None,
        "response": {
            "code": http_code,
            "error_data": {"code": code, "message": message, "description": message},
            "status": "failure",
            "call_details": None,
        },
    }


async def test_v3_agent_busy(settings: ExotelSettings) -> None:
    body = v3_failure(409, 10706, "User device is currently busy")
    _, err = await connect(settings, json_response(409, body), V3)
    assert type(err) is AgentBusyError
    assert (err.status, err.code) == (409, "10706")


async def test_v3_failure_inside_http_200(settings: ExotelSettings) -> None:
    body = v3_failure(409, 10706, "User device is currently busy")
    _, err = await connect(settings, json_response(200, body), V3)
    assert type(err) is AgentBusyError
    assert err.message == "User device is currently busy (in an HTTP 200 answer)"


async def test_v3_5xx_inside_http_200_is_outcome_unknown(settings: ExotelSettings) -> None:
    _, err = await connect(settings, json_response(200, v3_failure(500, 1100, "ISE")), V3)
    assert type(err) is OutcomeUnknownError


async def test_400_is_refused_as_is(settings: ExotelSettings) -> None:
    body = {"RestException": {"Status": 400, "Message": "Invalid To"}}
    _, err = await connect(settings, json_response(400, body))
    assert type(err) is BadRequestError


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>proxy says hi</html>"),
        httpx.Response(200, text="{"),
        json_response(200, {"Call": {"Status": "queued"}}),
        json_response(200, {"something": "else"}),
    ],
)
async def test_unreadable_2xx_is_outcome_unknown(
    settings: ExotelSettings, response: httpx.Response
) -> None:
    # A 2xx means the call was probably created, yet without a SID we cannot follow it:
    # the engine must reconcile rather than dial again.
    exotel, err = await connect(settings, response)
    assert type(err) is OutcomeUnknownError
    assert err.message.startswith("the call may or may not exist")
    assert len(exotel.sent) == 1


def test_connect_request_is_the_wire_request(settings: ExotelSettings) -> None:
    client = ExotelClient(settings)
    req = client.connect_request(V1)
    assert req.url == "http://exotel.test/v1/Accounts/acme1/Calls/connect.json"
    assert "KEYzq7Xw4vT9sEcret" not in req.render()
