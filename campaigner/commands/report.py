"""``campaigner report FILE``: write the campaign's HTML (or JSON) report from its journal.

Works while a run is live (the journal is read, never locked): the report then
shows what is known so far. Only the campaign file's ``name``, ``state`` and
``report`` are read, so a huge or since-edited contact file does not matter.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from campaigner.report.render import write_report
from campaigner.store.journal import Journal
from campaigner.store.locate import journal_path
from campaigner.store.run_settings import RunSettings
from campaigner.tidy import ignore_default_reports

NAME = "report"
HELP = "Write a campaign's report (HTML, or JSON) from its journal; works mid-run too."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="campaign file")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write (default: the campaign's `report` path, reports/<name>.html)",
    )
    parser.add_argument(
        "--template", metavar="T", help="your own Jinja template (docs/reports.md); sandboxed"
    )
    parser.add_argument(
        "--no-mask",
        action="store_true",
        help="show phone numbers and the account SID in full (they are masked by default)",
    )
    parser.add_argument("--format", choices=("html", "json"), default="html")


def run(args: argparse.Namespace) -> int:
    campaign = Path(args.file)
    journal = journal_path(campaign)
    out = Path(args.output) if args.output else default_output(campaign, journal, args.format)
    if not args.output:
        ignore_default_reports(campaign, out)  # reports/ keeps itself out of git
    written = write_report(
        journal,
        out,
        template=Path(args.template) if args.template else None,
        mask=not args.no_mask,
        fmt=args.format,
        campaign_file=campaign,
    )
    print(written)
    return 0


def default_output(campaign: Path, journal: Path, fmt: str) -> Path:
    """``<campaign dir>/<report or reports/<name>.html>``, as the run journaled it.

    The JSON report goes beside the HTML one, with a ``.json`` suffix.
    """
    with Journal.read(journal) as opened:
        report = RunSettings.read(opened).report
        name = opened.get_meta("campaign") or journal.stem
    path = (campaign.parent / (report or f"reports/{name}.html")).resolve()
    return path.with_suffix(".json") if fmt == "json" else path
