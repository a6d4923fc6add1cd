"""The callback receiver under attack, over real loopback HTTP on the real clock.

One test per attack a reviewer measured on the receiver (issue 12): a non-ASCII token, a
log line forged with ``%0a``, hundreds of idle connections, a forged terminal callback
racing the genuine one, huge callbacks for unknown calls, and deep nesting (in a
callback body and in a connect answer). Loops are short and bounded; nothing here
asserts a duration.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import trio

from campaigner.asgi import connection_cap, raise_fd_limit
from campaigner.campaign.loader import load_campaign
from campaigner.clock import TrioWallClock
from campaigner.domain import CallObservation, CallSpec
from campaigner.engine import verify
from campaigner.engine.context import RunContext
from campaigner.engine.open_calls import CallRegistry, OpenCall
from campaigner.engine.receiver import CallbackReceiver, serve_receiver
from campaigner.engine.run import RunOptions, run_campaign
from campaigner.errors import OutcomeUnknownError
from campaigner.exotel import ExotelClient
from campaigner.logs import setup_logging
from campaigner.sandbox import Sandbox
from campaigner.settings import CampaignerSettings, ExotelSettings
from campaigner.simulator import Scenario
from campaigner.store.journal import Journal
from tests.engine.outofprocess import free_port

TOKEN = "run-token-0123456789abcdef"
PATIENCE = 10.0  # how long a test waits for what should happen at once


def terminal(sid: str, **fields: object) -> dict[str, object]:
    return {"CallSid": sid, "EventType": "terminal", "Status": "completed", **fields}


@dataclass
class Served:
    app: CallbackReceiver
    url: str
    seen: list[CallObservation]


@asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[Served]:
    seen: list[CallObservation] = []
    app = CallbackReceiver(TOKEN, seen.append, heartbeat_token="hb-secret", on_heartbeat=print)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve_receiver(
                app, "127.0.0.1:0", shutdown=stop, task_status=task_status, **options
            )
        )
        try:
            yield Served(app, str(url), seen)
        finally:
            stop.set()


@pytest.fixture
def operator_log() -> Iterator[io.StringIO]:
    """What the operator's terminal shows: the CLI's own logging set-up, into a buffer."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()
    setup_logging("text", logging.INFO, stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


async def test_a_non_ascii_token_is_a_403_without_a_traceback(operator_log: io.StringIO) -> None:
    async with serving() as served, httpx.AsyncClient(timeout=PATIENCE) as http:
        statuses = set()
        for i in range(100):
            path = "/exotel/%C3%A9/v1" if i % 2 else "/heartbeat/%C3%A9%F0%9F%98%80"
            answer = await http.post(served.url + path, json=terminal("x"))
            statuses.add(answer.status_code)
        good = await http.post(f"{served.url}/exotel/{TOKEN}/v1", json=terminal("real"))
    assert statuses == {403}
    assert good.status_code == 200
    assert served.app.stats.failed == 0
    assert served.app.stats.refused == 100
    text = operator_log.getvalue()
    assert "Traceback" not in text
    assert text.count("refused a callback with a wrong token") == 1  # once a minute, not 100


async def test_a_path_cannot_forge_a_log_line(operator_log: io.StringIO) -> None:
    forged = "%0a02:00:00%20ERROR%20%20%20FAKE:%20pay%20now%0d%0a"
    async with serving() as served, httpx.AsyncClient(timeout=PATIENCE) as http:
        for path in (f"/x{forged}/v1", f"/{TOKEN}{forged}", f"/{forged}/heartbeat"):
            answer = await http.post(served.url + path, json=terminal("x"))
            assert answer.status_code in (403, 404)
        # a malformed callback whose field name carries the newline
        answer = await http.post(
            f"{served.url}/exotel/{TOKEN}/v1",
            content=b"CallSid=a&Legs%5B0%0a02:00:00 ERROR FAKE%5D=x",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 400
    logging.getLogger("campaigner.anything").warning("quoted: %s", "a\n02:00:00 ERROR FAKE: b")
    lines = operator_log.getvalue().splitlines()
    assert lines, "the refusals were logged"
    assert not [line for line in lines if "FAKE" in line and not line[9:].startswith("WARNING")]
    assert all(not line.startswith("02:00:00 ERROR") for line in lines)
    assert "\\n02:00:00 ERROR FAKE" in operator_log.getvalue()  # shown, escaped


async def test_idle_connections_cannot_keep_callbacks_out() -> None:
    assert connection_cap(256, 128) == 32  # under `ulimit -n 128`, room is left for the run
    assert raise_fd_limit() >= 128
    async with serving(max_connections=8) as served:
        host, port = served.url.removeprefix("http://").rsplit(":", 1)
        idle = [await trio.open_tcp_stream(host, int(port)) for _ in range(60)]
        try:
            limits = httpx.Limits(max_keepalive_connections=0)
            async with httpx.AsyncClient(timeout=PATIENCE, limits=limits) as http:
                for i in range(20):
                    answer = await http.post(
                        f"{served.url}/exotel/{TOKEN}/v1", json=terminal(f"legit{i}")
                    )
                    assert answer.status_code == 200
        finally:
            for stream in idle:
                await stream.aclose()
        connections = served.app.stats.connections
    assert [o.sid for o in served.seen] == [f"legit{i}" for i in range(20)]
    assert connections.peak == 8
    assert connections.evicted >= 60 - 8  # the idle ones made room, oldest first
    assert connections.accept_failed == 0


SERVE_UNDER_128_FDS = """
import io, logging, resource, sys, trio
resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))  # `ulimit -n 128`: no raising it
from campaigner.engine.receiver import CallbackReceiver, serve_receiver
from campaigner.logs import setup_logging
setup_logging("text", logging.INFO, stream=sys.stderr)
app = CallbackReceiver(sys.argv[1], lambda obs: None)
async def main():
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(lambda task_status: serve_receiver(
            app, "127.0.0.1:0", shutdown=stop, task_status=task_status))
        print(url, flush=True)
        await trio.to_thread.run_sync(sys.stdin.readline)
        print(app.stats.accepted, app.stats.connections.accept_failed, flush=True)
        stop.set()
trio.run(main)
"""


def limited_receiver() -> subprocess.Popen[str]:
    """A receiver in a child process that may open 128 descriptors at most."""
    return subprocess.Popen(
        [sys.executable, "-c", SERVE_UNDER_128_FDS, TOKEN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_200_idle_connections_under_ulimit_128() -> None:
    # The reviewer's case: 200 idle connections to a receiver limited to 128 descriptors
    # gave 236 EMFILE tracebacks and callbacks 15-18 s late.
    with limited_receiver() as child:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stderr is not None
        try:
            url = (await trio.to_thread.run_sync(child.stdout.readline)).strip()
            host, port = url.removeprefix("http://").rsplit(":", 1)
            idle = [await trio.open_tcp_stream(host, int(port)) for _ in range(200)]
            try:
                limits = httpx.Limits(max_keepalive_connections=0)
                async with httpx.AsyncClient(timeout=PATIENCE, limits=limits) as http:
                    for i in range(20):
                        callback = terminal(f"s{i}")
                        answer = await http.post(f"{url}/exotel/{TOKEN}/v1", json=callback)
                        assert answer.status_code == 200
            finally:
                for stream in idle:
                    await stream.aclose()
            child.stdin.write("\n")
            child.stdin.flush()
            counts = (await trio.to_thread.run_sync(child.stdout.readline)).split()
            with trio.fail_after(PATIENCE):
                log = await trio.to_thread.run_sync(child.stderr.read)
        finally:
            child.kill()
    assert counts == ["20", "0"]  # every callback accepted; accept() never ran out of fds
    assert "Traceback" not in log
    assert len(log.splitlines()) <= 2  # "closed the oldest", once a minute


async def test_deeply_nested_callbacks_are_a_400_not_a_500() -> None:
    deep_json = b'{"CallSid": "a", "Status": "completed", "x": ' + b"[" * 980 + b"]" * 980 + b"}"
    deeper_json = b"[" * 60_000  # within the 64 KB body limit
    deep_form = b"CallSid=a&Status=completed&x" + b"%5Bk%5D" * 900 + b"=1"
    async with serving() as served, httpx.AsyncClient(timeout=PATIENCE) as http:
        url = f"{served.url}/exotel/{TOKEN}/v1"
        for body, kind in (
            (deep_json, "application/json"),
            (deeper_json, "application/json"),
            (deep_form, "application/x-www-form-urlencoded"),
        ):
            answer = await http.post(url, content=body, headers={"content-type": kind})
            assert answer.status_code == 400
        assert (await http.post(url, json=terminal("fine"))).status_code == 200
    assert served.app.stats.failed == 0
    assert served.app.stats.malformed == 3
    assert [o.sid for o in served.seen] == ["fine"]


@pytest.mark.parametrize("api", ["v1", "v3"])
@pytest.mark.parametrize(
    "body",
    [
        b'{"Call": {"Sid": "a", "Status": "in-progress", "X": ' + b"[" * 980 + b"]" * 980 + b"}}",
        b'{"response": {"call_details": {"sid": "a"}, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        b"<TwilioResponse>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</TwilioResponse>",
    ],
    ids=["json-980", "json-5000", "xml-5000"],
)
async def test_a_deeply_nested_connect_answer_is_outcome_unknown(api: str, body: bytes) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    settings = ExotelSettings(api_key="key-x", api_token="token-y", account_sid="acme1")
    spec = CallSpec(api=api, first_leg="+919876543210", second_leg="+918041234567", caller_id="1")  # type: ignore[arg-type]
    async with ExotelClient(settings, transport=transport) as client:
        with pytest.raises(OutcomeUnknownError, match="may or may not exist"):
            await client.connect(spec)


# -- against a whole run: the sandbox simulator, the receiver on loopback -----------------

CAMPAIGN = """\
name: attacked
api: {api}
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001"]}}
contacts: {{inline: ["+919876543210"]}}
call: {{custom_field: "order-42", recording: {{record: true}}}}
retry: {{max_attempts: 1}}
schedule: {{windows: [{{start: "00:00", end: "24:00"}}]}}
screening: {{dnd: call}}
callbacks: {{listen: "127.0.0.1:{port}", public_url: "http://127.0.0.1:{port}/exotel",
            events: [terminal]}}
tracking: {{poll_after: 10m}}
"""


@dataclass
class LiveRun:
    path: Path
    port: int
    sandbox: Sandbox
    ctx: list[RunContext]

    @property
    def url(self) -> str:
        token = Journal.read(load_campaign(self.path).journal_path).get_meta("callback_token")
        return f"http://127.0.0.1:{self.port}/exotel/{token}/v1"

    async def sid(self) -> str:
        with trio.fail_after(PATIENCE):
            for _ in range(int(PATIENCE / 0.02) + 1):
                if self.sandbox.simulator and self.sandbox.simulator.calls():
                    return self.sandbox.simulator.calls()[0].sid
                await trio.sleep(0.02)
        raise AssertionError("the run placed no call")


def live_run(tmp_path: Path, outcome: str, timing: dict[str, object], api: str = "v1") -> LiveRun:
    """A one-call campaign whose agent answers at once and whose contact ends ``outcome``."""
    port = free_port()
    path = tmp_path / "attacked.yaml"
    path.write_text(CAMPAIGN.format(api=api, port=port))
    numbers = {"+919876543210": {"outcome": outcome}}
    timing = {"queue": [0, 0], "ring": [0.5, 0.5], **timing}
    scenario = Scenario.model_validate({"seed": 1, "numbers": numbers, "timing": timing})
    return LiveRun(path, port, Sandbox(scenario, TrioWallClock()), [])


async def run(live: LiveRun) -> None:
    options = RunOptions(
        settings=live.sandbox.settings,
        campaigner=CampaignerSettings(),
        transport=live.sandbox.transport,
        extra_services=live.sandbox.start,
        handle_signals=False,
        record_wait=0.0,
        on_ready=live.ctx.append,
    )
    await run_campaign(load_campaign(live.path), options, report=lambda line: None)


def contact_row(live: LiveRun) -> dict[str, Any]:
    journal = Journal.read(load_campaign(live.path).journal_path)
    return dict(journal.conn.execute("SELECT * FROM calls").fetchone())


async def test_a_forged_terminal_callback_decides_nothing(tmp_path: Path) -> None:
    # The contact's line is busy after 3 s; the forger, holding the URL and having seen the
    # SID, claims an hour-long connected call with a recording of their own first.
    live = live_run(tmp_path, "busy", {"busy_after": [3, 3]})
    forgeries = [
        terminal("", ConversationDuration=3599, RecordingUrl="http://evil.example/phish.mp3"),
        terminal("", CustomField="order-41", ConversationDuration=30),
        terminal("", From="09000000001", To="09876543210", ConversationDuration=30),
    ]
    answers = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run, live)
        sid = await live.sid()
        async with httpx.AsyncClient(timeout=PATIENCE) as http:
            for forged in forgeries:
                forged["CallSid"] = sid
                answers.append((await http.post(live.url, json=forged)).status_code)
    assert answers == [200, 200, 200]  # acknowledged, as Exotel would be, but not believed
    row = contact_row(live)
    assert row["outcome"] == "busy"
    assert row["talk_time"] in (None, 0)
    assert row["recording_url"] is None
    journal = Journal.read(load_campaign(live.path).journal_path)
    effects = dict(
        journal.conn.execute("SELECT effect, count(*) FROM events GROUP BY effect").fetchall()
    )
    assert effects.get("held") == 1  # nothing to check it against, and an hour of talk
    assert effects.get("refused") == 2  # a wrong CustomField; a From that is not the call's
    assert effects.get("applied") == 1  # the genuine callback, after them
    payloads = "".join(r[0] for r in journal.conn.execute("SELECT payload FROM events"))
    assert "evil.example" not in payloads  # refused and held payloads are kept as digests


async def test_a_recording_off_exotel_hosts_is_dropped_but_the_outcome_stands(
    tmp_path: Path,
) -> None:
    registry = CallRegistry()
    registry.add(
        OpenCall(7, 1, "+919876543210", 1, "+919900000001", "+912241499102", "+919900000001",
                 "placed", 1_000.0, 0.0, sid="s1")
    )  # fmt: skip
    journal = Journal.open(tmp_path / "j.sqlite")
    ctx: Any = SimpleNamespace(registry=registry, journal=journal, now=lambda: 2_000.0)
    guard = verify.CallbackGuard(ctx, lambda obs: None, lambda kind, message: None)

    def callback(url: str, talk: int = 30) -> CallObservation:
        return CallObservation(
            sid="s1", api="v1", source="callback", event="terminal", terminal=True,
            status="completed", talk_time=talk, from_number="09900000001",
            to_number="09876543210", recording_url=url,
        )  # fmt: skip

    try:
        evil = guard.admit(callback("http://evil.example/phish.mp3"))
        exotel = "https://s3-ap-south-1.amazonaws.com/exotel-mum1-recordings/Exotel/a.mp3"
        real = guard.admit(callback(exotel))
        held = guard.admit(callback(exotel, talk=3_599))  # more talk than time since placing
    finally:
        journal.close()
    assert evil is not None
    assert (evil.status, evil.talk_time, evil.recording_url) == ("completed", 30, None)
    assert real is not None
    assert real.recording_url == exotel
    assert held is None
    assert (guard.recordings_dropped, guard.held) == (1, 1)


async def test_huge_callbacks_for_unknown_calls_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify, "UNMATCHED_KEEP", 50)
    # the one call rings for a minute: the flood lands while the run is live, then it stops
    live = live_run(tmp_path, "no_answer", {"no_answer_ring": [60, 60]})
    padding = "x" * 60_000
    answers: set[int] = set()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run, live)
        await live.sid()
        async with httpx.AsyncClient(timeout=PATIENCE) as http:
            for i in range(120):
                body = terminal(f"unknown{i:04d}", CustomField=padding[:100], Pad=padding)
                answers.add((await http.post(live.url, json=body)).status_code)
        nursery.cancel_scope.cancel()  # as a kill would: everything acknowledged is journaled
    assert answers == {200}
    journal = Journal.read(load_campaign(live.path).journal_path)
    kept, size = journal.conn.execute(
        "SELECT count(*), sum(length(payload)) FROM events WHERE effect = 'unmatched'"
    ).fetchone()
    assert kept == 50  # then counted and dropped, neither kept in memory nor journaled
    assert size < 50 * 1_000  # digests, not 60 KB bodies


async def test_an_old_token_speaks_only_for_the_open_calls_placed_under_it() -> None:
    tokens = verify.CallbackTokens("new-token", (("old-token", 100.0, 200.0),))

    def call(sid: str, intent_at: float) -> OpenCall:
        return OpenCall(1, 1, "+919876543210", 1, "+919876543210", "1", None, "placed",
                        intent_at, 0.0, sid=sid)  # fmt: skip

    calls = {"before": call("before", 150.0), "after": call("after", 250.0)}
    seen: list[CallObservation] = []
    app = CallbackReceiver(
        tokens.current,
        seen.append,
        previous_tokens=tokens.tokens(),
        previous_allows=lambda token, sid: tokens.allows(token, calls.get(sid)),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r") as http:
        old = [
            (await http.post("/exotel/old-token/v1", json=terminal(sid))).status_code
            for sid in ("before", "after", "unknown")
        ]
        new = (await http.post("/exotel/new-token/v1", json=terminal("after"))).status_code
    assert old == [200, 403, 403]
    assert new == 200
    assert [o.sid for o in seen] == ["before", "after"]


def test_each_run_has_its_own_token(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.sqlite")
    try:
        journal.set_meta("callback_token", "legacy")
        first = verify.CallbackTokens.rotate(journal, 100.0)
        assert first.current != "legacy"
        assert first.previous == ()  # no open call was placed under "legacy"
        second = verify.CallbackTokens.rotate(journal, 200.0)
        assert second.current not in ("legacy", first.current)
        assert verify.CallbackTokens.load(journal) == second
        assert journal.get_meta("callback_token") == second.current
    finally:
        journal.close()


PLACED = 1_000.0  # wall epoch the claimed call was placed at; "now" is 300 s later
CLAIMED = verify.Claimed(
    1, ("+919900000001", "+919876543210", "+912241499102"), "order-42", PLACED, 600
)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(PLACED + seconds, UTC)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "accept"),
        ({"from_number": "09900000001", "to_number": "09876543210"}, "accept"),
        ({"custom_field": "order-41"}, "refuse"),
        ({"from_number": "09000000001"}, "refuse"),
        ({"to_number": "+14155550100"}, "refuse"),
        ({"caller_id": "08000000000"}, "refuse"),
        ({"started_at": at(-3_600)}, "refuse"),  # before it was placed
        ({"ended_at": at(3_600)}, "refuse"),  # after now
        ({"started_at": at(100), "ended_at": at(50)}, "refuse"),
        ({"custom_field": None}, "confirm"),  # terminal callbacks carry the CustomField
        ({"talk_time": 3_599}, "confirm"),  # more than the 300 s since it was placed
        ({"started_at": at(10), "ended_at": at(40), "talk_time": 200}, "confirm"),
        ({"from_number": "sip:agent@example.com", "custom_field": "order-42"}, "accept"),
    ],
)
def test_a_callback_is_judged_against_its_call(fields: dict[str, Any], expected: str) -> None:
    base: dict[str, Any] = {"custom_field": "order-42", "talk_time": 60}
    obs = CallObservation(
        sid="s", api="v1", source="callback", event="terminal", terminal=True,
        status="completed", **{**base, **fields},
    )  # fmt: skip
    assert verify.judge(obs, CLAIMED, now=PLACED + 300)[0] == expected


def test_an_answered_callback_is_never_held() -> None:
    obs = CallObservation(sid="s", api="v1", source="callback", event="answered",
                          terminal=False, status="in-progress")  # fmt: skip
    assert verify.judge(obs, CLAIMED, now=PLACED + 1) == ("accept", "")
