"""Read a campaign file with ruamel.yaml's round-trip loader and keep every position.

Positions (``.lc``) are what turn a pydantic ``loc`` or a rule's key path into
``FILE:LINE:COL``. Syntax errors and duplicate keys become located problems;
nothing here raises for a bad file.

This is the front door for untrusted files (CI validates every pull request's), so
the document is bounded before it is built: its size, nesting depth and node count
are capped, and YAML aliases are capped in number and may not nest (a 1 KB file of
aliases of aliases would otherwise expand to gigabytes). The bounds are checked as
the document is composed, before any of it is built into Python values.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from campaigner.campaign.paths import campaign_file_problem
from campaigner.errors import Problem

# Bounds of a campaign file (docs/campaign-format.md, "Limits"): generous for a real
# campaign, even one with thousands of inline contacts, and cheap to refuse beyond.
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 20_000  # about 4,000 inline contacts; ruamel takes about a second per 1,000
# More openers in a row than MAX_DEPTH: refused before parsing, since ruamel's scanner
# spends seconds on a line of a thousand '[' before the composer sees the depth.
_OPENERS = re.compile(r"[\[{](?:[ \t]*[\[{]){" + str(MAX_DEPTH) + "}")
MAX_ALIASES = 16

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
    raw, problem = _read_bounded(path, display)
    if raw is None:
        return None, [problem] if problem is not None else []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(display, line, 1, "the file is not UTF-8 text")]
    sha = hashlib.sha256(raw).hexdigest()
    openers = _OPENERS.search(text)
    if openers is not None:
        line = text.count("\n", 0, openers.start()) + 1
        col = openers.start() - (text.rfind("\n", 0, openers.start()) + 1) + 1
        return None, [Problem(display, line, col, f"nested deeper than {MAX_DEPTH} levels")]
    try:
        data = _yaml().load(text)
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


def _read_bounded(path: Path, display: str) -> tuple[bytes | None, Problem | None]:
    """The file's bytes, unless it is not a regular file in its repository, or too big."""
    if not path.exists():
        return None, Problem(display, 0, 0, "cannot read the file: No such file or directory")
    why = campaign_file_problem(path)
    if why is not None:
        return None, Problem(display, 0, 0, f"cannot read the campaign file: {why}")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        return None, Problem(display, 0, 0, f"cannot read the file: {exc.strerror}")
    if len(raw) > MAX_DOCUMENT_BYTES:
        limit = MAX_DOCUMENT_BYTES // (1024 * 1024)
        message = f"the file is larger than {limit} MiB; put contacts in a CSV (contacts.file)"
        line = raw.count(b"\n", 0, MAX_DOCUMENT_BYTES) + 1  # where the limit is crossed
        return None, Problem(display, line, 1, message)
    return raw, None


class _BoundedComposer(Composer):
    """ruamel's composer, refusing a document beyond the bounds as it builds it.

    Counting here, as nodes are composed, costs nothing extra; a separate pass over
    the parser's events doubled the time of a large file.
    """

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._nodes = self._aliases = self._depth = self._anchored = 0
        self._sizes: dict[Any, int] = {}  # anchor -> node count of its value

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        self._nodes += 1
        if isinstance(event, AliasEvent):
            self._aliases += 1
            self._nodes += self._sizes.get(event.anchor, 1) - 1
            if self._aliases > MAX_ALIASES:
                _refuse(event, f"more than {MAX_ALIASES} YAML aliases (*name); write values out")
            if self._anchored:
                _refuse(
                    event, "a YAML alias inside an anchored value (&name): aliases may not nest"
                )
        if self._nodes > MAX_NODES:
            _refuse(event, f"more than {MAX_NODES:,} YAML nodes; put contacts in a CSV")
        if isinstance(event, CollectionStartEvent) and self._depth >= MAX_DEPTH:
            _refuse(event, f"nested deeper than {MAX_DEPTH} levels")
        anchor = None if isinstance(event, AliasEvent) else getattr(event, "anchor", None)
        start = self._nodes
        self._depth += 1
        self._anchored += anchor is not None
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._anchored -= anchor is not None
        if anchor is not None:
            self._sizes[anchor] = self._nodes - start + 1
        return node


def _refuse(event: Any, message: str) -> None:
    raise ComposerError(None, None, message, event.start_mark)


def _yaml() -> YAML:
    """The round-trip loader with the campaign file's bounds."""
    yaml = YAML(typ="rt")
    yaml.Composer = _BoundedComposer
    return yaml


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
