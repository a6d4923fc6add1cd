"""Keep credentials out of campaign files: they are reviewed, committed and shared.

Any key that looks like a credential, at any depth, is an error naming where
credentials belong; so is a URL carrying ``user:password@``. The value itself is
never repeated in the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from campaigner.campaign.yamlfile import KeyPath, YamlDocument
from campaigner.errors import Problem

CREDENTIALS_HINT = (
    "credentials do not belong in campaign files: set EXOTEL_API_KEY / EXOTEL_API_TOKEN / "
    "EXOTEL_ACCOUNT_SID in the environment or a .env file"
)
# Compared after lower-casing and dropping '_', '-', '.' and spaces.
_EXACT = frozenset(
    {"apikey", "apitoken", "token", "password", "passwd", "pwd", "secret", "accountsid",
     "auth", "authorization", "authtoken", "credentials", "privatekey", "key", "apisecret"}
)  # fmt: skip
_SUFFIXES = ("apikey", "apitoken", "token", "password", "secret", "accountsid")
_USERINFO = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]+:[^/@\s]+@", re.IGNORECASE)


def looks_like_credential(key: str) -> bool:
    """True for ``api_key``, ``EXOTEL_API_TOKEN``, ``password``, ``account-sid``, ..."""
    squashed = re.sub(r"[\s_.-]", "", key.lower())
    return squashed in _EXACT or squashed.endswith(_SUFFIXES)


def credential_problems(doc: YamlDocument) -> tuple[list[Problem], set[KeyPath]]:
    """Problems for every credential-looking key or URL, and the key paths to drop."""
    problems: list[Problem] = []
    paths: set[KeyPath] = set()
    for path, key, value in _walk(doc.data, ()):
        if key is not None and looks_like_credential(key):
            problems.append(doc.problem(path, CREDENTIALS_HINT, at_key=True))
            paths.add(path)
        elif isinstance(value, str) and _USERINFO.match(value.strip()):
            problems.append(
                doc.problem(path, "a URL with user:password@ in it; " + CREDENTIALS_HINT)
            )
    return problems, paths


def _walk(node: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str | None, Any]]:
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            sub = (*path, key)
            yield sub, str(key), value
            if not looks_like_credential(str(key)):
                yield from _walk(value, sub)
    elif isinstance(node, CommentedSeq):
        for index, item in enumerate(node):
            yield (*path, index), None, item
            yield from _walk(item, (*path, index))
