"""Cross-field and API-version rules: each located at the key it is about, worded exactly."""

from __future__ import annotations

import pytest

from tests.campaign.conftest import BASE, Check

V3 = BASE.replace("api: v1", "api: v3")


def with_call(base: str, call: str) -> str:
    return base + "call:\n" + call


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            with_call(V3, "  call_type: trans\n"),
            "c.yaml:14:14: call.call_type: v1 only (CallType); this campaign uses api: v3",
        ),
        (
            V3.replace(
                '  mode: agent_first\n  agents: ["+919900000001"]', '  mode: flow\n  app_id: "12"'
            ),
            "c.yaml:5:9: dial.mode: flow is v1 only (Url of a flow); this campaign uses api: v3",
        ),
        (
            BASE.replace(
                '["+919900000001"]', '[{contact_uri: "+919900000001", state_management: true}]'
            ),
            "c.yaml:6:61: dial.agents.0.state_management: v3 only (from.state_management); "
            "this campaign uses api: v1",
        ),
        (
            with_call(BASE, "  playback: {url: 'https://a.example/x.wav', when: end}\n"),
            "c.yaml:14:52: call.playback.when: when: end is v3 only (playback[].event: end); "
            "this campaign uses api: v1",
        ),
        (
            with_call(BASE, "  playback: [{url: 'https://a/1.wav'}, {url: 'https://a/2.wav'}]\n"),
            "c.yaml:14:3: call.playback: more than one playback is v3 only (a list of playback; "
            "v1 has one StartPlaybackValue); this campaign uses api: v1",
        ),
        (
            BASE + "  method: GET\n",
            "c.yaml:13:11: callbacks.method: v3 only (status_callback[].method); "
            "this campaign uses api: v1",
        ),
        (
            BASE.replace('["+919900000001"]', '["sip:agent@example.com"]'),
            "c.yaml:6:12: dial.agents.0: a sip: agent is v3 only (from.contact_uri with VoIP); "
            "this campaign uses api: v1",
        ),
    ],
)
def test_options_of_the_other_api_name_it(check: Check, text: str, expected: str) -> None:
    loaded, problems = check(text)
    assert problems == [expected]
    assert loaded is None


def test_v3_accepts_its_own_options(check: Check) -> None:
    text = V3.replace(
        '["+919900000001"]', '[{contact_uri: "sip:a@example.com", state_management: true}]'
    )
    text = with_call(
        text, "  playback: [{url: 'https://a/1.wav'}, {url: 'https://a/2.wav', when: end}]\n"
    )
    loaded, problems = check(text.replace("callbacks:\n", "callbacks:\n  method: GET\n"))
    assert problems == []
    assert loaded is not None
    assert [(a.uri, a.state_management) for a in loaded.agents] == [("sip:a@example.com", True)]


@pytest.mark.parametrize(
    ("dial", "expected"),
    [
        (
            "  mode: contact_first\n",
            "c.yaml:4:1: dial: contact_first needs exactly one of agents or connect_to",
        ),
        (
            '  mode: contact_first\n  agents: ["+919900000001"]\n  connect_to: "+912241499103"\n',
            "c.yaml:4:1: dial: contact_first needs exactly one of agents or connect_to",
        ),
        (
            '  mode: contact_first\n  connect_to: "12345"\n',
            "c.yaml:6:15: dial.connect_to: '12345' is not a valid phone number (too short)",
        ),
    ],
)
def test_contact_first_parties(check: Check, dial: str, expected: str) -> None:
    text = BASE.replace('  mode: agent_first\n  agents: ["+919900000001"]\n', dial)
    assert check(text)[1] == [expected]


def test_contact_first_with_a_fixed_number_is_normalised(check: Check) -> None:
    text = BASE.replace(
        '  mode: agent_first\n  agents: ["+919900000001"]\n',
        '  mode: contact_first\n  connect_to: "011 3958 5400"\n',
    )
    loaded, problems = check(text)
    assert problems == []
    assert loaded is not None
    assert loaded.connect_to == "+911139585400"
    assert loaded.agents == ()


