"""The console at its edges, against a stand-in dispatch on the real broker: another service
that is slow (503), that crashes (502, its message kept inside) or refuses on purpose (the
statuses it always had); URLs no route serves (JSON 404 and 405); the login throttle behind
a trusted proxy (``CIVICFLOW_TRUSTED_PROXIES``), on the console's clock."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import eventlet
import pytest

from kernel.clock import ManualClock
from kit.db import Store
from kit.rpc import rpc
from kit.runner import InProcess
from kit.settings import Settings
from services.console.domain import MAX_ADDRESS_FAILURES, hash_password, issue_token
from services.console.models import TABLES, User
from services.console.service import ConsoleService
from tests.support.harness import Answer, http, migrate_all, settings_for_test

pytestmark = pytest.mark.broker

DEV_SECRET = "dev-console-token-secret"
PROXY = "127.0.0.1"
"""The console's peer when the test connects as usual: trusted here, as a proxy would be."""
DIRECT = "127.0.0.2"
"""Another loopback address the test connects from: a client reaching the console directly."""
SECRET_DETAIL = 'relation "cases" does not exist; password=hunter2'


class IllegalTransition(Exception):
    """Named as dispatch's refusal is: the console knows it (409)."""


class CaseNotFound(Exception):
    """Named as dispatch's refusal is: the console knows it (404)."""


class StandInDispatch:
    """``dispatch`` as the console calls it; the case number chooses what goes wrong."""

    name = "dispatch"

    @rpc
    def get_case(self, case_id: str) -> dict[str, Any]:
        if case_id == "CF-SLOW":
            eventlet.sleep(3)  # past the console's RPC timeout
        return {"case_id": case_id, "status": "dispatched", "actions": ["feedback"]}

    @rpc
    def act(self, case_id: str, action: str, *args: Any) -> dict[str, Any]:
        if case_id == "CF-CRASH":
            raise RuntimeError(SECRET_DETAIL)
        if case_id == "CF-MOVED":
            raise IllegalTransition("feedback is not allowed in status concluded")
        if case_id == "CF-GONE":
            raise CaseNotFound(case_id)
        if case_id == "CF-BAD":
            raise ValueError("note: must not be blank")
        return {"case_id": case_id, "status": "in_progress", "actions": []}


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    """The console's clock: it stands still unless a test moves it."""
    return ManualClock(datetime.now(UTC))


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, clock: ManualClock) -> Iterator[str]:
    """The console's base URL."""
    from tests.conftest import BASE_AMQP_URI
    from tests.support.harness import temporary_vhost

    data = tmp_path_factory.mktemp("console-boundaries")
    with temporary_vhost(BASE_AMQP_URI) as vhost, pytest.MonkeyPatch.context() as env:
        env.setenv("CIVICFLOW_TRUSTED_PROXIES", f"{PROXY}, 10.0.0.0/8")
        settings = replace(settings_for_test(vhost, Path(data)), rpc_timeout=1.0, clock=clock)
        migrate_all(settings, ["console"])
        admitted(settings)
        services = InProcess([ConsoleService, StandInDispatch], settings).start()
        try:
            yield f"http://127.0.0.1:{settings.ports['console']}"
        finally:
            services.kill()


def admitted(settings: Settings) -> None:
    """The admin the tests' tokens name: a token of a user who is not there is refused."""
    store = Store(settings.database_url_for("console"), "console", TABLES)
    try:
        with store.unit_of_work() as uow:
            admin = User(username="admin", password_hash=hash_password("admin"), role="admin",
                         unit=None, dev_only=True, display="管理员")  # fmt: skip
            uow.session.add(admin)
            uow.commit()
    finally:
        store.dispose()


def admin(console: str, method: str, path: str, body: Any = None) -> Answer:
    token = issue_token(DEV_SECRET, "admin", "admin", time.time())
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    return http(method, console + path, data, headers)


def feedback(console: str, case_id: str) -> Answer:
    return admin(console, "POST", f"/api/v1/cases/{case_id}/feedback", {"note": "已联系"})


# --- another service behind the console ---------------------------------------------------------


def test_a_remote_service_that_does_not_answer_in_time_is_503_with_retry_after(
    console: str,
) -> None:
    started = time.monotonic()
    slow = admin(console, "GET", "/api/v1/cases/CF-SLOW")
    assert time.monotonic() - started < 2.5  # the console's timeout, not the remote's pace
    assert slow.status == 503 and slow.headers["Retry-After"] == "2"
    assert slow.body == {"errors": [{"loc": [], "msg": "another service is not answering; retry"}]}


