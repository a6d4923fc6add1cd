"""``python -m tests.chaos.sim_child``: ``campaigner sim`` on a clock R times faster than real.

The chaos test, the soak and the scale benchmark run the simulator in its own process
(it must outlive the engine's deaths) and the engine in another, both under
``trio.testing.MockClock(rate=R)``. This is ``campaigner sim``'s own ``serve`` (the
simulator and its hypercorn server), with one difference: trio's clock runs R times
faster, so everything the simulator times (call timelines, callback retries, the rate
limit's window, held answers, heartbeats) and the dates it writes (its wall clock
advances with trio's) run R times faster together. The scenario keeps
``time_scale: 1``: its times are in simulated seconds, which here are trio seconds.

Why not ``campaigner sim --time-scale R``: that scales call timelines but keeps real
wall dates, while an engine on a fast clock writes fast dates, and reconciliation
finds a lost call by its ``DateCreated``. Here both sides read one scaled time.

One setting differs from ``serve_http``: hypercorn's keep-alive timeout is 5 s of real
time (5 x R trio seconds), as with ``campaigner sim``. Left at 5 trio seconds, a client
whose connection sat idle for 2 s (its own expiry) would have 3/R real seconds to use
it before the server closes it, and any pause of the client's process (a garbage
collection) would turn a POST into a lost answer that only the clock's speed caused.
"""

from __future__ import annotations

import argparse
from functools import partial

import trio
import trio.testing
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from campaigner.commands.sim import banner, build_scenario
from campaigner.simulator import Scenario, Simulator


async def serve(scenario: Scenario, port: int, rate: float) -> None:
    """The simulator's service and HTTP server, as ``campaigner sim`` runs them."""
    sim = Simulator(scenario)
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1.0
    config.keep_alive_timeout = 5.0 * rate
    async with trio.open_nursery() as nursery:
        await nursery.start(sim.run)
        binds = await nursery.start(partial(hypercorn_serve, sim.asgi_app, config))
        print(banner(scenario, binds[0]), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, required=True, help="simulated s per real s")
    parser.add_argument("--scenario", required=True, help="scenario YAML (time_scale 1)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    scenario = build_scenario(args.scenario, None)
    clock = trio.testing.MockClock(rate=args.rate)
    try:
        trio.run(serve, scenario, args.port, args.rate, clock=clock)
    except KeyboardInterrupt:
        pass
    except BaseExceptionGroup as group:  # Ctrl-C while a nursery was busy
        _, rest = group.split(KeyboardInterrupt)
        if rest is not None:
            raise
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
