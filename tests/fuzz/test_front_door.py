"""The campaign loader, the CSV reader and the phone parser under hostile input.

Whatever bytes a campaign file or a contacts CSV holds, ``check_campaign`` returns
problems that name the file (never a traceback), ``load_campaign`` raises only
``CampaignInvalid``, and a campaign that loads yields only valid E.164 numbers.
``tests/campaign/test_robustness.py`` fuzzes top-level sections and text; these add raw
bytes, every key of the schema at any depth, and the CSV reader's own input.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from campaigner.campaign.loader import check_campaign, load_campaign
from campaigner.errors import CampaignInvalid
from campaigner.phones import InvalidPhoneNumber, is_region, national, normalise
from tests.campaign.conftest import BASE, FixedClock
from tests.fuzz.strategies import fuzz

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "campaign.schema.json").read_text())


def _property_names(node: Any) -> set[str]:
    if isinstance(node, dict):
        names = set(node.get("properties", {}))
        for value in node.values():
            names |= _property_names(value)
        return names
    if isinstance(node, list):
        return set().union(*(_property_names(v) for v in node)) if node else set()
    return set()


KEYS = sorted(_property_names(SCHEMA))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=24),
    st.sampled_from(
        [
            "v1",
            "v3",
            "agent_first",
            "contact_first",
            "flow",
            "30s",
            "2m",
            "1h",
            "09:00",
            "24:00",
            "Asia/Kolkata",
            "+919812300001",
            "08041234567",
            "{{ name }}",
            "{% if %}",
            "2026-11-23T10:00:00+05:30",
            "127.0.0.1:0",
            "https://x.example",
            "contacts.csv",
        ]
    ),
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=25,
)


def check_file(name: str) -> None:
    """The contract: problems name a file; load_campaign raises only CampaignInvalid."""
    loaded, problems = check_campaign(name, FixedClock())
    for problem in problems:
        assert str(problem).startswith(("fuzz.yaml", "contacts.csv", "optout")), str(problem)
    assert (loaded is None) == any(p.severity == "error" for p in problems)
    if loaded is None:
        with pytest.raises(CampaignInvalid) as refused:
            load_campaign(name, FixedClock())
        assert refused.value.problems
        return
    for contact in loaded.iter_contacts():
        assert phonenumbers.is_valid_number(phonenumbers.parse(contact.phone))
    for _ in loaded.iter_rejected():
        pass


@fuzz()
@given(raw=st.binary(max_size=600), prefix=st.sampled_from([b"", b"\xef\xbb\xbf", BASE.encode()]))
def test_campaign_file_bytes(raw: bytes, prefix: bytes) -> None:
    Path("fuzz.yaml").write_bytes(prefix + raw)
    check_file("fuzz.yaml")


@fuzz()
@given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=6))
def test_schema_keys_at_any_depth(sections: dict[str, Any]) -> None:
    base = YAML().load(BASE)
    for key, value in sections.items():
        if key in base and isinstance(base[key], dict) and isinstance(value, dict):
            base[key].update(value)  # keep the section valid around the fuzzed keys
        else:
            base[key] = value
    stream = io.StringIO()
    YAML().dump(base, stream)
    Path("fuzz.yaml").write_text(stream.getvalue())
    check_file("fuzz.yaml")


CSV_CAMPAIGN = BASE.replace('inline: ["+919812300001"]', "file: contacts.csv")
fields = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "+919812300001",
            "09812300002",
            "98123 00003",
            "12345",
            '"',
            '""',
            "a,b",
            "\x00",
            "\r",
            "\n",
            "\ufeff",
            "phone",
            "name",
        ]
    ),
)


@st.composite
def csv_texts(draw: st.DrawFn) -> bytes:
    """A CSV a person or a broken export could produce: odd quoting, delimiters, line ends."""
    header = draw(st.lists(fields, max_size=4))
    if draw(st.booleans()):
        header = ["phone", *header]
    rows = draw(st.lists(st.lists(fields, max_size=5), max_size=6))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    text = end.join(sep.join(row) for row in [header, *rows])
    if draw(st.booleans()):
        text += draw(st.sampled_from(['"' + "x" * 140_000, "\x00" * 3, "é"]))
    codec = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    return text.encode(codec, errors="replace")


@fuzz()
@given(
    body=csv_texts() | st.binary(max_size=400),
    options=st.sampled_from(["", "delimiter", "encoding"]),
)
def test_contacts_csv(body: bytes, options: str) -> None:
    extra = {"": "", "delimiter": ", delimiter: ';'", "encoding": ", encoding: cp1252"}[options]
    Path("fuzz.yaml").write_text(
        CSV_CAMPAIGN.replace("file: contacts.csv", f"file: contacts.csv{extra}")
    )
    Path("contacts.csv").write_bytes(body)
    check_file("fuzz.yaml")


def test_an_unterminated_quote_in_the_header_is_a_problem_not_a_crash() -> None:
    Path("fuzz.yaml").write_text(CSV_CAMPAIGN)
    Path("contacts.csv").write_text('"phone' + "x" * 140_000 + "\n+919812300001\n")
    loaded, problems = check_campaign("fuzz.yaml", FixedClock())
    assert loaded is None
    assert [str(p) for p in problems if p.severity == "error"] == [
        "contacts.csv:1:1: header: unreadable CSV: field larger than field limit (131072)"
    ]


@fuzz()
@given(
    raw=st.text(max_size=60) | st.text(alphabet="0123456789+ -()", max_size=400),
    region=st.text(max_size=3) | st.sampled_from(["IN", "in", "US", "ZZ", "001", ""]),
)
def test_phone_parser_any_text_any_region(raw: str, region: str) -> None:
    try:
        e164, message = normalise(raw, region), ""
    except InvalidPhoneNumber as exc:
        e164, message = "", str(exc)
    if not e164:
        assert " is not a valid phone number (" in message
        assert "\n" not in message
        assert len(message) < 500  # a long input is shortened in the message
        return
    assert phonenumbers.is_valid_number(phonenumbers.parse(e164))
    assert normalise(e164) == e164
    assert national(e164)
    assert isinstance(is_region(region), bool)


@pytest.mark.parametrize("size", [10_000, 1_000_000])
def test_a_huge_phone_string_is_refused_quickly(size: int) -> None:
    with pytest.raises(InvalidPhoneNumber, match=r"\.\.\.' is not a valid phone number"):
        normalise("9" * size)
