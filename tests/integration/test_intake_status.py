"""What a source sees of its cases afterwards: the status endpoint, signed callbacks,
Open311 GeoReport v2, and the OpenAPI document of the live server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate as validate_spec

from civicflow.demo import load_demo
from kernel.clock import ManualClock
from kit.engine import make_engine
from kit.settings import Settings
from tests.support import sample_files
from tests.support.databases import database_for
from tests.support.harness import (
    EventTap,
    Platform,
    http,
    migrate_all,
    running,
    settings_for_test,
    signed_headers,
    temporary_vhost,
)
from tests.support.sample_files import multipart

pytestmark = pytest.mark.broker

TICKETS = "/api/v1/hotline/tickets"


def ticket(category: str | None = "environment.pollution", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticket_no": f"T-{uuid.uuid4().hex[:10]}",
        "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"phone": "13812341234"},
        "content": "饭店油烟污染严重",
        **extra,
    }
    if category:
        body["category"] = category
    return body


class Receiver:
    """A source's callback endpoint: refuses the first call, then takes them."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if not receiver.calls else 204
                receiver.calls.append((dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/civicflow/status"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def clock() -> ManualClock:
    """The platform's time, standing still unless a test moves it."""
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def platform_calling_back(
    vhost_uri: str, tmp_path: Path, database_url: str, receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch, clock: ManualClock,
) -> Iterator[Platform]:  # fmt: skip
    """A platform of this test's own: its source is called back at ``receiver``."""
    monkeypatch.setenv("CIVICFLOW_SOURCE_HOTLINE_CALLBACK_URL", receiver.url)
    settings = replace(settings_for_test(vhost_uri, tmp_path, database_url), clock=clock)
    with started(settings) as platform:
        yield platform


def refusal_settled(settings: Settings) -> None:
    """Intake has recorded the callback's refusal. It is settled just after the source
    answers, with the backoff counted from the platform clock's time then: the clock moved on
    before that would push the next attempt past every later moment of the test."""
    engine = make_engine(settings.database_url_for("intake"), "intake")
    deadline = time.monotonic() + 15
    try:
        while True:
            with engine.connect() as connection:
                tried = connection.scalar(sa.text("SELECT max(attempts) FROM callbacks"))
            if tried:
                return
            assert time.monotonic() < deadline, "the refusal was not recorded in 15 s"
            time.sleep(0.05)
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """One platform for the tests that only submit and read, on each database."""
    data = tmp_path_factory.mktemp(f"status-{request.param}")
    with (
        temporary_vhost() as vhost,
        database_for(request.param) as url,
        started(settings_for_test(vhost, data, url)) as platform,
    ):
        yield platform


@contextmanager
def started(settings: Settings) -> Iterator[Platform]:
    with running(settings, ["intake", "grid", "dispatch"]) as platform:
        migrate_all(settings, ["console"])  # the demo's users live there
        load_demo(settings)
        yield platform


def get_case(platform: Platform, case_id: str, source: str = "hotline") -> Any:
    return http(
        "GET", platform.url("intake", f"/api/v1/cases/{case_id}"), None,
        signed_headers(b"", source=source),
    )  # fmt: skip


def test_a_source_follows_its_case_and_is_called_back(
    platform_calling_back: Platform, vhost_uri: str, receiver: Receiver, clock: ManualClock
) -> None:
    platform = platform_calling_back
    tap = EventTap(vhost_uri, "case.dispatched")
    case_id = platform.submit(TICKETS, ticket()).body["case_id"]
    dispatched = tap.wait_for("case.dispatched", case_id)
    tap.close()
    answer: Any = None
    for _ in range(100):
        answer = get_case(platform, case_id)
        if answer.body["status"] == "dispatched":
            break
        time.sleep(0.05)
    assert answer.status == 200 and answer.body["status"] == "dispatched"
    assert answer.body["assignee"] == dispatched["data"]["assignee"]
    assert answer.body["deadlines"]["respond_by"] == dispatched["data"]["deadlines"]["respond_by"]
    assert [entry["type"] for entry in answer.body["timeline"]] == [
        "case.received",
        "case.dispatched",
    ]
    # the callback: refused once, then delivered once its backoff has passed, signed with the
    # source's own secret
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not receiver.calls:
        time.sleep(0.1)
    assert [status for _, _, status in receiver.calls] == [500]
    refusal_settled(platform.settings)  # its backoff runs from the clock's time of settling
    clock.advance(timedelta(seconds=2))  # the backoff after a first refusal
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(receiver.calls) < 2:
        time.sleep(0.1)
    assert [status for _, _, status in receiver.calls] == [500, 204]
    headers, body, _ = receiver.calls[-1]
    expected = hmac.new(
        b"dev-secret-hotline", headers["X-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Signature"] == f"sha256={expected}"
    sent = json.loads(body)
    assert (sent["case_id"], sent["status"], sent["type"]) == (
        case_id,
        "dispatched",
        "case.dispatched",
    )
    assert sent["event_id"] == dispatched["event_id"]


def test_a_case_is_only_its_own_sources(platform: Platform) -> None:
    case_id = platform.submit(TICKETS, ticket()).body["case_id"]
    assert get_case(platform, case_id, source="petition").status == 404
    assert get_case(platform, "CF000000-NOSUCH").status == 404
    unsigned = http("GET", platform.url("intake", f"/api/v1/cases/{case_id}"))
    assert unsigned.status == 401
    stale = signed_headers(b"", timestamp=int(time.time()) - 1000)
    assert (
        http("GET", platform.url("intake", f"/api/v1/cases/{case_id}"), None, stale).status == 401
    )


def open311(platform: Platform, method: str, path: str, form: dict[str, str] | None = None) -> Any:
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    return http(method, platform.url("intake", f"/open311/v2/{path}"), body, headers)


def test_an_open311_client_reports_and_follows_a_request(platform: Platform) -> None:
    services = open311(platform, "GET", "services.json")
    assert services.status == 200
    codes = {service["service_code"]: service for service in services.body}
    assert codes["environment.noise"]["service_name"] == "噪声扰民"
    assert {"metadata", "type", "keywords", "group"} <= set(codes["environment.noise"])
    definition = open311(platform, "GET", "services/environment.noise.json")
    assert definition.body == {"service_code": "environment.noise", "attributes": []}

    created = open311(platform, "POST", "requests.json", {
        "api_key": "dev-key-hotline", "service_code": "environment.noise",
        "lat": "36.55", "long": "116.7", "address_string": "城关街道幸福社区3号楼",
        "description": "夜间施工噪音扰民", "phone": "13812345678", "first_name": "张",
    })  # fmt: skip
    assert created.status == 200, created.body
    [receipt] = created.body
    request_id = receipt["service_request_id"]
    assert request_id.startswith("CF") and receipt["service_notice"]

    deadline = time.monotonic() + 10
    while True:
        [view] = open311(
            platform, "GET", f"requests/{request_id}.json?api_key=dev-key-hotline"
        ).body
        if view["agency_responsible"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert view["status"] == "open" and view["service_code"] == "environment.noise"
    assert view["agency_responsible"] == "文昌镇综治中心"  # noise stays in the town (大事不出乡)
    assert (view["lat"], view["long"]) == (36.55, 116.7)
    assert view["expected_datetime"]
    listed = open311(
        platform, "GET",
        f"requests.json?api_key=dev-key-hotline&service_request_id={request_id}&status=open",
    ).body  # fmt: skip
    assert [item["service_request_id"] for item in listed] == [request_id]
    closed_only = open311(platform, "GET", "requests.json?api_key=dev-key-hotline&status=closed")
    assert closed_only.body == []


OPEN311_ERRORS: list[tuple[str, str, dict[str, str] | None, int]] = [
    ("GET", "requests.json?api_key=nope", None, 403),
    ("GET", "services/no.such.json", None, 404),
    ("POST", "requests.json", {"api_key": "dev-key-hotline", "service_code": "nope",
                               "lat": "1", "long": "2"}, 404),
    ("POST", "requests.json", {"api_key": "dev-key-hotline",
                               "service_code": "environment.noise", "description": "x"}, 400),
    ("POST", "requests.json", {"api_key": "dev-key-gridapp",
                               "service_code": "environment.noise", "lat": "1", "long": "2"},
     403),
    ("GET", "requests.json?api_key=dev-key-hotline&start_date=yesterday", None, 400),
    ("GET", "requests/CF000000-NOSUCH.json?api_key=dev-key-hotline", None, 404),
]  # fmt: skip
"""(method, path, form, the status and error code the spec's error list carries)."""


def test_open311_errors_follow_the_spec(platform: Platform) -> None:
    answered = []
    for method, path, form, _ in OPEN311_ERRORS:
        answer = open311(platform, method, path, form)
        [error] = answer.body
        answered.append((path, answer.status, error["code"], bool(error["description"])))
    assert answered == [(path, code, code, True) for _, path, _, code in OPEN311_ERRORS]


def test_open311_errors_in_xml_are_the_specs_error_list(platform: Platform) -> None:
    answered = []
    for method, path, form, _ in OPEN311_ERRORS:
        answer = open311(platform, method, path.replace(".json", ".xml"), form)
        assert answer.headers["Content-Type"].startswith("text/xml")
        root = ET.fromstring(answer.body)
        [error] = root.findall("error")
        answered.append((root.tag, answer.status, error.findtext("code"),
                         bool(error.findtext("description"))))  # fmt: skip
    assert answered == [("errors", code, str(code), True) for *_, code in OPEN311_ERRORS]


def xml_of(answer: Any) -> ET.Element:
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("text/xml")
    return ET.fromstring(answer.body)


REPORT = {
    "api_key": "dev-key-hotline", "jurisdiction_id": "wenchang.example.gov.cn",
    "service_code": "environment.noise", "address_string": "城关街道幸福社区5号楼",
    "description": "广场舞音响扰民", "phone": "13812345679",
}  # fmt: skip
KEY = "api_key=dev-key-hotline&jurisdiction_id=wenchang.example.gov.cn"


def test_every_open311_resource_answers_in_xml_as_in_json(platform: Platform) -> None:
    discovery = open311(platform, "GET", "discovery.json?jurisdiction_id=x").body
    [endpoint] = discovery["endpoints"]
    assert endpoint["url"].endswith("/open311/v2/")
    assert endpoint["formats"] == ["text/xml", "application/json"]
    found = xml_of(open311(platform, "GET", "discovery.xml"))
    assert found.findtext("endpoints/endpoint/url") == endpoint["url"]
    services = xml_of(open311(platform, "GET", "services.xml?jurisdiction_id=x"))
    names = {s.findtext("service_code"): s.findtext("service_name") for s in services}
    assert (services.tag, names["environment.noise"]) == ("services", "噪声扰民")
    definition = xml_of(open311(platform, "GET", "services/environment.noise.xml"))
    assert definition.tag == "service_definition"
    assert definition.findtext("service_code") == "environment.noise"

    receipt = xml_of(open311(platform, "POST", "requests.xml", REPORT))
    request_id = receipt.findtext("request/service_request_id")
    assert receipt.tag == "service_requests" and request_id and request_id.startswith("CF")
    one = xml_of(open311(platform, "GET", f"requests/{request_id}.xml?{KEY}"))
    assert [r.findtext("service_request_id") for r in one.findall("request")] == [request_id]
    assert one.findtext("request/description") == "广场舞音响扰民"
    assert one.findtext("request/status") == "open"
    listed = xml_of(open311(platform, "GET", f"requests.xml?{KEY}&service_request_id={request_id}"))
    assert [r.findtext("service_request_id") for r in listed] == [request_id]

    token = open311(platform, "GET", f"tokens/{request_id}.json?{KEY}")
    assert token.body == [{"service_request_id": request_id, "token": request_id}]
    token_xml = xml_of(open311(platform, "GET", f"tokens/{request_id}.xml?{KEY}"))
    assert token_xml.findtext("request/service_request_id") == request_id
    other_source = open311(platform, "GET", f"tokens/{request_id}.json?api_key=dev-key-opinion")
    assert other_source.status == 404 and other_source.body[0]["code"] == 404


def test_an_open311_request_posted_with_a_photo_points_at_it(platform: Platform) -> None:
    photo = sample_files.jpeg((64, 48))
    fields = [(name, None, value.encode()) for name, value in REPORT.items()]
    body, content_type = multipart(*fields, ("media", "现场.jpg", photo))
    url = platform.url("intake", "/open311/v2/requests.json")
    created = http("POST", url, body, {"Content-Type": content_type})
    assert created.status == 200, created.body
    [receipt] = created.body
    request_id = receipt["service_request_id"]
    [view] = open311(platform, "GET", f"requests/{request_id}.json?{KEY}").body
    assert view["media_url"].endswith(".jpg")
    with urllib.request.urlopen(view["media_url"], timeout=15) as served:
        assert served.headers["Content-Type"] == "image/jpeg"
        assert served.read() == photo

    body, content_type = multipart(*fields, ("media", "a.jpg", b"GIF89a not a photo"))
    refused = http("POST", url, body, {"Content-Type": content_type})
    assert refused.status == 415 and refused.body[0]["code"] == 415

    listed = len(open311(platform, "GET", f"requests.json?{KEY}").body)
    too_large = photo + bytes(11 * 2**20)  # a JPEG still, past the 10 MiB limit
    body, content_type = multipart(*fields, ("media", "大.jpg", too_large))
    refused = http("POST", url, body, {"Content-Type": content_type})
    assert refused.status == 413 and refused.body[0]["code"] == 413
    assert len(open311(platform, "GET", f"requests.json?{KEY}").body) == listed  # none stored


def test_the_openapi_document_describes_the_live_server(platform: Platform) -> None:
    document = http("GET", platform.url("intake", "/openapi.json")).body
    validate_spec(document)

    def conforms(body: Any, schema_name: str) -> None:
        jsonschema.validate(
            body,
            {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]},
        )

    samples = {
        "/api/v1/hotline/tickets": ("hotline", ticket()),
        "/api/v1/grid/reports": ("gridapp", {
            "report_id": "R-oa", "reported_at": "2026-11-21T09:00:00+08:00",
            "grid_code": "37011300101", "reporter_id": "W-1", "content": "井盖缺失",
        }),
        "/api/v1/opinion/items": ("opinion", {
            "item_id": "O-oa", "platform": "news", "published_at": "2026-11-21T09:00:00+08:00",
            "content": "河道污染",
        }),
        "/api/v1/petitions": ("petition", {
            "petition_no": "P-oa", "form": "online", "filed_at": "2026-11-21T09:00:00+08:00",
            "petitioners": [{"name": "赵某"}], "content": "宅基地纠纷",
        }),
    }  # fmt: skip
    posts = {
        path for path, item in document["paths"].items()
        if "post" in item and path.startswith("/api/")  # Open311's own POST is documented too
    }  # fmt: skip
    assert posts == set(samples)
    for path, (source, payload) in samples.items():
        operation = document["paths"][path]["post"]
        schema_name = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        conforms(payload, schema_name.rsplit("/", 1)[1])
        answer = platform.submit(path, payload, source=source)
        assert str(answer.status) in operation["responses"]
        conforms(answer.body, "Accepted")
        refused = platform.submit(path, {**payload, "content": ""}, source=source)
        assert refused.status == 422 and "422" in operation["responses"]
        conforms(refused.body, "Errors")
    case_id = platform.submit(TICKETS, ticket()).body["case_id"]
    conforms(get_case(platform, case_id).body, "SourceCaseView")
