"""``campaigner serve DIR``: run every campaign file of a folder, per its schedule, for good.

The folder (a git work tree reviewed like any other, or a plain folder) is the desired
state: each ``*.yaml``/``*.yml`` in it is a campaign, run as ``campaigner run`` would
run it (the same engine, journal and reports) and resumed from its journal after a
restart or a crash. Changes are noticed by polling (``--poll``); ``--pull EVERY``
also runs ``git pull --ff-only`` in the folder that often. See campaigner.serve.

One process per Exotel account: every campaign draws on the account's one request
budget (shared with any ``campaigner run`` of the account on this machine), and one
callback receiver (``--listen``, public as ``--public-url``) routes each run's token to
its campaign. ``CAMPAIGNER_STATUS_TOKEN`` enables the status page at
``<public>/status/<token>`` (JSON) and ``.../html``.

SIGTERM or Ctrl-C once: no new calls; calls in flight are followed for ``--grace``
seconds; every campaign is journaled and the next serve resumes it (exit 0 for
SIGTERM, 130 for Ctrl-C). Twice: stop now (still resumable).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import trio

from campaigner.campaign.durations import parse_duration
from campaigner.clock import TrioWallClock
from campaigner.engine.limiter import FileBudget
from campaigner.engine.outage import GIVE_UP_AFTER
from campaigner.engine.receiver import serve_receiver
from campaigner.errors import EXIT_INTERRUPTED, EXIT_OK, CampaignerError, ConfigError, UsageError
from campaigner.logs import say, setup_logging
from campaigner.report import write_report
from campaigner.serve.dispatch import Dispatch
from campaigner.serve.service import Host
from campaigner.serve.status import STATUS_TOKEN_ENV, render
from campaigner.serve.supervisor import Campaign, Supervisor
from campaigner.settings import ExotelSettings, load_exotel_settings
from campaigner.tidy import ignore_default_reports

NAME = "serve"
HELP = "Run every campaign file of a folder per its schedule, apply changes, resume after restarts."
EPILOG = """\
examples:
  campaigner serve campaigns/ --listen 0.0.0.0:8080 --public-url https://hooks.example.com/exotel
  campaigner serve /campaigns --pull 5m --log-format json     # a git work tree, pulled

