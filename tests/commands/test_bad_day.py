"""The operator's bad day: every failure ends in one line and its documented exit code.

Exotel unreachable, a wrong token, the callback port in use, a deadline in the past,
bad option values, a script without a terminal: each is refused before anything is
dialed or journaled. An outage in the middle of a run backs off without spending
attempts and stops the run (resumable) once it lasts too long. Contacts that ended
``expired`` come back with ``campaigner reopen``, not by deleting the journal.
"""

from __future__ import annotations

import http.server
import io
import json
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio
import trio.testing

from campaigner.cli import main
from campaigner.errors import EXIT_API, EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from campaigner.simulator import Scenario
from campaigner.store.journal import Journal
from tests.engine.harness import SimHost, sim_host, write_campaign

CAMPAIGN = """
name: bad-day
api: {api}
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001"]}}
contacts: {{inline: ["+919876543001", "+919876543002"]}}
schedule: {{deadline: {deadline}}}
callbacks: {{listen: "127.0.0.1:{port}", public_url: "https://hooks.example.com/exotel"}}
screening: {{dnd: {dnd}}}
"""
FUTURE = "2099-12-31T20:00:00+05:30"
PAST = "2020-01-31T20:00:00+05:30"
KEY, TOKEN = "key-4f1c9d2b7e", "token-9a8b7c6d5e4f"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def campaign(
    tmp_path: Path,
    *,
    api: str = "v1",
    deadline: str = FUTURE,
    port: int | None = None,
    dnd: str = "skip",
) -> Path:
    text = CAMPAIGN.format(api=api, deadline=deadline, port=port or free_port(), dnd=dnd)
    path = tmp_path / "bad-day.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("EXOTEL_API_KEY", KEY)
    monkeypatch.setenv("EXOTEL_API_TOKEN", TOKEN)
    monkeypatch.setenv("EXOTEL_ACCOUNT_SID", "acme1")
    return monkeypatch


