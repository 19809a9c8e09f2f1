"""A second, throwaway RabbitMQ node with a TLS listener only, and the certificates for it.

``tls_broker()`` makes a CA, a server certificate for ``localhost`` (SAN ``DNS:localhost``,
``IP:127.0.0.1``), a client certificate from the same CA, and — to be refused — a second,
unrelated CA and a client certificate of its own; writes a ``rabbitmq.conf`` with no plain
listener, one TLS listener (``verify_peer``, ``fail_if_no_peer_cert = false``) and no plugins;
and starts ``rabbitmq-server`` in the foreground under a node name, ports, Erlang cookie
(``HOME``), data and log directories all of its own in a temporary directory. The machine's
main broker (``rabbit@localhost``, its ``/etc/rabbitmq`` files, its cookie) is never read,
touched or stopped. The node stops with ``rabbitmqctl -n <node> stop``; should that fail, the
process started here is terminated by its id.

The listener binds 127.0.0.1 and, where it exists (all of 127/8 is loopback on Linux), also
127.0.0.2: the same broker dialled as ``127.0.0.2`` shows a certificate for another name.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

STARTUP_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
RABBITMQ_DIRS = ("/usr/lib/rabbitmq/bin", "/usr/local/sbin", "/usr/sbin", "/opt/homebrew/sbin")
"""Where ``rabbitmq-server`` may be. Debian's ``/usr/sbin`` scripts are wrappers that switch
to the ``rabbitmq`` user (and its cookie); ``/usr/lib/rabbitmq/bin`` holds the real ones, which
run as whoever starts them, so they are tried first."""


# --- certificates ---

CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class Issued:
    """A certificate and its key, as PEM files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class _Authority:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    files: Issued


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return builder.not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(
        now + datetime.timedelta(days=2)
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "civicflow tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(directory: Path, common_name: str) -> _Authority:
    """A self-signed certificate authority."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    cert = (
        _validity(x509.CertificateBuilder())
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    stem = common_name.replace(" ", "-")
    files = Issued(directory / f"{stem}.crt", directory / f"{stem}.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, files.key)
    return _Authority(name, key, cert, files)


def issue(
    ca: _Authority,
    directory: Path,
    common_name: str,
    *,
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    client: bool = False,
) -> Issued:
    """A leaf certificate signed by ``ca``: for a server (with its names) or a client."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _validity(x509.CertificateBuilder())
        .subject_name(_name(common_name))
        .issuer_name(ca.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    stem = common_name.replace(" ", "-")
    files = Issued(directory / f"{stem}.crt", directory / f"{stem}.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, files.key)
    return files


@dataclass(frozen=True)
class Pki:
    ca: Path
    """The CA that signed the broker's certificate (``AMQP_SSL_CA_FILE``)."""
    other_ca: Path
    """A second self-signed CA that signed nothing the broker shows."""
    server: Issued
    client: Issued
    """Signed by ``ca``: the broker accepts it."""
    foreign_client: Issued
    """Signed by ``other_ca``: the broker refuses it."""
    client_subject: str


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca(directory, "civicflow test CA")
    other = make_ca(directory, "some other CA")
    server = issue(ca, directory, "localhost", dns=("localhost",), ips=("127.0.0.1",))
    client = issue(ca, directory, "civicflow-test-client", client=True)
    foreign = issue(other, directory, "foreign-client", client=True)
    return Pki(ca.files.cert, other.files.cert, server, client, foreign, "civicflow-test-client")


# --- the node ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rabbitmq_dir() -> Path:
    """The directory of the real ``rabbitmq-server`` and ``rabbitmqctl`` scripts."""
    override = os.environ.get("CIVICFLOW_RABBITMQ_SBIN")
    candidates = [Path(override)] if override else []
    candidates += [Path(d) for d in RABBITMQ_DIRS]
    found = shutil.which("rabbitmq-server")
    if found:
        candidates.append(Path(found).parent)
    for directory in candidates:
        if (directory / "rabbitmq-server").exists() and (directory / "rabbitmqctl").exists():
            return directory
    raise FileNotFoundError("rabbitmq-server not found (set CIVICFLOW_RABBITMQ_SBIN)")


def can_bind(address: str) -> bool:
    try:
        with socket.socket() as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True


def rabbitmq_conf(pki: Pki, port: int, other_host: str | None, log_level: str = "info") -> str:
    other = f"listeners.ssl.2 = {other_host}:{port}\n" if other_host else ""
    return f"""\
# TLS only: no plain AMQP listener at all
listeners.tcp = none
listeners.ssl.1 = 127.0.0.1:{port}
{other}\
ssl_options.cacertfile = {pki.ca}
ssl_options.certfile = {pki.server.cert}
ssl_options.keyfile = {pki.server.key}
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
ssl_options.versions.1 = tlsv1.3
ssl_options.versions.2 = tlsv1.2
log.console = false
log.file.level = {log_level}
"""


@dataclass
class TlsBroker:
    node: str
    port: int
    pki: Pki
    base: Path
    other_host: str | None
    """Another address of the same listener, not named in its certificate (None: none)."""
    startup_seconds: float = 0.0

    def uri(self, host: str = "localhost", vhost: str = "") -> str:
        return f"amqps://guest:guest@{host}:{self.port}/{vhost}"

    def log_tail(self, lines: int = 40) -> str:
        logs = sorted((self.base / "log").glob("*.log"))
        texts = [log.read_text(errors="replace").splitlines()[-lines:] for log in logs]
        out = (self.base / "stdout.txt").read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(["--- stdout", *out, *("--- log\n" + "\n".join(t) for t in texts)])

    def ctl(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """``rabbitmqctl -n <this node>``, with this node's cookie (never the main node)."""
        return subprocess.run(
            [str(rabbitmq_dir() / "rabbitmqctl"), "-n", self.node, *args],
            env=node_env(self.base, self.node),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def node_env(base: Path, node: str, **extra: str) -> dict[str, str]:
    """The environment of the node and of ``rabbitmqctl`` for it: nothing inherited that names
    RabbitMQ or Erlang settings, no ``/etc/rabbitmq/rabbitmq-env.conf`` (it names the main
    node), and ``HOME`` in the temporary directory for an Erlang cookie of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
    env.update(
        HOME=str(base),
        RABBITMQ_NODENAME=node,
        RABBITMQ_USE_LONGNAME="false",
        RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
        ERL_EPMD_ADDRESS="127.0.0.1",
        **extra,
    )
    return env


def _tls_answers(port: int, ca: Path, deadline: float, process: subprocess.Popen[bytes]) -> None:
    """Until an AMQP handshake over TLS, verified with ``ca``, gets the broker's first frame."""
    context = ssl.create_default_context(cafile=str(ca))
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rabbitmq-server exited with {process.returncode}")
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
                context.wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                tls.sendall(b"AMQP\x00\x00\x09\x01")
                if tls.recv(1) == b"\x01":  # a method frame: connection.start
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"no TLS listener on {port} within {STARTUP_TIMEOUT}s: {last!r}")


@contextmanager
def tls_broker() -> Iterator[TlsBroker]:
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="civicflow-tls-"))
    node = f"cftls{secrets.token_hex(4)}@localhost"
    pki = make_pki(base / "pki")
    port, node_port, dist_port = free_port(), free_port(), free_port()
    other_host = "127.0.0.2" if can_bind("127.0.0.2") else None
    (base / "rabbitmq.conf").write_text(rabbitmq_conf(pki, port, other_host))
    (base / "enabled_plugins").write_text("[].\n")  # no management, no plugins at all
    (base / "rabbitmq-env.conf").write_text("")
    cookie = base / ".erlang.cookie"
    cookie.write_text(secrets.token_hex(20).upper())
    cookie.chmod(0o400)
    env = node_env(
        base, node,
        RABBITMQ_NODE_PORT=str(node_port),  # unused (listeners.tcp = none); not 5672
        RABBITMQ_DIST_PORT=str(dist_port),
        RABBITMQ_CONFIG_FILE=str(base / "rabbitmq.conf"),
        RABBITMQ_ADVANCED_CONFIG_FILE=str(base / "advanced.config"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
        RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
        RABBITMQ_LOG_BASE=str(base / "log"),
        RABBITMQ_PID_FILE=str(base / "node.pid"),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
    )  # fmt: skip
    broker = TlsBroker(node, port, pki, base, other_host)
    # In the foreground (not -detached): this process holds its id, and a node that cannot
    # start is seen exiting at once, with its log, rather than after the whole timeout.
    with (base / "stdout.txt").open("wb") as stdout:
        process = subprocess.Popen(
            [str(rabbitmq_dir() / "rabbitmq-server")],
            env=env,
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            _tls_answers(port, pki.ca, started + STARTUP_TIMEOUT, process)
        except Exception as exc:
            raise RuntimeError(f"the TLS broker did not start: {exc}\n{broker.log_tail()}") from exc
        broker.startup_seconds = time.monotonic() - started
        yield broker
    finally:
        _stop(broker, process)
        shutil.rmtree(base, ignore_errors=True)


def _stop(broker: TlsBroker, process: subprocess.Popen[bytes]) -> None:
    """``rabbitmqctl -n <node> stop``; failing that, TERM then KILL to the process group this
    module started (``start_new_session``: the group's id is the script's pid)."""
    if process.poll() is None:
        with suppress(subprocess.TimeoutExpired):
            broker.ctl("stop", timeout=STOP_TIMEOUT)
    for signum, wait in ((None, STOP_TIMEOUT), (signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
        if signum is not None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signum)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
