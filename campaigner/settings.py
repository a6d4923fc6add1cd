"""Credentials and environment: read only from the environment or a ``.env`` file.

Campaign files never hold credentials (the loader rejects them). Secrets are
``SecretStr`` so that ``repr``, ``str``, logging and pydantic errors show ``**********``.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from campaigner.errors import ConfigError

Region = Literal["singapore", "mumbai"]

# docs/exotel/basics.md.
REGION_HOSTS: dict[str, tuple[str, str]] = {
    "singapore": ("https://api.exotel.com", "https://ccm-api.exotel.com"),
    "mumbai": ("https://api.in.exotel.com", "https://ccm-api.in.exotel.com"),
}

# Environment variable names, documented in docs/operations.md.
ENV_NAMES = (
    "EXOTEL_API_KEY",
    "EXOTEL_API_TOKEN",
    "EXOTEL_ACCOUNT_SID",
    "EXOTEL_REGION",
    "EXOTEL_BASE_URL",
    "EXOTEL_CCM_BASE_URL",
    "CAMPAIGNER_HEARTBEAT_TOKEN",
    "CAMPAIGNER_HEARTBEAT_INTERVAL",
    "CAMPAIGNER_ALLOW_PATHS",
)


class ExotelSettings(BaseSettings):
    """How to reach and authenticate with Exotel.

    ``base_url`` serves v1 and v2, ``ccm_base_url`` serves v3; both default to the
    region's hosts and may point at the simulator, a proxy, or a test server.
    """

    model_config = SettingsConfigDict(
        env_prefix="EXOTEL_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
    )

    api_key: SecretStr | None = None
    api_token: SecretStr | None = None
    account_sid: str | None = None
    region: Region = "singapore"
    base_url: str | None = None
    ccm_base_url: str | None = None

    @field_validator("base_url", "ccm_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def v1_base(self) -> str:
        """Base URL for v1 and v2 paths (``/v1/Accounts/...``, ``/v2/accounts/...``)."""
        return self.base_url or REGION_HOSTS[self.region][0]

    @property
    def v3_base(self) -> str:
        """Base URL for v3 paths (``/v3/accounts/...``)."""
        return self.ccm_base_url or REGION_HOSTS[self.region][1]

    def require_credentials(self) -> tuple[str, str, str]:
        """Return (key, token, account sid) or raise a ConfigError naming what is missing."""
        missing = [
            name
            for name, value in (
                ("EXOTEL_API_KEY", self.api_key),
                ("EXOTEL_API_TOKEN", self.api_token),
                ("EXOTEL_ACCOUNT_SID", self.account_sid),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                "missing " + ", ".join(missing) + ": set them in the environment or in a .env "
                "file (see docs/operations.md); campaign files never hold credentials"
            )
        assert self.api_key is not None
        assert self.api_token is not None
        assert self.account_sid is not None
        return (
            self.api_key.get_secret_value(),
            self.api_token.get_secret_value(),
            self.account_sid,
        )


class CampaignerSettings(BaseSettings):
    """campaigner's own settings (not Exotel's).

    The heartbeat URL is configured once in Exotel's dashboard for the whole account
    and must not change between runs, so its secret lives here (environment or
    ``.env``), never in a campaign file; without it heartbeats are refused and runs
    take ExoPhone health from v2 details only (docs/health.md).
    """

    model_config = SettingsConfigDict(
        env_prefix="CAMPAIGNER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
    )

    # Secret path segment of the heartbeat URL configured once in Exotel's dashboard.
    heartbeat_token: SecretStr | None = None
    # The heartbeat frequency set in the dashboard, in minutes: a journaled heartbeat
    # younger than three intervals describes the ExoPhones' present health.
    heartbeat_interval: int = Field(default=5, ge=1, le=1440)

    @field_validator("heartbeat_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        if len(secret) < 16 or not all(c.isalnum() or c in "-_" for c in secret):
            raise ValueError(
                "must be at least 16 letters, digits, '-' or '_' (it is a URL path segment "
                "and the only protection of the heartbeat URL)"
            )
        return value


def load_exotel_settings() -> ExotelSettings:
    """Read Exotel settings, turning pydantic's errors into a ConfigError without values."""
    try:
        return ExotelSettings()
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "EXOTEL_")) from None


def load_campaigner_settings() -> CampaignerSettings:
    """Read campaigner's own settings from the environment or ``.env``."""
    try:
        return CampaignerSettings()
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "CAMPAIGNER_")) from None


def allowed_paths_setting() -> list[str]:
    """``CAMPAIGNER_ALLOW_PATHS``: folders (``os.pathsep``-separated) campaign files may name.

    Read from the process environment only, never from ``.env``: a ``.env`` can arrive
    with a pull request's checkout, and this setting exists to widen what such a
    campaign file may read (docs/campaign-format.md, "Paths").
    """
    value = os.environ.get("CAMPAIGNER_ALLOW_PATHS", "")
    return [part for part in value.split(os.pathsep) if part.strip()]


def _describe(exc: ValidationError, prefix: str) -> str:
    lines = []
    for err in exc.errors(include_url=False, include_input=False):
        name = prefix + "_".join(str(p) for p in err["loc"]).upper()
        lines.append(f"{name}: {err['msg']}")
    return "bad settings: " + "; ".join(lines)
