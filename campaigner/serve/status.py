"""The serve's live status page: read-only, behind a secret path, JSON for scripts.

``GET <listen>/status/<secret>`` answers JSON: for every campaign file its state in the
serve (running, paused, done, invalid, ...), why the newest version is not applied if
it is not, its last errors, the link to its report, and what ``campaigner status FILE
--format json`` says of its journal (campaigner.store.queries.campaign_status); plus
the account budget in use. ``.../html`` is the same data as a small page that reloads
itself. The secret is ``CAMPAIGNER_STATUS_TOKEN``; without it there is no page.
Nothing on it is secret beyond what ``campaigner status`` shows (no credentials).
"""

from __future__ import annotations

import html
import json
from typing import Any

from campaigner.errors import CampaignerError
from campaigner.serve.supervisor import Campaign, Supervisor
from campaigner.store.journal import Journal
from campaigner.store.queries import campaign_status

STATUS_TOKEN_ENV = "CAMPAIGNER_STATUS_TOKEN"


def snapshot(supervisor: Supervisor) -> dict[str, Any]:
    """Everything the page shows, as plain data."""
    budget = supervisor.host.budget
    last_minute = getattr(budget, "last_minute", None)
    return {
        "folder": str(supervisor.folder),
        "at": supervisor.host.clock.now().isoformat(),
        "account": {
            "requests_per_minute": budget.requests_per_minute,
            "last_minute": last_minute() if callable(last_minute) else None,
        },
        "callbacks_refused_unknown_token": supervisor.host.dispatch.unknown,
        "campaigns": [_campaign(c) for c in sorted(supervisor.campaigns.values(), key=_key)],
    }


def _key(campaign: Campaign) -> str:
    return campaign.key


def _campaign(campaign: Campaign) -> dict[str, Any]:
    loaded = campaign.loaded
    entry: dict[str, Any] = {
        "file": campaign.key,
        "name": loaded.campaign.name if loaded is not None else None,
        "state": campaign.state,
        "last_run": campaign.reason,
        "problem": campaign.problem,
        "errors": list(campaign.errors),
        "report": str(loaded.report_path) if loaded is not None else None,
        "status": None,
    }
    if loaded is not None and loaded.journal_path.exists():
        try:
            with Journal.read(loaded.journal_path) as journal:
                entry["status"] = campaign_status(journal)
        except CampaignerError as exc:
            entry["errors"].append(f"journal: {exc}")
    return entry


def render(supervisor: Supervisor, as_html: bool) -> tuple[str, bytes]:
    """The answer's content type and body."""
    data = snapshot(supervisor)
    if not as_html:
        return "application/json", json.dumps(data, indent=2, default=str).encode()
    rows = []
    for c in data["campaigns"]:
        status = c["status"] or {}
        outcomes = ", ".join(f"{k} {v}" for k, v in (status.get("outcomes") or {}).items())
        errors = "<br>".join(html.escape(e) for e in c["errors"][-3:])
        report = f'<a href="file://{html.escape(c["report"])}">report</a>' if c["report"] else ""
        rows.append(
            f"<tr><td>{html.escape(str(c['name'] or c['file']))}</td>"
            f"<td>{html.escape(c['state'])}</td><td>{html.escape(outcomes)}</td>"
            f"<td>{status.get('in_flight', '')}</td>"
            f"<td>{html.escape(c['problem'] or '')}</td><td>{errors}</td><td>{report}</td></tr>"
        )
    account = data["account"]
    page = (
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=10>"
        "<title>campaigner serve</title><h1>campaigner serve</h1>"
        f"<p>{html.escape(data['folder'])} at {html.escape(data['at'])}; account budget in "
        f"use: {account['last_minute']} of {account['requests_per_minute']} requests/minute</p>"
        "<table border=1 cellpadding=4><tr><th>campaign</th><th>state</th><th>outcomes</th>"
        "<th>in flight</th><th>not applied</th><th>last errors</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return "text/html; charset=utf-8", page.encode()
