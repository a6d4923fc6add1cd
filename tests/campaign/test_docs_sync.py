"""docs/campaign-format.md, docs/campaign.schema.json and the model must agree."""

from __future__ import annotations

import json
import typing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from campaigner.campaign.durations import format_duration
from campaigner.campaign.fields import KeyInfo, iter_keys
from campaigner.commands.schema import render

DOCS = Path(__file__).resolve().parents[2] / "docs"
KEYS = list(iter_keys())


def doc_rows() -> dict[str, list[str]]:
    """Every key table row of the format doc: key path -> cells (backticks removed)."""
    text = (DOCS / "campaign-format.md").read_text(encoding="utf-8")
    keys_section = text.split("## Keys", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in keys_section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip().replace("`", "") for c in line.strip("|").split(" | ")]
            assert cells[0] not in rows, f"{cells[0]} is documented twice"
            rows[cells[0]] = cells
    return rows


def doc_default(value: Any) -> str | None:
    """A default as the doc spells it, or None for sections (described in words)."""
    if isinstance(value, BaseModel) or (
        isinstance(value, list) and value and not isinstance(value[0], str)
    ):
        return None
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    return str(value)


def literals(annotation: Any) -> list[str]:
    if typing.get_origin(annotation) is typing.Literal:
        return [str(v) for v in typing.get_args(annotation)]
    return [v for arg in typing.get_args(annotation) for v in literals(arg)]


def test_the_published_schema_is_the_command_output() -> None:
    published = (DOCS / "campaign.schema.json").read_text(encoding="utf-8")
    assert published == render(), "run: campaigner schema -o docs/campaign.schema.json"
    schema = json.loads(published)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "campaigner campaign file"
    assert schema["$id"] == "urn:campaigner:campaign-file"


@pytest.mark.parametrize("key", KEYS, ids=[k.path for k in KEYS])
def test_every_key_is_documented_with_its_default_and_values(key: KeyInfo) -> None:
    rows = doc_rows()
    assert key.path in rows, f"docs/campaign-format.md has no row for {key.path}"
    cells = rows[key.path]
    expected = "required" if key.required else doc_default(key.default)
    if expected is not None:
        assert expected in cells[2], f"{key.path}: default should read {expected!r}"
    for value in literals(key.field.annotation):
        assert value in " ".join(cells[3:]), f"{key.path}: allowed value {value!r} undocumented"


def test_every_documented_key_exists() -> None:
    known = {k.path for k in KEYS}
    assert sorted(set(doc_rows()) - known) == []


def test_every_key_is_in_the_schema() -> None:
    schema = json.loads(render())
    defs = schema["$defs"]

    def props(node: dict[str, Any]) -> set[str]:
        return set(node.get("properties", {}))

    documented = {k.path.split(".")[-1] for k in KEYS}
    in_schema = props(schema).union(*(props(d) for d in defs.values()))
    assert documented == in_schema


def test_campaign_files_point_editors_at_the_schema(repo: Path) -> None:
    for path in sorted((repo / "campaigns").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../docs/campaign.schema.json", path.name
