"""``campaigner serve`` as a process against ``campaigner sim`` in another, on loopback.

Two tests, each ending with SIGTERM (exit 0) and, from the outside: every contact has
its true outcome (the truth oracle on each campaign's export), nobody was called more
often than the retry rules allow or twice at once, and the account never got a 429.

- Two campaigns of one account; the serve is killed with SIGKILL mid-run, started
  again (it resumes both from their journals) and watched until both are done.
- Issue 15's whole list: three campaigns with overlapping windows; one file changed
  (contacts removed and added), one paused, SIGKILL and a restart while paused, one
  changed to a version that does not validate (the status page says so, the campaign
  goes on) and then fixed, the pause lifted. The simulator's call records (their times)
  show the removed contacts were not called after the change, the paused campaign not
  while paused, and every call inside its campaign's window.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.engine.outofprocess import (
    KEY,
    TOKEN,
    ExternalSim,
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


SCHEDULED = CAMPAIGN.replace(
    'schedule: {{windows: [{{start: "00:00", end: "24:00"}}]}}',
    'schedule: {{timezone: "{zone}", windows: [{{start: "{start}", end: "{end}"}}]}}',
).replace("requests_per_minute: 180", "requests_per_minute: {rpm}")


def midday_zone() -> tuple[str, ZoneInfo]:
    """A fixed-offset zone where it is about noon now: windows around noon then never
    cross midnight, whatever hour the test runs at."""
    offset = 12 - datetime.now(UTC).hour  # -11 .. +12
    name = f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-5 is UTC+5
    return name, ZoneInfo(name)


def sim_now(url: str) -> float:
    """The simulator's clock (seconds since it started), the one its call records use."""
    answer = httpx.get(f"{url}/_sim/stats", auth=(KEY, TOKEN), timeout=10)
    answer.raise_for_status()
    return float(answer.json()["now"])


def campaign_entry(port: int, name: str) -> dict[str, Any]:
    seen = status(port) or {}
    for entry in seen.get("campaigns", []):
        if Path(entry["file"]).stem == name:
            return dict(entry)
    return {}


