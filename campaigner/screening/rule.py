"""A screening rule, one interface: opt-out lists, the DND registry, frequency cap and gap.

Why one interface: the three rules are applied in four places (a run's prepare, the
run's DND screener and dialer, ``plan``'s count, the ``screen`` command), and each place
used to know each rule by heart. Now a rule says, in one class:

- its ``phase``: :attr:`Phase.BEFORE_RUN` (applied once, when a run prepares its
  journal: every listed contact ends ``skipped`` at once) or :attr:`Phase.BEFORE_DIAL`
  (decided per contact just before its first dial, by a run service: the screener for
  DND, the dialer's :class:`~campaigner.engine.calling_rules.CallingRulesGate` for the
  cap and gap);
- its ``reason`` (the journal's skip reason) and its campaign ``key``;
- what it counts for ``plan`` (:meth:`ScreeningRule.count`, no request: the fields of
  :class:`~campaigner.compile.plan.ScreeningFacts` named in ``counts``);
- how it judges one contact for ``screen`` (:meth:`ScreeningRule.judge`: pass, skip,
  or defer to an instant).

:func:`screening_rules` lists them in the order they apply: a contact an earlier rule
stops is neither judged nor counted by the later ones. A new rule is a new subclass,
added there (docs/architecture.md, "where a change goes").

The rules hold no I/O of their own beyond reading opt-out files: the shared store
(``<state>/shared.sqlite3``) and a lookup function are given to them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from campaigner.campaign.loader import ContactObserver
from campaigner.campaign.model import Campaign
from campaigner.campaign.resolved import Contact, state_dir
from campaigner.compile.plan import ScreeningFacts
from campaigner.schedule import CallingSchedule
from campaigner.screening.dnd import INDIAN_PREFIX, DndPolicy, may_call, needs_lookup
from campaigner.screening.frequency import CallingRules
from campaigner.screening.optout import OptOutList, read_opt_outs
from campaigner.store.journal import Journal
from campaigner.store.screened import skip_numbers
from campaigner.store.shared import REFUSED, NumberInfo, SharedState

COUNT_BATCH = 500  # numbers asked of the DND cache at once while plan counts

# One number's DND answer from Exotel, or None when it could not be had (the number is
# then called: Exotel's own 403 NDNC is the safety net). Given by the caller, who owns
# the client, the budget and what an outage means for it.
Lookup = Callable[[str, float], Awaitable[NumberInfo | None]]


class Phase(StrEnum):
    """When a rule applies during a run."""

    BEFORE_RUN = "before the run"
    BEFORE_DIAL = "just before dialing"


@dataclass(frozen=True, slots=True)
class Ruling:
    """What a rule says of one contact: pass (no reason), skip, or defer (``until``)."""

    reason: str | None = None
    until: datetime | None = None

    @property
    def passes(self) -> bool:
        return self.reason is None


PASS = Ruling()


class ScreeningRule(ABC):
    """One screening rule (see the module's docstring)."""

    reason: ClassVar[str]  # the skip reason journaled and shown (``skipped``, reason ...)
    key: ClassVar[str]  # the campaign key that configures it
    phase: ClassVar[Phase]
    counts: ClassVar[tuple[str, ...]]  # the ScreeningFacts fields ``plan`` shows for it

    @abstractmethod
    def count(self, phone: str, now: float, tally: Counter[str]) -> bool:
        """``plan``: count ``phone`` into ``tally`` without a request; True if it stops here."""

    def finish_count(self, now: float, tally: Counter[str]) -> None:
        """``plan``: the contacts are all counted (a rule that counts in batches ends them)."""
        return None

    @abstractmethod
    async def judge(self, phone: str, now: float, tally: Counter[str]) -> Ruling:
        """``screen``: what a run would do with ``phone`` at ``now``; ``tally`` gets its counts."""

    def apply_before_run(self, journal: Journal, at: float) -> int:
        """A ``BEFORE_RUN`` rule ends the contacts it stops; returns how many."""
        return 0


class OptOutRule(ScreeningRule):
    """``screening.opt_out``: numbers listed in the opt-out files are never called."""

    reason = "opted_out"
    key = "screening.opt_out"
    phase = Phase.BEFORE_RUN
    counts = ("opted_out",)

    def __init__(self, listed: OptOutList) -> None:
        self.listed = listed

    @classmethod
    def of(cls, campaign: Campaign, base_dir: Path) -> OptOutRule:
        """The rule of ``campaign``: its files read now, numbers in its contacts' region."""
        c = campaign
        return cls(
            read_opt_outs(
                base_dir, c.screening.opt_out, c.contacts.default_region, c.contacts.phone_column
            )
        )

    def count(self, phone: str, now: float, tally: Counter[str]) -> bool:
        if phone in self.listed:
            tally["opted_out"] += 1
            return True
        return False

    async def judge(self, phone: str, now: float, tally: Counter[str]) -> Ruling:
        return Ruling(self.reason) if phone in self.listed else PASS

    def apply_before_run(self, journal: Journal, at: float) -> int:
        """End every opted-out contact not in a call as ``skipped`` (``opted_out``)."""
        listed = self.listed
        if not listed.files:
            return 0
        skipped = skip_numbers(journal, listed.numbers, self.reason, at)
        if skipped or listed.unreadable:
            journal.log(
                at,
                "opted_out",
                f"{skipped} contacts opted out ({len(listed)} numbers in "
                f"{', '.join(listed.files)}; {listed.unreadable} lines without a valid number)",
                count=skipped,
                files=list(listed.files),
                numbers=len(listed),
                unreadable=listed.unreadable,
            )
        return skipped


class DndRule(ScreeningRule):
    """``screening.dnd``: numbers on India's DND registry, looked up once and cached."""

    reason = "dnd"
    key = "screening.dnd"
    phase = Phase.BEFORE_DIAL
    counts = ("known_dnd", "known_clear", "lookups")

    def __init__(
        self,
        policy: DndPolicy,
        call_type: str | None,
        shared: SharedState | None,
        lookup: Lookup | None = None,
    ) -> None:
        self.policy = policy
        self.call_type = call_type
        self.shared = shared
        self._lookup = lookup
        self._batch: list[str] = []

    def needs_lookup(self, phone: str) -> bool:
        """True when ``phone`` must be looked up before its first dial."""
        return needs_lookup(self.policy, phone)

    def allows(self, dnd: bool | None) -> bool:
        """Whether a number whose registry status is ``dnd`` may be dialed."""
        return may_call(self.policy, self.call_type, dnd)

    def count(self, phone: str, now: float, tally: Counter[str]) -> bool:
        # Counted whatever the policy (plan shows what is known): the cache knows
        # Indian numbers only. Never stops a contact: plan counts what Exotel would say.
        if phone.startswith(INDIAN_PREFIX):
            self._batch.append(phone)
            if len(self._batch) >= COUNT_BATCH:
                self.finish_count(now, tally)
        return False

    def finish_count(self, now: float, tally: Counter[str]) -> None:
        cached = self.shared.cached(self._batch, now) if self.shared is not None else {}
        for phone in self._batch:
            info = cached.get(phone)
            tally["lookups" if info is None else "known_dnd" if info.dnd else "known_clear"] += 1
        self._batch.clear()

    async def judge(self, phone: str, now: float, tally: Counter[str]) -> Ruling:
        if not self.needs_lookup(phone):
            return PASS
        cached = self.shared.cached([phone], now).get(phone) if self.shared is not None else None
        if cached is not None:
            tally["from_cache"] += 1
            dnd = cached.dnd
        else:
            info = await self._lookup(phone, now) if self._lookup is not None else None
            if info is None:
                return PASS
            tally["looked_up"] += info.source != REFUSED
            dnd = info.dnd
        tally["unavailable"] += dnd is None
        return PASS if self.allows(dnd) else Ruling(self.reason)


class FrequencyRule(ScreeningRule):
    """``screening.frequency_cap`` / ``min_gap``: across every campaign of the state directory.

    A number called too recently is deferred to the earliest instant the rules allow,
    and skipped only when no calling window is left by then.
    """

    reason = "frequency_cap"
    key = "screening.frequency_cap"
    phase = Phase.BEFORE_DIAL
    counts = ("held_back",)

    def __init__(
        self, rules: CallingRules, shared: SharedState | None, schedule: CallingSchedule
    ) -> None:
        self.rules = rules
        self.shared = shared
        self.schedule = schedule

    def earliest(self, phone: str, now: float) -> float:
        """The earliest instant at or after ``now`` one more call to ``phone`` is allowed."""
        return self.shared.earliest_call(phone, now, self.rules) if self.shared else now

    def ruling_at(self, allowed: float) -> Ruling:
        """A contact the rules hold until ``allowed``: deferred there, or skipped when no
        calling window is left by then (the dialer's gate decides the same way)."""
        until = datetime.fromtimestamp(allowed, self.schedule.tz)
        if self.schedule.next_open(until) is None:
            return Ruling(self.reason)
        return Ruling(self.reason, until)

    def count(self, phone: str, now: float, tally: Counter[str]) -> bool:
        if self.shared is not None and self.earliest(phone, now) > now:
            tally["held_back"] += 1
        return False

    async def judge(self, phone: str, now: float, tally: Counter[str]) -> Ruling:
        allowed = self.earliest(phone, now)
        return PASS if allowed <= now else self.ruling_at(allowed)


def screening_rules(
    campaign: Campaign,
    base_dir: Path,
    shared: SharedState | None,
    lookup: Lookup | None = None,
) -> list[ScreeningRule]:
    """The campaign's rules, in the order they apply to a contact."""
    s = campaign.screening
    return [
        OptOutRule.of(campaign, base_dir),
        DndRule(s.dnd, campaign.call.call_type, shared, lookup),
        FrequencyRule(CallingRules.of(s), shared, CallingSchedule(campaign.schedule)),
    ]


class ScreeningCount:
    """What ``plan`` shows of screening (opted out, known DND, lookups needed, held back),
    counted contact by contact during the loader's own pass over the contacts, so a large
    file is read once (``load_campaign(..., observe=ScreeningCount.observer(now))``): every
    rule counts what it can tell without a request. ``facts()`` ends the count and closes
    the shared state."""

    def __init__(self, campaign: Campaign, base_dir: Path, now: float) -> None:
        self._now = now
        self._shared = SharedState.read(state_dir(campaign, base_dir))
        self._rules = screening_rules(campaign, base_dir, self._shared)
        self._tally: Counter[str] = Counter()

    @classmethod
    def observer(cls, now: float) -> tuple[list[ScreeningCount], ContactObserver]:
        """The observer to give the loader, and the list it puts its count in."""
        made: list[ScreeningCount] = []

        def observe(campaign: Campaign, base_dir: Path) -> Callable[[Contact], None]:
            made.append(cls(campaign, base_dir, now))
            return made[-1].add

        return made, observe

    def add(self, contact: Contact) -> None:
        for rule in self._rules:
            if rule.count(contact.phone, self._now, self._tally):
                return

    def facts(self) -> ScreeningFacts:
        for rule in self._rules:
            rule.finish_count(self._now, self._tally)
        self.close()
        return ScreeningFacts(**{f.name: self._tally[f.name] for f in fields(ScreeningFacts)})

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
            self._shared = None
