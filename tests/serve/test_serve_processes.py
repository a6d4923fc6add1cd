"""``campaigner serve`` as a process against ``campaigner sim`` in another, on loopback.

Two campaigns of one account in one folder; the serve is killed with SIGKILL mid-run,
started again (it resumes both from their journals), watched through its status page
until both are done, then stopped with SIGTERM. From the outside: every contact has
its true outcome (the truth oracle on each campaign's export), nobody was called more
often than the retry rules allow or twice at once, and the account never got a 429.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.engine.outofprocess import (
    KEY,
    TOKEN,
    campaigner,
    check_export_invariants,
    export,
    external_sim,
    free_port,
)
from tests.engine.truth import check_export_truth, fetch_truths

SCENARIO = """
seed: 5
faults: {callback_drop: 0.1, callback_duplicate: 0.1}
"""

CAMPAIGN = """
name: {name}
api: {api}
caller_ids: ["+912241499102", "+918047091234"]
dial:
  mode: agent_first
  agents: {agents}
contacts: {{inline: {contacts}}}
call: {{time_limit: 60, ring_timeout: 20}}
pacing: {{requests_per_minute: 180, max_concurrent_calls: 10}}
retry: {{max_attempts: 2, on: [busy, no_answer], backoff: {{first: 2s, max: 4s}}}}
tracking: {{poll_after: 3s, poll_interval: 2s, give_up_after: 30s}}
schedule: {{windows: [{{start: "00:00", end: "24:00"}}]}}
screening: {{dnd: call, dedupe: false}}
"""

MAX_CALLS = 2 + 3  # retry.max_attempts + retry.agent_failures
STATUS = "status-secret-for-tests"


def numbers(prefix: str, count: int) -> list[str]:
    return [f"+91{prefix}{i:06d}" for i in range(1, count + 1)]


def status(port: int) -> dict[str, Any] | None:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/status/{STATUS}", timeout=5)
    except httpx.HTTPError:
        return None
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()
    return data


def wait_for(log: Path, text: bytes, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while text not in log.read_bytes():
        assert process.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, f"no {text!r} in {log.read_text()[-2000:]}"
        time.sleep(0.1)  # another process's progress: real time is the point


def test_serve_two_campaigns_kill_9_restart_and_sigterm(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("KILL_SEED", "11")))
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    folder = tmp_path / "campaigns"
    folder.mkdir()
    contacts = {"north": numbers("9511", 12), "south": numbers("9522", 12)}
    for name, api, agents in (("north", "v1", "9911"), ("south", "v3", "9922")):
        (folder / f"{name}.yaml").write_text(
            CAMPAIGN.format(name=name, api=api, contacts=contacts[name], agents=numbers(agents, 10))
        )
    port = free_port()
    with external_sim(scenario, time_scale=40) as sim:
        env = {**os.environ, **sim.env(), "CAMPAIGNER_STATUS_TOKEN": STATUS}
        args = campaigner(
            ["serve", str(folder), "--listen", f"127.0.0.1:{port}", "--poll", "0.5",
             "--public-url", f"http://127.0.0.1:{port}/cb", "--grace", "5"]
        )  # fmt: skip
        log = tmp_path / "serve-1.log"
        with log.open("wb") as out:
            first = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=out)
        wait_for(log, b"serving 2 campaign files", first)
        time.sleep(rng.uniform(1.0, 3.0))  # kill it at a random instant of its work
        first.kill()  # SIGKILL: no goodbye, whatever it was doing
        first.wait()
        log = tmp_path / "serve-2.log"
        with log.open("wb") as out:
            second = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=out)
        try:
            wait_for(log, b"serving 2 campaign files", second)
            assert b"resuming from the journal" in log.read_bytes()
            deadline = time.monotonic() + 240
            while True:
                seen = status(port)
                states = [c["state"] for c in (seen or {}).get("campaigns", [])]
                if states == ["done", "done"]:
                    break
                assert time.monotonic() < deadline, f"not done: {seen}"
                time.sleep(0.5)
            assert seen is not None
            assert seen["account"]["requests_per_minute"] == 200
            wrong = httpx.get(f"http://127.0.0.1:{port}/status/not-the-secret", timeout=5)
            assert wrong.status_code in (403, 404)
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=60) == 0, log.read_text()[-2000:]
        finally:
            if second.poll() is None:
                second.kill()
                second.wait()
        assert b"stopped: every campaign is journaled" in log.read_bytes()
        calls = sim.calls()
        truths = fetch_truths(sim.url, (KEY, TOKEN))
        for name in ("north", "south"):
            mine = set(contacts[name])
            records = export(folder / f"{name}.yaml", sim.env())
            own = [c for c in calls if c["to_number"] in mine]
            check_export_invariants(records, own, max_calls=MAX_CALLS)
            facts = [t for t in truths if t.get("to_number") in mine]
            check_export_truth(records, facts, allow_unknown=True, recording=False)
        stats = httpx.get(f"{sim.url}/_sim/stats", auth=(KEY, TOKEN), timeout=10).json()
        assert stats["requests"] > 0
        assert [c for c in stats["counters"] if c["status"] == 429] == []
