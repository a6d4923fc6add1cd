"""The loader reports every problem of a file at once, each at FILE:LINE:COL with its key path."""

from __future__ import annotations

import pytest

from campaigner.campaign.loader import load_campaign
from campaigner.errors import CampaignInvalid
from tests.campaign.conftest import BASE, Check, FixedClock, write


def test_the_base_campaign_is_valid(check: Check) -> None:
    loaded, problems = check(BASE)
    assert problems == []
    assert loaded is not None
    assert loaded.contact_count == 1
    assert [a.uri for a in loaded.agents] == ["+919900000001"]
    assert [(c.number, c.sid) for c in loaded.caller_ids] == [("+912241499102", "02241499102")]


def test_syntax_error_is_located(check: Check) -> None:
    _, problems = check("name: t\ndial: [a, b\ncall: {}\n")
    assert problems == [
        "c.yaml:3:5: while parsing a flow sequence; expected ',' or ']', but got ':'"
    ]


def test_duplicate_key_is_an_error(check: Check) -> None:
    _, problems = check("name: a\napi: v1\nname: b\n")
    assert problems == [
        'c.yaml:3:1: while constructing a mapping; found duplicate key "name" with value "b" '
        '(original value: "a")'
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "",
            "c.yaml:1:1: a campaign file must be a mapping of keys (name, api, ...); "
            "this one is empty",
        ),
        (
            "- a\n",
            "c.yaml:1:1: a campaign file must be a mapping of keys (name, api, ...); "
            "this one is a list",
        ),
    ],
)
def test_top_level_must_be_a_mapping(check: Check, text: str, expected: str) -> None:
    assert check(text)[1] == [expected]


def test_missing_file(check: Check) -> None:
    from campaigner.campaign.loader import check_campaign

    loaded, problems = check_campaign("nope.yaml", FixedClock())
    assert loaded is None
    assert [str(p) for p in problems] == [
        "nope.yaml: cannot read the file: No such file or directory"
    ]


BROKEN = """\
name: demo
api: v2
caller_ids: [08041234567, {numbr: "+912241499103"}]
dial:
  mode: agent_first
  agents: ["+919900000001", {contact_uri: "+919900000002", state_managment: true}]
contacts:
  inline: ["9876543210", [1]]
call:
  playback: "https://x"
  time_limit: 20000
retires: 3
retry: {backoff: {first: fast}}
schedule:
  windows: [{start: "09:00"}]
api_token: abc
"""


def test_a_broken_file_reports_every_problem_at_once(check: Check) -> None:
    loaded, problems = check(BROKEN)
    assert loaded is None
    assert problems == [
        "c.yaml:2:6: api: input should be 'v1' or 'v3' (got 'v2')",
        "c.yaml:3:14: caller_ids.0: expected a string, got the number 8041234567; "
        'quote phone numbers: "08041234567"',
        "c.yaml:3:27: caller_ids.1: missing required key 'number'",
        "c.yaml:3:28: caller_ids.1.numbr: unknown key 'numbr', did you mean 'number'?",
        "c.yaml:6:60: dial.agents.1.state_managment: unknown key 'state_managment', "
        "did you mean 'state_management'?",
        "c.yaml:8:26: contacts.inline.1: expected a mapping or a string",
        "c.yaml:10:13: call.playback: expected a list or a mapping (got 'https://x')",
        "c.yaml:11:15: call.time_limit: input should be less than or equal to 14400 (got 20000)",
        "c.yaml:12:1: retires: unknown key 'retires', did you mean 'retry'?",
        "c.yaml:13:26: retry.backoff.first: expected a duration such as 30s, 10m, 2h, 1d or "
        "1h30m, or a number of seconds (got 'fast')",
        "c.yaml:15:13: schedule.windows.0: missing required key 'end'",
        "c.yaml:16:1: api_token: credentials do not belong in campaign files: set "
        "EXOTEL_API_KEY / EXOTEL_API_TOKEN / EXOTEL_ACCOUNT_SID in the environment or a .env file",
    ]


def test_load_campaign_raises_with_every_error(check: Check) -> None:
    write("c.yaml", BROKEN)
    with pytest.raises(CampaignInvalid) as caught:
        load_campaign("c.yaml", FixedClock())
    assert len(caught.value.problems) == 12
    assert (
        str(caught.value)
        == "c.yaml:2:6: api: input should be 'v1' or 'v3' (got 'v2') (and 11 more)"
    )


