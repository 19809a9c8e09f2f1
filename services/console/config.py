"""Console's configuration: the secret its tokens are signed with and the proxies it trusts."""

from __future__ import annotations

import os
from collections.abc import Mapping

from kit.settings import ConfigError, Settings, secret
from services.console import domain

DEV_TOKEN_SECRET = "dev-console-token-secret"


def load_token_secret(settings: Settings) -> str:
    return secret(settings, "CIVICFLOW_CONSOLE_SECRET", DEV_TOKEN_SECRET)


def load_trusted_proxies(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> tuple[domain.Network, ...]:
    """``CIVICFLOW_TRUSTED_PROXIES``: the proxies whose ``X-Forwarded-For`` is believed."""
    setting = (os.environ if environ is None else environ).get("CIVICFLOW_TRUSTED_PROXIES", "")
    try:
        return domain.trusted_networks(setting)
    except ValueError as exc:
        raise ConfigError(f"CIVICFLOW_TRUSTED_PROXIES: {exc}") from None
