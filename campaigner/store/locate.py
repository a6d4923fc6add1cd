"""Find a campaign's journal from its file without validating every contact.

``status``, ``export`` and ``report`` must work on a campaign whose contact file
is huge, or has changed since the run: they only need ``name`` and ``state``.
They still go through the campaign file's front door (bounded YAML, confined
paths): a ``name`` such as ``../state/live`` or a ``state`` outside the
campaign's repository must not make them open another journal.
"""

from __future__ import annotations

import re
from pathlib import Path

from campaigner.campaign.model import Campaign
from campaigner.campaign.paths import Confinement
from campaigner.campaign.yamlfile import YamlDocument, plain, read_yaml
from campaigner.errors import CampaignInvalid


def _name_pattern() -> re.Pattern[str]:
    """The model's own pattern for ``name`` (letters, digits, ``. _ -``), not a copy."""
    for meta in Campaign.model_fields["name"].metadata:
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str):
            return re.compile(pattern)
    raise AssertionError("Campaign.name has no pattern")  # pragma: no cover


_NAME = _name_pattern()


def journal_path(campaign_file: str | Path) -> Path:
    """``<dir of file>/<state>/<name>.sqlite3``, as the run that wrote it computed it."""
    path = Path(campaign_file)
    doc = _document(path)
    name = doc.data.get("name")
    if "name" not in doc.data:
        raise CampaignInvalid([doc.problem((), "missing required key 'name'")])
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        message = "must be letters, digits, '.', '_' or '-' (it names the journal file)"
        raise CampaignInvalid([doc.problem(("name",), message)])
    state = doc.data.get("state", ".campaigner")
    if not isinstance(state, str):
        raise CampaignInvalid([doc.problem(("state",), "must be a folder path")])
    folder, why = Confinement.of(path).resolve(state, "write")
    if why is not None:
        raise CampaignInvalid([doc.problem(("state",), why)])
    journal = (folder / f"{name}.sqlite3").resolve()
    if journal.parent != folder:  # a symlinked journal file leading elsewhere
        message = f"the journal {folder / name}.sqlite3 is a link out of the state folder"
        raise CampaignInvalid([doc.problem(("name",), message)])
    return journal


def campaign_document(path: Path) -> object:
    """A campaign file's YAML as plain data, unvalidated (a few keys are all that is needed)."""
    return plain(_document(path).data)


def _document(path: Path) -> YamlDocument:
    doc, problems = read_yaml(path, str(path))
    if doc is None:
        raise CampaignInvalid(problems)
    return doc
