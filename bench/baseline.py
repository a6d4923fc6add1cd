"""Baseline benchmark: campaigner against the loop a user would write from Exotel's FAQ.

The baseline is written as the FAQ and the v1 pages lead a user to write it: POST
``Calls/connect`` for each contact of a batch, one after another, sleeping 60/200 s
after each request to stay under 200 requests/minute; then poll each call of the batch
with ``GET Calls/<Sid>`` (round robin, the same sleep after each request) until Exotel
says it has ended; then the next batch. On a 429 it backs off as the FAQ says (1 s,
doubling, at most 5 retries). It records each call's status, duration and end time the
moment the status is final. A second, careful variant keeps polling a call until its
record is finished (a real ``EndTime``), as docs/exotel/quirks.md advises; it is reported too,
but "the baseline" is the plain loop.

Both run in this process against the same in-process simulator scenario (seed 42, the
default outcome mix, no faults) in virtual time (trio's MockClock: the simulator
time-scaled as far as it goes), with the same 2,000 contacts and the same 600 agents.
campaigner runs the pacing benchmark's campaign (``requests_per_minute: 180``, the
default; callbacks on; agent-side failures re-queued, its default policy).

Reported for each: calls placed, calls per minute (calls / time to finish), API requests
per call, time to finish (first request to the last contact's final outcome), 429s, and
outcome coverage: connected calls whose talk time was recorded from a record Exotel had
not finished (epoch-zero ``EndTime``, ``Duration`` null: talk time lost).

Usage: python bench/baseline.py [--contacts 2000] [--batch 100] [--json]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio
import trio.testing

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.pacing import CAMPAIGN  # noqa: E402
from campaigner.simulator import Scenario, Simulator  # noqa: E402

AGENTS = [f"+9199{i:08d}" for i in range(1, 601)]
CALLER_IDS = ["+912241499102", "+918047091234", "+911139585476"]
GAP = 60 / 200  # the FAQ's 200 requests/minute
FINAL = {"completed", "failed", "busy", "no-answer", "canceled"}
EPOCH_ZERO = "1970-01-01 05:30:00"  # docs/exotel/quirks.md: the v1 record is finished late


def contacts(n: int) -> list[str]:
    return [f"+9197{i:08d}" for i in range(1, n + 1)]


def scenario() -> Scenario:
    return Scenario.model_validate({"seed": 42})


@dataclass
class Figures:
    """One side's result."""

    calls: int = 0
    requests: int = 0
    http_429: int = 0
    minutes: float = 0.0  # time to finish
    connected: int = 0  # calls recorded as connected (v1 status completed)
    talk_time_lost: int = 0  # connected calls recorded from an unfinished record
    wrong_status: int = 0  # calls recorded with a status other than Exotel's final one
    outcomes: dict[str, int] = field(default_factory=dict)

    def derived(self) -> dict[str, float]:
        return {
            "calls_per_minute": round(self.calls / self.minutes, 2),
            "requests_per_call": round(self.requests / self.calls, 3),
        }


class FaqLoop:
    """The user's loop, over plain httpx against the simulator."""

    def __init__(self, http: httpx.AsyncClient, account: str, *, careful: bool = False) -> None:
        self.http = http
        self.careful = careful
        self.base = f"/v1/Accounts/{account}/Calls"
        self.figures = Figures()
        self.recorded: dict[str, str] = {}  # sid -> the status the loop recorded

    async def run(self, numbers: list[str], batch: int) -> Figures:
        start = trio.current_time()
        for first in range(0, len(numbers), batch):
            sids = [await self.connect(i, n) for i, n in enumerate(numbers[first : first + batch])]
            await self.poll([s for s in sids if s])
        self.figures.minutes = (trio.current_time() - start) / 60
        return self.figures

    async def connect(self, index: int, number: str) -> str | None:
        form = {"From": AGENTS[index], "To": number, "CallerId": CALLER_IDS[index % 3]}
        answer = await self.send("POST", f"{self.base}/connect.json", data=form)
        self.figures.calls += answer.status_code == 200
        return str(answer.json()["Call"]["Sid"]) if answer.status_code == 200 else None

    async def poll(self, sids: list[str]) -> None:
        pending = list(sids)
        while pending:
            for sid in list(pending):
                answer = await self.send("GET", f"{self.base}/{sid}.json")
                call = answer.json().get("Call", {}) if answer.status_code == 200 else {}
                if self.careful and call.get("EndTime") == EPOCH_ZERO:
                    continue  # docs/exotel/quirks.md: no talk time until EndTime is real
                if call.get("Status") in FINAL:
                    pending.remove(sid)
                    self.record(call)

    def record(self, call: dict[str, Any]) -> None:
        status = str(call["Status"])
        self.recorded[str(call["Sid"])] = status
        self.figures.outcomes[status] = self.figures.outcomes.get(status, 0) + 1
        if status == "completed":
            self.figures.connected += 1
            self.figures.talk_time_lost += call.get("Duration") in (None, "") or (
                call.get("EndTime") == EPOCH_ZERO
            )

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, then the fixed sleep; on 429 the FAQ's backoff (1 s doubling, 5 retries)."""
        delay = 1.0
        for attempt in range(6):
            answer = await self.http.request(method, path, **kwargs)
            self.figures.requests += 1
            await trio.sleep(GAP)
            if answer.status_code != 429 or attempt == 5:
                return answer
            self.figures.http_429 += 1
            await trio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")


