"""Where contact rows come from: a CSV file (streamed) or the campaign's inline list.

A source yields :class:`RawRow` (a number as written, its variables, its position)
or a :class:`~campaigner.errors.Problem` for a row that cannot even be read. It
holds no rows in memory: a million-row CSV streams in constant space.
"""

from __future__ import annotations

import codecs
import csv
import keyword
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from campaigner.campaign.model import Contacts
from campaigner.campaign.resolved import Scalar
from campaigner.campaign.validation import quote_hint, suggest
from campaigner.campaign.yamlfile import YamlDocument, dotted
from campaigner.errors import Problem

# Template built-ins a contact variable cannot override (campaigner.campaign.templates).
BUILTINS = ("phone", "attempt", "campaign")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JINJA_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "true", "false", "none"})
_PHONE_LIKE = ("phone", "mobile", "number", "msisdn", "contact", "cell", "tel")
# What a contact list's column name looks like. A header that does not (``KEY=value``,
# ``{``, ``-----BEGIN ...``) is not echoed: contacts.file may name any file of the
# repository, and a secret must not reach a CI log through "columns found".
_COLUMN = re.compile(r"^(?:\w[\w .,()#/&%+?@'$₹€£*!-]{0,63})?$")
_MAX_COLUMNS = 1000
SHOWN_CHARS = 20  # how much of a value from a file a message quotes
MAX_LINE = 1_048_576  # characters in one physical line of a contacts CSV
_SHOWN_COLUMNS = 10


@dataclass(frozen=True, slots=True)
class RawRow:
    """One contact as written: ``raw_phone`` may be an int when YAML read it as one."""

    file: str
    line: int
    label: str  # what problems name: the phone column, or the inline item's key path
    raw_phone: object
    variables: dict[str, Scalar]
    where: Callable[[], tuple[int, int]]  # (line, col) of the number, computed on demand


Row = RawRow | Problem


def variable_problem(name: str) -> str | None:
    """Why ``name`` cannot be used as a template variable, or None when it can."""
    if not _NAME.match(name) or keyword.iskeyword(name) or name.lower() in _JINJA_WORDS:
        return f"column '{name}' cannot be used in templates (not a valid variable name)"
    if name in BUILTINS:
        return f"column '{name}' is hidden by the built-in template variable of that name"
    return None


class CsvSource:
    """A contacts CSV: header checked once, rows streamed with their line numbers."""

    def __init__(self, path: Path, display: str, contacts: Contacts) -> None:
        self.path = path
        self.display = display
        self.contacts = contacts
        encoding = contacts.encoding
        # A BOM is tolerated: Excel writes one.
        self.encoding = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding

    def header(self) -> tuple[list[str], list[Problem]]:
        """The variable names (every column but the phone column) and header problems."""
        try:
            with self.path.open(encoding=self.encoding, newline="") as handle:
                lines = _bounded(handle)
                columns = next(csv.reader(lines, delimiter=self.contacts.delimiter), None)
        except UnicodeError:  # UnicodeDecodeError, or e.g. utf-16 without its BOM
            return [], [self._problem(1, 1, self._encoding_message())]
        except csv.Error as exc:  # e.g. an unterminated quote: the header never ends
            return [], [self._problem(1, 1, f"header: unreadable CSV: {exc}")]
        if not columns:
            return [], [self._problem(1, 1, "header: the file is empty; expected a header row")]
        return self._check_header([c.strip() for c in columns])

    def _check_header(self, columns: list[str]) -> tuple[list[str], list[Problem]]:
        problems: list[Problem] = []
        phone = self.contacts.phone_column
        if len(columns) > _MAX_COLUMNS or not all(_COLUMN.match(c) for c in columns):
            message = (
                "header: the first line does not look like the header of a contact list "
                "(column names such as phone, name, order_id), so it is not shown; "
                "contacts.file must name a CSV of contacts"
            )
            return [], [self._problem(1, 1, message)]
        if phone not in columns:
            problems.append(self._problem(1, 1, _missing_phone_message(phone, columns)))
        seen: set[str] = set()
        for column in columns:
            if column in seen:
                message = f"header: column '{shown(column)}' appears twice"
                problems.append(self._problem(1, 1, message))
            seen.add(column)
            why = variable_problem(column) if column != phone else None
            if why is not None:
                problems.append(self._problem(1, 1, f"header: {why}", "warning"))
        return [c for c in columns if c != phone], problems

    def rows(self) -> Iterator[Row]:
        """Every data row, blank lines skipped; stops at an undecodable or malformed line."""
        lines: list[str] = []
        try:
            with self.path.open(encoding=self.encoding, newline="") as handle:
                yield from self._records(_remembering(_bounded(handle), lines), lines)
        except UnicodeError:
            yield self._problem(0, 0, self._encoding_message())

    def _records(self, source: Iterator[str], lines: list[str]) -> Iterator[Row]:
        reader = csv.reader(source, delimiter=self.contacts.delimiter)
        header = [c.strip() for c in next(reader, [])]
        width = len(header)
        if self.contacts.phone_column not in header:
            return  # header() reported it
        phone_index = header.index(self.contacts.phone_column)
        names = [(i, name) for i, name in enumerate(header) if i != phone_index]
        label, delimiter, previous = header[phone_index], self.contacts.delimiter, reader.line_num
        lines.clear()
        try:
            for fields in reader:
                line, previous = previous + 1, reader.line_num
                if _blank(fields, phone_index):
                    pass
                elif len(fields) != width:
                    message = f"row has {len(fields)} fields, the header has {width}"
                    yield self._problem(line, 1, message)
                else:
                    text = lines[0] if len(lines) == 1 else "".join(lines)
                    variables: dict[str, Scalar] = {name: fields[i] for i, name in names}
                    where = _where(text, line, phone_index, delimiter)
                    yield RawRow(self.display, line, label, fields[phone_index], variables, where)
                lines.clear()
        except csv.Error as exc:
            yield self._problem(previous + 1, 1, f"unreadable CSV: {exc}")

    def _problem(self, line: int, col: int, message: str, severity: str = "error") -> Problem:
        return Problem(self.display, line, col, message, severity)

    def _encoding_message(self) -> str:
        return f"not valid {self.contacts.encoding} text; set contacts.encoding (e.g. cp1252)"


