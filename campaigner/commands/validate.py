"""``campaigner validate FILE...``: every problem of every campaign file, nothing dialed.

Checks YAML syntax, the schema, cross-field and API rules, contacts and templates,
and prints each problem as ``FILE:LINE:COL: KEY.PATH: message`` (warnings tagged),
then one summary line per file. It never opens a network connection, so it is safe
as a pre-commit hook and in CI (docs/gitops.md). It is also safe on a stranger's pull
request: it reads only files inside the campaign's repository (campaigner.campaign.paths),
echoes no value from a file that is not a contact list, and bounds the YAML and the
templates it evaluates.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from campaigner.campaign.loader import check_file
from campaigner.campaign.resolved import LoadedCampaign
from campaigner.errors import EXIT_FAILURE, EXIT_OK, Problem

NAME = "validate"
HELP = "Check campaign files (YAML, schema, rules, contacts, templates) without dialing."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="campaign files (YAML)")
    # --allow-path is added by campaigner.cli to every command that reads a campaign file.
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default text)"
    )


def run(args: argparse.Namespace) -> int:
    results = []
    for name in args.files:
        result, lines = _check(name, args.strict)
        results.append(result)
        if args.format == "text":
            print("\n".join(lines), flush=True)  # file by file: a long CSV shows progress
    valid = all(r["valid"] for r in results)
    if args.format == "json":
        json.dump({"valid": valid, "files": results}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return EXIT_OK if valid else EXIT_FAILURE


def _check(name: str, strict: bool) -> tuple[dict[str, Any], list[str]]:
    """One file's JSON result and its text lines (problems, then the summary)."""
    checked = check_file(name)
    loaded, problems = checked.loaded, checked.problems
    errors, warnings = checked.errors, checked.warnings  # true counts, past the shown ones
    valid = loaded is not None and not (strict and warnings)
    lines = [str(p) for p in problems] + [_summary(name, loaded, errors, warnings, strict)]
    result: dict[str, Any] = {
        "file": name,
        "valid": valid,
        "errors": errors,
        "warnings": warnings,
        "contacts": loaded.contact_count if loaded else None,
        "duplicates": loaded.duplicates if loaded else None,
        "invalid": loaded.invalid_count if loaded else None,
        "problems": [_problem_json(p) for p in problems],
    }
    return result, lines


def _summary(
    name: str, loaded: LoadedCampaign | None, errors: int, warnings: int, strict: bool
) -> str:
    """``x.yaml: ok, 1,234 contacts (3 duplicates merged), 2 warnings``."""
    warned = f"{warnings:,} warning{'s' if warnings != 1 else ''}"
    if loaded is None:
        return f"{name}: invalid, {errors:,} error{'s' if errors != 1 else ''}, {warned}"
    notes = []
    if loaded.duplicates:
        notes.append(
            f"{loaded.duplicates:,} duplicate{'s' if loaded.duplicates != 1 else ''} merged"
        )
    if loaded.invalid_count:
        notes.append(f"{loaded.invalid_count:,} invalid skipped")
    detail = f" ({', '.join(notes)})" if notes else ""
    count = loaded.contact_count
    status = "invalid (--strict)" if strict and warnings else "ok"
    return f"{name}: {status}, {count:,} contact{'s' if count != 1 else ''}{detail}, {warned}"


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "col": problem.col,
        "severity": problem.severity,
        "message": problem.message,
    }
