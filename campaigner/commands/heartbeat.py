"""``campaigner heartbeat FILE``: the exact heartbeat URL to configure in Exotel's dashboard.

Exotel's heartbeat (000) is configured once per account, with one URL, so that URL
must not change between runs: it is ``<callbacks.public_url>/heartbeat/<secret>``,
where the secret is ``CAMPAIGNER_HEARTBEAT_TOKEN`` from the environment or ``.env``
(never from a campaign file, which is reviewed and committed). Runs whose receiver
is reachable at that ``public_url`` accept it; without the secret they refuse it.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from campaigner.errors import ConfigError, UsageError
from campaigner.settings import load_campaigner_settings
from campaigner.store.locate import campaign_document

NAME = "heartbeat"
HELP = "Print the heartbeat URL to configure in Exotel's dashboard (ExoPhone health)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="campaign file (its callbacks.public_url is used)")
    parser.add_argument(
        "--public-url", metavar="URL", help="use this public URL instead of the campaign's"
    )


def run(args: argparse.Namespace) -> int:
    settings = load_campaigner_settings()
    if settings.heartbeat_token is None:
        raise ConfigError(
            "CAMPAIGNER_HEARTBEAT_TOKEN is not set: put a random secret in the environment "
            f"or .env, for example CAMPAIGNER_HEARTBEAT_TOKEN={secrets.token_urlsafe(24)}"
        )
    public = args.public_url or public_url(Path(args.file))
    if not public or not public.startswith(("http://", "https://")):
        raise UsageError(
            f"{args.file}: no callbacks.public_url, so Exotel cannot reach a run: set it "
            "(docs/operations.md) or pass --public-url"
        )
    url = heartbeat_url(public, settings.heartbeat_token.get_secret_value())
    print("Configure this URL in Exotel's dashboard (heartbeat notifications, POST):")
    print()
    print(f"  {url}")
    print()
    print(
        f"with the frequency CAMPAIGNER_HEARTBEAT_INTERVAL says "
        f"({settings.heartbeat_interval} minutes). Keep the token and public URL unchanged: "
        "Exotel calls this URL for every run. While no campaign runs nothing answers it, "
        "and runs take ExoPhone health from v2 details (docs/health.md)."
    )
    return 0


def heartbeat_url(public_url: str, secret: str) -> str:
    """``<public_url>/heartbeat/<secret>``: the receiver matches the last two segments."""
    return f"{public_url.rstrip('/')}/heartbeat/{secret}"


def public_url(path: Path) -> str | None:
    """``callbacks.public_url`` of a campaign file, read without loading its contacts."""
    doc = campaign_document(path)
    callbacks = doc.get("callbacks") if isinstance(doc, dict) else None
    value = callbacks.get("public_url") if isinstance(callbacks, dict) else None
    return value if isinstance(value, str) else None
