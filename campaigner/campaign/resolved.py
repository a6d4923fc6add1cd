"""A campaign after loading: numbers normalised, templates compiled, files resolved.

``campaigner.campaign.loader.load_campaign`` produces a :class:`LoadedCampaign`; the
compiler, ``plan`` and the engine consume it. Contacts are streamed, never held
in memory all at once, so that a million-row CSV costs constant memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from campaigner.campaign.model import Campaign
from campaigner.errors import Problem

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Contact:
    """One person to call. ``phone`` (E.164) is the contact's identity in a campaign."""

    phone: str
    raw_phone: str
    source: str  # "contacts.csv:12" (file:line) or "campaign.yaml:30", for reports and errors
    variables: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A contact row that will not be called: ``reason`` is ``invalid`` or ``duplicate``."""

    source: str
    raw_phone: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class ResolvedAgent:
    """An agent leg: ``uri`` is E.164 or a ``sip:`` URI (v3 only)."""

    uri: str
    state_management: bool | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedCallerId:
    """An ExoPhone: ``number`` in E.164, ``sid`` as heartbeats and v2 details name it."""

    number: str
    sid: str


class TemplateSet:
    """The campaign's templated string options, compiled once, rendered per contact.

    Keys are the options' key paths, e.g. ``"call.custom_field"``,
    ``"call.playback.0.url"``. Rendering runs in a sandbox with strict undefined
    variables (validation has already proven every variable exists).
    """

    def __init__(self, renderers: Mapping[str, Callable[[Mapping[str, object]], str]]) -> None:
        self._renderers = dict(renderers)

    def keys(self) -> list[str]:
        return list(self._renderers)

    def __contains__(self, key: object) -> bool:
        return key in self._renderers

    def render(self, key: str, context: Mapping[str, object]) -> str:
        return self._renderers[key](context)


@dataclass(frozen=True)
class LoadedCampaign:
    """A validated campaign, ready to compile. Built only by the loader."""

    path: Path
    base_dir: Path
    sha256: str  # of the campaign file's bytes
    campaign: Campaign
    agents: tuple[ResolvedAgent, ...]
    caller_ids: tuple[ResolvedCallerId, ...]
    connect_to: str | None
    templates: TemplateSet
    warnings: tuple[Problem, ...]
    _contacts: Callable[[], Iterator[Contact]]
    _rejected: Callable[[], Iterator[RejectedRow]]
    contact_count: int  # unique, valid contacts (after dedupe)
    invalid_count: int  # rows whose number is invalid (only when contacts.on_invalid: skip)
    duplicates: int  # rows merged into an earlier row with the same number

    def iter_contacts(self) -> Iterator[Contact]:
        """Stream the valid, deduplicated contacts in file order (re-reads the CSV)."""
        return self._contacts()

    def iter_rejected(self) -> Iterator[RejectedRow]:
        """Stream the rows that will not be called (invalid numbers, merged duplicates)."""
        return self._rejected()

    @property
    def state_dir(self) -> Path:
        return state_dir(self.campaign, self.base_dir)

    @property
    def journal_path(self) -> Path:
        return self.state_dir / f"{self.campaign.name}.sqlite3"

    @property
    def report_path(self) -> Path:
        rel = self.campaign.report or f"reports/{self.campaign.name}.html"
        return (self.base_dir / rel).resolve()


def state_dir(campaign: Campaign, base_dir: Path) -> Path:
    """Where the campaign's journal and the shared state live (``state``, relative to the
    campaign file's folder ``base_dir``)."""
    return (base_dir / campaign.state).resolve()