def test_unknown_key_without_a_near_miss_lists_the_keys(check: Check) -> None:
    _, problems = check(BASE + "pacing: {speed: 3}\n")
    assert problems == [
        "c.yaml:13:10: pacing.speed: unknown key 'speed'; expected one of: "
        "requests_per_minute, max_concurrent_calls"
    ]


def test_unknown_dial_mode_suggests(check: Check) -> None:
    text = BASE.replace("mode: agent_first", "mode: agentfirst")
    assert check(text)[1] == [
        "c.yaml:4:1: dial: unknown mode 'agentfirst', did you mean 'agent_first'?"
    ]


def test_missing_dial_mode(check: Check) -> None:
    text = BASE.replace("  mode: agent_first\n", "")
    assert check(text)[1] == ["c.yaml:4:1: dial: missing required key 'mode'"]


def test_missing_top_level_keys(check: Check) -> None:
    _, problems = check("name: t\n")
    assert problems == [
        "c.yaml:1:1: missing required key 'caller_ids'",
        "c.yaml:1:1: missing required key 'dial'",
        "c.yaml:1:1: missing required key 'contacts'",
    ]


def test_unquoted_phone_in_a_mapping_value(check: Check) -> None:
    text = BASE.replace('["+919900000001"]', "[{contact_uri: 09900000001}]")
    assert check(text)[1] == [
        "c.yaml:6:26: dial.agents.0.contact_uri: expected a string, got the number 9900000001; "
        'quote phone numbers: "09900000001"'
    ]


def test_unquoted_inline_contact_number(check: Check) -> None:
    text = BASE.replace('inline: ["+919812300001"]', "inline: [{phone: 09812300001}]")
    assert check(text)[1] == [
        "c.yaml:8:20: contacts.inline.0.phone: expected a string, got the number 9812300001; "
        'quote phone numbers: "09812300001"'
    ]


@pytest.mark.parametrize(
    "key", ["api_key", "API_TOKEN", "password", "secret", "account_sid", "auth", "exotel_api_token"]
)
def test_credential_keys_are_refused_anywhere(check: Check, key: str) -> None:
    text = BASE.replace("  mode: agent_first\n", f"  mode: agent_first\n  {key}: xyz-do-not-echo\n")
    _, problems = check(text)
    assert problems == [
        f"c.yaml:6:3: dial.{key}: credentials do not belong in campaign files: set "
        "EXOTEL_API_KEY / EXOTEL_API_TOKEN / EXOTEL_ACCOUNT_SID in the environment or a .env file"
    ]


def test_credentials_in_a_url_are_refused_without_echoing_them(check: Check) -> None:
    text = BASE.replace("https://hooks.example.com/x", "https://key:tok123@hooks.example.com/x")
    _, problems = check(text)
    assert problems == [
        "c.yaml:12:15: callbacks.public_url: a URL with user:password@ in it; credentials do not "
        "belong in campaign files: set EXOTEL_API_KEY / EXOTEL_API_TOKEN / EXOTEL_ACCOUNT_SID in "
        "the environment or a .env file"
    ]
    assert "tok123" not in "".join(problems)


def test_unquoted_dates_are_read_as_dates(check: Check) -> None:
    text = BASE.replace("schedule:\n", "schedule:\n  skip_dates: [2026-11-25, '2026-11-31']\n")
    _, problems = check(text)
    assert problems == [
        "c.yaml:10:28: schedule.skip_dates.1: '2026-11-31' is not a date (YYYY-MM-DD)"
    ]


def test_an_impossible_unquoted_date_is_located(check: Check) -> None:
    text = BASE.replace("schedule:\n", "schedule:\n  skip_dates: [2026-11-25, 2026-13-01]\n")
    _, problems = check(text)
    assert problems == [
        "c.yaml:10:28: '2026-13-01' is not a valid date or time (month must be in 1..12)"
    ]


