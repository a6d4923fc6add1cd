"""State files are private: journals hold customers' numbers and the callback token.

campaigner creates its state directories ``0700`` and its files (journals, their ``-wal``
and ``-shm``, the shared store, lock files) ``0600``, and tightens files it finds more
open than that whenever it opens them for writing. SQLite creates a database's ``-wal``
and ``-shm`` with the database file's own permissions, so creating the database file
``0600`` before SQLite opens it is enough for the three of them.

Directories that already exist are left as they are: a campaign's state may live in a
directory the operator shares on purpose; only what campaigner creates is its to decide.

What campaigner creates is also made durable: the directory holding a new directory or a
new database file is fsynced, so a power cut just after the first intent of a campaign
cannot lose the journal's own directory entry (SQLite syncs the entries of its ``-wal``
and journals, not of the database file).

An ``OSError`` here (a read-only file system, no space, no permission) becomes one
:class:`~campaigner.errors.StateWriteError` naming the path and the problem.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from campaigner.errors import StateWriteError

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_SIDECARS = ("-wal", "-shm")


def private_dir(path: Path) -> None:
    """Create ``path`` and any missing parent, each ``0700``; existing ones are untouched."""
    missing: list[Path] = []
    walk = path
    while not walk.exists():
        missing.append(walk)
        if walk.parent == walk:
            break
        walk = walk.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue  # another process made it meanwhile
        except OSError as exc:
            raise unwritable(directory, exc) from exc
        sync_dir(directory.parent)
    if not path.is_dir():
        raise StateWriteError(f"{path}: cannot hold campaigner's state: not a directory")


def private_file(path: Path) -> None:
    """Make sure ``path`` exists with mode ``0600`` (an empty file is an empty database)."""
    created = True
    try:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            created = False
            fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        raise unwritable(path, exc) from exc
    try:
        tighten_fd(fd, path)
    finally:
        os.close(fd)
    if created:
        sync_dir(path.parent)


def sync_dir(directory: Path) -> None:
    """fsync a directory, so an entry just made in it survives a power cut."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise unwritable(directory, exc) from exc
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):  # a file system without it
            raise unwritable(directory, exc) from exc
    finally:
        os.close(fd)


def tighten_fd(fd: int, path: Path) -> None:
    """Remove group and other permissions from an open file (it may predate campaigner 0600)."""
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, mode & 0o700)
    except OSError as exc:
        raise unwritable(path, exc) from exc


def private_database(path: Path) -> None:
    """The database file and the sidecars SQLite may already have left beside it: ``0600``."""
    private_file(path)
    for suffix in SQLITE_SIDECARS:
        sidecar = path.with_name(path.name + suffix)
        try:
            mode = stat.S_IMODE(sidecar.stat().st_mode)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise unwritable(sidecar, exc) from exc
        if mode & 0o077:
            try:
                sidecar.chmod(mode & 0o700)
            except OSError as exc:
                raise unwritable(sidecar, exc) from exc


_PROBLEMS = {
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a parent is not a directory",
}


def unwritable(path: Path, exc: OSError) -> StateWriteError:
    """One line: the path, what is wrong, and that nothing is dialed until it is fixed."""
    problem = _PROBLEMS.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    return StateWriteError(f"{path}: cannot write campaigner's state: {problem}")
