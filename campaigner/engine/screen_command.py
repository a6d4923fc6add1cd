"""``campaigner screen``'s work: screen a campaign's contacts ahead of its run.

What a run would skip, and why, before anything dials: opted-out numbers
(``screening.opt_out``), numbers on the DND registry (``screening.dnd``: looked up once
through v1 number metadata, within the campaign's pacing budget, and cached in
``<state>/shared.sqlite3`` so the run itself then spends no request on them), and
numbers the frequency cap or minimum gap holds back (other campaigns sharing the
state directory called them recently). It reads the campaign's journal not at all,
so it is safe beside a live run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import trio

from campaigner.campaign.loader import ContactObserver
from campaigner.campaign.model import Campaign
from campaigner.campaign.resolved import Contact, LoadedCampaign, state_dir
from campaigner.clock import SystemClock, WallClock
from campaigner.compile.plan import ScreeningFacts
from campaigner.engine.exotel_session import open_exotel
from campaigner.engine.outage import Outage
from campaigner.engine.prepare import opt_outs, opt_outs_of
from campaigner.engine.screener import REFUSED, look_up
from campaigner.errors import AuthError, ExotelError, TransportError
from campaigner.exotel.client import ExotelClient
from campaigner.schedule import CallingSchedule
from campaigner.screening.dnd import INDIAN_PREFIX, may_call, needs_lookup
from campaigner.screening.frequency import CallingRules
from campaigner.settings import ExotelSettings
from campaigner.store.shared import SharedState

PROGRESS_EVERY = 10.0  # seconds between progress lines
_BATCH = 500


@dataclass(frozen=True, slots=True)
class Verdict:
    """One contact a run would not dial now: ``reason`` is dnd, opted_out or frequency_cap."""

    phone: str
    source: str
    reason: str
    until: datetime | None = None  # frequency cap: deferred to this instant (None: skipped)


@dataclass
class ScreenResult:
    """What screening found, in file order."""

    contacts: int = 0
    looked_up: int = 0
    from_cache: int = 0
    lookup_failures: int = 0
    unavailable: int = 0
    skipped: list[Verdict] = field(default_factory=list)
    deferred: list[Verdict] = field(default_factory=list)

    def count(self, reason: str) -> int:
        return sum(1 for v in self.skipped if v.reason == reason)


async def screen_campaign(
    loaded: LoadedCampaign,
    settings: ExotelSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: WallClock | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScreenResult:
    """Screen every contact of ``loaded`` as a run would, filling the shared DND cache."""
    clock = clock or SystemClock()
    with SharedState.open(loaded.state_dir, now=clock.now().timestamp()) as shared:
        rpm = loaded.campaign.pacing.requests_per_minute
        async with open_exotel(settings, rpm, transport=transport) as exotel:
            result = await _Screening(loaded, exotel.client, shared, clock, progress).run()
    return result


class _Screening:
    def __init__(
        self,
        loaded: LoadedCampaign,
        client: ExotelClient,
        shared: SharedState,
        clock: WallClock,
        progress: Callable[[str], None] | None,
    ) -> None:
        c = loaded.campaign
        self.loaded = loaded
        self.client = client
        self.shared = shared
        self.clock = clock
        self.progress = progress
        self.policy = c.screening.dnd
        self.call_type = c.call.call_type
        self.rules = CallingRules.of(c.screening)
        self.schedule = CallingSchedule(c.schedule)
        self.result = ScreenResult()
        self._last_progress = trio.current_time()
        self.outage = Outage()  # lookups that cannot reach Exotel: give up, not crawl on

    async def run(self) -> ScreenResult:
        listed = opt_outs(self.loaded)
        for contact in self.loaded.iter_contacts():
            self.result.contacts += 1
            if contact.phone in listed:
                self._skip(contact, "opted_out")
            elif await self._dnd_allows(contact):
                self._check_rules(contact)
            self._report()
        return self.result

    async def _dnd_allows(self, contact: Contact) -> bool:
        if not needs_lookup(self.policy, contact.phone):
            return True
        now = self.clock.now().timestamp()
        cached = self.shared.cached([contact.phone], now).get(contact.phone)
        if cached is not None:
            self.result.from_cache += 1
            dnd = cached.dnd
        else:
            try:
                info = await look_up(self.client, self.shared, contact.phone, now)
            except AuthError:
                raise
            except TransportError as exc:
                self.result.lookup_failures += 1
                self._unreachable(exc)
                return True
            except ExotelError:
                self.result.lookup_failures += 1
                return True
            self.outage.reached()
            self.result.looked_up += info.source != REFUSED
            dnd = info.dnd
        self.result.unavailable += dnd is None
        if may_call(self.policy, self.call_type, dnd):
            return True
        self._skip(contact, "dnd")
        return False

    def _unreachable(self, exc: TransportError) -> None:
        """Each failed lookup took the client's retries; stop once the outage lasts."""
        now = trio.current_time()
        self.outage.failed(now, exc.message)
        if self.outage.give_up_now(now):
            r = self.result
            raise TransportError(
                f"{self.outage.message()}: screened {r.contacts:,} of "
                f"{self.loaded.contact_count:,} contacts; the cache keeps every answer, so "
                "`campaigner screen` again goes on from there"
            )

    def _check_rules(self, contact: Contact) -> None:
        now = self.clock.now()
        allowed = self.shared.earliest_call(contact.phone, now.timestamp(), self.rules)
        if allowed <= now.timestamp():
            return
        until = datetime.fromtimestamp(allowed, self.schedule.tz)
        if self.schedule.next_open(until) is None:
            self._skip(contact, "frequency_cap")
        else:
            self.result.deferred.append(
                Verdict(contact.phone, contact.source, "frequency_cap", until)
            )

    def _skip(self, contact: Contact, reason: str) -> None:
        self.result.skipped.append(Verdict(contact.phone, contact.source, reason))

    def _report(self) -> None:
        if self.progress is None or trio.current_time() - self._last_progress < PROGRESS_EVERY:
            return
        self._last_progress = trio.current_time()
        r = self.result
        self.progress(
            f"screened {r.contacts:,}/{self.loaded.contact_count:,} contacts: "
            f"{r.looked_up:,} looked up, {r.from_cache:,} from the cache, "
            f"{len(r.skipped):,} would be skipped"
        )


