"""A faithful local Exotel: the same paths, formats, quirks, limits and callbacks.

Written from docs/exotel/README.md and the pages beside it, importing
nothing from ``campaigner.exotel`` so that a misunderstanding in the client is never
mirrored here. See docs/simulator.md for scenarios and faults.

In-process use (tests, benchmarks)::

    sim = Simulator(scenario)
    await nursery.start(sim.run)                      # callbacks and heartbeats
    client = httpx.AsyncClient(transport=sim.transport(), base_url="http://sim")
"""

from __future__ import annotations

from campaigner.simulator.calls import CallInfo
from campaigner.simulator.core import AnswerLost, RequestRecord, SimStats, Simulator
from campaigner.simulator.delivery import DeliveryStats
from campaigner.simulator.loader import load_scenario
from campaigner.simulator.scenario import Scenario
from campaigner.simulator.server import serve_http

__all__ = [
    "AnswerLost",
    "CallInfo",
    "DeliveryStats",
    "RequestRecord",
    "Scenario",
    "SimStats",
    "Simulator",
    "load_scenario",
    "serve_http",
]
