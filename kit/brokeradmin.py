"""RabbitMQ's users, permissions and policies for civicflow: one user per service, limited to
its own exchanges and queues; one per external publisher, which may only write to
``civicflow.inbound``; read-only subscribers of ``civicflow.events`` with a queue of their own.

``definitions(...)`` builds RabbitMQ's definitions document (the format of ``rabbitmqctl
import_definitions`` and ``POST /api/definitions``); ``apply`` loads it through the management
API. Passwords come from the environment (``CIVICFLOW_BROKER_PASSWORD_<USER>``); outside
production a marked dev password stands in. ``guest`` is for dev only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from kit.settings import SERVICES

PUBLISHERS: tuple[str, ...] = ("hotline", "gridapp", "opinion", "petition")
SUBSCRIBERS: tuple[str, ...] = ("screen",)
MANAGEMENT_PORT = 15672
DEAD_LETTERS = r"\.dlq$|^civicflow\.inbound\.rejected$"


def service_permissions(service: str) -> dict[str, str]:
    """Its own exchange and queues, the shared exchanges it declares and binds, RPC. Only
    intake reads the inbound queues."""
    own = rf"{service}\..*|rpc-{service}"
    if service == "intake":
        own += r"|civicflow\.inbound\..*"
    shared = r"civicflow\.(events|dlx|sub\..*)|nameko-rpc|rpc\.reply-.*|amq\.gen-.*"
    return {
        # declaring the other services' exchanges (and the inbound one) is what binding to them
        # takes; publishing to them (write) is not given
        "configure": rf"^({own}|[a-z]+\.events|civicflow\.inbound|{shared})$",
        "write": rf"^({own}|{shared})$",
        "read": rf"^({own}|[a-z]+\.events|civicflow\.inbound|{shared})$",
    }


def publisher_permissions() -> dict[str, str]:
    """An external source: publishes to the inbound exchange, nothing else, declares nothing."""
    return {"configure": "^$", "write": r"^civicflow\.inbound$", "read": "^$"}


def subscriber_permissions(name: str) -> dict[str, str]:
    """A subscriber: its own queue, bound to ``civicflow.events``, read; nothing published."""
    queue = rf"civicflow\.sub\.{name}"
    return {
        "configure": f"^{queue}$",
        "write": f"^{queue}$",
        "read": rf"^({queue}|civicflow\.events)$",
    }


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + password))."""
    salt = salt if salt is not None else secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def users(prefix: str = "civicflow") -> dict[str, dict[str, str]]:
    """Every user and its permissions, by name."""
    named = {f"{prefix}-{s}": service_permissions(s) for s in SERVICES}
    named |= {f"{prefix}-pub-{p}": publisher_permissions() for p in PUBLISHERS}
    named |= {f"{prefix}-sub-{s}": subscriber_permissions(s) for s in SUBSCRIBERS}
    return named


def password_for(user: str, environ: Mapping[str, str], production: bool) -> str:
    key = "CIVICFLOW_BROKER_PASSWORD_" + user.upper().replace("-", "_")
    value = environ.get(key)
    if value:
        return value
    if production:
        raise ValueError(f"{key} is not set; production needs a real password")
    return f"dev-{user}"


def definitions(
    vhost: str, prefix: str = "civicflow", environ: Mapping[str, str] | None = None,
    production: bool = False, with_passwords: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """The definitions document; without passwords for the copy kept in the repository."""
    env = os.environ if environ is None else environ
    named = users(prefix)

    def hashed(name: str) -> str:
        return password_hash(password_for(name, env, production)) if with_passwords else ""

    return {
        "vhosts": [{"name": vhost}],
        "users": [
            {"name": name, "tags": "", "hashing_algorithm": "rabbit_password_hashing_sha256",
             "password_hash": hashed(name)}
            for name in named
        ],
        "permissions": [{"user": name, "vhost": vhost, **perms} for name, perms in named.items()],
        "exchanges": [
            {"name": name, "vhost": vhost, "type": kind, "durable": True, "auto_delete": False,
             "internal": False, "arguments": {}}
            for name, kind in (("civicflow.events", "topic"), ("civicflow.inbound", "topic"),
                               ("civicflow.dlx", "direct"))
        ],
        "policies": [
            {"vhost": vhost, "name": "dead-letters-bounded", "pattern": DEAD_LETTERS,
             "apply-to": "queues", "priority": 0,
             "definition": {"max-length": 100000, "overflow": "reject-publish"}},
        ],
    }  # fmt: skip


def apply(uri: str, document: Mapping[str, Any], admin: tuple[str, str]) -> None:
    """Load the definitions through the management API of the broker at ``uri``."""
    parts = urllib.parse.urlsplit(uri)
    token = base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()
    request = urllib.request.Request(
        f"http://{parts.hostname}:{MANAGEMENT_PORT}/api/definitions",
        data=json.dumps(document).encode(), method="POST",
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        if answer.status not in (200, 201, 204):
            raise RuntimeError(f"the broker refused the definitions: {answer.status}")


def remove_users(uri: str, names: Sequence[str], admin: tuple[str, str]) -> None:
    parts = urllib.parse.urlsplit(uri)
    token = base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()
    for name in names:
        request = urllib.request.Request(
            f"http://{parts.hostname}:{MANAGEMENT_PORT}/api/users/{urllib.parse.quote(name)}",
            method="DELETE", headers={"Authorization": f"Basic {token}"},
        )  # fmt: skip
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except urllib.error.HTTPError as missing:
            if missing.code != 404:
                raise
