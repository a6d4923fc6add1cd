"""Logging for the command line: readable lines, or JSON objects for machines.

``--log-format json`` writes one JSON object per line on stderr with ``ts``,
``level``, ``logger``, ``message`` and any structured extras; operators feed it
to their log pipeline, so in that mode *everything* a command says on stderr goes
through :func:`say` and comes out as JSON too (a plain banner line would break
the reader). Nothing logged ever carries credentials: the client never has them
in URLs, and settings hold them as ``SecretStr``.

Warnings and errors are coloured on a terminal, never when piped or when
``NO_COLOR`` is set (https://no-color.org): colour is for eyes, not for files.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_COLOURS = {logging.WARNING: "\x1b[33m", logging.ERROR: "\x1b[31m", logging.CRITICAL: "\x1b[31m"}
_RESET = "\x1b[0m"
_json_mode = False  # set by setup_logging: say() then emits JSON records
saying = logging.getLogger("campaigner.cli")


def colour_wanted(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (to anything)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, level: int, stream: TextIO | None = None) -> str:
    """``text`` coloured for ``level`` if ``stream`` (default stderr) shows colour."""
    colour = _COLOURS.get(level)
    if colour is None or not colour_wanted(stream or sys.stderr):
        return text
    return f"{colour}{text}{_RESET}"


def error_line(text: str) -> str:
    """An error line for stderr (red on a terminal)."""
    return paint(text, logging.ERROR)


def say(message: str, level: int = logging.INFO, /, **fields: object) -> None:
    """A line for the operator on stderr: plain text, or a JSON record in JSON mode.

    Used for what a command says outside logging (banners, ``done:``, ``journal:``,
    ``report:``). ``fields`` become the JSON record's structured fields.
    """
    if _json_mode:
        saying.log(level, message, extra={f"data_{k}": v for k, v in fields.items()})
        return
    print(paint(message, level), file=sys.stderr)


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key.removeprefix("data_")] = value
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class RepeatFilter(logging.Filter):
    """Drops a record that says again what the previous one just said.

    Engine services warn about an event and then journal it through the run log, which
    logs it too: the operator saw each such message twice (WARNING, then INFO). The
    first (the more severe, as they are written) is kept.
    """

    def __init__(self) -> None:
        super().__init__()
        self._last: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        repeated = message == self._last
        self._last = message
        return not repeated


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL message``; warnings and errors coloured when ``colour``."""

    def __init__(self, *, colour: bool) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S")
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        code = _COLOURS.get(record.levelno) if self.colour else None
        return f"{code}{text}{_RESET}" if code else text


def printable(text: str) -> str:
    """``text`` with every non-printable character (newline, CR, escape, ...) escaped.

    Log messages quote what strangers send (a callback's path, a field, an error); a
    ``%0a`` in them must not start a forged line in the operator's log.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


class PrintableFilter(logging.Filter):
    """Makes every record's message printable, whichever module logged it.

    One place, on the handler, so that no module can forget to escape what it quotes.
    The message is formatted here once and the args dropped; tracebacks (``exc_info``)
    keep their lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        clean = printable(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup_logging(
    fmt: str = "text", level: int = logging.WARNING, stream: TextIO | None = None
) -> None:
    """Configure the root logger once for a command (``text`` or ``json``)."""
    global _json_mode
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)
    handler.addFilter(PrintableFilter())
    handler.addFilter(RepeatFilter())
    _json_mode = fmt == "json"
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter(colour=colour_wanted(out)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "hypercorn"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
