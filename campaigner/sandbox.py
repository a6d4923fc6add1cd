"""Sandbox mode: the built-in simulator, in the same process and the same nursery.

``campaigner run --sandbox`` and the engine's tests use it. No account, no public
URL and no socket are needed: the client's requests go to the simulator through an
in-process transport, and the simulator's callbacks go to the run's receiver app
through ``httpx.ASGITransport``. Everything else (paths, bodies, quirks, limits,
faults) is exactly what the simulator serves over HTTP.

The simulator lives in the run's process, so a Ctrl-C would take every call it made with
it, and the resumed run would meet a new simulator that answers 404 for the calls still
open in its journal (they would end ``unknown``). So ``campaigner run --sandbox`` keeps a
*call ledger* beside the journal (:func:`ledger_for`): one JSON line per call, written as
the call is created (its whole fate is decided then), and rewritten at exit with how far
each call had got. A resumed sandbox run restores those calls into its new simulator, on
its own clock, so calls placed before the Ctrl-C go on from where they were and end with
their true outcomes; and tests read the ledger (:func:`ledger_truths`) to judge every call
of every run after the processes are gone (docs/simulator.md, "The sandbox's call ledger").
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import trio

from campaigner.clock import WallClock
from campaigner.engine.receiver import CallbackReceiver
from campaigner.errors import StateError
from campaigner.settings import ExotelSettings
from campaigner.simulator import Scenario, Simulator
from campaigner.simulator.inspect import CallTruth, truth_of
from campaigner.simulator.timeline import CallOptions, SimCall

SANDBOX_HOST = "http://sandbox.exotel.invalid"
SANDBOX_CALLBACKS = "http://sandbox-callbacks.invalid/exotel"
LEDGER_SUFFIX = ".sandbox-calls.jsonl"

log = logging.getLogger("campaigner.sandbox")


class _Forward(httpx.AsyncBaseTransport):
    """A transport whose target (the simulator) is attached once the run has started."""

    def __init__(self) -> None:
        self.target: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.target is None:
            raise httpx.ConnectError("the sandbox simulator is not running yet", request=request)
        return await self.target.handle_async_request(request)


class Sandbox:
    """Wires a :class:`Simulator` into a run (see ``RunOptions.extra_services``)."""

    def __init__(
        self,
        scenario: Scenario,
        clock: WallClock,
        sid_nonce: str | None = None,
        ledger: Path | None = None,
    ) -> None:
        """``sid_nonce`` is for tests only: by default every sandbox's simulator hands out
        SIDs of its own, so a resumed run never meets the SIDs its journal already holds.
        ``ledger`` (see :func:`ledger_for`): where the simulator's calls are kept across
        runs; None keeps them in memory only (the engine's in-process tests)."""
        self.ledger = ledger
        self.scenario = scenario
        self.sid_nonce = sid_nonce
        self.clock = clock
        self.transport = _Forward()
        self.simulator: Simulator | None = None
        account = scenario.account
        self.settings = ExotelSettings(
            api_key=account.api_key,
            api_token=account.api_token,
            account_sid=account.sid,
            base_url=SANDBOX_HOST,
            ccm_base_url=SANDBOX_HOST,
        )

    async def start(self, nursery: trio.Nursery, app: CallbackReceiver) -> None:
        """Start the simulator in ``nursery``, posting its callbacks to ``app``."""
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        self.simulator = Simulator(
            self.scenario, clock=self.clock, callback_client=client, sid_nonce=self.sid_nonce
        )
        self.transport.target = self.simulator.transport()
        await nursery.start(_hold, client)
        await nursery.start(self.simulator.run)
        if self.ledger is not None:
            restore(self.simulator, self.ledger)
            self.simulator.book.on_create = self._append
            await nursery.start(_keep_ledger, self.simulator, self.ledger)

    def _append(self, call: SimCall) -> None:
        """Write a call down the moment it exists (a kill -9 later loses no call)."""
        assert self.ledger is not None
        try:
            with self.ledger.open("a", encoding="utf-8") as file:
                file.write(_line(call, 0.0))
        except OSError as exc:  # a sandbox convenience: never the reason a run fails
            _unwritten(self.ledger, exc)


def _unwritten(ledger: Path, exc: OSError) -> None:
    log.warning(
        "%s: the sandbox's call ledger could not be written (%s); a resumed sandbox run "
        "will not know the calls in flight now, and they may end unknown",
        ledger,
        exc.strerror or exc,
    )


# ---- the call ledger --------------------------------------------------------------------


def ledger_for(journal: Path) -> Path:
    """The call ledger of the sandbox run journaled in ``journal``, beside it.

    A ledger left without its journal (the journal was deleted to start over) belongs to
    no run: it is removed, so a new run does not inherit calls its journal never made."""
    ledger = journal.with_name(journal.name.removesuffix(".sqlite3") + LEDGER_SUFFIX)
    if not journal.exists():
        ledger.unlink(missing_ok=True)
    return ledger


def _line(call: SimCall, age: float) -> str:
    """One ledger line: the call's decided timeline and options, and ``age``: the
    simulator-clock seconds it had been going when written (0 at creation)."""
    body: dict[str, Any] = {name: getattr(call, name) for name in SimCall.__slots__}
    body["opts"] = None if call.opts is None else asdict(call.opts)
    return json.dumps({"call": body, "age": age}, separators=(",", ":")) + "\n"


def _call(body: dict[str, Any]) -> SimCall:
    fields = dict(body)
    call = SimCall(
        fields.pop("sid"), fields.pop("seq"), fields.pop("api"), fields.pop("frm"),
        fields.pop("to"), fields.pop("caller"),
    )  # fmt: skip
    opts = fields.pop("opts")
    if opts is not None:
        opts["events"] = tuple(opts["events"])
        opts["v3_callbacks"] = tuple(tuple(entry) for entry in opts["v3_callbacks"])
        call.opts = CallOptions(**opts)
    for name, value in fields.items():
        setattr(call, name, value)
    return call


def read_ledger(ledger: Path) -> list[tuple[SimCall, float]]:
    """Every call in the ledger with its age, in creation order (a call's last line wins:
    the exit snapshot's age over the creation line's). A line cut short by a kill is
    ignored; any other damage is a :class:`StateError` naming the file and line."""
    if not ledger.exists():
        return []
    found: dict[str, tuple[SimCall, float]] = {}
    lines = ledger.read_text(encoding="utf-8").splitlines()
    for number, text in enumerate(lines, start=1):
        try:
            entry = json.loads(text)
            call = _call(entry["call"])
            age = float(entry["age"])
        except (ValueError, KeyError, TypeError) as exc:
            if number == len(lines):
                break  # the last line of a killed run, half written
            raise StateError(
                f"{ledger}, line {number}: not a sandbox call ({exc}); delete the file to "
                "resume without the calls it held (those in flight may end unknown)"
            ) from exc
        found[call.sid] = (call, age)
    return list(found.values())


def restore(sim: Simulator, ledger: Path) -> None:
    """Put the ledger's calls into ``sim`` as they were: each goes on from its age on
    ``sim``'s clock, and its callbacks not yet sent are sent from here."""
    now, wall = trio.current_time(), sim.wall_now()
    for call, age in read_ledger(ledger):
        call.created, call.wall0 = now - age, wall - age
        sim.book.restore(call)
        sim.dispatcher.schedule_call(call)


def write_ledger(sim: Simulator, ledger: Path) -> None:
    """Rewrite the ledger with every call's age now (atomically: never half a ledger)."""
    now = trio.current_time()
    temp = ledger.with_name(ledger.name + ".tmp")
    with temp.open("w", encoding="utf-8") as file:
        for call in sim.book.ordered:
            file.write(_line(call, now - call.created))
        file.flush()
        os.fsync(file.fileno())
    temp.replace(ledger)


def ledger_truths(ledger: Path, scenario: Scenario | None = None) -> list[CallTruth]:
    """What really happened on every call a sandbox campaign made, in all its runs, read
    from its ledger after the processes are gone. Times are POSIX seconds on the
    sandbox's simulated wall clock (trio times mean nothing outside their process)."""
    scenario = scenario or Scenario()
    truths = []
    for call, _ in read_ledger(ledger):
        call.created = call.wall0
        truths.append(truth_of(call, scenario))
    return truths


async def _keep_ledger(
    sim: Simulator,
    ledger: Path,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """At the end of the run (finished, Ctrl-C or error), write down how far every call
    had got, so a resumed run picks them up there."""
    task_status.started()
    try:
        await trio.sleep_forever()
    finally:
        try:
            write_ledger(sim, ledger)
        except OSError as exc:
            _unwritten(ledger, exc)


async def _hold(
    client: httpx.AsyncClient, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Keep the simulator's callback client open for the run, and close it after."""
    async with client:
        task_status.started()
        await trio.sleep_forever()
