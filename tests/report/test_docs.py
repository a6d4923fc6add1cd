"""docs/reports.md documents every field of the summary model (the custom-template interface)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from campaigner.report import model

CLASSES = [
    cls
    for cls in vars(model).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == model.__name__
]


def context_section(repo: Path) -> list[str]:
    text = (repo / "docs" / "reports.md").read_text(encoding="utf-8")
    section = text.split("## The template context: `summary`", 1)[1].split("\n## ", 1)[0]
    return [p.strip() for p in section.split("\n\n") if p.strip()]


def documentation_of(name: str, paragraphs: list[str]) -> str:
    """The paragraph starting with `Name` (and the table after a bare `Name` heading)."""
    for i, paragraph in enumerate(paragraphs):
        if paragraph == f"`{name}`":
            return paragraphs[i + 1]
        if paragraph.startswith(f"`{name}`:"):
            return paragraph
    return ""


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_field_is_documented(cls: type, repo: Path) -> None:
    text = documentation_of(cls.__name__, context_section(repo))
    assert text, f"docs/reports.md does not document {cls.__name__}"
    documented = set(re.findall(r"`(\w+)`", text))
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in documented]
    assert missing == [], f"{cls.__name__} fields missing from docs/reports.md"
