"""Settings from the environment, with the defaults of DESIGN.md."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kernel.clock import Clock, SystemClock
from kernel.config import ConfigError

if TYPE_CHECKING:
    from kit.amqp import AmqpTls

__all__ = ["SERVICES", "ConfigError", "Settings"]


SERVICES: tuple[str, ...] = ("intake", "grid", "dispatch", "supervision", "notify", "console")

DEFAULT_PORTS: dict[str, int] = {
    "intake": 8000,
    "dispatch": 8001,
    "grid": 8002,
    "supervision": 8003,
    "notify": 8004,
    "console": 8080,
}


@dataclass(frozen=True)
class Settings:
    amqp_uri: str = "amqp://guest:guest@localhost:5672/"
    amqp_tls: AmqpTls | None = None
    """TLS to the broker when ``amqp_uri`` is ``amqps://`` (``AMQP_SSL_*``, see docs/tls.md);
    None: the defaults, verifying the broker against the system's CAs."""
    database_url: str | None = None
    data_dir: Path = Path("var")
    config_dir: Path = Path("deploy/config")
    env: str = "dev"
    http_host: str = "0.0.0.0"
    ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    database_urls: Mapping[str, str] = field(default_factory=dict)
    max_workers: int = 32
    database_pool_size: int = 5
    """PostgreSQL connections each process keeps (and as many again at a peak). Six services
    with three instances each stay within the server's default 100 this way."""
    delivery_limit: int = 5
    """Attempts of one message before it is parked in its dead-letter queue."""
    rpc_timeout: float = 5.0
    amqp_heartbeat: float = 30.0
    """Seconds between AMQP heartbeats on every connection; the broker drops a peer that
    misses two, so a handler must never hold the hub for longer than that."""
    supervision_tick_seconds: float = 30.0
    """How often supervision scans its clocks for warnings, overdue limits and escalations."""
    notify_tick_seconds: float = 1.0
    """How often notify looks for deliveries due again (retries, quiet hours, rate limits)."""
    clock: Clock = field(default_factory=SystemClock)
    """Where every service reads the time; tests give a ``ManualClock`` and move it on."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        from kit.amqp import AmqpTls, check_uri  # kit.amqp imports ConfigError from here

        env = os.environ if environ is None else environ
        amqp_uri = env.get("AMQP_URI", cls.amqp_uri)
        amqp_tls = AmqpTls.from_env(env)
        check_uri(amqp_uri, amqp_tls)
        ports = {
            name: int(env.get(f"{name.upper()}_PORT", default))
            for name, default in DEFAULT_PORTS.items()
        }
        urls = {
            name: env[f"{name.upper()}_DATABASE_URL"]
            for name in SERVICES
            if env.get(f"{name.upper()}_DATABASE_URL")
        }
        return cls(
            amqp_uri=amqp_uri,
            amqp_tls=amqp_tls,
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(env.get("CIVICFLOW_DATA_DIR", "var")),
            config_dir=Path(env.get("CIVICFLOW_CONFIG_DIR", "deploy/config")),
            env=env.get("CIVICFLOW_ENV", "dev"),
            http_host=env.get("CIVICFLOW_HTTP_HOST", cls.http_host),
            ports=ports,
            database_urls=urls,
            max_workers=int(env.get("CIVICFLOW_MAX_WORKERS", cls.max_workers)),
            database_pool_size=int(env.get("CIVICFLOW_DB_POOL_SIZE", cls.database_pool_size)),
            delivery_limit=int(env.get("CIVICFLOW_DELIVERY_LIMIT", cls.delivery_limit)),
            rpc_timeout=float(env.get("CIVICFLOW_RPC_TIMEOUT", cls.rpc_timeout)),
            amqp_heartbeat=heartbeat_from(env),
            supervision_tick_seconds=float(
                env.get("SUPERVISION_TICK_SECONDS", cls.supervision_tick_seconds)
            ),
            notify_tick_seconds=float(env.get("NOTIFY_TICK_SECONDS", cls.notify_tick_seconds)),
        )

    @property
    def is_dev(self) -> bool:
        return self.env != "production"

    def database_url_for(self, service: str) -> str:
        """``<SERVICE>_DATABASE_URL``, else ``DATABASE_URL`` (on PostgreSQL each service keeps
        its own schema), else an SQLite file of its own under the data dir."""
        if service in self.database_urls:
            return self.database_urls[service]
        if self.database_url and self.database_url.startswith("sqlite:///"):
            # One SQLite file cannot hold six services' tables apart: each gets its own
            # file beside the one named (var/cf.db → var/cf.intake.db).
            stem, dot, suffix = self.database_url.rpartition(".")
            return (
                f"{stem}.{service}.{suffix}"
                if dot and "/" not in suffix
                else f"{self.database_url}.{service}"
            )
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / f'{service}.db').resolve()}"

    def load_yaml(self, name: str) -> dict[str, Any]:
        """A file of ``CIVICFLOW_CONFIG_DIR``; a clear error naming the file when it is bad."""
        path = self.config_dir / name
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: missing") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(document, dict):
            raise ConfigError(f"{path}: expected a mapping at the top")
        return document

    def http_address_for(self, service: str) -> str:
        return f"{self.http_host}:{self.ports[service]}"


MIN_HEARTBEAT_SECONDS = 5.0


def heartbeat_from(env: Mapping[str, str]) -> float:
    """``CIVICFLOW_AMQP_HEARTBEAT``: at least 5 s. kombu's consumer loop checks heartbeats
    only after a second without a frame, and below 5 s the broker's own heartbeats (every
    half interval) keep that second from ever passing: the client would fall silent and be
    dropped."""
    raw = env.get("CIVICFLOW_AMQP_HEARTBEAT", str(Settings.amqp_heartbeat))
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigError(f"CIVICFLOW_AMQP_HEARTBEAT={raw!r}: not a number of seconds") from None
    if seconds < MIN_HEARTBEAT_SECONDS:
        raise ConfigError(
            f"CIVICFLOW_AMQP_HEARTBEAT={raw!r}: at least {MIN_HEARTBEAT_SECONDS:.0f} seconds"
        )
    return seconds


def secret(
    settings: Settings, name: str, dev_value: str, environ: Mapping[str, str] | None = None
) -> str:
    """A secret from the environment; outside production a marked dev value stands in, in
    production its absence refuses the start (no secret ships in the repository)."""
    value = (os.environ if environ is None else environ).get(name)
    if value:
        if not settings.is_dev and value == dev_value:
            raise ConfigError(f"{name} holds the dev value; set a real one in production")
        return value
    if not settings.is_dev:
        raise ConfigError(f"{name} is not set; production needs a real secret")
    return dev_value
