"""Connections to RabbitMQ, over TLS when ``AMQP_URI`` is ``amqps://``.

Every AMQP connection of the platform is made here (``connection``) or by nameko, which takes
the same TLS options from its ``AMQP_SSL`` config key (``nameko_config``). For a plain
``amqp://`` URI nothing is added: the connection is exactly kombu's.

Over TLS the broker's certificate is verified, chain and name, against ``AMQP_SSL_CA_FILE``
(else the system's CAs); ``AMQP_SSL_CERT_FILE`` and ``AMQP_SSL_KEY_FILE`` present a client
certificate; ``AMQP_SSL_VERIFY=false`` turns verification off, outside production only.

The options are py-amqp's (``amqp.transport.SSLTransport``, which kombu's ``ssl=`` reaches):
a dict of ``_wrap_socket_sni``'s keywords. py-amqp takes no ``ssl.SSLContext`` object: a dict
with a ``context`` key is a dict of ``ssl.create_default_context`` keywords, and that path
cannot load a client certificate, so it is not used here.
"""

from __future__ import annotations

import logging
import os
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import amqp.exceptions as amqp_exceptions
import kombu.exceptions as kombu_exceptions
from kombu.connection import Connection

from kit.settings import ConfigError

LOST_CONNECTION = (
    OSError,
    amqp_exceptions.ConnectionError,
    amqp_exceptions.RecoverableConnectionError,
    kombu_exceptions.OperationalError,
)
"""What a publish or an ack raises when the connection to the broker is gone."""

log = logging.getLogger(__name__)

TLS_SCHEMES = frozenset({"amqps"})
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class AmqpTls:
    """How to speak TLS to the broker; applies only to ``amqps://`` URIs."""

    ca_file: Path | None = None
    """CA bundle the broker's certificate must chain to; None: the system's CAs."""
    cert_file: Path | None = None
    """Client certificate (PEM) to present; may hold the key as well."""
    key_file: Path | None = None
    verify: bool = True
    """Check the broker's certificate and that it names the host dialled."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AmqpTls:
        """``AMQP_SSL_CA_FILE``, ``AMQP_SSL_CERT_FILE``, ``AMQP_SSL_KEY_FILE``,
        ``AMQP_SSL_VERIFY`` (default true; false is refused when ``CIVICFLOW_ENV`` is
        production). Named files must exist: a typo fails the start, not the first publish."""
        env = os.environ if environ is None else environ
        verify = _flag(env, "AMQP_SSL_VERIFY", default=True)
        if not verify and env.get("CIVICFLOW_ENV", "dev") == "production":
            raise ConfigError(
                "AMQP_SSL_VERIFY=false is refused in production: "
                "set AMQP_SSL_CA_FILE to the CA that signed the broker's certificate"
            )
        tls = cls(
            ca_file=_file(env, "AMQP_SSL_CA_FILE"),
            cert_file=_file(env, "AMQP_SSL_CERT_FILE"),
            key_file=_file(env, "AMQP_SSL_KEY_FILE"),
            verify=verify,
        )
        if tls.key_file is not None and tls.cert_file is None:
            raise ConfigError("AMQP_SSL_KEY_FILE is set without AMQP_SSL_CERT_FILE")
        if not verify:
            log.warning("AMQP_SSL_VERIFY=false: the broker's certificate is not checked (dev only)")
        return tls

    @property
    def configured(self) -> bool:
        """Whether anything differs from the defaults."""
        return self != AmqpTls()


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise ConfigError(f"{name}={env[name]!r}: expected true or false")


def _file(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    path = Path(raw)
    if not path.is_file():
        raise ConfigError(f"{name}={raw}: no such file")
    return path


def uses_tls(uri: str) -> bool:
    return urllib.parse.urlsplit(uri).scheme.lower() in TLS_SCHEMES


def check_uri(uri: str, tls: AmqpTls) -> None:
    """Refuse TLS options that would not be used, and a failover list over TLS (one broker
    name is checked against the certificate)."""
    if tls.configured and not uses_tls(uri):
        raise ConfigError(
            "AMQP_SSL_* is set but AMQP_URI is not amqps://: the connection would not be "
            "encrypted; use amqps://host:5671/ or unset AMQP_SSL_*"
        )
    if uses_tls(uri) and ";" in uri:
        raise ConfigError("AMQP_URI: a failover list (;) is not supported with amqps://")


def ssl_options(tls: AmqpTls, server_hostname: str | None) -> dict[str, Any]:
    """kombu's ``ssl=`` (py-amqp's ``SSLTransport`` keywords) for a broker dialled as
    ``server_hostname``.

    The name is given explicitly: left to kombu, it would be filled in by mutating this dict,
    and as ``127.0.0.1`` for ``localhost``. With verification off no name is sent (py-amqp
    turns on the name check whenever one is given).
    """
    options: dict[str, Any] = {
        "cert_reqs": ssl.CERT_REQUIRED if tls.verify else ssl.CERT_NONE,
        "tls_minimum_version": ssl.TLSVersion.TLSv1_2,
    }
    if tls.ca_file is not None:
        options["ca_certs"] = str(tls.ca_file)
    if tls.cert_file is not None:
        options["certfile"] = str(tls.cert_file)
        if tls.key_file is not None:
            options["keyfile"] = str(tls.key_file)
    if tls.verify:
        if not server_hostname:
            raise ValueError("verifying the broker's certificate needs the host name dialled")
        options["server_hostname"] = server_hostname
    return options


def ssl_for(uri: str, tls: AmqpTls | None) -> dict[str, Any] | None:
    """The ``ssl=`` value for this URI: None for ``amqp://``."""
    if not uses_tls(uri):
        return None
    return ssl_options(tls or AmqpTls(), urllib.parse.urlsplit(uri).hostname)


def connection(uri: str, tls: AmqpTls | None = None, **kwargs: Any) -> Connection:
    """A kombu connection to ``uri`` (not yet connected); over ``amqps://`` with ``tls``
    (None: verify against the system's CAs). ``kwargs`` go to kombu as they are; an explicit
    ``ssl=`` wins."""
    options = ssl_for(uri, tls)
    if options is not None:
        kwargs.setdefault("ssl", options)
    return Connection(uri, **kwargs)


def config_connection(config: Mapping[str, Any], **kwargs: Any) -> Connection:
    """``connection`` for a nameko extension: the container's ``AMQP_URI`` with the TLS
    options of its settings (``config["CIVICFLOW"].amqp_tls``), the ones nameko's own
    connections get through ``AMQP_SSL``."""
    settings = config.get("CIVICFLOW")
    tls: AmqpTls | None = getattr(settings, "amqp_tls", None)
    return connection(config["AMQP_URI"], tls, **kwargs)


def nameko_config(uri: str, tls: AmqpTls | None) -> dict[str, Any] | None:
    """nameko's ``AMQP_SSL`` value (it hands it to kombu as ``ssl=`` for every connection of
    the container); None for ``amqp://``, so that the config stays as it was."""
    return ssl_for(uri, tls)
