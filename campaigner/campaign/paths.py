"""Which files a campaign file may name: its own repository's, unless the operator allows more.

CI validates every pull request's campaign files with the CI's privileges, so a
campaign file is untrusted input: ``contacts.file: ../.env`` or
``report: ../victim/important.txt`` must not read or overwrite anything outside the
campaign's repository (its git work tree, found by walking up to a ``.git``, or the
campaign file's own folder when there is none). Absolute paths, ``..`` escapes,
symlinks leading out, hidden files (``.env``, ``.git/config`` hold secrets) and
anything but a regular file of reasonable size are refused, each as an ordinary
located validation error. Only the operator can widen this, from outside the file:
``--allow-path DIR`` on the command line or ``CAMPAIGNER_ALLOW_PATHS`` in the
environment, never a key in the file itself.
"""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from campaigner.settings import allowed_paths_setting

# A million-row contact list is about 60 MB; ten times that is not a contact list.
MAX_FILE_BYTES = 512 * 1024 * 1024
# Files that look regular but are the kernel's (/proc/self/environ is a "regular" file).
_SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))
_FLAG_HELP = (
    "let the campaign file name files under DIR (outside its repository, or hidden); "
    "repeatable; also CAMPAIGNER_ALLOW_PATHS (separated by ':')"
)
_cli_allowed: ContextVar[tuple[Path, ...]] = ContextVar("campaigner_allow_paths", default=())

Access = Literal["read", "write"]


def add_path_arguments(parser: argparse.ArgumentParser) -> None:
    """``--allow-path DIR`` (repeatable), on every command that reads a campaign file."""
    parser.add_argument("--allow-path", action="append", default=[], metavar="DIR", help=_FLAG_HELP)


def allow_paths(dirs: Sequence[str]) -> Token[tuple[Path, ...]]:
    """Record the command line's ``--allow-path`` directories for this invocation."""
    return _cli_allowed.set(tuple(Path(d).resolve() for d in dirs))


def forget_allowed(token: Token[tuple[Path, ...]]) -> None:
    """End the invocation's allowances (``main`` may run many commands in one process)."""
    _cli_allowed.reset(token)


def allowed_dirs() -> tuple[Path, ...]:
    """The command line's directories, then the environment's."""
    from_env = tuple(Path(d).resolve() for d in allowed_paths_setting())
    return _cli_allowed.get() + from_env


def repository_root(campaign_file: Path) -> Path:
    """The git work tree holding ``campaign_file``, or its folder when it is not in one."""
    start = campaign_file.absolute().parent
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder.resolve()
    return start.resolve()


@dataclass(frozen=True)
class Confinement:
    """The paths one campaign file may name: inside ``root``, or under an allowed directory."""

    root: Path
    base: Path  # the campaign file's folder: relative paths start here
    allowed: tuple[Path, ...]

    @classmethod
    def of(cls, campaign_file: Path) -> Confinement:
        """The confinement of ``campaign_file`` under this invocation's allowances."""
        return cls(repository_root(campaign_file), campaign_file.absolute().parent, allowed_dirs())

    def resolve(self, value: str, access: Access) -> tuple[Path, str | None]:
        """``value``'s real path, and why the campaign file may not name it (None if it may)."""
        if "\0" in value:
            return self.base, "a path cannot contain a NUL character"
        target = _resolved(self.base / value)
        if target is None:
            return self.base / value, f"{value} cannot be resolved (a symlink loop?)"
        if access == "read" and any(_under(target, s) for s in _SYSTEM):
            return target, f"{value} is a system file (/proc, /sys, /dev); name a regular file"
        if any(_under(target, d) for d in self.allowed):
            return target, None
        return target, self._outside(value, target, access)

    def _outside(self, value: str, target: Path, access: Access) -> str | None:
        fix = "or let the operator allow it with --allow-path DIR (or CAMPAIGNER_ALLOW_PATHS)"
        if Path(value).is_absolute():
            return (
                f"absolute paths are not allowed; use a path relative to the campaign file, {fix}"
            )
        if not _under(target, self.root):
            lexical = Path(os.path.normpath((_resolved(self.base) or self.base) / value))
            how = "through a symlink" if _under(lexical, self.root) else "with '..'"
            return f"leads out of the campaign's repository ({self.root}) {how}; {fix}"
        parts = target.relative_to(self.root).parts
        hidden = [p for p in parts if p.startswith(".")] if access == "read" else []
        hidden += [p for p in parts if p == ".git" and access == "write"]
        if hidden:
            return (
                f"names a hidden file or folder ('{hidden[0]}'): files like .env and .git/ hold "
                f"secrets, so a campaign file may not {access} them; move the file, {fix}"
            )
        return None


def campaign_file_problem(path: Path) -> str | None:
    """Why the campaign file itself cannot be read: a link out of its repository, a system
    file, not a regular file or too big (it may sit in a hidden folder such as .github/)."""
    target = _resolved(path)
    if target is None:
        return f"{path} cannot be resolved (a symlink loop?)"
    if any(_under(target, s) for s in _SYSTEM):
        return f"{path} is a system file (/proc, /sys, /dev)"
    root = repository_root(path)
    if not _under(target, root) and not any(_under(target, d) for d in allowed_dirs()):
        return f"{path} is a symlink leading out of its repository ({root})"
    return readable_problem(path)


def readable_problem(path: Path, shown: Path | str | None = None) -> str | None:
    """Why ``path`` cannot be read as a contact or opt-out list (None when it can).

    ``shown`` is how messages name it: the path as the campaign file wrote it.
    """
    name = shown if shown is not None else path
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"no such file: {name} (paths are relative to the campaign file)"
    except OSError as exc:
        return f"cannot read {name}: {exc.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return f"{name} is not a regular file (a folder, device or pipe); name a CSV file"
    if info.st_size > MAX_FILE_BYTES:
        size = info.st_size // (1024 * 1024)
        limit = MAX_FILE_BYTES // (1024 * 1024)
        return f"{name} is {size:,} MiB; contact and opt-out lists are capped at {limit} MiB"
    return None


def writable_problem(path: Path, want_dir: bool) -> str | None:
    """Why campaigner cannot write ``path`` (a state folder or a report file), or None.

    A state folder holding a symlink is refused: the journal and the shared state are
    written there, and a committed ``state/x.sqlite3 -> /elsewhere`` would redirect them.
    """
    if not path.exists():
        return None
    if want_dir and not path.is_dir():
        return f"{path} exists and is not a folder"
    if not want_dir and not path.is_file():
        return f"{path} exists and is not a regular file"
    if want_dir:
        links = sorted(entry.name for entry in path.iterdir() if entry.is_symlink())
        if links:
            return f"{path} holds a symlink ({links[0]}); campaigner writes there, so no links"
    return None


def _resolved(path: Path) -> Path | None:
    """``path`` with every symlink followed; None for a loop."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return None


def _under(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)
