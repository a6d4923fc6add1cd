"""Before a run dials: claim the journal, compare with the last run, sync the contacts.

Running ``campaigner run`` again on the same file resumes from the journal. The
journal remembers the campaign it belongs to and the file it ran; an edited file
resumes with a summary of what changed: contacts added are dialed, contacts
removed are not (those never dialed end ``skipped``, reason ``removed``), and
changed call options apply to new calls only (calls are compiled at dial time).
Opt-out lists (``screening.opt_out``) are read here, at every prepare: a contact not
in a call whose number is listed ends ``skipped``, reason ``opted_out``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from campaigner.campaign.resolved import LoadedCampaign
from campaigner.errors import StateError
from campaigner.screening.rule import Phase, screening_rules
from campaigner.store.journal import Journal
from campaigner.store.run_settings import RunSettings, snapshot, write_settings


@dataclass(frozen=True)
class Preparation:
    """What preparing the journal found."""

    token: str
    resumed: bool
    file_changed: bool
    added: int
    removed: int
    changed_sections: list[str] = field(default_factory=list)
    # contacts skipped by this prepare's before-the-run rules: the opt-out lists
    opted_out: int = 0

    def summary(self) -> list[str]:
        """Human lines describing a resumed, edited campaign, and opt-outs applied."""
        lines = self.resume_lines()
        if self.opted_out:
            lines.append(f"{self.opted_out} contacts opted out (screening.opt_out): not called")
        return lines

    def resume_lines(self) -> list[str]:
        if not self.resumed:
            return []
        lines = ["resuming from the journal"]
        if self.file_changed:
            lines.append(
                "the campaign file changed since the last run: "
                f"{self.added} contacts added (will be dialed), "
                f"{self.removed} removed (will not be dialed)"
            )
            if self.changed_sections:
                lines.append(
                    "changed settings (apply to new calls only): "
                    + ", ".join(self.changed_sections)
                )
        return lines


def check_journal(loaded: LoadedCampaign, *, sandbox: bool) -> None:
    """Before any preflight: the journal is free and of this kind (raises StateError).

    A second run must hear "another run holds the journal", not "the callback port is
    in use" (the first run holds both), and a real run must not ask Exotel anything for
    a journal it would refuse anyway. Creates nothing.
    """
    if not loaded.journal_path.exists():
        return
    with Journal.open(loaded.journal_path) as journal:
        _same_campaign(journal, loaded)
        _same_kind(journal, sandbox)


def prepare_journal(
    journal: Journal, loaded: LoadedCampaign, at: float, *, sandbox: bool = False
) -> Preparation:
    """Claim or resume ``journal`` for ``loaded``; import its contacts. One call per run.

    A journal is either a sandbox journal (simulated calls) or a real one, for ever:
    resuming a sandbox journal for real would take simulated calls for real ones and
    dial nobody, and a sandbox run must never write simulated calls into a real one.
    """
    name = _same_campaign(journal, loaded)
    _same_kind(journal, sandbox)
    resumed = name is not None
    token = journal.get_meta("callback_token") or secrets.token_urlsafe(24)
    previous_sha = journal.get_meta("sha256")
    previous = RunSettings.read(journal).raw
    current = settings_snapshot(loaded)
    with journal.transaction():
        journal.set_meta("campaign", loaded.campaign.name)
        journal.set_meta("callback_token", token)
        journal.set_meta("file", str(loaded.path))
        journal.set_meta("sha256", loaded.sha256)
        journal.set_meta("api", loaded.campaign.api)
        journal.set_meta("mode", loaded.campaign.dial.mode)
        write_settings(journal, current)
        journal.set_meta("sandbox", "1" if sandbox else "0")
    added, removed = journal.sync_contacts(
        ((c.phone, c.raw_phone, c.source, c.variables) for c in loaded.iter_contacts()), at
    )
    journal.record_skipped_rows(
        (r.source, r.raw_phone, r.reason, r.message) for r in loaded.iter_rejected()
    )
    changed = sorted(k for k in set(previous) | set(current) if previous.get(k) != current.get(k))
    file_changed = resumed and previous_sha != loaded.sha256
    prep = Preparation(
        token=token,
        resumed=resumed,
        file_changed=file_changed,
        added=added if resumed else 0,
        removed=removed,
        changed_sections=[c for c in changed if c != "contacts"] if file_changed else [],
        opted_out=apply_before_run(journal, loaded, at),
    )
    if file_changed:
        journal.log(
            at,
            "file_changed",
            "; ".join(prep.resume_lines()[1:]),
            added=added,
            removed=removed,
            sections=prep.changed_sections,
        )
    return prep


def _same_campaign(journal: Journal, loaded: LoadedCampaign) -> str | None:
    """The campaign the journal belongs to (None: new); StateError if another."""
    name = journal.get_meta("campaign")
    if name is not None and name != loaded.campaign.name:
        raise StateError(
            f"{journal.path}: this journal belongs to campaign '{name}', "
            f"not '{loaded.campaign.name}'"
        )
    return name


def _same_kind(journal: Journal, sandbox: bool) -> None:
    kind = journal.get_meta("sandbox")
    if kind is None or (kind == "1") == sandbox:
        return
    if kind == "1":
        raise StateError(
            f"{journal.path} holds a sandbox run (simulated calls); a real run cannot resume "
            "it. Delete it (or move it away) to run this campaign for real."
        )
    raise StateError(
        f"{journal.path} holds a real run; a sandbox run would mix simulated calls into it. "
        "Try the sandbox on a copy of the campaign file with another `state` directory."
    )


def settings_snapshot(loaded: LoadedCampaign) -> dict[str, Any]:
    """The campaign's settings as the journal remembers them (``plan`` diffs against it)."""
    return snapshot(loaded.campaign)


def apply_before_run(journal: Journal, loaded: LoadedCampaign, at: float) -> int:
    """The screening rules of phase "before the run" (the opt-out lists) end the contacts
    they stop, now: ``skipped`` with the rule's reason. Returns how many."""
    rules = screening_rules(loaded.campaign, loaded.base_dir, shared=None)
    return sum(r.apply_before_run(journal, at) for r in rules if r.phase is Phase.BEFORE_RUN)
