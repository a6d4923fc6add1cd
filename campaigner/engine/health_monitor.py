"""ExoPhone health for a run: heartbeats first, v2 details when they say nothing.

Sources, in the order they are trusted:

1. **Heartbeats** (000): Exotel POSTs the account's ExoPhone health every few minutes
   to ``<callbacks.public_url>/heartbeat/<CAMPAIGNER_HEARTBEAT_TOKEN>``. The receiver
   hands each one to :meth:`HealthMonitor.on_heartbeat`, which journals it in the shared
   state (repeats of a ``timestamp`` change nothing; older ones are ignored) and applies
   the newest: a caller ID in ``outgoing_affected`` stops being used, one absent from it
   is used again.
2. **v2 ExoPhone details**, per caller ID, when no heartbeat says anything: at run start
   when no heartbeat newer than a few intervals is journaled (nothing listens while no
   campaign runs), on ``PAYLOAD_TOO_LARGE`` (000: "use Get Exophone Details"), and
   periodically while a caller ID is down and heartbeats are silent, so that a run
   without heartbeats recovers. 000 discourages polling that endpoint and Exotel
   throttles it separately, so these requests are few, spaced (``V2_PER_MINUTE``) and
   spend the run's budget like any other (purpose ``health``).

Failover (``health.failover``): a down caller ID is replaced by the first healthy
``alternate_exophone`` its v2 details name.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

import trio

from campaigner.engine.caller_id_board import CallerIdBoard, e164
from campaigner.engine.context import RunContext, Wakeup
from campaigner.errors import AuthError, ExotelError, NotFoundError
from campaigner.exotel.models import ExoPhoneDetails, Heartbeat
from campaigner.store.shared import StoredHeartbeat

log = logging.getLogger("campaigner.health")

V2_PER_MINUTE = 6  # our own cap on v2 ExoPhone details (Exotel throttles it separately)
FRESH_INTERVALS = 3  # a heartbeat younger than this many intervals describes the present
RECHECK_PAUSED = 300.0  # every caller ID down, heartbeats silent: v2 re-check this often
RECHECK_DOWN = 900.0  # some caller IDs down, heartbeats silent
RECHECK_UP = 3600.0  # all up, heartbeats silent: a caller ID may have failed since
ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class _Beat:
    """The part of a heartbeat that decides health (live or journaled)."""

    timestamp: float
    status_type: str
    outgoing: frozenset[str]  # SIDs and E.164 numbers whose outgoing calls are affected

    @classmethod
    def of(cls, beat: Heartbeat | StoredHeartbeat) -> _Beat:
        stamp = beat.timestamp if isinstance(beat, StoredHeartbeat) else beat.timestamp.timestamp()
        affected = set(beat.outgoing_affected)
        numbers = {e164(beat.data[sid]) for sid in affected if beat.data.get(sid)}
        return cls(stamp, beat.status_type, frozenset(affected | {n for n in numbers if n}))


class V2Throttle:
    """At most ``V2_PER_MINUTE`` v2 ExoPhone details requests in any 60 s.

    000: "polling the GET endpoint is not recommended. Exotel will throttle requests to
    GET ExoPhone Details endpoint with HTTP Code 429", separately from the account's
    200/minute; a 429 there would also slow the whole run's limiter down.
    """

    def __init__(self, per_minute: int = V2_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self._sent: deque[float] = deque()

    async def wait(self) -> None:
        """Return when one more request may be sent (and count it)."""
        sent = self._sent
        if len(sent) >= self.per_minute:
            await trio.sleep_until(sent[0] + 60.0)
        now = trio.current_time()
        while sent and sent[0] <= now - 60.0:
            sent.popleft()
        sent.append(now)


class HealthMonitor:
    """Keeps the run's caller IDs in step with Exotel's view of its ExoPhones."""

    def __init__(self, ctx: RunContext, *, account: str, heartbeat_interval: float) -> None:
        self.ctx = ctx
        self.account = account
        self.interval = heartbeat_interval
        self.failover = ctx.loaded.campaign.health.failover
        self.board = CallerIdBoard(ctx)
        self.heartbeats = {"new": 0, "repeat": 0, "stale": 0}
        self._beat: _Beat | None = None
        self._last_status: str | None = None
        self._check: set[str] = set()  # SIDs whose state v2 details must tell
        self._unchecked: set[str] = set()  # held out of rotation until first checked
        self._alternate: set[str] = set()  # down SIDs that need an alternate
        self._throttle = V2Throttle()
        self._last_check = -math.inf
        self._wake = Wakeup()

    # -- the service --------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Learn every caller ID's health, report started, then follow changes forever."""
        await self._start()
        task_status.started()
        while True:
            if self._check or self._alternate:
                await self._work()
                continue
            wake = self._recheck()
            if wake is not None:
                await self._wake.wait_until(wake)

    async def _start(self) -> None:
        """Know the caller IDs' health before the first dial.

        Without a recent heartbeat, the first ``V2_PER_MINUTE`` caller IDs are checked
        now; any others stay out of rotation until their own check, a minute or more
        later, so that the throttle never delays the whole run and no call uses an
        ExoPhone nobody has looked at.
        """
        ctx = self.ctx
        stored = ctx.shared.latest_heartbeat(self.account)
        if stored is not None and self._fresh(stored.timestamp):
            self._apply(_Beat.of(stored), "journaled heartbeat")
        if self._beat is None or self._beat.status_type == "PAYLOAD_TOO_LARGE":
            self._check.update(self.board.phones)
        for sid in sorted(self._check)[V2_PER_MINUTE:]:
            self._unchecked.add(sid)
            ctx.caller_ids.set_down(sid)
        while len(self._check) > len(self._unchecked) or self._alternate:
            await self._work()

    async def _work(self) -> None:
        if self._check:
            sid = min(self._check - self._unchecked or self._check)
            self._check.discard(sid)
            await self._refresh(sid)
        elif self._alternate:
            sid = min(self._alternate)
            self._alternate.discard(sid)
            if not self.board.phones[sid].up:
                await self._fail_over(sid, await self._details(sid))

    def _recheck(self) -> float | None:
        """Heartbeats silent: ask v2 details again, now and then (down caller IDs often).

        Returns the trio time to look again, or None when checks were queued now.
        """
        if self._beat is not None and not self._beat_silent():
            # Heartbeats speak for the ExoPhones; look again when this one grows old.
            stale = self._beat.timestamp + FRESH_INTERVALS * self.interval
            return self.ctx.clock.trio_at_epoch(stale) + 1.0
        down = [p.caller_id.sid for p in self.board.down()]
        if self.ctx.caller_ids.usable() == 0:
            wait = RECHECK_PAUSED
        else:
            wait = RECHECK_DOWN if down else RECHECK_UP
        at = self._last_check + wait
        if at > trio.current_time():
            return at
        self._check.update(down or self.board.phones)
        return None

    # -- heartbeats ---------------------------------------------------------------------

    def on_heartbeat(self, beat: Heartbeat) -> None:
        """The receiver got a heartbeat: journal it, apply it if it is the newest."""
        ctx = self.ctx
        verdict = ctx.shared.record_heartbeat(self.account, beat, ctx.now())
        self.heartbeats[verdict] += 1
        if verdict == "new":
            self._apply(_Beat.of(beat), "heartbeat")
        else:
            log.info("heartbeat %s ignored (%s)", beat.timestamp.isoformat(), verdict)

    def _apply(self, beat: _Beat, source: str) -> None:
        if self._beat is not None and beat.timestamp <= self._beat.timestamp:
            return
        self._beat = beat
        if beat.status_type == "PAYLOAD_TOO_LARGE":
            # 000: over 10 MB the heartbeat carries nothing; ask v2 details instead.
            self._check.update(self.board.phones)
        else:
            for sid, phone in self.board.phones.items():
                if sid in beat.outgoing or phone.caller_id.number in beat.outgoing:
                    self._down(sid, "outgoing calls affected (heartbeat)", source)
                else:
                    self.board.mark_up(sid, source)
            self._drop_unhealthy_alternates(beat)
        if beat.status_type != self._last_status:
            self._last_status = beat.status_type
            self.ctx.note(
                "heartbeat",
                f"{source}: ExoPhones {beat.status_type}",
                status_type=beat.status_type,
                outgoing_affected=sorted(beat.outgoing),
                timestamp=beat.timestamp,
            )
        self._wake.set()

    def _drop_unhealthy_alternates(self, beat: _Beat) -> None:
        for sid, phone in self.board.phones.items():
            alt = phone.alternate
            if alt is not None and {alt, self.board.sid_of(alt)} & beat.outgoing:
                self.board.drop_alternate(sid, "it is affected too (heartbeat)")
                self._alternate.add(sid)

    def _fresh(self, timestamp: float) -> bool:
        return self.ctx.now() - timestamp < FRESH_INTERVALS * self.interval

    def _beat_silent(self) -> bool:
        return self._beat is None or not self._fresh(self._beat.timestamp)

    # -- v2 details ---------------------------------------------------------------------

    async def _refresh(self, sid: str) -> None:
        """Take ``sid``'s health from v2 details."""
        details = await self._details(sid)
        self._last_check = trio.current_time()
        if sid in self._unchecked:
            self._unchecked.discard(sid)
            self.ctx.caller_ids.set_up(sid)  # known now, one way or the other
        if details is None or details.outgoing_status is None:
            return
        if details.outgoing_status == ACTIVE:
            self.board.mark_up(sid, "v2 details")
            return
        why = f"outgoing connectivity {details.outgoing_status} (v2 details)"
        self.board.mark_down(sid, why, "v2 details")
        if self.failover and self.board.phones[sid].alternate is None:
            await self._fail_over(sid, details)

    def _down(self, sid: str, why: str, source: str) -> None:
        if self.board.mark_down(sid, why, source) and self.failover:
            self._alternate.add(sid)  # heartbeats name no alternates: v2 details do

    async def _fail_over(self, sid: str, details: ExoPhoneDetails | None) -> None:
        """Use the first healthy alternate Exotel names for ``sid``, if any."""
        named = details.outgoing_alternates if details is not None else ()
        alternates = [n for n in map(e164, named) if n is not None]
        for number in alternates:
            if await self._healthy(number):
                self.board.use_alternate(sid, number)
                return
        if details is not None:
            phone = self.board.phones[sid].caller_id.number
            message = f"no healthy alternate ExoPhone for caller ID {phone}"
            self.ctx.note("failover", message, exophone=sid, alternate=None, named=alternates)

    async def _healthy(self, number: str) -> bool:
        sid = self.board.sid_of(number)
        if sid in self.board.phones:
            return self.board.phones[sid].up
        if not self._beat_silent() and self._beat is not None:
            return sid not in self._beat.outgoing and number not in self._beat.outgoing
        details = await self._details(sid)
        return details is not None and details.outgoing_status == ACTIVE

    async def _details(self, sid: str) -> ExoPhoneDetails | None:
        await self._throttle.wait()
        try:
            return await self.ctx.client.exophone_details(sid)
        except AuthError:
            raise
        except NotFoundError:
            message = f"Exotel knows no ExoPhone {sid} (check caller_ids.sid): health unknown"
        except ExotelError as exc:
            message = f"v2 details of ExoPhone {sid} failed ({exc}): health unknown"
        log.warning(message)
        self.ctx.note("health_check_failed", message, exophone=sid)
        return None
