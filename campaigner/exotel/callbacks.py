"""Parse what Exotel pushes to us: v1 and v3 status callbacks, and heartbeats.

One entry point per source, each returning the same normalised value the client's
answers produce (:class:`campaigner.domain.CallObservation`, or :class:`Heartbeat`).
Anything malformed (bad JSON, wrong types, no call SID, not UTF-8, oversized) raises
:class:`campaigner.errors.CallbackError` with a one-line message, and nothing else does
escape: a receiver can answer 400 and carry on.

docs/exotel/quirks.md: callbacks arrive late, twice, out of order or never; deduplicating on
(CallSid, event) and keeping terminal states sticky is the receiver's job, not this one's.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict

from campaigner.domain import CallObservation, LegState
from campaigner.errors import CallbackError
from campaigner.exotel import forms
from campaigner.exotel.models import Heartbeat, HeartbeatStatus
from campaigner.exotel.parse import MAX_DEPTH, ParseError, validate
from campaigner.exotel.v1_records import V1Callback
from campaigner.exotel.v3_records import V3Callback
from campaigner.exotel.values import Rfc3339, blank_to_none

MAX_HEARTBEAT_BYTES = 12 * 1024 * 1024  # 000: PAYLOAD_TOO_LARGE replaces bodies over 10 MB

# Where Exotel keeps call recordings: the v1 connect and call-details pages show
# https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/<account>/<id>.mp3 and the v3
# pages https://s3-ap-south-1.amazonaws.com/exotel-mum1-recordings/Exotel/<id>.mp3, so
# an AWS S3 endpoint with one of those buckets (path style or virtual host), or a host
# of Exotel's own domains. The buckets are named exactly: S3 bucket names are first
# come, first served, so "any bucket starting with exotel" would let anyone in. Anything
# else in a callback is not a recording Exotel made, and must never become a link in
# the report (docs/exotel/).
RECORDING_DOMAINS = ("exotel.com", "exotel.in")
RECORDING_BUCKETS = frozenset({"exotelrecordings", "exotel-mum1-recordings"})
_S3_DOMAIN = "amazonaws.com"


def parse_v1_callback(body: bytes, content_type: str, query: str = "") -> CallObservation:
    """A v1 StatusCallback (003): multipart or urlencoded form, or JSON.

    Without ``EventType`` it is the basic four-field callback, sent when the call ends,
    so it counts as ``terminal``. ``answered`` callbacks (``Status=in-progress``) are not
    terminal. The page's own example with ``Status: no-answer`` and both legs
    ``completed`` is kept as it is: status and legs are both reported.
    """
    try:
        data = _fields(body, content_type, query, "POST")
        return _v1_observation(validate(V1Callback, data, ""), data)
    except (forms.FormError, ParseError) as exc:
        raise CallbackError(f"v1 callback: {exc}") from None
    except Exception as exc:  # the contract: malformed input never escapes as anything else
        raise CallbackError(f"v1 callback: unreadable body ({type(exc).__name__})") from exc


def parse_v3_callback(
    body: bytes, content_type: str, query: str = "", method: str = "POST"
) -> CallObservation:
    """A v3 status callback (002): JSON, form, or a GET query string.

    The JSON shape is ``{"event_details": {"event_type"}, "call_details": {...}}``; forms
    and queries carry it flattened with brackets (``call_details[sid]=...``) or flat
    (``event_type=...&sid=...``).
    """
    try:
        data = _fields(body, content_type, query, method.upper())
        if "call_details" not in data:
            data = {"event_details": {"event_type": data.get("event_type")}, "call_details": data}
        callback = validate(V3Callback, data, "")
        return callback.call_details.observation("callback", data, event=callback.event())
    except (forms.FormError, ParseError) as exc:
        raise CallbackError(f"v3 callback: {exc}") from None
    except Exception as exc:  # the contract: malformed input never escapes as anything else
        raise CallbackError(f"v3 callback: unreadable body ({type(exc).__name__})") from exc


def parse_heartbeat(body: bytes, content_type: str) -> Heartbeat:
    """A heartbeat push (000). The page does not name its content type, so any type is
    read as JSON. ``incoming_affected``/``outgoing_affected`` null or absent mean none."""
    del content_type  # 000 shows JSON bodies only
    try:
        forms.check_size(body, MAX_HEARTBEAT_BYTES)
        beat = validate(_Heartbeat, forms.decode_json(body), "")
    except (forms.FormError, ParseError) as exc:
        raise CallbackError(f"heartbeat: {exc}") from None
    except Exception as exc:  # the contract: malformed input never escapes as anything else
        raise CallbackError(f"heartbeat: unreadable body ({type(exc).__name__})") from exc
    return Heartbeat(
        timestamp=beat.timestamp,
        status_type=beat.status_type,
        incoming_affected=tuple(beat.incoming_affected),
        outgoing_affected=tuple(beat.outgoing_affected),
        data=dict(beat.data),
    )


def recording_allowed(url: str | None, extra_hosts: tuple[str, ...] = ()) -> bool:
    """True when ``url`` is an https link on one of Exotel's recording hosts.

    ``extra_hosts`` (exact host names) widens the list for a sandbox run whose simulator
    serves recordings elsewhere; a real run passes none.
    """
    if not url:
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None:
        return False  # https://exotel.com@evil.example/ reads as exotel.com to a human
    if host in extra_hosts:
        return parts.scheme in ("https", "http")
    if parts.scheme != "https" or not host:
        return False
    if any(host == domain or host.endswith("." + domain) for domain in RECORDING_DOMAINS):
        return True
    if not host.endswith("." + _S3_DOMAIN):
        return False
    labels = host.split(".")
    if labels[0].startswith("s3"):  # path style: s3[-region].amazonaws.com/<bucket>/...
        bucket = parts.path.lstrip("/").split("/", 1)[0]
    else:  # virtual-host style: <bucket>.s3[.-region].amazonaws.com
        bucket = labels[0] if len(labels) > 3 and labels[1].startswith("s3") else ""
    return bucket in RECORDING_BUCKETS


def _fields(body: bytes, content_type: str, query: str, method: str) -> dict[str, object]:
    # The callback URL is called "exactly as given, query string included" (docs/exotel/quirks.md),
    # so a query usually holds our own token: it is read only for a GET or an empty body.
    forms.check_size(body)
    if method == "GET" or not body.strip():
        if not query.strip():
            raise forms.FormError("empty callback: no body and no query string")
        return forms.unflatten(_shallow(forms.decode_query(query)))
    kind = forms.media_type(content_type)
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return forms.decode_json(body)
        except RecursionError:
            raise forms.FormError("body is nested too deeply") from None
    return forms.unflatten(_shallow(forms.decode_pairs(body, content_type)))


def _shallow(pairs: forms.Pairs) -> forms.Pairs:
    """Refuse bracket keys deeper than the parsers read (``a[b][c]...`` 1,000 deep)."""
    for key, _ in pairs:
        if key.count("[") > MAX_DEPTH:
            raise forms.FormError(f"a field name is nested more than {MAX_DEPTH} levels deep")
    return pairs


def _v1_observation(callback: V1Callback, raw: dict[str, object]) -> CallObservation:
    event = callback.event()
    if event == "terminal" and callback.status is None:
        raise ParseError("a terminal callback (EventType terminal or none) needs a Status")
    terminal = event == "terminal"
    return CallObservation(
        sid=callback.call_sid,
        api="v1",
        source="callback",
        event=event,
        terminal=terminal,
        status=callback.status,
        legs=tuple(LegState(leg.status, leg.on_call_duration) for leg in callback.legs),
        record_complete=terminal and callback.end_time is not None,
        talk_time=callback.conversation_duration,
        recording_url=callback.recording_url,
        created_at=callback.date_created,
        started_at=callback.start_time,
        ended_at=callback.end_time,
        from_number=callback.from_,
        to_number=callback.to,
        caller_id=callback.phone_number_sid,
        custom_field=callback.custom_field,
        raw=raw,
    )


def _none_to_empty(value: object) -> object:
    return [] if value is None else value


def _phone_numbers(value: object) -> object:
    # 000: data is {"<phone_number_sid>": {"phone_number": "+91..."}}; null means none.
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("data must be an object")
    return {
        str(sid): entry.get("phone_number") if isinstance(entry, dict) else entry
        for sid, entry in value.items()
    }


Sid = Annotated[str, BeforeValidator(blank_to_none)]


class _Heartbeat(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    timestamp: Rfc3339
    status_type: HeartbeatStatus
    incoming_affected: Annotated[list[Sid], BeforeValidator(_none_to_empty)] = []
    outgoing_affected: Annotated[list[Sid], BeforeValidator(_none_to_empty)] = []
    data: Annotated[dict[str, Sid], BeforeValidator(_phone_numbers)] = {}