def wait_status(port: int, name: str, ok: Callable[[dict[str, Any]], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not ok(entry := campaign_entry(port, name)):
        assert time.monotonic() < deadline, f"{name}: never {what}: {entry}"
        time.sleep(0.2)  # another process's progress: real time is the point


def serve_args(folder: Path, port: int) -> list[str]:
    """``campaigner serve`` on loopback: callbacks and the status page on ``port``, the
    folder polled twice a second, five seconds of grace on SIGTERM."""
    return campaigner(
        ["serve", str(folder), "--listen", f"127.0.0.1:{port}", "--poll", "0.5",
         "--public-url", f"http://127.0.0.1:{port}/cb", "--grace", "5"]
    )  # fmt: skip


def start(sim: ExternalSim, folder: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """A serve of ``folder`` against ``sim`` (its status page on), logging to ``log``."""
    env = {**os.environ, **sim.env(), "CAMPAIGNER_STATUS_TOKEN": STATUS}
    args = serve_args(folder, port)
    with log.open("wb") as out:
        return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=out)


def until_done(port: int, count: int) -> dict[str, Any]:
    """The status page once every one of the ``count`` campaigns is done."""
    deadline = time.monotonic() + 240
    while True:
        seen = status(port)
        states = [c["state"] for c in (seen or {}).get("campaigns", [])]
        if seen is not None and states == ["done"] * count:
            return seen
        assert time.monotonic() < deadline, f"not done: {seen}"
        time.sleep(0.5)  # another process's progress: real time is the point


def sigterm(serve: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM ends the serve with 0, every campaign journaled."""
    serve.send_signal(signal.SIGTERM)
    assert serve.wait(timeout=60) == 0, log.read_text()[-2000:]
    assert b"stopped: every campaign is journaled" in log.read_bytes()


def kill(serve: subprocess.Popen[bytes]) -> None:
    if serve.poll() is None:
        serve.kill()  # SIGKILL: no goodbye, whatever it was doing
        serve.wait()


def check_campaigns(
    sim: ExternalSim, folder: Path, contacts: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """Each campaign's export: the truth oracle on it, every contact final, nobody called
    more often than the rules allow or twice at once; the account never got a 429.
    Returns the simulator's calls for the caller's own checks."""
    calls = sim.calls()
    truths = fetch_truths(sim.url, (KEY, TOKEN))
    for name, numbers_of_campaign in contacts.items():
        mine = set(numbers_of_campaign)
        records = export(folder / f"{name}.yaml", sim.env())
        own = [c for c in calls if c["to_number"] in mine]
        check_export_invariants(records, own, max_calls=MAX_CALLS)
        facts = [t for t in truths if t.get("to_number") in mine]
        check_export_truth(records, facts, allow_unknown=True, recording=False)
    stats = httpx.get(f"{sim.url}/_sim/stats", auth=(KEY, TOKEN), timeout=10).json()
    assert stats["requests"] > 0
    assert [c for c in stats["counters"] if c["status"] == 429] == []
    return calls


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
        log = tmp_path / "serve-1.log"
        serve = start(sim, folder, port, log)
        try:
            wait_for(log, b"serving 2 campaign files", serve)
            time.sleep(rng.uniform(1.0, 3.0))  # kill it at a random instant of its work
            kill(serve)
            log = tmp_path / "serve-2.log"
            serve = start(sim, folder, port, log)
            wait_for(log, b"serving 2 campaign files", serve)
            assert b"resuming from the journal" in log.read_bytes()
            seen = until_done(port, 2)
            assert seen["account"]["requests_per_minute"] == 200
            wrong = httpx.get(f"http://127.0.0.1:{port}/status/not-the-secret", timeout=5)
            assert wrong.status_code in (403, 404)
            sigterm(serve, log)
        finally:
            kill(serve)
        check_campaigns(sim, folder, contacts)


def test_serve_three_campaigns_change_invalid_change_pause_kill_9_restart(
    tmp_path: Path,
) -> None:
    """Issue 15 out of process: three campaigns of one account with overlapping windows;
    alpha's contacts change (three removed, three added), gamma is paused, serve is
    killed with SIGKILL while gamma is paused and started again, beta gets a version
    that does not validate (the status page says so, beta goes on) and then a good
    one, gamma is unpaused; all finish, SIGTERM ends the serve with 0."""
    rng = random.Random(int(os.environ.get("KILL_SEED", "17")))
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    folder = tmp_path / "campaigns"
    folder.mkdir()
    zone, tz = midday_zone()
    windows = {"alpha": ("00:00", "24:00"), "beta": ("10:00", "16:00"), "gamma": ("11:00", "14:00")}
    first = {n: numbers(p, 16) for n, p in (("alpha", "9531"), ("beta", "9532"), ("gamma", "9533"))}
    removed, added = first["alpha"][-3:], numbers("9534", 3)
    texts: dict[str, str] = {}

    def text(name: str, api: str, agents: str, contacts: list[str]) -> str:
        start, end = windows[name]
        return SCHEDULED.format(
            name=name, api=api, contacts=contacts, agents=numbers(agents, 10), rpm=60,
            zone=zone, start=start, end=end,
        )  # fmt: skip

    apis = (("alpha", "v1", "9931"), ("beta", "v3", "9932"), ("gamma", "v1", "9933"))
    for name, api, agents in apis:
        texts[name] = text(name, api, agents, first[name])
        (folder / f"{name}.yaml").write_text(texts[name])
    port = free_port()
    with external_sim(scenario, time_scale=40) as sim:
        log = tmp_path / "serve-1.log"
        serve = start(sim, folder, port, log)
        try:
            wait_for(log, b"serving 3 campaign files", serve)
            time.sleep(1.0)
            # a valid change: the last three contacts removed, three others added; it is
            # applied once the run of the new version has resumed from the journal
            alpha = text("alpha", "v1", "9931", first["alpha"][:-3] + added)
            (folder / "alpha.yaml").write_text(alpha)
            wait_for(log, b"3 removed (will not be dialed)", serve)
            changed = sim_now(sim.url)
            # a pause, and the kill -9 while paused
            (folder / "gamma.yaml").write_text(texts["gamma"] + "paused: true\n")
            wait_status(port, "gamma", lambda e: e.get("state") == "paused", "paused")
            paused_at = sim_now(sim.url)
            time.sleep(rng.uniform(0.5, 2.5))
            kill(serve)
            log = tmp_path / "serve-2.log"
            serve = start(sim, folder, port, log)
            wait_for(log, b"serving 3 campaign files", serve)
            assert b"resuming from the journal" in log.read_bytes()
            assert campaign_entry(port, "gamma")["state"] == "paused"  # the file says so
            # a change that does not validate: beta goes on with its last valid version
            beta = folder / "beta.yaml"
            beta.write_text(texts["beta"].replace("minute: 60", "minute: -5"))
            wait_status(port, "beta", lambda e: bool(e.get("problem")), "shown as invalid")
            entry = campaign_entry(port, "beta")
            assert entry["state"] == "running", entry
            assert "requests_per_minute" in entry["problem"]
            assert any("does not validate" in e for e in entry["errors"])
            page = httpx.get(f"http://127.0.0.1:{port}/status/{STATUS}/html", timeout=5)
            assert b"requests_per_minute" in page.content
            time.sleep(2.0)  # gamma stays paused a while longer
            assert campaign_entry(port, "gamma")["state"] == "paused"
            unpaused_at = sim_now(sim.url)
            (folder / "gamma.yaml").write_text(texts["gamma"])
            beta.write_text(texts["beta"])  # the fix: the problem is gone
            wait_status(port, "beta", lambda e: e.get("problem") is None, "valid again")
            until_done(port, 3)
            sigterm(serve, log)
        finally:
            kill(serve)
        everyone = {"alpha": first["alpha"] + added, "beta": first["beta"], "gamma": first["gamma"]}
        calls = check_campaigns(sim, folder, everyone)
    called = {c["to_number"] for c in calls}
    for name, contacts in everyone.items():
        start_at, end_at = windows[name]
        for call in (c for c in calls if c["to_number"] in set(contacts)):
            local = datetime.fromtimestamp(call["created_at_wall"], tz).strftime("%H:%M")
            assert start_at <= local < end_at, f"{name}: a call at {local}, not in its window"
    assert set(first["beta"] + first["gamma"] + added) <= called  # the added ones too
    late = [c for c in calls if c["to_number"] in removed and c["created_at"] > changed]
    assert not late, f"removed contacts called after the change: {late}"
    assert set(removed) - called, "the removal came too late to matter"
    gamma = [c for c in calls if c["to_number"] in set(first["gamma"])]
    assert not [c for c in gamma if paused_at <= c["created_at"] <= unpaused_at]
    assert [c for c in gamma if c["created_at"] > unpaused_at]  # it had work left
