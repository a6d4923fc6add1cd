"""The simulator and the engine in separate processes on one clock R times faster than real.

Used by the chaos test, the soak (``tests/soak``) and the scale benchmark
(``bench/scale.py``). The simulator (:mod:`tests.chaos.sim_child`) outlives the
engine's deaths as Exotel would; the engine (:mod:`tests.chaos.engine_child`) is
``run_campaign`` with its real hypercorn receiver, killed with SIGKILL or stopped with
SIGINT like a crash or an operator would. Both run under ``MockClock(rate=R)``, and the
engine takes its wall clock from the simulator's, so their times and dates agree.

Builds on :mod:`tests.engine.outofprocess` (the kill -9 test's real-clock helpers):
the simulator's handle, ports, ``campaigner export`` and the export's invariants come
from there.
Children write their output to files, never to pipes nobody reads (a full pipe would
stall a long run).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trio

from tests.engine.outofprocess import KEY, TOKEN, ExternalSim, free_port, stop
from tests.engine.truth import fetch_truths

REPO = Path(__file__).resolve().parents[2]
PAGE = 5000  # /_sim/calls per request


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child: this one, the checkout importable, plus ``extra``."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


@dataclass
class ScaledSim(ExternalSim):
    """A simulator process on a clock ``rate`` times faster than real."""

    rate: float = 1.0

    def get(self, path: str, **params: int) -> Any:
        answer = httpx.get(f"{self.url}{path}", params=params, auth=(KEY, TOKEN), timeout=60)
        answer.raise_for_status()
        return answer.json()

    def stats(self) -> dict[str, Any]:
        """``GET /_sim/stats``."""
        stats: dict[str, Any] = self.get("/_sim/stats")
        return stats

    def calls(self) -> list[dict[str, Any]]:
        """Every call the simulator created (``/_sim/calls``, in pages)."""
        found: list[dict[str, Any]] = []
        while page := self.get("/_sim/calls", offset=len(found), limit=PAGE):
            found.extend(page)
        return found

    def truths(self) -> list[dict[str, Any]]:
        """What really happened on every call (``/_sim/truth``, in pages)."""
        return fetch_truths(self.url, (KEY, TOKEN), PAGE)


@contextmanager
def scaled_sim(scenario: Path, rate: float, log: Path) -> Iterator[ScaledSim]:
    """Start the simulator (output to ``log``); stop it with Ctrl-C on the way out."""
    port = free_port()
    args = [sys.executable, "-m", "tests.chaos.sim_child", "--rate", str(rate)]
    args += ["--scenario", str(scenario), "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=child_env())
    try:
        wait_listening(port, process, log)
        yield ScaledSim(f"http://127.0.0.1:{port}", process, rate)
    finally:
        stop(process)


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the simulator exited: {log.read_text(errors='replace')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # another process is binding: real time is the point
    raise RuntimeError("the simulator did not start listening")


def engine_args(
    campaign: Path,
    rate: float,
    *,
    grace: float | None = None,
    client_timeout: float | None = None,
    log_level: str = "WARNING",
) -> list[str]:
    """The command line of one engine run (``tests.chaos.engine_child``)."""
    args = [sys.executable, "-m", "tests.chaos.engine_child", str(campaign), "--rate", str(rate)]
    args += ["--log-level", log_level]
    if grace is not None:
        args += ["--grace", str(grace)]
    if client_timeout is not None:
        args += ["--client-timeout", str(client_timeout)]
    return args


@dataclass
class Ended:
    """How one engine run ended."""

    returncode: int
    killed: bool  # we sent the signal before it ended by itself
    log: str  # its stderr (and stdout)
    seconds: float  # real time it lived

    def result(self) -> dict[str, Any] | None:
        """The JSON line a run that finished prints (None if it was killed)."""
        for line in reversed(self.log.splitlines()):
            if line.startswith('{"reason"'):
                parsed: dict[str, Any] = json.loads(line)
                return parsed
        return None


async def run_engine(
    args: list[str],
    env: dict[str, str],
    log: Path,
    *,
    stop_after: float | None = None,
    sig: int = signal.SIGKILL,
    live: str | None = None,
    limit: float = 600,
) -> Ended:
    """Run the engine to its end, or send it ``sig`` ``stop_after`` real seconds after it
    started (or after its output first shows ``live``), then wait for it to end."""
    started = time.monotonic()
    with log.open("wb") as out:
        process = await trio.lowlevel.open_process(args, env=env, stdout=out, stderr=out)
    killed = False
    with trio.fail_after(limit):
        if stop_after is not None:
            await _wait_live(process, log, live)
            with trio.move_on_after(stop_after):
                await process.wait()
            if process.returncode is None:
                killed = True
                process.send_signal(sig)
        await process.wait()
    assert process.returncode is not None
    return Ended(process.returncode, killed, _read(log), time.monotonic() - started)


async def _wait_live(process: trio.Process, log: Path, live: str | None) -> None:
    if live is None:
        return
    while process.returncode is None and live not in _read(log):
        with trio.move_on_after(0.05):  # watching another process's output: real time
            await process.wait()


def _read(log: Path) -> str:
    return log.read_text(errors="replace")
