"""Masking: numbers keep their last 4 digits, links keep only what is safe."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigner.report.masking import mask_data, mask_phone, mask_sid, mask_text, safe_link

DOT = "\u2022"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+919812300001", f"+91{DOT * 6}0001"),
        ("+14155552671", f"+{DOT * 7}2671"),
        ("09812300004", f"{DOT * 7}0004"),
        ("12345", f"{DOT}2345"),
        ("123", "123"),
        ("sip:agent7@pbx.example", "sip:agent7@pbx.example"),
        ("not a number", "not a number"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_mask_text_masks_every_number_and_nothing_else() -> None:
    text = "Call to [09812300021] failed; retry +91 98123 00022 at 10:30 (order 1234567)"
    assert mask_text(text) == (
        f"Call to [{DOT * 7}0021] failed; retry +{DOT * 2} {DOT * 5} {DOT}0022 at 10:30 "
        "(order 1234567)"
    )


def test_mask_data_walks_nested_values() -> None:
    data = {"to": "+919812300001", "n": 3, "legs": ["+919812300002", None], "ok": True}
    assert mask_data(data) == {
        "to": f"+91{DOT * 6}0001",
        "n": 3,
        "legs": [f"+91{DOT * 6}0002", None],
        "ok": True,
    }


@pytest.mark.parametrize(
    ("sid", "masked"),
    [
        ("acmecorp42", f"ac{DOT * 6}42"),
        ("abcdef", DOT * 6),
        ("exotel_sandbox_1", f"ex{DOT * 12}_1"),
    ],
)
def test_mask_sid(sid: str, masked: str) -> None:
    assert mask_sid(sid) == masked


@given(
    prefix=st.text(alphabet="abc :[(", max_size=5),
    digits=st.text(alphabet="0123456789", min_size=8, max_size=15),
    suffix=st.text(alphabet="xyz ])", max_size=5),
)
def test_no_run_of_five_original_digits_survives(prefix: str, digits: str, suffix: str) -> None:
    masked = mask_text(prefix + digits + suffix)
    assert masked.endswith(digits[-4:] + suffix)
    assert sum(c.isdigit() for c in masked) == 4 + sum(c.isdigit() for c in prefix + suffix)


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://s3.example.com/rec/abc.mp3", "https://s3.example.com/rec/abc.mp3"),
        ("http://rec.example.test:8080/a.mp3?sig=x1", "http://rec.example.test:8080/a.mp3?sig=x1"),
        ("https://key:token@api.exotel.com/rec.mp3", "https://api.exotel.com/rec.mp3"),
        ("https://rec.example.test/a.mp3#frag", "https://rec.example.test/a.mp3"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//evil.example/x", None),
        ("https://", None),
        ("https://host:99999/x", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_link(url: str | None, safe: str | None) -> None:
    assert safe_link(url) == safe
