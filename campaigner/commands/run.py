"""``campaigner run FILE``: dial the campaign (or resume it) until every contact is final.

Before the journal is touched, a preflight (``campaigner.engine.preflight``) checks
what would make the run fail or do harm: a deadline already past, a callback port in
use, Exotel unreachable or refusing the credentials. Each ends the command in one
line and its documented exit code. A real run then asks before dialing when a person
is at the terminal; a script says ``--yes`` (without a terminal and without
``--yes`` the run refuses: nobody could have confirmed it). Sandbox runs never ask.
"""

from __future__ import annotations

import argparse
import logging
import math
import shlex
import sys
from datetime import UTC, datetime
from functools import partial

import trio
import trio.testing
from rich.console import Console

from campaigner.campaign.loader import load_campaign
from campaigner.campaign.resolved import LoadedCampaign
from campaigner.clock import TrioWallClock
from campaigner.commands.plan import state_diff
from campaigner.engine.outage import GIVE_UP_AFTER
from campaigner.engine.preflight import check_deadline, check_exotel, check_listen
from campaigner.engine.prepare import check_journal
from campaigner.engine.progress import show_progress
from campaigner.engine.run import RunOptions, RunResult, run_campaign
from campaigner.errors import EXIT_INTERRUPTED, EXIT_PAUSED, CampaignerError, UsageError
from campaigner.logs import say, setup_logging
from campaigner.report import write_report
from campaigner.sandbox import SANDBOX_CALLBACKS, Sandbox, ledger_for
from campaigner.schedule import CallingSchedule
from campaigner.settings import ExotelSettings, load_exotel_settings
from campaigner.simulator import Scenario, load_scenario
from campaigner.store.locks import RunnerKey, check_runner
from campaigner.tidy import ignore_default_reports

NAME = "run"
HELP = "Run a campaign (or resume it) until every contact has a final outcome."
EPILOG = """\
examples:
  campaigner run campaigns/demo.yaml --sandbox           # simulated Exotel, no account
  campaigner run campaigns/nov.yaml                      # asks y/N before dialing
  campaigner run campaigns/nov.yaml --yes --log-format json -q   # from a script

Before dialing: the journal is free, the deadline is ahead, callbacks.listen can be
bound, Exotel answers and accepts the credentials. Exit codes: 0 done, 1 invalid or
deadline passed, 2 usage or not confirmed, 3 settings or port in use, 4 journal,
5 Exotel refused or unreachable (resumable), 6 circuit breaker, 130 Ctrl-C.
"""


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
        help="--sandbox only: simulated seconds per real second (> 0), or 'max' to run as "
        "fast as possible (default)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="after Ctrl-C, keep following calls in flight this long (default 60)",
    )
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="do not ask before a real run dials (scripts); without a terminal it is required",
    )
    parser.add_argument(
        "--allow-past-deadline",
        action="store_true",
        help="run even though the deadline has passed: every contact left ends `expired`",
    )
    parser.add_argument(
        "--unreachable-timeout",
        type=float,
        default=GIVE_UP_AFTER,
        metavar="SECONDS",
        help="stop (resumable, exit 5) once Exotel has been unreachable this long "
        f"(default {GIVE_UP_AFTER:.0f})",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="do not write the HTML report at the end"
    )
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument("-q", "--quiet", action="store_true", help="no live progress display")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_format, logging.INFO)
    _check_numbers(args)
    loaded = load_campaign(args.file)
    if loaded.campaign.paused:  # a reviewed pause: nobody is dialed until it is lifted
        say(f"{args.file}: paused (paused: true in the file): nothing dialed", logging.WARNING)
        return EXIT_PAUSED
    hint = resume_hint(args)
    check_journal(loaded, sandbox=args.sandbox)
    check_deadline(loaded, datetime.now(UTC), allow_past=args.allow_past_deadline)
    for warning in loaded.warnings:
        say(str(warning), logging.WARNING)
    if args.sandbox:
        result = _run_sandbox(loaded, args, hint)
    else:
        if args.scenario:
            raise UsageError("--scenario only applies with --sandbox")
        settings = load_exotel_settings()
        settings.require_credentials()
        # another runner of this campaign on this account: said before any preflight
        runner = RunnerKey(settings.account_sid or "", loaded.campaign.name)
        check_runner(runner, loaded.journal_path)
        if loaded.campaign.callbacks.public_url:
            check_listen(loaded)
        trio.run(partial(check_exotel, loaded, settings, datetime.now(UTC)))
        confirm(loaded, settings, args.yes, json_only=args.log_format == "json")
        options = _options(args, RunOptions(settings=settings), hint)
        result = trio.run(partial(run_campaign, loaded, options, report=say))
    _summarise(result, loaded, hint)
    if not args.no_report:
        _write_report(loaded)
    return result.exit_code


def _check_numbers(args: argparse.Namespace) -> None:
    """Options argparse cannot range-check, refused before anything starts."""
    if args.time_scale != "max":
        try:
            scale = float(args.time_scale)
        except ValueError:
            raise UsageError(f"--time-scale {args.time_scale}: a number > 0, or 'max'") from None
        if not math.isfinite(scale) or scale <= 0:
            raise UsageError(f"--time-scale {args.time_scale}: must be > 0 (or 'max')")
    if not math.isfinite(args.grace) or args.grace < 0:
        raise UsageError(f"--grace {args.grace}: must be >= 0 seconds")
    if not math.isfinite(args.unreachable_timeout) or args.unreachable_timeout <= 0:
        raise UsageError(f"--unreachable-timeout {args.unreachable_timeout}: must be > 0 seconds")


