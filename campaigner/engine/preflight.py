"""Preflight: what must hold before a run dials anyone, checked before the journal is touched.

A bad day should end in one line and an exit code, not in a run that waits for
ever or burns its contacts. So before ``campaigner run`` opens the journal it checks,
in order of cost:

- the deadline: a deadline already past (or no calling window left before it) would
  end every contact left ``expired`` for good; that is an error unless the operator
  asks for it (``--allow-past-deadline``);
- the callback port: ``callbacks.listen`` must be free to bind (another run or program
  holding it is said in one line, not as an ``OSError`` traceback);
- Exotel: one cheap authenticated GET per API host the campaign uses (v1 bulk call
  details of the last minute for the v1/v2 host; a v3 call details lookup of a SID that
  does not exist, for the v3 host), which proves the host reachable and the credentials
  accepted. Nothing is dialed, and the two requests go through a limiter at the
  campaign's pace.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
from collections.abc import Awaitable
from datetime import datetime, timedelta

import httpx
import trio

from campaigner.campaign.resolved import LoadedCampaign
from campaigner.domain import ApiVersion
from campaigner.engine.limiter import AccountGate
from campaigner.errors import (
    AuthError,
    BadRequestError,
    CampaignInvalid,
    ConfigError,
    ExotelError,
    ForbiddenError,
    NotFoundError,
    Problem,
    TransportError,
)
from campaigner.exotel.client import ExotelClient
from campaigner.exotel.registry import api_version
from campaigner.schedule import CallingSchedule
from campaigner.settings import ExotelSettings

PROBE_SID = "campaigner-preflight"  # a v3 call SID no call has: 404 means "authenticated"
PROBE_TIMEOUT = 10.0  # seconds: a host that does not answer this fast is not reachable
ALLOW_PAST_DEADLINE = "--allow-past-deadline"


def check_deadline(loaded: LoadedCampaign, now: datetime, *, allow_past: bool) -> None:
    """Refuse a run that could only expire its contacts, unless ``allow_past``."""
    schedule = CallingSchedule(loaded.campaign.schedule)
    if allow_past or schedule.next_open(now) is not None:
        return
    deadline = loaded.campaign.schedule.deadline
    located = [w for w in loaded.warnings if "schedule.deadline" in w.message]
    line, col = (located[0].line, located[0].col) if located else (0, 0)
    if deadline is not None and schedule.deadline is not None and schedule.deadline <= now:
        why = f"{deadline.isoformat()} has passed"
    else:
        why = "no calling window is left before it"
    raise CampaignInvalid(
        [
            Problem(
                str(loaded.path),
                line,
                col,
                f"schedule.deadline: {why}: a run would end every contact left `expired`. "
                f"Fix the deadline (then `campaigner reopen` brings back contacts already "
                f"expired), or pass {ALLOW_PAST_DEADLINE} to close the campaign",
            )
        ]
    )


def check_listen(loaded: LoadedCampaign) -> None:
    """``callbacks.listen`` can be bound now (a ConfigError naming it if not)."""
    listen = loaded.campaign.callbacks.listen
    host, _, port_text = listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    try:
        port = int(port_text)
    except ValueError:
        return  # the model validated it; hypercorn will say what it thinks
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise listen_error(loaded, exc) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise listen_error(loaded, exc) from None


def listen_error(loaded: LoadedCampaign, exc: OSError) -> ConfigError:
    """The one line for a callback address that cannot be bound."""
    listen = loaded.campaign.callbacks.listen
    if exc.errno == errno.EADDRINUSE:
        why = "the port is in use (another run or program listens there)"
    elif exc.errno == errno.EACCES:
        why = "permission denied (ports below 1024 need privileges)"
    else:
        why = exc.strerror or str(exc)
    return ConfigError(
        f"{loaded.path}: callbacks.listen {listen}: cannot listen: {why}. Stop the other "
        "program, or set another callbacks.listen (and the proxy or tunnel behind "
        "callbacks.public_url)"
    )


async def check_exotel(
    loaded: LoadedCampaign,
    settings: ExotelSettings,
    now: datetime,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """One authenticated GET per API host the campaign uses; raises one clear error.

    The client's own warning for a failed request is held back meanwhile: the error
    raised here says it, in one line.
    """
    quiet = logging.getLogger("campaigner.exotel")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    gate = AccountGate.for_account(settings)  # Exotel counts them too
    try:
        async with ExotelClient(
            settings, transport=transport, timeout=PROBE_TIMEOUT, max_tries=1, gate=gate
        ) as client:
            await _probe(settings.v1_base, settings, _v1_probe(client, now))
            version = api_version(loaded.campaign.api)
            if version.separate_host:
                base: str = getattr(settings, version.wire.host)
                await _probe(base, settings, _details_probe(client, version.name))
    finally:
        quiet.setLevel(level)
        gate.budget.release()


async def _v1_probe(client: ExotelClient, now: datetime) -> None:
    await client.bulk_call_details(
        date_created=(now - timedelta(minutes=1), now),
        page_size=1,
        max_pages=1,
        purpose="health",
    )


async def _details_probe(client: ExotelClient, api: ApiVersion) -> None:
    # A 404 (or 400) means authenticated: Exotel looked for the call.
    with contextlib.suppress(NotFoundError, BadRequestError):
        await client.call_details(PROBE_SID, api=api, purpose="health")


async def _probe(base: str, settings: ExotelSettings, probe: Awaitable[None]) -> None:
    try:
        with trio.fail_after(PROBE_TIMEOUT * 2):
            await probe
    except trio.TooSlowError:
        raise TransportError(
            f"cannot reach Exotel at {base}: no answer in {PROBE_TIMEOUT * 2:.0f} s "
            "(check the network, EXOTEL_REGION and EXOTEL_BASE_URL); nothing was dialed"
        ) from None
    except (AuthError, ForbiddenError) as exc:
        if isinstance(exc, AuthError):
            what = f"refused the credentials at {base} (account {settings.account_sid})"
            check = "EXOTEL_API_KEY, EXOTEL_API_TOKEN, EXOTEL_ACCOUNT_SID and EXOTEL_REGION"
        else:
            what = f"forbade the account's requests at {base} ({exc.message})"
            check = "the account's API permissions and IP allow-list"
        raise type(exc)(
            f"Exotel {what}: check {check}; nothing was dialed", status=exc.status, code=exc.code
        ) from None
    except TransportError as exc:
        raise TransportError(
            f"cannot reach Exotel at {base} ({exc.message}): check the network, "
            "EXOTEL_REGION and EXOTEL_BASE_URL; nothing was dialed"
        ) from None
    except ExotelError:
        return  # Exotel answered (a 5xx or a quirk): it is reachable; the run copes
