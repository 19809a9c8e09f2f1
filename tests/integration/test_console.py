"""The console's staff API with the demo county and its demo users: login and its throttle,
each role's reach (404 outside it), what each role may do (403), the audited phone view,
administration, the board, the screen and the OpenAPI document."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import UnroutableError

from civicflow.demo import load_demo
from services.console.domain import issue_token
from tests.support.harness import (
    Answer,
    Platform,
    http,
    publisher,
    running,
    settings_for_test,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SERVICES = ["intake", "grid", "dispatch", "supervision", "console"]
DEV_SECRET = "dev-console-token-secret"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    from tests.conftest import BASE_AMQP_URI
    from tests.support.harness import temporary_vhost

    data = tmp_path_factory.mktemp("console")
    with temporary_vhost(BASE_AMQP_URI) as vhost:
        settings = settings_for_test(vhost, Path(data))
        with running(settings, SERVICES) as platform:
            load_demo(settings)
            yield platform


def login(platform: Platform, username: str, password: str | None = None) -> Answer:
    body = json.dumps({"username": username, "password": password or username}).encode()
    return http("POST", platform.url("console", "/api/v1/auth/login"), body,
                {"Content-Type": "application/json"})  # fmt: skip


@pytest.fixture(scope="module")
def tokens(platform: Platform) -> dict[str, str]:
    found = {}
    for user in ("admin", "operator", "hbj", "zjj", "street", "grid"):
        answer = login(platform, user)
        assert answer.status == 200, answer.body
        found[user] = answer.body["token"]
    return found


def api(platform: Platform, token: str, method: str, path: str, body: Any = None) -> Answer:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    return http(method, platform.url("console", path), data, headers)


def hotline(platform: Platform, content: str, phone: str, **extra: Any) -> str:
    ticket = {
        "ticket_no": f"T-{uuid.uuid4().hex[:10]}", "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"phone": phone}, "content": content, **extra,
    }  # fmt: skip
    answer = platform.submit("/api/v1/hotline/tickets", ticket)
    assert answer.status == 202, answer.body
    return str(answer.body["case_id"])


def dispatched(platform: Platform, token: str, case_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        answer = api(platform, token, "GET", f"/api/v1/cases/{case_id}")
        if answer.status == 200 and answer.body["status"] == "dispatched":
            return dict(answer.body)
        assert time.monotonic() < deadline, answer.body
        time.sleep(0.05)


@pytest.fixture(scope="module")
def cases(platform: Platform, tokens: dict[str, str]) -> dict[str, str]:
    """A county matter for 生态环境 (D-HBJ), and a street matter in 城关街道 (S-001)."""
    admin = tokens["admin"]
    street = api(platform, admin, "GET", "/api/v1/grid/units?level=street&limit=1").body[0]
    query = f"/api/v1/grid/units?level=community&parent={street['code']}&limit=1"
    community = api(platform, admin, "GET", query).body[0]
    made = {
        "county": hotline(platform, "化工厂排污", "13911110001", category="environment.pollution"),
        "street": hotline(platform, "楼下夜间施工噪音扰民", "13911110002",
                          category="environment.noise",
                          address=f"{street['name']}{community['name']}5号楼"),
    }  # fmt: skip
    for case_id in made.values():
        dispatched(platform, admin, case_id)
    return made


# --- who you are -------------------------------------------------------------------------------


def test_a_wrong_password_gets_one_message_and_five_lock_the_user(
    platform: Platform, tokens: dict[str, str]
) -> None:
    unknown, wrong = login(platform, "nobody", "x"), login(platform, "zjj", "wrong")
    assert (unknown.status, wrong.status) == (401, 401)
    assert (
        unknown.body == wrong.body == {"errors": [{"loc": [], "msg": "wrong username or password"}]}
    )
    for _ in range(4):
        login(platform, "zjj", "wrong")
    locked = login(platform, "zjj")  # the right password, but too late
    assert locked.status == 429 and int(locked.headers["Retry-After"]) > 800
    assert "too many failed logins" in locked.body["errors"][0]["msg"]


def test_forged_and_expired_tokens_are_refused(platform: Platform) -> None:
    forged = issue_token("not-the-secret", "admin", "admin", time.time())
    expired = issue_token(DEV_SECRET, "admin", "admin", time.time() - 9 * 3600)
    for token in (forged, expired, "garbage"):
        assert api(platform, token, "GET", "/api/v1/cases").status == 401
    assert http("GET", platform.url("console", "/api/v1/cases")).status == 401


def test_me_says_role_and_unit(platform: Platform, tokens: dict[str, str]) -> None:
    me = api(platform, tokens["hbj"], "GET", "/api/v1/me").body
    assert (me["role"], me["unit"], me["display"]) == ("handler", "D-HBJ", "市生态环境局县分局")


# --- reach: outside it a case does not exist --------------------------------------------------


def test_each_role_sees_its_own_reach(
    platform: Platform, tokens: dict[str, str], cases: dict[str, str]
) -> None:
    def listed(user: str) -> set[str]:
        page = api(platform, tokens[user], "GET", "/api/v1/cases?page_size=200").body
        return {c["case_id"] for c in page["items"]} & set(cases.values())

    assert listed("admin") == listed("operator") == set(cases.values())
    assert listed("hbj") == {cases["county"]}
    assert listed("zjj") == set()
    assert listed("street") == {cases["street"]}  # 城关街道's supervisor: its subtree


@pytest.mark.parametrize(
    ("user", "case"), [("zjj", "county"), ("hbj", "street"), ("street", "county")]
)
def test_a_case_outside_reach_is_404_for_reading_and_acting(
    platform: Platform, tokens: dict[str, str], cases: dict[str, str], user: str, case: str
) -> None:
    case_id = cases[case]
    assert api(platform, tokens[user], "GET", f"/api/v1/cases/{case_id}").status == 404
    assert api(platform, tokens[user], "POST", f"/api/v1/cases/{case_id}/accept").status == 404
    assert api(platform, tokens[user], "POST", f"/api/v1/cases/{case_id}/supervise",
               {"grade": "red"}).status == 404  # fmt: skip
    assert api(platform, tokens[user], "GET", f"/api/v1/cases/{case_id}/contact").status == 404


def test_roles_do_only_their_part(
    platform: Platform, tokens: dict[str, str], cases: dict[str, str]
) -> None:
    county = cases["county"]
    assert api(platform, tokens["operator"], "POST", f"/api/v1/cases/{county}/accept").status == 403
    assert (
        api(
            platform, tokens["hbj"], "POST", "/api/v1/cases/dispatch", {"case_ids": [county]}
        ).status
        == 403
    )
    assert api(platform, tokens["hbj"], "GET", "/api/v1/assessment?period=2026-11").status == 403
    seen = api(platform, tokens["hbj"], "GET", f"/api/v1/cases/{county}").body
    assert set(seen["actions"]) == {"accept", "return", "escalate", "extend"}
    # the handler accepts for its own department: the timeline says who and for which unit
    accepted = api(platform, tokens["hbj"], "POST", f"/api/v1/cases/{county}/accept")
    assert accepted.status == 200 and accepted.body["status"] == "accepted"
    assert (accepted.body["timeline"][-1]["actor"], accepted.body["timeline"][-1]["unit"]) == (
        "hbj",
        "D-HBJ",
    )
    again = api(platform, tokens["hbj"], "POST", f"/api/v1/cases/{county}/accept")
    assert again.status == 409 and "feedback" in again.body["errors"][0]["allowed_actions"]
    missing = api(platform, tokens["hbj"], "POST", f"/api/v1/cases/{county}/feedback", {})
    assert missing.status == 422 and missing.body["errors"][0]["loc"] == ["note"]
    order = api(platform, tokens["street"], "POST", f"/api/v1/cases/{cases['street']}/supervise",
                {"grade": "yellow", "note": "请加快"})  # fmt: skip
    assert order.status == 201 and order.body["issued_by"] == "street"


def test_only_the_holder_sees_the_number_and_every_view_is_audited(
    platform: Platform, tokens: dict[str, str], cases: dict[str, str]
) -> None:
    county = cases["county"]
    shown = api(platform, tokens["hbj"], "GET", f"/api/v1/cases/{county}/contact")
    assert (shown.status, shown.body) == (200, {"phone": "13911110001"})
    assert api(platform, tokens["admin"], "GET", f"/api/v1/cases/{county}/contact").status == 404
    case = api(platform, tokens["hbj"], "GET", f"/api/v1/cases/{county}").body
    assert "13911110001" not in json.dumps(case)
    from kit.db import Store
    from services.console.models import TABLES
    from services.console.repository import UserRepository

    store = Store(platform.settings.database_url_for("console"), "console", TABLES)
    with store.read() as session:
        views = [(v.username, v.case_id) for v in UserRepository(session).phone_views(county)]
    store.dispose()
    assert views == [("hbj", county)]


# --- administration, boards, the API's description --------------------------------------------


def test_admin_manages_users_and_others_may_not(platform: Platform, tokens: dict[str, str]) -> None:
    assert api(platform, tokens["operator"], "GET", "/api/v1/admin/users").status == 403
    bad = api(platform, tokens["admin"], "POST", "/api/v1/admin/users",
              {"username": "X", "password": "short", "role": "handler"})  # fmt: skip
    assert bad.status == 422 and bad.body["errors"][0]["msg"].startswith("username")
    listed = api(platform, tokens["admin"], "GET", "/api/v1/admin/users").body
    assert "X" not in {u["username"] for u in listed}  # nothing stored
    made = api(platform, tokens["admin"], "POST", "/api/v1/admin/users",
               {"username": "gaj1", "password": "a-long-password", "role": "handler",
                "unit": "D-GAJ", "display": "公安局值班"})  # fmt: skip
    assert made.status == 201 and made.body["unit"] == "D-GAJ"
    assert login(platform, "gaj1", "a-long-password").status == 200
    assert api(platform, tokens["admin"], "DELETE", "/api/v1/admin/users/gaj1").status == 204
    assert login(platform, "gaj1", "a-long-password").status == 401
    files = api(platform, tokens["admin"], "GET", "/api/v1/admin/config").body["files"]
    assert "respond: PT2H" in files["sla.yml"] and "routing.yml" in files
    sources = api(platform, tokens["admin"], "GET", "/api/v1/admin/sources").body
    assert {"id": "hotline", "name": "12345 市民服务热线", "lines": ["hotline"],
            "secret_set": True, "dev_secret": True} in sources  # fmt: skip
    assert "dev-secret-hotline" not in json.dumps(sources)


def test_the_board_the_screen_and_the_map_answer(
    platform: Platform, tokens: dict[str, str], cases: dict[str, str]
) -> None:
    board = api(platform, tokens["street"], "GET", "/api/v1/board")
    assert board.status == 200 and set(board.body) == {"units", "totals", "next"}
    screen = api(platform, tokens["operator"], "GET", "/api/v1/screen").body
    assert screen["received"]["hotline"] >= 2 and screen["dispatched"] >= 2
    shapes = api(platform, tokens["admin"], "GET", "/api/v1/grid/map?level=street").body
    assert shapes["units"] and all(unit["polygons"] for unit in shapes["units"])
    assert api(platform, tokens["admin"], "GET", "/api/v1/grid/map?level=planet").status == 422


def test_the_openapi_document_is_valid(platform: Platform) -> None:
    document = http("GET", platform.url("console", "/openapi.json")).body
    validate(document)
    assert "/api/v1/cases/{case_id}/{action}" in document["paths"]


def test_every_service_answers_unrouted_urls_in_the_error_shape(platform: Platform) -> None:
    """Refused by the routing, before any handler: JSON all the same, never an HTML page."""
    for service in SERVICES:
        missing = http("GET", platform.url(service, "/no/such/thing"))
        assert (missing.status, missing.headers["Content-Type"]) == (404, "application/json")
        assert missing.body == {"errors": [{"loc": [], "msg": "nothing at /no/such/thing"}]}
        wrong = http("POST", platform.url(service, "/healthz"), b"{}")
        assert (wrong.status, wrong.headers["Allow"]) == (405, "GET, HEAD"), service
        assert wrong.body == {"errors": [{"loc": [], "msg": "POST is not allowed on /healthz"}]}


def publish_once_routed(channel: BlockingChannel, routing_key: str, body: bytes) -> None:
    """Publish on ``civicflow.events`` once a queue takes it: here only the stream's is bound
    there, so a refused (unroutable) publish means the stream is not listening yet."""
    deadline = time.monotonic() + 10
    while True:
        try:
            channel.basic_publish("civicflow.events", routing_key, body, mandatory=True)
            return
        except UnroutableError:
            assert time.monotonic() < deadline, "the stream never bound its queue"
            time.sleep(0.05)


def test_the_event_stream_tells_types_and_no_case_numbers(
    platform: Platform, tokens: dict[str, str]
) -> None:
    import urllib.request

    url = platform.url("console", f"/api/v1/stream?token={tokens['hbj']}")
    assert http("GET", platform.url("console", "/api/v1/stream?token=forged")).status == 401
    with urllib.request.urlopen(url, timeout=10) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.readline() == b"retry: 3000\n"
        body = {
            "event_id": "e-1", "type": "sla.overdue", "occurred_at": "2026-11-21T10:00:00+00:00",
            "case_id": "CF-SECRET", "data": {},
        }  # fmt: skip
        # confirmed: unconfirmed, a publish just before closing may be dropped
        channel = publisher(platform.settings.amqp_uri)
        publish_once_routed(channel, "sla.overdue", json.dumps(body).encode())
        channel.connection.close()
        lines = [stream.readline() for _ in range(4)]
    received = b"".join(lines)
    assert b"event: sla.overdue" in received and b"CF-SECRET" not in received


def test_bodies_and_paths_that_once_crashed_are_refused_cleanly(
    platform: Platform, tokens: dict[str, str], cases: dict[str, str]
) -> None:
    """Found by schemathesis (tests/integration/test_openapi_fuzz.py): each was a 500."""
    for body in (b"[]", b"1", b"null"):
        answer = http("POST", platform.url("console", "/api/v1/auth/login"), body,
                      {"Content-Type": "application/json"})  # fmt: skip
        assert answer.status == 422 and answer.body["errors"][0]["msg"].endswith("JSON object")
    assert http("GET", platform.url("console", "/static/%00")).status == 404
    county = cases["county"]
    before = api(platform, tokens["admin"], "GET", f"/api/v1/cases/{county}").body
    for wrong in (7, "", "X" * 65):
        refused = api(platform, tokens["admin"], "POST", f"/api/v1/cases/{county}/feedback",
                      {"note": "已处理", "on_behalf_of": wrong})  # fmt: skip
        assert refused.status == 422 and refused.body["errors"][0]["loc"] == ["on_behalf_of"]
    after = api(platform, tokens["admin"], "GET", f"/api/v1/cases/{county}").body
    assert after["timeline"] == before["timeline"]  # nothing was written
    deep = api(platform, tokens["admin"], "GET", "/api/v1/cases?page=99999999999999999999")
    assert deep.status == 200 and deep.body["items"] == []
    gone = api(platform, tokens["street"], "DELETE", f"/api/v1/subscriptions/{2**70}")
    assert gone.status == 404
