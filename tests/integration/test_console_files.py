"""Notes and files through the console's staff API, on the real broker with the demo county:
uploads (201, 413, 415, nothing stored on a refusal), the file and its thumbnail served with
the recognised type, ``nosniff`` and ``Content-Disposition``, 404 outside the case's reach,
internal notes that no event and no source ever sees, feedback and the conclusion naming
their 现场照片, and the case JSON listing them.

The module runs twice: on SQLite with the filesystem store, and on PostgreSQL (when it
answers) with the S3 store, against moto's S3 server started here."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image

from civicflow.demo import load_demo
from kit.file_store import FileStore, file_store_from
from tests.support import databases, sample_files
from tests.support.harness import (
    Answer,
    EventTap,
    Platform,
    http,
    running,
    settings_for_test,
    signed_headers,
)
from tests.support.s3_server import s3_server
from tests.support.sample_files import multipart

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SERVICES = ["intake", "grid", "dispatch", "console"]
USERS = ("admin", "hbj", "zjj")


@dataclass
class Desk:
    platform: Platform
    store: FileStore
    tokens: dict[str, str]
    tap: EventTap
    case_id: str
    other_case_id: str


@pytest.fixture(scope="module", params=["sqlite+filesystem", "postgresql+s3"])
def desk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    from tests.conftest import BASE_AMQP_URI
    from tests.support.harness import temporary_vhost

    data = tmp_path_factory.mktemp("console-files")
    with (
        temporary_vhost(BASE_AMQP_URI) as vhost,
        database_for(request.param) as database_url,
        store_env_for(request.param) as env,
        pytest.MonkeyPatch.context() as patch,
    ):
        for name, value in env.items():
            patch.setenv(name, value)
        settings = settings_for_test(vhost, Path(data), database_url)
        with running(settings, SERVICES) as platform:
            load_demo(settings)
            tokens = {user: login(platform, user) for user in USERS}
            tap = EventTap(vhost)
            try:
                first, second = hotline_case(platform, tokens), hotline_case(platform, tokens)
                yield Desk(platform, file_store_from(settings, env), tokens, tap, first, second)
            finally:
                tap.close()


def database_for(param: str) -> Any:
    from contextlib import nullcontext

    return databases.temporary_postgres() if param.startswith("postgresql") else nullcontext(None)


def store_env_for(param: str) -> Any:
    from contextlib import contextmanager

    @contextmanager
    def env() -> Iterator[dict[str, str]]:
        if param.endswith("s3"):
            with s3_server() as server:
                yield server.env()
        else:
            yield {"CIVICFLOW_FILE_STORE": "local"}

    return env()


def login(platform: Platform, username: str) -> str:
    body = json.dumps({"username": username, "password": username}).encode()
    answer = http("POST", platform.url("console", "/api/v1/auth/login"), body,
                  {"Content-Type": "application/json"})  # fmt: skip
    assert answer.status == 200, answer.body
    return str(answer.body["token"])


def api(desk: Desk, user: str, method: str, path: str, body: Any = None) -> Answer:
    headers = {"Authorization": f"Bearer {desk.tokens[user]}"}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    return http(method, desk.platform.url("console", path), data, headers)


def hotline_case(platform: Platform, tokens: dict[str, str]) -> str:
    """A county matter for 生态环境 (D-HBJ, user hbj), dispatched and accepted."""
    ticket = {"ticket_no": f"T-{uuid.uuid4().hex[:10]}", "received_at": "2026-11-21T10:00:00+08:00",
              "caller": {"phone": "13911112222"}, "content": f"化工厂排污 {uuid.uuid4().hex[:6]}",
              "category": "environment.pollution"}  # fmt: skip
    answer = platform.submit("/api/v1/hotline/tickets", ticket)
    assert answer.status == 202, answer.body
    case_id = str(answer.body["case_id"])
    url = platform.url("console", f"/api/v1/cases/{case_id}")
    headers = {"Authorization": f"Bearer {tokens['hbj']}"}
    deadline = time.monotonic() + 15
    while (case := http("GET", url, None, headers)).body.get("status") != "dispatched":
        assert time.monotonic() < deadline, case.body
        time.sleep(0.05)
    accepted = http("POST", f"{url}/accept", None, headers)
    assert accepted.status == 200, accepted.body
    return case_id


def upload(
    desk: Desk, content: bytes, name: str = "现场照片.jpg", user: str = "hbj",
    case_id: str | None = None,
) -> Answer:  # fmt: skip
    body, content_type = multipart(("file", name, content))
    headers = {"Authorization": f"Bearer {desk.tokens[user]}", "Content-Type": content_type}
    path = f"/api/v1/cases/{case_id or desk.case_id}/attachments"
    return http("POST", desk.platform.url("console", path), body, headers)


def fetch(desk: Desk, path: str, user: str = "hbj") -> tuple[int, bytes, dict[str, str]]:
    """The raw bytes of a GET (``http`` would decode JSON)."""
    import urllib.error
    import urllib.request

    headers = {"Authorization": f"Bearer {desk.tokens[user]}"}
    request = urllib.request.Request(desk.platform.url("console", path), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def case_json(desk: Desk, case_id: str | None = None, user: str = "hbj") -> dict[str, Any]:
    answer = api(desk, user, "GET", f"/api/v1/cases/{case_id or desk.case_id}")
    assert answer.status == 200, answer.body
    return dict(answer.body)


# --- uploads --------------------------------------------------------------------------------


def test_a_photo_is_kept_by_its_content_and_served_as_what_it_is(desk: Desk) -> None:
    photo = sample_files.jpeg((1600, 1200))
    made = upload(desk, photo, name="现场照片 1.jpg")
    assert made.status == 201, made.body
    info = made.body
    assert set(info) == {"attachment_id", "name", "content_type", "size", "sha256"}
    assert (info["name"], info["content_type"], info["size"]) == ("现场照片 1.jpg", "image/jpeg",
                                                                  len(photo))  # fmt: skip
    assert desk.store.get(info["sha256"]) == photo  # the store holds it under its sha256

    status, content, headers = fetch(desk, f"/api/v1/attachments/{info['attachment_id']}")
    assert (status, content) == (200, photo)
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"] == (
        'inline; filename="____ 1.jpg"; '
        "filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87%201.jpg"
    )

    status, small, headers = fetch(desk, f"/api/v1/attachments/{info['attachment_id']}/thumbnail")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(small)) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", (320, 240))

    listed = {f["attachment_id"]: f for f in case_json(desk)["attachments"]}
    shown = listed[info["attachment_id"]]
    assert shown["uploaded_by"] == "hbj" and shown["sha256"] == info["sha256"]
    assert shown["thumbnail_url"] == f"/api/v1/attachments/{info['attachment_id']}/thumbnail"


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [(sample_files.png(alpha=True), "平面图.png", "image/png"),
     (sample_files.webp(), "photo.webp", "image/webp"),
     (sample_files.pdf(), "整改报告.pdf", "application/pdf"),
     (sample_files.png(), "名字说是.pdf", "image/png")],
)  # fmt: skip
def test_each_kind_is_taken_and_the_name_decides_nothing(
    desk: Desk, content: bytes, name: str, content_type: str
) -> None:
    made = upload(desk, content, name=name)
    assert made.status == 201, made.body
    assert made.body["content_type"] == content_type and made.body["name"] == name
    status, served, headers = fetch(desk, f"/api/v1/attachments/{made.body['attachment_id']}")
    assert (status, served, headers["Content-Type"]) == (200, content, content_type)
    disposition = headers["Content-Disposition"]
    assert disposition.startswith("attachment;" if content_type == "application/pdf" else "inline;")
    assert disposition.endswith(f"filename*=UTF-8''{quote(name, safe='')}")
    thumbnail = fetch(desk, f"/api/v1/attachments/{made.body['attachment_id']}/thumbnail")
    assert thumbnail[0] == (404 if content_type == "application/pdf" else 200)


def test_the_same_content_twice_is_two_attachments_on_one_stored_file(desk: Desk) -> None:
    photo = sample_files.jpeg((300, 200))
    first, second = upload(desk, photo, "a.jpg"), upload(desk, photo, "b.jpg")
    assert first.status == second.status == 201
    assert first.body["attachment_id"] != second.body["attachment_id"]
    assert first.body["sha256"] == second.body["sha256"]


def stored_count(desk: Desk) -> int:
    return len(case_json(desk)["attachments"])


@pytest.mark.parametrize(
    ("content", "name"),
    [(sample_files.gif(), "动图.gif"), (sample_files.html_page(), "照片.jpg"),
     (sample_files.jpeg_impostor(), "照片.jpg"), (sample_files.truncated_jpeg(), "照片.jpg"),
     (sample_files.bomb(), "大图.png"), (b"", "空.pdf")],
)  # fmt: skip
def test_other_content_is_415_naming_the_file_and_nothing_is_stored(
    desk: Desk, content: bytes, name: str
) -> None:
    before = stored_count(desk)
    refused = upload(desk, content, name=name)
    assert refused.status == 415, refused.body
    assert refused.body["errors"][0]["loc"] == ["file"]
    assert stored_count(desk) == before
    assert not desk.store.has(hashlib.sha256(content).hexdigest())


def test_over_ten_mebibytes_is_413_and_nothing_is_stored(desk: Desk) -> None:
    before = stored_count(desk)
    just_over = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024 - 8)
    for content in (just_over, just_over + b"0" * 200_000):  # within the body's slack, and past
        refused = upload(desk, content, name="大文件.pdf")
        assert refused.status == 413, refused.body
        assert refused.body["errors"][0]["loc"] == ["file"]
    at_limit = just_over[:-1]
    assert upload(desk, at_limit, name="刚好.pdf").status == 201
    assert stored_count(desk) == before + 1


def test_a_body_far_over_the_limit_is_refused_before_it_is_sent(desk: Desk) -> None:
    """A client that asks ``Expect: 100-continue`` learns of the 413 without sending 50 MB."""
    port = desk.platform.settings.ports["console"]
    with socket.create_connection(("127.0.0.1", port), timeout=15) as client:
        client.sendall(
            (f"POST /api/v1/cases/{desk.case_id}/attachments HTTP/1.1\r\n"
             f"Host: 127.0.0.1\r\nAuthorization: Bearer {desk.tokens['hbj']}\r\n"
             "Content-Type: multipart/form-data; boundary=x\r\n"
             f"Content-Length: {50 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n").encode()
        )  # fmt: skip
        answer = client.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]


def test_a_request_that_is_not_one_file_is_refused(desk: Desk) -> None:
    headers = {"Authorization": f"Bearer {desk.tokens['hbj']}"}
    url = desk.platform.url("console", f"/api/v1/cases/{desk.case_id}/attachments")
    as_json = http("POST", url, b"{}", {**headers, "Content-Type": "application/json"})
    assert as_json.status == 415
    photo = sample_files.jpeg()
    for parts in (
        [],
        [("photo", "a.jpg", photo)],
        [("file", "a.jpg", photo), ("file", "b", photo)],
    ):
        body, content_type = multipart(*parts)
        refused = http("POST", url, body, {**headers, "Content-Type": content_type})
        assert refused.status == 422 and refused.body["errors"][0]["loc"] == ["file"]
    assert http("POST", url, b"", {"Content-Type": "multipart/form-data; boundary=x"}).status == 401


# --- reach ----------------------------------------------------------------------------------


def test_outside_the_case_s_reach_its_notes_and_files_do_not_exist(desk: Desk) -> None:
    photo = upload(desk, sample_files.jpeg()).body["attachment_id"]
    note = {"text": "内部：当事人情绪激动"}
    assert api(desk, "hbj", "POST", f"/api/v1/cases/{desk.case_id}/notes", note).status == 201
    for path in (f"/api/v1/attachments/{photo}", f"/api/v1/attachments/{photo}/thumbnail",
                 f"/api/v1/attachments/{'0' * 32}", f"/api/v1/cases/{desk.case_id}"):  # fmt: skip
        status, body, _ = fetch(desk, path, user="zjj")
        assert status == 404, path
        assert b"\xe5\x86\x85\xe9\x83\xa8" not in body  # 内部
    assert api(desk, "zjj", "POST", f"/api/v1/cases/{desk.case_id}/notes", note).status == 404
    assert upload(desk, sample_files.jpeg(), user="zjj").status == 404
    assert fetch(desk, f"/api/v1/attachments/{photo}", user="admin")[0] == 200
    assert http("GET", desk.platform.url("console", f"/api/v1/attachments/{photo}")).status == 401


# --- notes ----------------------------------------------------------------------------------


def test_a_note_is_listed_with_the_case_and_never_reaches_an_event_or_the_source(
    desk: Desk,
) -> None:
    secret = f"内部备注{uuid.uuid4().hex[:8]}：与街道沟通中"
    photo = upload(desk, sample_files.jpeg()).body["attachment_id"]
    made = api(desk, "hbj", "POST", f"/api/v1/cases/{desk.case_id}/notes",
               {"text": secret, "attachments": [photo]})  # fmt: skip
    assert made.status == 201, made.body
    assert set(made.body) == {"note_id", "author", "at", "text", "attachments"}
    assert (made.body["author"], made.body["text"], made.body["attachments"]) == (
        "hbj", secret, [photo])  # fmt: skip
    shown = case_json(desk)
    assert made.body in shown["notes"]
    photo_uses = next(f for f in shown["attachments"] if f["attachment_id"] == photo)["used_with"]
    assert [(u["used_with"], u["note_id"]) for u in photo_uses] == [("note", made.body["note_id"])]
    assert case_json(desk, user="admin")["notes"] == shown["notes"]

    feedback = api(desk, "hbj", "POST", f"/api/v1/cases/{desk.case_id}/feedback",
                   {"note": "已到现场"})  # fmt: skip
    assert feedback.status == 200, feedback.body
    desk.tap.wait_for("case.feedback", desk.case_id)
    assert all(secret not in json.dumps(e, ensure_ascii=False) for e in desk.tap.seen)
    source = http("GET", desk.platform.url("intake", f"/api/v1/cases/{desk.case_id}"), None,
                  signed_headers(b"", source="hotline"))  # fmt: skip
    assert source.status == 200, source.body
    assert secret not in json.dumps(source.body, ensure_ascii=False)
    assert "notes" not in source.body


@pytest.mark.parametrize(
    ("body", "loc"),
    [({}, ["text"]), ({"text": "  "}, ["text"]), ({"text": "好", "attachments": [1]},
     ["attachments", "0"]), ({"text": "好", "attachments": ["f" * 32]}, ["attachments"])],
)  # fmt: skip
def test_a_bad_note_is_422_naming_the_field(desk: Desk, body: Any, loc: list[str]) -> None:
    before = len(case_json(desk)["notes"])
    refused = api(desk, "hbj", "POST", f"/api/v1/cases/{desk.case_id}/notes", body)
    assert refused.status == 422, refused.body
    assert refused.body["errors"][0]["loc"] == loc
    assert len(case_json(desk)["notes"]) == before


# --- feedback and the conclusion with their 现场照片 ------------------------------------------


def test_feedback_and_the_conclusion_name_their_photos_and_the_case_shows_them(
    desk: Desk,
) -> None:
    case_id = desk.other_case_id
    photo = upload(desk, sample_files.jpeg(), case_id=case_id).body["attachment_id"]
    report = upload(desk, sample_files.pdf(), "办结报告.pdf", case_id=case_id).body["attachment_id"]
    foreign = upload(desk, sample_files.png()).body["attachment_id"]  # the other case's

    path = f"/api/v1/cases/{case_id}"
    for named in ([foreign], ["a" * 32]):
        refused = api(desk, "hbj", "POST", f"{path}/feedback", {"note": "x", "attachments": named})
        assert refused.status == 422 and refused.body["errors"][0]["loc"] == ["attachments"]
    assert case_json(desk, case_id)["status"] == "accepted"  # nothing was carried out

    feedback = api(desk, "hbj", "POST", f"{path}/feedback",
                   {"note": "已到场处置", "attachments": [photo]})  # fmt: skip
    assert feedback.status == 200, feedback.body
    assert feedback.body["status"] == "in_progress"
    assert {a["attachment_id"] for a in feedback.body["attachments"]} == {photo, report}
    concluded = api(desk, "hbj", "POST", f"{path}/conclude",
                    {"result": "已停产整改", "attachments": [photo, report]})  # fmt: skip
    assert concluded.status == 200 and concluded.body["status"] == "concluded", concluded.body

    uses = {f["attachment_id"]: [u["used_with"] for u in f["used_with"]]
            for f in case_json(desk, case_id)["attachments"]}  # fmt: skip
    assert uses == {photo: ["feedback", "conclude"], report: ["conclude"]}
    assert desk.tap.wait_for("case.concluded", case_id)["data"]["result"] == "已停产整改"


# --- the API's description ------------------------------------------------------------------


def test_the_openapi_document_lists_the_notes_and_files_endpoints(desk: Desk) -> None:
    document = http("GET", desk.platform.url("console", "/openapi.json")).body
    paths = document["paths"]
    upload_op = paths["/api/v1/cases/{case_id}/attachments"]["post"]
    assert {"201", "404", "413", "415", "422"} <= set(upload_op["responses"])
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert {"201", "404", "422"} <= set(paths["/api/v1/cases/{case_id}/notes"]["post"]["responses"])
    for path in ("/api/v1/attachments/{attachment_id}",
                 "/api/v1/attachments/{attachment_id}/thumbnail"):  # fmt: skip
        assert {"200", "404"} <= set(paths[path]["get"]["responses"])
    feedback = document["components"]["schemas"]["FeedbackAction"]["properties"]
    assert "attachments" in feedback
