"""Shared strategies and settings of the fuzz tests."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


def fuzz() -> settings:
    """No deadline, and as many examples as the loaded profile says (``--hypothesis-profile
    fuzz`` for a long session). Call it in the decorator: it must run after the profile
    is loaded."""
    return settings(deadline=None, suppress_health_check=QUIET)


# JSON values, nested: what a hostile or broken sender can put in a body.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "completed",
            "terminal",
            "answered",
            "1970-01-01 05:30:00",
            "2026-11-23 10:00:00",
            "2026-11-23 10:00:00+05:30",
            "null",
            "-1",
            "1e999",
        ]
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def dumps(value: Any) -> bytes:
    """JSON as a sender might write it (NaN and Infinity included)."""
    return json.dumps(value, allow_nan=True).encode()
