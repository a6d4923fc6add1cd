"""``campaigner run FILE``: dial the campaign (or resume it) until every contact is final."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from functools import partial

import trio
import trio.testing

from campaigner.campaign.loader import load_campaign
from campaigner.campaign.resolved import LoadedCampaign
from campaigner.clock import TrioWallClock
from campaigner.engine.progress import show_progress
from campaigner.engine.run import RunOptions, RunResult, run_campaign
from campaigner.errors import EXIT_INTERRUPTED, CampaignerError, UsageError
from campaigner.logs import setup_logging
from campaigner.report import write_report
from campaigner.sandbox import SANDBOX_CALLBACKS, Sandbox
from campaigner.schedule import CallingSchedule
from campaigner.settings import load_exotel_settings
from campaigner.simulator import Scenario, load_scenario
from campaigner.store.locks import RunnerKey, check_runner

NAME = "run"
HELP = "Run a campaign (or resume it) until every contact has a final outcome."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="campaign file")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the built-in Exotel simulator, in this process (no account needed)",
    )
    parser.add_argument(
        "--scenario", metavar="FILE", help="simulator scenario for --sandbox (docs/simulator.md)"
    )
    parser.add_argument(
        "--time-scale",
        default="max",
        metavar="X",
        help="--sandbox only: simulated seconds per real second, or 'max' to run as fast as "
        "possible (default)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="after Ctrl-C, keep following calls in flight this long (default 60)",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="do not write the HTML report at the end"
    )
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument("-q", "--quiet", action="store_true", help="no live progress display")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_format, logging.INFO)
    loaded = load_campaign(args.file)
    for warning in loaded.warnings:
        print(warning, file=sys.stderr)
    if args.sandbox:
        result = _run_sandbox(loaded, args)
    else:
        if args.scenario:
            raise UsageError("--scenario only applies with --sandbox")
        settings = load_exotel_settings()
        settings.require_credentials()
        # another runner of this campaign on this account: said before any preflight
        runner = RunnerKey(settings.account_sid or "", loaded.campaign.name)
        check_runner(runner, loaded.journal_path)
        options = _options(args, RunOptions(settings=settings))
        result = trio.run(partial(run_campaign, loaded, options, report=_say))
    _summarise(result, loaded)
    if not args.no_report:
        _write_report(loaded)
    return result.exit_code


def _write_report(loaded: LoadedCampaign) -> None:
    """The run's report, whatever the ending (a stopped run reports what is known)."""
    try:
        path = write_report(loaded.journal_path, loaded.report_path, campaign_file=loaded.path)
    except CampaignerError as exc:
        _say(f"warning: the report could not be written: {exc}")
        return
    except Exception as exc:  # a report bug must not turn a finished run into a failure
        logging.getLogger("campaigner.run").debug("report failed", exc_info=True)
        _say(
            f"warning: the report could not be written ({type(exc).__name__}: {exc}); "
            f"the run itself is unaffected: `campaigner report {loaded.path.name}` retries"
        )
        return
    _say(f"report: {path}")


def _run_sandbox(loaded: LoadedCampaign, args: argparse.Namespace) -> RunResult:
    scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    if args.time_scale == "max":
        clock = trio.testing.MockClock(autojump_threshold=0)
    else:
        try:
            clock = trio.testing.MockClock(rate=float(args.time_scale))
        except ValueError:
            raise UsageError("--time-scale takes a number or 'max'") from None
    # The sandbox's simulated clock starts when the current (or next) calling window
    # opens, so a demo run in the evening is not cut short at the window's end.
    calendar = CallingSchedule(loaded.campaign.schedule)
    now = datetime.now(UTC)
    span = next(iter(calendar.intervals(now)), None)
    anchor = span.start if span is not None else now
    _say(f"sandbox: simulated Exotel, simulated time from {anchor:%Y-%m-%d %H:%M %Z}")

    async def main() -> RunResult:
        wall = TrioWallClock(anchor)
        sandbox = Sandbox(scenario, wall)
        options = RunOptions(
            settings=sandbox.settings,
            transport=sandbox.transport,
            serve_callbacks=False,
            public_url=SANDBOX_CALLBACKS,
            extra_services=sandbox.start,
            sandbox=True,
        )
        return await run_campaign(loaded, _options(args, options), clock=wall, report=_say)

    return trio.run(main, clock=clock)


def _options(args: argparse.Namespace, options: RunOptions) -> RunOptions:
    options.grace = args.grace
    if not args.quiet:
        options.progress = show_progress
    return options


def _summarise(result: RunResult, loaded: LoadedCampaign) -> None:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()))
    if result.reason == "complete":
        _say(f"done: every contact has a final outcome ({counts})")
    elif result.reason == "deadline":
        _say(f"stopped at the deadline ({counts}); contacts left are expired")
    elif result.exit_code == EXIT_INTERRUPTED:
        _say(f"stopped by the operator ({counts}); `campaigner run {loaded.path.name}` resumes")
    _say(f"journal: {loaded.journal_path}")


def _say(message: str) -> None:
    print(message, file=sys.stderr)