class ScreeningCount:
    """What ``plan`` shows of screening (opted out, known DND, lookups needed, held back),
    counted contact by contact during the loader's own pass over the contacts, so a large
    file is read once (``load_campaign(..., observe=ScreeningCount.observer(now))``). No
    request; ``facts()`` ends the count and closes the shared state."""

    def __init__(self, campaign: Campaign, base_dir: Path, now: float) -> None:
        self._now = now
        self._listed = opt_outs_of(campaign, base_dir)
        self._rules = CallingRules.of(campaign.screening)
        self._shared = SharedState.read(state_dir(campaign, base_dir))
        self._counts = dict.fromkeys(
            ("known_dnd", "known_clear", "lookups", "opted_out", "held_back"), 0
        )
        self._batch: list[str] = []

    @classmethod
    def observer(cls, now: float) -> tuple[list[ScreeningCount], ContactObserver]:
        """The observer to give the loader, and the list it puts its count in."""
        made: list[ScreeningCount] = []

        def observe(campaign: Campaign, base_dir: Path) -> Callable[[Contact], None]:
            made.append(cls(campaign, base_dir, now))
            return made[-1].add

        return made, observe

    def add(self, contact: Contact) -> None:
        if contact.phone in self._listed:
            self._counts["opted_out"] += 1
            return
        if contact.phone.startswith(INDIAN_PREFIX):  # the cache knows Indian numbers only
            self._batch.append(contact.phone)
        shared, now = self._shared, self._now
        if shared is not None and shared.earliest_call(contact.phone, now, self._rules) > now:
            self._counts["held_back"] += 1
        if len(self._batch) >= _BATCH:
            self._flush()

    def facts(self) -> ScreeningFacts:
        self._flush()
        self.close()
        return ScreeningFacts(**self._counts)

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    def _flush(self) -> None:
        cached = self._shared.cached(self._batch, self._now) if self._shared is not None else {}
        for phone in self._batch:
            info = cached.get(phone)
            key = "lookups" if info is None else "known_dnd" if info.dnd else "known_clear"
            self._counts[key] += 1
        self._batch.clear()
