"""The TLS settings of the broker connection (``AMQP_SSL_*``), without a broker."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from kombu.connection import Connection

from kit.amqp import AmqpTls, config_connection, connection, nameko_config, ssl_options
from kit.runner import container_config
from kit.settings import ConfigError, Settings

TLS_URI = "amqps://svc:pw@broker.internal:5671/civicflow"


def ssl_of(conn: Connection) -> dict[str, Any]:
    assert isinstance(conn.ssl, dict), conn.ssl
    return conn.ssl


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")  # only its existence is checked here
    return path


def test_no_tls_settings_mean_verify_against_the_system() -> None:
    assert AmqpTls.from_env({}) == AmqpTls() == AmqpTls(None, None, None, True)
    assert not AmqpTls().configured


def test_tls_settings_from_the_environment(pem: Path) -> None:
    env = {
        "AMQP_SSL_CA_FILE": str(pem),
        "AMQP_SSL_CERT_FILE": str(pem),
        "AMQP_SSL_KEY_FILE": str(pem),
        "AMQP_SSL_VERIFY": "TRUE",
    }
    assert AmqpTls.from_env(env) == AmqpTls(pem, pem, pem, True)


@pytest.mark.parametrize(("raw", "verify"), [("false", False), ("0", False), ("yes", True)])
def test_verify_is_a_flag(raw: str, verify: bool) -> None:
    assert AmqpTls.from_env({"AMQP_SSL_VERIFY": raw}).verify is verify


def test_bad_tls_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="AMQP_SSL_VERIFY='maybe'"):
        AmqpTls.from_env({"AMQP_SSL_VERIFY": "maybe"})
    with pytest.raises(ConfigError, match=r"AMQP_SSL_CA_FILE=/nowhere/ca\.pem: no such file"):
        AmqpTls.from_env({"AMQP_SSL_CA_FILE": "/nowhere/ca.pem"})


def test_a_key_needs_its_certificate(pem: Path) -> None:
    with pytest.raises(ConfigError, match="AMQP_SSL_KEY_FILE is set without AMQP_SSL_CERT_FILE"):
        AmqpTls.from_env({"AMQP_SSL_KEY_FILE": str(pem)})


def test_production_refuses_to_skip_verification() -> None:
    env = {"AMQP_URI": TLS_URI, "AMQP_SSL_VERIFY": "false"}
    with pytest.raises(ConfigError, match="refused in production"):
        Settings.from_env({**env, "CIVICFLOW_ENV": "production"})
    assert Settings.from_env(env).amqp_tls == AmqpTls(verify=False)


def test_tls_settings_with_a_plain_uri_are_refused(pem: Path) -> None:
    plain = {"AMQP_URI": "amqp://guest:guest@localhost:5672/", "AMQP_SSL_CA_FILE": str(pem)}
    with pytest.raises(ConfigError, match="AMQP_URI is not amqps://"):
        Settings.from_env(plain)
    with pytest.raises(ConfigError, match="failover list"):
        Settings.from_env({"AMQP_URI": f"{TLS_URI};amqps://other:5671/"})


def test_ssl_options_verify_chain_and_name(pem: Path) -> None:
    options = ssl_options(AmqpTls(ca_file=pem, cert_file=pem, key_file=pem), "broker.internal")
    assert options == {
        "cert_reqs": ssl.CERT_REQUIRED,
        "tls_minimum_version": ssl.TLSVersion.TLSv1_2,
        "ca_certs": str(pem),
        "certfile": str(pem),
        "keyfile": str(pem),
        "server_hostname": "broker.internal",
    }
    # off: no name either (py-amqp checks the name whenever one is given)
    assert ssl_options(AmqpTls(verify=False), "broker.internal") == {
        "cert_reqs": ssl.CERT_NONE,
        "tls_minimum_version": ssl.TLSVersion.TLSv1_2,
    }


def test_amqps_connections_carry_the_options(pem: Path) -> None:
    conn = connection(TLS_URI, AmqpTls(ca_file=pem))
    assert ssl_of(conn)["ca_certs"] == str(pem)
    assert ssl_of(conn)["server_hostname"] == "broker.internal"
    assert (conn.hostname, conn.port, conn.virtual_host) == ("broker.internal", 5671, "civicflow")
    # the name dialled, not the 127.0.0.1 kombu connects to for localhost
    local = connection("amqps://guest:guest@localhost:5671/", None)
    assert ssl_of(local)["server_hostname"] == "localhost"
    assert ssl_of(local)["cert_reqs"] == ssl.CERT_REQUIRED
    assert connection(TLS_URI, None, ssl={"cert_reqs": ssl.CERT_NONE}).ssl == {
        "cert_reqs": ssl.CERT_NONE
    }


def test_plain_uris_stay_as_they_were(pem: Path) -> None:
    plain = "amqp://guest:guest@localhost:5672/"
    assert connection(plain, AmqpTls(ca_file=pem)).ssl is False
    assert nameko_config(plain, AmqpTls(ca_file=pem)) is None
    settings = Settings.from_env({"AMQP_URI": plain})
    config = container_config(settings, "intake")
    assert "AMQP_SSL" not in config
    assert set(config) == {
        "AMQP_URI", "WEB_SERVER_ADDRESS", "max_workers", "parent_calls_tracked", "serializer",
        "HEARTBEAT", "CIVICFLOW",
    }  # fmt: skip


def test_nameko_and_the_kit_get_the_same_options(pem: Path) -> None:
    settings = Settings.from_env({"AMQP_URI": TLS_URI, "AMQP_SSL_CA_FILE": str(pem)})
    config = container_config(settings, "intake")
    assert config["AMQP_SSL"] == ssl_options(AmqpTls(ca_file=pem), "broker.internal")
    assert config_connection(config).ssl == config["AMQP_SSL"]
    # a bare nameko config (a test's ClusterRpcProxy): verified against the system's CAs
    assert ssl_of(config_connection({"AMQP_URI": TLS_URI}))["cert_reqs"] == ssl.CERT_REQUIRED
