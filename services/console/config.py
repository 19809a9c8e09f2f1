"""Console's configuration: the secret its tokens are signed with, the proxies it trusts and the
map's base tiles, if any."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class MapTiles:
    """Base tiles under the map, when the county has a tile server (天地图 with its key, or
    one of its own on the intranet); without them the map draws the territory alone and
    nothing is fetched from the internet."""

    url: str
    attribution: str
    subdomains: str = ""
    max_zoom: int = 18

    def view(self) -> dict[str, Any]:
        return {"url": self.url, "attribution": self.attribution,
                "subdomains": self.subdomains, "max_zoom": self.max_zoom}  # fmt: skip


def load_map_tiles(settings: Settings, environ: Mapping[str, str] | None = None) -> MapTiles | None:
    """``CIVICFLOW_MAP_TILES``: a tile URL template with ``{z}``, ``{x}`` and ``{y}`` (and
    ``{s}`` for ``CIVICFLOW_MAP_SUBDOMAINS``); ``CIVICFLOW_MAP_ATTRIBUTION``: whose tiles
    they are, shown on the map (required with tiles); ``CIVICFLOW_MAP_MAX_ZOOM``."""
    env = os.environ if environ is None else environ
    url = env.get("CIVICFLOW_MAP_TILES", "").strip()
    if not url:
        return None
    missing = [part for part in ("{z}", "{x}", "{y}") if part not in url]
    if missing or not url.startswith(("https://", "http://", "/")):
        raise ConfigError("CIVICFLOW_MAP_TILES: an http(s) URL template with {z}, {x} and {y}")
    attribution = env.get("CIVICFLOW_MAP_ATTRIBUTION", "").strip()
    if not attribution:
        raise ConfigError("CIVICFLOW_MAP_ATTRIBUTION: say whose tiles these are")
    subdomains = env.get("CIVICFLOW_MAP_SUBDOMAINS", "").strip()
    if "{s}" in url and not subdomains:
        raise ConfigError("CIVICFLOW_MAP_SUBDOMAINS: the URL has {s}; name its subdomains")
    try:
        max_zoom = int(env.get("CIVICFLOW_MAP_MAX_ZOOM", "18"))
    except ValueError:
        raise ConfigError("CIVICFLOW_MAP_MAX_ZOOM: a whole number") from None
    return MapTiles(url, attribution, subdomains, max_zoom)
