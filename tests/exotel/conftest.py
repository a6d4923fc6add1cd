"""Fixtures for the Exotel client tests: vendored payloads, fake credentials, a mock Exotel.

The credentials are distinctive on purpose: tests assert that they (and their Basic
form) appear in no exception text, repr or log record.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from campaigner.settings import ExotelSettings

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "reference"

API_KEY = "KEYzq7Xw4vT9sEcret"
API_TOKEN = "TOKp3Rm8uY2hLeaky"
ACCOUNT = "acme1"
V1_BASE = "http://exotel.test"
V3_BASE = "http://ccm.exotel.test"
SECRETS = (
    API_KEY,
    API_TOKEN,
    base64.b64encode(f"{API_KEY}:{API_TOKEN}".encode()).decode(),
)


def fixture_bytes(name: str) -> bytes:
    """A vendored fixture's exact bytes (``reference/x.json`` for the pages' examples)."""
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, object]:
    data = json.loads(fixture_bytes(name))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def settings() -> ExotelSettings:
    return ExotelSettings(
        api_key=API_KEY,
        api_token=API_TOKEN,
        account_sid=ACCOUNT,
        base_url=V1_BASE,
        ccm_base_url=V3_BASE,
    )


Handler = Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def assert_no_secrets(*texts: str) -> None:
    """None of the fake credentials, nor their Basic form, is in any of ``texts``."""
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
