"""Load a campaign file: every problem found at once, each at FILE:LINE:COL with its key path.

Steps, each adding problems rather than stopping at the first: read and hash the
bytes; parse YAML (syntax errors, duplicate keys); refuse credentials; validate
the model (positions from ruamel, did-you-mean for unknown keys); cross-field and
API-version rules; contacts (normalised, deduplicated, streamed); templates
(checked against the contacts' variables and rendered for every contact).
Relative paths in a campaign file are relative to the file's directory, and confined
to the campaign's repository (:mod:`campaigner.campaign.paths`).
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from campaigner.campaign import rules
from campaigner.campaign.contacts import scan
from campaigner.campaign.credentials import credential_problems
from campaigner.campaign.model import Campaign
from campaigner.campaign.parties import resolve_parties
from campaigner.campaign.paths import Confinement, readable_problem, writable_problem
from campaigner.campaign.resolved import Contact, LoadedCampaign, RejectedRow
from campaigner.campaign.sources import CsvSource, InlineSource
from campaigner.campaign.templates import Templates
from campaigner.campaign.validation import salvage, validate_model
from campaigner.campaign.yamlfile import YamlDocument, read_yaml
from campaigner.clock import SystemClock, WallClock
from campaigner.errors import CampaignInvalid, Problem

ROW_PROBLEM_LIMIT = 50  # per file; then one summary line keeps the output readable
Source = CsvSource | InlineSource
# Given the valid campaign and its folder, what to call with each contact of the loader's
# own pass over the contacts: a caller that needs every contact anyway (``plan``) counts
# during that pass instead of reading a large file a second time.
ContactObserver = Callable[[Campaign, Path], Callable[[Contact], None]]


def load_campaign(
    path: str | Path, clock: WallClock | None = None, observe: ContactObserver | None = None
) -> LoadedCampaign:
    """The validated campaign, or :class:`CampaignInvalid` carrying every error."""
    loaded, problems = check_campaign(path, clock, observe)
    if loaded is None:
        raise CampaignInvalid([p for p in problems if p.severity == "error"])
    return loaded


def check_campaign(
    path: str | Path, clock: WallClock | None = None, observe: ContactObserver | None = None
) -> tuple[LoadedCampaign | None, list[Problem]]:
    """Every problem (errors and warnings) of the file; the campaign when there is no error."""
    checked = check_file(path, clock, observe)
    return checked.loaded, checked.problems


@dataclass(frozen=True)
class Checked:
    """A file's problems as shown, and the true counts behind any "... and N more" line."""

    loaded: LoadedCampaign | None
    problems: list[Problem]
    errors: int
    warnings: int


def check_file(
    path: str | Path, clock: WallClock | None = None, observe: ContactObserver | None = None
) -> Checked:
    """:func:`check_campaign` with the true error and warning counts."""
    hidden = _Hidden()
    loaded, problems = _check(path, clock, observe, hidden)
    shown = [p for p in problems if p not in hidden.summaries]
    errors = sum(p.severity == "error" for p in shown)
    warnings = len(shown) - errors
    return Checked(
        loaded, problems, errors + hidden.counts["error"], warnings + hidden.counts["warning"]
    )


@dataclass
class _Hidden:
    """Row problems counted but not shown, and the summary lines that stand for them."""

    counts: dict[str, int] = field(default_factory=lambda: {"error": 0, "warning": 0})
    summaries: list[Problem] = field(default_factory=list)


