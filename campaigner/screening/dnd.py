"""The DND policy (``screening.dnd``): may a number on India's do-not-call registry be called?

India's NDNC registry (TRAI) forbids commercial calls to registered numbers; Exotel
reports membership through v1 number metadata (``DND: Yes | No | Unavailable``) and
refuses a connect to such a number with a 403 (docs/exotel/quirks.md). The policy:

- ``skip``: numbers on the registry are never dialed (outcome ``skipped``, reason ``dnd``);
- ``only_transactional``: they are dialed only when the campaign's calls are
  transactional (``call.call_type: trans``), else skipped;
- ``call``: no lookups at all; Exotel itself may still refuse with 403 NDNC.

``Unavailable`` (Exotel could not tell) is not evidence of registration: the number is
called, and Exotel's own 403 remains the safety net.
"""

from __future__ import annotations

from typing import Literal

DndPolicy = Literal["skip", "call", "only_transactional"]

# Number metadata covers Indian numbers only (docs/exotel/v1.md: "Indian numbers only").
INDIAN_PREFIX = "+91"


def needs_lookup(policy: DndPolicy, phone: str) -> bool:
    """True when ``phone`` (E.164) must be looked up before its first dial."""
    return policy != "call" and phone.startswith(INDIAN_PREFIX)


def may_call(policy: DndPolicy, call_type: str | None, dnd: bool | None) -> bool:
    """Whether a number whose registry status is ``dnd`` may be dialed under ``policy``.

    ``dnd`` is True (on the registry), False (not on it) or None (``Unavailable``).
    """
    if dnd is not True or policy == "call":
        return True
    return policy == "only_transactional" and call_type == "trans"