async def run_baseline(numbers: list[str], batch: int, careful: bool = False) -> Figures:
    sim = Simulator(scenario())
    async with trio.open_nursery() as nursery:
        await nursery.start(sim.run)
        account = sim.scenario.account
        async with httpx.AsyncClient(
            transport=sim.transport(),
            base_url="http://sim",
            auth=(account.api_key, account.api_token),
        ) as http:
            loop = FaqLoop(http, account.sid, careful=careful)
            figures = await loop.run(numbers, batch)
        nursery.cancel_scope.cancel()
    figures.wrong_status = wrong(loop.recorded, sim)
    return figures


def wrong(recorded: dict[str, str], sim: Simulator) -> int:
    """Calls whose recorded status is not the final one Exotel (the simulator) settled on."""
    final = {c.sid: c.status for c in sim.calls()}
    return sum(1 for sid, status in recorded.items() if final.get(sid) != status)


async def run_campaigner(numbers: list[str], workdir: Path) -> Figures:
    from tests.engine.harness import run_against_sim

    (workdir / "contacts.csv").write_text("phone\n" + "".join(f"{n}\n" for n in numbers))
    path = workdir / "campaign.yaml"
    path.write_text(
        CAMPAIGN.format(api="v1", agents=json.dumps(AGENTS), rpm=180, concurrency=len(AGENTS))
    )
    out = await run_against_sim(path, scenario())
    calls = out.sim.calls()
    journal = out.journal()
    first, last = journal.conn.execute(
        "SELECT min(intent_at), max(resolved_at) FROM calls"
    ).fetchone()
    lost = journal.conn.execute(
        "SELECT count(*) FROM calls WHERE outcome = 'connected' AND NOT record_complete"
    ).fetchone()[0]
    outcomes = dict(journal.conn.execute("SELECT outcome, count(*) FROM contacts GROUP BY 1"))
    stats = out.sim.stats()
    recorded = dict(
        journal.conn.execute("SELECT sid, exotel_status FROM calls WHERE sid IS NOT NULL")
    )
    return Figures(
        calls=len(calls),
        requests=stats.requests,
        http_429=sum(n for (_, _, status), n in stats.counters.items() if status == 429),
        minutes=(last - first) / 60,
        connected=journal.conn.execute(
            "SELECT count(*) FROM calls WHERE outcome = 'connected'"
        ).fetchone()[0],
        talk_time_lost=int(lost),
        wrong_status=wrong(recorded, out.sim),
        outcomes={str(k): int(v) for k, v in outcomes.items()},
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100, help="the baseline's batch size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    numbers = contacts(args.contacts)
    workdir = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    atexit.register(shutil.rmtree, workdir, True)  # the journal and CSVs go too
    os.chdir(workdir)
    clock = trio.testing.MockClock(autojump_threshold=0)
    started = time.process_time()
    base = trio.run(run_baseline, numbers, args.batch, clock=clock)
    careful = trio.run(
        run_baseline, numbers, args.batch, True, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    ours = trio.run(
        run_campaigner, numbers, workdir, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    rows = {"baseline": base, "baseline, careful": careful, "campaigner": ours}
    print(
        "| | calls | calls per minute | API requests per call | minutes to finish | 429s "
        "| recorded connected | of those, without talk time | recorded with a wrong status |"
    )
    print("| --- |" + " ---: |" * 8)
    for name, f in rows.items():
        d = f.derived()
        print(
            f"| {name} | {f.calls:,} | {d['calls_per_minute']} | {d['requests_per_call']} "
            f"| {f.minutes:.1f} | {f.http_429} | {f.connected} | {f.talk_time_lost} "
            f"| {f.wrong_status} |"
        )
    ratio = {
        "calls_per_minute": ours.derived()["calls_per_minute"] / base.derived()["calls_per_minute"],
        "requests_per_call": ours.derived()["requests_per_call"]
        / base.derived()["requests_per_call"],
        "time_to_finish": ours.minutes / base.minutes,
    }
    print(
        f"| campaigner / baseline | | {ratio['calls_per_minute']:.2f} x "
        f"| {ratio['requests_per_call']:.2f} x | {ratio['time_to_finish']:.2f} x | | | | |"
    )
    print(f"(CPU {time.process_time() - started:.0f} s)")
    if args.json:
        print(json.dumps({k: asdict(v) | v.derived() for k, v in rows.items()} | {"ratio": ratio}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
