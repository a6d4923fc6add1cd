"""What the engine keeps in memory about a run: its open calls and what they hold (slots,
agents, caller IDs).

The journal is the truth; these are indexes over its open part, rebuilt from it
on resume. Only calls that are open (intent, placed, ambiguous) live here, so
memory follows the concurrency, not the size of the contact list.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import trio

from campaigner.campaign.resolved import ResolvedAgent, ResolvedCallerId


@dataclass(slots=True)
class OpenCall:
    """A call that was, or may have been, placed and has no outcome yet."""

    call_id: int
    contact_id: int
    phone: str  # the contact's number (E.164)
    attempt: int
    first_leg: str
    caller_id: str
    agent: str | None
    state: str  # intent | placed | ambiguous
    intent_at: float  # wall epoch seconds
    intent_trio: float
    sid: str | None = None
    placed_trio: float | None = None
    last_poll_trio: float | None = None
    answered: bool = False
    # Polling (campaigner.engine.poller): when Exotel was seen to have ended the call
    # while its outcome was not decidable yet, when this call's own details are next
    # asked for, whether its agent and slot were already given back, and whether the
    # last poll at tracking.give_up_after was made.
    over_trio: float | None = None
    details_at: float | None = None
    freed: bool = False
    settled: bool = False


class CallRegistry:
    """Open calls by id and by SID."""

    def __init__(self) -> None:
        self._by_id: dict[int, OpenCall] = {}
        self._by_sid: dict[str, OpenCall] = {}
        self._ambiguous: dict[int, OpenCall] = {}

    def add(self, call: OpenCall) -> None:
        self._by_id[call.call_id] = call
        if call.sid:
            self._by_sid[call.sid] = call
        if call.state == "ambiguous":
            self._ambiguous[call.call_id] = call

    def set_sid(self, call: OpenCall, sid: str, placed_trio: float) -> None:
        call.sid = sid
        call.state = "placed"
        call.placed_trio = placed_trio
        self._by_sid[sid] = call
        self._ambiguous.pop(call.call_id, None)

    def mark_ambiguous(self, call: OpenCall) -> None:
        """The call's POST answer was lost: it waits for reconciliation."""
        call.state = "ambiguous"
        self._ambiguous[call.call_id] = call

    def ambiguous(self) -> list[OpenCall]:
        return list(self._ambiguous.values())

    def remove(self, call: OpenCall) -> None:
        self._by_id.pop(call.call_id, None)
        self._ambiguous.pop(call.call_id, None)
        if call.sid:
            self._by_sid.pop(call.sid, None)

    def by_sid(self, sid: str) -> OpenCall | None:
        return self._by_sid.get(sid)

    def get(self, call_id: int) -> OpenCall | None:
        return self._by_id.get(call_id)

    def __iter__(self) -> Iterator[OpenCall]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)


class Slots:
    """``max_concurrent_calls``: a counting gate that tolerates over-subscription on resume."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._lot = trio.lowlevel.ParkingLot()

    async def acquire(self) -> None:
        while self.in_use >= self.limit:
            await self._lot.park()
        self.in_use += 1

    def waited_on(self) -> bool:
        """Is someone waiting for a slot (every one taken by a call in flight)?"""
        return len(self._lot) > 0

    def occupy(self) -> None:
        """Count a call recovered from the journal (may exceed the limit briefly)."""
        self.in_use += 1

    def release(self) -> None:
        self.in_use = max(self.in_use - 1, 0)
        self._lot.unpark()


class AgentPool:
    """A power dialer's agents: each has at most one call, and waits after misses.

    ``take`` returns the agent idle longest; an agent who missed calls is rested
    for a while (30 s, doubling per consecutive miss, at most 10 min) so that an
    absent agent does not burn through the contact list.
    """

    def __init__(self, agents: tuple[ResolvedAgent, ...]) -> None:
        self._agents = {a.uri: a for a in agents}
        self._idle: deque[str] = deque(a.uri for a in agents)
        self._rest_until: dict[str, float] = {}
        self._misses: dict[str, int] = {}
        self._changed = trio.Event()
        self._waiting = 0

    async def take(self) -> ResolvedAgent:
        while True:
            now = trio.current_time()
            for uri in list(self._idle):
                if self._rest_until.get(uri, 0.0) <= now:
                    self._idle.remove(uri)
                    return self._agents[uri]
            rested = [self._rest_until.get(u, 0.0) for u in self._idle]
            self._changed = trio.Event()
            self._waiting += 1
            try:
                with trio.move_on_at(min(rested) if rested else float("inf")):
                    await self._changed.wait()
            finally:
                self._waiting -= 1

    def waited_on(self) -> bool:
        """Is the dialer waiting for an agent (every one on a call or resting)?"""
        return self._waiting > 0

    def occupy(self, uri: str) -> None:
        """Mark an agent busy with a call recovered from the journal."""
        if uri in self._idle:
            self._idle.remove(uri)

    def release(self, uri: str, *, missed: bool = False, busy: bool = False) -> None:
        """The agent's call is over; ``missed``/``busy`` rest them before the next one."""
        if uri not in self._agents or uri in self._idle:
            return
        if missed or busy:
            self._note_miss(uri)
        else:
            self._misses.pop(uri, None)
            self._rest_until.pop(uri, None)
        self._idle.append(uri)
        self._changed.set()

    def rest(self, uri: str) -> None:
        """An agent given back when their call ended turned out to have missed it: rest
        them as :meth:`release` would have, without touching whether they are idle."""
        if uri in self._agents:
            self._note_miss(uri)

    def _note_miss(self, uri: str) -> None:
        misses = self._misses.get(uri, 0) + 1
        self._misses[uri] = misses
        self._rest_until[uri] = trio.current_time() + min(30.0 * 2 ** (misses - 1), 600.0)

    def idle(self) -> int:
        return len(self._idle)

    def __len__(self) -> int:
        return len(self._agents)


class CallerIds:
    """ExoPhones in rotation; a caller ID marked down is skipped until it is back.

    ``substitute`` maps a down ExoPhone to an alternate Exotel named for it (used
    only when the campaign allows failover).
    """

    def __init__(self, caller_ids: tuple[ResolvedCallerId, ...]) -> None:
        self.all = caller_ids
        self._next = 0
        self.down: set[str] = set()  # ExoPhone SIDs
        self.substitute: dict[str, str] = {}  # down SID -> alternate number
        self.changed = trio.Event()

    def next(self) -> str | None:
        """The next caller ID number to use, or None when every one is down."""
        for _ in range(len(self.all)):
            cid = self.all[self._next % len(self.all)]
            self._next += 1
            if cid.sid not in self.down:
                return cid.number
            if cid.sid in self.substitute:
                return self.substitute[cid.sid]
        return None

    def usable(self) -> int:
        """How many caller IDs can place calls (up, or down with an alternate)."""
        return sum(1 for cid in self.all if cid.sid not in self.down or cid.sid in self.substitute)

    def set_down(self, sid: str, alternate: str | None = None) -> bool:
        """Mark an ExoPhone down; returns True if that changed anything."""
        changed = sid not in self.down or self.substitute.get(sid) != alternate
        self.down.add(sid)
        if alternate:
            self.substitute[sid] = alternate
        else:
            self.substitute.pop(sid, None)
        if changed:
            self._notify()
        return changed

    def set_up(self, sid: str) -> bool:
        """Mark an ExoPhone healthy again; returns True if it was down."""
        if sid not in self.down:
            return False
        self.down.discard(sid)
        self.substitute.pop(sid, None)
        self._notify()
        return True

    def _notify(self) -> None:
        self.changed.set()
        self.changed = trio.Event()
