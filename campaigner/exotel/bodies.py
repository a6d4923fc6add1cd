"""Turn an Exotel answer body into plain Python data: JSON, or v1's XML.

docs/exotel/basics.md: v1 answers XML (``<TwilioResponse>`` root) unless ``.json`` is appended,
and error bodies may come as XML even then (the NDNC fixture). Both become the same
nested dict so one set of models reads either.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

MAX_BODY_BYTES = 8 * 1024 * 1024


class BodyError(ValueError):
    """The body is neither a JSON value nor a v1 XML document."""


def decode_body(body: bytes) -> object:
    """A JSON value, or the dict made of a ``<TwilioResponse>`` document."""
    if len(body) > MAX_BODY_BYTES:
        raise BodyError(f"body of {len(body)} bytes is too large")
    text = _utf8(body).strip()
    try:
        if text.startswith("<"):
            return xml_to_dict(text)
        try:
            return json.loads(text)
        except ValueError:
            raise BodyError("body is not JSON") from None
    except RecursionError:
        # Hostile depth (json's decoder and _element recurse): an unreadable answer, which
        # for a connect means "the call may or may not exist", never a crash of the client.
        raise BodyError("body is nested too deeply") from None


def decode_object(body: bytes) -> dict[str, object]:
    """Like :func:`decode_body`, but the top level must be an object."""
    data = decode_body(body)
    if not isinstance(data, dict):
        raise BodyError(f"expected a JSON object, got {type(data).__name__}")
    return data


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BodyError("body is not UTF-8") from None


def xml_to_dict(text: str) -> dict[str, object]:
    """``<TwilioResponse><Call><Sid>x</Sid>...`` -> ``{"Call": {"Sid": "x", ...}}``.

    Leaves become text (an empty element ``<EndTime/>`` becomes ``""``, which the models
    read as "no value"); a name repeated among siblings becomes a list. DOCTYPEs are
    refused outright so no entity can be declared, let alone expanded.
    """
    if "<!DOCTYPE" in text.upper():
        raise BodyError("XML body with a DOCTYPE is refused")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise BodyError(f"body is not well-formed XML ({exc})") from None
    value = _element(root)
    return value if isinstance(value, dict) else {root.tag: value}


def _element(node: ElementTree.Element) -> object:
    children = list(node)
    if not children:
        return (node.text or "").strip()
    out: dict[str, object] = {}
    for child in children:
        value = _element(child)
        if child.tag not in out:
            out[child.tag] = value
            continue
        existing = out[child.tag]
        if isinstance(existing, list):
            existing.append(value)
        else:
            out[child.tag] = [existing, value]
    return out