def test_numbers_of_parties_are_normalised_and_checked(check: Check) -> None:
    text = BASE.replace(
        'caller_ids: ["+912241499102"]',
        'caller_ids: ["022 4149 9102", {number: "+912241499102"}, "abc"]',
    ).replace('["+919900000001"]', '["09900000001", "+91 99000 00001", {contact_uri: "1"}]')
    assert check(text)[1] == [
        "c.yaml:3:40: caller_ids.1.number: +912241499102 is listed twice (also caller_ids.0)",
        "c.yaml:3:58: caller_ids.2: 'abc' is not a valid phone number (not a number)",
        "c.yaml:6:27: dial.agents.1: +919900000001 is listed twice (also dial.agents.0)",
        "c.yaml:6:60: dial.agents.2.contact_uri: '1' is not a valid phone number (not a number)",
    ]


def test_caller_id_sid_defaults_to_the_national_form(check: Check) -> None:
    text = BASE.replace(
        '["+912241499102"]', '["+912241499102", {number: "08047091234", sid: "x1"}]'
    )
    loaded, _ = check(text)
    assert loaded is not None
    assert [(c.number, c.sid) for c in loaded.caller_ids] == [
        ("+912241499102", "02241499102"),
        ("+918047091234", "x1"),
    ]


@pytest.mark.parametrize(
    ("contacts", "expected"),
    [
        ("contacts: {}\n", "c.yaml:7:1: contacts: needs exactly one of file or inline"),
        (
            'contacts: {inline: ["+919812300001"], file: x.csv}\n',
            "c.yaml:7:1: contacts: needs exactly one of file or inline",
        ),
        (
            'contacts: {inline: ["+919812300001"], default_region: ZZ}\n',
            "c.yaml:7:55: contacts.default_region: unknown region 'ZZ' "
            "(an ISO 3166 code such as IN)",
        ),
    ],
)
def test_contacts_source_rules(check: Check, contacts: str, expected: str) -> None:
    text = BASE.replace('contacts:\n  inline: ["+919812300001"]\n', contacts)
    assert expected in check(text)[1]


def test_recording_options_without_record_warn(check: Check) -> None:
    loaded, problems = check(with_call(BASE, "  recording: {channels: dual, format: mp3}\n"))
    assert problems == [
        "c.yaml:14:25: warning: call.recording.channels: has no effect without record: true",
        "c.yaml:14:39: warning: call.recording.format: has no effect without record: true",
    ]
    assert loaded is not None
    assert [str(w) for w in loaded.warnings] == problems


SCHEDULE = """\
schedule:
  timezone: Asia/Kolkata
  windows:
    - {start: "10:00", end: "09:00"}
    - {days: [sat], start: "08:00", end: "22:00"}
  skip_dates: ["2026-02-30"]
  not_before: 2026-12-01T09:00:00
  deadline: 2026-11-30T20:00:00+05:30
"""


def test_schedule_rules(check: Check) -> None:
    text = BASE.replace("schedule:\n  deadline: 2026-11-30T20:00:00+05:30\n", SCHEDULE)
    assert check(text)[1] == [
        "c.yaml:12:29: schedule.windows.0.end: end 09:00 is not after start 10:00 "
        "(no window crosses midnight)",
        "c.yaml:13:7: warning: schedule.windows.1: 08:00-22:00 allows calls outside 09:00-21:00 "
        "(Asia/Kolkata), the hours Indian customers may be called",
        "c.yaml:14:16: schedule.skip_dates.0: '2026-02-30' is not a date (YYYY-MM-DD)",
        "c.yaml:16:13: schedule.deadline: the deadline is not after not_before",
    ]


def test_unknown_timezone_suggests(check: Check) -> None:
    text = BASE.replace("schedule:\n", "schedule:\n  timezone: Asia/Kolkatta\n")
    assert check(text)[1] == [
        "c.yaml:10:13: schedule.timezone: unknown timezone 'Asia/Kolkatta', "
        "did you mean 'Asia/Kolkata'?"
    ]


