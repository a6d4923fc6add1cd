"""The dialer: takes a free slot, a free agent and the next due contact, and places a call.

Order of waiting, and why: a concurrency slot, then an agent (each agent has one
call at a time; the next contact goes to whoever is free first, a power dialer),
then a contact that is due inside a calling window (and, with ``screening.dnd``
other than ``call``, screened; and allowed by the frequency cap and minimum gap),
then a caller ID that is up, then the rate limiter's "connect" grant. Only after the
grant is the call recorded in the shared call history, its intent journaled and the
POST sent, in its own task, so that dialing keeps the pace of the budget however
slowly Exotel answers.

While Exotel cannot be reached (a connect that could not leave), dialing backs off
between probes instead of trying the next contact at once, spends no attempt, and
gives up (the run stops, resumable) once the outage lasts the run's
``unreachable_timeout`` (``campaigner.engine.outage``).
"""

from __future__ import annotations

import logging
from collections import deque
from contextlib import suppress
from dataclasses import asdict
from datetime import datetime
from functools import partial

import trio

from campaigner.campaign.resolved import Contact, ResolvedAgent
from campaigner.compile import compile_call
from campaigner.domain import CallSpec, Outcome
from campaigner.engine.calling_rules import CallingRulesGate
from campaigner.engine.context import RunContext, unless_set
from campaigner.engine.open_calls import OpenCall
from campaigner.engine.tracker import Tracker, contact_update
from campaigner.errors import (
    AgentBusyError,
    AgentUnavailableError,
    AuthError,
    ConflictError,
    DndRefusedError,
    ExotelError,
    OutcomeUnknownError,
    RateLimitedError,
    StateError,
    StateWriteError,
    TransportError,
)
from campaigner.exotel.classify import AGENT_DEVICE_CODES, ndnc_number
from campaigner.outcomes import Verdict
from campaigner.phones import InvalidPhoneNumber, normalise
from campaigner.policy import Tally, after_agent_busy, after_call
from campaigner.store.journal import ContactRow, ContactUpdate

log = logging.getLogger("campaigner.dialer")

_BATCH = 50
SCREENING_RECHECK = 60.0  # while waiting for screened contacts, look again at least this often


