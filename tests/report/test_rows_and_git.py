"""The contacts table's rows escape anything; the campaign file's git commit is found."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigner.report.gitinfo import GitInfo, file_commit
from campaigner.report.model import ContactLine
from campaigner.report.rows import contact_rows

anything = st.text(max_size=40)


@given(
    phone=anything,
    name=st.none() | anything,
    reason=st.none() | anything,
    outcome=anything,
    variables=st.lists(st.tuples(anything, anything), max_size=3),
)
def test_no_contact_value_can_add_markup(
    phone: str,
    name: str | None,
    reason: str | None,
    outcome: str,
    variables: list[tuple[str, str]],
) -> None:
    line = ContactLine(phone, name, tuple(variables), outcome, reason, 1, 0, None, "x:1", ())
    row = str(contact_rows([line]))
    # Exactly the row's own tags: <tr> and eight <td>, whatever the values hold.
    assert row.count("<") == 9
    assert row.count(">") == 9
    assert row.count('"') == 6  # the row's own three attributes


def test_a_recording_link_is_the_only_extra_markup() -> None:
    line = ContactLine(
        "+91\u2022\u2022\u2022\u2022\u2022\u20220001", "Asha", (("order_id", "A&B"),), "connected",
        None, 1, 65, "https://rec.example.test/1.mp3?a=1&b=2", "x:1", (),
    )  # fmt: skip
    assert str(contact_rows([line])) == (
        '<tr class="o-connected"><td>+91\u2022\u2022\u2022\u2022\u2022\u20220001<td>Asha'
        '<td title="">connected<td>1<td data-v="65">1m 05s'
        '<td><a href="https://rec.example.test/1.mp3?a=1&amp;b=2" rel="noopener noreferrer">'
        "listen</a><td>order_id: A&amp;B<td>\n"
    )


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.test", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def test_the_last_commit_of_a_file_and_whether_it_changed(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    campaign = tmp_path / "campaigns" / "c.yaml"
    campaign.parent.mkdir()
    campaign.write_text("name: c\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "c")
    head = git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "other.txt").write_text("x")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "other")
    assert file_commit(campaign) == GitInfo(head, False)
    campaign.write_text("name: c\n# edited\n")
    assert file_commit(campaign) == GitInfo(head, True)


def test_no_repository_no_commit(tmp_path: Path) -> None:
    campaign = tmp_path / "c.yaml"
    campaign.write_text("name: c\n")
    assert file_commit(campaign) == GitInfo(None, None)


def test_no_git_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert file_commit(Path(__file__)) == GitInfo(None, None)
