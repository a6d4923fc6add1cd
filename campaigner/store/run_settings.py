"""The campaign settings a run journals (meta ``settings``), typed once for every reader.

A run journals its campaign's settings before it dials (``write_settings``), so that
``plan`` can say what changed and ``report``, ``status`` and ``export`` can show times in
the campaign's timezone long after the file changed. Readers go through
:class:`RunSettings`, not the raw JSON, so that a default lives in one place: the
campaign model's own (``Schedule.timezone``, ``Pacing.requests_per_minute``...). A journal
written by an earlier version may lack a key (or the whole snapshot): the model's default
stands in, as it would have applied then. A snapshot that is not valid JSON reads as empty:
these readers report on a journal, they never refuse one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from campaigner.campaign.model import Campaign, Pacing, Schedule
from campaigner.store.journal import Journal

META_KEY = "settings"


def snapshot(campaign: Campaign) -> dict[str, Any]:
    """The campaign's settings as the journal remembers them (all but its name)."""
    dumped: dict[str, Any] = campaign.model_dump(mode="json")
    return {k: v for k, v in dumped.items() if k != "name"}


def write_settings(journal: Journal, settings: Mapping[str, Any]) -> None:
    """Journal ``settings`` (a :func:`snapshot`) as the run's settings."""
    journal.set_meta(META_KEY, json.dumps(settings, sort_keys=True, default=str))


@dataclass(frozen=True, slots=True)
class AgentName:
    """An agent the campaign file names: its number (as written) and its label."""

    contact_uri: str
    name: str


def _default(model: type[Schedule] | type[Pacing], name: str) -> Any:
    """A field's default as the campaign model declares it (never restated here)."""
    return model.model_fields[name].default


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What readers take from the journaled settings, each with the model's default.

    ``raw`` is the snapshot exactly as journaled (empty if none, or unreadable): ``plan``
    and a resumed run diff it key by key against the file's.
    """

    timezone: str = _default(Schedule, "timezone")
    requests_per_minute: int = _default(Pacing, "requests_per_minute")
    description: str | None = None
    report: str | None = None
    agents: tuple[AgentName, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, journal: Journal) -> RunSettings:
        """The settings ``journal`` holds (the model's defaults where it holds none)."""
        return cls.parse(journal.get_meta(META_KEY))

    @classmethod
    def parse(cls, text: str | None) -> RunSettings:
        """Settings from their journaled JSON; a missing or empty key takes its default."""
        try:
            raw = json.loads(text or "{}")
        except ValueError:
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        schedule, pacing, dial = (_section(raw, key) for key in ("schedule", "pacing", "dial"))
        defaults = cls()
        rpm = pacing.get("requests_per_minute")
        return cls(
            timezone=str(schedule.get("timezone") or defaults.timezone),
            requests_per_minute=rpm
            if isinstance(rpm, int) and not isinstance(rpm, bool) and rpm > 0
            else defaults.requests_per_minute,
            description=_text(raw.get("description")),
            report=_text(raw.get("report")),
            agents=tuple(_agents(dial.get("agents"))),
            raw=raw,
        )


def _section(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return str(value) if value else None


def _agents(entries: object) -> list[AgentName]:
    """Agents given a name (an agent written as a bare number has none)."""
    if not isinstance(entries, list):
        return []
    return [
        AgentName(str(entry.get("contact_uri", "")), str(entry["name"]))
        for entry in entries
        if isinstance(entry, dict) and entry.get("name")
    ]