def _check(
    path: str | Path,
    clock: WallClock | None,
    observe: ContactObserver | None,
    hidden: _Hidden,
) -> tuple[LoadedCampaign | None, list[Problem]]:
    display = str(path)
    file = Path(path)
    doc, problems = read_yaml(file, display)
    if doc is None:
        return None, problems
    found, drop = credential_problems(doc)
    campaign, schema_problems = validate_model(doc, drop)
    found += schema_problems
    complete = campaign is not None
    if campaign is None:  # contacts and templates are still checked when they can be
        campaign = salvage(doc, drop)
        if campaign is None:
            return None, _sorted(display, found)
    else:
        now = (clock or SystemClock()).now()
        found += [doc.problem(f.path, f.message, f.severity) for f in rules.check(campaign, now)]
    confinement = Confinement.of(file)
    _check_opt_out_files(doc, campaign, confinement, found)
    _check_written(doc, campaign, confinement, found)
    source, templates = _prepare(doc, campaign, confinement, found)
    counts = None
    if source is not None:
        seen = observe(campaign, file.parent) if observe is not None and complete else None
        counts = _count(source, campaign, templates, found, seen, hidden)
    if counts is not None and counts["contacts"] == 0 and not _errors(found):
        found.append(doc.problem(("contacts",), "no contact to call", "warning"))
    problems = _sorted(display, found)
    if source is None or counts is None or _errors(problems):
        return None, problems
    return _loaded(doc, campaign, source, templates, counts, problems), problems


@dataclass
class _RowProblems:
    """Row problems of one file: the first ROW_PROBLEM_LIMIT kept, the rest counted."""

    kept: list[Problem] = field(default_factory=list)
    hidden: dict[str, int] = field(default_factory=lambda: {"error": 0, "warning": 0})

    def add(self, problem: Problem) -> None:
        if len(self.kept) < ROW_PROBLEM_LIMIT:
            self.kept.append(problem)
        else:
            self.hidden[problem.severity] = self.hidden.get(problem.severity, 0) + 1

    def redacted(self) -> list[Problem]:
        """The kept problems without the values they quote.

        A file in which no row holds a valid number may be anything but a contact list
        (``.env``, a key file): what follows the column name is not shown.
        """
        return [Problem(p.file, p.line, p.col, _redact(p.message), p.severity) for p in self.kept]

    def summary(self, file: str) -> list[Problem]:
        errors, warnings = self.hidden["error"], self.hidden["warning"]
        if not errors + warnings:
            return []
        total = errors + warnings
        text = f"... and {total:,} more row problems ({errors:,} errors, {warnings:,} warnings)"
        return [Problem(file, 0, 0, text, "error" if errors else "warning")]


def _redact(message: str) -> str:
    label, _, rest = message.partition(": ")
    if " is not a valid phone number (" not in rest:
        return message  # row shapes ("row has 3 fields ...") quote nothing
    reason = rest.rsplit(" (", 1)[-1].split(")")[0]
    return (
        f"{label}: not a valid phone number ({reason}); value not shown, since no row of "
        "this file holds a valid number (is it a contact list?)"
    )


def _source(
    doc: YamlDocument, campaign: Campaign, confinement: Confinement, found: list[Problem]
) -> Source | None:
    contacts = campaign.contacts
    if contacts.inline is not None:
        return InlineSource(doc, contacts)
    if contacts.file is None:
        return None  # rules reported it
    path, why = confinement.resolve(contacts.file, "read")
    why = why or readable_problem(path, doc.path.parent / contacts.file)
    if why is not None:
        found.append(doc.problem(("contacts", "file"), why))
        return None
    try:
        codecs.lookup(contacts.encoding)
        io.TextIOWrapper(io.BytesIO(), encoding=contacts.encoding)  # zlib_codec is no text
    except LookupError:
        found.append(
            doc.problem(("contacts", "encoding"), f"unknown encoding '{contacts.encoding}'")
        )
        return None
    return CsvSource(path, str(Path(doc.display).parent / contacts.file), contacts)


def _prepare(
    doc: YamlDocument, campaign: Campaign, confinement: Confinement, found: list[Problem]
) -> tuple[Source | None, Templates]:
    """The contacts source (None when unusable) and the templates checked against its columns."""
    source = _source(doc, campaign, confinement, found)
    variables, header_problems = source.header() if source is not None else ([], [])
    found += header_problems
    templates = Templates(doc, campaign, variables)
    found += templates.problems
    if any(p.severity == "error" for p in header_problems):
        return None, templates
    return source, templates


