"""Whatever a campaign file holds, validation reports problems; it never crashes."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from campaigner.campaign.loader import check_campaign
from campaigner.campaign.model import Campaign
from tests.campaign.conftest import BASE, FixedClock, write

SECTION_KEYS = sorted(Campaign.model_fields)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["v1", "v3", "agent_first", "flow", "30s", "09:00", "+919812300001", "{{ x"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["mode", "url", "start", "end", "phone", "x"]), inner, max_size=3
        )
    ),
    max_leaves=8,
)


def dump(data: dict[str, Any]) -> str:
    stream = io.StringIO()
    YAML().dump(data, stream)
    return stream.getvalue()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from(SECTION_KEYS), values, max_size=4))
def test_random_sections_never_crash_validation(sections: dict[str, Any]) -> None:
    base = YAML().load(BASE)
    base.update(sections)
    write("fuzz.yaml", dump(base))
    loaded, problems = check_campaign("fuzz.yaml", FixedClock())
    assert loaded is not None or any(p.severity == "error" for p in problems)
    for problem in problems:
        assert str(problem).startswith("fuzz.yaml")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes_validation(text: str) -> None:
    write("fuzz.yaml", text)
    loaded, problems = check_campaign("fuzz.yaml", FixedClock())
    assert (loaded is None) == any(p.severity == "error" for p in problems)
