"""Command line: ``main(argv) -> int``; one module per subcommand, errors mapped once.

Every subcommand is callable from tests as ``main(["validate", "x.yaml"])``
without a subprocess. :class:`campaigner.errors.CampaignerError` is caught here
and nowhere else, printed as one line, and mapped to its exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from campaigner import __version__
from campaigner.errors import EXIT_INTERRUPTED, EXIT_USAGE, CampaignerError, CampaignInvalid

EXIT_BROKEN_PIPE = 141  # as if killed by SIGPIPE, like other Unix tools

# The explicit registry of subcommands, in the order --help lists them.
COMMANDS: tuple[str, ...] = (
    "validate",
    "plan",
    "schema",
    "screen",
    "run",
    "status",
    "export",
    "report",
    "health",
    "heartbeat",
    "sim",
)


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"campaigner.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by docs tests to list every command)."""
    parser = argparse.ArgumentParser(
        prog="campaigner",
        description="Run outbound call campaigns on Exotel from a YAML file.",
    )
    parser.add_argument("--version", action="version", version=f"campaigner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        module = _load(module_name)
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
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
    try:
        return int(args._run(args))
    except CampaignInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return exc.exit_code
    except CampaignerError as exc:
        print(f"campaigner: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("campaigner: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`campaigner export x.yaml | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
