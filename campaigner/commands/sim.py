"""``campaigner sim``: serve a simulated Exotel account on loopback until Ctrl-C.

For the sandbox (``campaigner run --sandbox``) and for people trying campaigner without
an Exotel account. It prints the environment to point the client at it; the default
scenario's credentials are printed too, since they are fixed fake values.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import trio

from campaigner.errors import EXIT_OK, UsageError
from campaigner.simulator import Scenario, Simulator, load_scenario, serve_http

NAME = "sim"
HELP = "Serve a simulated Exotel on loopback (sandbox runs, trying things out)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``campaigner sim``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to bind (default 8765)")
    parser.add_argument("--scenario", metavar="FILE", help="scenario YAML (docs/simulator.md)")
    parser.add_argument(
        "--time-scale",
        type=float,
        metavar="X",
        help="run simulated time X times faster (rings, talk, callbacks, heartbeats)",
    )


def build_scenario(path: str | None, time_scale: float | None) -> Scenario:
    """The scenario from a file (or the sandbox default), with the time scale applied."""
    scenario = load_scenario(path) if path else Scenario()
    if time_scale is not None:
        if time_scale <= 0:
            raise UsageError("--time-scale must be greater than 0")
        scenario = scenario.model_copy(update={"time_scale": time_scale})
    return scenario


def banner(scenario: Scenario, url: str) -> str:
    """What to tell the user: where it listens and the environment to use."""
    account = scenario.account
    default = Scenario().account
    lines = [
        f"campaigner sim: simulated Exotel account {account.sid!r} on {url}"
        f" (time scale {scenario.time_scale:g})",
        f"  export EXOTEL_BASE_URL={url} EXOTEL_CCM_BASE_URL={url}",
    ]
    if (account.api_key, account.api_token) == (default.api_key, default.api_token):
        lines.append(
            f"  export EXOTEL_ACCOUNT_SID={account.sid} EXOTEL_API_KEY={account.api_key}"
            f" EXOTEL_API_TOKEN={account.api_token}"
        )
    else:
        lines.append(f"  export EXOTEL_ACCOUNT_SID={account.sid} (key and token: the scenario's)")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


async def serve(
    scenario: Scenario,
    host: str,
    port: int,
    out: TextIO,
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the simulator's service and HTTP server; ``nursery.start`` returns the URL."""
    sim = Simulator(scenario)
    async with trio.open_nursery() as nursery:
        await nursery.start(sim.run)
        binds = await nursery.start(serve_http, sim, host, port)
        url = binds[0]
        print(banner(scenario, url), file=out, flush=True)
        task_status.started(url)


def run(args: argparse.Namespace) -> int:
    """Entry point: serve until interrupted."""
    scenario = build_scenario(args.scenario, args.time_scale)
    try:
        trio.run(serve, scenario, args.host, args.port, sys.stdout)
    except (KeyboardInterrupt, BaseExceptionGroup) as exc:
        _explain(exc, args.host, args.port)
    return EXIT_OK


def _explain(exc: BaseException, host: str, port: int) -> None:
    """Ctrl-C ends the server normally; a port that cannot be bound is a usage error."""
    if isinstance(exc, BaseExceptionGroup):
        bind_error, rest = exc.split(OSError)
        if bind_error is not None:
            first = _first_leaf(bind_error)
            reason = getattr(first, "strerror", None) or str(first)
            raise UsageError(f"cannot listen on {host}:{port}: {reason}") from None
        if rest is not None and rest.split(KeyboardInterrupt)[1] is not None:
            raise exc
    print("campaigner sim: stopped", file=sys.stderr)


def _first_leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc
