"""State that survives power cuts, stays private, fails cleanly, and has one runner.

- commits are fsynced (``synchronous=FULL``) in the journal and the shared store;
- state files are 0600 and the directories campaigner creates 0700; looser files are
  tightened when opened;
- a full disk or read-only state is one StateWriteError (exit 4) naming the file, and
  the call whose intent could not be written is never sent; the run resumes later;
- one runner per (account, campaign name), whatever the campaign's ``state``; a dead
  runner's lock is released by the kernel.

Tests run as root in CI, where chmod does not stop writes: read-only state is made with
SQLite itself (``PRAGMA query_only``, or a ``mode=ro`` connection), a full disk with
``PRAGMA max_page_count``, and a read-only file system by an EROFS from ``os.mkdir``.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from campaigner.cli import main
from campaigner.errors import EXIT_STATE, StateError, StateWriteError
from campaigner.simulator import Scenario
from campaigner.store import journal as journal_module
from campaigner.store import sqlite as sqlite_module
from campaigner.store.journal import Journal
from campaigner.store.locks import RunnerKey, check_runner, hold_runner, runner_lock_path
from campaigner.store.shared import SharedState
from campaigner.store.sqlite import GuardedConnection
from tests.engine.harness import sim_host, write_campaign
from tests.engine.outofprocess import SID, campaigner, external_sim, free_port

CONTACTS = [f"+9198765{43000 + i:05d}" for i in range(6)]

CAMPAIGN = f"""
name: durable
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001", "+919900000002"]}}
contacts:
  inline: {CONTACTS}
schedule:
  windows: [{{start: "09:00", end: "21:00"}}]
