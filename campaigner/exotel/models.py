"""Results of the Exotel client other than CallObservation (which lives in domain)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

HeartbeatStatus = Literal["OK", "WARNING", "CRITICAL", "PAYLOAD_TOO_LARGE"]


@dataclass(frozen=True, slots=True)
class NumberMetadata:
    """What v1 number metadata says about a phone number (001).

    ``dnd`` is ``True``/``False`` for Exotel's ``"Yes"``/``"No"`` and ``None`` for
    ``"Unavailable"`` (or anything else): unknown is not the same as "not on DND".
    """

    phone_number: str | None
    circle: str | None
    circle_name: str | None
    number_type: str | None
    operator: str | None
    operator_name: str | None
    dnd: bool | None


@dataclass(frozen=True, slots=True)
class ExoPhoneDetails:
    """Connectivity of one ExoPhone from v2 ``incoming-phone-numbers/<sid>`` (000).

    ``outgoing_status`` is ``active``, ``major_outage`` or ``partial_network_outage``;
    ``outgoing_alternates`` lists ExoPhones Exotel suggests instead (empty when null).
    ``last_check_time`` is the outgoing check's time (the one campaigns depend on).
    """

    sid: str
    phone_number: str | None
    incoming_status: str | None
    outgoing_status: str | None
    outgoing_alternates: tuple[str, ...]
    last_check_time: datetime | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One heartbeat push (000). Repeats are normal; ``timestamp`` orders them."""

    timestamp: datetime
    status_type: HeartbeatStatus
    incoming_affected: tuple[str, ...] = ()
    outgoing_affected: tuple[str, ...] = ()
    data: Mapping[str, str] = field(default_factory=dict)
