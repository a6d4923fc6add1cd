"""What a rule found: a message about a key path, which the loader turns into FILE:LINE:COL.

Rules see the validated model, not the YAML; they name *where* by key path (the
same path as in the file, list items by index) and the loader locates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from campaigner.campaign.yamlfile import KeyPath

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a rule found at ``path`` (``()`` means the file as a whole)."""

    path: KeyPath
    message: str
    severity: Severity = "error"


def error(path: KeyPath, message: str) -> Finding:
    """A finding that makes the campaign invalid."""
    return Finding(path, message, "error")


def warning(path: KeyPath, message: str) -> Finding:
    """A finding shown to the reviewer; fatal only with ``validate --strict``."""
    return Finding(path, message, "warning")


def only_in(other_api: str, wire_name: str, used_api: str) -> str:
    """``"v1 only (CallType); this campaign uses api: v3"``: names the API that has it."""
    return f"{other_api} only ({wire_name}); this campaign uses api: {used_api}"
