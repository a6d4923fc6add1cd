"""Command line: ``main(argv) -> int``; one module per subcommand, errors mapped once.

Every subcommand is callable from tests as ``main(["validate", "x.yaml"])``
without a subprocess. :class:`campaigner.errors.CampaignerError` is caught here
and nowhere else, printed as one line, and mapped to its exit code. Errors that
arrive inside exception groups (trio nurseries raise them) are unwrapped here, so
an operator sees one line and a documented exit code, never a traceback, whatever
the command.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from types import ModuleType

from campaigner import __version__
from campaigner.campaign.paths import add_path_arguments, allow_paths, forget_allowed
from campaigner.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CampaignerError,
    CampaignInvalid,
    StateError,
    unwrap,
)
from campaigner.logs import error_line, setup_logging

EXIT_BROKEN_PIPE = 141  # as if killed by SIGPIPE, like other Unix tools

# The explicit registry of subcommands, in the order --help lists them.
COMMANDS: tuple[str, ...] = (
    "validate",
    "plan",
    "schema",
    "screen",
    "run",
    "serve",
    "status",
    "reopen",
    "export",
    "report",
    "health",
    "heartbeat",
    "sim",
)


# Commands that read no campaign file; every other one takes --allow-path DIR.
_NO_CAMPAIGN_FILE = ("schema", "sim")


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"campaigner.commands.{name}")


EPILOG = """\
examples:
  campaigner validate campaigns/*.yaml
  campaigner plan campaigns/demo.yaml --show 2
  campaigner run campaigns/demo.yaml --sandbox
  campaigner run campaigns/nov.yaml --yes          # a real run from a script
  campaigner serve campaigns/ --public-url https://hooks.example.com/exotel
  campaigner status campaigns/nov.yaml
  campaigner reopen campaigns/nov.yaml --outcome expired --reason "deadline fixed"

exit codes:
  0    done (every contact final)        4    state unusable, unwritable or locked
  1    problems found (invalid input)    5    Exotel refused, failed or unreachable
  2    bad command-line use              6    paused (breaker, paused: true)
  3    missing or bad credentials        130  stopped by the operator (resumable)
       or settings                       141  output pipe closed by the reader

`campaigner COMMAND --help` for each command; docs/operations.md for the runbook.
"""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by docs tests to list every command)."""
    parser = argparse.ArgumentParser(
        prog="campaigner",
        description="Run outbound call campaigns on Exotel from a YAML file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"campaigner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        module = _load(module_name)
        cmd = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.HELP,
            epilog=getattr(module, "EPILOG", None),  # examples, where a command has them
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(cmd)
        if module_name not in _NO_CAMPAIGN_FILE:
            add_path_arguments(cmd)  # --allow-path: campaign-file paths outside the repository
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``campaigner`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    # The command line exactly as typed: resume hints quote it so it can be pasted back.
    args._argv = ["campaigner", *(sys.argv[1:] if argv is None else argv)]
    setup_logging("text", logging.WARNING)  # commands with their own logging redo it
    allowed = allow_paths(getattr(args, "allow_path", None) or ())
    try:
        return int(args._run(args))
    except BaseException as raised:  # mapped to an exit code, or re-raised if foreign
        return _fail(raised)
    finally:
        forget_allowed(allowed)  # --allow-path lasts one command, not the process


def _fail(raised: BaseException) -> int:
    """One line (or one per problem) and the documented exit code for ``raised``."""
    exc = unwrap(raised)
    if isinstance(exc, CampaignInvalid):
        for problem in exc.problems:
            print(error_line(str(problem)), file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, CampaignerError):
        print(error_line(f"campaigner: error: {exc}"), file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        print("campaigner: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        # The reader went away (`campaigner export x.yaml | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    if isinstance(exc, sqlite3.DatabaseError):
        message = f"campaigner: error: the journal cannot be used: {exc}"
        print(error_line(message), file=sys.stderr)
        return StateError.exit_code
    if isinstance(exc, OSError):  # a file the command was given cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        message = f"campaigner: error: {where}{exc.strerror or exc}"
        print(error_line(message), file=sys.stderr)
        return EXIT_FAILURE
    raise raised
