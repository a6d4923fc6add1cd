"""A request as it will be sent, built apart from sending it.

:class:`WireRequest` is pure data: the client turns it into an httpx request, and
``campaigner plan --show N`` prints it with :meth:`WireRequest.render`. It never holds
credentials: the client adds HTTP Basic auth at send time through httpx's ``auth=``, so a
plan, a log line or a repr cannot leak the API key or token.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode, urlsplit

# campaigner's own values for options a campaign leaves unset, sent explicitly because
# Exotel's default differs or is not documented (docs/campaign-format.md, "Explicit
# defaults"): the v1 connect page records every call unless told ``Record=false``, and
# gives no default ring time or call limit (v3: attempt_time_out 30 s, max_time_limit 4 h).
RECORD_WHEN_UNSET = False
RING_TIMEOUT_WHEN_UNSET = 30
TIME_LIMIT_WHEN_UNSET = 14400

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
REDACTED_AUTH = "Basic ********"

Method = Literal["GET", "POST"]


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One HTTP request to Exotel, exactly as it will go on the wire, minus auth.

    ``form`` holds form fields in the order they are sent; ``json_body`` a JSON object.
    At most one of them is set; a GET has neither (its parameters are in ``url``).
    """

    method: Method
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    form: tuple[tuple[str, str], ...] | None = None
    json_body: Mapping[str, object] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.form is not None and self.json_body is not None:
            raise ValueError("a request has a form body or a JSON body, not both")
        if any(name.lower() == "authorization" for name, _ in self.headers):
            raise ValueError("credentials never live in a WireRequest; the client adds them")

    @property
    def path(self) -> str:
        """The URL path without host or query: what logs and errors may show."""
        return urlsplit(self.url).path

    def content_type(self) -> str | None:
        """The body's media type, or ``None`` for a request without a body."""
        if self.form is not None:
            return FORM_TYPE
        if self.json_body is not None:
            return JSON_TYPE
        return None

    def body(self) -> bytes:
        """The exact body bytes: form-urlencoded fields in order, or indented UTF-8 JSON."""
        if self.form is not None:
            return urlencode(self.form).encode("ascii")
        if self.json_body is not None:
            return json.dumps(self.json_body, indent=2, ensure_ascii=False).encode("utf-8")
        return b""

    def all_headers(self) -> tuple[tuple[str, str], ...]:
        """The headers sent, including ``Content-Type`` when there is a body."""
        kind = self.content_type()
        return self.headers + ((("Content-Type", kind),) if kind else ())

    def render(self, redact: bool = True) -> str:
        """A curl command line that sends the same request, for ``plan --show``.

        With ``redact`` (the default) an ``Authorization: Basic ********`` line shows where
        the credentials go; without it that line is left out. The real values never appear
        either way: this object does not have them.
        """
        lines = [f"curl -X {self.method} {shlex.quote(self.url)}"]
        if redact:
            lines.append(f"-H {shlex.quote('Authorization: ' + REDACTED_AUTH)}")
        lines += [f"-H {shlex.quote(f'{name}: {value}')}" for name, value in self.all_headers()]
        if self.form is not None:
            lines += [f"--data-urlencode {shlex.quote(f'{n}={v}')}" for n, v in self.form]
        elif self.json_body is not None:
            lines.append(f"--data-raw {shlex.quote(self.body().decode('utf-8'))}")
        return " \\\n  ".join(lines)