class Dialer:
    """Places every call of a run, once."""

    def __init__(self, ctx: RunContext, tracker: Tracker, callback_url: str | None) -> None:
        self.ctx = ctx
        self.tracker = tracker
        self.callback_url = callback_url
        self._queue: deque[ContactRow] = deque()
        self._taken: set[int] = set()
        self._waiting_since: str | None = None
        self._ndnc_agents: set[str] = set()
        self._unavailable_agents: set[tuple[str, str]] = set()
        self.rules = CallingRulesGate(ctx)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Dial until no contact is left to dial (or dialing is stopped)."""
        task_status.started()
        try:
            async with trio.open_nursery() as posts:
                while (job := await self._next_job()) is not None:
                    posts.start_soon(self._place, *job)
        finally:
            self.ctx.dialing_done.set()
            self.ctx.stats.waiting_reason = None
            self.rules.summary()

    # -- choosing the next call ---------------------------------------------------------

    async def _next_job(self) -> tuple[OpenCall, CallSpec, ResolvedAgent | None] | None:
        ctx = self.ctx
        while True:
            await ctx.slots.acquire()
            agent: ResolvedAgent | None = None
            try:
                if ctx.agents is not None:
                    agent = await self._take_agent()
                    if agent is None:
                        ctx.slots.release()
                        return None
                contact = await self._next_contact()
                if contact is None:
                    self._give_back(agent)
                    return None
                job = await self._prepare(contact, agent)
            except BaseException:
                self._give_back(agent)
                raise
            if job is not None:
                return job
            self._give_back(agent)

    async def _take_agent(self) -> ResolvedAgent | None:
        agents = self.ctx.agents
        assert agents is not None
        return await unless_set(self.ctx.stop_dialing, agents.take)

    def _give_back(self, agent: ResolvedAgent | None) -> None:
        self.ctx.slots.release()
        if agent is not None and self.ctx.agents is not None:
            self.ctx.agents.release(agent.uri)

    async def _prepare(
        self, row: ContactRow, agent: ResolvedAgent | None
    ) -> tuple[OpenCall, CallSpec, ResolvedAgent | None] | None:
        ctx = self.ctx
        self._taken.add(row.id)
        try:
            caller_id = await self._caller_id()
            if caller_id is None or not await self._outage_backoff():
                self._queue.appendleft(row)
                return None
            job: tuple[OpenCall, CallSpec, ResolvedAgent | None] | None = None
            try:
                await ctx.limiter.acquire("connect")
                now = ctx.clock.now()
                if ctx.stop_dialing.is_set() or not ctx.schedule.is_open(now):
                    self._queue.appendleft(row)  # the grant is spent; the contact waits
                    return None
                job = self._begin(row, agent, caller_id, now)
                return job
            finally:
                if job is None:
                    ctx.outage.probing = False  # no probe left: the next call may probe
        finally:
            self._taken.discard(row.id)

    def _begin(
        self, row: ContactRow, agent: ResolvedAgent | None, caller_id: str, now: datetime
    ) -> tuple[OpenCall, CallSpec, ResolvedAgent | None] | None:
        ctx = self.ctx
        if not self.rules.claim(row, now.timestamp()):
            return None
        attempt = row.attempts + 1
        contact = Contact(row.phone, row.raw_phone, row.source, row.variables)
        spec = compile_call(
            ctx.loaded,
            contact,
            attempt=attempt,
            caller_id=caller_id,
            agent=agent,
            status_callback=self.callback_url,
        )
        try:
            call_id = ctx.journal.begin_call(
                row.id,
                attempt,
                api=spec.api,
                caller_id=caller_id,
                agent=agent.uri if agent else None,
                request=_redacted(spec),
                at=now.timestamp(),
            )
        except StateWriteError:
            # The intent could not be written (disk full, read-only): no POST leaves, the
            # run stops (exit 4, resumable). The claim is given back if the disk allows.
            with suppress(StateWriteError):
                self.rules.release(row.phone, now.timestamp())
            raise
        except StateError:
            log.info("contact %s changed before dialing; skipped this turn", row.phone)
            self.rules.release(row.phone, now.timestamp())
            return None
        ctx.screening.consumed.set()
        call = OpenCall(
            call_id=call_id,
            contact_id=row.id,
            phone=row.phone,
            attempt=attempt,
            first_leg=spec.first_leg,
            caller_id=caller_id,
            agent=agent.uri if agent else None,
            state="intent",
            intent_at=now.timestamp(),
            intent_trio=trio.current_time(),
        )
        ctx.registry.add(call)
        return call, spec, agent

    async def _caller_id(self) -> str | None:
        """The next caller ID; while every one is down, wait (dialing pauses)."""
        ctx = self.ctx
        while (number := ctx.caller_ids.next()) is None:
            self._wait_note("every caller ID is down: dialing paused until one recovers")
            await unless_set(ctx.stop_dialing, ctx.caller_ids.changed.wait)
            if ctx.stop_dialing.is_set():
                return None
        return number

    async def _outage_backoff(self) -> bool:
        """While Exotel is out of reach, wait for the next probe; False once dialing stops."""
        ctx = self.ctx
        outage = ctx.outage
        # One probe at a time: the calls behind it wait for its fate.
        while outage.active and (outage.probing or trio.current_time() < outage.next_probe):
            if self._gave_up() or ctx.stop_dialing.is_set():
                return False
            # Shown, not journaled: the outage was said once when it began.
            ctx.stats.waiting_reason = "Exotel unreachable: dialing backs off until it answers"
            wake = max(outage.next_probe, trio.current_time() + 1.0)
            await unless_set(ctx.stop_dialing, partial(ctx.wake_dialer.wait_until, wake))
        if outage.active:
            outage.probing = True
        return not self._gave_up() and not ctx.stop_dialing.is_set()

    def _gave_up(self) -> bool:
        """Stop the run once Exotel has been out of reach for the run's whole patience."""
        ctx = self.ctx
        if ctx.outage.give_up_now(trio.current_time()):
            ctx.pause("unreachable_stop", ctx.outage.message())
        return ctx.outage.gave_up

    def _unreachable(self, exc: ExotelError) -> None:
        if self.ctx.outage.failed(trio.current_time(), exc.message):
            patience = self.ctx.outage.patience()
            self.ctx.note(
                "unreachable",
                f"Exotel unreachable ({exc.message}): dialing backs off (no attempt spent); "
                f"the run stops if this lasts {patience}",
                error=exc.message,
            )

    async def _next_contact(self) -> ContactRow | None:
        ctx = self.ctx
        while not ctx.stop_dialing.is_set():
            if self._gave_up():
                return None
            now = ctx.clock.now()
            opens = ctx.schedule.next_open(now)
            if opens is None:
                self._expire("deadline reached" if ctx.schedule.deadline else "no window left")
                return None
            if opens > now:
                local = opens.astimezone(ctx.schedule.tz).strftime("%a %d %b %H:%M %Z")
                self._wait_note(f"outside the calling windows: dialing resumes {local}")
                await self._sleep_until(ctx.clock.trio_at(opens))
                continue
            row = self._pop_due(now.timestamp())
            if row is not None:
                if not self.rules.allows(row, now.timestamp()):
                    continue  # deferred (or skipped) by the frequency cap / minimum gap
                self._waiting_since = None
                ctx.stats.waiting_reason = None
                return row
            next_due = ctx.journal.next_due_at(screened_only=ctx.screening.required)
            if ctx.screening.pending and (next_due is None or next_due > now.timestamp()):
                await self._wait_for_screening(next_due)
                continue
            if next_due is None and len(ctx.registry) == 0:
                return None  # every contact is done
            span = ctx.schedule.current(now)
            wake = ctx.clock.trio_at(span.end) if span else trio.current_time() + 60
            if next_due is not None:
                wake = min(wake, ctx.clock.trio_at(datetime.fromtimestamp(next_due, now.tzinfo)))
                self._wait_note("waiting for retries to come due")
            else:
                self._wait_note("waiting for calls in flight to finish")
            await self._sleep_until(wake)
        return None

    def _pop_due(self, now: float) -> ContactRow | None:
        if not self._queue:
            exclude = self._taken | {c.contact_id for c in self.ctx.registry}
            due = self.ctx.journal.due_contacts(
                now, _BATCH, exclude, screened_only=self.ctx.screening.required
            )
            self._queue.extend(due)
        return self._queue.popleft() if self._queue else None

    async def _wait_for_screening(self, next_due: float | None) -> None:
        """No screened contact is due: wait for the screener (or the next due retry)."""
        ctx = self.ctx
        # Shown, not journaled: in a list of unknown numbers this wait is one lookup long
        # and comes before most dials.
        ctx.stats.waiting_reason = "waiting for DND screening (v1 number metadata)"
        started = trio.current_time()
        wake = started + SCREENING_RECHECK
        if next_due is not None:
            wake = min(wake, ctx.clock.trio_at_epoch(next_due))
        if ctx.outage.since is not None:  # lookups cannot reach Exotel: stop on time
            wake = min(wake, ctx.outage.since + ctx.outage.give_up_after)
        await unless_set(ctx.stop_dialing, lambda: ctx.screening.available.wait_until(wake))
        ctx.stats.screening_wait += trio.current_time() - started

    async def _sleep_until(self, deadline: float) -> None:
        await unless_set(self.ctx.stop_dialing, lambda: self.ctx.wake_dialer.wait_until(deadline))

    def _wait_note(self, message: str) -> None:
        self.ctx.stats.waiting_reason = message
        if self._waiting_since != message:
            self._waiting_since = message
            self.ctx.note("waiting", message)

    def _expire(self, reason: str) -> None:
        count = self.ctx.journal.expire_ready(self.ctx.now(), reason)
        self._queue.clear()
        if count:
            self.ctx.stats.outcomes[Outcome.EXPIRED.value] += count
            self.ctx.note("expired", f"{count} contacts expired: {reason}", count=count)

    # -- placing one call ---------------------------------------------------------------

    async def _place(self, call: OpenCall, spec: CallSpec, agent: ResolvedAgent | None) -> None:
        ctx = self.ctx
        ctx.gate.prepay_current_task()
        try:
            obs = await ctx.client.connect(spec)
        except OutcomeUnknownError as exc:
            ctx.journal.call_ambiguous(call.call_id, exc.status, exc.message, ctx.now())
            ctx.registry.mark_ambiguous(call)
            ctx.stats.ambiguous += 1
            ctx.note(
                "ambiguous",
                f"answer lost for {call.phone}; reconciling before any retry",
                call_id=call.call_id,
            )
            self.tracker.changed.set()
        except DndRefusedError as exc:
            self._ndnc(call, exc)
        except AgentUnavailableError as exc:
            self._agent_unavailable(call, exc)
        except (AgentBusyError, ConflictError) as exc:
            self._agent_refused(call, exc)
        except TransportError as exc:
            self._unreachable(exc)
            self._refused(call, exc, final=None)
        except RateLimitedError as exc:
            self._refused(call, exc, final=None)
        except AuthError as exc:
            self._refused(call, exc, final=None)
            raise
        except ExotelError as exc:
            self._refused(call, exc, final=(Outcome.FAILED, exc.message))
        else:
            self.tracker.placed(call, obs)
        finally:
            ctx.gate.forget_current_task()
            if ctx.outage.probing:
                ctx.outage.probing = False
                ctx.wake_dialer.set()

    def _ndnc(self, call: OpenCall, exc: DndRefusedError) -> None:
        """403 NDNC: the number it names is on the registry; remember it for every campaign.

        docs/exotel/quirks.md ("NDNC refusals"): "Call to [<number>] cannot be made because
        of TRAI NDNC regulations", checked on both legs. The contact's number: it is
        skipped (``dnd``), never retried. The agent's: the contact was not called, so it
        waits for another agent and the agent rests, as after a 409 busy (found by the
        chaos soak: an agent on the registry used to mark every contact given to them as
        DND, in every campaign).
        """
        ctx = self.ctx
        named = _e164(ndnc_number(exc.message))
        agent = _e164(call.agent)
        if named is not None and named != call.phone and named == agent:
            ctx.shared.remember_ndnc(named, ctx.now())
            if named not in self._ndnc_agents:
                self._ndnc_agents.add(named)
                ctx.note(
                    "agent_ndnc",
                    f"agent {named} is on the NDNC registry: Exotel refuses to call them; "
                    "their contacts wait for other agents",
                    agent=named,
                )
            self._agent_refused(call, exc, reason="agent on the NDNC registry")
            return
        ctx.shared.remember_ndnc(call.phone, ctx.now())
        self._refused(call, exc, final=(Outcome.SKIPPED, "dnd"))

    def _refused(self, call: OpenCall, exc: ExotelError, final: tuple[Outcome, str] | None) -> None:
        """Exotel did not create the call. ``final`` None: the contact simply waits its turn."""
        ctx = self.ctx
        contact = ctx.journal.contact(call.contact_id)
        tally = Tally(contact.attempts, contact.agent_failures)
        if final is None:
            update = ContactUpdate(
                contact.id, tally.attempts, tally.agent_failures, next_at=ctx.now()
            )
        elif final[0] is Outcome.SKIPPED:
            update = ContactUpdate(
                contact.id,
                tally.attempts,
                tally.agent_failures,
                outcome=Outcome.SKIPPED.value,
                reason=final[1],
            )
        else:
            decision = after_call(tally, final[0], ctx.loaded.campaign.retry, ctx.clock.now())
            update = contact_update(contact.id, decision, Verdict(final[0], final[1]))
        self._not_placed(call, exc, final[0].value if final else None, update)
        if final is not None and update.outcome is not None:
            ctx.stats.outcomes[update.outcome] += 1
        if final is not None and final[0] is Outcome.FAILED:
            ctx.call_finished(Outcome.FAILED)  # Exotel rejected it: the breaker counts it
        if call.agent and ctx.agents is not None:
            ctx.agents.release(call.agent)

    def _agent_unavailable(self, call: OpenCall, exc: AgentUnavailableError) -> None:
        """The agent's device cannot take a call (turned off, unverified, no such user...).

        The contact was not called, so, as after 10706 or an agent on the NDNC registry,
        the agent rests and the contact waits for another agent without spending an
        attempt; the run log says so once per agent and code.
        """
        what = AGENT_DEVICE_CODES.get(exc.code or "", "agent's device is unavailable")
        key = (call.agent or "", exc.code or "")
        if key not in self._unavailable_agents:
            self._unavailable_agents.add(key)
            self.ctx.note(
                "agent_unavailable",
                f"agent {call.agent}: {what} (Exotel {exc.status}/{exc.code}); "
                "their contacts wait for other agents",
                agent=call.agent,
                code=exc.code,
            )
        self._agent_refused(call, exc, reason=what)

    def _agent_refused(self, call: OpenCall, exc: ExotelError, reason: str = "agent busy") -> None:
        """409: the agent is busy elsewhere (or their device is unusable); rest the agent."""
        ctx = self.ctx
        contact = ctx.journal.contact(call.contact_id)
        decision = after_agent_busy(
            Tally(contact.attempts, contact.agent_failures),
            ctx.loaded.campaign.retry,
            ctx.clock.now(),
        )
        assert decision.retry_at is not None
        update = ContactUpdate(
            contact.id,
            decision.tally.attempts,
            decision.tally.agent_failures,
            reason=reason,
            next_at=decision.retry_at.timestamp(),
        )
        self._not_placed(call, exc, None, update)
        if call.agent and ctx.agents is not None:
            ctx.agents.release(call.agent, busy=True)

    def _not_placed(
        self, call: OpenCall, exc: ExotelError, outcome: str | None, update: ContactUpdate
    ) -> None:
        ctx = self.ctx
        ctx.journal.call_not_placed(
            call.call_id,
            error_status=exc.status,
            error_code=exc.code,
            error_message=exc.message,
            outcome=outcome,
            contact_update=update,
            at=ctx.now(),
        )
        code = f"/{exc.code}" if exc.code else ""
        ctx.stats.api_errors[f"connect {exc.status or 'network'}{code}"] += 1
        self.rules.release_call(call)
        ctx.registry.remove(call)
        ctx.slots.release()
        ctx.wake_dialer.set()
        # An outage is said once (engine/outage.py), not once per contact it hit.
        level = logging.DEBUG if isinstance(exc, TransportError) else logging.INFO
        log.log(level, "call to %s not placed: %s", call.phone, exc)


def _e164(number: str | None) -> str | None:
    try:
        return normalise(number) if number else None
    except InvalidPhoneNumber:
        return None  # a SIP agent, or not a number at all


def _redacted(spec: CallSpec) -> dict[str, object]:
    """The spec as journaled: the callback URL's secret token is masked."""
    data = asdict(spec)
    url = data.get("status_callback_url")
    if isinstance(url, str):
        head, _, tail = url.rstrip("/").rpartition("/")
        base, _, _token = head.rpartition("/")
        data["status_callback_url"] = f"{base}/<token>/{tail}"
    return data
