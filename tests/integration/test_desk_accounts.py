"""The desk's accounts, phone search and export on the running platform (a real broker; SQLite
and PostgreSQL): a number finds its citizen's cases within reach and is never echoed, logged or
stored in plain; the export is a download with a BOM, Chinese headers, masked numbers and only
the user's cases, or an XLSX that opens; a password change revokes every other token and
signing out everywhere every one; a stream ticket opens the stream once."""

from __future__ import annotations

import csv
import io
import json
import logging
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import MetaData, select

from civicflow.demo import load_demo
from kit.engine import make_engine
from tests.support import databases
from tests.support.harness import Answer, Platform, http, running, settings_for_test

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SERVICES = ["intake", "grid", "dispatch", "supervision", "console"]
PHONE, OTHER_PHONE = "13912340001", "13912340002"
BOM = b"\xef\xbb\xbf"


@contextmanager
def database(kind: str, data: Path) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None  # the default: an SQLite file per service
        return
    with databases.temporary_postgres() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Platform]:  # fmt: skip
    from tests.conftest import BASE_AMQP_URI
    from tests.support.harness import temporary_vhost

    data = tmp_path_factory.mktemp(f"desk-{request.param}")
    with temporary_vhost(BASE_AMQP_URI) as vhost, database(request.param, data) as url:
        settings = settings_for_test(vhost, Path(data), url)
        with running(settings, SERVICES) as platform:
            load_demo(settings)
            yield platform


def login(platform: Platform, username: str, password: str | None = None) -> Answer:
    body = json.dumps({"username": username, "password": password or username}).encode()
    return http("POST", platform.url("console", "/api/v1/auth/login"), body,
                {"Content-Type": "application/json"})  # fmt: skip


def token_of(platform: Platform, username: str, password: str | None = None) -> str:
    answer = login(platform, username, password)
    assert answer.status == 200, answer.body
    return str(answer.body["token"])


def api(platform: Platform, token: str, method: str, path: str, body: Any = None) -> Answer:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    return http(method, platform.url("console", path), data, headers)