"""

ANSWERED = Scenario.model_validate({"seed": 3, "outcome_mix": {"completed": 1}})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


# -- durable commits -------------------------------------------------------------------


def test_journal_and_shared_store_fsync_every_commit(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "state" / "c.sqlite3") as journal:
        assert journal.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert journal.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with SharedState.open(tmp_path / "state") as shared:
        assert shared.conn.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_new_state_directories_and_files_are_synced_into_their_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    Journal.open(tmp_path / "new" / "c.sqlite3").close()
    # tmp_path holds the new directory, new/ holds the new journal file
    assert synced == [str(tmp_path), str(tmp_path / "new")]
    synced.clear()
    Journal.open(tmp_path / "new" / "c.sqlite3").close()
    assert synced == []  # nothing new: nothing to sync


# -- private files ---------------------------------------------------------------------


def test_state_files_are_0600_and_created_directories_0700(tmp_path: Path) -> None:
    state = tmp_path / "repo" / "deep" / ".campaigner"
    (tmp_path / "repo").mkdir(mode=0o755)
    (tmp_path / "repo").chmod(0o755)
    with umask(0):  # even a permissive umask does not open them up
        journal = Journal.open(state / "c.sqlite3", runner=RunnerKey("acme", "c"))
        journal.set_meta("probe", "1")  # the WAL and its index exist now
        shared = SharedState.open(state)
        try:
            files = [
                state / "c.sqlite3",
                state / "c.sqlite3-wal",
                state / "c.sqlite3-shm",
                state / "c.sqlite3.lock",
                state / "shared.sqlite3",
                state / "shared.sqlite3-wal",
                runner_lock_path(RunnerKey("acme", "c")),
            ]
            assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
            created = [state, state.parent, runner_lock_path(RunnerKey("a", "b")).parent]
            assert {str(d): oct(mode(d)) for d in created} == {str(d): "0o700" for d in created}
            assert mode(tmp_path / "repo") == 0o755  # not campaigner's: left alone
        finally:
            shared.close()
            journal.close()


def test_existing_state_files_are_tightened_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    Journal.open(path).close()
    shared_path = tmp_path / "shared.sqlite3"
    SharedState.open(tmp_path).close()
    for loose in (path, path.with_name("c.sqlite3.lock"), shared_path):
        loose.chmod(0o644)
    # a -wal left by an older campaigner, readable by everyone
    wal = path.with_name("c.sqlite3-wal")
    wal.write_bytes(b"")
    wal.chmod(0o664)
    with Journal.open(path), SharedState.open(tmp_path):
        assert oct(mode(path)) == "0o600"
        assert oct(mode(wal)) == "0o600"
        assert oct(mode(path.with_name("c.sqlite3.lock"))) == "0o600"
        assert oct(mode(shared_path)) == "0o600"


# -- a full disk, read-only state --------------------------------------------------------


def fill_up(conn: sqlite3.Connection) -> None:
    """Make the database full: no new page, and no room left in the pages of ``calls``.

    ``max_page_count`` caps the file at its current size; filler calls then use up the
    free pages and the room left in the last pages, so the next intent needs a page it
    cannot have. (``synchronous=OFF`` only for speed of the filling.)
    """
    contact = conn.execute("SELECT min(id) FROM contacts").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")
    conn.execute("PRAGMA synchronous=OFF")
    try:
        while True:
            conn.execute(
                "INSERT INTO calls (contact_id, attempt, state, open, api, caller_id, request, "
                "intent_at) VALUES (?, 0, 'filler', 0, 'v1', '', '', 0)",
                (contact,),
            )
    except StateWriteError:
        pass
    finally:
        conn.execute("PRAGMA synchronous=FULL")


def free_up(path: Path) -> None:
    """Space again (a fresh connection has no page cap): the filler goes."""
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM calls WHERE state = 'filler'")
    conn.commit()
    conn.close()


def test_an_intent_that_cannot_be_written_is_a_clean_error_and_records_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.sqlite3"
    with Journal.open(path) as journal:
        journal.sync_contacts([(CONTACTS[0], CONTACTS[0], "x:1", {})], 0.0)
        contact = journal.due_contacts(1.0, 1)[0]
        fill_up(journal.conn)
        with pytest.raises(StateWriteError) as caught:
            journal.begin_call(
                contact.id, 1, api="v1", caller_id="+912241499102", agent=None, request={}, at=1
            )
        message = str(caught.value)
        assert message.startswith(f"{path}: cannot write campaigner's state: the disk is full")
        assert "\n" not in message
        assert caught.value.exit_code == EXIT_STATE
        # rolled back whole: the contact is still ready, no intent, and the journal works
        assert journal.contact(contact.id).state == "ready"
        assert journal.open_calls() == []
        assert journal.conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 1


def test_a_read_only_journal_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.sqlite3"
    Journal.open(path).close()

    def read_only(p: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(
            f"file:{p}?mode=ro", uri=True, isolation_level=None, factory=GuardedConnection
        )
        conn.state_path = p
        conn.row_factory = sqlite3.Row
        return conn

    monkeypatch.setattr(journal_module, "connect", read_only)
    with Journal.open(path) as journal, pytest.raises(StateWriteError) as caught:
        journal.log(0.0, "probe", "probe")
    assert str(caught.value).startswith(f"{path}: cannot write campaigner's state: it is read-only")


def test_a_read_only_file_system_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mkdir = os.mkdir
    frozen = tmp_path / "mnt"

    def mkdir(path: Any, mode: int = 0o777, **kwargs: Any) -> None:
        if Path(path).is_relative_to(frozen):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        real_mkdir(path, mode, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    with pytest.raises(StateWriteError) as caught:
        Journal.open(frozen / ".campaigner" / "c.sqlite3")
    assert str(caught.value) == (
        f"{frozen}: cannot write campaigner's state: the file system is read-only"
    )


def test_an_unwritable_runner_lock_directory_says_how_to_move_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locks = tmp_path / "home" / "runners"
    (tmp_path / "home").write_text("a file where the home directory should be")
    monkeypatch.setenv("CAMPAIGNER_LOCK_DIR", str(locks))
    with pytest.raises(StateWriteError) as caught:
        Journal.open(tmp_path / "c.sqlite3", runner=RunnerKey("acme", "c"))
    assert str(caught.value) == (
        f"{locks}: cannot write campaigner's state: a parent is not a directory; "
        "runner locks need a writable directory: set CAMPAIGNER_LOCK_DIR"
    )
    assert not (tmp_path / "c.sqlite3").exists()


def stop_writes_at_call(
    monkeypatch: pytest.MonkeyPatch, n: int, spoil: Callable[[sqlite3.Connection], None]
) -> list[int]:
    """``spoil`` the journal's connection just before the n-th intent is written."""
    real = Journal.begin_call
    seen: list[int] = []

    def begin_call(self: Journal, contact_id: int, attempt: int, **kw: Any) -> int:
        seen.append(contact_id)
        if len(seen) == n:
            spoil(self.conn)
        return real(self, contact_id, attempt, **kw)

    monkeypatch.setattr(Journal, "begin_call", begin_call)
    return seen


