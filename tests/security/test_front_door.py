"""A campaign file from any pull request is safe to validate: one test per known attack.

Each test runs ``campaigner validate`` (and ``status`` where the journal is looked
up) through ``main(argv)``, as CI does, with a fake secret planted where the attack
aims: in a ``.env`` beside the repository, in the repository's own ``.env``, in the
process environment, in a file the campaign should not read. It asserts the exact
error line and that the secret appears nowhere: not in stdout, stderr or the JSON
output that docs/gitops.md tells CI to keep.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from campaigner import cli

Capture = pytest.CaptureFixture[str]
SECRET = "s3cr3t-MARKER-91f2"  # the planted secret; must never be printed
ENV_TEXT = f"EXOTEL_API_KEY=key\nEXOTEL_API_TOKEN={SECRET}\n"

CAMPAIGN = """\
name: pr
api: v1
caller_ids: ["+912241499102"]
dial: {mode: agent_first, agents: ["+919900000001"]}
schedule: {deadline: 2099-11-30T20:00:00+05:30}
callbacks: {public_url: "https://hooks.example.com/x"}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout: ``work/`` is a git work tree holding ``campaigns/``; a .env beside it."""
    root = tmp_path / "work"
    (root / ".git").mkdir(parents=True)
    (root / "campaigns").mkdir()
    (root / ".env").write_text(ENV_TEXT, encoding="utf-8")  # gitignored on a dev machine
    (tmp_path / ".env").write_text(ENV_TEXT, encoding="utf-8")  # the CI runner's
    (root / "campaigns" / "contacts.csv").write_text("phone\n9812300001\n", encoding="utf-8")
    return root


def campaign(repo: Path, extra: str, name: str = "c.yaml") -> str:
    """Write a campaign (CAMPAIGN plus ``extra``) under campaigns/; its path for argv."""
    path = repo / "campaigns" / name
    path.write_text(CAMPAIGN + textwrap.dedent(extra), encoding="utf-8")
    return str(path)


def validate(capsys: Capture, *argv: str) -> tuple[int, list[str], dict[str, object]]:
    """Exit code, text lines and JSON of ``validate``; the secret in neither output."""
    code = cli.main(["validate", *argv])
    text = capsys.readouterr()
    assert cli.main(["validate", "--format", "json", *argv]) == code
    machine = capsys.readouterr()
    for output in (text.out, text.err, machine.out, machine.err):
        assert SECRET not in output
    return code, text.out.splitlines(), json.loads(machine.out)


def refused(capsys: Capture, *argv: str) -> str:
    """The first line of a ``validate`` that fails (exit 1); the secret printed nowhere."""
    code, lines, _ = validate(capsys, *argv)
    assert code == 1
    return lines[0]


def test_contacts_file_cannot_reach_a_dotenv_outside_the_repository(
    repo: Path, capsys: Capture
) -> None:
    file = campaign(repo, "contacts: {file: ../../.env, phone_column: x}\n")
    code, lines, result = validate(capsys, file)
    assert code == 1
    assert lines[0] == (
        f"{file}:7:18: contacts.file: leads out of the campaign's repository ({repo}) "
        "with '..'; or let the operator allow it with --allow-path DIR "
        "(or CAMPAIGNER_ALLOW_PATHS)"
    )
    assert lines[-1] == f"{file}: invalid, 1 error, 0 warnings"
    assert result["valid"] is False


def test_the_repositorys_own_dotenv_and_git_config_are_refused(repo: Path, capsys: Capture) -> None:
    (repo / ".git" / "config").write_text(f"[http]\n\textraheader = {SECRET}\n")
    file = campaign(
        repo,
        """\
        contacts: {file: ../.env, phone_column: EXOTEL_API_TOKEN, delimiter: "="}
        screening: {opt_out: [../.git/config]}
        """,
    )
    code, lines, _ = validate(capsys, file)
    assert code == 1
    fix = "or let the operator allow it with --allow-path DIR (or CAMPAIGNER_ALLOW_PATHS)"
    assert lines[:2] == [
        f"{file}:7:18: contacts.file: names a hidden file or folder ('.env'): files like "
        f".env and .git/ hold secrets, so a campaign file may not read them; move the file, {fix}",
        f"{file}:8:23: screening.opt_out.0: names a hidden file or folder ('.git'): files "
        f"like .env and .git/ hold secrets, so a campaign file may not read them; move the "
        f"file, {fix}",
    ]


def test_proc_self_environ_is_refused_even_when_allowed(
    repo: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI_DEPLOY_TOKEN", SECRET)
    file = campaign(repo, "contacts: {file: /proc/self/environ, phone_column: x}\n")
    system = f"{file}:7:18: contacts.file: /proc/self/environ is a system file (/proc, /sys, "
    for allowed in ([], ["--allow-path", "/"]):
        code, lines, _ = validate(capsys, *allowed, file)
        assert (code, lines[0]) == (1, system + "/dev); name a regular file")


def test_a_fifo_is_refused_without_blocking(repo: Path, capsys: Capture) -> None:
    os.mkfifo(repo / "campaigns" / "pipe.csv")
    file = campaign(repo, "contacts: {file: pipe.csv}\n")
    assert refused(capsys, file) == (
        f"{file}:7:18: contacts.file: {repo}/campaigns/pipe.csv is not a regular file "
        "(a folder, device or pipe); name a CSV file"
    )


def test_a_symlink_out_of_the_repository_is_refused(repo: Path, capsys: Capture) -> None:
    outside = repo.parent / "outside.csv"
    outside.write_text(f"phone\n{SECRET}\n", encoding="utf-8")
    (repo / "campaigns" / "linked.csv").symlink_to(outside)
    file = campaign(repo, "contacts: {file: linked.csv}\n")
    assert refused(capsys, file) == (
        f"{file}:7:18: contacts.file: leads out of the campaign's repository ({repo}) "
        "through a symlink; or let the operator allow it with --allow-path DIR "
        "(or CAMPAIGNER_ALLOW_PATHS)"
    )


def test_written_paths_stay_in_the_repository(repo: Path, capsys: Capture) -> None:
    victim = repo.parent / "victim" / "important.txt"
    victim.parent.mkdir()
    victim.write_text("keep me", encoding="utf-8")
    file = campaign(
        repo,
        """\
        contacts: {file: contacts.csv}
        report: ../../victim/important.txt
        state: /tmp/anywhere
        """,
    )
    code, lines, _ = validate(capsys, file)
    assert code == 1
    assert lines[:2] == [
        f"{file}:8:9: report: leads out of the campaign's repository ({repo}) with '..'; "
        "or let the operator allow it with --allow-path DIR (or CAMPAIGNER_ALLOW_PATHS)",
        f"{file}:9:8: state: absolute paths are not allowed; use a path relative to the "
        "campaign file, or let the operator allow it with --allow-path DIR "
        "(or CAMPAIGNER_ALLOW_PATHS)",
    ]
    assert cli.main(["run", file, "--sandbox"]) == 1  # run loads through the same door
    assert capsys.readouterr().err.splitlines()[0] == lines[0]
    assert victim.read_text(encoding="utf-8") == "keep me"


def test_the_operator_can_allow_a_folder_from_outside_the_file(
    repo: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = repo.parent / "shared"
    shared.mkdir()
    (shared / "list.csv").write_text("phone\n9812300001\n9812300002\n", encoding="utf-8")
    file = campaign(repo, f"contacts: {{file: {shared / 'list.csv'}}}\n")
    assert validate(capsys, file)[0] == 1
    code, lines, _ = validate(capsys, "--allow-path", str(shared), file)
    assert (code, lines) == (0, [f"{file}: ok, 2 contacts, 0 warnings"])
    monkeypatch.setenv("CAMPAIGNER_ALLOW_PATHS", f"/nonexistent{os.pathsep}{shared}")
    assert validate(capsys, file)[:2] == (0, [f"{file}: ok, 2 contacts, 0 warnings"])


def test_an_unsafe_name_cannot_open_another_journal(repo: Path, capsys: Capture) -> None:
    file = campaign(repo, "contacts: {file: contacts.csv}\n")
    path = Path(file)
    path.write_text(path.read_text().replace("name: pr", "name: ../state/live"))
    assert refused(capsys, file) == (
        f"{file}:1:7: name: string should match pattern '^[A-Za-z0-9][A-Za-z0-9._-]{{0,63}}$' "
        "(got '../state/live')"
    )
    assert cli.main(["status", file]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{file}:1:7: name: must be letters, digits, '.', '_' or '-' (it names the journal file)"
    ]


def test_status_refuses_a_state_folder_outside_the_repository(repo: Path, capsys: Capture) -> None:
    file = campaign(repo, "contacts: {file: contacts.csv}\nstate: ../../elsewhere\n")
    assert cli.main(["status", file]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{file}:8:8: state: leads out of the campaign's repository ({repo}) with '..'; "
        "or let the operator allow it with --allow-path DIR (or CAMPAIGNER_ALLOW_PATHS)"
    ]
    elsewhere = repo.parent / "elsewhere"
    assert cli.main(["status", file, "--allow-path", str(elsewhere)]) == 4  # allowed: no journal
    assert capsys.readouterr().err.splitlines() == [
        f"campaigner: error: {elsewhere}/pr.sqlite3: no journal yet (the campaign has not been run)"
    ]


def test_a_file_that_is_not_a_contact_list_is_not_echoed(repo: Path, capsys: Capture) -> None:
    (repo / "campaigns" / "settings.ini").write_text(ENV_TEXT, encoding="utf-8")
    file = campaign(repo, "contacts: {file: settings.ini, phone_column: x}\n")
    assert refused(capsys, file) == (
        f"{repo}/campaigns/settings.ini:1:1: header: the first line does not look like the "
        "header of a contact list (column names such as phone, name, order_id), so it is not "
        "shown; contacts.file must name a CSV of contacts"
    )


def test_values_of_a_file_without_contacts_are_not_quoted(repo: Path, capsys: Capture) -> None:
    (repo / "campaigns" / "keys.csv").write_text(f"key\n{SECRET}\n{SECRET}2\n")
    file = campaign(repo, "contacts: {file: keys.csv, phone_column: key}\n")
    assert refused(capsys, file) == (
        f"{repo}/campaigns/keys.csv:2:1: key: not a valid phone number (not a number); value "
        "not shown, since no row of this file holds a valid number (is it a contact list?)"
    )


def test_columns_found_are_capped_and_short(repo: Path, capsys: Capture) -> None:
    header = ",".join(f"column_{i}_{'x' * 30}" for i in range(30))
    (repo / "campaigns" / "wide.csv").write_text(header + "\n" + "1," * 29 + "1\n")
    file = campaign(repo, "contacts: {file: wide.csv}\n")
    _, lines, _ = validate(capsys, file)
    shown = ", ".join(f"column_{i}_{'x' * (20 - len(f'column_{i}_'))}…" for i in range(10))
    assert lines[0] == (
        f"{repo}/campaigns/wide.csv:1:1: header: no column 'phone' (contacts.phone_column); "
        f"columns found: {shown} and 20 more"
    )


def test_an_alias_bomb_is_refused_at_once(repo: Path, capsys: Capture) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    file = campaign(repo, "\n".join(levels) + "\n")
    assert Path(file).stat().st_size < 1500
    assert refused(capsys, file) == (
        f"{file}:8:10: a YAML alias inside an anchored value (&name): aliases may not nest"
    )


def test_deep_nesting_and_too_many_aliases_are_refused(repo: Path, capsys: Capture) -> None:
    deep = campaign(repo, "description: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")
    many = campaign(
        repo,
        "x: &x 1\ny: [" + ", ".join(["*x"] * 17) + "]\n",
        "many.yaml",
    )
    assert validate(capsys, deep)[1][0] == f"{deep}:7:14: nested deeper than 32 levels"
    assert validate(capsys, many)[1][0] == (
        f"{many}:8:69: more than 16 YAML aliases (*name); write values out"
    )


def test_a_template_that_builds_100_mb_is_refused(repo: Path, capsys: Capture) -> None:
    file = campaign(
        repo,
        """\
        contacts: {file: contacts.csv}
        call: {custom_field: "{{ ('a' * 10**8)|length }}"}
        """,
    )
    assert refused(capsys, file) == (
        f"{file}:8:22: call.custom_field: template error: repeats a value past 1,000,000 characters"
    )


def test_nested_loops_per_contact_are_refused_at_the_key(repo: Path, capsys: Capture) -> None:
    (repo / "campaigns" / "n.csv").write_text("phone,n\n9812300001,1000\n")
    loops = "{% for a in range(n|int) %}{% for b in range(n|int) %}{% endfor %}{% endfor %}"
    file = campaign(repo, f'contacts: {{file: n.csv}}\ncall: {{custom_field: "{loops}"}}\n')
    assert refused(capsys, file) == (
        f"{repo}/campaigns/n.csv:2:1: call.custom_field: template error: takes more than "
        "10,000 steps to render"
    )


def test_an_unknown_key_does_not_hide_other_problems(repo: Path, capsys: Capture) -> None:
    (repo / "campaigns" / "bad.csv").write_text("phone\n9812300001\n12345\n")
    file = campaign(repo, "contacts: {file: bad.csv}\nretires: 3\n")
    code, lines, result = validate(capsys, file)
    assert code == 1
    assert lines == [
        f"{file}:8:1: retires: unknown key 'retires', did you mean 'retry'?",
        f"{repo}/campaigns/bad.csv:3:1: phone: '12345' is not a valid phone number (too short)",
        f"{file}: invalid, 2 errors, 0 warnings",
    ]
    files = result["files"]
    assert isinstance(files, list)
    assert files[0]["errors"] == 2


def test_the_error_count_is_the_true_count(repo: Path, capsys: Capture) -> None:
    rows = "".join(f"{i}\n" for i in range(5_000))
    (repo / "campaigns" / "many.csv").write_text("phone\n9812300001\n" + rows)
    file = campaign(repo, "contacts: {file: many.csv}\n")
    code, lines, result = validate(capsys, file)
    assert code == 1
    assert lines[-2:] == [
        f"{repo}/campaigns/many.csv: ... and 4,950 more row problems (4,950 errors, 0 warnings)",
        f"{file}: invalid, 5,000 errors, 0 warnings",
    ]
    files = result["files"]
    assert isinstance(files, list)
    assert (files[0]["errors"], len(files[0]["problems"])) == (5_000, 51)


def test_a_committed_link_in_the_state_folder_is_refused(repo: Path, capsys: Capture) -> None:
    state = repo / "campaigns" / ".campaigner"
    state.mkdir()
    (state / "pr.sqlite3").symlink_to(repo.parent / "victim.sqlite3")
    file = campaign(repo, "contacts: {file: contacts.csv}\nname: a..b\n")
    Path(file).write_text(Path(file).read_text().replace("name: pr\n", ""))
    code, lines, _ = validate(capsys, file)
    assert code == 1
    assert lines[:2] == [
        f"{file}:1:1: state: {state} holds a symlink (pr.sqlite3); campaigner writes there, "
        "so no links",  # state is not written: the default's position is the file's
        f"{file}:7:7: name: cannot contain '..' (it names the journal file)",
    ]


def test_a_campaign_file_linking_out_of_its_repository_is_not_read(
    repo: Path, capsys: Capture
) -> None:
    outside = repo.parent / "elsewhere.yaml"
    outside.write_text(f"name: {SECRET}\n", encoding="utf-8")
    link = repo / "campaigns" / "linked.yaml"
    link.symlink_to(outside)
    hidden = repo / ".github" / "campaigns"
    hidden.mkdir(parents=True)
    code, lines, _ = validate(capsys, str(link))
    assert (code, lines[0]) == (
        1,
        f"{link}: cannot read the campaign file: {link} is a symlink leading out of its "
        f"repository ({repo})",
    )
    inside = campaign(repo, "contacts: {file: contacts.csv}\n")
    moved = hidden / "c.yaml"  # a campaign may live in a hidden folder; it names no secret
    moved.write_text(
        Path(inside).read_text().replace("contacts.csv", "../../campaigns/contacts.csv")
    )
    assert validate(capsys, str(moved))[:2] == (0, [f"{moved}: ok, 1 contact, 0 warnings"])


def test_a_symlink_loop_is_a_problem_not_a_traceback(repo: Path, capsys: Capture) -> None:
    (repo / "campaigns" / "a.csv").symlink_to("b.csv")
    (repo / "campaigns" / "b.csv").symlink_to("a.csv")
    file = campaign(repo, "contacts: {file: a.csv}\n")
    assert refused(capsys, file) == (
        f"{file}:7:18: contacts.file: a.csv cannot be resolved (a symlink loop?)"
    )
