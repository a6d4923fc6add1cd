"""One module per subcommand.

Each module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; ``campaigner.cli.COMMANDS`` lists them explicitly.
"""
