"""The screener: DND screening of contacts before their first dial, a little ahead of the dialer.

With ``screening.dnd`` other than ``call``, the dialer dials only screened contacts
(``contacts.screened``). The screener walks the unscreened ready contacts in file
order (the dialer's order for new contacts) and, for each:

- a number that needs no lookup (not Indian: number metadata covers Indian numbers
  only) is cleared at once;
- a number the shared cache knows (``<state>/shared.sqlite3``, answers kept 30 days)
  is decided without a request;
- any other number is looked up once (v1 number metadata, purpose ``lookup``) through
  the run's limiter, then cached for every campaign of the state directory.

Why a bounded lookahead: lookups spend the same 200 requests/minute as dials. The
screener keeps about ``lookahead`` screened contacts waiting for the dialer and no
more, so it neither starves dials nor spends budget on contacts the run may never
reach (a deadline). The limiter does the sharing: a lookup goes before a dial only
while lookups hold less than ``lookup_share`` of the last minute's grants, and gets
every grant while no dial waits (the dialer is waiting for screened contacts), so
screening adapts to what the dialer needs and never adds a request over the budget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

import trio

from campaigner.campaign.model import Campaign
from campaigner.engine.context import Note, Now, RunStats, ScreeningGate, unless_set
from campaigner.engine.outage import Outage
from campaigner.errors import (
    AuthError,
    BadRequestError,
    ExotelError,
    NotFoundError,
    TransportError,
)
from campaigner.exotel.client import ExotelClient
from campaigner.screening.rule import DndRule
from campaigner.store import screened
from campaigner.store.journal import ContactRow, Journal
from campaigner.store.shared import REFUSED, NumberInfo, SharedState

log = logging.getLogger("campaigner.screener")

BATCH = 100
LOOKAHEAD_MIN = 10
LOOKAHEAD_MAX = 200
RETRY_AFTER = 60.0  # seconds before contacts whose lookup failed are tried again
RECHECK = 30.0  # re-count the lookahead at least this often


class _Unreachable(Exception):
    """A lookup could not reach Exotel: this pass stops."""


@dataclass
class _Decisions:
    """Screening results not yet written to the journal."""

    cleared: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.cleared or self.skipped)


@dataclass(frozen=True, slots=True)
class ScreenerDeps:
    """What the screener uses of the run (``engine/run.py`` wires it from the run's parts).

    It talks to the dialer only through ``screening`` and stops with ``stop_dialing``.
    """

    campaign: Campaign
    client: ExotelClient
    journal: Journal
    shared: SharedState
    screening: ScreeningGate
    stop_dialing: trio.Event
    outage: Outage
    stats: RunStats
    note: Note
    now: Now


class Screener:
    """The DND screening service of a run (started only when ``screening.dnd`` != call)."""

    def __init__(self, deps: ScreenerDeps) -> None:
        self.deps = deps
        campaign = deps.campaign
        self.rule = DndRule(campaign.screening.dnd, campaign.call.call_type, deps.shared)
        concurrency = campaign.pacing.max_concurrent_calls
        self.lookahead = min(max(2 * concurrency, LOOKAHEAD_MIN), LOOKAHEAD_MAX)
        self._ahead: set[int] = set()  # screened by this run, not yet taken by the dialer
        self._failed = 0  # contacts whose lookup failed in the current pass
        self._warned: set[str] = set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Screen until no unscreened contact is left (or dialing stops)."""
        deps = self.deps
        task_status.started()
        try:
            while not deps.stop_dialing.is_set() and await self._pass():
                await unless_set(deps.stop_dialing, partial(trio.sleep, RETRY_AFTER))
        finally:
            deps.screening.pending = bool(screened.count_unscreened(deps.journal))
            deps.screening.available.set()
        self._summary()

    async def _pass(self) -> bool:
        """One walk over the unscreened contacts; True if some lookups must be retried."""
        after, self._failed = 0, 0
        while not self.deps.stop_dialing.is_set():
            batch = screened.unscreened(self.deps.journal, after, BATCH)
            if not batch:
                break
            after = batch[-1].seq
            await self._room()
            try:
                await self._screen(batch)
            except _Unreachable:
                # Every other lookup would fail the same way (each after the client's
                # retries): try again later; the dialer gives up if it lasts.
                return True
        return self._failed > 0

    async def _screen(self, batch: list[ContactRow]) -> None:
        deps = self.deps
        wanted = [c.phone for c in batch if self.rule.needs_lookup(c.phone)]
        cached = deps.shared.cached(wanted, deps.now())
        decisions = _Decisions()
        for contact in batch:
            if deps.stop_dialing.is_set():
                break
            if not self.rule.needs_lookup(contact.phone):
                decisions.cleared.append(contact.id)
                continue
            info = cached.get(contact.phone)
            if info is not None:
                deps.stats.from_cache += 1
            else:
                self._flush(decisions)  # the dialer may use these while we wait for the budget
                await self._room()
                info = await self._look_up(contact.phone)
                if info is None:
                    continue
            self._decide(contact, info.dnd, decisions)
        self._flush(decisions)

    def _decide(self, contact: ContactRow, dnd: bool | None, decisions: _Decisions) -> None:
        if self.rule.allows(dnd):
            decisions.cleared.append(contact.id)
        else:
            decisions.skipped.append((contact.id, self.rule.reason))

    async def _look_up(self, phone: str) -> NumberInfo | None:
        """Ask Exotel, cache the answer; None when the number must be tried again later."""
        deps = self.deps
        try:
            info = await look_up(deps.client, deps.shared, phone, deps.now())
        except AuthError:
            raise
        except TransportError as exc:
            self._failed += 1
            if deps.outage.failed(trio.current_time(), exc.message):
                patience = deps.outage.patience()
                deps.note(
                    "unreachable",
                    f"Exotel unreachable ({exc.message}): DND lookups retry every minute; "
                    f"the run stops if this lasts {patience}",
                    error=exc.message,
                )
            raise _Unreachable from None
        except ExotelError as exc:
            self._failed += 1
            self._warn("lookup_failed", f"DND lookups are failing ({exc}); retrying in a minute")
            return None
        if info.source == REFUSED:
            self._warn("lookup_refused", f"number metadata refused {phone}: called (Unavailable)")
        else:
            deps.stats.looked_up += 1
        return info

    def _flush(self, decisions: _Decisions) -> None:
        if not decisions:
            return
        deps = self.deps
        ended = screened.apply_screening(
            deps.journal, decisions.cleared, decisions.skipped, deps.now()
        )
        self._ahead.update(decisions.cleared)
        deps.stats.screening_skipped[self.rule.reason] += ended
        deps.stats.outcomes["skipped"] += ended
        decisions.cleared.clear()
        decisions.skipped.clear()
        deps.screening.available.set()

    async def _room(self) -> None:
        """Wait until fewer than ``lookahead`` screened contacts wait for the dialer."""
        deps = self.deps
        while not deps.stop_dialing.is_set():
            self._ahead = screened.still_waiting(deps.journal, self._ahead, deps.now())
            if len(self._ahead) < self.lookahead:
                return
            await self._pause(trio.current_time() + RECHECK)

    async def _pause(self, deadline: float) -> None:
        """Until the dialer takes a contact, ``deadline``, or dialing stops."""
        gate, stop = self.deps.screening, self.deps.stop_dialing
        await unless_set(stop, lambda: gate.consumed.wait_until(deadline))

    def _warn(self, kind: str, message: str) -> None:
        """Said once per kind (a warning, journaled); repeats only at debug level."""
        if kind in self._warned:
            log.debug(message)
            return
        self._warned.add(kind)
        self.deps.journal.log(self.deps.now(), kind, message)
        log.warning(message, extra={"kind": kind})

    def _summary(self) -> None:
        stats = self.deps.stats
        skipped = stats.screening_skipped.get(self.rule.reason, 0)
        if stats.looked_up or stats.from_cache:
            self.deps.note(
                "dnd_skipped",
                f"DND screening: {stats.looked_up} numbers looked up, {stats.from_cache} known "
                f"from the cache; {skipped} on the DND registry skipped (screening.dnd: "
                f"{self.rule.policy})",
                looked_up=stats.looked_up,
                from_cache=stats.from_cache,
                skipped=skipped,
                policy=self.rule.policy,
            )


async def look_up(client: ExotelClient, shared: SharedState, phone: str, now: float) -> NumberInfo:
    """One number's DND status from v1 number metadata, cached for every campaign.

    A number Exotel refuses to look up (400/404: metadata covers Indian numbers only)
    counts as "Unavailable" (called; Exotel's own 403 NDNC stays the safety net) and is
    not cached. Other failures raise :class:`ExotelError`: the caller tries again later.
    """
    try:
        meta = await client.number_metadata(phone)
    except (BadRequestError, NotFoundError):
        return NumberInfo(phone, None, None, None, None, REFUSED, now, now)
    return shared.remember(phone, meta, now)
