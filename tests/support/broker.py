"""A vhost per test: through the management API when enabled, else ``rabbitmqctl``."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

MANAGEMENT_PORT = 15672


def _parts(uri: str) -> urllib.parse.SplitResult:
    return urllib.parse.urlsplit(uri)


def _management(uri: str, method: str, path: str, body: Any = None) -> int:
    parts = _parts(uri)
    auth = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request = urllib.request.Request(
        f"http://{parts.hostname}:{MANAGEMENT_PORT}/api/{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.status)


def management_available(uri: str) -> bool:
    try:
        return _management(uri, "GET", "overview") == 200
    except (OSError, urllib.error.URLError):
        return False


def management_get(uri: str, path: str) -> Any:
    parts = _parts(uri)
    auth = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request = urllib.request.Request(
        f"http://{parts.hostname}:{MANAGEMENT_PORT}/api/{path}",
        headers={"Authorization": f"Basic {auth}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


def create_vhost(uri: str, name: str) -> None:
    user = _parts(uri).username or "guest"
    if management_available(uri):
        _management(uri, "PUT", f"vhosts/{name}", {})
        _management(
            uri,
            "PUT",
            f"permissions/{name}/{user}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
    elif shutil.which("rabbitmqctl"):
        _ctl("add_vhost", name)
        _ctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
    else:
        raise RuntimeError(
            "cannot create a test vhost: enable rabbitmq_management or install rabbitmqctl"
        )


def delete_vhost(uri: str, name: str) -> None:
    if management_available(uri):
        _management(uri, "DELETE", f"vhosts/{name}")
    else:
        _ctl("delete_vhost", name)


def vhost_uri(base_uri: str, name: str) -> str:
    parts = _parts(base_uri)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(name, safe="")))


@contextmanager
def temporary_vhost(base_uri: str) -> Iterator[str]:
    name = f"civicflow-test-{uuid.uuid4().hex[:10]}"
    create_vhost(base_uri, name)
    try:
        yield vhost_uri(base_uri, name)
    finally:
        delete_vhost(base_uri, name)
