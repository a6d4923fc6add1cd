"""API versions behind one interface, chosen from an explicit registry.

A campaign says ``api: v1`` or ``api: v3``; everything that differs between versions
(request builders, answer and callback parsers, which host, the options each has, how
calls are polled, the budget's dial share, status -> outcome) is the version's
:class:`ApiDescription` (one module per version), looked up here with
:func:`api_version`. No module outside campaigner.exotel and the simulator compares the
version's name (tests/test_api_versions_layering.py), so a new version is its modules
and one entry in :data:`REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Callable

from campaigner.domain import ApiVersion, CallSpec
from campaigner.exotel import v1_version, v3_version
from campaigner.exotel.api_version import ApiDescription, ApiWire, Capabilities
from campaigner.exotel.wire import WireRequest

REGISTRY: dict[str, ApiDescription] = {
    version.name: version for version in (v1_version.VERSION, v3_version.VERSION)
}
# What a campaign (or a journal) that names no API means: the first registered version.
DEFAULT_API: ApiVersion = next(iter(REGISTRY.values())).name

__all__ = [
    "DEFAULT_API",
    "REGISTRY",
    "ApiDescription",
    "ApiWire",
    "Capabilities",
    "api_version",
    "build_connect",
    "who_has",
    "wire_for",
]


def api_version(name: str) -> ApiDescription:
    """The registered API version ``name``, or a ValueError naming the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown Exotel API {name!r}; known: {', '.join(REGISTRY)}") from None


def wire_for(api: str) -> ApiWire:
    """The wire of the registered API version ``api`` (see :func:`api_version`)."""
    return api_version(api).wire


def who_has(option: Callable[[Capabilities], str | None]) -> tuple[str, str]:
    """The first registered version that has ``option``, and its wire name for it: what a
    refusal names ("v1 only (CallType)")."""
    for version in REGISTRY.values():
        wire = option(version.capabilities)
        if wire:
            return version.name, wire
    raise ValueError("no registered Exotel API has this option")


def build_connect(spec: CallSpec, *, account_sid: str, v1_base: str, v3_base: str) -> WireRequest:
    """The connect request for ``spec`` in its API version's wire format."""
    wire = wire_for(spec.api)
    base = {"v1_base": v1_base, "v3_base": v3_base}[wire.host]
    return wire.connect(spec, account_sid=account_sid, base=base)