def shown(value: str) -> str:
    """A value from a file as a message may quote it: printable, at most SHOWN_CHARS."""
    text = "".join(c if c.isprintable() else "?" for c in value[:SHOWN_CHARS])
    return text + "…" if len(value) > SHOWN_CHARS else text


def _missing_phone_message(phone: str, columns: list[str]) -> str:
    listed = [shown(c) for c in columns[:_SHOWN_COLUMNS]]
    more = len(columns) - len(listed)
    found = ", ".join(listed) + (f" and {more:,} more" if more > 0 else "") or "(none)"
    hint = suggest(phone, columns)
    if not hint:
        likely = [c for c in columns if any(w in c.lower() for w in _PHONE_LIKE)]
        hint = f"; did you mean '{likely[0]}'?" if likely else ""
    return f"header: no column '{phone}' (contacts.phone_column); columns found: {found}{hint}"


def _blank(fields: list[str], phone_index: int) -> bool:
    """A row of nothing but empty or blank fields (cheap unless the number is missing)."""
    if phone_index < len(fields) and fields[phone_index].strip():
        return False
    return not "".join(fields).strip()


def _bounded(handle: TextIO) -> Iterator[str]:
    """The file's lines, none longer than MAX_LINE characters (a file without newlines
    would otherwise be read whole into memory before the csv module sees a field)."""
    while line := handle.readline(MAX_LINE + 1):
        if len(line) > MAX_LINE and not line.endswith("\n"):
            raise csv.Error(f"a line longer than {MAX_LINE:,} characters")
        yield line


def _remembering(handle: Iterator[str], lines: list[str]) -> Iterator[str]:
    """Pass lines through to the csv reader, keeping the current record's raw text."""
    for line in handle:
        lines.append(line)
        yield line


def _where(text: str, line: int, index: int, delimiter: str) -> Callable[[], tuple[int, int]]:
    """Lazily, the 1-based (line, col) where field ``index`` of a record starts."""

    def where() -> tuple[int, int]:
        field, quoted = 0, False
        for offset, ch in enumerate(text):
            if field == index:
                before = text[:offset]
                return line + before.count("\n"), offset - (before.rfind("\n") + 1) + 1
            if ch == '"':
                quoted = not quoted
            elif ch == delimiter and not quoted:
                field += 1
        return line, 1

    return where


def _fixed(line: int, col: int) -> Callable[[], tuple[int, int]]:
    return lambda: (line, col)


class InlineSource:
    """Contacts written in the campaign file, located in the YAML."""

    def __init__(self, doc: YamlDocument, contacts: Contacts) -> None:
        self.doc = doc
        self.contacts = contacts
        self.display = doc.display

    def header(self) -> tuple[list[str], list[Problem]]:
        """Variables: every key any inline mapping has, besides the phone key."""
        names: list[str] = []
        problems: list[Problem] = []
        phone = self.contacts.phone_column
        for index, item in enumerate(self.contacts.inline or []):
            if not isinstance(item, dict):
                continue
            for key in item:
                if key == phone or key in names:
                    continue
                names.append(key)
                why = variable_problem(key)
                if why is not None:
                    path = ("contacts", "inline", index, key)
                    problems.append(self.doc.problem(path, why, "warning", at_key=True))
        return names, problems

    def rows(self) -> Iterator[Row]:
        phone = self.contacts.phone_column
        for index, item in enumerate(self.contacts.inline or []):
            path = ("contacts", "inline", index)
            line, col = self.doc.locate(path)
            if not isinstance(item, dict):
                label = dotted(path)
                yield RawRow(self.doc.display, line, label, item, {}, _fixed(line, col))
                continue
            if phone not in item:
                yield self.doc.problem(path, f"missing required key '{phone}'")
                continue
            line, col = self.doc.locate((*path, phone))
            variables = {k: v for k, v in item.items() if k != phone}
            label = dotted((*path, phone))
            if not isinstance(item[phone], str):
                hint = quote_hint(item[phone], self.doc.token(line, col))
                yield Problem(self.doc.display, line, col, f"{label}: {hint}")
                continue
            yield RawRow(self.doc.display, line, label, item[phone], variables, _fixed(line, col))