def read_only_now(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA query_only=ON")


@pytest.mark.parametrize(("spoil", "problem"), [(fill_up, "full"), (read_only_now, "read-only")])
async def test_no_call_leaves_without_its_intent_and_the_run_resumes(
    tmp_path: Path,
    autojump_clock: trio.testing.MockClock,
    monkeypatch: pytest.MonkeyPatch,
    spoil: Callable[[sqlite3.Connection], None],
    problem: str,
) -> None:
    path = write_campaign(tmp_path, CAMPAIGN)
    journal_path = tmp_path / ".campaigner" / "durable.sqlite3"
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, ANSWERED)
        seen = stop_writes_at_call(monkeypatch, 3, spoil)
        with pytest.raises(StateWriteError) as caught:
            await host.run(path)
        assert str(caught.value).startswith(f"{journal_path}: cannot write campaigner's state")
        assert problem in str(caught.value)
        # two intents were written and two calls placed; the third was never sent
        assert len(seen) == 3
        assert len(host.sim.calls()) == 2
        with Journal.read(journal_path) as journal:
            rows = journal.conn.execute(
                "SELECT contact_id FROM calls WHERE state != 'filler'"
            ).fetchall()
            assert sorted(r[0] for r in rows) == sorted(seen[:2])
            assert journal.contact(seen[2]).state == "ready"

        monkeypatch.undo()
        free_up(journal_path)
        result = await host.run(path)
        assert result is not None
        assert result.reason == "complete"
        nursery.cancel_scope.cancel()
    dialed = [call.to_number or "" for call in host.sim.calls()]
    assert sorted(dialed) == sorted(CONTACTS)  # everyone once, nobody twice


CLI_CAMPAIGN = f"""
name: cli-durable
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001", "+919900000002"]}}
contacts:
  inline: {CONTACTS[:3]}
schedule: {{deadline: 2099-12-31T20:00:00+05:30}}
"""


def test_cli_full_disk_is_one_line_and_exit_4_then_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_campaign(tmp_path, CLI_CAMPAIGN)
    journal_path = tmp_path / ".campaigner" / "cli-durable.sqlite3"
    stop_writes_at_call(monkeypatch, 1, fill_up)  # the first intent: nothing placed yet
    assert main(["run", str(path), "--sandbox", "-q", "--no-report"]) == EXIT_STATE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("campaigner: error:")]
    assert errors == [
        f"campaigner: error: {journal_path}: cannot write campaigner's state: the disk is full "
        "(or the database reached its size limit) (database or disk is full)"
    ]
    monkeypatch.undo()
    free_up(journal_path)
    assert main(["run", str(path), "--sandbox", "-q", "--no-report"]) == 0
    with Journal.read(journal_path) as journal:
        assert journal.counts().get("ready", 0) == 0
        per_contact = journal.conn.execute(
            "SELECT count(*) FROM calls WHERE state != 'filler' GROUP BY contact_id"
        ).fetchall()
        assert len(per_contact) == 3


def test_cli_read_only_state_is_one_line_and_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_campaign(tmp_path, CLI_CAMPAIGN)
    journal_path = tmp_path / ".campaigner" / "cli-durable.sqlite3"
    assert main(["run", str(path), "--sandbox", "-q", "--no-report"]) == 0
    capsys.readouterr()
    real_connect = sqlite_module.connect

    def then_read_only(p: Path) -> sqlite3.Connection:
        conn = real_connect(p)
        conn.execute("PRAGMA query_only=ON")
        return conn

    monkeypatch.setattr(journal_module, "connect", then_read_only)
    assert main(["run", str(path), "--sandbox", "-q", "--no-report"]) == EXIT_STATE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert (
        f"campaigner: error: {journal_path}: cannot write campaigner's state: it is read-only"
        in err
    )


# -- one runner per campaign -----------------------------------------------------------

HOLDER = """
import sys
from pathlib import Path
from campaigner.store.locks import RunnerKey, hold_runner
hold_runner(RunnerKey(sys.argv[1], sys.argv[2]), Path(sys.argv[3]))
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def runner_in_another_process(account: str, name: str, journal: Path) -> Iterator[int]:
    """Another process that holds the runner lock of (account, name) until killed."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, account, name, str(journal)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "held"
            yield child.pid
        finally:
            child.kill()  # as kill -9 would: no clean-up in the holder
            child.wait()