def download(platform: Platform, token: str, path: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(platform.url("console", path),
                                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def hotline(platform: Platform, content: str, phone: str, **extra: Any) -> str:
    ticket = {
        "ticket_no": f"T-{uuid.uuid4().hex[:10]}", "received_at": "2026-11-21T10:00:00+08:00",
        "caller": {"phone": phone, "name": "王先生"}, "content": content, **extra,
    }  # fmt: skip
    answer = platform.submit("/api/v1/hotline/tickets", ticket)
    assert answer.status == 202, answer.body
    return str(answer.body["case_id"])


def dispatched(platform: Platform, token: str, case_id: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        answer = api(platform, token, "GET", f"/api/v1/cases/{case_id}")
        if answer.status == 200 and answer.body["status"] == "dispatched":
            return
        assert time.monotonic() < deadline, answer.body
        time.sleep(0.05)


@pytest.fixture(scope="module")
def cases(platform: Platform) -> dict[str, str]:
    """Two matters of one citizen (a county one for 生态环境, a street one), one of another."""
    admin = token_of(platform, "admin")
    street = api(platform, admin, "GET", "/api/v1/grid/units?level=street&limit=1").body[0]
    made = {
        "county": hotline(platform, f"化工厂排污,请回电{PHONE}", "+86 139-1234-0001",
                          category="environment.pollution"),
        "street": hotline(platform, "楼下夜间施工噪音扰民", PHONE, category="environment.noise",
                          address=f"{street['name']}5号楼"),
        "other": hotline(platform, "化工厂又在排污", OTHER_PHONE,
                         category="environment.pollution"),
    }  # fmt: skip
    for case_id in made.values():
        dispatched(platform, admin, case_id)
    return made


def listed(platform: Platform, token: str, query: str) -> Answer:
    return api(platform, token, "GET", f"/api/v1/cases?{query}")


# --- phone search -----------------------------------------------------------------------------


def test_a_number_finds_its_citizens_cases_within_reach_and_is_never_echoed(
    platform: Platform, cases: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin, hbj = token_of(platform, "admin"), token_of(platform, "hbj")
    written = urllib.parse.quote("+86 139 1234 0001")

    found = listed(platform, admin, f"phone={written}&page_size=200")
    assert found.status == 200
    assert {c["case_id"] for c in found.body["items"]} == {cases["county"], cases["street"]}
    answer_text = json.dumps(found.body, ensure_ascii=False)
    assert PHONE not in answer_text and "1234 0001" not in answer_text
    other = listed(platform, admin, f"phone={OTHER_PHONE}").body["items"]
    assert [c["case_id"] for c in other] == [cases["other"]]
    # jurisdiction still applies: 生态环境's handler sees only the county matter
    mine = listed(platform, hbj, f"phone={PHONE}").body["items"]
    assert [c["case_id"] for c in mine] == [cases["county"]]
    # with another filter too, and a number nobody has
    assert listed(platform, admin, f"phone={PHONE}&category=environment.noise").body[
        "items"][0]["case_id"] == cases["street"]  # fmt: skip
    assert listed(platform, admin, "phone=13700000000").body["items"] == []
    assert PHONE not in caplog.text


def test_a_part_number_is_refused_naming_the_field_without_echoing_it(platform: Platform) -> None:
    refused = listed(platform, token_of(platform, "admin"), "phone=1391234")
    assert refused.status == 422
    assert refused.body["errors"][0]["loc"] == ["phone"] and "1391234" not in str(refused.body)


def every_stored_value(platform: Platform) -> str:
    """Every value of every column of every service's tables, as one text."""
    found = []
    for service in SERVICES:
        url = platform.settings.database_url_for(service)
        postgres = not url.startswith("sqlite")
        engine = make_engine(url, service if postgres else None)
        try:
            metadata = MetaData()
            metadata.reflect(engine, schema=service if postgres else None)
            with engine.connect() as connection:
                for table in metadata.sorted_tables:
                    found += [repr(tuple(row)) for row in connection.execute(select(table))]
        finally:
            engine.dispose()
    return "\n".join(found)


def test_no_column_of_any_service_holds_the_plain_number(
    platform: Platform, cases: dict[str, str]
) -> None:
    stored = every_stored_value(platform)
    assert cases["county"] in stored  # the scan did read the cases
    for number in (PHONE, OTHER_PHONE):
        assert number not in stored and number[-8:] not in stored.replace("****", "")


# --- export -----------------------------------------------------------------------------------


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_csv_export_has_a_bom_chinese_headers_masked_numbers_and_only_cases_in_reach(
    platform: Platform, cases: dict[str, str]
) -> None:
    hbj = token_of(platform, "hbj")

    status, headers, data = download(platform, hbj, "/api/v1/cases/export?format=csv")

    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in headers["Content-Disposition"]
    assert data.startswith(BOM)
    rows = csv_rows(data)
    assert rows[0][:6] == ["工单编号", "受理时间", "渠道", "事项分类", "风险等级", "状态"]
    ids = {row[0] for row in rows[1:]}
    assert cases["county"] in ids and cases["street"] not in ids  # hbj's reach only
    county = next(row for row in rows if row[0] == cases["county"])
    assert county[2] == "12345热线" and county[5] == "已派单" and "化工厂排污" in county[8]
    assert "environment" not in data.decode("utf-8-sig") and PHONE not in data.decode("utf-8-sig")
    assert "139****0001" in county[8]


def test_the_export_takes_the_lists_filters(platform: Platform, cases: dict[str, str]) -> None:
    admin = token_of(platform, "admin")
    _, _, data = download(platform, admin, f"/api/v1/cases/export?format=csv&phone={PHONE}")
    assert {row[0] for row in csv_rows(data)[1:]} == {cases["county"], cases["street"]}
    _, _, data = download(platform, admin,
                          "/api/v1/cases/export?format=csv&category=environment.noise")  # fmt: skip
    assert {row[0] for row in csv_rows(data)[1:]} == {cases["street"]}


def test_the_export_fetches_page_after_page_as_the_download_goes(
    platform: Platform, cases: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.console import cases as console_cases

    monkeypatch.setattr(console_cases, "EXPORT_PAGE", 1)  # a page a case: the walk goes on
    status, _, data = download(platform, token_of(platform, "admin"),
                               "/api/v1/cases/export?format=csv")  # fmt: skip
    ids = [row[0] for row in csv_rows(data)[1:]]
    assert status == 200 and set(cases.values()) <= set(ids) and len(ids) == len(set(ids))


def test_the_xlsx_export_opens(platform: Platform, cases: dict[str, str], tmp_path: Path) -> None:
    status, headers, data = download(platform, token_of(platform, "admin"),
                                     "/api/v1/cases/export?format=xlsx")  # fmt: skip
    assert status == 200 and headers["Content-Type"].endswith("spreadsheetml.sheet")
    (tmp_path / "cases.xlsx").write_bytes(data)
    sheet = openpyxl.load_workbook(tmp_path / "cases.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "工单编号" and set(cases.values()) <= {row[0] for row in rows[1:]}


def test_an_export_in_another_format_is_refused_naming_the_field(platform: Platform) -> None:
    status, _, data = download(platform, token_of(platform, "admin"),
                               "/api/v1/cases/export?format=pdf")  # fmt: skip
    assert status == 422 and json.loads(data)["errors"][0]["loc"] == ["format"]


def test_the_assessment_exports_for_those_who_may_assess(platform: Platform) -> None:
    path = "/api/v1/assessment/export?format=csv&period=2026-11"
    status, _, data = download(platform, token_of(platform, "admin"), path)
    assert status == 200 and data.startswith(BOM)
    assert csv_rows(data)[0][:3] == ["承办对象", "类型", "派单"]
    assert download(platform, token_of(platform, "hbj"), path)[0] == 403


# --- accounts ---------------------------------------------------------------------------------


def new_operator(platform: Platform, password: str) -> str:
    username = f"op{uuid.uuid4().hex[:8]}"
    made = api(platform, token_of(platform, "admin"), "POST", "/api/v1/admin/users",
               {"username": username, "password": password, "role": "operator"})  # fmt: skip
    assert made.status == 201, made.body
    return username


def signed_in(platform: Platform, token: str) -> bool:
    return api(platform, token, "GET", "/api/v1/me").status == 200


def test_a_password_change_stops_every_other_token(platform: Platform) -> None:
    name = new_operator(platform, "first-pass-1")
    here, other = token_of(platform, name, "first-pass-1"), token_of(platform, name, "first-pass-1")

    wrong = api(platform, here, "POST", "/api/v1/me/password", {"old": "x", "new": "y"})
    assert wrong.status == 422 and wrong.body["errors"][0]["loc"] == ["old"]
    weak = api(platform, here, "POST", "/api/v1/me/password",
               {"old": "first-pass-1", "new": "short"})  # fmt: skip
    assert weak.status == 422 and {e["loc"][0] for e in weak.body["errors"]} == {"new"}
    assert any("10 个字符" in e["msg"] for e in weak.body["errors"])
    changed = api(platform, here, "POST", "/api/v1/me/password",
                  {"old": "first-pass-1", "new": "second-pass-2"})  # fmt: skip

    assert changed.status == 204
    assert signed_in(platform, here) and not signed_in(platform, other)
    assert login(platform, name, "first-pass-1").status == 401
    assert signed_in(platform, token_of(platform, name, "second-pass-2"))


def test_signing_out_everywhere_stops_every_token(platform: Platform) -> None:
    name = new_operator(platform, "first-pass-1")
    here, other = token_of(platform, name, "first-pass-1"), token_of(platform, name, "first-pass-1")

    assert api(platform, here, "POST", "/api/v1/me/logout-all").status == 204

    assert not signed_in(platform, here) and not signed_in(platform, other)
    assert signed_in(platform, token_of(platform, name, "first-pass-1"))


# --- the live stream's ticket -----------------------------------------------------------------


def open_stream(platform: Platform, query: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(platform.url("console", f"/api/v1/stream?{query}"),
                                    timeout=10) as stream:  # fmt: skip
            return stream.status, stream.readline()
    except urllib.error.HTTPError as error:
        return error.code, b""


def test_a_stream_ticket_opens_the_stream_once(platform: Platform) -> None:
    token = token_of(platform, "hbj")
    issued = api(platform, token, "POST", "/api/v1/stream/ticket")
    assert issued.status == 201 and issued.body["expires_in"] == 30
    ticket = urllib.parse.quote(issued.body["ticket"])

    assert open_stream(platform, f"ticket={ticket}") == (200, b"retry: 3000\n")
    assert open_stream(platform, f"ticket={ticket}")[0] == 401  # spent
    assert open_stream(platform, "ticket=forged")[0] == 401
    assert http("POST", platform.url("console", "/api/v1/stream/ticket")).status == 401
