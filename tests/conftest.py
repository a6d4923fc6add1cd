"""Hermetic by default: no real Exotel, no real credentials, no default state path.

Every test runs in its own temporary working directory (so ``.env`` and
``.campaigner/`` of the checkout are never read or written), with every
``EXOTEL_*``/``CAMPAIGNER_*`` variable removed, and with real Exotel hosts
unreachable: a request to one fails the test loudly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]

_FORBIDDEN_HOST_SUFFIX = "exotel.com"


@pytest.fixture(scope="session", autouse=True)
def _session_runner_locks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Runner locks of module- and session-scoped fixtures (set up before any test's own
    directory exists) stay in this session too: never the user's, nor another suite's."""
    saved = os.environ.get("CAMPAIGNER_LOCK_DIR")
    os.environ["CAMPAIGNER_LOCK_DIR"] = str(tmp_path_factory.mktemp("runner-locks"))
    yield
    if saved is None:
        os.environ.pop("CAMPAIGNER_LOCK_DIR", None)
    else:
        os.environ["CAMPAIGNER_LOCK_DIR"] = saved


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("EXOTEL_", "CAMPAIGNER_")):
            monkeypatch.delenv(name, raising=False)
    # runner locks (campaigner.store.locks) of this test only, not the user's
    monkeypatch.setenv("CAMPAIGNER_LOCK_DIR", str(tmp_path / "runner-locks"))
    monkeypatch.chdir(tmp_path)

    real_send = httpx.AsyncHTTPTransport.handle_async_request

    async def guarded(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host == _FORBIDDEN_HOST_SUFFIX or host.endswith("." + _FORBIDDEN_HOST_SUFFIX):
            raise AssertionError(f"a test tried to reach the real Exotel host {host}")
        return await real_send(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", guarded)


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A command run in-process (``main([...])``) points the root logger at the stderr of
    its test; the next test must not write to that closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def repo() -> Path:
    """The checkout's root (campaigns/, docs/, templates/ live here)."""
    return REPO
