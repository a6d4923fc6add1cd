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

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import trio

from campaigner.campaign.resolved import LoadedCampaign
from campaigner.clock import SystemClock, WallClock
from campaigner.engine.exotel_session import open_exotel
from campaigner.engine.outage import Outage
from campaigner.engine.screener import look_up
from campaigner.errors import AuthError, ExotelError, TransportError
from campaigner.exotel.client import ExotelClient
from campaigner.screening.rule import screening_rules
from campaigner.settings import ExotelSettings
from campaigner.store.shared import NumberInfo, SharedState

PROGRESS_EVERY = 10.0  # seconds between progress lines


@dataclass(frozen=True, slots=True)
class ScreenedContact:
    """One contact a run would not dial now: ``reason`` is a rule's (dnd, opted_out,
    frequency_cap)."""

    phone: str
    source: str
    reason: str
    until: datetime | None = None  # deferred to this instant (None: skipped)


@dataclass
class ScreenResult:
    """What screening found, in file order."""

    contacts: int = 0
    # looked_up, from_cache, unavailable (the DND rule), lookup_failures (this command)
    tally: Counter[str] = field(default_factory=Counter)
    skipped: list[ScreenedContact] = field(default_factory=list)
    deferred: list[ScreenedContact] = field(default_factory=list)

    @property
    def looked_up(self) -> int:
        return self.tally["looked_up"]

    @property
    def from_cache(self) -> int:
        return self.tally["from_cache"]

    @property
    def unavailable(self) -> int:
        return self.tally["unavailable"]

    @property
    def lookup_failures(self) -> int:
        return self.tally["lookup_failures"]

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
        self.loaded = loaded
        self.client = client
        self.shared = shared
        self.clock = clock
        self.progress = progress
        self.rules = screening_rules(loaded.campaign, loaded.base_dir, shared, self._look_up)
        self.result = ScreenResult()
        self._last_progress = trio.current_time()
        self.outage = Outage()  # lookups that cannot reach Exotel: give up, not crawl on

    async def run(self) -> ScreenResult:
        """Every contact through every rule, in order; the first that stops it says why."""
        for contact in self.loaded.iter_contacts():
            self.result.contacts += 1
            for rule in self.rules:
                now = self.clock.now().timestamp()
                ruling = await rule.judge(contact.phone, now, self.result.tally)
                if ruling.reason is not None:
                    found = ScreenedContact(
                        contact.phone, contact.source, ruling.reason, ruling.until
                    )
                    (self.result.skipped if ruling.until is None else self.result.deferred).append(
                        found
                    )
                    break
            self._report()
        return self.result

    async def _look_up(self, phone: str, now: float) -> NumberInfo | None:
        """The DND rule's lookup: None (called) when it failed; gives up on a long outage."""
        try:
            info = await look_up(self.client, self.shared, phone, now)
        except AuthError:
            raise
        except TransportError as exc:
            self.result.tally["lookup_failures"] += 1
            self._unreachable(exc)
            return None
        except ExotelError:
            self.result.tally["lookup_failures"] += 1
            return None
        self.outage.reached()
        return info

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
