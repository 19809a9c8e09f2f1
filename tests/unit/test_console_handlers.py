"""The console's handlers over the in-memory unit of work and stand-ins for the other
services: sign-in and its throttle on the clock given, each user's reach, actions forwarded in
the user's name, the audited reveal of a number, the big screen's counts and administration."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from contracts.event_data import CaseClosed, CaseEscalated, CaseReceived, Reporter, SlaOverdue
from contracts.events import CASE_CLOSED, CASE_ESCALATED, CASE_RECEIVED, SLA_OVERDUE, Envelope
from kit.pii import PhoneVault
from services.console import admin, cases, domain, handlers, screen
from services.console.models import User
from services.console.refusals import BadField, Clash, NotFound, NotPermitted, TooManyLogins
from tests.support.fake_console import (
    FakeConsoleUnitOfWork,
    FakeDispatch,
    FakeGrid,
    FakeIntake,
    FakeSupervision,
)

SECRET = "console-test-secret"
SIGN_IN = handlers.SignIn(SECRET, dev_users_allowed=False)
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
PHONE = "13911110001"

HBJ = domain.Principal("hbj", "handler", 0, "D-HBJ")
ZJJ = domain.Principal("zjj", "handler", 0, "D-ZJJ")
STREET = domain.Principal("street", "supervisor", 0, "S-001")
OPERATOR = domain.Principal("operator", "operator", 0)
ADMIN = domain.Principal("admin", "admin", 0)


def user(username: str, password: str, role: str = "handler", **extra: Any) -> User:
    fields = {"unit": "D-HBJ", "dev_only": False, "display": "", **extra}
    return User(username=username, password_hash=domain.hash_password(password), role=role,
                **fields)  # fmt: skip


def case(case_id: str, holder: str, street: str = "S-001", **extra: Any) -> dict[str, Any]:
    """A case as dispatch shows it: held by ``holder``, lying in ``street``."""
    return {
        "case_id": case_id, "status": "dispatched", "risk": "blue",
        "actions": ["accept", "return", "escalate", "extend", "feedback"],
        "assignee": {"kind": "department", "code": holder, "name": holder},
        "helpers": [], "place": [{"code": street, "level": "street"}], **extra,
    }  # fmt: skip


@pytest.fixture
def dispatch() -> FakeDispatch:
    return FakeDispatch(case("CF-COUNTY", "D-HBJ", "S-002"), case("CF-STREET", "D-ZJJ"))


# --- who you are -------------------------------------------------------------------------------


def test_a_good_login_gets_a_token_that_names_the_user_and_lasts_eight_hours() -> None:
    uow = FakeConsoleUnitOfWork([user("hbj", "right-password", display="环保局")])

    signed_in = handlers.login(uow, handlers.Login("hbj", "right-password", "10.0.0.1"),
                               SIGN_IN, NOW)  # fmt: skip

    assert {k: v for k, v in signed_in.items() if k != "token"} == {
        "token_type": "bearer", "username": "hbj", "role": "handler", "unit": "D-HBJ",
        "display": "环保局",
    }  # fmt: skip
    principal = handlers.principal(SECRET, signed_in["token"], NOW + timedelta(hours=8))
    assert (principal.user, principal.role, principal.unit) == ("hbj", "handler", "D-HBJ")
    with pytest.raises(domain.AuthError, match="token expired"):
        handlers.principal(SECRET, signed_in["token"], NOW + timedelta(hours=8, seconds=1))


def test_a_wrong_password_and_an_unknown_user_get_one_answer_and_are_counted() -> None:
    uow = FakeConsoleUnitOfWork([user("hbj", "right-password")])

    for name in ("hbj", "nobody"):
        with pytest.raises(domain.AuthError, match=r"^wrong username or password$"):
            handlers.login(uow, handlers.Login(name, "wrong", "10.0.0.1"), SIGN_IN, NOW)

    stored = uow.committed.failures_by_key
    assert {key: row.failures for key, row in stored.items()} == {
        "user:hbj": 1, "user:nobody": 1, "addr:10.0.0.1": 2,
    }  # fmt: skip


def test_five_wrong_passwords_lock_the_user_for_the_rest_of_fifteen_minutes() -> None:
    uow = FakeConsoleUnitOfWork([user("hbj", "right-password")])
    for n in range(domain.MAX_FAILURES):
        with pytest.raises(domain.AuthError):
            handlers.login(uow, handlers.Login("hbj", "wrong", f"10.0.0.{n}"), SIGN_IN, NOW)
    good = handlers.Login("hbj", "right-password", "10.0.0.9")

    with pytest.raises(TooManyLogins) as locked:
        handlers.login(uow, good, SIGN_IN, NOW + timedelta(minutes=5))
    assert locked.value.wait == 600.0
    assert str(locked.value) == "too many failed logins; try again in 601 s"

    handlers.login(uow, good, SIGN_IN, NOW + timedelta(minutes=15))  # the window is over
    assert "user:hbj" not in uow.committed.failures_by_key  # and a good login forgets


def test_a_demo_user_signs_in_only_where_demo_users_are_allowed() -> None:
    uow = FakeConsoleUnitOfWork([user("demo", "demo-password", dev_only=True)])
    attempt = handlers.Login("demo", "demo-password", None)

    with pytest.raises(domain.AuthError):
        handlers.login(uow, attempt, SIGN_IN, NOW)
    assert "addr:None" in uow.committed.failures_by_key
    dev = handlers.SignIn(SECRET, dev_users_allowed=True)
    assert handlers.login(uow, attempt, dev, NOW)["username"] == "demo"


def test_an_old_password_hash_is_replaced_at_a_good_login() -> None:
    old = user("hbj", "right-password")
    digest = hashlib.scrypt(b"right-password", salt=b"\x00", n=2**14, r=8, p=1)
    old.password_hash = f"scrypt$00${digest.hex()}"  # as the first release stored them
    uow = FakeConsoleUnitOfWork([old])

    handlers.login(uow, handlers.Login("hbj", "right-password", None), SIGN_IN, NOW)

    stored = uow.committed.users["hbj"].password_hash
    assert stored.startswith("$argon2") and domain.verify_password("right-password", stored)


def test_me_is_refused_for_a_user_removed_since_the_token() -> None:
    uow = FakeConsoleUnitOfWork([user("hbj", "right-password", display="环保局")])
    assert handlers.me(uow, HBJ)["display"] == "环保局"
    with pytest.raises(domain.AuthError, match="no such user any more"):
        handlers.me(uow, ZJJ)


# --- reach: outside it a case does not exist ---------------------------------------------------


def test_a_handler_sees_only_the_cases_its_unit_holds(dispatch: FakeDispatch) -> None:
    assert cases.get_case(dispatch, HBJ, "CF-COUNTY")["case_id"] == "CF-COUNTY"
    with pytest.raises(NotFound, match=r"^no case CF-STREET$"):
        cases.get_case(dispatch, HBJ, "CF-STREET")
    with pytest.raises(NotFound, match=r"^no case CF-NONE$"):
        cases.get_case(dispatch, HBJ, "CF-NONE")


def test_a_supervisor_sees_the_cases_lying_in_its_subtree(dispatch: FakeDispatch) -> None:
    assert cases.get_case(dispatch, STREET, "CF-STREET")["case_id"] == "CF-STREET"
    with pytest.raises(NotFound):
        cases.get_case(dispatch, STREET, "CF-COUNTY")


def test_a_case_list_asks_for_the_units_within_reach(dispatch: FakeDispatch) -> None:
    for principal in (HBJ, OPERATOR, ADMIN):
        cases.list_cases(dispatch, principal, cases.CaseQuery())
    cases.list_cases(dispatch, domain.Principal("op2", "operator", 0, "C-1"),
                     cases.CaseQuery(mine=True))  # fmt: skip
    cases.list_cases(dispatch, domain.Principal("lost", "handler", 0), cases.CaseQuery())
    assert dispatch.listed == [["D-HBJ"], None, None, ["C-1"], []]


def test_each_case_shows_only_the_actions_the_role_may_take(dispatch: FakeDispatch) -> None:
    page = cases.list_cases(dispatch, HBJ, cases.CaseQuery())
    assert {a for item in page["items"] for a in item["actions"]} == {
        "accept", "return", "escalate", "extend", "feedback",
    }  # fmt: skip
    seen = cases.get_case(dispatch, STREET, "CF-STREET")
    assert seen["actions"] == ["escalate", "extend", "supervise"]


# --- lifecycle actions, carried out by dispatch --------------------------------------------------


def test_an_action_is_forwarded_once_validated_in_the_users_name(dispatch: FakeDispatch) -> None:
    command = cases.Act("CF-COUNTY", "feedback", {"note": "已联系"}, key="k-1")

    answered = cases.act(dispatch, HBJ, command)

    assert dispatch.acted == [
        ("CF-COUNTY", {"action": "feedback", "note": "已联系", "on_behalf_of": None,
                       "expected_version": None},
         {"user": "hbj", "role": "handler", "unit": "D-HBJ"}, "k-1"),
    ]  # fmt: skip
    assert answered["status"] == "acted" and "supervise" not in answered["actions"]


def test_an_admin_acts_for_the_unit_it_names_a_handler_only_for_its_own(
    dispatch: FakeDispatch,
) -> None:
    body = {"note": "已处理", "on_behalf_of": "D-ZJJ"}
    cases.act(dispatch, ADMIN, cases.Act("CF-COUNTY", "feedback", body))
    cases.act(dispatch, HBJ, cases.Act("CF-COUNTY", "feedback", body))
    assert [actor for (_, _, actor, _) in dispatch.acted] == [
        {"user": "admin", "role": "admin", "unit": "D-ZJJ"},
        {"user": "hbj", "role": "handler", "unit": "D-HBJ"},
    ]


def test_nothing_is_forwarded_that_is_out_of_reach_forbidden_or_invalid(
    dispatch: FakeDispatch,
) -> None:
    with pytest.raises(NotFound, match=r"^no case CF-STREET$"):
        cases.act(dispatch, HBJ, cases.Act("CF-STREET", "accept", {}))
    with pytest.raises(NotFound, match=r"^no action 'fly'$"):
        cases.act(dispatch, HBJ, cases.Act("CF-COUNTY", "fly", {}))
    with pytest.raises(NotPermitted, match=r"^a operator may not accept$"):
        cases.act(dispatch, OPERATOR, cases.Act("CF-COUNTY", "accept", {}))
    with pytest.raises(ValidationError) as invalid:
        cases.act(dispatch, HBJ, cases.Act("CF-COUNTY", "feedback", {}))
    assert invalid.value.errors()[0]["loc"] == ("note",)
    assert dispatch.acted == []


def test_one_click_for_many_needs_the_right_and_a_list_of_ids(dispatch: FakeDispatch) -> None:
    with pytest.raises(NotPermitted):
        cases.dispatch_many(dispatch, HBJ, ["CF-COUNTY"], None)
    with pytest.raises(BadField) as bad:
        cases.dispatch_many(dispatch, OPERATOR, "CF-COUNTY", None)
    assert (bad.value.field, bad.value.problem) == ("case_ids", "a list of case ids")
    answers = cases.dispatch_many(dispatch, OPERATOR, ["CF-COUNTY", "CF-STREET"], "k")
    assert [a["case_id"] for a in answers] == ["CF-COUNTY", "CF-STREET"]
    assert {actor["user"] for (_, _, actor, _) in dispatch.acted} == {"operator"}


def test_an_order_is_issued_on_a_case_in_reach_by_one_who_may(dispatch: FakeDispatch) -> None:
    supervision = FakeSupervision()
    with pytest.raises(NotFound):
        cases.supervise(dispatch, supervision, STREET, "CF-COUNTY", {"grade": "red"})
    with pytest.raises(NotFound):  # out of reach answers before the right is looked at
        cases.supervise(dispatch, supervision, ZJJ, "CF-COUNTY", {"grade": "red"})
    with pytest.raises(NotPermitted):
        cases.supervise(dispatch, supervision, ZJJ, "CF-STREET", {"grade": "red"})
    order = {"grade": "yellow", "note": "请加快"}
    assert cases.supervise(dispatch, supervision, STREET, "CF-STREET", order)["issued_by"] == (
        "street"
    )
    assert supervision.orders == [("CF-STREET", order, "street")]


def test_boards_subscriptions_and_assessment_in_the_users_name(dispatch: FakeDispatch) -> None:
    supervision = FakeSupervision()
    cases.board(supervision, STREET)
    cases.board(supervision, OPERATOR)
    assert supervision.boards == [["S-001"], None]
    made = cases.subscribe(supervision, STREET, {"subscriber": "someone-else", "risk": "red"})
    assert made["subscriber"] == "street"
    with pytest.raises(NotPermitted):
        cases.subscribe(supervision, HBJ, {})
    with pytest.raises(NotPermitted):
        cases.assessment(supervision, HBJ, "2026-11", None)
    assert cases.assessment(supervision, OPERATOR, "2026-11", "grid")["period"] == "2026-11"


def test_the_map_shows_open_cases_with_a_place_and_refuses_unknown_levels() -> None:
    located = {"lat": 36.1, "lon": 116.1}
    dispatch = FakeDispatch(
        case("CF-1", "D-HBJ", location=located),
        case("CF-2", "D-HBJ", location=located, status="closed"),
        case("CF-3", "D-HBJ", location=None),
    )
    shown = cases.case_map(dispatch, FakeGrid(), HBJ, "street")
    assert [c["case_id"] for c in shown["cases"]] == ["CF-1"]
    assert shown["units"][0]["level"] == "street" and dispatch.listed == [["D-HBJ"]]
    with pytest.raises(BadField, match=r"^level: 'planet' is not a level$"):
        cases.case_map(dispatch, FakeGrid(), HBJ, "planet")


# --- the citizen's number ------------------------------------------------------------------------


@pytest.fixture
def vault() -> PhoneVault:
    return PhoneVault((Fernet.generate_key().decode(),), "hash-key")


def test_the_holder_sees_the_number_and_the_view_is_audited(
    dispatch: FakeDispatch, vault: PhoneVault
) -> None:
    uow, intake = FakeConsoleUnitOfWork(), FakeIntake({"CF-COUNTY": vault.seal(PHONE)})
    wanted = handlers.RevealPhone("CF-COUNTY", "203.0.113.7")

    phone = handlers.reveal_phone(uow, dispatch, intake, vault, HBJ, wanted, NOW)

    assert phone == PHONE
    assert uow.committed.phone_views == [("hbj", "CF-COUNTY", "203.0.113.7", NOW)]


def test_no_one_but_the_holder_sees_the_number_and_nothing_is_audited(
    dispatch: FakeDispatch, vault: PhoneVault
) -> None:
    uow, intake = FakeConsoleUnitOfWork(), FakeIntake({"CF-COUNTY": vault.seal(PHONE)})
    for principal in (ADMIN, OPERATOR, ZJJ):
        with pytest.raises(NotFound):
            handlers.reveal_phone(uow, dispatch, intake, vault, principal,
                                  handlers.RevealPhone("CF-COUNTY", None), NOW)  # fmt: skip
    with pytest.raises(NotFound, match=r"^no number to show for CF-COUNTY$"):
        handlers.reveal_phone(uow, dispatch, FakeIntake({}), vault, HBJ,
                              handlers.RevealPhone("CF-COUNTY", None), NOW)  # fmt: skip
    assert uow.committed.phone_views == []


def test_a_view_from_an_unknown_address_is_audited_as_a_dash(
    dispatch: FakeDispatch, vault: PhoneVault
) -> None:
    uow, intake = FakeConsoleUnitOfWork(), FakeIntake({"CF-COUNTY": vault.seal(PHONE)})
    handlers.reveal_phone(uow, dispatch, intake, vault, HBJ,
                          handlers.RevealPhone("CF-COUNTY", None), NOW)  # fmt: skip
    assert uow.committed.phone_views == [("hbj", "CF-COUNTY", "-", NOW)]


# --- the big screen ------------------------------------------------------------------------------


def received(channel: str, at: datetime) -> Envelope[Any]:
    data = CaseReceived(channel=channel, source=channel, external_id="T-1", reporter=Reporter(),
                        content="路灯坏了", received_at=at)  # fmt: skip
    return CASE_RECEIVED.new(data, "CF-1", at)


SIX_FIGURES = ("date", "received", "received_at_desk", "handled_at_desk", "dispatched",
               "overdue", "escalated", "closed", "satisfaction_rate")  # fmt: skip


def test_the_screen_counts_each_event_once_on_its_beijing_day() -> None:
    late = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)  # 01:00 on the 22nd in Beijing
    events = [
        received("hotline", NOW), received("grid", NOW), received("hotline", late),
        SLA_OVERDUE.new(SlaOverdue(clock="respond", due_at=NOW), "CF-1", NOW),
        CASE_ESCALATED.new(CaseEscalated(from_level="grid", to_level="street", reason="超时"),
                           "CF-1", NOW),
        CASE_CLOSED.new(CaseClosed(satisfaction="satisfied", by="回访员"), "CF-1", NOW),
        CASE_CLOSED.new(CaseClosed(satisfaction="unsatisfied", by="回访员"), "CF-2", NOW),
        CASE_CLOSED.new(CaseClosed(by="auto"), "CF-3", NOW),
    ]  # fmt: skip
    uow = FakeConsoleUnitOfWork()

    screen.count_events(uow, events)

    figures = screen.screen(uow, NOW)
    assert {key: figures[key] for key in SIX_FIGURES} == {
        "date": "2026-11-21",
        "received": {"hotline": 1, "grid": 1, "opinion": 0, "petition": 0},
        "received_at_desk": 0, "handled_at_desk": 0,
        "dispatched": 0, "overdue": 1, "escalated": 1, "closed": 3,
        "satisfaction_rate": 0.5,
    }  # fmt: skip
    assert screen.screen(uow, late)["received"]["hotline"] == 1


def test_an_event_delivered_again_counts_nothing() -> None:
    first, second = received("hotline", NOW), received("petition", NOW)
    uow = FakeConsoleUnitOfWork()
    screen.count_events(uow, [first])
    before = screen.screen(uow, NOW)

    screen.count_events(uow, [first, first])  # redelivered, twice in one batch
    assert screen.screen(uow, NOW) == before

    screen.count_events(uow, [first, second, second])
    after = screen.screen(uow, NOW)["received"]
    assert (after["hotline"], after["petition"]) == (1, 1)
    assert uow.commits == 3


def test_a_batch_that_fails_counts_nothing_and_can_be_counted_again() -> None:
    event = received("hotline", NOW)
    broken = CASE_CLOSED.new(CaseClosed(by="auto"), "CF-1", NOW).model_copy(
        update={"type": "case.unknown"}
    )
    uow = FakeConsoleUnitOfWork()

    with pytest.raises(KeyError):
        screen.count_events(uow, [event, broken])
    assert uow.committed.daily_counts == {} and uow.committed.processed == set()

    screen.count_events(uow, [event])
    assert screen.screen(uow, NOW)["received"]["hotline"] == 1


# --- administration ------------------------------------------------------------------------------


def test_only_an_admin_administers() -> None:
    assert admin.must_be_admin(ADMIN) == ADMIN
    with pytest.raises(NotPermitted, match=r"^administrators only$"):
        admin.must_be_admin(OPERATOR)


def test_an_admin_adds_and_removes_users_but_not_twice_nor_itself() -> None:
    uow = FakeConsoleUnitOfWork([user("admin", "admin-password", role="admin", unit=None)])
    body = {"username": "gaj1", "password": "a-long-password", "role": "handler",
            "unit": "D-GAJ", "display": "公安局值班"}  # fmt: skip

    assert admin.add_user(uow, body) == {
        "username": "gaj1", "role": "handler", "unit": "D-GAJ", "display": "公安局值班",
    }  # fmt: skip
    with pytest.raises(Clash, match=r"^user gaj1 exists$"):
        admin.add_user(uow, body)
    with pytest.raises(admin.BadUser, match=r"^username"):
        admin.add_user(uow, {**body, "username": "X"})
    assert [u["username"] for u in admin.users(uow)] == ["admin", "gaj1"]

    with pytest.raises(Clash, match=r"^you cannot remove yourself$"):
        admin.remove_user(uow, ADMIN, "admin")
    admin.remove_user(uow, ADMIN, "gaj1")
    with pytest.raises(NotFound, match=r"^no user gaj1$"):
        admin.remove_user(uow, ADMIN, "gaj1")
    assert list(uow.committed.users) == ["admin"]