def test_relative_paths_are_relative_to_the_campaign_file(check: Check) -> None:
    write("sub/contacts/x.csv", "phone\n9812300001\n9812300002\n")
    write("sub/c.yaml", BASE.replace('inline: ["+919812300001"]', "file: contacts/x.csv"))
    from campaigner.campaign.loader import check_campaign

    loaded, problems = check_campaign("sub/c.yaml", FixedClock())
    assert problems == []
    assert loaded is not None
    assert loaded.contact_count == 2
    assert [c.source for c in loaded.iter_contacts()] == [
        "sub/contacts/x.csv:2",
        "sub/contacts/x.csv:3",
    ]


def test_loaded_campaign_paths_and_hash(check: Check) -> None:
    import hashlib
    from pathlib import Path

    loaded, _ = check(BASE)
    assert loaded is not None
    assert loaded.sha256 == hashlib.sha256(Path("c.yaml").read_bytes()).hexdigest()
    assert loaded.base_dir == Path.cwd().resolve()
    assert loaded.journal_path == Path.cwd().resolve() / ".campaigner" / "t.sqlite3"


def test_a_few_aliases_still_load(check: Check) -> None:
    loaded, problems = check(BASE + "description: &d reports/t.html\nreport: *d\n")
    assert problems == []
    assert loaded is not None
    assert loaded.campaign.report == "reports/t.html"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("description: &d x\nx1: [" + ", ".join(["*d"] * 17) + "]\n",
         "c.yaml:14:70: more than 16 YAML aliases (*name); write values out"),
        ("a: &a [1]\nb: &b [*a]\n", "c.yaml:14:8: a YAML alias inside an anchored value "
         "(&name): aliases may not nest"),
        ("description: " + "[" * 40 + "]" * 40 + "\n",
         "c.yaml:13:14: nested deeper than 32 levels"),
        ("d:\n" + "".join(f"  - {i}\n" for i in range(20_001)),
         "c.yaml:19984:5: more than 20,000 YAML nodes; put contacts in a CSV"),
    ],
)  # fmt: skip
def test_the_yaml_front_door_is_bounded(check: Check, body: str, expected: str) -> None:
    assert check(BASE + body)[1] == [expected]


def test_a_campaign_file_over_2_mib_is_refused(check: Check) -> None:
    loaded, problems = check(BASE + "# " + "x" * (2 * 1024 * 1024) + "\n")
    assert (loaded, problems) == (
        None,
        ["c.yaml:13:1: the file is larger than 2 MiB; put contacts in a CSV (contacts.file)"],
    )


def test_unknown_keys_and_contact_problems_in_one_pass(check: Check) -> None:
    text = BASE.replace('inline: ["+919812300001"]', 'inline: ["+919812300001", "12"]')
    _, problems = check(text + "retires: 3\ncall: {custom_feild: x}\n")
    assert problems == [
        "c.yaml:8:29: contacts.inline.1: '12' is not a valid phone number (too short)",
        "c.yaml:13:1: retires: unknown key 'retires', did you mean 'retry'?",
        "c.yaml:14:8: call.custom_feild: unknown key 'custom_feild', did you mean 'custom_field'?",
    ]


def test_schema_errors_do_not_hide_contact_and_template_problems(check: Check) -> None:
    text = BASE.replace('inline: ["+919812300001"]', 'inline: ["+919812300001", "12"]')
    text += "pacing: {requests_per_minute: lots}\ncall: {custom_field: '{{ oder }}'}\n"
    loaded, problems = check(text)
    assert loaded is None
    assert problems == [
        "c.yaml:8:29: contacts.inline.1: '12' is not a valid phone number (too short)",
        "c.yaml:13:31: pacing.requests_per_minute: input should be a valid integer, unable to "
        "parse string as an integer (got 'lots')",
        "c.yaml:14:22: call.custom_field: unknown template variable 'oder'; variables "
        "available: phone, attempt, campaign",
    ]


def test_an_error_in_contacts_is_not_checked_against_defaults(check: Check) -> None:
    text = BASE.replace('inline: ["+919812300001"]', "file: x.csv\n  phone_column: 7")
    _, problems = check(text, {"x.csv": "mobile\n9812300001\n"})
    assert problems == [  # and no "no column 'phone'" from the default phone_column
        "c.yaml:9:17: contacts.phone_column: expected a string, got the number 7; quote phone "
        'numbers: "7"'
    ]
