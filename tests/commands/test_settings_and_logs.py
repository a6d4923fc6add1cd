from __future__ import annotations

import io
import json
import logging

import pytest

from campaigner.errors import ConfigError
from campaigner.logs import setup_logging
from campaigner.settings import ExotelSettings, load_exotel_settings

KEY, TOKEN = "key-4f1c9d2b7e", "token-9a8b7c6d5e4f"


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXOTEL_API_KEY", KEY)
    monkeypatch.setenv("EXOTEL_API_TOKEN", TOKEN)
    monkeypatch.setenv("EXOTEL_ACCOUNT_SID", "acme1")
    settings = load_exotel_settings()
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert KEY not in text
        assert TOKEN not in text
    assert settings.require_credentials() == (KEY, TOKEN, "acme1")


def test_bad_settings_do_not_echo_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXOTEL_REGION", f"mars-{TOKEN}")
    with pytest.raises(ConfigError) as caught:
        load_exotel_settings()
    assert TOKEN not in str(caught.value)
    assert str(caught.value).startswith("bad settings: EXOTEL_REGION:")


def test_region_hosts_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ExotelSettings(region="mumbai").v1_base == "https://api.in.exotel.com"
    assert ExotelSettings(region="mumbai").v3_base == "https://ccm-api.in.exotel.com"
    assert ExotelSettings().v3_base == "https://ccm-api.exotel.com"
    monkeypatch.setenv("EXOTEL_BASE_URL", "http://127.0.0.1:8765/")
    assert load_exotel_settings().v1_base == "http://127.0.0.1:8765"


def test_dotenv_is_read(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    Path(".env").write_text("EXOTEL_ACCOUNT_SID=from-dotenv\n")
    assert load_exotel_settings().account_sid == "from-dotenv"


def test_json_logs_carry_structured_fields() -> None:
    stream = io.StringIO()
    setup_logging("json", logging.INFO, stream)
    logging.getLogger("campaigner.engine").info("waiting", extra={"data_reason": "window"})
    doc = json.loads(stream.getvalue().strip())
    assert doc["level"] == "info"
    assert doc["logger"] == "campaigner.engine"
    assert doc["message"] == "waiting"
    assert doc["reason"] == "window"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_warnings_are_coloured_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    for stream, coloured in ((_Terminal(), True), (io.StringIO(), False)):
        setup_logging("text", logging.INFO, stream)
        logging.getLogger("campaigner.engine").warning("caller ID down")
        logging.getLogger("campaigner.engine").info("dialing")
        warning, info = stream.getvalue().splitlines()
        assert warning.startswith("\x1b[33m") is coloured
        assert "\x1b[" not in info
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = _Terminal()
    setup_logging("text", logging.INFO, terminal)
    logging.getLogger("campaigner.engine").error("stopped")
    assert "\x1b[" not in terminal.getvalue()


def test_a_message_said_twice_in_a_row_is_shown_once() -> None:
    stream = io.StringIO()
    setup_logging("text", logging.INFO, stream)
    log = logging.getLogger("campaigner.engine")
    log.warning("v2 details failed: health unknown")
    log.info("v2 details failed: health unknown")  # the run log's echo of the warning
    log.info("dialing")
    lines = stream.getvalue().splitlines()
    assert [line.split(maxsplit=2)[1:] for line in lines] == [
        ["WARNING", "v2 details failed: health unknown"],
        ["INFO", "dialing"],
    ]


def test_say_is_json_in_json_mode(capsys: pytest.CaptureFixture[str]) -> None:
    from campaigner.logs import say

    setup_logging("json", logging.INFO)
    say("journal: x.sqlite3", journal="x.sqlite3")
    doc = json.loads(capsys.readouterr().err)
    assert (doc["message"], doc["journal"], doc["level"]) == (
        "journal: x.sqlite3",
        "x.sqlite3",
        "info",
    )
    setup_logging("text", logging.INFO)
    say("journal: x.sqlite3", journal="x.sqlite3")
    assert capsys.readouterr().err == "journal: x.sqlite3\n"
