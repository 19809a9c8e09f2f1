"""AMQP over TLS (``amqps://``) against a real RabbitMQ with a self-signed CA.

A second, throwaway node (``tests/support/tls_broker.py``) listens on TLS only; the machine's
main broker is not involved. The broker's certificate is for ``localhost`` / ``127.0.0.1``.
"""

from __future__ import annotations

import json
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kombu.connection import Connection
from kombu.entity import Queue
from kombu.simple import SimpleQueue

from kit.amqp import AmqpTls, connection
from kit.runner import container_config
from kit.settings import ConfigError, Settings
from kit.topology import public_exchange
from tests.support.harness import http, running, settings_for_test
from tests.support.tls_broker import TlsBroker, rabbitmq_dir, tls_broker

pytestmark = pytest.mark.broker

TICKETS = "/api/v1/hotline/tickets"


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest) -> Iterator[TlsBroker]:
    try:
        rabbitmq_dir()
    except FileNotFoundError as missing:
        pytest.skip(f"no local RabbitMQ to start a TLS node: {missing}")
    with tls_broker() as node:
        line = f"TLS broker {node.node} on :{node.port} up in {node.startup_seconds:.1f}s"
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture else nullcontext():
            print(f"\n{line}")  # shown even while output is captured
        yield node


def verified(broker: TlsBroker, **changes: Any) -> AmqpTls:
    return replace(AmqpTls(ca_file=broker.pki.ca), **changes)


def connected(conn: Connection) -> ssl.SSLSocket:
    """Connect once (no retries) and give the TLS socket underneath."""
    conn.ensure_connection(max_retries=0, reraise_as_library_errors=False)
    sock = conn.connection.transport.sock
    assert isinstance(sock, ssl.SSLSocket), type(sock)
    return sock


def refusal(uri: str, tls: AmqpTls | None) -> BaseException:
    """What connecting raises; fails the test if it connects."""
    with connection(uri, tls, connect_timeout=5) as conn:
        try:
            connected(conn)
        except Exception as exc:
            return exc
    raise AssertionError(f"{uri} connected with {tls}; it should have been refused")


def verification_error(exc: BaseException) -> ssl.SSLCertVerificationError:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    raise AssertionError(f"not a certificate verification error: {exc!r}")


def round_trip(conn: Connection) -> dict[str, Any]:
    name = f"tls-test-{uuid.uuid4().hex[:8]}"
    queue = SimpleQueue(conn, Queue(name, routing_key=name, exclusive=True, auto_delete=True))
    try:
        sent = {"hello": "over TLS", "id": name}
        queue.put(sent, serializer="json")
        message = queue.get(timeout=5)
        message.ack()
        got: dict[str, Any] = message.payload
        return got
    finally:
        queue.close()


# (a) verified against the CA: publish and consume


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_amqps_with_the_ca_verifies_and_carries_messages(broker: TlsBroker, host: str) -> None:
    with connection(broker.uri(host), verified(broker), connect_timeout=5) as conn:
        sock = connected(conn)
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
        peer = sock.getpeercert()
        assert peer is not None
        subject = [pair for rdn in peer["subject"] for pair in rdn]
        assert ("commonName", "localhost") in subject
        got = round_trip(conn)
    assert got["hello"] == "over TLS"


def test_a_plain_uri_gets_no_tls_and_the_tls_port_does_not_speak_plain(broker: TlsBroker) -> None:
    plain = f"amqp://guest:guest@localhost:{broker.port}/"
    with connection(plain, verified(broker), connect_timeout=3) as conn:
        assert conn.ssl is False  # exactly kombu's connection: no ssl options for amqp://
        with pytest.raises(OSError):  # the TLS listener drops a plain AMQP handshake
            conn.ensure_connection(max_retries=0, reraise_as_library_errors=False)


# (b) a CA that did not sign the broker's certificate


def test_the_wrong_ca_is_refused(broker: TlsBroker) -> None:
    exc = refusal(broker.uri(), verified(broker, ca_file=broker.pki.other_ca))
    error = verification_error(exc)
    assert "certificate verify failed" in str(error)


def test_without_a_ca_file_the_system_cas_do_not_trust_a_self_signed_broker(
    broker: TlsBroker,
) -> None:
    verification_error(refusal(broker.uri(), None))
    verification_error(refusal(broker.uri(), AmqpTls()))


# (c) the certificate names another host than the one dialled


def test_a_hostname_mismatch_is_refused_when_verifying(broker: TlsBroker) -> None:
    if broker.other_host is None:
        pytest.skip("no second loopback address (127.0.0.2) to dial the broker by")
    # the same listener, but the certificate names localhost / 127.0.0.1 only
    error = verification_error(refusal(broker.uri(broker.other_host), verified(broker)))
    assert "mismatch" in str(error)
    # with verification off (dev only) it does connect: only the name check refused it
    with connection(broker.uri(broker.other_host), verified(broker, verify=False)) as conn:
        connected(conn)
        assert round_trip(conn)["hello"] == "over TLS"


# client certificates (AMQP_SSL_CERT_FILE / AMQP_SSL_KEY_FILE)


