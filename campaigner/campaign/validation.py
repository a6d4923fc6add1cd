"""Pydantic validation of a campaign file, every error located and worded for people.

Pydantic's ``loc`` is walked against the YAML tree to find the key path and its
position. Union members appear in ``loc`` as tags (``'str'``, ``'CallerId'``,
``'agent_first'``); errors from members that cannot match the input's shape (a
mapping given where a string is one option) are dropped so that one mistake gives
one message.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from campaigner.campaign.fields import keys_at
from campaigner.campaign.model import Campaign
from campaigner.campaign.yamlfile import KeyPath, YamlDocument, dotted, plain
from campaigner.errors import Problem

_SCALAR_TAGS = {"str": "a string", "int": "a number", "float": "a number", "bool": "true/false"}
_SCALAR_TAGS["none"] = "null"


@dataclass
class _Located:
    """One pydantic error walked against the YAML tree."""

    error: dict[str, Any]
    path: KeyPath = ()  # the YAML key path that exists
    missing: str | None = None  # a required key absent from the mapping at ``path``
    branches: list[tuple[KeyPath, str]] = field(default_factory=list)  # union tags seen


def validate_model(doc: YamlDocument, drop: set[KeyPath]) -> tuple[Campaign | None, list[Problem]]:
    """The Campaign, or None, and one located problem per mistake.

    Unknown keys alone do not stop the checks that need a Campaign (rules, contacts,
    templates): the file is validated again without them, so that a misspelt key and
    a bad contact are reported in the same run (docs/campaign-format.md promises every
    problem at once). The Campaign then comes with the unknown keys' errors.
    """
    data = plain(doc.data)
    for path in drop:
        _remove(data, path)
    try:
        return Campaign.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    located = [_walk(doc.data, dict(err)) for err in errors]
    problems = [_problem(doc, item) for item in _choose_branches(doc.data, located)]
    unknown = [item.path for item in located if item.error["type"] == "extra_forbidden"]
    if not unknown or len(unknown) != len(located):
        return None, problems
    for path in unknown:
        _remove(data, path)
    try:
        return Campaign.model_validate(data), problems
    except ValidationError:
        return None, problems


def salvage(doc: YamlDocument, drop: set[KeyPath]) -> Campaign | None:
    """The campaign without its keys in error, for checking contacts and templates anyway.

    When a file has schema errors besides unknown keys, :func:`validate_model` gives no
    Campaign, yet its contacts and templates can still be checked in the same run, so
    that a fix does not uncover a second round of problems. A key in error is left out
    (a required one makes this None); rules are not run on the result, since they would
    judge defaults the file did not ask for, and neither is it salvaged when the error is
    in ``contacts`` or ``screening``, which decide what the contact checks mean.
    """
    data = plain(doc.data)
    for path in drop:
        _remove(data, path)
    try:
        Campaign.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    else:
        return None  # valid: validate_model's to judge
    for error in errors:
        item = _walk(doc.data, dict(error))
        path = item.path
        while path and isinstance(path[-1], int):
            path = path[:-1]  # drop a list whole: its indexes would shift
        if not path or str(path[0]) in ("contacts", "screening"):
            return None
        _remove(data, path)
    try:
        return Campaign.model_validate(data)
    except ValidationError:
        return None


def _remove(data: Any, path: KeyPath) -> None:
    """Delete ``path`` from plain data; nothing when it is gone already (a parent removed)."""
    for part in path[:-1]:
        if isinstance(data, dict):
            data = data.get(_plain_key(data, part))
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return
    if isinstance(data, dict):
        data.pop(_plain_key(data, path[-1]), None)


def _walk(root: Any, error: dict[str, Any]) -> _Located:
    item = _Located(error)
    node = root
    loc = error["loc"]
    for index, part in enumerate(loc):
        if part == "[key]":
            continue
        if isinstance(node, CommentedMap) and _has(node, part):
            item.path += (part,)
            node = node[_key(node, part)]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            item.path += (part,)
            node = node[part]
        elif index == len(loc) - 1 and error["type"] == "missing":
            item.missing = str(part)
        elif isinstance(part, str):
            item.branches.append((item.path, part))
    return item


def _plain_key(data: dict[Any, Any], part: str | int) -> Any:
    return part if part in data else next((k for k in data if str(k) == str(part)), part)


def _has(node: CommentedMap, part: str | int) -> bool:
    return part in node or any(str(k) == str(part) for k in node)


def _key(node: CommentedMap, part: str | int) -> Any:
    return part if part in node else next(k for k in node if str(k) == str(part))


def _node(root: Any, path: KeyPath) -> Any:
    node = root
    for part in path:
        node = node[_key(node, part)] if isinstance(node, CommentedMap) else node[part]
    return node


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    return "list" if isinstance(value, list) else "scalar"


def _tag_kind(tag: str) -> str:
    if tag.startswith(("list[", "tuple[", "set[")):
        return "list"
    if tag in _SCALAR_TAGS or tag.startswith(("literal[", "constrained-str", "function-")):
        return "scalar"
    return "mapping"


def _describe(tags: Iterable[str]) -> str:
    kinds = {"mapping": "a mapping", "list": "a list"}
    words = [_SCALAR_TAGS.get(t) or kinds.get(_tag_kind(t), "a value") for t in tags]
    unique = list(dict.fromkeys(words))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " or " + unique[-1]


def _choose_branches(root: Any, located: list[_Located]) -> list[_Located]:
    """Keep errors of union members that fit the input's shape; summarise the rest."""
    kept: list[_Located] = []
    points: dict[KeyPath, list[str]] = {}
    for item in located:
        fits = True
        for point, tag in item.branches:
            points.setdefault(point, [])
            if tag not in points[point]:
                points[point].append(tag)
            if _tag_kind(tag) != _kind(_node(root, point)):
                fits = False
        if fits:
            kept.append(item)
    for point, tags in points.items():
        value = _node(root, point)
        if not any(_tag_kind(t) == _kind(value) for t in tags):
            message = f"expected {_describe(tags)}"
            kept.append(_Located({"type": "union", "msg": message, "input": value}, point))
    return kept


