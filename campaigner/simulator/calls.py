"""The account's call book: creating calls, finding them, and what tests may inspect.

Calls live in a dict by SID and a list in creation order (bulk listing, cursors); a
per-number "busy until" index answers "is this agent on a call?" in O(1). Nothing here
does I/O or starts tasks.
"""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from campaigner.simulator.phones import stable_fraction, to_e164
from campaigner.simulator.scenario import KINDS, Agent, Device, NumberBehaviour, Scenario
from campaigner.simulator.timeline import Plan, SimCall, apply_timeline, v3_status

_SID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True, slots=True)
class CallInfo:
    """A snapshot of one simulated call, for tests and benchmarks (trio times)."""

    sid: str
    api: str  # "v1" or "v3"
    from_number: str  # E.164
    to_number: str | None  # E.164; None for a call to a flow
    caller_id: str  # the ExoPhone, E.164
    created_at: float
    answered_at: float | None  # when both legs were connected (the flow, for flow calls)
    ended_at: float
    status: str  # final v1 Status
    v3_status: str  # final v3 status
    kind: str  # completed, busy, ..., agent_hangup, from_leg_no_dial, to_leg_no_dial
    answer_lost: bool  # the connect answer was deliberately lost (ambiguous fault)
    created_on_5xx: bool  # the connect answered 5xx although the call was created


def _e164(number: str) -> str:
    e164 = to_e164(number)
    if e164 is None:
        raise ValueError(f"not a valid phone number: {number!r}")
    return e164


