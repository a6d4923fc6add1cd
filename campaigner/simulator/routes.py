"""Routing: which endpoint a request is, how its errors are written, and its context.

Each route names its endpoint kind (the key of the request counters), its method, its
path pattern (the account SID is always the first group; v1 paths end with an optional
``.json`` group that selects JSON over XML) and its error style.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from campaigner.simulator import v1_api, v1_bulk, v2_api, v3_api

if TYPE_CHECKING:
    from campaigner.simulator.core import Simulator

Handler = Callable[["Simulator", "Ctx"], Awaitable[httpx.Response]]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint: its kind (for counters), method, path pattern and error style."""

    kind: str
    method: str
    pattern: re.Pattern[str]
    style: str  # "v1", "v2" or "v3": how errors are written
    handler: Handler


_V1, _V2, _V3 = r"^/v1/Accounts/([^/]+)", r"^/v2/accounts/([^/]+)", r"^/v3/accounts/([^/]+)"


def _r(kind: str, method: str, pattern: str, handler: Handler) -> Route:
    return Route(kind, method, re.compile(pattern), kind[:2], handler)


ROUTES = (
    _r("v1.connect", "POST", _V1 + r"/Calls/connect(\.json)?$", v1_api.connect),
    _r("v1.calls", "GET", _V1 + r"/Calls(\.json)?$", v1_bulk.bulk),
    _r("v1.call", "GET", _V1 + r"/Calls/([^/]+?)(\.json)?$", v1_api.call_details),
    _r("v1.numbers", "GET", _V1 + r"/Numbers/([^/]+?)(\.json)?$", v1_api.number_metadata),
    _r("v2.exophone", "GET", _V2 + r"/incoming-phone-numbers/([^/]+)$", v2_api.exophone),
    _r("v3.create", "POST", _V3 + r"/calls$", v3_api.create),
    _r("v3.legs", "GET", _V3 + r"/calls/([^/]+)/legs$", v3_api.legs),
    _r("v3.call", "GET", _V3 + r"/calls/([^/]+)$", v3_api.details),
)


@dataclass(frozen=True, slots=True)
class Ctx:
    """One request being handled: when (trio and POSIX wall time) and what matched."""

    request: httpx.Request
    now: float
    wall: float
    groups: tuple[str, ...]
    as_json: bool
    style: str


def route(request: httpx.Request) -> tuple[Route | None, re.Match[str] | None]:
    """The route and match for a request; (None, match) when only the method is wrong."""
    path, wrong_method = request.url.path, None
    for candidate in ROUTES:
        match = candidate.pattern.match(path)
        if match and candidate.method == request.method:
            return candidate, match
        wrong_method = wrong_method or match
    return None, wrong_method
