"""A callback decides nothing on its token alone: it is checked against the call it names.

Why: Exotel signs nothing, so the only proof a callback is Exotel's is the token in its
URL, and a URL leaks (a proxy's access log keeps it; the journal keeps it for as long
as the run may resume). Whoever holds it could post a terminal callback saying
``completed``, an hour of talk and a recording link of their own, and the genuine
callback after it would be a mere duplicate. So, before the tracker applies a callback:

- **refused** (journaled in a digested form, counted, warned, changes nothing) when it
  contradicts the call it names: a CustomField other than the one sent, a From, To or
  caller ID that is none of the call's numbers, times before the call was placed or
  after now (clocks may differ by ``SKEW``); a refused terminal callback also has the
  call confirmed as below, so a genuine callback refused by mistake costs one request;
- **held** and confirmed with a details GET of the call (within the run's request
  budget) when it is surprising: a terminal callback without the call's CustomField, or
  that says nothing that can be checked (no CustomField, no number), or claims more talk
  than the call could have had (longer than the time since the call was placed, than
  its own start-to-end time, or than the call's time limit). Exotel's answer decides;
- applied otherwise, but a recording URL that is not on Exotel's recording hosts is
  dropped from it (the outcome stands; the link never reaches the report).

Callbacks for SIDs not (yet) placed are kept, bounded in count, with their payload
reduced to a digest; and each run has its own token (:class:`CallbackTokens`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import trio

from campaigner.domain import CallObservation
from campaigner.engine.context import RunContext
from campaigner.engine.open_calls import OpenCall
from campaigner.engine.receiver import CallbackReceiver
from campaigner.engine.tracker import Tracker
from campaigner.errors import ExotelError
from campaigner.exotel.callbacks import recording_allowed
from campaigner.exotel.models import Heartbeat
from campaigner.store.journal import Journal

log = logging.getLogger("campaigner.receiver")

SKEW = 600.0  # seconds Exotel's clock (second precision, IST) may differ from ours
# Seconds of talk a callback may claim beyond what the call could have had: Exotel counts
# whole seconds, and the time since placing is measured on our own clock (no skew).
SLACK = 10.0
UNMATCHED_KEEP = 5_000  # callbacks for unknown SIDs journaled and kept per run; then refused
REFUSED_JOURNAL = 1_000  # refused and held callbacks journaled per run (all are counted)
PER_CALL = 16  # callbacks admitted per call (Exotel sends two or three, and may repeat one)
MAX_RAW = 8 * 1024  # a callback payload journaled in full up to this size (JSON), else digested
MAX_FIELD = 128  # characters of a text field kept from an unmatched callback (CustomField's max)
MAX_URL = 512  # characters of a recording URL kept from an unmatched callback
CONFIRM_QUEUE = 256  # calls waiting for a confirming details GET
CONFIRM_EVERY = 60.0  # seconds between two confirmations of one call
_DIGITS = 8  # a number with fewer digits is not compared (a SIP URI, a masked value)
_COMPARED = 10  # national significant digits compared (0-prefixed vs E.164 forms)
_SPEC_CACHE = 4096

Judgement = Literal["accept", "refuse", "confirm"]
TOKENS_META = "callback_tokens"


@dataclass(frozen=True, slots=True)
class Claimed:
    """What the journal knows about the call a callback names."""

    call_id: int
    numbers: tuple[str, ...]  # first leg, second leg, caller ID, agent, contact
    custom_field: str | None
    intent_at: float  # wall epoch seconds the call was about to be placed
    time_limit: int | None


def judge(obs: CallObservation, claimed: Claimed, now: float) -> tuple[Judgement, str]:
    """Accept, refuse or confirm ``obs`` for ``claimed``, and why. Pure."""
    refused = _contradiction(obs, claimed, now)
    if refused is not None:
        return "refuse", refused
    if not obs.terminal:
        return "accept", ""
    if claimed.custom_field is not None and obs.custom_field is None:
        # 003: a terminal callback carries the CustomField the call was placed with
        return "confirm", "a terminal callback without the call's CustomField"
    if not _checkable(obs, claimed):
        return "confirm", "a terminal callback with nothing to check it against"
    surprise = _surprise(obs, claimed, now)
    if surprise is not None:
        return "confirm", surprise
    return "accept", ""


def _contradiction(obs: CallObservation, claimed: Claimed, now: float) -> str | None:
    if (
        claimed.custom_field is not None
        and obs.custom_field is not None
        and obs.custom_field != claimed.custom_field
    ):
        return "its CustomField is not the call's"
    for name, number in (("From", obs.from_number), ("To", obs.to_number)):
        if _comparable(number) and not _one_of(number, claimed.numbers):
            return f"its {name} is not a number of the call"
    if _comparable(obs.caller_id) and not _one_of(obs.caller_id, claimed.numbers):
        return "its caller ID is not the call's"
    for name, moment in (
        ("created", obs.created_at),
        ("started", obs.started_at),
        ("ended", obs.ended_at),
    ):
        if moment is None:
            continue
        at = moment.timestamp()
        if at < claimed.intent_at - SKEW:
            return f"it says the call {name} before it was placed"
        if at > now + SKEW:
            return f"it says the call {name} in the future"
    if obs.started_at and obs.ended_at and obs.ended_at < obs.started_at:
        return "it says the call ended before it started"
    return None


def _checkable(obs: CallObservation, claimed: Claimed) -> bool:
    if claimed.custom_field is not None and obs.custom_field is not None:
        return True
    return any(_comparable(n) for n in (obs.from_number, obs.to_number, obs.caller_id))


def _surprise(obs: CallObservation, claimed: Claimed, now: float) -> str | None:
    talk = obs.talk_time or 0
    if talk <= 0:
        return None
    if talk > now - claimed.intent_at + SLACK:
        return "it claims more talk than the time since the call was placed"
    if claimed.time_limit is not None and talk > claimed.time_limit + SLACK:
        return "it claims more talk than the call's time limit"
    if obs.started_at and obs.ended_at:
        lasted = (obs.ended_at - obs.started_at).total_seconds()
    else:
        lasted = None
    if lasted is not None and talk > lasted + SLACK:
        return "it claims more talk than the call's own start-to-end time"
    return None


def _digits(number: str | None) -> str:
    return "".join(ch for ch in number or "" if ch.isdigit())


def _comparable(number: str | None) -> bool:
    """A phone number worth comparing: digits (and +, spaces, dashes) only, enough of them."""
    if not number:
        return False
    text = number.strip()
    return len(_digits(text)) >= _DIGITS and all(ch.isdigit() or ch in "+ -()" for ch in text)


def _one_of(number: str | None, known: tuple[str, ...]) -> bool:
    # Exotel echoes 0-prefixed national numbers (09XXXXXXXXX) where E.164 was sent.
    tail = _digits(number)[-_COMPARED:]
    return any(_digits(k)[-_COMPARED:] == tail for k in known if _comparable(k))


def digest(raw: object) -> dict[str, object]:
    """A bounded stand-in for a payload: its size, a SHA-256 and its first keys."""
    text = json.dumps(raw, default=str, sort_keys=True)
    keys = sorted(str(k)[:40] for k in raw) if isinstance(raw, dict) else []
    return {
        "digest": hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest(),
        "bytes": len(text),
        "keys": keys[:20],
    }


def bounded(obs: CallObservation) -> CallObservation:
    """``obs`` with a payload small enough to journal and keep: digested past MAX_RAW."""
    size = len(json.dumps(obs.raw, default=str))
    if size <= MAX_RAW:
        return obs
    return replace(obs, raw=digest(obs.raw))


def reduced(obs: CallObservation) -> CallObservation:
    """An unmatched callback as kept: text fields cut short, the payload digested."""

    def cut(text: str | None) -> str | None:
        return None if text is None else text[:MAX_FIELD]

    return replace(
        obs,
        sid=obs.sid[:MAX_FIELD],
        status=cut(obs.status),
        recording_url=obs.recording_url if len(obs.recording_url or "") <= MAX_URL else None,
        from_number=cut(obs.from_number),
        to_number=cut(obs.to_number),
        caller_id=cut(obs.caller_id),
        custom_field=cut(obs.custom_field),
        state=cut(obs.state),
        legs=obs.legs[:4],
        raw=digest(obs.raw),
    )


class CallbackGuard:
    """Admits callbacks into the tracker (``admit``) and confirms the surprising ones."""

    def __init__(
        self,
        ctx: RunContext,
        observe: Callable[[CallObservation], None],
        warn: Callable[[str, str], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self._observe = observe
        self._warn = warn or (lambda kind, message: log.warning(message))
        self._specs: OrderedDict[int, Claimed] = OrderedDict()
        self._send, self._queue = trio.open_memory_channel[str](CONFIRM_QUEUE)
        self._confirmed_at: dict[str, float] = {}
        self._admitted: Counter[int] = Counter()
        self._journaled = 0
        self.unmatched = 0
        self.refused = 0
        self.held = 0
        self.confirmed = 0
        self.recordings_dropped = 0

    # -- admission ------------------------------------------------------------------------

    def admit(self, obs: CallObservation) -> CallObservation | None:
        """The callback as the tracker may apply it, or None when it must change nothing."""
        if obs.source != "callback":
            return obs
        claimed = self._claimed(obs.sid)
        if claimed is None:
            return self._unmatched(obs)
        found, why = judge(obs, claimed, self.ctx.now())
        if found == "refuse":
            self.refused += 1
            self._journal(obs, claimed.call_id, "refused")
            self._warn("forged", f"refused a callback for a call of this run: {why}")
            if obs.terminal:  # if it was Exotel's after all (a number written oddly), ask
                self._ask(obs.sid)
            return None
        if found == "confirm":
            self.held += 1
            self._journal(obs, claimed.call_id, "held")
            self._warn("held", f"asking Exotel before applying a callback: {why}")
            self._ask(obs.sid)
            return None
        self._admitted[claimed.call_id] += 1
        if self._admitted[claimed.call_id] > PER_CALL:
            self.refused += 1
            self._warn("repeated", f"more than {PER_CALL} callbacks for one call: dropped")
            return None
        if obs.recording_url and not recording_allowed(obs.recording_url):
            self.recordings_dropped += 1
            self._warn("recording", "dropped a recording link not on Exotel's recording hosts")
            obs = replace(obs, recording_url=None)
        return bounded(obs)

    def _unmatched(self, obs: CallObservation) -> CallObservation | None:
        self.unmatched += 1
        if self.unmatched > UNMATCHED_KEEP:
            self.refused += 1
            self._warn(
                "unmatched", f"more than {UNMATCHED_KEEP} callbacks for unknown calls: dropped"
            )
            return None
        return reduced(obs)

    def _journal(self, obs: CallObservation, call_id: int, effect: str) -> None:
        self._journaled += 1
        if self._journaled > REFUSED_JOURNAL:
            return
        self.ctx.journal.record_event(
            at=self.ctx.now(),
            sid=obs.sid,
            call_id=call_id,
            source=obs.source,
            event=obs.event,
            status=(obs.status or "")[:40] or None,
            effect=effect,
            payload=digest(obs.raw),  # evidence, not content: no forged link is kept
        )

    def _claimed(self, sid: str) -> Claimed | None:
        call = self.ctx.registry.by_sid(sid)
        if call is not None:
            key = call.call_id
            known = [call.phone, call.first_leg, call.caller_id, call.agent or ""]
            intent_at = call.intent_at
        else:
            row = self.ctx.journal.call_by_sid(sid)
            if row is None:
                return None
            key, intent_at = row.id, row.intent_at
            known = [row.caller_id, row.agent or ""]
        cached = self._specs.get(key)
        if cached is not None:
            self._specs.move_to_end(key)
            return cached
        request = self.ctx.journal.call_request(key)
        keys = ("first_leg", "second_leg", "caller_id")
        numbers = known + [str(request.get(k) or "") for k in keys]
        custom = request.get("custom_field")
        limit = request.get("time_limit")
        claimed = Claimed(
            call_id=key,
            numbers=tuple(n for n in numbers if n),
            custom_field=custom if isinstance(custom, str) else None,
            intent_at=intent_at,
            time_limit=limit if isinstance(limit, int) else None,
        )
        self._specs[key] = claimed
        while len(self._specs) > _SPEC_CACHE:
            self._specs.popitem(last=False)
        return claimed

    # -- confirmation -------------------------------------------------------------------

    def _ask(self, sid: str) -> None:
        now = trio.current_time()
        last = self._confirmed_at.get(sid)
        if last is not None and now - last < CONFIRM_EVERY:
            return
        try:
            self._send.send_nowait(sid)
        except trio.WouldBlock:
            return  # the poller remains the safety net
        self._confirmed_at[sid] = now
        if len(self._confirmed_at) > _SPEC_CACHE:
            oldest = min(self._confirmed_at, key=self._confirmed_at.__getitem__)
            del self._confirmed_at[oldest]

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Confirm held callbacks, one details GET each, through the run's rate limiter."""
        task_status.started()
        async for sid in self._queue:
            call = self.ctx.registry.by_sid(sid)
            row = None if call is not None else self.ctx.journal.call_by_sid(sid)
            if call is None and row is None:
                continue
            api = self.ctx.loaded.campaign.api
            try:
                found = await self.ctx.client.call_details(sid, api=api, purpose="poll")
            except ExotelError as exc:
                self._warn("confirm", f"could not confirm a held callback ({exc.status})")
                continue
            self.confirmed += 1
            self._observe(found)