Each campaign runs as `campaigner run` would run it (same journal, exactly-once, reports).
A changed file applies at a safe point; a file that does not validate leaves its campaign
on the last valid version (logged, on the status page, journaled). `paused: true` in a
file pauses that campaign. Exit codes: 0 stopped by SIGTERM, 2 usage, 3 settings or
port in use, 130 Ctrl-C.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="DIR", help="folder of campaign files")
    parser.add_argument(
        "--listen",
        default="0.0.0.0:8080",
        metavar="HOST:PORT",
        help="where the callback receiver (and the status page) listen (default 0.0.0.0:8080)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL Exotel reaches the receiver at; without it calls are tracked by polling",
    )
    parser.add_argument(
        "--poll",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="look for changed campaign files this often (default 10)",
    )
    parser.add_argument(
        "--pull",
        metavar="EVERY",
        help="run `git pull --ff-only` in DIR this often (a duration: 30s, 5m)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="on SIGTERM, follow calls in flight this long (default 60)",
    )
    parser.add_argument(
        "--unreachable-timeout",
        type=float,
        default=GIVE_UP_AFTER,
        metavar="SECONDS",
        help="a campaign stops (and is retried later) once Exotel has been unreachable "
        f"this long (default {GIVE_UP_AFTER:.0f})",
    )
    parser.add_argument("--log-format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_format, logging.INFO)
    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    for name, least in (("poll", 0.1), ("grace", 0.0), ("unreachable_timeout", 1.0)):
        value = getattr(args, name)
        if not math.isfinite(value) or value < least:
            raise UsageError(f"--{name.replace('_', '-')} {value}: must be >= {least} seconds")
    pull = _pull_every(args.pull)
    settings = load_exotel_settings()
    settings.require_credentials()
    token = os.environ.get(STATUS_TOKEN_ENV) or None
    return trio.run(partial(_serve, args, folder, pull, settings, token))


def _pull_every(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value).total_seconds()
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--pull {value}: {exc}") from None
    if seconds <= 0:
        raise UsageError(f"--pull {value}: must be more than 0 seconds")
    return seconds


async def _serve(
    args: argparse.Namespace,
    folder: Path,
    pull: float | None,
    settings: ExotelSettings,
    token: str | None,
) -> int:
    clock = TrioWallClock()
    dispatch = Dispatch(token)
    host = Host(
        settings=settings,
        dispatch=dispatch,
        budget=FileBudget.for_account(settings, lambda: clock.now().timestamp()),
        clock=clock,
        public_url=args.public_url,
        unreachable_timeout=args.unreachable_timeout,
    )
    supervisor = Supervisor(
        folder, host, poll=args.poll, grace=args.grace, on_run_end=_write_report
    )
    dispatch.status_page = partial(render, supervisor)
    code = EXIT_OK
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        try:
            bound = await nursery.start(
                partial(serve_receiver, dispatch, args.listen, shutdown=shutdown)
            )
        except OSError as exc:
            raise ConfigError(
                f"--listen {args.listen}: cannot listen there: {exc.strerror}"
            ) from None
        say(f"listening for callbacks on {bound}", listen=str(bound))
        if args.public_url is None:
            say("no --public-url: calls are tracked by polling only", logging.WARNING)
        if token is None:
            say(f"no status page: set {STATUS_TOKEN_ENV} to serve one", logging.WARNING)
        await nursery.start(supervisor.run)
        say(f"serving {len(supervisor.campaigns)} campaign files from {folder}")
        if pull is not None:
            nursery.start_soon(_pull, folder, pull)
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                code = EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_OK
                say(
                    f"stopping: no new calls; following calls in flight for up to "
                    f"{args.grace:.0f}s (again to stop now); `campaigner serve` resumes"
                )
                async with trio.open_nursery() as stopping:
                    # a second signal while the campaigns stop: stop now
                    stopping.start_soon(_second_signal, signals, nursery.cancel_scope)
                    await supervisor.stop()
                    stopping.cancel_scope.cancel()
                break
        shutdown.set()
        nursery.cancel_scope.cancel()
    say("stopped: every campaign is journaled; the next serve resumes them")
    return code


async def _second_signal(signals: AsyncIterator[int], scope: trio.CancelScope) -> None:
    async for _ in signals:
        say("stopping now; `campaigner serve` resumes where this left off")
        scope.cancel()
        return


async def _pull(folder: Path, every: float) -> None:
    """``git pull --ff-only`` on an interval; a failure is logged, the serve goes on."""
    while True:
        await trio.sleep(every)
        result = await trio.run_process(
            ["git", "-C", str(folder), "pull", "--ff-only", "--quiet"],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
        if result.returncode != 0:
            why = result.stderr.decode(errors="replace").strip().splitlines()
            reason = _without_userinfo(why[-1]) if why else str(result.returncode)
            say(f"git pull --ff-only failed: {reason}", logging.ERROR)


_USERINFO = re.compile(r"(\w+://)[^/@\s]+@")


def _without_userinfo(text: str) -> str:
    """git names the remote's URL in its errors; a token in that URL must not reach the log."""
    return _USERINFO.sub(r"\1***@", text)


async def _write_report(campaign: Campaign) -> None:
    """Each run's report, whatever the ending, as ``run`` writes it (in a thread)."""
    loaded = campaign.loaded
    if loaded is None or not loaded.journal_path.exists():
        return

    def write() -> Path:
        ignore_default_reports(loaded.path, loaded.report_path)
        return write_report(loaded.journal_path, loaded.report_path, campaign_file=loaded.path)

    try:
        path = await trio.to_thread.run_sync(write)
    except CampaignerError as exc:
        campaign.error(f"report not written: {exc}", datetime.now(UTC).isoformat())
        say(f"warning: {campaign.path}: the report could not be written: {exc}", logging.WARNING)
        return
    except Exception as exc:  # a report bug must not stop the serve
        logging.getLogger("campaigner.serve").debug("report failed", exc_info=True)
        say(f"warning: {campaign.path}: report failed ({type(exc).__name__})", logging.WARNING)
        return
    say(f"{campaign.path}: report: {path}", report=str(path))
