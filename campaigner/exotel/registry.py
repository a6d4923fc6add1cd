"""API versions behind one interface, chosen from an explicit registry (STYLE habit 8).

A campaign says ``api: v1`` or ``api: v3``; everything that differs between the two
(request builders, answer parsers, which host) is looked up here, so no other module
branches on the version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from campaigner.domain import ApiVersion, CallObservation, CallSpec, ObservationSource
from campaigner.exotel import parse, v1, v3
from campaigner.exotel.wire import WireRequest


class ConnectBuilder(Protocol):
    def __call__(self, spec: CallSpec, *, account_sid: str, base: str) -> WireRequest: ...


class DetailsBuilder(Protocol):
    def __call__(self, call_sid: str, *, account_sid: str, base: str) -> WireRequest: ...


@dataclass(frozen=True, slots=True)
class ApiWire:
    """What one API version knows: how to ask, where, and how to read the answer."""

    name: ApiVersion
    host: Literal["v1_base", "v3_base"]
    connect: ConnectBuilder
    call_details: DetailsBuilder
    parse_call: Callable[[dict[str, object], ObservationSource], CallObservation]


V1 = ApiWire(
    name="v1",
    host="v1_base",
    connect=v1.build_connect,
    call_details=v1.build_call_details,
    parse_call=parse.v1_call,
)
V3 = ApiWire(
    name="v3",
    host="v3_base",
    connect=v3.build_connect,
    call_details=v3.build_call_details,
    parse_call=parse.v3_call,
)

REGISTRY: dict[str, ApiWire] = {"v1": V1, "v3": V3}


def wire_for(api: str) -> ApiWire:
    """The registered API version, or a ValueError naming the known ones."""
    try:
        return REGISTRY[api]
    except KeyError:
        raise ValueError(f"unknown Exotel API {api!r}; known: {', '.join(REGISTRY)}") from None


def build_connect(spec: CallSpec, *, account_sid: str, v1_base: str, v3_base: str) -> WireRequest:
    """The connect request for ``spec`` in its API version's wire format."""
    wire = wire_for(spec.api)
    base = v1_base if wire.host == "v1_base" else v3_base
    return wire.connect(spec, account_sid=account_sid, base=base)
