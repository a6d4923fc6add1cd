"""Exotel v3 (CCM) wire format: the JSON connect body and the GET requests.

v3 paths are ``/v3/accounts/<sid>/calls[...]`` on the CCM host (docs/exotel/v3.md).
Only this module knows the v3 field names.
"""

from __future__ import annotations

from urllib.parse import quote

from campaigner.domain import CallSpec
from campaigner.exotel.wire import (
    RECORD_WHEN_UNSET,
    RING_TIMEOUT_WHEN_UNSET,
    TIME_LIMIT_WHEN_UNSET,
    WireRequest,
)

ACCEPT_JSON = (("Accept", "application/json"),)


def calls_path(base: str, account_sid: str) -> str:
    return f"{base}/v3/accounts/{quote(account_sid, safe='')}/calls"


def connect_body(spec: CallSpec) -> dict[str, object]:
    """The v3 JSON object, keys in the reference's order, unset options left out.

    ``recording.record``, ``max_time_limit`` and ``attempt_time_out`` are always sent, with
    the same values as on v1 (campaigner's when unset), so both APIs behave alike.
    """
    if spec.flow_app_id is not None:
        raise ValueError("connecting to a flow is v1 only; use api: v1")
    if spec.second_leg is None:
        raise ValueError("a v3 connect needs second_leg")
    parts: list[tuple[str, object]] = [
        ("from", _from_leg(spec)),
        ("to", {"contact_uri": spec.second_leg}),
        ("virtual_number", spec.caller_id),
        ("recording", _recording(spec)),
        ("wait_audio_url", spec.wait_audio_url),
        ("max_time_limit", spec.time_limit or TIME_LIMIT_WHEN_UNSET),
        ("attempt_time_out", spec.ring_timeout or RING_TIMEOUT_WHEN_UNSET),
        ("custom_field", spec.custom_field),
        ("status_callback", _status_callback(spec)),
        ("playback", [{"event": p.event, "to": p.to, "value": p.url} for p in spec.playback]),
        ("streaming", _drop_none({"url": spec.stream_url, "begin": spec.stream_begin})),
    ]
    return {key: value for key, value in parts if value not in (None, [], {})}


def build_connect(spec: CallSpec, *, account_sid: str, base: str) -> WireRequest:
    """``POST /v3/accounts/<sid>/calls`` with a JSON body."""
    return WireRequest(
        method="POST",
        url=calls_path(base, account_sid),
        headers=ACCEPT_JSON,
        json_body=connect_body(spec),
    )


def _from_leg(spec: CallSpec) -> dict[str, object]:
    return _drop_none({"contact_uri": spec.first_leg, "state_management": spec.state_management})


def _drop_none(block: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in block.items() if value is not None}


def _recording(spec: CallSpec) -> dict[str, object]:
    return _drop_none(
        {
            "record": RECORD_WHEN_UNSET if spec.record is None else spec.record,
            "channels": spec.recording_channels,
            "format": spec.recording_format,
        }
    )


def _status_callback(spec: CallSpec) -> list[dict[str, object]]:
    # 002: one entry per subscribed event, each with its own url/method/content_type.
    if spec.status_callback_url is None:
        return []
    return [
        _drop_none(
            {
                "event": event,
                "url": spec.status_callback_url,
                "method": spec.callback_method,
                "content_type": spec.callback_content_type,
            }
        )
        for event in spec.callback_events
    ]


def build_call_details(call_sid: str, *, account_sid: str, base: str) -> WireRequest:
    """``GET /v3/accounts/<sid>/calls/<call_sid>``."""
    url = f"{calls_path(base, account_sid)}/{quote(call_sid, safe='')}"
    return WireRequest(method="GET", url=url, headers=ACCEPT_JSON)


def build_call_legs(call_sid: str, *, account_sid: str, base: str) -> WireRequest:
    """``GET /v3/accounts/<sid>/calls/<call_sid>/legs``."""
    url = f"{calls_path(base, account_sid)}/{quote(call_sid, safe='')}/legs"
    return WireRequest(method="GET", url=url, headers=ACCEPT_JSON)
