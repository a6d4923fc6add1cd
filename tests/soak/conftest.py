"""The soak is opt-in: not even collected unless ``--soak`` is given.

    .venv/bin/pytest tests/soak --soak -s          # about 20-30 minutes on 2 cores

(``--soak`` must follow ``tests/soak``: the option is defined here.) ``SOAK_CALLS``,
``SOAK_RATE`` and ``CHAOS_SEED`` change its size, its clock speed and its random draws.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the long chaos soak (tests/soak)")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name.startswith("test_") and not config.getoption("--soak", default=False):
        return True
    return None
