"""Screening rules behind one interface: order, phases, rulings, plan's counts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from campaigner.campaign.loader import load_campaign
from campaigner.exotel.models import NumberMetadata
from campaigner.screening.frequency import CallingRules
from campaigner.screening.rule import (
    DndRule,
    FrequencyRule,
    OptOutRule,
    Phase,
    ScreeningCount,
    screening_rules,
)
from campaigner.store.shared import REFUSED, NumberInfo, SharedState
from tests.engine.harness import MONDAY_10AM, write_campaign

N = [f"+9193{i:08d}" for i in range(1, 6)]
CAMPAIGN = f"""
name: rules
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001"]}}
contacts: {{inline: {N}}}
schedule: {{deadline: 2026-11-23T20:00:00+05:30}}
screening:
  opt_out: [optout.txt]
  dnd: skip
  frequency_cap: {{calls: 1, per: 12h}}
"""
NOW = MONDAY_10AM.timestamp()


def meta(dnd: bool | None) -> NumberMetadata:
    return NumberMetadata("09300000001", "KA", "Karnataka", "Mobile", "A", "Airtel", dnd)


def setup(tmp_path: Path) -> Path:
    (tmp_path / "optout.txt").write_text(f"{N[0]}\n")
    return write_campaign(tmp_path, CAMPAIGN)


def test_the_rules_come_in_the_order_they_apply_with_their_phase_and_reason(
    tmp_path: Path,
) -> None:
    loaded = load_campaign(setup(tmp_path))
    rules = screening_rules(loaded.campaign, loaded.base_dir, shared=None)
    assert [type(r) for r in rules] == [OptOutRule, DndRule, FrequencyRule]
    assert [r.reason for r in rules] == ["opted_out", "dnd", "frequency_cap"]
    assert [r.phase for r in rules] == [Phase.BEFORE_RUN, Phase.BEFORE_DIAL, Phase.BEFORE_DIAL]
    counted = [f for r in rules for f in r.counts]
    assert sorted(counted) == ["held_back", "known_clear", "known_dnd", "lookups", "opted_out"]


async def test_each_rule_judges_a_contact(tmp_path: Path) -> None:
    loaded = load_campaign(setup(tmp_path))
    asked: list[str] = []

    async def lookup(phone: str, now: float) -> NumberInfo | None:
        asked.append(phone)
        if phone == N[3]:
            return None  # could not be had: called
        return NumberInfo(phone, None, None, None, None, REFUSED, now, now)

    with SharedState.open(tmp_path / ".campaigner") as shared:
        shared.remember(N[1], meta(True), NOW)
        shared.claim_call(N[2], NOW - 11 * 3600, CallingRules(), "another campaign")
        rules = screening_rules(loaded.campaign, loaded.base_dir, shared, lookup)
        tally: Counter[str] = Counter()
        rulings = {}
        for phone in N:
            for rule in rules:
                ruling = await rule.judge(phone, NOW, tally)
                if not ruling.passes:
                    rulings[phone] = ruling
                    break
    assert rulings[N[0]].reason == "opted_out"
    assert rulings[N[1]].reason == "dnd"  # from the cache, no lookup
    held = rulings[N[2]]
    assert held.reason == "frequency_cap"
    assert held.until is not None
    assert held.until.timestamp() == NOW + 3600  # deferred, a window is left
    assert N[3] not in rulings
    assert N[4] not in rulings
    assert asked == [N[2], N[3], N[4]]
    # a refused lookup is "Unavailable" (called) and not a lookup made; a failed one is neither
    assert tally == Counter(from_cache=1, looked_up=0, unavailable=2)


def test_a_hold_past_the_deadline_is_a_skip(tmp_path: Path) -> None:
    loaded = load_campaign(setup(tmp_path))
    rule = screening_rules(loaded.campaign, loaded.base_dir, shared=None)[2]
    assert isinstance(rule, FrequencyRule)
    soon = rule.ruling_at(NOW + 3600)
    assert soon.until is not None
    assert soon.reason == "frequency_cap"
    late = rule.ruling_at((MONDAY_10AM + timedelta(days=30)).timestamp())
    assert (late.reason, late.until) == ("frequency_cap", None)


def test_plan_counts_stop_at_the_first_rule_that_stops_a_contact(tmp_path: Path) -> None:
    path = setup(tmp_path)
    with SharedState.open(tmp_path / ".campaigner") as shared:
        shared.remember(N[0], meta(True), NOW)  # opted out: its DND is not counted
        shared.remember(N[1], meta(True), NOW)
        shared.remember(N[4], meta(False), NOW)
        shared.claim_call(N[2], NOW - 3600, CallingRules(), "another campaign")
    made, observe = ScreeningCount.observer(NOW)
    load_campaign(path, observe=observe)
    facts = made[0].facts()
    assert (facts.opted_out, facts.known_dnd, facts.known_clear, facts.lookups) == (1, 1, 1, 2)
    assert facts.held_back == 1
