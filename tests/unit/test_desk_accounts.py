"""The desk's accounts, phone search and export without a broker: the number's normal form and
blind index, token versions (a password change keeps only the token that asked, signing out
everywhere keeps none), single-use stream tickets that expire, phone search resolved to case
ids, the page walk of an export, and the CSV and XLSX writers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, insert, select

from contracts.listing import CaseListFilters
from kernel import phones
from kit import tabular
from kit.pii import PhoneVault, load_phone_index_key
from kit.rekey import fill_phone_index
from kit.settings import ConfigError, Settings
from services.console import accounts, cases, domain, export, handlers
from services.console.models import User
from services.console.refusals import BadField, BadFields, TooManyLogins
from services.intake import queries
from services.intake.models import Base as IntakeBase
from services.intake.models import Submission
from tests.support.fake_console import FakeConsoleUnitOfWork, FakeDispatch, FakeIntake
from tests.unit.conftest import CONFIG_DIR

SECRET = "console-test-secret"
SIGN_IN = handlers.SignIn(SECRET, dev_users_allowed=False)
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
KEY = "test-phone-index-key"
OPERATOR = domain.Principal("operator", "operator", 0)
HBJ = domain.Principal("hbj", "handler", 0, "D-HBJ")


def user(username: str, password: str, role: str = "operator", **extra: Any) -> User:
    return User(username=username, password_hash=domain.hash_password(password), role=role,
                unit=extra.pop("unit", None), dev_only=False, display="", **extra)  # fmt: skip


# --- the number, normalised, and its blind index ----------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["13912345678", "139 1234 5678", "139-1234-5678", "+86 139 1234 5678", "0086-13912345678",
     "8613912345678", "(139)1234.5678", "１３９１２３４５６７８", "\u3000139 1234 5678 "],
)  # fmt: skip
def test_every_way_of_writing_a_mobile_number_comes_to_one_normal_form(written: str) -> None:
    assert phones.normalise(written) == "13912345678"


def test_a_landline_keeps_its_leading_zero_and_a_part_number_is_refused() -> None:
    assert phones.normalise("0571-8765 4321") == "057187654321"
    for wrong in ("1391234567", "139123456789", "12345", "", "abc", "23912345678"):
        with pytest.raises(phones.NotAPhoneNumber):
            phones.normalise(wrong)


def test_the_blind_index_is_keyed_and_the_same_however_the_number_is_written() -> None:
    index = phones.blind_index(KEY, "+86 139-1234-5678")
    assert index == phones.blind_index(KEY, "13912345678")
    assert len(index) == 64 and int(index, 16) >= 0 and "13912345678" not in index
    assert index != phones.blind_index("another-key", "13912345678")
    assert index != phones.blind_index(KEY, "13912345679")
    with pytest.raises(ValueError, match="needs a key"):
        phones.blind_index("", "13912345678")


def test_the_index_key_comes_from_the_environment_and_dev_only_from_keys_yml() -> None:
    dev, production = (
        Settings(env="dev", config_dir=CONFIG_DIR),
        Settings(env="production", config_dir=CONFIG_DIR),
    )
    assert load_phone_index_key(dev, {}) == "dev-civicflow-phone-index-key"
    assert load_phone_index_key(production, {"CIVICFLOW_PHONE_INDEX_KEY": "real"}) == "real"
    with pytest.raises(ConfigError, match="CIVICFLOW_PHONE_INDEX_KEY is not set"):
        load_phone_index_key(production, {})
    with pytest.raises(ConfigError, match="dev value"):
        load_phone_index_key(production, {"CIVICFLOW_PHONE_INDEX_KEY": "dev-x"})


# --- token versions ---------------------------------------------------------------------------


def signed_in_as(uow: FakeConsoleUnitOfWork, name: str, password: str) -> str:
    token = handlers.login(uow, handlers.Login(name, password, None), SIGN_IN, NOW)["token"]
    return str(token)


def still_signed_in(uow: FakeConsoleUnitOfWork, token: str) -> bool:
    try:
        accounts.signed_in(uow, SECRET, token, NOW)
    except domain.AuthError:
        return False
    return True


def test_a_token_carries_its_version_and_id_and_a_1_0_token_reads_as_version_0() -> None:
    token = domain.issue_token(SECRET, "hbj", "handler", 0, "D-HBJ", 3, "abc")
    principal = domain.read_token(SECRET, token, 0)
    assert (principal.version, principal.token_id) == (3, "abc")
    old = domain.read_token(SECRET, domain.issue_token(SECRET, "hbj", "handler", 0), 0)
    assert (old.version, old.token_id) == (0, None)


def test_a_password_change_keeps_the_token_that_asked_and_revokes_every_other() -> None:
    uow = FakeConsoleUnitOfWork([user("op", "first-pass-1")])
    here, laptop, phone = (signed_in_as(uow, "op", "first-pass-1") for _ in range(3))
    principal = accounts.signed_in(uow, SECRET, here, NOW)

    accounts.change_password(uow, principal, accounts.PasswordChange("first-pass-1",
                             "second-pass-2"), NOW)  # fmt: skip

    assert still_signed_in(uow, here)
    assert not still_signed_in(uow, laptop) and not still_signed_in(uow, phone)
    assert domain.verify_password("second-pass-2", uow.committed.users["op"].password_hash)
    fresh = signed_in_as(uow, "op", "second-pass-2")  # the new password signs in
    assert still_signed_in(uow, fresh) and still_signed_in(uow, here)


def test_a_wrong_old_password_is_refused_naming_it_and_counts_as_a_failed_login() -> None:
    uow = FakeConsoleUnitOfWork([user("op", "first-pass-1")])
    principal = accounts.signed_in(uow, SECRET, signed_in_as(uow, "op", "first-pass-1"), NOW)
    wrong = accounts.PasswordChange("not-it", "second-pass-2")

    for _ in range(domain.MAX_FAILURES):
        with pytest.raises(BadFields) as refused:
            accounts.change_password(uow, principal, wrong, NOW)
        assert refused.value.problems == [("old", "原密码不正确")]
    with pytest.raises(TooManyLogins):  # a stolen token cannot go on guessing
        accounts.change_password(uow, principal, wrong, NOW)
    assert domain.verify_password("first-pass-1", uow.committed.users["op"].password_hash)


@pytest.mark.parametrize(
    ("new", "reason"),
    [("short-1", "至少需要 10 个字符"), ("onlyletterspassword", "至少两类"),
     ("op-password-1", "不能包含用户名"), ("first-pass-1", "不能与原密码相同")],
)  # fmt: skip
def test_a_weak_new_password_is_refused_with_the_reason(new: str, reason: str) -> None:
    uow = FakeConsoleUnitOfWork([user("op", "first-pass-1")])
    token = signed_in_as(uow, "op", "first-pass-1")
    principal = accounts.signed_in(uow, SECRET, token, NOW)

    with pytest.raises(BadFields) as refused:
        accounts.change_password(uow, principal, accounts.PasswordChange("first-pass-1", new),
                                 NOW)  # fmt: skip

    assert all(field == "new" for field, _ in refused.value.problems)
    assert any(reason in problem for _, problem in refused.value.problems)
    assert still_signed_in(uow, token)  # nothing changed
    assert domain.verify_password("first-pass-1", uow.committed.users["op"].password_hash)


def test_a_password_change_body_names_each_missing_field() -> None:
    with pytest.raises(BadFields) as refused:
        accounts.PasswordChange.of({"old": "", "new": 5})
    assert [field for field, _ in refused.value.problems] == ["old", "new"]


def test_signing_out_everywhere_revokes_every_token_this_one_too() -> None:
    uow = FakeConsoleUnitOfWork([user("op", "first-pass-1")])
    here, other = signed_in_as(uow, "op", "first-pass-1"), signed_in_as(uow, "op", "first-pass-1")

    accounts.sign_out_everywhere(uow, accounts.signed_in(uow, SECRET, here, NOW))

    assert not still_signed_in(uow, here) and not still_signed_in(uow, other)
    assert still_signed_in(uow, signed_in_as(uow, "op", "first-pass-1"))
    with pytest.raises(domain.AuthError, match="revoked"):
        accounts.signed_in(uow, SECRET, here, NOW)


def test_a_token_of_a_removed_user_is_refused() -> None:
    uow = FakeConsoleUnitOfWork([user("op", "first-pass-1")])
    token = signed_in_as(uow, "op", "first-pass-1")
    del uow.committed.users["op"]
    assert not still_signed_in(uow, token)


# --- stream tickets ---------------------------------------------------------------------------


def test_a_stream_ticket_opens_the_stream_once_as_its_user() -> None:
    uow = FakeConsoleUnitOfWork([user("hbj", "first-pass-1", "handler", unit="D-HBJ")])
    principal = accounts.signed_in(uow, SECRET, signed_in_as(uow, "hbj", "first-pass-1"), NOW)

    issued = accounts.issue_stream_ticket(uow, principal, NOW)

    assert issued["expires_in"] == accounts.STREAM_TICKET_SECONDS
    assert issued["ticket"] not in uow.committed.stream_tickets  # only its hash is kept
    opened = accounts.redeem_stream_ticket(uow, issued["ticket"], NOW + timedelta(seconds=5))
    assert (opened.user, opened.role, opened.unit) == ("hbj", "handler", "D-HBJ")
    with pytest.raises(domain.AuthError, match="unknown, used or expired"):
        accounts.redeem_stream_ticket(uow, issued["ticket"], NOW + timedelta(seconds=6))


def test_a_stream_ticket_expires_and_expired_ones_are_swept() -> None:
    uow = FakeConsoleUnitOfWork([user("op", "first-pass-1")])
    principal = accounts.signed_in(uow, SECRET, signed_in_as(uow, "op", "first-pass-1"), NOW)
    late = accounts.issue_stream_ticket(uow, principal, NOW)["ticket"]

    with pytest.raises(domain.AuthError):
        accounts.redeem_stream_ticket(uow, late, NOW + timedelta(seconds=30))
    accounts.issue_stream_ticket(uow, principal, NOW)
    accounts.issue_stream_ticket(uow, principal, NOW + timedelta(minutes=1))
    assert len(uow.committed.stream_tickets) == 1  # the earlier one was swept


def test_signing_out_everywhere_spends_the_users_stream_tickets() -> None:
    uow = FakeConsoleUnitOfWork([user("op", "first-pass-1")])
    principal = accounts.signed_in(uow, SECRET, signed_in_as(uow, "op", "first-pass-1"), NOW)
    ticket = accounts.issue_stream_ticket(uow, principal, NOW)["ticket"]

    accounts.sign_out_everywhere(uow, principal)

    with pytest.raises(domain.AuthError):
        accounts.redeem_stream_ticket(uow, ticket, NOW)


# --- phone search -----------------------------------------------------------------------------


def a_case(case_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": case_id, "status": "dispatched", "channel": "hotline", "risk": "red",
        "category": "environment.noise", "level": "district", "content": "噪音扰民",
        "received_at": "2026-11-21T02:00:00+00:00", "actions": [],
        "assignee": {"kind": "department", "code": "D-HBJ", "name": "市生态环境局县分局"},
        "deadlines": {"resolve_by": "2026-11-28T10:00:00+00:00"}, **extra,
    }  # fmt: skip


def test_phone_search_asks_intake_by_the_index_and_dispatch_by_the_case_ids() -> None:
    index = phones.blind_index(KEY, "13912345678")
    intake = FakeIntake({}, {index: ["CF-1", "CF-3"]})
    dispatch = FakeDispatch(a_case("CF-1"), a_case("CF-2"), a_case("CF-3"))
    search = cases.PhoneSearch(intake, KEY)

    found = cases.list_cases(dispatch, HBJ, cases.CaseQuery(phone="+86 139 1234 5678"), search)

    assert [c["case_id"] for c in found["items"]] == ["CF-1", "CF-3"]
    assert intake.asked == [index]  # the index, never the number
    assert dispatch.filtered == [{"case_ids": ["CF-1", "CF-3"]}]
    assert dispatch.listed == [["D-HBJ"]]  # the user's reach still applies
    assert "13912345678" not in repr(found)


def test_a_number_nobody_has_finds_nothing_and_a_part_number_is_refused() -> None:
    dispatch = FakeDispatch(a_case("CF-1"))
    search = cases.PhoneSearch(FakeIntake({}), KEY)

    found = cases.list_cases(dispatch, OPERATOR, cases.CaseQuery(phone="13800000000"), search)
    assert (found["items"], found["total"], dispatch.listed) == ([], 0, [])
    with pytest.raises(BadField) as refused:
        cases.list_cases(dispatch, OPERATOR, cases.CaseQuery(phone="1380000"), search)
    assert refused.value.field == "phone" and "1380000" not in str(refused.value)


def test_intake_stores_each_numbers_index_and_answers_it_with_the_case_ids() -> None:
    from contracts.inbound import HOTLINE, HotlineTicket
    from services.intake import handlers as intake
    from services.intake.commands import NewSubmission
    from services.intake.config import load_config
    from tests.support.fake_intake import FakeIntakeUnitOfWork

    config = load_config(Settings(env="dev", config_dir=CONFIG_DIR))
    uow = FakeIntakeUnitOfWork()
    made = []
    for n, phone in enumerate(["+86 139 1234 5678", "13900000000", "139-1234-5678"]):
        payload = HotlineTicket.model_validate({
            "ticket_no": f"T-{n}", "received_at": (NOW + timedelta(minutes=n)).isoformat(),
            "caller": {"phone": phone}, "content": f"第{n}件事"})  # fmt: skip
        new = NewSubmission.of(HOTLINE, payload, "hotline", "http")
        made.append(intake.store_submission(uow, new, config, NOW)[0])

    index = phones.blind_index(config.phone_index_key, "13912345678")
    assert queries.case_ids_by_phone(uow, index) == [made[2], made[0]]  # newest first
    stored = [row.phone_index for row in uow.committed.submissions.rows.values()]
    assert stored.count(index) == 2 and not any("1391234" in str(v) for v in stored)
    with pytest.raises(ValueError, match="blind_index"):
        queries.case_ids_by_phone(uow, "13912345678")


def test_older_submissions_get_their_index_where_a_key_opens_the_number() -> None:
    vault = PhoneVault((Fernet.generate_key().decode(),), "h")
    stranger = PhoneVault((Fernet.generate_key().decode(),), "h")
    engine = create_engine("sqlite://")
    IntakeBase.metadata.create_all(engine)
    table = Submission.__table__
    common = {"source": "hotline", "channel": "hotline", "transport": "http", "case": {},
              "content": "x", "risk": "blue", "received_at": NOW, "created_at": NOW}  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(table), [
            {**common, "case_id": "CF-1", "external_id": "1",
             "reporter_phone_sealed": vault.seal("13912345678")},
            {**common, "case_id": "CF-2", "external_id": "2",
             "reporter_phone_sealed": stranger.seal("13900000000")},
            {**common, "case_id": "CF-3", "external_id": "3", "reporter_phone_sealed": None},
        ])  # fmt: skip
        done = fill_phone_index(connection, vault, KEY, batch=1)
        indexed = dict(connection.execute(select(table.c.case_id, table.c.phone_index)).all())
    assert (done.filled, done.unreadable) == (1, 1)
    assert indexed == {"CF-1": phones.blind_index(KEY, "13912345678"), "CF-2": None, "CF-3": None}


# --- export -----------------------------------------------------------------------------------


def test_the_export_walks_every_page_within_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cases, "EXPORT_PAGE", 2)
    dispatch = FakeDispatch(*(a_case(f"CF-{n}") for n in range(5)))

    query = cases.CaseQuery(filters=CaseListFilters(risk="red"))
    pages = list(cases.walk_cases(dispatch, HBJ, query))

    assert [[c["case_id"] for c in page] for page in pages] == [
        ["CF-0", "CF-1"], ["CF-2", "CF-3"], ["CF-4"]]  # fmt: skip
    assert dispatch.listed == [["D-HBJ"]] * 3
    assert dispatch.filtered == [{"risk": "red"}] * 3


def test_a_case_row_names_everything_in_chinese_and_masks_the_numbers() -> None:
    case = a_case("CF-1", content="请回电13912345678", citizen={"name": "王先生",
                  "phone": "13912345678"}, address="城关街道5号")  # fmt: skip

    row = export.case_row(case, {"environment.noise": "噪声污染"})

    assert row == [
        "CF-1", "2026-11-21 10:00", "12345热线", "噪声污染", "红", "已派单", "市生态环境局县分局",
        "区县", "请回电139****5678", "城关街道5号", "王先生", "139****5678", "2026-11-28 18:00",
    ]  # fmt: skip
    unknown = export.case_row(a_case("CF-2", category="x.y", status="new_state"), {})
    assert "x.y" not in unknown and "new_state" not in unknown  # no raw code shown


def test_the_format_must_be_csv_or_xlsx() -> None:
    assert export.export_format("csv") == "csv" and export.export_format("xlsx") == "xlsx"
    for wrong in (None, "", "xls", "CSV"):
        with pytest.raises(BadField) as refused:
            export.export_format(wrong)
        assert refused.value.field == "format"


def test_csv_has_a_bom_the_headers_and_no_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "CHUNK_BYTES", 64)  # many chunks: the BOM only once
    rows = [["CF-1", '=HYPERLINK("x")'], *([["CF-2", "噪音"]] * 20)]

    chunks = list(tabular.csv_chunks(["工单编号", "内容"], rows))

    data = b"".join(chunks)
    assert len(chunks) > 2 and data.startswith(tabular.BOM) and data.count(tabular.BOM) == 1
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert read[0] == ["工单编号", "内容"] and read[1] == ["CF-1", '\'=HYPERLINK("x")']
    assert len(read) == 22


def test_xlsx_opens_with_the_headers_and_the_rows_as_written(tmp_path: Path) -> None:
    rows: list[list[tabular.Cell]] = [["CF-1", "=1+1", 3, None], ["CF-2", "噪音", 4.5, "x"]]

    path = tmp_path / "out.xlsx"
    path.write_bytes(b"".join(tabular.xlsx_chunks(["编号", "内容", "数", "备注"], rows, "工单")))

    sheet = openpyxl.load_workbook(path)["工单"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["编号", "内容", "数", "备注"],
        ["CF-1", "=1+1", 3, None],
        ["CF-2", "噪音", 4.5, "x"],
    ]
    assert sheet["B2"].data_type == "s"  # text, never a formula


def test_a_chinese_file_name_travels_as_filename_star() -> None:
    header = tabular.attachment("工单导出-20261121-1000.csv")
    assert header.startswith('attachment; filename="____-20261121-1000.csv"')
    assert "filename*=UTF-8''%E5%B7%A5%E5%8D%95" in header
