"""Lost answers: did a connect POST whose answer never came create a call?

Such a POST (timeout, reset, 5xx after sending, or a run killed mid-request) may
or may not have created a call, so its contact must not be dialed again until we
know. The only way to find a call without its SID is v1 bulk call details, and a
bulk listing never shows an ongoing call (docs/exotel/, the v1 call details page:
"a SID missing from a bulk answer is still in progress"). So "not listed" proves
nothing until the call could no longer be running: the safe span
(:func:`campaigner.campaign.rules.lost_answer_span`, ``2 x ring_timeout +
time_limit + 5 min``). The span does not depend on ``tracking.give_up_after``: a
setting about patience must never be what lets a contact be dialed while its first
call is still live.

- **Found** (a listed call to, or from, the contact's number, created around the
  attempt, that no other attempt of ours owns): adopted and tracked like any other
  call. A record Exotel has not finished yet (epoch-zero ``EndTime``) proves that
  the call exists but not how it ended: the tracker does not judge it, and the
  poller waits for the finished record.
- **Proven absent**: a listing started at least the safe span after the intent
  shows nothing; the contact is put back, without spending an attempt.
- **Unprovable**: no listing could be read for ``PROOF_RETRY`` after the span; the
  call ends ``unknown`` (never retried), since it may have reached the contact.

Cost: listings are batched. One request asks for up to five numbers (the page's
limit for ``To``/``From``) over the union of their attempts' creation windows, so
every lost answer due at the same time shares it, and spare places in a batch
are given to lost answers due later ("ride-alongs", which then wait less). Each
lost answer is asked about at ages of 1, 2, 4, 8... minutes, then at the span:
a short call is found soon after it ends, and a campaign with short
``ring_timeout``/``time_limit`` settles its lost answers correspondingly sooner.
Every request goes through the run's limiter, as dialing does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import trio

from campaigner.campaign.model import Campaign
from campaigner.campaign.rules import lost_answer_span
from campaigner.domain import CallObservation
from campaigner.engine.context import Note, Now, RunStats, Wakeup
from campaigner.engine.open_calls import AgentPool, CallRegistry, OpenCall, Slots
from campaigner.engine.tracker import Tracker
from campaigner.errors import AuthError, ExotelError
from campaigner.exotel.client import ExotelClient
from campaigner.phones import normalise
from campaigner.store.journal import ContactUpdate, Journal
from campaigner.store.shared import SharedState

log = logging.getLogger("campaigner.reconciler")

NUMBERS_PER_LISTING = 5  # v1 bulk call details: To/From take at most 5 numbers (001 page)
FIRST_PROBE = 60.0  # seconds after the intent: a busy or failed call has ended by then
# A call's DateCreated lies within this of its intent: clock skew either way, and the POST
# reaching Exotel up to the client's timeout after the intent was journaled.
SKEW = 120.0
# Attempts sorted by time share a listing only within a day of each other (a resumed
# journal may hold old ones; DateCreated may span a month at most).
BATCH_SPREAD = 86400.0
PROOF_RETRY = 600.0  # after the span: how long to keep trying a listing that fails

NextTime = Callable[[OpenCall], float]


@dataclass(frozen=True, slots=True)
class ReconcilerDeps:
    """What the reconciler uses of the run (``engine/run.py`` wires it from the run's parts).

    Slots, agents, the shared call history (under ``history_key``) and ``wake_dialer``
    are there for one thing: a contact proven not called is given back to the dialer.
    """

    campaign: Campaign
    client: ExotelClient
    journal: Journal
    registry: CallRegistry
    slots: Slots
    agents: AgentPool | None
    shared: SharedState
    history_key: str
    stats: RunStats
    wake_dialer: Wakeup
    note: Note
    now: Now


class Reconciler:
    """The reconciliation service of a run."""

    def __init__(self, deps: ReconcilerDeps, tracker: Tracker) -> None:
        self.deps = deps
        self.tracker = tracker
        campaign = deps.campaign
        self.span = lost_answer_span(campaign).total_seconds()
        self.first = min(FIRST_PROBE, self.span)
        self.retry_every = max(campaign.tracking.poll_interval.total_seconds(), 1.0)
        self.contact_is_to = campaign.dial.mode == "agent_first"
        self._next: dict[int, float] = {}  # call id -> trio time of its next listing

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Reconcile every ambiguous call as its time comes; forever."""
        task_status.started()
        while True:
            now = trio.current_time()
            self._give_up_unprovable(now)
            pending = self.deps.registry.ambiguous()
            due = [call for call in pending if self.next_time(call) <= now]
            if due:
                await self._round(due, pending)
                continue
            times = [self.next_time(c) for c in pending] + [self._deadline(c) for c in pending]
            await self.tracker.changed.wait_until(min(times, default=now + 3600.0))

    def next_time(self, call: OpenCall) -> float:
        """When ``call`` is next asked about (trio time)."""
        return self._next.get(call.call_id, call.intent_trio + self.first)

    def _deadline(self, call: OpenCall) -> float:
        return call.intent_trio + self.span + PROOF_RETRY

    # -- one round: every due call, in as few listings as the filters allow ---------------

    async def _round(self, due: list[OpenCall], pending: list[OpenCall]) -> None:
        for batch in batches(due, pending, self.next_time):
            await self._list(batch)

    async def _list(self, batch: list[OpenCall]) -> None:
        deps = self.deps
        started = trio.current_time()
        first = min(c.intent_at for c in batch) - SKEW
        last = max(c.intent_at for c in batch) + SKEW
        numbers = sorted({c.phone for c in batch})
        try:
            found = await deps.client.bulk_call_details(
                to=numbers if self.contact_is_to else (),
                from_=() if self.contact_is_to else numbers,
                date_created=(_at(first), _at(last)),
                sort_ascending=True,
                purpose="reconcile",
            )
        except AuthError:
            raise
        except ExotelError as exc:
            deps.stats.api_errors[f"reconcile {exc.status or 'network'}"] += 1
            log.warning("reconciling %d lost answers failed, will retry: %s", len(batch), exc)
            retry = trio.current_time() + self.retry_every
            for call in batch:
                self._next[call.call_id] = retry
            return
        known = deps.journal.known_sids(o.sid for o in found)
        fresh = [o for o in found if o.sid not in known]
        for call in sorted(batch, key=lambda c: c.intent_at):
            if deps.registry.get(call.call_id) is not call or call.state != "ambiguous":
                continue  # resolved while the listing was on its way
            match = self._match(call, fresh)
            if match is not None:
                fresh.remove(match)
                self._adopt(call, match)
            elif started >= call.intent_trio + self.span:
                self._prove_absent(call)
            else:
                age = started - call.intent_trio
                self._next[call.call_id] = call.intent_trio + min(
                    max(self.first, 2 * age), self.span
                )

    def _match(self, call: OpenCall, found: list[CallObservation]) -> CallObservation | None:
        for obs in found:
            number = obs.to_number if self.contact_is_to else obs.from_number
            if not _same_number(number, call.phone):
                continue
            created = obs.created_at
            if created is None or abs(created.timestamp() - call.intent_at) <= SKEW:
                return obs
        return None

    # -- outcomes -------------------------------------------------------------------------

    def _adopt(self, call: OpenCall, found: CallObservation) -> None:
        # A record still being finished (epoch-zero EndTime) proves the call exists; the
        # tracker does not judge it by its placeholder status, and the poller waits for it.
        self._next.pop(call.call_id, None)
        self.tracker.adopt(call, found)

    def _prove_absent(self, call: OpenCall) -> None:
        """The lost POST created no call: put the contact back without spending an attempt."""
        deps = self.deps
        contact = deps.journal.contact(call.contact_id)
        deps.journal.call_not_placed(
            call.call_id,
            error_status=0,
            error_code=None,
            error_message="answer lost; no such call found by reconciliation",
            outcome=None,
            contact_update=ContactUpdate(
                contact.id, contact.attempts, contact.agent_failures, next_at=deps.now()
            ),
            at=deps.now(),
        )
        deps.shared.release_call(call.phone, call.intent_at, deps.history_key)
        deps.registry.remove(call)
        deps.slots.release()
        if call.agent and deps.agents is not None:
            deps.agents.release(call.agent)
        self._next.pop(call.call_id, None)
        deps.stats.proven_absent += 1
        deps.note(
            "proven_absent",
            f"no call was created for {call.phone}; it will be dialed",
            call_id=call.call_id,
        )
        deps.wake_dialer.set()

    def _give_up_unprovable(self, now: float) -> None:
        for call in self.deps.registry.ambiguous():
            if self._deadline(call) <= now:
                self._next.pop(call.call_id, None)
                self.tracker.give_up(
                    call,
                    "answer lost; Exotel's call list could not be read to prove no call was made",
                )


def batches(
    due: Sequence[OpenCall], pending: Sequence[OpenCall], next_time: NextTime
) -> list[list[OpenCall]]:
    """Group the due calls into listings of up to five numbers, created within a day.

    Spare places in each listing go to calls not yet due (soonest due first) whose
    attempts fall within that listing's day: asking about them costs nothing more.
    """
    out: list[list[OpenCall]] = []
    for call in sorted(due, key=lambda c: c.intent_at):
        if out and _fits(out[-1], call):
            out[-1].append(call)
        else:
            out.append([call])
    due_ids = {c.call_id for c in due}
    riders = sorted((c for c in pending if c.call_id not in due_ids), key=next_time)
    for batch in out:
        for rider in list(riders):
            if _fits(batch, rider):
                batch.append(rider)
                riders.remove(rider)
    return out


def _fits(batch: list[OpenCall], call: OpenCall) -> bool:
    numbers = {c.phone for c in batch} | {call.phone}
    times = [c.intent_at for c in batch] + [call.intent_at]
    return len(numbers) <= NUMBERS_PER_LISTING and max(times) - min(times) <= BATCH_SPREAD


def _same_number(number: str | None, phone: str) -> bool:
    try:
        return number is not None and normalise(number) == phone
    except ValueError:
        return False


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
