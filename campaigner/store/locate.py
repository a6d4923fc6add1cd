"""Find a campaign's journal from its file without validating every contact.

``status``, ``export`` and ``report`` must work on a campaign whose contact file
is huge, or has changed since the run: they only need ``name`` and ``state``.
"""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from campaigner.errors import CampaignInvalid, Problem


def journal_path(campaign_file: str | Path) -> Path:
    """``<dir of file>/<state>/<name>.sqlite3``, as the run that wrote it computed it."""
    path = Path(campaign_file)
    doc = campaign_document(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise CampaignInvalid([Problem(str(path), 0, 0, "no campaign name in this file")])
    state = doc.get("state", ".campaigner")
    if not isinstance(state, str):
        raise CampaignInvalid([Problem(str(path), 0, 0, "state: must be a directory path")])
    return (path.parent / state / f"{doc['name']}.sqlite3").resolve()


def campaign_document(path: Path) -> object:
    """A campaign file's YAML as plain data, unvalidated (a few keys are all that is needed)."""
    try:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignInvalid([Problem(str(path), 0, 0, f"cannot read: {exc}")]) from None
    except YAMLError as exc:
        raise CampaignInvalid([Problem(str(path), 0, 0, f"not valid YAML: {exc}")]) from None
