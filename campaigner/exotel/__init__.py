"""Everything campaigner knows about Exotel's wire formats, and nothing else does.

Public surface:

- :class:`ExotelClient` (``client.py``): typed async operations on httpx + trio, with a
  :class:`RequestGate` awaited before every send and the safe-retry rules of the FAQ.
- :func:`build_connect` and :class:`WireRequest` (``registry.py``, ``wire.py``): the
  exact connect request for a ``CallSpec``, v1 form or v3 JSON, for ``plan --show``.
- :func:`parse_v1_callback`, :func:`parse_v3_callback`, :func:`parse_heartbeat`
  (``callbacks.py``): what Exotel pushes, normalised to ``CallObservation``/``Heartbeat``.
- :class:`NumberMetadata`, :class:`ExoPhoneDetails`, :class:`Heartbeat` (``models.py``).

See docs/exotel-client.md for the error mapping, retry rules and the quirks survived.
"""

from campaigner.exotel.callbacks import parse_heartbeat, parse_v1_callback, parse_v3_callback
from campaigner.exotel.client import ExotelClient
from campaigner.exotel.models import ExoPhoneDetails, Heartbeat, NumberMetadata
from campaigner.exotel.registry import REGISTRY, build_connect
from campaigner.exotel.sending import OpenGate, RequestGate
from campaigner.exotel.wire import WireRequest

__all__ = [
    "REGISTRY",
    "ExoPhoneDetails",
    "ExotelClient",
    "Heartbeat",
    "NumberMetadata",
    "OpenGate",
    "RequestGate",
    "WireRequest",
    "build_connect",
    "parse_heartbeat",
    "parse_v1_callback",
    "parse_v3_callback",
]
