"""Report benchmark: a 100,000-contact journal rendered to HTML, then loaded in Chromium.

Builds a journal the way a long v1 agent-first campaign leaves it (contacts with
variables, ~1.4 calls each with retries, callbacks, polls, one connect request per
call, run-log events), inserting rows directly with SQL in a few seconds. Then:

- times ``write_report`` (HTML and JSON) and reports the file sizes;
- loads the HTML in headless Chromium (if installed) over the DevTools protocol and
  reports DOMContentLoaded and load times, plus how long a search and a sort of the
  contacts table take.

Usage: python bench/report_render.py [--contacts 100000] [--keep DIR] [--json]
Prints a markdown table row (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaigner.report.render import write_report
from campaigner.store.journal import Journal

T0 = 1795404600.0  # Mon 23 Nov 2026 09:00 IST
OUTCOMES = [
    ("connected", 0.55),
    ("no_answer", 0.2),
    ("busy", 0.1),
    ("agent_unanswered", 0.08),
    ("failed", 0.06),
    ("unknown", 0.01),
]
STATUS = {
    "connected": "completed",
    "no_answer": "no-answer",
    "busy": "busy",
    "agent_unanswered": "failed",
    "failed": "failed",
    "unknown": "failed",
}
SETTINGS = {
    "description": "Bench: a large collections reminder campaign.",
    "schedule": {"timezone": "Asia/Kolkata"},
    "pacing": {"requests_per_minute": 180},
    "dial": {"mode": "agent_first", "agents": [f"+9199000{i:05d}" for i in range(40)]},
}


def build_journal(path: Path, contacts: int, seed: int = 7) -> dict[str, int]:
    """A realistic finished campaign of ``contacts`` contacts; returns row counts."""
    rng = random.Random(seed)
    journal = Journal.open(path)
    conn = journal.conn
    meta = {
        "campaign": "bench-100k",
        "api": "v1",
        "mode": "agent_first",
        "file": "/srv/campaigns/bench-100k.yaml",
        "sha256": "ab" * 32,
        "account_sid": "benchaccount1",
        "callback_token": "bench-secret-token",
        "settings": json.dumps(SETTINGS),
    }
    for key, value in meta.items():
        journal.set_meta(key, value)
    contact_rows, call_rows, event_rows, request_rows = [], [], [], []
    at = T0
    call_id = 0
    for i in range(1, contacts + 1):
        phone = f"+9198{i:08d}"
        variables = {"name": f"Customer {i}", "order_id": f"ORD-{i:07d}", "amount": str(i % 9000)}
        attempts, outcome = 0, "no_answer"
        for attempt in (1, 2, 3):
            call_id += 1
            at += 60 / 180 * rng.uniform(0.9, 1.5)
            outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
            attempts += outcome != "agent_unanswered"
            talk = int(rng.lognormvariate(4.3, 0.8)) if outcome == "connected" else 0
            rec = f"https://recordings.example.test/{call_id}.mp3" if talk else None
            by = rng.choices(["callback", "poll"], [0.96, 0.04])[0]
            call_rows.append(
                (call_id, i, attempt, "ended", 0, f"sid{call_id:010d}", "v1",
                 f"+9180470{call_id % 3:05d}", f"+9199000{call_id % 40:05d}", "{}", at, at,
                 at, at + 30 + talk, at + 40 + talk, by, STATUS[outcome], outcome,
                 f"{outcome} reason", 1, talk, rec, 1)
            )  # fmt: skip
            event_rows.append((at + 40 + talk, f"sid{call_id:010d}", call_id, "callback",
                               "terminal", STATUS[outcome], "applied", "{}"))  # fmt: skip
            request_rows.append((at, "connect", 200))
            if by == "poll":
                request_rows.append((at + 120, "poll", 200))
            if outcome not in ("busy", "no_answer") or attempt == 3:
                break
        contact_rows.append(
            (i, phone, phone, f"contacts.csv:{i + 1}", json.dumps(variables), i, "done",
             outcome, f"{outcome} reason", attempts, 0, 0.0, 1, 1, at)
        )  # fmt: skip
    with journal.transaction():
        conn.executemany(f"INSERT INTO contacts VALUES ({','.join('?' * 15)})", contact_rows)
        conn.executemany(
            "INSERT INTO calls (id, contact_id, attempt, state, open, sid, api, caller_id, agent, "
            "request, intent_at, placed_at, started_at, ended_at, resolved_at, resolved_by, "
            f"exotel_status, outcome, reason, answered, talk_time, recording_url, "
            f"record_complete) VALUES ({','.join('?' * 23)})",
            call_rows,
        )
        conn.executemany(
            "INSERT INTO events (at, sid, call_id, source, event, status, effect, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            event_rows,
        )
        conn.executemany(
            "INSERT INTO requests (at, purpose, status) VALUES (?, ?, ?)", request_rows
        )
        conn.executemany(
            "INSERT INTO skipped_rows (source, raw_phone, reason, message) VALUES (?, ?, ?, ?)",
            [(f"contacts.csv:{contacts + 2 + k}", "12345", "invalid", "not a phone number")
             for k in range(contacts // 200)],
        )  # fmt: skip
        for k in range(300):
            journal.log(T0 + k * 150, "waiting", "waiting for retries to come due")
        conn.execute(
            "INSERT INTO runs (started_at, ended_at, sha256, version, sandbox, exit_reason) "
            "VALUES (?, ?, ?, '0.1.0', 0, 'complete')",
            (T0, at + 600, "ab" * 32),
        )
    journal.close()
    return {"contacts": contacts, "calls": len(call_rows), "requests": len(request_rows)}


def timed(fn: Any) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--keep", metavar="DIR", help="keep the journal and reports here")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="report-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    journal = work / "bench.sqlite3"
    journal.unlink(missing_ok=True)
    build_s, _, rows = timed(lambda: build_journal(journal, args.contacts))
    html_s, html_cpu, html = timed(lambda: write_report(journal, work / "report.html"))
    json_s, _, js = timed(lambda: write_report(journal, work / "report.json", fmt="json"))
    figures: dict[str, Any] = {
        **rows,
        "build_journal_s": round(build_s, 2),
        "html_s": round(html_s, 2),
        "html_cpu_s": round(html_cpu, 2),
        "html_mb": round(html.stat().st_size / 1e6, 1),
        "json_s": round(json_s, 2),
        "json_mb": round(js.stat().st_size / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    figures.update(browser_figures(html, args.contacts))
    if not args.keep:
        shutil.rmtree(work)
    print(
        "| contacts | calls | write_report html s (CPU s) | html MB | json s | json MB "
        "| peak RSS MB | DOMContentLoaded ms | load ms | first search ms | search ms | sort ms |"
    )
    print("|" + " --- |" * 12)
    print(
        f"| {figures['contacts']:,} | {figures['calls']:,} | {figures['html_s']} "
        f"({figures['html_cpu_s']}) | {figures['html_mb']} | {figures['json_s']} "
        f"| {figures['json_mb']} | {figures['peak_rss_mb']} | {figures.get('dcl_ms', '-')} "
        f"| {figures.get('load_ms', '-')} | {figures.get('search_ms', '-')} "
        f"| {figures.get('search_again_ms', '-')} "
        f"| {figures.get('sort_ms', '-')} |"
    )
    if args.json:
        print(json.dumps(figures))
    return 0


# Type a search that matches exactly one contact, then wait until the table shows
# only that row (the first search waits for the row index, built in slices);
# resolves to the milliseconds it took, less the 150 ms the page waits for typing.
SEARCH = """new Promise(function (resolve) {
  var q = document.getElementById('q');
  var t = performance.now();
  q.value = 'TERM'; q.dispatchEvent(new Event('input'));
  (function wait() {
    if (document.querySelectorAll('#ct tbody tr.on').length === 1) {
      resolve(performance.now() - t - 150);
    } else { setTimeout(wait, 5); }
  })();
})"""


CLEAR = """new Promise(function (resolve) {
  var q = document.getElementById('q');
  q.value = ''; q.dispatchEvent(new Event('input'));
  (function wait() {
    if (document.querySelectorAll('#ct tbody tr.on').length === 100) { resolve(0); }
    else { setTimeout(wait, 5); }
  })();
})"""


def browser_figures(html: Path, contacts: int) -> dict[str, Any]:
    """Load times and table interaction times in headless Chromium, when it is installed."""
    try:
        from tests.report.chromium import Chromium, find_chromium
    except ImportError:
        return {}
    if find_chromium() is None:
        return {}
    with Chromium() as browser:
        page = browser.open(html.as_uri(), timeout=120)
        timing = page.evaluate(
            "JSON.stringify((function(){var t=performance.getEntriesByType('navigation')[0];"
            "return {dcl: t.domContentLoadedEventEnd, load: t.loadEventEnd};})())"
        )
        marks = json.loads(timing)
        last, middle = f"customer {contacts - 1}", f"ord-{contacts // 2:07d}"  # one match each
        search = page.evaluate(SEARCH.replace("TERM", last), await_promise=True)
        page.evaluate(CLEAR, await_promise=True)
        again = page.evaluate(SEARCH.replace("TERM", middle), await_promise=True)
        sort = page.evaluate(
            "(function(){var th=document.querySelector('#ct th[data-k=n]');"
            "var t=performance.now();th.click();return performance.now()-t;})()"
        )
        errors = page.console_errors()
    return {
        "dcl_ms": round(marks["dcl"]),
        "load_ms": round(marks["load"]),
        "search_ms": round(float(search)),  # the first search builds the index
        "search_again_ms": round(float(again)),
        "sort_ms": round(float(sort)),
        "console_errors": len(errors),
    }


if __name__ == "__main__":
    raise SystemExit(main())
