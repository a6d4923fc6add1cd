"""Property tests: timelines are consistent for any plan; numbers normalise like phonenumbers."""

from __future__ import annotations

import random

import phonenumbers
from hypothesis import given
from hypothesis import strategies as st

from campaigner.simulator.callbacks import events_of, flatten
from campaigner.simulator.phones import national, to_e164
from campaigner.simulator.scenario import KINDS, Timing
from campaigner.simulator.timeline import (
    CallOptions,
    Plan,
    SimCall,
    apply_timeline,
    legs_at,
    v1_status_at,
    v3_status,
)

V1_FINAL = {"completed", "busy", "no-answer", "failed"}
V3_FINAL = {
    "completed",
    "from_leg_unanswered",
    "to_leg_unanswered",
    "from_leg_cancelled",
    "to_leg_no_dial",
    "from_leg_no_dial",
}
OUTCOME = st.sampled_from((None, *KINDS))


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    return Plan(
        from_kind=draw(OUTCOME),
        to_kind=draw(OUTCOME),
        mix_kind=draw(st.sampled_from(KINDS)),
        customer_leg=draw(st.sampled_from((1, 2))),
        leg1_busy=draw(st.booleans()),
        leg2_busy=draw(st.booleans()),
        flow=draw(st.booleans()),
        from_no_dial=draw(st.booleans()),
        to_no_dial=draw(st.booleans()),
        ring_timeout=draw(st.none() | st.integers(1, 60)),
        time_limit=draw(st.none() | st.integers(1, 14400)),
        compress=draw(st.booleans()),
    )


@given(plan=plans(), seed=st.integers(0, 2**32))
def test_timelines_are_consistent(plan: Plan, seed: int) -> None:
    call = SimCall(
        "s" * 32, 0, "v1", "+919800000001", None if plan.flow else "+919811111111", "+912241499102"
    )
    call.opts = CallOptions(
        from_raw="x", to_raw=None, callback_url="http://cb", events=("answered",)
    )
    apply_timeline(call, plan, Timing(), random.Random(seed))
    marks = [m for m in (call.q, call.a1, call.a2, call.end) if m is not None]
    assert marks == sorted(marks)
    assert call.status in V1_FINAL
    assert v3_status(call) in V3_FINAL
    assert (call.a2 is not None) == (call.status == "completed")
    assert (call.talk > 0) == (call.status == "completed")
    assert call.leg1 in V1_FINAL
    assert call.leg2 in {"", "completed", "busy", "no-answer", "failed", "canceled"}
    if call.leg1 != "completed":
        assert call.leg2 == ""
    if plan.time_limit is not None:
        assert call.talk <= plan.time_limit
    # states only move forward, and the final one is the decided one
    order = ["queued", "ringing", "in-progress", call.status]
    seen = [v1_status_at(call, x / 2) for x in range(0, 2 * call.end + 3)]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert legs_at(call, call.end) == (call.leg1, call.leg2)
    events = events_of(call)
    assert [offset for offset, _ in events] == sorted(offset for offset, _ in events)
    assert events[-1] == (call.end, 3)


@given(nsn=st.from_regex(r"[6-9][0-9]{9}", fullmatch=True))
def test_indian_mobiles_normalise_like_libphonenumber(nsn: str) -> None:
    parsed = phonenumbers.parse(nsn, "IN")
    expected = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    for raw in (nsn, "0" + nsn, "+91" + nsn, "91" + nsn, f"+91 {nsn[:5]} {nsn[5:]}"):
        assert to_e164(raw) == expected
    assert national(expected) == "0" + nsn


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text("ab", min_size=1, max_size=2), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_flatten_keeps_every_leaf(value: object) -> None:
    pairs = flatten({"root": value})
    assert all(key.startswith("root") for key, _ in pairs)
    assert len({key for key, _ in pairs}) == len(pairs)
