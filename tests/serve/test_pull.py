"""``serve --pull``: the folder follows its upstream by fast-forward, and a failing pull is
one error line (without any credential the remote's URL holds) while serve goes on.

Real git in temporary repositories, on the real clock (git is a subprocess), bounded by
``trio.move_on_after``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import trio

from campaigner.commands.serve import _pull, _without_userinfo


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def clone_of_upstream(tmp_path: Path) -> tuple[Path, Path]:
    """(upstream work tree, a clone of it that serve would watch)."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    (upstream / "a.yaml").write_text("name: a\n")
    git(upstream, "add", "a.yaml")
    git(upstream, "commit", "-q", "-m", "first")
    served = tmp_path / "served"
    git(tmp_path, "clone", "-q", str(upstream), str(served))
    return upstream, served


async def test_a_merged_change_reaches_the_served_folder(tmp_path: Path) -> None:
    upstream, served = clone_of_upstream(tmp_path)
    (upstream / "b.yaml").write_text("name: b\n")
    git(upstream, "add", "b.yaml")
    git(upstream, "commit", "-q", "-m", "a new campaign is merged")
    with trio.move_on_after(3):  # pulls every 0.2 s: a dozen tries, one is enough
        await _pull(served, 0.2)
    assert (served / "b.yaml").read_text() == "name: b\n"


async def test_a_failing_pull_is_an_error_line_and_serve_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_repo = tmp_path / "plain"
    not_a_repo.mkdir()
    with trio.move_on_after(1.5):
        await _pull(not_a_repo, 0.3)  # never returns: it keeps trying
    errors = [line for line in capsys.readouterr().err.splitlines() if "git pull" in line]
    assert len(errors) >= 2  # tried again after the first failure
    assert all(line.startswith("git pull --ff-only failed: fatal:") for line in errors), errors


def test_a_token_in_the_remote_url_never_reaches_the_log() -> None:
    line = "fatal: unable to access 'https://bot:ghp_SECRET123@git.example/acme/c.git/': 403"
    assert _without_userinfo(line) == (
        "fatal: unable to access 'https://***@git.example/acme/c.git/': 403"
    )
