"""Run campaigner and its simulator as separate processes, and kill them like a crash would.

Used by the kill -9 tests (and the chaos tests): the simulator must outlive the engine's
deaths, so it runs as ``campaigner sim`` in its own process, and the engine as
``campaigner run`` with ``EXOTEL_BASE_URL`` pointing at it. Both run on the real clock,
on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

KEY, TOKEN, SID = "sandbox-key", "sandbox-token", "sandbox"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ExternalSim:
    """A ``campaigner sim`` process."""

    url: str
    process: subprocess.Popen[bytes]

    def calls(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/_sim/calls", auth=(KEY, TOKEN), timeout=10)
        answer.raise_for_status()
        calls: list[dict[str, Any]] = answer.json()
        return calls

    def env(self) -> dict[str, str]:
        """The environment a ``campaigner run`` needs to use this simulator."""
        return {
            "EXOTEL_API_KEY": KEY,
            "EXOTEL_API_TOKEN": TOKEN,
            "EXOTEL_ACCOUNT_SID": SID,
            "EXOTEL_BASE_URL": self.url,
            "EXOTEL_CCM_BASE_URL": self.url,
        }


def campaigner(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "campaigner", *args]


@contextmanager
def external_sim(scenario: Path, time_scale: float) -> Iterator[ExternalSim]:
    port = free_port()
    process = subprocess.Popen(
        campaigner(
            [
                "sim",
                "--port",
                str(port),
                "--scenario",
                str(scenario),
                "--time-scale",
                str(time_scale),
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_listening(port, process)
        yield ExternalSim(url, process)
    finally:
        stop(process)
        if process.stderr is not None:
            process.stderr.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, then SIGKILL if it has not ended within 10 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"campaigner sim exited: {err}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # waiting for another process to bind: real time is the point
    raise RuntimeError("campaigner sim did not start listening")


def export(campaign: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    out = subprocess.run(
        campaigner(["export", str(campaign), "--format", "json"]),
        capture_output=True,
        check=True,
        env={**os.environ, **env},
    )
    records: list[dict[str, Any]] = json.loads(out.stdout)
    return records


def check_export_invariants(
    records: list[dict[str, Any]],
    sim_calls: list[dict[str, Any]],
    *,
    max_calls: int,
    contact_leg: str = "to_number",
) -> None:
    """The promises, checked from the outside: the export against what Exotel did."""
    contacts = [r for r in records if r["source"] and r["state"] != "done" or r["outcome"] is None]
    assert not contacts, f"contacts without a final outcome: {contacts[:3]}"
    exported = {c["sid"] for r in records for c in r["calls"]}
    placed = {c["sid"] for c in sim_calls}
    missing = placed - exported
    assert not missing, f"calls the simulator placed that the export lacks: {sorted(missing)[:5]}"
    by_number: dict[str, list[tuple[float, float]]] = {}
    for call in sim_calls:
        by_number.setdefault(call[contact_leg], []).append((call["created_at"], call["ended_at"]))
    for number, spans in by_number.items():
        assert len(spans) <= max_calls, f"{number} got {len(spans)} calls (at most {max_calls})"
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"two calls to {number} overlapped"
