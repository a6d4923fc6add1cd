"""The outcome vocabulary has one definition (campaigner.domain.OUTCOMES); everything that
lists outcomes again (the retry policy's literal, the report's order, funnel, labels and
colours, docs/outcomes.md) is derived from it or held to it here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from campaigner.campaign.model import Retry
from campaigner.domain import LIVE_STATES, OUTCOMES, Outcome, RetryOutcome, outcomes_on
from campaigner.outcomes import is_agent_side
from campaigner.report.charts import css_class
from campaigner.report.format import label
from campaigner.report.render import environment, templates_dir
from campaigner.report.sections import ANSWERED_OUTCOMES
from campaigner.report.source import OUTCOME_ORDER, outcome_sort_key

DOCS = Path(__file__).resolve().parents[2] / "docs"
HEX = re.compile(r"#[0-9a-f]{6}")


def doc_rows() -> list[list[str]]:
    lines = (DOCS / "outcomes.md").read_text().splitlines()
    start = lines.index("<!-- outcome-table:vocabulary -->") + 3  # marker, header, rule
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_every_outcome_has_a_definition_a_label_and_a_colour() -> None:
    assert list(OUTCOMES) == list(Outcome)
    shown = [t.shown for t in OUTCOMES.values()] + list(LIVE_STATES.values())
    for s in shown:
        assert s.label.strip()
        assert HEX.fullmatch(s.colour), s
    assert len({s.colour for s in shown}) == len(shown), "two keys share a colour"
    assert not set(LIVE_STATES) & {o.value for o in Outcome}


def test_docs_outcomes_table_is_the_vocabulary_in_its_order() -> None:
    rows = doc_rows()
    assert [r[0].strip("`") for r in rows] == [o.value for o in Outcome]
    for (name, meaning, retried), traits in zip(rows, OUTCOMES.values(), strict=True):
        assert meaning == traits.meaning, name
        assert (retried == "if listed in `retry.on`") == traits.retryable, name


def test_retry_on_accepts_exactly_the_retryable_outcomes() -> None:
    retryable = {o.value for o, t in OUTCOMES.items() if t.retryable}
    assert set(get_args(RetryOutcome)) == retryable
    assert Retry(on=sorted(retryable)).outcomes() == {Outcome(o) for o in retryable}
    for outcome in set(Outcome) - {Outcome(o) for o in retryable}:
        with pytest.raises(ValueError, match="on"):
            Retry.model_validate({"on": [outcome.value]})


def test_only_agent_side_outcomes_requeue_without_spending_attempts() -> None:
    assert {o for o in Outcome if is_agent_side(o)} == set(outcomes_on("agent"))
    assert outcomes_on("agent") == (Outcome.AGENT_UNANSWERED,)


def test_the_funnel_counts_leg_0_answered_when_the_other_side_failed() -> None:
    agent_first = set(ANSWERED_OUTCOMES["agent_first"])
    contact_first = set(ANSWERED_OUTCOMES["contact_first"])
    assert agent_first == {"connected", "busy", "no_answer", "failed"}
    assert contact_first == {"connected", "agent_unanswered"}
    assert ANSWERED_OUTCOMES["flow"] == ANSWERED_OUTCOMES["contact_first"]
    assert "unknown" not in agent_first | contact_first


def test_reports_order_outcomes_as_the_vocabulary_then_live_states_then_others() -> None:
    assert (*(o.value for o in Outcome), *LIVE_STATES) == OUTCOME_ORDER
    keys = ["zzz", "pending", "skipped", "aaa", "connected", "in_call", "busy"]
    ordered = sorted(keys, key=outcome_sort_key)
    assert ordered == ["connected", "busy", "skipped", "in_call", "pending", "aaa", "zzz"]
    reports_md = " ".join((DOCS / "reports.md").read_text().split())
    assert "(in outcome order: " + ", ".join(OUTCOME_ORDER) + ", then any other)" in reports_md


def test_labels_come_from_the_vocabulary() -> None:
    for outcome, traits in OUTCOMES.items():
        assert label(outcome.value) == traits.shown.label
    for key, shown in LIVE_STATES.items():
        assert label(key) == shown.label
    assert label("give_up") == "give up"  # keys outside the vocabulary keep the old rule


def test_the_report_css_takes_every_colour_from_the_vocabulary() -> None:
    raw = (templates_dir() / "report.css").read_text()
    css = environment().get_template("report.css").render()
    shown = {o.value: t.shown for o, t in OUTCOMES.items()} | LIVE_STATES
    for key, s in shown.items():
        assert f"--{key}: {s.colour};" in css, key
        assert f".{css_class(key)} {{ --c: var(--{key}); }}" in css, key
        assert f"--{key}:" not in raw, f"report.css restates the colour of {key}"
        assert s.colour not in raw, f"report.css restates {key}'s colour {s.colour}"
    # every colour property the CSS uses is defined somewhere
    used = set(re.findall(r"var\(--([a-z_]+)", css))
    defined = set(re.findall(r"--([a-z_]+):", css))
    assert used <= defined, used - defined


def test_docs_reports_why_not_connected_names_each_sides_outcomes() -> None:
    rows = {}
    for line in (DOCS / "reports.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2:
            rows[cells[0]] = set(re.findall(r"`([a-z_]+)`", cells[1]))
    for reason, side in (("agent", "agent"), ("contact", "contact"), ("never learnt", "unknown")):
        assert rows[reason] == {o.value for o in outcomes_on(side)}, reason
