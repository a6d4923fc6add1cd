"""Decode a callback body into nested data: JSON, urlencoded form, multipart, query string.

Form bodies flatten nesting with brackets: ``Legs[0][Status]=completed`` (v1, 003) and
``call_details[recordings][0][url]=...`` (v3 form/GET callbacks). :func:`unflatten`
rebuilds the same nesting JSON bodies have, so one model reads every encoding. The
multipart reader is deliberately strict: a body with parser defects is refused.
"""

from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from email.message import Message
from urllib.parse import parse_qsl

MAX_BODY_BYTES = 1024 * 1024  # a call callback is a few hundred bytes
MAX_FIELDS = 500
MAX_INDEX = 99  # list indexes in bracket keys (Legs[i]: two legs, a few attempts)

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")

Pairs = list[tuple[str, str]]


class FormError(ValueError):
    """A body cannot be decoded into fields."""


def media_type(content_type: str) -> str:
    """``multipart/form-data; boundary=x`` -> ``multipart/form-data``."""
    return content_type.split(";", 1)[0].strip().lower()


def decode_json(body: bytes) -> dict[str, object]:
    """A JSON object body."""
    text = _utf8(body)
    try:
        data = json.loads(text)
    except ValueError:
        raise FormError("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise FormError(f"expected a JSON object, got {type(data).__name__}")
    return data


def decode_pairs(body: bytes, content_type: str) -> Pairs:
    """Name/value pairs of a form body (urlencoded or multipart)."""
    kind = media_type(content_type)
    if kind == "application/x-www-form-urlencoded":
        return decode_query(_utf8(body))
    if kind == "multipart/form-data":
        return _multipart(body, content_type)
    raise FormError(f"unsupported content type {kind or '(none)'!r}")


def decode_query(text: str) -> Pairs:
    """Pairs of a query string or urlencoded body; bad percent-escapes are refused."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise FormError("form fields are not valid UTF-8") from None
    if len(pairs) > MAX_FIELDS:
        raise FormError(f"more than {MAX_FIELDS} form fields")
    return pairs


def check_size(body: bytes, limit: int = MAX_BODY_BYTES) -> None:
    if len(body) > limit:
        raise FormError(f"body of {len(body)} bytes exceeds the {limit}-byte limit")


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormError("body is not valid UTF-8") from None


def _multipart(body: bytes, content_type: str) -> Pairs:
    if "boundary=" not in content_type.lower():
        raise FormError("multipart/form-data without a boundary")
    if "\r" in content_type or "\n" in content_type:
        raise FormError("malformed content type")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("utf-8", "replace")
    message = message_from_bytes(head + body, policy=policy.HTTP)
    if message.defects or not message.is_multipart():
        raise FormError("malformed multipart/form-data body")
    parts = message.get_payload()
    if not isinstance(parts, list) or len(parts) > MAX_FIELDS:
        raise FormError(f"at most {MAX_FIELDS} multipart fields are read")
    return [_field(part) for part in parts if isinstance(part, Message)]


def _field(part: Message) -> tuple[str, str]:
    name = part.get_param("name", header="content-disposition")
    if part.defects or not isinstance(name, str) or not name:
        raise FormError("a multipart part has no form-data name")
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise FormError(f"multipart field {name!r} is not a plain value")
    return name, _utf8(payload)


def unflatten(pairs: Pairs) -> dict[str, object]:
    """``[("Legs[0][Status]", "x")]`` -> ``{"Legs": [{"Status": "x"}]}``.

    Dicts whose keys are all indexes become lists in index order (``Legs[1]`` before
    ``Legs[0]`` still yields index order); ``name[]`` appends. A key given twice, or both
    as a value and as a container, is refused rather than silently overwritten.
    """
    root: dict[str, object] = {}
    for key, value in pairs:
        path = _split(key)
        node = root
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise FormError(f"field {key!r} conflicts with another field")
            node = child
        last = path[-1]
        if last == "":
            last = str(sum(1 for k in node if k.isdigit()))
        if last in node:
            raise FormError(f"field {key!r} is given twice")
        node[last] = value
    return {key: _listify(value, key) for key, value in root.items()}


def _split(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        raise FormError(f"malformed field name {key[:40]!r}")
    parts = [match.group(1)] + _PART.findall(match.group(2))
    if any(p.isdigit() and int(p) > MAX_INDEX for p in parts[1:]):
        raise FormError(f"field {key[:40]!r} has an index above {MAX_INDEX}")
    return parts


def _listify(node: object, name: str) -> object:
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value, f"{name}[{key}]") for key, value in node.items()}
    if not items or not all(key.isdigit() for key in items):
        return items
    if set(items) != {str(i) for i in range(len(items))}:
        raise FormError(f"indexes of {name[:40]!r} are not 0, 1, 2, ...")
    return [items[str(i)] for i in range(len(items))]
