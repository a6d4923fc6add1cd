"""Hypothesis profiles for the front-door fuzz tests.

``make test`` runs them with the default profile (a hundred examples each, a few seconds
in all). A longer fuzzing session, run on demand:

    .venv/bin/pytest tests/fuzz --hypothesis-profile=fuzz            # 20,000 examples each
    FUZZ_EXAMPLES=200000 .venv/bin/pytest tests/fuzz --hypothesis-profile=fuzz

Failures found are saved in ``.hypothesis/`` and replayed first next time.
"""

from __future__ import annotations

import os

from hypothesis import settings

from tests.fuzz.strategies import QUIET

settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20000")),
    deadline=None,
    suppress_health_check=QUIET,
)
