"""Run every benchmark and print their tables (``make bench``).

Each benchmark is its own script (run it alone for details and options); this
runs them in turn with their default sizes and prints what they print, so the
figures can be copied into docs/benchmarks.md with the machine and the date.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ("pacing: rate-bound campaign, 2,000 contacts (issue 4)", ["pacing.py"]),
    ("front door: validate large contact files", ["validate_contacts.py"]),
]


def main() -> int:
    print(f"# campaigner benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    failed = 0
    for title, script in BENCHES:
        path = HERE / script[0]
        print(f"\n## {title}\n$ python bench/{' '.join(script)}", flush=True)
        started = time.monotonic()
        code = subprocess.call(
            [sys.executable, str(path), *script[1:]],
            cwd=HERE.parent,
            env={**os.environ, "PYTHONPATH": str(HERE.parent)},
        )
        print(f"({time.monotonic() - started:.0f} s, exit {code})", flush=True)
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
