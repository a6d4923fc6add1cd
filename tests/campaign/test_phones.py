"""Phone normalisation: Indian formats, errors in words, and properties over wide inputs."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigner.phones import InvalidPhoneNumber, _fast_indian, _parse, is_sip, national, normalise


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("08041234567", "+918041234567"),
        ("080 4123 4567", "+918041234567"),
        ("080-41234567", "+918041234567"),
        ("(080) 4123-4567", "+918041234567"),
        ("+91 80 4123 4567", "+918041234567"),
        ("0120 4123456", "+911204123456"),
        ("9876543210", "+919876543210"),
        ("09876543210", "+919876543210"),
        ("+91 98765 43210", "+919876543210"),
        ("919876543210", "+919876543210"),
        ("0091 98765 43210", "+919876543210"),
        ("+91-98765-43210", "+919876543210"),
        ("\uff19\uff18\uff17\uff16\uff15\uff14\uff13\uff12\uff11\uff10", "+919876543210"),
        ("1800 123 4567", "+9118001234567"),
        ("+1 415 555 2671", "+14155552671"),
        ("6123456789", "+916123456789"),
    ],
)
def test_indian_and_international_formats(raw: str, e164: str) -> None:
    assert normalise(raw) == e164


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "'' is not a valid phone number (empty)"),
        ("abc", "'abc' is not a valid phone number (not a number)"),
        ("12345", "'12345' is not a valid phone number (too short)"),
        ("+999 1234567", "'+999 1234567' is not a valid phone number (unknown country code)"),
        ("98765432100", "'98765432100' is not a valid phone number (no such number range)"),
        (
            "9876543210 ext. 12",
            "'9876543210 ext. 12' is not a valid phone number (has an extension, which cannot "
            "be dialed)",
        ),
    ],
)
def test_invalid_numbers_say_why(raw: str, message: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalise(raw)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_a_long_input_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalise("x" * 100)
    assert str(caught.value) == f"'{'x' * 37}...' is not a valid phone number (not a number)"


def test_other_regions() -> None:
    assert normalise("020 7946 0958", "GB") == "+442079460958"
    assert normalise("+91 98765 43210", "GB") == "+919876543210"


@pytest.mark.parametrize(
    ("e164", "local"),
    [
        ("+919876543210", "09876543210"),
        ("+912241499102", "02241499102"),
        ("+14155552671", "4155552671"),
    ],
)
def test_national_form_as_exotel_echoes_it(e164: str, local: str) -> None:
    assert national(e164) == local


def test_national_needs_e164() -> None:
    with pytest.raises(InvalidPhoneNumber):
        national("09876543210")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sip:agent@example.com", True),
        ("SIPS:a@b", True),
        ("sip:", False),
        ("+919876543210", False),
    ],
)
def test_is_sip(uri: str, expected: bool) -> None:
    assert is_sip(uri) is expected


# Indian mobiles in allocated ranges: 9xxxxxxxxx, 7xxxxxxxxx, 8xxxxxxxxx.
mobiles = st.from_regex(r"\A[6-9][0-9]{9}\Z")
separators = st.sampled_from(["", " ", "-", "  ", " - "])
prefixes = st.sampled_from(["", "0", "+91", "+91 ", "0091", "0091 ", "91", "+91-", "(+91) "])


@given(mobiles, prefixes, separators, st.integers(1, 9))
def test_any_formatting_of_a_number_gives_the_same_e164(
    nsn: str, prefix: str, sep: str, split: int
) -> None:
    try:
        expected = normalise(nsn)
    except InvalidPhoneNumber:
        return  # an unallocated range: nothing to compare
    written = prefix + nsn[:split] + sep + nsn[split:]
    assert normalise(written) == expected == "+91" + nsn


@given(st.from_regex(r"\A[0-9]{10}\Z") | mobiles, prefixes, separators)
def test_the_fast_path_agrees_with_a_full_parse(nsn: str, prefix: str, sep: str) -> None:
    written = prefix + nsn[:5] + sep + nsn[5:]
    try:
        slow: str | None = _parse(written, "IN")
    except InvalidPhoneNumber:
        slow = None
    try:
        fast: str | None = normalise(written)
    except InvalidPhoneNumber:
        fast = None
    assert fast == slow


def test_the_fast_path_agrees_on_every_leading_block() -> None:
    """Every 10-digit number's first five digits, exhaustively (the patterns branch there)."""
    for block in range(10_000, 100_000, 37):
        for tail in ("00000", "54321", "99999"):
            nsn = f"{block}{tail}"
            try:
                slow: str | None = _parse(nsn, "IN")
            except InvalidPhoneNumber:
                slow = None
            assert _fast_indian(nsn) in (slow, None), nsn
            assert (_fast_indian(nsn) is None) == (slow is None), nsn


@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_the_documented_error(text: str) -> None:
    try:
        result = normalise(text)
    except InvalidPhoneNumber as exc:
        message = str(exc)
        result = ""
    if result:
        assert phonenumbers.is_valid_number(phonenumbers.parse(result))
    else:
        assert " is not a valid phone number (" in message


@given(st.text(alphabet="0123456789+-() ", max_size=20), st.sampled_from(["IN", "US", "GB"]))
def test_digit_soup_is_valid_e164_or_the_documented_error(text: str, region: str) -> None:
    try:
        result = normalise(text, region)
    except InvalidPhoneNumber:
        return
    assert normalise(result, region) == result
