"""``python -m tests.chaos.engine_child FILE --rate R``: ``campaigner run`` on a fast clock.

The engine half of the out-of-process pair described in :mod:`tests.chaos.sim_child`:
``run_campaign`` exactly as ``campaigner run`` calls it (settings from the environment,
the real hypercorn callback receiver on ``callbacks.listen``, Ctrl-C handling), under
``trio.testing.MockClock(rate=R)`` with real loopback sockets. Its wall clock is set
from the simulator's (``GET /_sim/stats``) when it starts, so the dates the journal
writes agree with the simulator's ``DateCreated`` across kills and restarts.

The client's timeout is given in trio seconds (``--client-timeout``, default 15 x R):
on a clock R times faster, Exotel's usual 15 s would be 15/R real seconds, too short
for another process on a busy machine.

Prints one JSON line on stdout at the end (reason, exit code, counts) and exits with
the run's exit status, as ``campaigner run`` would.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from datetime import UTC, datetime
from functools import partial

import httpx
import trio
import trio.testing

from campaigner.campaign.loader import load_campaign
from campaigner.clock import TrioWallClock
from campaigner.engine.run import RunOptions, RunResult, run_campaign
from campaigner.errors import EXIT_INTERRUPTED
from campaigner.logs import setup_logging
from campaigner.settings import load_exotel_settings


def simulator_wall(settings_url: str, auth: tuple[str, str]) -> tuple[float, float]:
    """(the simulator's wall clock, ``time.monotonic()`` when it was read)."""
    answer = httpx.get(f"{settings_url}/_sim/stats", auth=auth, timeout=30)
    answer.raise_for_status()
    return float(answer.json()["now_wall"]), time.monotonic()


async def run(
    path: str, options: RunOptions, wall: float, read_at: float, rate: float
) -> RunResult:
    # The simulator's clock moved on (R times faster) since it was read.
    anchor = wall + rate * (time.monotonic() - read_at)
    clock = TrioWallClock(datetime.fromtimestamp(anchor, UTC))
    say = partial(print, file=sys.stderr, flush=True)
    return await run_campaign(load_campaign(path), options, clock=clock, report=say)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--rate", type=float, required=True, help="trio seconds per real second")
    parser.add_argument("--client-timeout", type=float, help="trio seconds (default 15 x rate)")
    parser.add_argument("--grace", type=float, default=60.0, help="trio seconds after Ctrl-C")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    setup_logging("text", getattr(logging, args.log_level))
    settings = load_exotel_settings()
    key, token, _ = settings.require_credentials()
    wall, read_at = simulator_wall(settings.v1_base, (key, token))
    options = RunOptions(
        settings=settings,
        grace=args.grace,
        client_timeout=args.client_timeout or 15.0 * args.rate,
    )
    clock = trio.testing.MockClock(rate=args.rate)
    try:
        result = trio.run(run, args.file, options, wall, read_at, args.rate, clock=clock)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary = {
        "reason": result.reason,
        "exit": result.exit_code,
        "counts": result.counts,
        "calls_placed": result.stats.calls_placed,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        "sim_seconds": round(clock.current_time(), 1),
    }
    print(json.dumps(summary), flush=True)
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
