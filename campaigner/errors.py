"""The one exception tree of campaigner, and the exit code each branch maps to.

Every error a user can see derives from :class:`CampaignerError`; the command line
catches that root in one place (``campaigner.cli``) and turns it into a message and
an exit status. Foreign exceptions (httpx, sqlite3, ruamel.yaml, pydantic) are
translated where they enter our code and chained as ``__cause__``.

::

    CampaignerError
    ├── UsageError                  bad command-line use
    ├── ConfigError                 credentials / environment (never echoes secrets)
    ├── CampaignInvalid             a campaign file has problems (carries every Problem)
    ├── StateError                  the journal is unusable, locked or belongs elsewhere
    ├── StateWriteError             the state cannot be written (disk full, read-only)
    ├── ExotelError                 an answer (or lack of one) from Exotel
    │   ├── AuthError               401: key/token/account wrong
    │   ├── ForbiddenError          403 other than NDNC: permissions, IP allow-list
    │   │   └── DndRefusedError     403 NDNC: the number is on India's do-not-call registry
    │   ├── NotFoundError           404: unknown SID, account, ExoPhone or path
    │   ├── BadRequestError         400/405/422: Exotel rejected the parameters
    │   ├── ConflictError           409 other than agent busy (device unverified/unavailable)
    │   │   ├── AgentBusyError      409/10706: the agent is on another call (state_management)
    │   │   └── AgentUnavailableError  404/405/409 with an agent-side code: device off, ...
    │   ├── RateLimitedError        429: the account's request budget is spent
    │   ├── ServerError             5xx: Exotel failed; safe requests may be retried
    │   ├── TransportError          no answer at all (connect error, timeout) on a safe request
    │   ├── OutcomeUnknownError     a connect POST whose answer was lost: the call may exist
    │   └── ProtocolError           an answer we cannot parse
    └── CallbackError               a callback/heartbeat body that is malformed

Messages never contain API keys or tokens: the client authenticates with a
header built from ``SecretStr`` values and never formats them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Exit codes, documented in docs/operations.md. Scripts depend on them.
EXIT_OK = 0
EXIT_FAILURE = 1  # the command ran and found problems (invalid campaign, failed run)
EXIT_USAGE = 2  # bad command-line use
EXIT_CONFIG = 3  # missing or bad credentials/settings
EXIT_STATE = 4  # the journal is unusable, unwritable, or another run holds the campaign
EXIT_API = 5  # Exotel refused or failed in a way the run cannot continue from
EXIT_PAUSED = 6  # the circuit breaker stopped the run; resumable once the cause is fixed
EXIT_INTERRUPTED = 130  # stopped by the operator (Ctrl-C); resumable


class CampaignerError(Exception):
    """Root of every error campaigner reports to a user."""

    exit_code: int = EXIT_FAILURE


class UsageError(CampaignerError):
    """The command line was used wrongly."""

    exit_code = EXIT_USAGE


class ConfigError(CampaignerError):
    """Credentials or environment settings are missing or malformed."""

    exit_code = EXIT_CONFIG


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can.

    ``line``/``col`` are 1-based; 0 means "the file as a whole". ``severity`` is
    ``"error"`` (the file is rejected) or ``"warning"`` (shown, not fatal).
    """

    file: str
    line: int
    col: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file if self.line <= 0 else f"{self.file}:{self.line}:{max(self.col, 1)}"
        tag = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {tag}{self.message}"


class CampaignInvalid(CampaignerError):
    """A campaign file (or a file it names) has one or more problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "invalid campaign"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)


class StateError(CampaignerError):
    """The run journal cannot be used (corrupt, locked, or from another campaign)."""

    exit_code = EXIT_STATE


class StateWriteError(CampaignerError):
    """The state files cannot be written: disk full, read-only file system, I/O error.

    Not a :class:`StateError` on purpose: code that expects a StateError for a contact
    that changed under it (the dialer) must not swallow this one. The intent of a call
    is written before its POST; when it cannot be, the POST is not sent and the run
    stops with this error (exit 4), resumable once the disk is writable again.
    """

    exit_code = EXIT_STATE


class ExotelError(CampaignerError):
    """Exotel answered with an error, or did not answer.

    ``status`` is the HTTP status (0 when there was no answer), ``code`` Exotel's own
    error code when the body carried one, ``message`` Exotel's text.
    """

    exit_code = EXIT_API

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = []
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.status:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(f"code {self.code}")
        head = " ".join(parts)
        return f"{head}: {self.message}" if head else self.message

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status}, code={self.code!r}, message={self.message!r})"


class AuthError(ExotelError):
    """Exotel refused the credentials (401)."""


class ForbiddenError(ExotelError):
    """Exotel forbade the request (403): permissions or IP allow-list."""


class DndRefusedError(ForbiddenError):
    """Exotel refused to call a number on the TRAI NDNC (do-not-call) registry (403)."""


class NotFoundError(ExotelError):
    """Exotel has no such resource (404), e.g. an unknown call SID."""


class BadRequestError(ExotelError):
    """Exotel rejected the request's parameters (400)."""


class ConflictError(ExotelError):
    """Exotel refused the call because of the agent device's state (409)."""


class AgentBusyError(ConflictError):
    """The agent is already on a call (409, code 10706, with state_management)."""


class AgentUnavailableError(ConflictError):
    """The agent's (user's) device cannot take a call: turned off (404/10703), unavailable
    (409/1012), unverified (409/10705), no such user or device (404/10731, 10702, 10806),
    VoIP not allowed (405/10712). The contact was not called: it is the agent's problem.
    """


class RateLimitedError(ExotelError):
    """The account's request budget is exhausted (429)."""


class ServerError(ExotelError):
    """Exotel failed internally (5xx)."""


class TransportError(ExotelError):
    """No usable answer arrived (connection refused, timeout, reset)."""


class OutcomeUnknownError(ExotelError):
    """A connect POST was sent but its answer was lost: the call may or may not exist.

    Never retry the POST; reconcile through call details instead.
    """


class ProtocolError(ExotelError):
    """Exotel answered with something we cannot parse."""


class CallbackError(CampaignerError):
    """A status callback or heartbeat body is malformed."""


def unwrap(exc: BaseException) -> BaseException:
    """The error a user should see in ``exc``: exception groups are opened, ours first.

    trio's nurseries raise groups; the command line and the engine show one error. A
    Ctrl-C wins (the operator asked), then the first of campaigner's own errors (an
    AuthError raised by one task of a nursery), else the first leaf.
    """
    leaves = _leaves(exc)
    for kind in (KeyboardInterrupt, CampaignerError):
        for leaf in leaves:
            if isinstance(leaf, kind):
                return leaf
    return leaves[0] if leaves else exc


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]
