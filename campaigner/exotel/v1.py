"""Exotel v1 wire format: the connect form and the GET requests (docs/exotel/v1.md).

v1 paths are ``/v1/Accounts/<sid>/...`` on the v1/v2 host; ``.json`` is appended so that
Exotel answers JSON instead of XML. Only this module knows the v1 field names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from campaigner.domain import CallSpec
from campaigner.exotel.values import IST
from campaigner.exotel.wire import (
    RECORD_WHEN_UNSET,
    RING_TIMEOUT_WHEN_UNSET,
    TIME_LIMIT_WHEN_UNSET,
    WireRequest,
)

ACCEPT_JSON = (("Accept", "application/json"),)

# docs/exotel/v1.md, v1 connect: StreamBegin is Leg1Connect / Leg2Connect.
_STREAM_BEGIN = {"from_leg_connect": "Leg1Connect", "to_leg_connect": "Leg2Connect"}
_PLAYBACK_TO = {"callee": "Callee", "both": "Both"}

MAX_BULK_SIDS = 100  # docs/exotel/v1.md: "Sid=a,b,c (comma list, 20 recommended, 100 max)"
MAX_BULK_NUMBERS = 5  # docs/exotel/v1.md: "To, From, PhoneNumber (<=5 each)"
MAX_PAGE_SIZE = 100  # docs/exotel/v1.md: "PageSize (default 50, max 100)"


def _seg(value: str) -> str:
    """One path segment, quoted so an opaque SID or number cannot change the path."""
    return quote(value, safe="+")


def account_path(base: str, account_sid: str) -> str:
    return f"{base}/v1/Accounts/{_seg(account_sid)}"


def flow_url(account_sid: str, app_id: str) -> str:
    """The ``Url`` that connects the first leg to an Exotel flow (001, call-to-flow)."""
    return f"http://my.exotel.com/{account_sid}/exoml/start_voice/{app_id}"


def connect_fields(spec: CallSpec, account_sid: str) -> list[tuple[str, str | None]]:
    """Every v1 connect field in the reference's order; ``None`` values are omitted later.

    ``Record``, ``TimeLimit`` and ``TimeOut`` are always sent (campaigner's values when the
    campaign leaves them unset): Exotel's defaults differ or are undocumented.
    """
    _refuse_v3_only(spec)
    start = spec.playback[0] if spec.playback else None
    return [
        ("From", spec.first_leg),
        *_second_leg(spec, account_sid),
        ("CallerId", spec.caller_id),
        ("CallType", spec.call_type),
        # Explicit where Exotel's default differs (Record: true) or is undocumented.
        ("TimeLimit", str(spec.time_limit or TIME_LIMIT_WHEN_UNSET)),
        ("TimeOut", str(spec.ring_timeout or RING_TIMEOUT_WHEN_UNSET)),
        ("WaitUrl", spec.wait_audio_url),
        ("Record", _bool(RECORD_WHEN_UNSET if spec.record is None else spec.record)),
        ("RecordingChannels", spec.recording_channels),
        ("RecordingFormat", spec.recording_format),
        ("CustomField", spec.custom_field),
        ("StreamUrl", spec.stream_url),
        ("StreamBegin", _STREAM_BEGIN[spec.stream_begin] if spec.stream_begin else None),
        ("StartPlaybackTo", _PLAYBACK_TO[start.to] if start else None),
        ("StartPlaybackValue", start.url if start else None),
        *_callback_fields(spec),
    ]


def build_connect(spec: CallSpec, *, account_sid: str, base: str) -> WireRequest:
    """``POST /v1/Accounts/<sid>/Calls/connect.json``, form-encoded."""
    fields = connect_fields(spec, account_sid)
    return WireRequest(
        method="POST",
        url=f"{account_path(base, account_sid)}/Calls/connect.json",
        headers=ACCEPT_JSON,
        form=tuple((name, value) for name, value in fields if value is not None),
    )


def _refuse_v3_only(spec: CallSpec) -> None:
    # A guard: the campaign validator rejects these earlier (docs/exotel/v1.md, v1 connect has
    # no state management, no end playback, no callback method).
    if spec.state_management:
        raise ValueError("v1 connect has no state_management; use api: v3")
    if any(p.event != "start" for p in spec.playback) or len(spec.playback) > 1:
        raise ValueError("v1 connect supports one start playback only; use api: v3")
    if spec.callback_method not in (None, "POST"):
        raise ValueError("v1 StatusCallback is always a POST; use api: v3 for GET callbacks")


def _second_leg(spec: CallSpec, account_sid: str) -> list[tuple[str, str | None]]:
    if (spec.second_leg is None) == (spec.flow_app_id is None):
        raise ValueError("a connect needs exactly one of second_leg and flow_app_id")
    if spec.flow_app_id is not None:
        return [("Url", flow_url(account_sid, spec.flow_app_id))]
    return [("To", spec.second_leg)]


def _callback_fields(spec: CallSpec) -> list[tuple[str, str | None]]:
    if spec.status_callback_url is None:
        return []
    # docs/exotel/quirks.md: send the indexed form StatusCallbackEvents[0]=terminal; public
    # integrations add [1]=answered to receive v1 answered callbacks.
    events = [("StatusCallbackEvents[0]", "terminal")]
    if "answered" in spec.callback_events:
        events.append(("StatusCallbackEvents[1]", "answered"))
    return [
        ("StatusCallback", spec.status_callback_url),
        *events,
        ("StatusCallbackContentType", spec.callback_content_type),
    ]


def _bool(value: bool) -> str:
    return "true" if value else "false"


def build_call_details(call_sid: str, *, account_sid: str, base: str) -> WireRequest:
    """``GET .../Calls/<CallSid>.json?details=true`` (adds ``Details`` with leg statuses)."""
    url = f"{account_path(base, account_sid)}/Calls/{_seg(call_sid)}.json?details=true"
    return WireRequest(method="GET", url=url, headers=ACCEPT_JSON)


def build_number_metadata(number: str, *, account_sid: str, base: str) -> WireRequest:
    """``GET .../Numbers/<number>.json``: circle, type, operator and the DND flag."""
    url = f"{account_path(base, account_sid)}/Numbers/{_seg(number)}.json"
    return WireRequest(method="GET", url=url, headers=ACCEPT_JSON)


@dataclass(frozen=True, slots=True)
class BulkFilter:
    """Filters of ``GET /v1/Accounts/<sid>/Calls.json`` (001, bulk call details).

    ``date_created`` is an aware (from, to) pair, sent in IST as the page requires
    account-local times. Limits are checked here so a bad batch never reaches Exotel.
    """

    sids: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    from_: tuple[str, ...] = ()
    phone_numbers: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    date_created: tuple[datetime, datetime] | None = None
    page_size: int = MAX_PAGE_SIZE
    sort_ascending: bool = False

    def __post_init__(self) -> None:
        if len(self.sids) > MAX_BULK_SIDS:
            raise ValueError(f"at most {MAX_BULK_SIDS} SIDs per bulk request; batch them")
        for name in ("to", "from_", "phone_numbers"):
            if len(getattr(self, name)) > MAX_BULK_NUMBERS:
                raise ValueError(f"at most {MAX_BULK_NUMBERS} numbers in the {name} filter")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        if self.date_created and any(t.tzinfo is None for t in self.date_created):
            raise ValueError("date_created needs timezone-aware datetimes")

    def params(self) -> list[tuple[str, str]]:
        """Query parameters in a stable order, empty filters left out."""
        pairs = [
            ("Sid", ",".join(self.sids)),
            ("DateCreated", _date_range(self.date_created) if self.date_created else ""),
            ("To", ",".join(self.to)),
            ("From", ",".join(self.from_)),
            ("PhoneNumber", ",".join(self.phone_numbers)),
            ("Status", ",".join(self.status)),
            ("PageSize", str(self.page_size)),
            ("SortBy", "DateCreated:asc" if self.sort_ascending else ""),
        ]
        return [(name, value) for name, value in pairs if value]


def _date_range(pair: tuple[datetime, datetime]) -> str:
    low, high = (t.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S") for t in pair)
    return f"gte:{low};lte:{high}"


Cursor = tuple[str, str]  # ("After" | "Before", value)


def build_bulk(
    filters: BulkFilter, *, account_sid: str, base: str, cursor: Cursor | None = None
) -> WireRequest:
    """One page of bulk call details; ``cursor`` comes from :func:`next_cursor`."""
    params = filters.params() + ([cursor] if cursor else [])
    url = f"{account_path(base, account_sid)}/Calls.json?{urlencode(params)}"
    return WireRequest(method="GET", url=url, headers=ACCEPT_JSON)


def next_cursor(next_page_uri: object) -> Cursor | None:
    """The ``After``/``Before`` cursor inside ``Metadata.NextPageUri``, or ``None`` at the end.

    docs/exotel/quirks.md: "Uri has several shapes: never build URLs from it", so only the cursor
    is taken and the request is rebuilt from our own filters.
    """
    if not isinstance(next_page_uri, str) or not next_page_uri.strip():
        return None
    query = parse_qs(urlsplit(next_page_uri).query, keep_blank_values=False)
    for name in ("After", "Before"):
        values: Sequence[str] = query.get(name, ())
        if values:
            return (name, values[0])
    return None
