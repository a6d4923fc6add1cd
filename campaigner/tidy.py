"""Keep what campaigner writes beside campaign files out of git, unless asked.

Reports hold customers' names and recording links, and the default report folder
(``reports/`` beside the campaign file) sits inside the repository that reviews the
campaigns. So the first time campaigner writes a report there it also writes a
``.gitignore`` containing ``*``: that works in any user's repository, whatever its own
``.gitignore`` says. A report written elsewhere (``report:`` in the file, ``-o``) was
asked for and is left alone. The file is written whenever it is missing, so to commit
reports on purpose, name a ``report`` path outside ``reports/``.
"""

from __future__ import annotations

from pathlib import Path

REPORTS_FOLDER = "reports"
IGNORE_ALL = "# written by campaigner: reports hold names and recording links\n*\n"


def ignore_default_reports(campaign_file: Path, report: Path) -> Path | None:
    """Write ``reports/.gitignore`` if ``report`` goes to the default folder; its path."""
    folder = (campaign_file.parent / REPORTS_FOLDER).resolve()
    if report.resolve().parent != folder:
        return None
    ignore = folder / ".gitignore"
    if ignore.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    ignore.write_text(IGNORE_ALL)
    return ignore