class _Refuses401(http.server.BaseHTTPRequestHandler):
    """Exotel's answer to a wrong token, on every path."""

    def do_GET(self) -> None:
        body = json.dumps(
            {"RestException": {"Status": 401, "Code": 1010, "Message": "Authentication failed"}}
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def refusing_exotel() -> Iterator[str]:
    """A real HTTP server on loopback that answers 401 to everything."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuses401)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def one_error_line(err: str) -> str:
    """The command's error output, which must be exactly one line (and no traceback)."""
    lines = [line for line in err.splitlines() if line.startswith("campaigner: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert TOKEN not in err
    assert KEY not in err
    return lines[0]


def test_unreachable_exotel_stops_before_dialing(
    tmp_path: Path, account: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    account.setenv("EXOTEL_BASE_URL", "http://127.0.0.1:9")
    path = campaign(tmp_path)
    assert main(["run", str(path), "--yes", "-q"]) == EXIT_API
    err = capsys.readouterr().err
    line = one_error_line(err)
    assert err == line + "\n"  # nothing else: not the client's warning too
    assert "cannot reach Exotel at http://127.0.0.1:9" in line
    assert line.endswith("nothing was dialed")
    assert not (tmp_path / ".campaigner" / "bad-day.sqlite3").exists()


@pytest.mark.parametrize("api", ["v1", "v3"])
def test_wrong_token_run(
    api: str,
    tmp_path: Path,
    account: pytest.MonkeyPatch,
    refusing_exotel: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    account.setenv("EXOTEL_BASE_URL", refusing_exotel)
    account.setenv("EXOTEL_CCM_BASE_URL", refusing_exotel)
    assert main(["run", str(campaign(tmp_path, api=api)), "--yes", "-q"]) == EXIT_API
    line = one_error_line(capsys.readouterr().err)
    assert "Exotel refused the credentials" in line
    assert "EXOTEL_API_TOKEN" in line


@pytest.mark.parametrize("command", ["health", "screen"])
def test_wrong_token_health_and_screen(
    command: str,
    tmp_path: Path,
    account: pytest.MonkeyPatch,
    refusing_exotel: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    account.setenv("EXOTEL_BASE_URL", refusing_exotel)
    assert main([command, str(campaign(tmp_path))]) == EXIT_API
    line = one_error_line(capsys.readouterr().err)
    assert "Exotel refused the credentials" in line


def test_callback_port_in_use(
    tmp_path: Path, account: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        path = campaign(tmp_path, port=port)
        assert main(["run", str(path), "--yes", "-q"]) == EXIT_CONFIG
    line = one_error_line(capsys.readouterr().err)
    assert f"callbacks.listen 127.0.0.1:{port}: cannot listen: the port is in use" in line


def test_past_deadline_is_an_error_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = campaign(tmp_path, deadline=PAST, dnd="call")
    assert main(["run", str(path), "--sandbox", "-q", "--no-report"]) == EXIT_FAILURE
    err = capsys.readouterr().err
    problems = [line for line in err.splitlines() if "has passed: a run would end" in line]
    assert len(problems) == 1, err
    assert problems[0].startswith(f"{path}:7:")
    assert "warning" not in err  # the loader's warning is not said again
    assert "--allow-past-deadline" in problems[0]
    assert not (tmp_path / ".campaigner" / "bad-day.sqlite3").exists()

    args = ["run", str(path), "--sandbox", "-q", "--no-report", "--allow-past-deadline"]
    assert main(args) == EXIT_OK
    assert "stopped at the deadline (expired 2)" in capsys.readouterr().err


def test_reopen_after_the_deadline_is_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = campaign(tmp_path, deadline=PAST, dnd="call")
    sandbox = ["run", str(path), "--sandbox", "-q", "--no-report"]
    assert main([*sandbox, "--allow-past-deadline"]) == EXIT_OK
    path.write_text(path.read_text().replace(PAST, FUTURE))
    capsys.readouterr()

    assert main(["reopen", str(path), "--reason", "deadline fixed"]) == EXIT_OK
    assert "reopened 2 contacts (expired 2)" in capsys.readouterr().out
    assert main(sandbox) == EXIT_OK
    assert "expired" not in capsys.readouterr().err.split("done:")[1].split("\n")[0]
    with Journal.read(tmp_path / ".campaigner" / "bad-day.sqlite3") as journal:
        assert "expired" not in journal.counts()
        events = journal.conn.execute(
            "SELECT message FROM run_log WHERE kind = 'reopened'"
        ).fetchall()
    assert [e[0] for e in events] == ["2 contacts reopened (expired 2): deadline fixed"]
    assert main(["status", str(path)]) == EXIT_OK
    assert ": 2 contacts reopened (expired 2): deadline fixed" in capsys.readouterr().out

    # nothing left that ended expired; unknown would risk a second call
    assert main(["reopen", str(path), "--reason", "again"]) == EXIT_OK
    assert "nothing to reopen: 0 contacts" in capsys.readouterr().out
    assert main(["reopen", str(path), "--outcome", "unknown", "--reason", "x"]) == EXIT_USAGE
    assert "pass --force" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "{file}", "--sandbox", "--time-scale", "0"], "--time-scale 0: must be > 0"),
        (["run", "{file}", "--sandbox", "--time-scale", "-3"], "--time-scale -3: must be > 0"),
        (["run", "{file}", "--sandbox", "--time-scale", "fast"], "a number > 0, or 'max'"),
        (["plan", "{file}", "--show", "-1"], "--show -1: must be >= 0"),
    ],
)
def test_bad_option_values(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = campaign(tmp_path)
    assert main([a.format(file=path) for a in args]) == EXIT_USAGE
    assert message in one_error_line(capsys.readouterr().err)


@pytest.fixture
def reachable(account: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An account whose Exotel passes the preflight (nothing is dialed in these tests)."""
    import campaigner.commands.run as run_command

    async def answers(*args: object, **kwargs: object) -> None:
        return None

    account.setattr(run_command, "check_exotel", answers)
    return account


def test_a_real_run_without_a_terminal_needs_yes(
    tmp_path: Path, reachable: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reachable.setattr("sys.stdin", io.StringIO("y\n"))  # not a terminal, whatever it says
    assert main(["run", str(campaign(tmp_path)), "-q"]) == EXIT_USAGE
    assert "pass --yes" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / ".campaigner" / "bad-day.sqlite3").exists()


def test_resume_hint_is_the_command_as_typed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "my campaigns"
    folder.mkdir()
    path = campaign(folder, dnd="call")
    args = ["run", str(path), "--sandbox", "-q", "--no-report", "--grace", "5"]
    from campaigner.cli import build_parser
    from campaigner.commands.run import resume_hint

    parsed = build_parser().parse_args(args)
    parsed._argv = ["campaigner", *args]
    hint = resume_hint(parsed)
    assert hint == f"campaigner run '{path}' --sandbox -q --no-report --grace 5"


def test_json_log_format_is_json_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = campaign(tmp_path, dnd="call")
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich takes stderr for a terminal: still JSON
    assert main(["run", str(path), "--sandbox", "--log-format", "json"]) == EXIT_OK
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.err.splitlines()]  # each line is JSON
    messages = [r["message"] for r in records]
    assert any(m.startswith("sandbox: simulated Exotel") for m in messages)
    done = next(r for r in records if r["message"].startswith("done:"))
    assert done["reason"] == "complete"
    assert done["exit_code"] == 0
    assert any(r.get("report") for r in records)
    assert any(r.get("journal") for r in records)
    assert any("contacts final" in m for m in messages)  # progress, as records


def test_reports_are_ignored_by_git(tmp_path: Path) -> None:
    path = campaign(tmp_path, dnd="call")
    assert main(["run", str(path), "--sandbox", "-q"]) == EXIT_OK
    assert (tmp_path / "reports" / "bad-day.html").exists()
    ignore = tmp_path / "reports" / ".gitignore"
    assert ignore.read_text().splitlines()[-1] == "*"
    ignore.unlink()
    assert main(["report", str(path)]) == EXIT_OK  # the report command too
    assert ignore.exists()
    elsewhere = tmp_path / "out" / "r.html"
    assert main(["report", str(path), "-o", str(elsewhere)]) == EXIT_OK
    assert elsewhere.exists()
    assert not (elsewhere.parent / ".gitignore").exists()  # asked for: left alone


# -- an outage in the middle of a run (engine, virtual time) -----------------------------

OUTAGE = """
name: outage
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001"]}}
contacts: {{inline: {contacts}}}
schedule: {{windows: [{{start: "00:00", end: "24:00"}}]}}
screening: {{dnd: {dnd}}}
tracking: {{poll_after: 1m, poll_interval: 1m}}
"""


class Unplugged(httpx.AsyncBaseTransport):
    """The simulator behind a cable that can be pulled: connects refused while ``down``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False
        self.refused: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.refused.append(trio.current_time())
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def outage_run(
    tmp_path: Path, host: SimHost, *, dnd: str, down_for: float | None, down_at: float = 0.0
) -> tuple[object, Unplugged]:
    """A run whose Exotel goes away ``down_at`` seconds in, for ``down_for`` (None: ever)."""
    contacts = [f"+9198765{i:05d}" for i in range(1, 31)]
    path = write_campaign(tmp_path, OUTAGE.format(contacts=contacts, dnd=dnd))
    cable = Unplugged(host.sim.transport())
    host.sim.transport = lambda: cable  # type: ignore[method-assign]
    cable.down = down_at == 0.0

    async def reconnect() -> None:
        await trio.sleep(down_at)
        cable.down = True
        host.switchboard.target = None  # callbacks cannot reach the run either
        if down_for is not None:
            await trio.sleep(down_for)
            cable.down = False

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reconnect)
        result = await host.run(path, unreachable_timeout=300.0, record_wait=0.0)
        nursery.cancel_scope.cancel()
    return result, cable


@pytest.mark.parametrize("dnd", ["call", "skip"])
async def test_a_long_outage_backs_off_then_stops_resumably(
    dnd: str, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, Scenario())
        started = trio.current_time()
        result, cable = await outage_run(tmp_path, host, dnd=dnd, down_for=None)
        nursery.cancel_scope.cancel()
    assert result is not None
    assert result.exit_code == EXIT_API  # type: ignore[attr-defined]
    assert result.reason == "unreachable"  # type: ignore[attr-defined]
    assert "Exotel unreachable for 5 minutes" in result.messages[0]  # type: ignore[attr-defined]
    assert 300 <= trio.current_time() - started < 420
    connects = len(host.sim.calls())
    assert connects == 0
    with Journal.read(tmp_path / ".campaigner" / "outage.sqlite3") as journal:
        not_placed = journal.conn.execute(
            "SELECT count(*) FROM calls WHERE state = 'not_placed'"
        ).fetchone()[0]
        spent = journal.conn.execute("SELECT sum(attempts) FROM contacts").fetchone()[0]
        assert journal.counts() == {"ready": 30}  # nothing lost, nothing ended
    assert spent == 0
    # backing off: 1, 2, 4 ... 60 s between probes, not a dial per contact
    assert not_placed <= 12
    said = [r for r in journal_kinds(tmp_path) if r.startswith("unreachable")]
    assert said == ["unreachable", "unreachable_stop"]  # once, not per contact


def journal_kinds(tmp_path: Path) -> list[str]:
    with Journal.read(tmp_path / ".campaigner" / "outage.sqlite3") as journal:
        return [r[0] for r in journal.conn.execute("SELECT kind FROM run_log ORDER BY id")]


async def test_a_short_outage_costs_no_attempt(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, Scenario())
        result, cable = await outage_run(tmp_path, host, dnd="call", down_for=40.0)
        nursery.cancel_scope.cancel()
    assert result is not None
    assert result.exit_code == EXIT_OK  # type: ignore[attr-defined]
    assert cable.refused
    with Journal.read(tmp_path / ".campaigner" / "outage.sqlite3") as journal:
        spent = journal.conn.execute("SELECT sum(attempts) FROM contacts").fetchone()[0]
        placed, refused = journal.conn.execute(
            "SELECT sum(state != 'not_placed'), sum(state = 'not_placed') FROM calls"
        ).fetchone()
        assert "ready" not in journal.counts()
    assert refused > 0
    assert spent <= placed  # the connects that could not leave spent no attempt
    assert "reachable" in journal_kinds(tmp_path)


def test_plan_diffs_against_the_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = campaign(tmp_path, dnd="call")
    assert main(["plan", str(path)]) == EXIT_OK
    assert "journal" not in capsys.readouterr().out  # never run: no state to diff

    assert main(["run", str(path), "--sandbox", "-q", "--no-report"]) == EXIT_OK
    capsys.readouterr()
    assert main(["plan", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "contacts      0 to call" in out
    assert "done          2 contacts final: " in out
    assert "left          nothing left to call" in out
    assert "file changes  none since the last run" in out

    edited = (
        path.read_text().replace('"+919876543002"]', '"+919876543003"]')
        + "pacing: {requests_per_minute: 100}\n"
    )
    path.write_text(edited)
    assert main(["plan", str(path), "--format", "json"]) == EXIT_OK
    state = json.loads(capsys.readouterr().out)["state"]
    assert (state["left"], state["new"], state["removed"]) == (1, 1, 0)
    assert sum(state["done"].values()) == 1  # +919876543002 left the file: not counted
    assert state["changed"] == ["pacing"]


@pytest.mark.parametrize("api", ["v1", "v3"])
async def test_preflight_passes_against_a_healthy_exotel(
    api: str, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    from datetime import UTC, datetime

    from campaigner.campaign.loader import load_campaign
    from campaigner.engine.preflight import check_exotel
    from campaigner.settings import ExotelSettings
    from campaigner.simulator import Simulator

    scenario = Scenario()
    account = scenario.account
    settings = ExotelSettings(
        api_key=account.api_key,
        api_token=account.api_token,
        account_sid=account.sid,
        base_url="http://sim.invalid",
        ccm_base_url="http://sim.invalid",
    )
    sim = Simulator(scenario)
    loaded = load_campaign(campaign(tmp_path, api=api))
    await check_exotel(loaded, settings, datetime.now(UTC), transport=sim.transport())
    kinds = [r.kind for r in sim.requests]
    assert len(kinds) == (2 if api == "v3" else 1)  # one cheap GET per API host


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_real_run_in_json_mode_does_not_prompt(
    tmp_path: Path, reachable: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reachable.setattr("sys.stdin", _Terminal("y\n"))
    args = ["run", str(campaign(tmp_path)), "-q", "--log-format", "json"]
    assert main(args) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "About to dial" not in err
    assert "--log-format json does not ask: pass --yes" in one_error_line(err)


@pytest.mark.parametrize("answer", ["n\n", "\n", ""])
def test_a_real_run_at_a_terminal_asks_first(
    answer: str,
    tmp_path: Path,
    reachable: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reachable.setattr("sys.stdin", _Terminal(answer))
    assert main(["run", str(campaign(tmp_path)), "-q"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "About to dial for real: campaign bad-day (v1, agent_first) on account acme1" in err
    assert "2 contacts to call" in err
    assert "not confirmed: nothing was dialed" in one_error_line(err)
    assert not (tmp_path / ".campaigner" / "bad-day.sqlite3").exists()


async def test_an_outage_with_calls_in_flight_stops_without_waiting_for_them(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, Scenario())
        result, cable = await outage_run(tmp_path, host, dnd="call", down_for=None, down_at=20.0)
        stopped = trio.current_time()
        nursery.cancel_scope.cancel()
    assert result is not None
    assert result.exit_code == EXIT_API  # type: ignore[attr-defined]
    assert 300 <= stopped - 20.0 < 420  # not the hours tracking.give_up_after allows
    with Journal.read(tmp_path / ".campaigner" / "outage.sqlite3") as journal:
        assert journal.open_calls()  # followed again by the next run, from the journal
        assert "ready" in journal.counts()


async def test_screen_gives_up_on_a_long_outage(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    from campaigner.campaign.loader import load_campaign
    from campaigner.engine.screen_command import screen_campaign
    from campaigner.errors import TransportError, unwrap
    from campaigner.settings import ExotelSettings
    from campaigner.simulator import Simulator

    contacts = [f"+9198765{i:05d}" for i in range(1, 61)]
    path = write_campaign(tmp_path, OUTAGE.format(contacts=contacts, dnd="skip"))
    cable = Unplugged(Simulator(Scenario()).transport())
    cable.down = True
    settings = ExotelSettings(
        api_key="k", api_token="t", account_sid="acme", base_url="http://sim.invalid"
    )
    started = trio.current_time()
    with pytest.raises(BaseExceptionGroup) as caught:  # from the nursery; the CLI unwraps
        await screen_campaign(load_campaign(path), settings, transport=cable)
    error = unwrap(caught.value)
    assert isinstance(error, TransportError)
    assert "Exotel unreachable for 5 minutes" in str(error)
    assert "contacts; the cache keeps every answer" in str(error)
    assert 300 <= trio.current_time() - started < 330  # not a minute per contact, for ever


def test_reopen_refuses_while_a_run_holds_the_journal_and_can_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from campaigner.errors import EXIT_STATE

    path = campaign(tmp_path, deadline=PAST, dnd="call")
    assert main(["reopen", str(path), "--reason", "x"]) == EXIT_STATE  # never run
    assert "no journal yet" in one_error_line(capsys.readouterr().err)
    sandbox = ["run", str(path), "--sandbox", "-q", "--no-report", "--allow-past-deadline"]
    assert main(sandbox) == EXIT_OK
    capsys.readouterr()
    reopen = ["reopen", str(path), "--reason", "fixed"]
    with Journal.open(tmp_path / ".campaigner" / "bad-day.sqlite3"):  # a live run
        assert main(reopen) == EXIT_STATE
    assert "another run is using this journal" in one_error_line(capsys.readouterr().err)
    assert main([*reopen, "--dry-run", "--contact", "98765 43001"]) == EXIT_OK
    assert capsys.readouterr().out == "would reopen 1 contacts (expired 1)\n"
    with Journal.read(tmp_path / ".campaigner" / "bad-day.sqlite3") as journal:
        assert journal.counts() == {"expired": 2}  # a dry run changes nothing
    assert main([*reopen, "--contact", "+919876540000"]) == EXIT_USAGE
    assert "not a contact of this campaign that ended expired" in one_error_line(
        capsys.readouterr().err
    )
