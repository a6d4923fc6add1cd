"""Which git commit a campaign file came from, so a report can be traced to a review.

Campaign files are meant to be reviewed in git (docs/gitops.md); the report names
the last commit that touched the file and whether the file has changed since. No
git, no repository, or a slow git all simply mean "unknown".
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class GitInfo:
    """The last commit touching a file, and whether the file differs from it."""

    commit: str | None = None
    dirty: bool | None = None


def file_commit(path: Path) -> GitInfo:
    """``git log -1 --format=%H -- FILE`` in the file's directory; GitInfo() when unknown."""
    path = path.resolve()
    commit = _git(path.parent, "log", "-1", "--format=%H", "--", path.name)
    if not commit:
        return GitInfo()
    status = _git(path.parent, "status", "--porcelain", "--", path.name)
    return GitInfo(commit, None if status is None else bool(status))


def _git(cwd: Path, *args: str) -> str | None:
    if not cwd.is_dir():
        return None
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip()
