"""The callback receiver under hostile input, over real loopback against hypercorn.

Slow clients (heads and bodies dribbled), oversized and malformed requests, forged
tokens and a flood of them: each gets its refusal (or its connection closed), and
legitimate callbacks keep being answered and applied meanwhile. Real clock; the
receiver's idle and body timeouts are shortened so the slow-client cases take about a
second. The same input through the ASGI app in-process, fuzzed: the app answers every
request with a status, never an exception.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from campaigner.domain import CallObservation
from campaigner.engine.receiver import (
    BODY_DEADLINE,
    IDLE_TIMEOUT,
    MAX_BODY,
    CallbackReceiver,
    serve_receiver,
)
from tests.fuzz.strategies import fuzz

TOKEN = "hostile-test-token-0123456789"
SHORT = 0.5  # the receiver's idle and body timeouts in these tests (5 s and 10 s in runs)
PATIENCE = 3.0  # how long a test waits for what should happen within SHORT


def client(keepalive: float = SHORT / 5, timeout: float = PATIENCE) -> httpx.AsyncClient:
    """A client that never reuses a connection the receiver may be closing as idle."""
    return httpx.AsyncClient(
        timeout=timeout, limits=httpx.Limits(max_connections=40, keepalive_expiry=keepalive)
    )


def terminal(sid: str) -> dict[str, object]:
    return {"CallSid": sid, "EventType": "terminal", "Status": "completed"}


@dataclass
class Served:
    app: CallbackReceiver
    host: str
    port: int
    seen: list[CallObservation]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def raw(self) -> trio.SocketStream:
        return await trio.open_tcp_stream(self.host, self.port)

    async def legit(self, http: httpx.AsyncClient, sid: str) -> int:
        answer = await http.post(f"{self.url}/cb/{TOKEN}/v1", json=terminal(sid))
        return answer.status_code


@asynccontextmanager
async def serving(nursery: trio.Nursery, idle: float, body: float) -> AsyncIterator[Served]:
    seen: list[CallObservation] = []
    app = CallbackReceiver(TOKEN, seen.append, body_deadline=body)
    stop = trio.Event()
    url = await nursery.start(
        lambda task_status: serve_receiver(
            app, "127.0.0.1:0", shutdown=stop, idle_timeout=idle, task_status=task_status
        )
    )
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    yield Served(app, parts.hostname, parts.port, seen)
    stop.set()


@pytest.fixture
async def served(nursery: trio.Nursery) -> AsyncIterator[Served]:
    """A receiver whose timeouts are SHORT, for the slow-client tests."""
    async with serving(nursery, idle=SHORT, body=SHORT) as served:
        yield served


@pytest.fixture
async def served_as_in_a_run(nursery: trio.Nursery) -> AsyncIterator[Served]:
    """A receiver with a run's timeouts. A SHORT idle timeout races keep-alive reuse when
    the machine is loaded: the server closes a connection the client has just sent on."""
    async with serving(nursery, idle=IDLE_TIMEOUT, body=BODY_DEADLINE) as served:
        yield served


async def closed_by_server(stream: trio.SocketStream) -> bytes:
    """Everything the server sent until it closed the connection (then closed here too)."""
    received = b""
    try:
        with trio.fail_after(PATIENCE):
            while chunk := await _receive(stream):
                received += chunk
    finally:
        await stream.aclose()
    return received


async def _receive(stream: trio.SocketStream) -> bytes:
    try:
        return await stream.receive_some()
    except trio.BrokenResourceError:
        return b""


async def dribble(stream: trio.SocketStream, data: bytes, every: float) -> None:
    """Send ``data`` a byte at a time until the server hangs up."""
    try:
        for byte in data:
            await stream.send_all(bytes([byte]))
            await trio.sleep(every)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


HEAD = f"POST /cb/{TOKEN}/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


async def test_slowloris_heads_are_cut_off_while_callbacks_are_answered(served: Served) -> None:
    slow = [await served.raw() for _ in range(100)]
    answers: list[int] = []
    async with trio.open_nursery() as nursery:
        for stream in slow:  # a head that never ends: X-Pad: aaaa... a byte every 0.1 s
            nursery.start_soon(dribble, stream, (HEAD + "X-Pad: " + "a" * 100).encode(), 0.1)
        async with client() as http:
            for i in range(20):
                answers.append(await served.legit(http, f"legit{i}"))
                await trio.sleep(0.05)
        with trio.fail_after(PATIENCE):  # every slow connection was closed by the server
            for stream in slow:
                assert await closed_by_server(stream) == b""
    assert answers == [200] * 20
    assert [o.sid for o in served.seen] == [f"legit{i}" for i in range(20)]


async def test_a_body_that_never_finishes_gets_408(served: Served) -> None:
    stream = await served.raw()
    await stream.send_all((HEAD + "Content-Length: 500\r\n\r\n").encode())
    async with trio.open_nursery() as nursery:
        nursery.start_soon(dribble, stream, b"{" * 500, 0.1)
        answer = await closed_by_server(stream)
        nursery.cancel_scope.cancel()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert answer.endswith(b"\r\n\r\nrequest timeout")
    assert served.app.stats.timed_out == 1
    async with client() as http:
        assert await served.legit(http, "after") == 200


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        # chunked, no length: refused once past the limit
        (
            (HEAD + "Transfer-Encoding: chunked\r\n\r\n").encode()
            + b"".join(b"4000\r\n" + b"x" * 0x4000 + b"\r\n" for _ in range(6))
            + b"0\r\n\r\n",
            b"413",
        ),
        (
            (HEAD + f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode() + b"x" * (MAX_BODY + 1),
            b"413",
        ),
        ((HEAD + "X-Big: " + "a" * 20_000 + "\r\n\r\n").encode(), b"400"),  # head over 16 KiB
        (b"POST /cb/\xff\xfe/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", b"400"),
        ((HEAD + "Content-Length: zz\r\n\r\n{}").encode(), b"400"),
        ((HEAD + "Transfer-Encoding: chunked\r\n\r\nzz\r\n").encode(), b"400"),
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", b"404"),  # h11 reads it as 1.1; no route
        (f"PUT /cb/{TOKEN}/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode(), b"404"),
        (f"GET /cb/{TOKEN}/v1 HTTP/1.1\r\nHost: x\r\n\r\n".encode(), b"400"),  # v1 has a body
    ],
    ids=[
        "chunked-oversize",
        "oversize",
        "huge-head",
        "bad-utf8-path",
        "bad-length",
        "bad-chunk",
        "garbage",
        "http-9.9",
        "put",
        "get-without-query",
    ],
)
async def test_malformed_requests_are_refused(
    served: Served, request_bytes: bytes, status: bytes
) -> None:
    stream = await served.raw()
    await stream.send_all(request_bytes)
    answer = await closed_by_server(stream)
    assert answer.split(b" ")[1] == status
    assert served.seen == []
    async with client() as http:
        assert await served.legit(http, "after") == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"CallSid=abc&Status=%E0%A4%A", "application/x-www-form-urlencoded"),  # cut escape
        (b"CallSid=\xff&Status=busy", "application/x-www-form-urlencoded"),
        (b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--", "multipart/form-data"),
        (b"\xef\xbb\xbf" + json.dumps(terminal("bom")).encode(), "application/json"),
        (json.dumps(terminal("x")).encode("utf-16"), "application/json"),
        (b'{"CallSid": ["a"], "Status": "busy"}', "application/json"),
        (b'{"CallSid": "a", "Status": "busy", "Legs": [{"Status": {}}]}', "application/json"),
        (b"<Call><Sid>x</Sid></Call>", "text/xml"),
    ],
)
async def test_malformed_encodings_get_400(served: Served, body: bytes, content_type: str) -> None:
    async with client() as http:
        answer = await http.post(
            f"{served.url}/cb/{TOKEN}/v1", content=body, headers={"content-type": content_type}
        )
        assert (answer.status_code, answer.text) == (400, "malformed")
        assert await served.legit(http, "after") == 200
    assert [o.sid for o in served.seen] == ["after"]


async def test_a_flood_of_forged_callbacks_changes_nothing_and_logs_one_line(
    served_as_in_a_run: Served, caplog: pytest.LogCaptureFixture
) -> None:
    served = served_as_in_a_run
    forged_paths = [
        "/cb/wrong-token/v1",
        f"/cb/{TOKEN[:-1]}/v1",
        f"/cb/{TOKEN}x/v1",
        f"/cb/{TOKEN}/v2",
        "/cb/heartbeat/guess",
        f"/{TOKEN}",
    ]
    statuses: dict[int, int] = {}
    legit: list[int] = []

    async def flood(http: httpx.AsyncClient, worker: int) -> None:
        for i in range(75):
            path = forged_paths[(worker + i) % len(forged_paths)]
            answer = await http.post(f"{served.url}{path}", json=terminal(f"forged{worker}-{i}"))
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    with caplog.at_level(logging.WARNING, logger="campaigner.receiver"):
        async with client(IDLE_TIMEOUT / 5, timeout=30) as http, trio.open_nursery() as nursery:
            for worker in range(20):
                nursery.start_soon(flood, http, worker)
            for i in range(30):
                legit.append(await served.legit(http, f"legit{i}"))
    assert sum(statuses.values()) == 1500
    assert set(statuses) <= {403, 404}
    assert legit == [200] * 30
    assert [o.sid for o in served.seen] == [f"legit{i}" for i in range(30)]
    refusals = [r.getMessage() for r in caplog.records if "wrong token" in r.getMessage()]
    assert len(refusals) == 1, refusals  # the first; the rest are counted, not logged
    assert refusals[0].startswith("refused a callback with a wrong token on ")
    assert served.app.stats.refused >= 1000


methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"])
paths = st.sampled_from(
    [f"/cb/{TOKEN}/v1", f"/cb/{TOKEN}/v3", f"/{TOKEN}/v1", "/heartbeat/x", "/", "/a//b", "/a/b/c"]
) | st.text(alphabet="/abcv13%.", max_size=30).map(lambda p: "/" + p.lstrip("/"))
content_types = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=B",
     "text/plain", "", "application/json; charset=latin-1"]
)  # fmt: skip


@fuzz()
@given(
    method=methods,
    path=paths,
    query=st.text(max_size=40),
    body=st.binary(max_size=300) | st.just(json.dumps(terminal("sid")).encode()),
    content_type=content_types,
)
async def test_every_request_gets_a_status(
    method: str, path: str, query: str, body: bytes, content_type: str
) -> None:
    seen: list[CallObservation] = []
    app = CallbackReceiver(TOKEN, seen.append, heartbeat_token="hb" * 8, on_heartbeat=print)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
        answer = await http.request(
            method,
            path,
            params={"q": query} if query else None,
            content=body if method not in ("GET", "HEAD") else None,
            headers={"content-type": content_type},
        )
    assert answer.status_code in (200, 400, 403, 404, 413)
    assert (answer.status_code == 200) == bool(seen) or "heartbeat" in path


async def test_refusals_are_warned_about_once_a_minute_with_a_count(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = CallbackReceiver(TOKEN, print)
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.WARNING, logger="campaigner.receiver"):
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
            for _ in range(5):
                await http.post("/cb/forged/v1", json=terminal("x"))
            await trio.sleep(59)
            await http.post("/cb/forged/v1", json=terminal("x"))
            await trio.sleep(1)
            await http.post("/cb/forged/v3", json=terminal("x"))
    assert [r.getMessage() for r in caplog.records] == [
        "refused a callback with a wrong token on v1",
        "refused a callback with a wrong token on v3"
        " (and 5 more like it since the last such warning)",
    ]
    assert app.stats.refused == 7