def _count(
    source: Source,
    campaign: Campaign,
    templates: Templates,
    found: list[Problem],
    seen: Callable[[Contact], None] | None,
    hidden: _Hidden,
) -> dict[str, int]:
    """One pass over the contacts: counts, row problems, every contact's rendered values."""
    counts = {"contacts": 0, "invalid": 0, "duplicate": 0}
    rows = _RowProblems()
    for item in scan(source.rows(), campaign.contacts, campaign.screening.dedupe):
        if isinstance(item, Contact):
            counts["contacts"] += 1
            if seen is not None:
                seen(item)
            messages = templates.check_contact(item)
            if messages:
                file, line = item.source.rsplit(":", 1)
                for message in messages:
                    rows.add(Problem(file, int(line), 1, message))
        elif isinstance(item, RejectedRow):
            counts[item.reason] += 1
        else:
            rows.add(item)
    csv_without_contacts = isinstance(source, CsvSource) and counts["contacts"] == 0
    summary = rows.summary(source.display)
    found += (rows.redacted() if csv_without_contacts else rows.kept) + summary
    hidden.summaries += summary
    for severity, count in rows.hidden.items():
        hidden.counts[severity] += count
    return counts


def _loaded(
    doc: YamlDocument,
    campaign: Campaign,
    source: Source,
    templates: Templates,
    counts: dict[str, int],
    warnings: list[Problem],
) -> LoadedCampaign:
    parties = resolve_parties(campaign)
    return LoadedCampaign(
        path=doc.path.resolve(),
        base_dir=doc.path.parent.resolve(),
        sha256=doc.sha256,
        campaign=campaign,
        agents=tuple(parties.agents),
        caller_ids=tuple(parties.caller_ids),
        connect_to=parties.connect_to,
        templates=templates.template_set,
        warnings=tuple(warnings),
        _contacts=partial(_contacts, source, campaign),
        _rejected=partial(_rejected, source, campaign),
        contact_count=counts["contacts"],
        invalid_count=counts["invalid"],
        duplicates=counts["duplicate"],
    )


def _contacts(source: Source, campaign: Campaign) -> Iterator[Contact]:
    for item in scan(source.rows(), campaign.contacts, campaign.screening.dedupe):
        if isinstance(item, Contact):
            yield item


def _rejected(source: Source, campaign: Campaign) -> Iterator[RejectedRow]:
    for item in scan(source.rows(), campaign.contacts, campaign.screening.dedupe):
        if isinstance(item, RejectedRow):
            yield item


def _check_opt_out_files(
    doc: YamlDocument, campaign: Campaign, confinement: Confinement, found: list[Problem]
) -> None:
    for index, name in enumerate(campaign.screening.opt_out):
        path, why = confinement.resolve(name, "read")
        why = why or readable_problem(path, doc.path.parent / name)
        if why is not None:
            found.append(doc.problem(("screening", "opt_out", index), why))


def _check_written(
    doc: YamlDocument, campaign: Campaign, confinement: Confinement, found: list[Problem]
) -> None:
    """``state`` and ``report`` are written by ``run``: confined like the files it reads.

    ``name`` names the journal file in ``state``: the model's pattern keeps path
    separators out, and ``..`` is refused here too so a name never reads as a path.
    """
    if ".." in campaign.name:
        found.append(doc.problem(("name",), "cannot contain '..' (it names the journal file)"))
    state, why = confinement.resolve(campaign.state, "write")
    why = why or writable_problem(state, want_dir=True)
    if why is not None:
        found.append(doc.problem(("state",), why))
    if campaign.report is not None:
        report, why = confinement.resolve(campaign.report, "write")
        why = why or writable_problem(report, want_dir=False)
        if why is not None:
            found.append(doc.problem(("report",), why))


def _errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def _sorted(display: str, problems: list[Problem]) -> list[Problem]:
    """The campaign file's problems first, by position; then each other file's (summary last)."""

    def key(p: Problem) -> tuple[bool, str, bool, int, int]:
        return (p.file != display, p.file, p.file != display and p.line <= 0, p.line, p.col)

    return sorted(problems, key=key)