def resume_hint(args: argparse.Namespace) -> str:
    """The command line as typed, quoted so it can be pasted back to resume."""
    argv: list[str] = getattr(args, "_argv", None) or ["campaigner", "run", args.file]
    return shlex.join(argv)


def confirm(
    loaded: LoadedCampaign, settings: ExotelSettings, yes: bool, *, json_only: bool = False
) -> None:
    """A real run asks a person first; a script must say ``--yes``.

    ``json_only`` (``--log-format json``): a prompt would break the JSON stream, so
    such a run is treated as a script's.
    """
    if yes:
        return
    if json_only:
        raise UsageError("a real run with --log-format json does not ask: pass --yes")
    if not sys.stdin.isatty():
        raise UsageError(
            "a real run dials real people and no terminal is here to confirm it: "
            "pass --yes to run without asking"
        )
    c = loaded.campaign
    state = state_diff(loaded)
    left = loaded.contact_count if state is None else state.left
    done = "" if state is None else f", {sum(state.done.values()):,} already final"
    print(
        f"About to dial for real: campaign {c.name} ({c.api}, {c.dial.mode}) on account "
        f"{settings.account_sid}: {left:,} contacts to call{done}; caller IDs "
        f"{', '.join(cid.number for cid in loaded.caller_ids)}; at most "
        f"{c.pacing.requests_per_minute} requests/minute and "
        f"{c.pacing.max_concurrent_calls} calls at once. (`campaigner plan {loaded.path}` "
        "shows the details.)",
        file=sys.stderr,
    )
    try:
        answer = input("Dial now? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("not confirmed: nothing was dialed")


def _write_report(loaded: LoadedCampaign) -> None:
    """The run's report, whatever the ending (a stopped run reports what is known)."""
    try:
        ignore_default_reports(loaded.path, loaded.report_path)
        path = write_report(loaded.journal_path, loaded.report_path, campaign_file=loaded.path)
    except CampaignerError as exc:
        say(f"warning: the report could not be written: {exc}", logging.WARNING)
        return
    except Exception as exc:  # a report bug must not turn a finished run into a failure
        logging.getLogger("campaigner.run").debug("report failed", exc_info=True)
        say(
            f"warning: the report could not be written ({type(exc).__name__}: {exc}); "
            f"the run itself is unaffected: `campaigner report {loaded.path}` retries",
            logging.WARNING,
        )
        return
    say(f"report: {path}", report=str(path))


def _run_sandbox(loaded: LoadedCampaign, args: argparse.Namespace, hint: str) -> RunResult:
    scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    if args.time_scale == "max":
        clock = trio.testing.MockClock(autojump_threshold=0)
    else:
        clock = trio.testing.MockClock(rate=float(args.time_scale))
    # The sandbox's simulated clock starts when the current (or next) calling window
    # opens, so a demo run in the evening is not cut short at the window's end.
    calendar = CallingSchedule(loaded.campaign.schedule)
    now = datetime.now(UTC)
    span = next(iter(calendar.intervals(now)), None)
    anchor = span.start if span is not None else now
    say(f"sandbox: simulated Exotel, simulated time from {anchor:%Y-%m-%d %H:%M %Z}")

    async def main() -> RunResult:
        wall = TrioWallClock(anchor)
        sandbox = Sandbox(scenario, wall, ledger=ledger_for(loaded.journal_path))
        options = RunOptions(
            settings=sandbox.settings,
            transport=sandbox.transport,
            serve_callbacks=False,
            public_url=SANDBOX_CALLBACKS,
            extra_services=sandbox.start,
            sandbox=True,
        )
        return await run_campaign(loaded, _options(args, options, hint), clock=wall, report=say)

    return trio.run(main, clock=clock)


def _options(args: argparse.Namespace, options: RunOptions, hint: str) -> RunOptions:
    options.grace = args.grace
    options.unreachable_timeout = args.unreachable_timeout
    options.resume_hint = hint
    if not args.quiet and args.log_format == "json":
        # JSON only, even on a terminal: progress as log records, not a live panel
        plain = Console(stderr=True, force_terminal=False)
        options.progress = partial(show_progress, console=plain)
    elif not args.quiet:
        options.progress = show_progress
    return options


def _summarise(result: RunResult, loaded: LoadedCampaign, hint: str) -> None:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()))
    fields = {"reason": result.reason, "exit_code": result.exit_code, "counts": result.counts}
    if result.reason == "complete":
        say(f"done: every contact has a final outcome ({counts})", **fields)
    elif result.reason == "deadline":
        say(f"stopped at the deadline ({counts}); contacts left are expired", **fields)
    elif result.reason == "unreachable":
        why = result.messages[0] if result.messages else "Exotel unreachable"
        say(f"stopped: {why} ({counts}); `{hint}` resumes", logging.ERROR, **fields)
    elif result.exit_code == EXIT_INTERRUPTED:
        say(f"stopped by the operator ({counts}); `{hint}` resumes", **fields)
    say(f"journal: {loaded.journal_path}", journal=str(loaded.journal_path))