def test_no_deadline_and_past_deadline_warn(check: Check) -> None:
    no_deadline = BASE.replace("schedule:\n  deadline: 2026-11-30T20:00:00+05:30\n", "")
    assert check(no_deadline)[1] == [
        "c.yaml:1:1: warning: schedule: no deadline: the run goes on until every contact is final"
    ]
    past = BASE.replace("2026-11-30T20:00:00+05:30", "2026-11-20T20:00:00+05:30")
    assert check(past)[1] == [
        "c.yaml:10:13: warning: schedule.deadline: the deadline has passed: nothing would be dialed"
    ]


def test_retries_that_cannot_fit_before_the_deadline_warn(check: Check) -> None:
    # NOW is 12:00 IST on 23 Nov; deadline 14:00 the same day leaves 2h.
    text = BASE.replace("2026-11-30T20:00:00+05:30", "2026-11-23T14:00:00+05:30")
    text += "retry: {max_attempts: 4, backoff: {first: 30m, factor: 2, max: 1h}}\n"
    # delays: 30m, 1h, 1h (capped) = 2h30m
    assert check(text)[1] == [
        "c.yaml:13:26: warning: retry.backoff: the retries need up to 2h30m after a first "
        "attempt, but only 2h remain before the deadline: late attempts will expire"
    ]
    assert check(text.replace("max_attempts: 4", "max_attempts: 3"))[1] == []


def test_retry_with_nothing_to_retry_on_warns(check: Check) -> None:
    assert check(BASE + "retry: {max_attempts: 2, on: []}\n")[1] == [
        "c.yaml:13:26: warning: retry.on: is empty: no outcome earns another attempt"
    ]


def test_tracking_warnings(check: Check) -> None:
    text = BASE.replace("  public_url: https://hooks.example.com/x\n", "  events: [answered]\n")
    text += "tracking: {poll_after: 1h, give_up_after: 30m}\n"
    assert check(text)[1] == [
        "c.yaml:11:1: warning: callbacks: no public_url: Exotel cannot reach this run, so calls "
        "are tracked by polling only (slower, and it spends the API budget)",
        "c.yaml:12:3: warning: callbacks.events: without terminal the run learns outcomes by "
        "polling only",
        "c.yaml:13:43: warning: tracking.give_up_after: is not after poll_after: calls are never "
        "polled",
        "c.yaml:13:43: warning: tracking.give_up_after: is shorter than the 4h7m a call can last "
        "(2 x ring_timeout + time_limit + 5m): a call still running then ends unknown, and a "
        "contact whose connect answer was lost still waits up to 4h7m for its call to be found "
        "or proven absent",
    ]


def test_dnd_only_transactional_needs_call_type_trans(check: Check) -> None:
    text = BASE + "screening: {dnd: only_transactional}\n"
    assert check(text)[1] == [
        "c.yaml:13:18: warning: screening.dnd: only_transactional without call.call_type: trans "
        "skips every DND number"
    ]
    assert check(with_call(text, "  call_type: trans\n"))[1] == []


def test_opt_out_files_must_exist(check: Check) -> None:
    text = BASE + "screening: {opt_out: [optout.txt, missing.txt]}\n"
    _, problems = check(text, {"optout.txt": "+919812300009\n"})
    assert problems == [
        "c.yaml:13:35: screening.opt_out.1: no such file: missing.txt "
        "(paths are relative to the campaign file)"
    ]


def test_state_management_only_on_agent_first(check: Check) -> None:
    agent = '{contact_uri: "+919900000001", state_management: true}'
    dial = f"  mode: contact_first\n  agents: [{agent}]\n"
    text = V3.replace('  mode: agent_first\n  agents: ["+919900000001"]\n', dial)
    assert check(text)[1] == [
        "c.yaml:6:61: dial.agents.0.state_management: applies to the first leg "
        "(from.state_management); in contact_first the agent is the second leg (to), which has "
        "no state_management"
    ]