def test_a_remote_crash_is_502_and_its_message_stays_in_the_log(
    console: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="kit.web")
    crashed = feedback(console, "CF-CRASH")
    assert crashed.status == 502
    assert crashed.body == {"errors": [{"loc": [], "msg": "a service behind this one failed"}]}
    assert "hunter2" not in json.dumps(crashed.body) + str(crashed.headers)
    logged = [r for r in caplog.records if r.name == "kit.web" and r.exc_info]
    assert logged and "hunter2" in str(logged[-1].exc_info[1])  # type: ignore[index]


def test_known_remote_refusals_keep_their_statuses(console: str) -> None:
    moved = feedback(console, "CF-MOVED")
    assert moved.status == 409, moved.body
    assert moved.body["errors"][0]["msg"] == "feedback is not allowed in status concluded"
    assert moved.body["errors"][0]["status"] == "dispatched"
    assert feedback(console, "CF-GONE").status == 404
    bad = feedback(console, "CF-BAD")
    assert bad.status == 422 and bad.body["errors"] == [
        {"loc": ["note"], "msg": "must not be blank"}
    ]
    assert feedback(console, "CF-FINE").status == 200


# --- URLs no route serves ---------------------------------------------------------------------


def test_an_unknown_url_is_a_json_404(console: str) -> None:
    for path in ("/no/such/thing", "/api/v1/subscriptions/not-a-number", "/api/v2/cases"):
        missing = http("GET", console + path)
        assert missing.status == 404, path
        assert missing.headers["Content-Type"] == "application/json", path
        assert missing.body == {"errors": [{"loc": [], "msg": f"nothing at {path}"}]}


def test_a_known_url_with_another_method_is_a_json_405_with_allow(console: str) -> None:
    wrong = http("DELETE", console + "/api/v1/auth/login")
    assert wrong.status == 405 and wrong.headers["Allow"] == "POST"
    assert wrong.headers["Content-Type"] == "application/json"
    assert wrong.body == {
        "errors": [{"loc": [], "msg": "DELETE is not allowed on /api/v1/auth/login"}]
    }
    listed = http("PUT", console + "/api/v1/subscriptions")
    assert listed.status == 405 and listed.headers["Allow"] == "GET, HEAD, POST"


# --- the login throttle behind a proxy -----------------------------------------------------------


def login_from(
    console: str, source: str, forwarded_for: str | None = None
) -> tuple[int, dict[str, Any]]:
    """A wrong login (a new unknown user each time: only the address counts), sent from the
    local address ``source``."""
    host, _, port = console.removeprefix("http://").partition(":")
    connection = HTTPConnection(host, int(port), timeout=15, source_address=(source, 0))
    body = json.dumps({"username": f"nobody-{uuid.uuid4().hex}", "password": "x"})
    headers = {"Content-Type": "application/json"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    try:
        connection.request("POST", "/api/v1/auth/login", body, headers)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(console: str) -> None:
    for n in range(MAX_ADDRESS_FAILURES):
        assert login_from(console, DIRECT, f"198.51.100.{n}")[0] == 401
    status, body = login_from(console, DIRECT, "198.51.100.250")
    assert status == 429, body  # a new header each time did not make a new client


def test_through_a_trusted_proxy_each_client_is_throttled_on_its_own(console: str) -> None:
    # the client may write anything on the left, and garbage: the proxy appended the truth
    headers = ["203.0.113.7", "192.0.2.99, 203.0.113.7", "203.0.113.7, not-an-address",
               "unknown, 203.0.113.7, 10.1.2.3"]  # fmt: skip
    for n in range(MAX_ADDRESS_FAILURES):
        assert login_from(console, PROXY, headers[n % len(headers)])[0] == 401
    assert login_from(console, PROXY, "203.0.113.7")[0] == 429
    assert login_from(console, PROXY, "203.0.113.8")[0] == 401  # another client behind it
    assert login_from(console, PROXY)[0] == 401  # nor is the proxy itself locked


def test_a_locked_address_may_try_again_fifteen_minutes_later_by_the_consoles_clock(
    console: str, clock: ManualClock
) -> None:
    client = "203.0.113.50"
    for _ in range(MAX_ADDRESS_FAILURES):
        assert login_from(console, PROXY, client)[0] == 401
    assert login_from(console, PROXY, client)[0] == 429

    clock.advance(timedelta(minutes=10))
    status, body = login_from(console, PROXY, client)
    assert status == 429 and "try again in 301 s" in body["errors"][0]["msg"]

    clock.advance(timedelta(minutes=5))
    assert login_from(console, PROXY, client)[0] == 401  # wrong, but heard again
