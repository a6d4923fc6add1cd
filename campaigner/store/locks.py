"""Who may write: one run per journal, and one runner per campaign on an account.

The journal's lock file (``<journal>.lock``) stops two runs of one journal. It cannot
stop a copy of the campaign file with another ``state``: that copy has its own journal
and would dial the same contacts. So a run of a real account also holds a **runner
lock** keyed by (account SID, campaign name), in a fixed per-user directory that does
not depend on ``state``: ``$CAMPAIGNER_LOCK_DIR``, else ``~/.local/state/campaigner/runners``.

Both are ``fcntl.flock`` locks: the kernel releases them when the process dies, however
it dies (``kill -9``, a crash, a power cut), so a crashed runner never blocks the next
one. The file holds the holder's pid and journal, for the refusal message only; the
lock, not the file's presence, is what counts.

Sandbox runs take no runner lock: they dial nobody, and two of them with one name in
two directories (a demo beside a test) harm no one. Their journal lock still applies.
Runs by two different users of one machine, or on two machines, are not seen by each
other: the runner lock is per user.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from campaigner.errors import StateError, StateWriteError
from campaigner.store.files import private_dir, tighten_fd, unwritable

LOCK_DIR_ENV = "CAMPAIGNER_LOCK_DIR"


@dataclass(frozen=True, slots=True)
class RunnerKey:
    """What makes two runs the same campaign: the Exotel account and the campaign's name."""

    account: str
    campaign: str


def lock_dir() -> Path:
    """Where runner locks live: fixed per user, whatever a campaign's ``state`` says."""
    configured = os.environ.get(LOCK_DIR_ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".local" / "state" / "campaigner" / "runners"


def runner_lock_path(key: RunnerKey) -> Path:
    """A file name from a digest: no account SID or campaign name in a directory listing."""
    digest = hashlib.sha256(f"{key.account}\0{key.campaign}".encode()).hexdigest()[:32]
    return lock_dir() / f"{digest}.lock"


class Held(Exception):
    """The lock is held by another process; ``holder`` is what that process wrote."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


def exclusive(path: Path, holder: str) -> int:
    """Take ``path``'s flock without waiting; write ``holder`` in it. Returns the open fd.

    Raises :class:`Held` with the holder's text when another process has it.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise unwritable(path, exc) from exc
    try:
        tighten_fd(fd, path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Held(os.pread(fd, 4096, 0).decode(errors="replace").strip()) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode(), 0)
        except OSError as exc:
            raise unwritable(path, exc) from exc
    except BaseException:
        os.close(fd)
        raise
    return fd


def hold_runner(key: RunnerKey, journal: Path) -> int:
    """The runner lock of ``key``; refused (exit 4) while another process runs the campaign."""
    directory = lock_dir()
    path = runner_lock_path(key)
    me = json.dumps({"pid": os.getpid(), "journal": str(journal), "campaign": key.campaign})
    try:
        private_dir(directory)
        return exclusive(path, me)
    except StateWriteError as exc:  # a read-only home (a hardened service), for instance
        raise StateWriteError(
            f"{exc}; runner locks need a writable directory: set {LOCK_DIR_ENV}"
        ) from exc
    except Held as held:
        pid, where = _describe(held.holder)
        raise StateError(
            f"campaign {key.campaign!r} is already running on this account "
            f"(pid {pid}, journal {where}); wait for it to finish or stop it first"
        ) from None


def check_runner(key: RunnerKey, journal: Path) -> None:
    """Refuse at once (before any preflight asks Exotel anything) if the campaign runs.

    Takes the runner lock and lets it go: the run itself takes it again when it starts.
    """
    os.close(hold_runner(key, journal))


def _describe(holder: str) -> tuple[str, str]:
    try:
        data = json.loads(holder)
        return str(data["pid"]), str(data["journal"])
    except (ValueError, KeyError, TypeError):
        return "unknown", "unknown"
