"""Read a campaign file with ruamel.yaml's round-trip loader and keep every position.

Positions (``.lc``) are what turn a pydantic ``loc`` or a rule's key path into
``FILE:LINE:COL``. Syntax errors and duplicate keys become located problems;
nothing here raises for a bad file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from campaigner.errors import Problem

PathPart = str | int
KeyPath = tuple[PathPart, ...]


@dataclass(frozen=True)
class YamlDocument:
    """A loaded campaign file: ``data`` is ruamel's CommentedMap with positions."""

    path: Path
    display: str  # the file name as the user gave it, used in messages
    text: str
    sha256: str
    data: CommentedMap

    def locate(self, path: Sequence[PathPart], *, at_key: bool = False) -> tuple[int, int]:
        """1-based (line, col) of ``path`` in the file, or of its deepest existing part."""
        return locate(self.data, path, at_key=at_key)

    def problem(
        self,
        path: Sequence[PathPart],
        message: str,
        severity: str = "error",
        *,
        at_key: bool = False,
    ) -> Problem:
        """A problem located at ``path``, its message prefixed with the dotted key path."""
        line, col = self.locate(path, at_key=at_key)
        text = f"{dotted(path)}: {message}" if path else message
        return Problem(self.display, line, col, text, severity)

    def token(self, line: int, col: int) -> str:
        """The raw YAML text of the scalar at 1-based (line, col), e.g. ``08041234567``."""
        lines = self.text.splitlines()
        if not 0 < line <= len(lines):
            return ""
        rest = lines[line - 1][col - 1 :]
        end = len(rest)
        for stop in (" #", ",", "]", "}"):
            found = rest.find(stop)
            if found >= 0:
                end = min(end, found)
        return rest[:end].strip()


def dotted(path: Sequence[PathPart]) -> str:
    """``("call", "playback", 0, "url")`` -> ``"call.playback.0.url"``."""
    return ".".join(str(p) for p in path)


def read_yaml(path: Path, display: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Load ``path``; on failure return ``None`` and located problems (never raises)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(display, 0, 0, f"cannot read the file: {exc.strerror}")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(display, line, 1, "the file is not UTF-8 text")]
    sha = hashlib.sha256(raw).hexdigest()
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        return None, [_syntax_problem(display, exc)]
    except YAMLError as exc:  # unmarked: rare (e.g. reader errors)
        return None, [Problem(display, 0, 0, f"YAML error: {exc}")]
    except ValueError as exc:  # ruamel builds timestamps eagerly: 2026-13-01 raises here
        return None, [_bad_timestamp(display, text, exc)]
    if not isinstance(data, CommentedMap):
        kind = "empty" if data is None else "a list" if isinstance(data, list) else "one value"
        message = f"a campaign file must be a mapping of keys (name, api, ...); this one is {kind}"
        return None, [Problem(display, 1, 1, message)]
    return YamlDocument(path, display, text, sha, data), []


def _syntax_problem(display: str, exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    parts = [p for p in (exc.context, exc.problem) if p]
    message = "; ".join(str(p).strip() for p in parts) or "YAML syntax error"
    if "duplicate key" in message:
        message = message.split("\n")[0]
    if mark is None:
        return Problem(display, 0, 0, message)
    return Problem(display, mark.line + 1, mark.column + 1, message)


def _bad_timestamp(display: str, text: str, exc: ValueError) -> Problem:
    """Find the unquoted date that ruamel could not build, by composing without building."""
    stack = [YAML(typ="rt").compose(text)]
    while stack:
        node = stack.pop()
        if isinstance(node, ScalarNode):
            if str(node.tag).endswith(":timestamp") and not _is_timestamp(node.value):
                mark = node.start_mark
                message = f"'{node.value}' is not a valid date or time ({exc})"
                return Problem(display, mark.line + 1, mark.column + 1, message)
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, MappingNode):
            stack.extend(v for pair in reversed(node.value) for v in reversed(pair))
    return Problem(display, 0, 0, f"invalid value: {exc}")


def _is_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return False
    return True


def locate(root: Any, path: Sequence[PathPart], *, at_key: bool = False) -> tuple[int, int]:
    """1-based position of ``path``: a scalar's value, a container's key (or list item).

    With ``at_key``, the key itself (for unknown keys and credentials).
    """
    node: Any = root
    pos = (0, 0) if not path else _start(root)
    for index, part in enumerate(path):
        if isinstance(node, CommentedMap):
            key = _find_key(node, part)
            if key is None:
                break
            pos = _map_pos(node, key, at_key and index == len(path) - 1)
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            pos = node.lc.item(part)
            node = node[part]
        else:
            break
    return pos[0] + 1, pos[1] + 1


def _start(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    return (lc.line, lc.col) if lc is not None else (0, 0)


def _find_key(node: CommentedMap, part: PathPart) -> Any:
    if part in node:
        return part
    for key in node:
        if str(key) == str(part):  # YAML int/bool keys against pydantic's str loc
            return key
    return None


def _map_pos(node: CommentedMap, key: Any, at_key: bool) -> tuple[int, int]:
    """A scalar's value position; for a nested mapping or list, where its key is."""
    value = node[key]
    try:
        if at_key or isinstance(value, CommentedMap | CommentedSeq):
            line, col = node.lc.key(key)
        else:
            line, col = node.lc.value(key)
    except (KeyError, TypeError):  # a key merged in through '<<': no position of its own
        return _start(node)
    return line, col


def plain(node: Any) -> Any:
    """The data as plain Python for pydantic: dates become ISO strings, keys kept.

    ruamel reads an unquoted ``2026-01-26`` as a ``date``; the model wants text for
    dates (``skip_dates``) and accepts ISO text for datetimes, so dates become text.
    """
    if isinstance(node, dict):
        return {key: plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [plain(item) for item in node]
    if isinstance(node, datetime):
        return datetime.fromisoformat(node.isoformat())
    if isinstance(node, date):
        return node.isoformat()
    return node