@dataclass(frozen=True, slots=True)
class CallbackTokens:
    """This run's callback token, and earlier runs' tokens with the span they were used.

    A call placed while a token was current names that token in its callback URL, and
    Exotel calls that URL even after a resume; so an old token is accepted, but only for
    a call still open whose intent falls in that token's span.
    """

    current: str
    previous: tuple[tuple[str, float, float], ...]  # (token, since, until) wall epochs

    @classmethod
    def rotate(cls, journal: Journal, at: float) -> CallbackTokens:
        """A new token for this run, journaled; keeps old ones only while calls need them."""
        raw = journal.get_meta(TOKENS_META)
        spans: list[tuple[str, float, float]] = []
        if raw:
            for entry in json.loads(raw):
                until = entry.get("until")
                spans.append((str(entry["token"]), float(entry["since"]), float(until or at)))
        else:
            legacy = journal.get_meta("callback_token")
            if legacy:  # a journal from before tokens rotated: its token spans everything
                spans.append((legacy, 0.0, at))
        intents = [row.intent_at for row in journal.open_calls()]
        kept = tuple(s for s in spans if any(s[1] <= t < s[2] for t in intents))
        current = secrets.token_urlsafe(24)
        stored: list[dict[str, object]] = [
            {"token": t, "since": since, "until": until} for t, since, until in kept
        ]
        stored.append({"token": current, "since": at, "until": None})
        with journal.transaction():
            journal.set_meta(TOKENS_META, json.dumps(stored))
            journal.set_meta("callback_token", current)
        return cls(current, kept)

    def tokens(self) -> tuple[str, ...]:
        return tuple(token for token, _, _ in self.previous)

    def allows(self, token: str, call: OpenCall | None) -> bool:
        """May a callback under the old ``token`` speak for ``call``?"""
        if call is None:
            return False
        return any(
            t == token and since <= call.intent_at < until for t, since, until in self.previous
        )

    @classmethod
    def load(cls, journal: Journal) -> CallbackTokens:
        """The tokens :meth:`rotate` journaled for this run."""
        entries = json.loads(journal.get_meta(TOKENS_META) or "[]")
        current = next((str(e["token"]) for e in entries if e.get("until") is None), None)
        if current is None:
            raise ValueError("no callback token for this run: rotate() first")
        previous = tuple(
            (str(e["token"]), float(e["since"]), float(e["until"]))
            for e in entries
            if e.get("until") is not None
        )
        return cls(current, previous)


def guarded_receiver(
    ctx: RunContext,
    tracker: Tracker,
    nursery: trio.Nursery,
    *,
    heartbeat_token: str | None,
    on_heartbeat: Callable[[Heartbeat], None] | None,
) -> CallbackReceiver:
    """The run's receiver: this run's token (and older ones for their own open calls), and
    a :class:`CallbackGuard` between every callback and the tracker."""
    tokens = CallbackTokens.load(ctx.journal)
    app = CallbackReceiver(
        tokens.current,
        tracker.observe,
        heartbeat_token=heartbeat_token,
        on_heartbeat=on_heartbeat,
        previous_tokens=tokens.tokens(),
        previous_allows=lambda token, sid: tokens.allows(token, ctx.registry.by_sid(sid)),
    )
    guard = CallbackGuard(ctx, tracker.observe, app.warn)
    tracker.admit = guard.admit
    app.guard = guard
    nursery.start_soon(guard.run)
    return app