class CallBook:
    """Every call of the account plus the mutable per-number behaviour."""

    def __init__(self, scenario: Scenario, sid_nonce: str | None = None) -> None:
        self.scenario = scenario
        self.scale = scenario.time_scale
        self.numbers: dict[str, NumberBehaviour] = dict(scenario.numbers)
        self.agents: dict[str, Agent] = dict(scenario.agents)
        self.by_sid: dict[str, SimCall] = {}
        self.ordered: list[SimCall] = []
        self._busy_until: dict[str, float] = {}
        # Told of every call as it is created (its fate is decided then): the sandbox
        # writes it down beside the journal, so a resumed run can restore it.
        self.on_create: Callable[[SimCall], None] | None = None
        # SIDs must differ between simulator instances even with the same seed: a sandbox
        # run resumed after Ctrl-C talks to a new simulator, and its journal still holds
        # the SIDs the first one handed out (calls.sid is unique). Tests that compare two
        # instances call for call pass the same nonce; nothing else depends on it.
        nonce = secrets.token_hex(8) if sid_nonce is None else sid_nonce
        self._sid_rng = random.Random(f"{scenario.seed}:sid:{nonce}")
        self._rng = random.Random(f"{scenario.seed}:calls")
        mix = [(kind, scenario.outcome_mix.get(kind, 0.0)) for kind in KINDS]
        self._mix_kinds = [kind for kind, weight in mix if weight > 0]
        self._mix_weights = [weight for _, weight in mix if weight > 0]

    # ---- behaviour -------------------------------------------------------------------

    def behaviour(self, e164: str) -> NumberBehaviour | None:
        """The configured behaviour of a number, if any."""
        return self.numbers.get(e164)

    def is_dnd(self, e164: str) -> bool:
        """True when the number is on the NDNC registry (configured or by ``dnd_fraction``)."""
        conf = self.numbers.get(e164)
        if conf is not None and conf.dnd is not False:
            return conf.dnd is True
        return stable_fraction(e164, "dnd") < self.scenario.dnd_fraction

    def is_busy(self, e164: str, now: float) -> bool:
        """Is the number on an active call (or an agent marked busy) at trio time ``now``?"""
        agent = self.agents.get(e164)
        if agent is not None and agent.busy:
            return True
        return self._busy_until.get(e164, -1.0) > now

    def customer_leg(self, frm: str, to: str | None) -> int:
        """1 when the call dials the customer first (To is a listed agent, From is not)."""
        return 1 if to in self.agents and frm not in self.agents else 2

    def set_number(self, number: str, *, outcome: str | None, dnd: bool | str | None) -> None:
        """Change a number's behaviour from now on (None leaves a setting unchanged)."""
        e164 = _e164(number)
        old = self.numbers.get(e164, NumberBehaviour())
        changes = {k: v for k, v in (("outcome", outcome), ("dnd", dnd)) if v is not None}
        self.numbers[e164] = NumberBehaviour.model_validate({**old.model_dump(), **changes})

    def set_agent(
        self, number: str, *, busy: bool | None = None, device: Device | None = None
    ) -> None:
        """Make a number a listed agent; a setting left None keeps its current value."""
        e164 = _e164(number)
        old = self.agents.get(e164, Agent())
        self.agents[e164] = Agent(
            busy=old.busy if busy is None else busy,
            device=old.device if device is None else device,
        )

    # ---- creation --------------------------------------------------------------------

    def new_sid(self) -> str:
        """32 lower-case alphanumerics, as real SIDs are (docs/exotel/quirks.md: not hex)."""
        while True:
            number = self._sid_rng.getrandbits(166)  # 36**32 > 2**165
            chars = []
            for _ in range(32):
                number, digit = divmod(number, 36)
                chars.append(_SID_ALPHABET[digit])
            sid = "".join(chars)
            if sid not in self.by_sid:
                return sid

    def create(self, call: SimCall, plan_args: dict[str, Any], now: float, wall: float) -> None:
        """Decide ``call``'s timeline from its numbers, store it and mark its legs busy."""
        frm_conf, to_conf = self.numbers.get(call.frm), self.numbers.get(call.to or "")
        plan = Plan(
            from_kind=frm_conf.outcome if frm_conf else None,
            to_kind=to_conf.outcome if to_conf else None,
            mix_kind=self._rng.choices(self._mix_kinds, self._mix_weights)[0],
            customer_leg=self.customer_leg(call.frm, call.to),
            leg1_busy=self.is_busy(call.frm, now),
            leg2_busy=call.to is not None and self.is_busy(call.to, now),
            **plan_args,
        )
        call.created, call.wall0 = now, wall
        apply_timeline(call, plan, self.scenario.timing, self._rng)
        call.drift = self._rng.getrandbits(8)
        self.by_sid[call.sid] = call
        self.ordered.append(call)
        end = now + call.end / self.scale
        self._mark_busy(call.frm, end)
        if call.to is not None and call.a1 is not None:
            self._mark_busy(call.to, end)
        if self.on_create is not None:
            self.on_create(call)

    def restore(self, call: SimCall) -> None:
        """Take back a call another instance created (its timeline already decided and
        ``created`` already moved onto this instance's clock): a resumed sandbox run."""
        if call.sid in self.by_sid:
            raise ValueError(f"call {call.sid} is already in the book")
        call.seq = len(self.ordered)
        self.by_sid[call.sid] = call
        self.ordered.append(call)
        end = self.at(call, call.end)
        self._mark_busy(call.frm, end)
        if call.to is not None and call.a1 is not None:
            self._mark_busy(call.to, end)

    def _mark_busy(self, e164: str, until: float) -> None:
        if self._busy_until.get(e164, -1.0) < until:
            self._busy_until[e164] = until

    # ---- time ------------------------------------------------------------------------

    def offset(self, call: SimCall, now: float) -> float:
        """Simulated seconds since the call was created."""
        return (now - call.created) * self.scale

    def at(self, call: SimCall, offset: float) -> float:
        """Trio time of a simulated offset within the call."""
        return call.created + offset / self.scale

    # ---- introspection ---------------------------------------------------------------

    def info(self, call: SimCall) -> CallInfo:
        """A frozen snapshot of ``call``."""
        return CallInfo(
            sid=call.sid,
            api=call.api,
            from_number=call.frm,
            to_number=call.to,
            caller_id=call.caller,
            created_at=call.created,
            answered_at=None if call.a2 is None else self.at(call, call.a2),
            ended_at=self.at(call, call.end),
            status=call.status,
            v3_status=v3_status(call),
            kind=call.kind,
            answer_lost=call.lost == 1,
            created_on_5xx=call.lost == 2,
        )
