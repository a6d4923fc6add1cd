from __future__ import annotations

import pytest

from campaigner import __version__
from campaigner.cli import COMMANDS, build_parser, main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"campaigner {__version__}"


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: campaigner" in capsys.readouterr().err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: campaigner {command}")


def test_registry_matches_parser() -> None:
    parser = build_parser()
    names = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert names == set(COMMANDS)


def test_help_has_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "campaigner reopen" in out
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "6 ", "130", "141"):
        assert f"  {code}" in out


def test_errors_inside_exception_groups_are_unwrapped() -> None:
    from campaigner.errors import AuthError, unwrap

    auth = AuthError("refused", status=401)
    group = BaseExceptionGroup("nursery", [ValueError("x"), ExceptionGroup("inner", [auth])])
    assert unwrap(group) is auth
    stop = KeyboardInterrupt()
    assert unwrap(BaseExceptionGroup("n", [auth, stop])) is stop
    plain = ValueError("y")
    assert unwrap(plain) is plain


def test_an_os_error_anywhere_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import campaigner.commands.status as status

    def fails(args: object) -> int:
        raise PermissionError(13, "Permission denied", "/srv/state/x.sqlite3")

    monkeypatch.setattr(status, "run", fails)
    assert main(["status", "x.yaml"]) == 1
    err = capsys.readouterr().err
    assert err == "campaigner: error: /srv/state/x.sqlite3: Permission denied\n"
