"""WireRequest rendering and the GET request builders (paths, filters, cursors)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigner.domain import CallSpec
from campaigner.exotel import v1, v2, v3
from campaigner.exotel.wire import WireRequest

from .conftest import SECRETS

BASE = "https://api.exotel.com"


def test_render_v1_form_as_curl_with_redacted_auth() -> None:
    spec = CallSpec(
        api="v1",
        first_leg="+919876543210",
        second_leg="+918041234567",
        caller_id="08047112233",
        custom_field="it's 1",
        status_callback_url="https://cb.example/h?t=a&u=b",
    )
    req = v1.build_connect(spec, account_sid="acme1", base=BASE)
    assert req.render() == (
        "curl -X POST https://api.exotel.com/v1/Accounts/acme1/Calls/connect.json \\\n"
        "  -H 'Authorization: Basic ********' \\\n"
        "  -H 'Accept: application/json' \\\n"
        "  -H 'Content-Type: application/x-www-form-urlencoded' \\\n"
        "  --data-urlencode From=+919876543210 \\\n"
        "  --data-urlencode To=+918041234567 \\\n"
        "  --data-urlencode CallerId=08047112233 \\\n"
        "  --data-urlencode TimeLimit=14400 \\\n"
        "  --data-urlencode TimeOut=30 \\\n"
        "  --data-urlencode Record=false \\\n"
        "  --data-urlencode 'CustomField=it'\"'\"'s 1' \\\n"
        "  --data-urlencode 'StatusCallback=https://cb.example/h?t=a&u=b' \\\n"
        "  --data-urlencode 'StatusCallbackEvents[0]=terminal'"
    )
    assert "Authorization" not in req.render(redact=False)


def test_render_v3_json_is_the_exact_body() -> None:
    spec = CallSpec(api="v3", first_leg="+91987", second_leg="+91804", caller_id="+9180")
    req = v3.build_connect(spec, account_sid="acme1", base="https://ccm-api.exotel.com")
    assert req.render() == (
        "curl -X POST https://ccm-api.exotel.com/v3/accounts/acme1/calls \\\n"
        "  -H 'Authorization: Basic ********' \\\n"
        "  -H 'Accept: application/json' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        "  --data-raw '{\n"
        '  "from": {\n'
        '    "contact_uri": "+91987"\n'
        "  },\n"
        '  "to": {\n'
        '    "contact_uri": "+91804"\n'
        "  },\n"
        '  "virtual_number": "+9180",\n'
        '  "recording": {\n'
        '    "record": false\n'
        "  },\n"
        '  "max_time_limit": 14400,\n'
        '  "attempt_time_out": 30\n'
        "}'"
    )


def test_wire_request_refuses_credentials_and_two_bodies() -> None:
    with pytest.raises(ValueError, match="credentials never live in a WireRequest"):
        WireRequest("GET", "https://x", headers=(("Authorization", "Basic " + SECRETS[2]),))
    with pytest.raises(ValueError, match="form body or a JSON body, not both"):
        WireRequest("POST", "https://x", form=(), json_body={})


def test_call_details_requests() -> None:
    req = v1.build_call_details("9f35ba019e7fa54dcb0fab868a7019av", account_sid="a", base=BASE)
    assert (req.method, req.url) == (
        "GET",
        "https://api.exotel.com/v1/Accounts/a/Calls/9f35ba019e7fa54dcb0fab868a7019av.json"
        "?details=true",
    )
    assert req.path == "/v1/Accounts/a/Calls/9f35ba019e7fa54dcb0fab868a7019av.json"
    v3req = v3.build_call_details("abc", account_sid="a", base="https://ccm")
    assert v3req.url == "https://ccm/v3/accounts/a/calls/abc"
    assert v3.build_call_legs("abc", account_sid="a", base="https://ccm").url == (
        "https://ccm/v3/accounts/a/calls/abc/legs"
    )


def test_opaque_ids_cannot_change_the_path() -> None:
    req = v1.build_call_details("../../x?y", account_sid="a", base=BASE)
    assert req.url == "https://api.exotel.com/v1/Accounts/a/Calls/..%2F..%2Fx%3Fy.json?details=true"


def test_number_metadata_and_exophone_requests() -> None:
    assert v1.build_number_metadata("+919876543210", account_sid="a", base=BASE).url == (
        "https://api.exotel.com/v1/Accounts/a/Numbers/+919876543210.json"
    )
    assert v2.build_exophone_details("01139585476", account_sid="a", base=BASE).url == (
        "https://api.exotel.com/v2/accounts/a/incoming-phone-numbers/01139585476"
    )


def test_bulk_request_with_every_filter() -> None:
    filters = v1.BulkFilter(
        sids=("s1", "s2"),
        to=("+919876543210",),
        from_=("+918041234567", "+918041234568"),
        phone_numbers=("08047112233",),
        status=("completed", "no-answer"),
        date_created=(
            datetime(2025, 1, 31, 18, 30, tzinfo=UTC),
            datetime(2025, 2, 1, 18, 29, 59, tzinfo=UTC),
        ),
        page_size=100,
        sort_ascending=True,
    )
    req = v1.build_bulk(filters, account_sid="a", base=BASE, cursor=("After", "xyz"))
    assert req.url == (
        "https://api.exotel.com/v1/Accounts/a/Calls.json?Sid=s1%2Cs2"
        "&DateCreated=gte%3A2025-02-01+00%3A00%3A00%3Blte%3A2025-02-01+23%3A59%3A59"
        "&To=%2B919876543210&From=%2B918041234567%2C%2B918041234568"
        "&PhoneNumber=08047112233&Status=completed%2Cno-answer&PageSize=100"
        "&SortBy=DateCreated%3Aasc&After=xyz"
    )


def test_bulk_defaults_send_only_page_size() -> None:
    req = v1.build_bulk(v1.BulkFilter(), account_sid="a", base=BASE)
    assert req.url == "https://api.exotel.com/v1/Accounts/a/Calls.json?PageSize=100"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sids": tuple(f"s{i}" for i in range(101))}, "at most 100 SIDs per bulk request"),
        ({"to": ("1",) * 6}, "at most 5 numbers in the to filter"),
        ({"from_": ("1",) * 6}, "at most 5 numbers in the from_ filter"),
        ({"phone_numbers": ("1",) * 6}, "at most 5 numbers in the phone_numbers filter"),
        ({"page_size": 0}, "page_size must be 1..100"),
        ({"page_size": 101}, "page_size must be 1..100"),
        (
            {"date_created": (datetime(2025, 1, 1), datetime(2025, 1, 2))},
            "date_created needs timezone-aware datetimes",
        ),
    ],
)
def test_bulk_limits(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        v1.BulkFilter(**kwargs)  # type: ignore[arg-type]


def test_exactly_100_sids_is_allowed() -> None:
    assert len(v1.BulkFilter(sids=tuple(f"s{i}" for i in range(100))).sids) == 100


@pytest.mark.parametrize(
    ("uri", "cursor"),
    [
        ("/v1/Accounts/<sid>/Calls.json?After=xyz...", ("After", "xyz...")),
        ("/v1/Accounts/a/Calls.json?PageSize=50&Before=abc", ("Before", "abc")),
        ("https://api.exotel.com/v1/Accounts/a/Calls.json?After=q%3D1&Sid=x", ("After", "q=1")),
        ("/v1/Accounts/a/Calls.json?PageSize=50", None),
        ("", None),
        (None, None),
        (17, None),
    ],
)
def test_next_cursor(uri: object, cursor: tuple[str, str] | None) -> None:
    assert v1.next_cursor(uri) == cursor