def test_a_client_certificate_from_the_ca_is_presented(broker: TlsBroker) -> None:
    client = verified(broker, cert_file=broker.pki.client.cert, key_file=broker.pki.client.key)
    with connection(broker.uri(), client, connect_timeout=5) as conn:
        connected(conn)
        round_trip(conn)
        listed = broker.ctl("list_connections", "peer_cert_subject", "ssl", "--no-table-headers")
        assert listed.returncode == 0, listed.stderr
        assert f"CN={broker.pki.client_subject}" in listed.stdout


def test_a_client_certificate_from_another_ca_is_refused_by_the_broker(broker: TlsBroker) -> None:
    foreign = broker.pki.foreign_client
    exc = refusal(broker.uri(), verified(broker, cert_file=foreign.cert, key_file=foreign.key))
    # the broker's alert ("unknown ca"); under TLS 1.3 the client may meet the closed
    # connection before it reads the alert: as an EOF, or (Python 3.13 at times) as the
    # broker's reset of a socket it closed with our data unread
    closed = isinstance(exc, ssl.SSLEOFError | ConnectionResetError)
    assert closed or "unknown ca" in str(exc).lower(), repr(exc)


# (d) a civicflow service end to end over TLS


class TlsTap:
    """An exclusive queue on ``civicflow.events``, consumed over TLS."""

    def __init__(self, uri: str, tls: AmqpTls, binding_key: str) -> None:
        self.connection = connection(uri, tls, connect_timeout=5)
        connected(self.connection)
        channel = self.connection.channel()
        public_exchange(channel).declare()
        self.queue = SimpleQueue(
            channel,
            Queue(
                f"tls-tap-{uuid.uuid4().hex[:8]}",
                exchange=public_exchange,
                routing_key=binding_key,
                exclusive=True,
                auto_delete=True,
            ),
        )
        self.seen: list[dict[str, Any]] = []

    def wait_for(self, event_type: str, matches: Callable[[dict[str, Any]], bool]) -> Any:
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            for event in self.seen:
                if event["type"] == event_type and matches(event):
                    return event
            try:
                message = self.queue.get(timeout=0.2)
            except SimpleQueue.Empty:
                continue
            message.ack()
            self.seen.append(json.loads(message.body))
        raise AssertionError(f"no such {event_type}; saw {self.seen}")

    def close(self) -> None:
        self.queue.close()
        self.connection.close()


def ticket() -> dict[str, Any]:
    return {
        "ticket_no": f"T-{uuid.uuid4().hex[:12]}",
        "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"name": "王先生", "phone": "13812341234"},
        "content": "小区楼下饭店油烟污染严重",
        "category": "environment.pollution",
    }


def test_intake_runs_against_the_tls_broker(broker: TlsBroker, tmp_path: Path) -> None:
    tls = verified(broker)
    settings = replace(
        settings_for_test(broker.uri(), tmp_path, f"sqlite:///{tmp_path / 'tls.db'}"),
        amqp_tls=tls,
    )
    config = container_config(settings, "intake")
    assert config["AMQP_SSL"]["ca_certs"] == str(broker.pki.ca)
    assert config["AMQP_SSL"]["server_hostname"] == "localhost"
    tap = TlsTap(broker.uri(), tls, "case.received")
    try:
        with running(settings, ["intake"]) as platform:
            # over HTTP: stored, then published by the outbox relay over TLS
            answer = platform.submit(TICKETS, ticket())
            assert answer.status == 202, answer.body
            case_id = answer.body["case_id"]
            event = tap.wait_for("case.received", lambda e: e["case_id"] == case_id)
            assert event["data"]["channel"] == "hotline"
            # over AMQP: consumed by the service's queue consumer over TLS
            body = ticket()
            with connection(broker.uri(), tls, connect_timeout=5) as conn:
                conn.Producer().publish(
                    json.dumps(body).encode(),
                    exchange="civicflow.inbound",
                    routing_key="hotline.ticket",
                    message_id=body["ticket_no"],
                    app_id="hotline",
                    content_type="application/json",
                    content_encoding="binary",
                    delivery_mode=2,
                )
            external_id = body["ticket_no"]
            tap.wait_for("case.received", lambda e: e["data"]["external_id"] == external_id)
            health = http("GET", platform.url("intake", "/healthz"))
            assert health.status == 200 and "ok" in json.dumps(health.body), health.body
    finally:
        tap.close()


# (e) production does not turn verification off


def test_production_refuses_amqp_ssl_verify_false(broker: TlsBroker) -> None:
    env = {
        "AMQP_URI": broker.uri(),
        "AMQP_SSL_CA_FILE": str(broker.pki.ca),
        "AMQP_SSL_VERIFY": "false",
    }
    with pytest.raises(ConfigError, match="AMQP_SSL_VERIFY=false is refused in production"):
        Settings.from_env({**env, "CIVICFLOW_ENV": "production"})
    production = Settings.from_env(
        {**env, "AMQP_SSL_VERIFY": "true", "CIVICFLOW_ENV": "production"}
    )
    assert production.amqp_tls == AmqpTls(ca_file=broker.pki.ca, verify=True)
    # in dev it is allowed, and then even a broker no CA vouches for is reached
    dev = Settings.from_env({**env, "AMQP_SSL_CA_FILE": "", "CIVICFLOW_ENV": "dev"})
    assert dev.amqp_tls is not None and dev.amqp_tls.verify is False
    with connection(dev.amqp_uri, dev.amqp_tls, connect_timeout=5) as conn:
        connected(conn)
