"""Every error and fault the simulator produces, as the client classifies and retries it.

The client's rules (docs/exotel-client.md, from the FAQ page 004): GETs retry 429, 5xx and
network errors at 0, 1, 3, 7 and 15 s; a connect POST is sent exactly once, a lost answer or
a 5xx becoming ``OutcomeUnknownError``. The simulator's request log shows what really
arrived, so each test checks both sides.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import trio
from trio.testing import MockClock

from campaigner.domain import ApiVersion
from campaigner.errors import (
    AgentBusyError,
    AuthError,
    DndRefusedError,
    ExotelError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
)
from campaigner.exotel import ExotelClient
from campaigner.simulator.phones import national

from .conftest import (
    CUSTOMER,
    END,
    EXOPHONE_SID,
    Build,
    Harness,
    assert_no_secrets,
    error_texts,
    raised,
    settings,
    spec,
)

RETRY_TIMES = [0.0, 1.0, 3.0, 7.0, 15.0]  # FAQ: from 1 s, doubling, 5 tries in all


def times(h: Harness, kind: str) -> list[float]:
    """When each request of ``kind`` arrived, relative to the first one."""
    arrived = [r.time for r in h.sim.requests if r.kind == kind]
    return [t - arrived[0] for t in arrived]


def summary(err: ExotelError) -> tuple[str, int, str | None, str]:
    return type(err).__name__, err.status, err.code, err.message


# ---- 401 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("plain", [False, True])
async def test_401_in_every_version(make: Build, autojump_clock: MockClock, plain: bool) -> None:
    h: Harness = await make(faults={"plain_401": 1.0 if plain else 0.0})
    message = "Unauthorized" if plain else "Authentication failed"
    code = None if plain else "1010"
    async with ExotelClient(settings(token="TOKwrongWrong1"), transport=h.sim.transport()) as bad:
        v1 = await raised(bad.connect(spec("v1")))
        v3 = await raised(bad.connect(spec("v3")))
        v2 = await raised(bad.exophone_details(EXOPHONE_SID))
        get = await raised(bad.call_details("nosuchcall", api="v1"))
    assert summary(v1) == ("AuthError", 401, None, message)
    assert summary(v3) == summary(v2) == ("AuthError", 401, code, message)
    assert isinstance(get, AuthError)
    assert len(h.sim.requests) == 4  # 401 is never retried
    assert str(v1) == f"POST /v1/Accounts/acmecontract/Calls/connect.json HTTP 401: {message}"
    assert h.sim.calls() == []


async def test_another_account_sid(h: Harness, autojump_clock: MockClock) -> None:
    async with ExotelClient(settings(account="someoneelse"), transport=h.sim.transport()) as c:
        v1 = await raised(c.call_details("x", api="v1"))
        v3 = await raised(c.call_details("x", api="v3"))
    assert summary(v1) == ("AuthError", 401, None, "Authentication failed")
    assert summary(v3) == ("NotFoundError", 404, "1017", "AccountSid not found")  # 002


# ---- 403, 404, 400, 409 --------------------------------------------------------------------


async def test_403_ndnc_on_v1_creates_nothing(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(numbers={CUSTOMER: {"dnd": True}})
    err = await raised(h.client.connect(spec("v1")))
    assert isinstance(err, DndRefusedError)
    assert summary(err) == (
        "DndRefusedError",
        403,
        None,
        f"Call to [{national(CUSTOMER)}] cannot be made because of TRAI NDNC regulations",
    )
    assert (h.sim.calls(), h.seen("POST", "v1.connect")) == ([], [403])


async def test_404_everywhere(h: Harness, autojump_clock: MockClock) -> None:
    v1 = await raised(h.client.call_details("nosuchcall", api="v1"))
    v3 = await raised(h.client.call_details("nosuchcall", api="v3"))
    legs = await raised(h.client.call_legs("nosuchcall"))
    v2 = await raised(h.client.exophone_details("09999999999"))
    assert summary(v1) == ("NotFoundError", 404, None, "No matching results")
    assert summary(v3) == summary(legs) == ("NotFoundError", 404, "10744", "Call not found")
    assert summary(v2) == ("NotFoundError", 404, "1000", "Not Found")
    assert len(h.sim.requests) == 4  # 404 is never retried


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"api": "v1", "time_limit": 20000},
            ("BadRequestError", 400, None, "TimeLimit must be an integer between 1 and 14400"),
        ),
        (
            {"api": "v1", "custom_field": "x" * 129},
            ("BadRequestError", 400, None, "CustomField must be at most 128 characters"),
        ),
        (
            {"api": "v3", "recording_channels": "stereo"},
            ("BadRequestError", 400, "1002", "Valid values for RecordingChannels are single, dual"),
        ),
        (
            {"api": "v3", "second": "sip:agent@example.test"},
            # a SIP leg is an agent's (contacts are phone numbers): the agent's problem
            ("AgentUnavailableError", 405, "10712", "VOIP calls are not allowed"),
        ),
    ],
)
async def test_validation_errors_are_refused_as_is(
    h: Harness, autojump_clock: MockClock, kwargs: dict[str, object], expected: tuple[object, ...]
) -> None:
    err = await raised(h.client.connect(spec(**kwargs)))  # type: ignore[arg-type]
    assert summary(err) == expected
    assert h.sim.calls() == []


async def test_400_on_a_get_is_not_retried(h: Harness, autojump_clock: MockClock) -> None:
    meta = await raised(h.client.number_metadata("+14155552671"))
    assert summary(meta) == (
        "BadRequestError",
        400,
        None,
        "Number metadata is available for Indian numbers only: '+14155552671'",
    )
    assert h.seen("GET", "v1.numbers") == [400]


async def test_unknown_caller_id(h: Harness, autojump_clock: MockClock) -> None:
    v1 = await raised(h.client.connect(spec("v1", caller_id="+919999999999")))
    v3 = await raised(h.client.connect(spec("v3", caller_id="+919999999999")))
    assert summary(v1) == (
        "BadRequestError",
        400,
        None,
        "CallerId +919999999999 is not an ExoPhone of this account",
    )
    assert summary(v3) == ("NotFoundError", 404, "10716", "Given virtual_number not found")


async def test_409_agent_busy_under_state_management(h: Harness, autojump_clock: MockClock) -> None:
    first = await h.client.connect(spec("v3", state_management=True))
    err = await raised(h.client.connect(spec("v3", second="+919822222222", state_management=True)))
    assert isinstance(err, AgentBusyError)
    assert summary(err) == ("AgentBusyError", 409, "10706", "User device is currently busy")
    assert [c.sid for c in h.sim.calls()] == [first.sid]
    await h.until(first.sid, END)  # the agent is free once the first call is over
    assert (await h.client.connect(spec("v3", state_management=True))).sid != first.sid


# ---- 429 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("api", "kind"), [("v1", "v1.call"), ("v3", "v3.call")])
async def test_429_get_backs_off_until_the_window_frees(
    make: Build, autojump_clock: MockClock, api: ApiVersion, kind: str
) -> None:
    h: Harness = await make(rate_limit={"requests": 2, "window": 5})
    obs = await h.client.connect(spec(api))  # spends one of the two
    start = trio.current_time()
    await h.client.call_details(obs.sid, api=api)  # the second
    await h.client.call_details(obs.sid, api=api)  # refused at 0, 1, 3; admitted at 7
    assert trio.current_time() - start == 7.0
    assert h.seen("GET", kind) == [200, 429, 429, 429, 200]
    assert times(h, kind) == [0.0, 0.0, 1.0, 3.0, 7.0]


@pytest.mark.parametrize(
    ("api", "plain", "code", "message"),
    [
        ("v1", False, None, "Too many requests"),
        ("v3", False, "10724", "Too many requests"),
        ("v1", True, None, "Too Many Requests"),
        ("v3", True, None, "Too Many Requests"),
    ],
)
async def test_429_after_five_tries(
    make: Build,
    autojump_clock: MockClock,
    api: ApiVersion,
    plain: bool,
    code: str | None,
    message: str,
) -> None:
    h: Harness = await make(faults={"bursts": [{"at": 0, "duration": 100}],
                                    "plain_429": 1.0 if plain else 0.0})  # fmt: skip
    err = await raised(h.client.call_details("anything", api=api))
    assert summary(err) == ("RateLimitedError", 429, code, message)
    assert times(h, f"{api}.call") == RETRY_TIMES
    assert trio.current_time() == 15.0


@pytest.mark.parametrize("api", ["v1", "v3"])
async def test_429_on_connect_is_not_retried(
    make: Build, autojump_clock: MockClock, api: ApiVersion
) -> None:
    h: Harness = await make(faults={"bursts": [{"at": 0, "duration": 100}]})
    err = await raised(h.client.connect(spec(api)))
    assert isinstance(err, RateLimitedError)
    assert (len(h.sim.requests), h.sim.calls()) == (1, [])


async def test_a_burst_of_429s_is_ridden_out(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(faults={"bursts": [{"at": 0.5, "duration": 4}]})
    await trio.sleep(0.5)
    found = await h.client.bulk_call_details()
    assert found == []
    assert h.seen("GET", "v1.calls") == [429, 429, 429, 200]  # the burst ends at 4.5 s
    assert times(h, "v1.calls") == [0.0, 1.0, 3.0, 7.0]


async def test_exophone_details_throttled(h: Harness, autojump_clock: MockClock) -> None:
    for _ in range(10):  # the v2 endpoint's own budget (docs/simulator.md: 10 a minute)
        await h.client.exophone_details(EXOPHONE_SID)
    err = await raised(h.client.exophone_details(EXOPHONE_SID))
    assert summary(err) == ("RateLimitedError", 429, "10724", "Too many requests")
    assert h.seen("GET", "v2.exophone") == [200] * 10 + [429] * 5


# ---- 5xx ----------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["v1", "v3"])
async def test_5xx_on_gets_is_retried(
    make: Build, autojump_clock: MockClock, api: ApiVersion
) -> None:
    h: Harness = await make(faults={"get_5xx": 1.0})
    err = await raised(h.client.call_details("anything", api=api))
    assert isinstance(err, ServerError)
    assert all(500 <= status < 600 for status in h.seen("GET", f"{api}.call"))
    assert times(h, f"{api}.call") == RETRY_TIMES


async def test_5xx_then_an_answer(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make()
    obs = await h.client.connect(spec("v1"))
    h.sim.set_faults(get_5xx=1.0)

    async def recover() -> None:
        await trio.sleep(2)  # between the second try (1 s) and the third (3 s)
        h.sim.set_faults(get_5xx=0.0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(recover)
        details = await h.client.call_details(obs.sid, api="v1")
    assert details.sid == obs.sid
    statuses = h.seen("GET", "v1.call")
    assert [status >= 500 for status in statuses] == [True, True, False]
    assert times(h, "v1.call") == [0.0, 1.0, 3.0]


@pytest.mark.parametrize(("api", "created"), [("v1", True), ("v1", False), ("v3", True)])
async def test_5xx_on_connect_is_outcome_unknown(
    make: Build, autojump_clock: MockClock, api: ApiVersion, created: bool
) -> None:
    h: Harness = await make(
        faults={"connect_5xx": 1.0, "connect_5xx_created": 1.0 if created else 0.0}
    )
    err = await raised(h.client.connect(spec(api)))
    assert isinstance(err, OutcomeUnknownError)
    assert err.message.startswith("the call may or may not exist (")
    assert len(h.seen("POST", f"{api}.create" if api == "v3" else "v1.connect")) == 1
    assert [c.created_on_5xx for c in h.sim.calls()] == ([True] if created else [])


# ---- ambiguous connects, then reconciliation ------------------------------------------------


@pytest.mark.parametrize("fault", ["connect_ambiguous", "connect_5xx"])
@pytest.mark.parametrize("api", ["v1", "v3"])
async def test_a_lost_answer_is_found_by_bulk_details(
    make: Build, autojump_clock: MockClock, fault: str, api: ApiVersion
) -> None:
    h: Harness = await make(faults={fault: 1.0, "connect_5xx_created": 1.0})
    intent = h.sim.wall_now()
    err = await raised(h.client.connect(spec(api)))
    assert isinstance(err, OutcomeUnknownError)
    (info,) = h.sim.calls()
    assert len(h.sim.requests) == 1  # exactly one POST: never retried
    assert (info.answer_lost, info.created_on_5xx) == (
        fault == "connect_ambiguous",
        fault == "connect_5xx",
    )

    async def reconcile() -> list[str]:
        # As the engine's reconciler asks: the contact's number and a window around the POST.
        window = (_utc(intent - 120), _utc(h.sim.wall_now() + 60))
        found = await h.client.bulk_call_details(
            to=[CUSTOMER], date_created=window, sort_ascending=True
        )
        return [o.sid for o in found]

    assert await reconcile() == []  # still ringing: bulk never lists ongoing calls
    await trio.sleep_until(info.ended_at)
    assert await reconcile() == [info.sid]


async def test_a_lost_answer_that_created_nothing(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(faults={"connect_5xx": 1.0, "connect_5xx_created": 0.0})
    await raised(h.client.connect(spec("v1")))
    await trio.sleep(3600)
    assert await h.client.bulk_call_details(to=[CUSTOMER]) == []


def _utc(posix: float) -> datetime:
    return datetime.fromtimestamp(posix, UTC)


# ---- no credentials anywhere -----------------------------------------------------------------


async def test_no_credentials_in_any_error_text(
    make: Build, autojump_clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    h: Harness = await make(
        numbers={CUSTOMER: {"dnd": True}},
        faults={"plain_401": 0.5, "plain_429": 0.5},
    )
    errors: list[BaseException] = []

    async def collect(awaitable: object) -> None:
        try:
            await awaitable  # type: ignore[misc]
        except ExotelError as exc:
            errors.append(exc)

    async with ExotelClient(settings(token="TOKwrongWrong1"), transport=h.sim.transport()) as bad:
        await collect(bad.connect(spec("v1")))
        await collect(bad.call_details("x", api="v3"))
    await collect(h.client.connect(spec("v1")))  # 403 NDNC
    await collect(h.client.call_details("x", api="v1"))  # 404
    await collect(h.client.connect(spec("v3", recording_channels="stereo")))
    await collect(h.client.number_metadata("+14155552671"))  # 400
    await collect(h.client.exophone_details("nope"))  # 404, envelope
    h.sim.set_faults(bursts=[{"at": trio.current_time() - h.sim.start, "duration": 60}])
    await collect(h.client.call_details("x", api="v3"))  # 429 after retries
    h.sim.set_faults(bursts=[], connect_ambiguous=1.0)
    await collect(h.client.connect(spec("v3", second="+919822222222")))  # answer lost
    assert [type(e).__name__ for e in errors] == [
        "AuthError",
        "AuthError",
        "DndRefusedError",
        "NotFoundError",
        "BadRequestError",
        "BadRequestError",
        "NotFoundError",
        "RateLimitedError",
        "OutcomeUnknownError",
    ]
    for err in errors:
        assert_no_secrets(*error_texts(err))
    assert_no_secrets(caplog.text, *(r.getMessage() for r in caplog.records))


async def test_reconcile_window_is_sent_in_ist(h: Harness, autojump_clock: MockClock) -> None:
    start = _utc(h.sim.wall_now())
    await h.client.bulk_call_details(date_created=(start, start + timedelta(hours=1)))
    (url,) = h.tap.urls
    assert url.params["DateCreated"] == "gte:2025-01-06 10:00:00;lte:2025-01-06 11:00:00"
