"""The centre's desk over in-memory units of work and services: registering a matter (the
console's checks, intake's store and ``case.received``), 直办 concluded at once by dispatch,
the receiver's notice (首问负责), the case's particulars, and the 待回访 clock and list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.desk import DeskRegistration, particulars_of, revisit_by
from contracts.events import (
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_RECEIVED,
    SLA_OVERDUE,
    SLA_WARNING,
    CaseClosed,
    CaseConcluded,
    CaseReceived,
    Envelope,
    Reporter,
)
from contracts.listing import CaseListFilters
from kernel.sla import SlaPolicy
from kit.settings import Settings
from services.console import cases, desk, domain, screen
from services.console.refusals import BadField, NotFound, NotPermitted
from services.dispatch import handlers as dispatch_handlers
from services.dispatch.config import load_config as dispatch_config
from services.intake import handlers as intake_handlers
from services.intake import queries
from services.intake.commands import NewSubmission
from services.intake.config import load_config as intake_config
from services.supervision import handlers as supervision_handlers
from tests.support.fake_console import (
    FakeConsoleUnitOfWork,
    FakeDispatch,
    FakeIntake,
    FakeSupervision,
)
from tests.support.fake_dispatch import FakeDispatchUnitOfWork, FakeGrid
from tests.support.fake_intake import FakeIntakeUnitOfWork
from tests.support.fake_supervision import FakeSupervisionUnitOfWork

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in the county
OPERATOR = domain.Principal("op-li", "operator", 0)
HANDLER = domain.Principal("h-1", "handler", 0, "D-HBJ")
CATEGORIES = {"environment.noise": "噪声扰民"}
WALK_IN: dict[str, Any] = {
    "line": "hotline",
    "form": "visit",
    "citizen": {"name": "张阿姨", "phone": "13800001111"},
    "content": "小区门口夜市噪音扰民",
    "category": "environment.noise",
    "address": "城关街道幸福社区5号楼",
}


def no_pause(seconds: float) -> None:
    pass


# --- the console: 登记 ----------------------------------------------------------------------


def register(
    body: dict[str, Any], key: str | None = None, principal: domain.Principal = OPERATOR
) -> tuple[FakeIntake, FakeDispatch, dict[str, Any], bool]:
    intake, dispatch = FakeIntake({}), FakeDispatch()
    case, replayed = desk.register(
        intake, dispatch, principal, desk.Register(body, key), CATEGORIES, no_pause
    )
    return intake, dispatch, case, replayed


def test_a_walk_in_is_handed_to_intake_in_the_operators_name() -> None:
    intake, _, case, replayed = register(WALK_IN, key="k-1")

    [(handed, received_by, key)] = intake.registered
    assert (received_by, key) == ("op-li", "k-1")
    assert handed["citizen"] == {"name": "张阿姨", "phone": "13800001111"}
    # dispatch has not routed it yet: answered as received, the number masked
    assert (case["case_id"], case["status"], case["received_by"]) == ("CF-D1", "received", "op-li")
    assert case["citizen"] == {"name": "张阿姨", "phone": "138****1111"}
    assert case["source"] == "centre" and not replayed


def test_the_case_is_answered_as_dispatch_routed_it_when_it_has() -> None:
    intake, dispatch = FakeIntake({}), FakeDispatch({"case_id": "CF-D1", "status": "dispatched"})
    case, _ = desk.register(
        intake, dispatch, OPERATOR, desk.Register(WALK_IN), CATEGORIES, no_pause
    )
    assert case["status"] == "dispatched"


def test_the_same_key_again_answers_the_same_case() -> None:
    intake, dispatch = FakeIntake({}), FakeDispatch()
    first, _ = desk.register(
        intake, dispatch, OPERATOR, desk.Register(WALK_IN, "k"), CATEGORIES, no_pause
    )
    again, replayed = desk.register(
        intake, dispatch, OPERATOR, desk.Register(WALK_IN, "k"), CATEGORIES, no_pause
    )
    assert again["case_id"] == first["case_id"] and replayed


def test_only_operators_and_admins_register() -> None:
    with pytest.raises(NotPermitted):
        register(WALK_IN, principal=HANDLER)


def test_every_field_at_fault_is_named() -> None:
    bad = {**WALK_IN, "line": "fax", "form": "pigeon", "content": "", "citizen": {"phone": "12"}}
    with pytest.raises(ValidationError) as refused:
        register(bad)
    named = {tuple(e["loc"]) for e in refused.value.errors()}
    assert {("line",), ("form",), ("content",), ("citizen", "phone")} <= named


def test_a_category_outside_the_catalogue_is_refused_by_name() -> None:
    with pytest.raises(BadField) as refused:
        register({**WALK_IN, "category": "no.such"})
    assert refused.value.field == "category"


def test_my_registered_cases_are_those_received_by_me() -> None:
    dispatch = FakeDispatch()
    query = cases.CaseQuery(filters=CaseListFilters(received_by="me"))
    cases.list_cases(dispatch, OPERATOR, query)
    assert dispatch.filtered == [{"received_by": "op-li"}]


# --- intake: stored as every submission, told as case.received -------------------------------


@pytest.fixture(scope="module")
def intake_settings() -> Any:
    return intake_config(Settings(env="dev", config_dir=CONFIG_DIR))


def at_desk(body: dict[str, Any], user: str = "op-li", key: str | None = None) -> NewSubmission:
    return NewSubmission.at_desk(DeskRegistration.model_validate(body), user, key, NOW)


def test_intake_stores_a_desk_registration_as_source_centre(intake_settings: Any) -> None:
    uow = FakeIntakeUnitOfWork()
    made = intake_handlers.register_at_desk(uow, at_desk(WALK_IN, key="k"), intake_settings, NOW)

    [event] = uow.events
    assert (event.type, event.case_id) == (CASE_RECEIVED.type, made.case_id)
    data = event.data
    assert (data.source, data.received_by, data.form, data.channel) == (
        "centre", "op-li", "visit", "hotline"
    )  # fmt: skip
    assert data.reporter.phone == "138****1111"
    row = uow.submissions.get(made.case_id)
    assert row is not None and row.transport == "desk"
    assert row.reporter_phone_sealed and "13800001111" not in row.reporter_phone_sealed
    assert intake_settings.vault.open(row.reporter_phone_sealed) == "13800001111"


def test_the_same_users_same_key_is_the_same_case_and_tells_nothing_more(
    intake_settings: Any,
) -> None:
    uow = FakeIntakeUnitOfWork()
    first = intake_handlers.register_at_desk(uow, at_desk(WALK_IN, key="k"), intake_settings, NOW)
    again = intake_handlers.register_at_desk(uow, at_desk(WALK_IN, key="k"), intake_settings, NOW)
    other = intake_handlers.register_at_desk(
        uow, at_desk(WALK_IN, user="op-wang", key="k"), intake_settings, NOW
    )
    assert (again.case_id, again.duplicate) == (first.case_id, True)
    assert other.case_id != first.case_id
    assert [e.case_id for e in uow.events] == [first.case_id, other.case_id]


def test_the_status_endpoint_shows_the_particulars_and_the_repeats(intake_settings: Any) -> None:
    uow = FakeIntakeUnitOfWork()
    first = intake_handlers.register_at_desk(uow, at_desk(WALK_IN), intake_settings, NOW)
    later = NOW + timedelta(days=1)
    second = intake_handlers.register_at_desk(
        uow, NewSubmission.at_desk(DeskRegistration.model_validate(WALK_IN), "op-li", None, later),
        intake_settings, later,
    )  # fmt: skip
    [_, repeated] = uow.events
    assert repeated.data.repeat_of == [first.case_id]

    view = queries.case_view(uow, "centre", first.case_id)
    assert view is not None
    assert view.repeats == [second.case_id]
    assert view.address == WALK_IN["address"]
    assert view.citizen == {"name": "张阿姨", "phone": "138****1111"}
    assert (view.received_by, view.details) == ("op-li", {"form": "visit"})
    assert "notes" not in view.model_dump()


# --- particulars and the revisit rule -----------------------------------------------------------


def received(**fields: Any) -> CaseReceived:
    base: dict[str, Any] = {
        "channel": "hotline", "source": "hotline", "external_id": "T-1",
        "reporter": Reporter(), "content": "噪音", "received_at": NOW,
    }  # fmt: skip
    return CaseReceived(**{**base, **fields})


def test_the_details_follow_the_line() -> None:
    opinion = received(
        channel="opinion", reporter=Reporter(kind="monitor", name="weibo"),
        attachments=["https://weibo.example/1"], heat=900,
    )  # fmt: skip
    assert particulars_of(opinion).details == {
        "platform": "weibo", "url": "https://weibo.example/1", "heat": 900
    }  # fmt: skip
    grid = received(
        channel="grid", reporter=Reporter(kind="grid_worker", id="W-7"),
        attachments=["https://photos.example/a.jpg"],
    )  # fmt: skip
    shown = particulars_of(grid)
    assert (shown.details, shown.photos, shown.citizen) == (
        {"reporter_id": "W-7"}, ["https://photos.example/a.jpg"], None
    )  # fmt: skip
    petition = received(channel="petition", form="letter", group_size=6)
    assert particulars_of(petition).details == {"form": "letter", "group_size": 6}
    rules = received(risk="red", risk_rules=["群体性"])
    assert particulars_of(rules).risk_rules == ["群体性"]


def test_only_a_mobile_on_a_citizens_line_is_revisited_by_sms() -> None:
    assert revisit_by("hotline", "138****1111") == "sms"
    assert revisit_by("hotline", "010****5678") == "phone"  # a landline takes no SMS
    assert revisit_by("petition", None) == "phone"
    assert revisit_by("grid", "138****1111") == "phone"
    assert revisit_by("opinion", None) == "phone"


# --- dispatch: 直办 concluded at once -------------------------------------------------------


@pytest.fixture(scope="module")
def routing() -> Any:
    return dispatch_config(Settings(env="dev"))


def test_a_case_handled_at_the_desk_is_concluded_at_once(routing: Any) -> None:
    uow = FakeDispatchUnitOfWork()
    data = received(
        source="centre", received_by="op-li", handled_at_desk={"result": "当场解答,群众认可"},
        reporter=Reporter(name="张阿姨", phone="138****1111"), repeat_of=["CF-OLD"],
    )  # fmt: skip
    dispatch_handlers.route_cases(
        uow, [CASE_RECEIVED.new(data, case_id="CF-D1")], FakeGrid(), routing, NOW
    )

    case = uow.stored("CF-D1")
    assert (case.status, case.received_by, case.assignee) == ("concluded", "op-li", None)
    [step] = case.history
    assert (step.action, step.actor) == ("conclude_at_desk", "op-li")
    [told] = uow.events
    assert told.type == CASE_CONCLUDED.type
    assert (told.data.at_desk, told.data.revisit, told.data.by) == (True, "sms", "op-li")
    with uow.read() as reads:
        assert reads.repeats_of("CF-OLD") == ["CF-D1"]
    view = case.view()
    assert (view.received_by, view.details["handled_at_desk"]) == ("op-li", "当场解答,群众认可")


# --- 首问负责: the receiver's notice ---------------------------------------------------------


def concluded(case_id: str, at_desk: bool = False) -> Envelope[CaseConcluded]:
    data = CaseConcluded(result="已修复路灯", by="h-1", at_desk=at_desk)
    return CASE_CONCLUDED.new(data, case_id=case_id, occurred_at=NOW)


def test_the_receiver_is_told_once_when_their_case_is_concluded() -> None:
    uow = FakeConsoleUnitOfWork()
    mine = CASE_RECEIVED.new(received(source="centre", received_by="op-li"), case_id="CF-D1")
    theirs = CASE_RECEIVED.new(received(), case_id="CF-H1")
    done = concluded("CF-D1")

    kept = desk.follow_desk_cases(uow, [mine, theirs, done, concluded("CF-H1")])
    assert kept == 1
    assert desk.follow_desk_cases(uow, [done]) == 0  # redelivered: nothing new

    shown = desk.notices(uow, OPERATOR)
    assert shown["unread"] == 1
    [notice] = shown["items"]
    assert notice["case_id"] == "CF-D1" and "已修复路灯" in notice["text"]
    assert desk.notices(uow, HANDLER)["items"] == []
    desk.read_notice(uow, OPERATOR, notice["notice_id"], NOW)
    assert desk.notices(uow, OPERATOR)["unread"] == 0
    with pytest.raises(NotFound):
        desk.read_notice(uow, HANDLER, notice["notice_id"], NOW)


def test_a_case_concluded_at_the_desk_tells_its_receiver_nothing() -> None:
    uow = FakeConsoleUnitOfWork()
    mine = CASE_RECEIVED.new(received(source="centre", received_by="op-li"), case_id="CF-D1")
    assert desk.follow_desk_cases(uow, [mine, concluded("CF-D1", at_desk=True)]) == 0


def test_the_screen_counts_desk_registrations_and_cases_handled_there() -> None:
    uow = FakeConsoleUnitOfWork()
    walk_in = CASE_RECEIVED.new(received(source="centre", received_by="op-li"), occurred_at=NOW)
    call = CASE_RECEIVED.new(received(), occurred_at=NOW)
    screen.count_events(uow, [walk_in, call, concluded("CF-D1", at_desk=True), concluded("CF-H1")])
    figures = screen.screen(uow, NOW)
    assert figures["received"]["hotline"] == 2
    assert (figures["received_at_desk"], figures["handled_at_desk"]) == (1, 1)


# --- 待回访: a clock like any other --------------------------------------------------------------

POLICY = SlaPolicy.from_text(
    "default: {respond: PT2H, feedback: PT24H, resolve: P5D}\nwarn_at: 0.5\nrevisit: P3D\n"
)


def revisit_concluded(case_id: str, revisit: Any = "phone") -> Envelope[CaseConcluded]:
    data = CaseConcluded(result="已调解", by="g-1", revisit=revisit)
    return CASE_CONCLUDED.new(data, case_id=case_id, occurred_at=NOW)


def test_a_case_no_sms_can_revisit_waits_three_working_days_then_falls_overdue() -> None:
    uow = FakeSupervisionUnitOfWork()
    supervision_handlers.follow(
        uow, [revisit_concluded("CF-G1"), revisit_concluded("CF-H1", "sms")], POLICY
    )

    [clock] = uow.records.clocks_of("CF-G1")
    assert (clock.kind, clock.state, clock.assignee_code) == ("revisit", "open", "centre")
    assert clock.due_at == NOW + timedelta(days=3)  # Monday → Thursday, same hour
    assert uow.records.clocks_of("CF-H1") == []  # SMS revisits it

    supervision_handlers.scan(uow, POLICY, "one", clock.due_at, tick=1.0)
    told = [
        (e.type, e.data.clock) for e in uow.events if e.type in (SLA_WARNING.type, SLA_OVERDUE.type)
    ]
    assert told == [("sla.overdue", "revisit")]


def test_the_revisit_by_phone_meets_the_clock() -> None:
    uow = FakeSupervisionUnitOfWork()
    closed = CASE_CLOSED.new(
        CaseClosed(satisfaction="satisfied", by="op-li"), case_id="CF-G1",
        occurred_at=NOW + timedelta(days=1),
    )  # fmt: skip
    supervision_handlers.follow(uow, [revisit_concluded("CF-G1"), closed], POLICY)
    [clock] = uow.records.clocks_of("CF-G1")
    assert (clock.state, clock.stopped_at) == ("stopped", NOW + timedelta(days=1))


def test_the_revisit_list_tells_the_operator_what_to_call_about() -> None:
    supervision, dispatch = FakeSupervision(), FakeDispatch(
        {"case_id": "CF-G1", "status": "concluded", "content": "路灯不亮", "received_by": None,
         "citizen": None, "category": None, "address": "幸福路"}
    )  # fmt: skip
    supervision.waiting = [{"case_id": "CF-G1", "due_at": "2026-11-26T02:00:00+00:00"}]
    page = desk.revisits(supervision, dispatch, OPERATOR, 1, 20)
    [entry] = page["items"]
    assert (entry["content"], entry["status"], page["total"]) == ("路灯不亮", "concluded", 1)
    with pytest.raises(NotPermitted):
        desk.revisits(supervision, dispatch, HANDLER, 1, 20)