def _problem(doc: YamlDocument, item: _Located) -> Problem:
    line, col = doc.locate(item.path, at_key=item.error["type"] == "extra_forbidden")
    if item.missing is not None:
        text = f"missing required key '{item.missing}'"
        text = f"{dotted(item.path)}: {text}" if item.path else text
        return Problem(doc.display, line, col, text)
    message = _message(doc, item, line, col)
    return Problem(doc.display, line, col, f"{dotted(item.path) or '(top level)'}: {message}")


def _message(doc: YamlDocument, item: _Located, line: int, col: int) -> str:
    error = item.error
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return _unknown_key(item)
    if kind == "string_type" and isinstance(value, int) and not isinstance(value, bool):
        return quote_hint(value, doc.token(line, col))
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        tag = str(ctx.get("tag", ""))
        name = str(ctx.get("discriminator", "mode")).strip("'")
        return f"unknown {name} '{tag}'" + suggest(tag, expected, always=True)
    if kind == "union_tag_not_found":
        name = str(error.get("ctx", {}).get("discriminator", "mode")).strip("'")
        return f"missing required key '{name}'"
    return _generic(error["msg"], value)


def quote_hint(value: object, token: str) -> str:
    """YAML turned an unquoted number into an int (losing any leading 0): say so."""
    return f'expected a string, got the number {value}; quote phone numbers: "{token or value}"'


def _unknown_key(item: _Located) -> str:
    key = str(item.path[-1]) if item.path else "?"
    options = keys_at(item.error["loc"]) or []
    return f"unknown key '{key}'" + suggest(key, options, always=True)


def suggest(word: str, options: Sequence[str], *, always: bool = False) -> str:
    """``", did you mean 'retry'?"`` for a near miss; with ``always``, else the choices."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f", did you mean '{close[0]}'?"
    if always and options:
        return "; expected one of: " + ", ".join(options)
    return ""


def _generic(msg: str, value: Any) -> str:
    text = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    text = text[:1].lower() + text[1:]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        shown = repr(value) if isinstance(value, str) else str(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        if shown not in text:
            text += f" (got {shown})"
    return text