def test_a_copy_with_another_state_cannot_run_beside_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in (
        ("EXOTEL_API_KEY", "k"),
        ("EXOTEL_API_TOKEN", "t"),
        ("EXOTEL_ACCOUNT_SID", "acme"),
        ("EXOTEL_BASE_URL", "http://127.0.0.1:9"),
    ):
        monkeypatch.setenv(name, value)
    first = tmp_path / "a" / "state-a" / "cli-durable.sqlite3"
    copy = write_campaign(tmp_path, CLI_CAMPAIGN + "state: state-b\n", name="copy.yaml")
    with runner_in_another_process("acme", "cli-durable", first) as pid:
        assert main(["run", str(copy), "-q", "--no-report"]) == EXIT_STATE
        err = capsys.readouterr().err
        assert err.strip().splitlines()[-1] == (
            f"campaigner: error: campaign 'cli-durable' is already running on this account "
            f"(pid {pid}, journal {first}); wait for it to finish or stop it first"
        )
        assert not (tmp_path / "state-b" / "cli-durable.sqlite3").exists()  # nothing written
        # the same name on another account, or another name on this one, may run
        hold = hold_runner(RunnerKey("other-account", "cli-durable"), first)
        os.close(hold)
        hold = hold_runner(RunnerKey("acme", "another-campaign"), first)
        os.close(hold)
    # the holder died (killed, as by kill -9): its lock went with it
    fd = hold_runner(RunnerKey("acme", "cli-durable"), copy)
    os.close(fd)


def test_a_second_runner_of_the_same_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with runner_in_another_process("acme", "c", path) as pid:
        with pytest.raises(StateError) as caught:
            Journal.open(path, runner=RunnerKey("acme", "c"))
        assert f"(pid {pid}, journal {path})" in str(caught.value)
        assert not path.exists()
    Journal.open(path, runner=RunnerKey("acme", "c")).close()


async def test_a_run_holds_the_runner_lock_of_its_account_and_name(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = write_campaign(tmp_path, CAMPAIGN)
    elsewhere = tmp_path / "elsewhere" / "durable.sqlite3"
    with runner_in_another_process(ANSWERED.account.sid, "durable", elsewhere) as pid:
        async with trio.open_nursery() as nursery:
            host = await sim_host(nursery, ANSWERED)
            with pytest.raises(StateError, match=f"pid {pid}, journal {elsewhere}"):
                await host.run(path)
            nursery.cancel_scope.cancel()
    assert not (tmp_path / ".campaigner" / "durable.sqlite3").exists()


TWIN = """
name: twin
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: {agents}}}
contacts: {{inline: {contacts}}}
schedule: {{windows: [{{start: "00:00", end: "24:00"}}]}}
screening: {{dnd: call}}
state: {state}
callbacks: {{listen: "127.0.0.1:{port}", public_url: "http://127.0.0.1:{port}/cb"}}
"""


@pytest.mark.slow
def test_two_campaigner_processes_of_one_campaign_name(tmp_path: Path) -> None:
    """`campaigner run` twice, from a file and its copy with another state: one runs."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("seed: 5\n")
    contacts = [f"+9195{i:08d}" for i in range(1, 41)]
    agents = [f"+9199{i:08d}" for i in range(1, 4)]
    for name, state in (("a.yaml", "state-a"), ("b.yaml", "state-b")):
        text = TWIN.format(contacts=contacts, agents=agents, state=state, port=free_port())
        (tmp_path / name).write_text(text)
    first = tmp_path / "state-a" / "twin.sqlite3"
    log = tmp_path / "a.log"
    with external_sim(scenario, time_scale=10) as sim:
        env = {**os.environ, **sim.env()}
        with log.open("wb") as out:
            runner = subprocess.Popen(
                campaigner(["run", str(tmp_path / "a.yaml"), "-q", "--yes"]),
                env=env,
                stdout=out,
                stderr=out,
            )
        try:
            wait_for(log, b"listening for callbacks", runner)
            second = subprocess.run(
                campaigner(["run", str(tmp_path / "b.yaml"), "-q", "--yes"]),
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert runner.poll() is None, log.read_text()  # the first is still running
            assert second.returncode == EXIT_STATE, second.stderr
            assert second.stderr.strip().splitlines()[-1] == (
                f"campaigner: error: campaign 'twin' is already running on this account "
                f"(pid {runner.pid}, journal {first}); wait for it to finish or stop it first"
            )
            assert not (tmp_path / "state-b").exists()  # refused before touching anything
        finally:
            runner.kill()  # kill -9: the runner cannot clean anything up
            runner.wait()
    # its lock died with it: the copy may run now
    check_runner(RunnerKey(SID, "twin"), tmp_path / "state-b" / "twin.sqlite3")


def wait_for(log: Path, text: bytes, process: subprocess.Popen[bytes]) -> None:
    """Until ``text`` is in another process's log (real time: that process runs on it)."""
    deadline = time.monotonic() + 120
    while text not in log.read_bytes():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
