"""``campaigner schema``: the JSON Schema of campaign files, for editors and CI.

Editors running yaml-language-server validate while typing when a campaign file
starts with ``# yaml-language-server: $schema=../docs/campaign.schema.json``;
docs/campaign.schema.json is this command's output (a test keeps them equal).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from campaigner.campaign.model import Campaign

NAME = "schema"
HELP = "Print the JSON Schema of campaign files (for editors and CI)."
SCHEMA_ID = "urn:campaigner:campaign-file"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def campaign_schema() -> dict[str, Any]:
    """The campaign model's JSON Schema with ``$schema``, ``$id`` and ``title``."""
    body = Campaign.model_json_schema()
    head = {"$schema": DRAFT, "$id": SCHEMA_ID, "title": "campaigner campaign file"}
    return {**head, **{k: v for k, v in body.items() if k != "title"}}


def render() -> str:
    """The schema as written to docs/campaign.schema.json (stable, newline-terminated)."""
    return json.dumps(campaign_schema(), indent=2, ensure_ascii=False) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", metavar="FILE", type=Path, help="write to FILE instead of stdout"
    )


def run(args: argparse.Namespace) -> int:
    text = render()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
