"""Dispatch's handlers over the in-memory unit of work and grid: routing a received case, the
lifecycle actions of the console, replays and stale hands, escalation up the kernel's ladder
and the citizen's revisit answer; no broker, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.actions import (
    AcceptAction,
    ConcludeAction,
    DispatchAction,
    FeedbackAction,
    LifecycleAction,
    ReturnAction,
    ReviewReturnAction,
    RevisitAction,
)
from contracts.events import (
    CASE_RECEIVED,
    NOTIFY_REVISIT_ANSWERED,
    SUPERVISION_ESCALATION_REQUESTED,
    CaseReceived,
    Envelope,
    EscalationRequested,
    Level,
    Reporter,
    RevisitAnswered,
)
from contracts.listing import CaseListFilters
from contracts.rpc import DepartmentDuty, GridUnit, Location, StaffMember
from kit.settings import Settings
from services.dispatch import handlers, queries
from services.dispatch.commands import ActOnCase, DispatchMany
from services.dispatch.config import DispatchConfig, load_config
from services.dispatch.handlers import CaseNotFound, StaleCase
from services.dispatch.lifecycle import Actor, IllegalTransition
from tests.support.fake_dispatch import FakeDispatchUnitOfWork, FakeGrid

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in the county
LATER = NOW + timedelta(hours=1)
OPERATOR = Actor("op-1", "operator")
HANDLER = Actor("h-1", "handler")

STREET = "370113001"
GRID_CODE = "37011300100101"
CHAIN = [
    GridUnit(code="3701130010010101", name="第1网格1号微网格", level="micro_grid",
             parent=GRID_CODE),
    GridUnit(code=GRID_CODE, name="幸福社区第1网格", level="grid", parent="370113001001"),
    GridUnit(code="370113001001", name="幸福社区", level="community", parent=STREET),
    GridUnit(code=STREET, name="城关街道", level="street", parent="370113"),
    GridUnit(code="370113", name="示范县", level="district", parent=None),
]  # fmt: skip
ADDRESS = "城关街道幸福社区5号楼"


@pytest.fixture(scope="module")
def config() -> DispatchConfig:
    return load_config(Settings(env="dev"))


def duty(code: str, name: str, level: Level, category: str, unit: str | None = None) -> Any:
    return DepartmentDuty(
        department=code, name=name, level=level, unit=unit, category=category, role="lead"
    )


def county_grid() -> FakeGrid:
    """A grid that knows the address and the street's and the county's leads for noise and
    pollution, and the county's supervisor."""
    located = Location(located=True, by="address", chain=CHAIN)
    street_lead = duty("S-001", "城关街道综治中心", "street", "environment.noise", STREET)
    county_lead = duty("D-HBJ", "市生态环境局县分局", "district", "environment.pollution")
    supervisor = StaffMember(
        person_id="sup-1", unit="370113", role="supervisor", name="督导", phone=None
    )
    return FakeGrid(
        places={ADDRESS: located, GRID_CODE: located},
        duties={
            ("environment.noise", "street", STREET): [street_lead],
            ("environment.noise", "district", None): [county_lead],
            ("environment.pollution", "district", None): [county_lead],
        },
        people={("370113", "supervisor"): [supervisor]},
    )


def received(case_id: str, content: str, **fields: Any) -> Envelope[CaseReceived]:
    data = CaseReceived(
        channel=fields.pop("channel", "hotline"), source=fields.pop("source", "hotline"),
        external_id=f"T-{case_id}", reporter=fields.pop("reporter", Reporter()),
        content=content, received_at=NOW - timedelta(minutes=1), **fields,
    )  # fmt: skip
    return CASE_RECEIVED.new(data, case_id=case_id)


NOISE = {"content": "楼下夜间施工噪音扰民", "category": "environment.noise", "address": ADDRESS}
POLLUTION = {"content": "化工厂排污", "category": "environment.pollution"}


def route(uow: FakeDispatchUnitOfWork, grid: FakeGrid, config: DispatchConfig,
          *events: Envelope[CaseReceived]) -> None:  # fmt: skip
    handlers.route_cases(uow, list(events), grid, config, NOW)


def act(uow: FakeDispatchUnitOfWork, config: DispatchConfig, case_id: str,
        action: LifecycleAction, actor: Actor = HANDLER, command_id: str | None = None,
        grid: FakeGrid | None = None) -> Any:  # fmt: skip
    command = ActOnCase(case_id, action, actor, command_id)
    return handlers.act(uow, command, grid or county_grid(), config, LATER)


def told(uow: FakeDispatchUnitOfWork) -> list[tuple[str, str | None]]:
    return [(event.type, event.case_id) for event in uow.events]


# --- 转: routing a received case ---


def test_a_received_case_is_routed_and_dispatched_with_its_deadlines(
    config: DispatchConfig,
) -> None:
    uow, grid = FakeDispatchUnitOfWork(), county_grid()

    route(uow, grid, config, received("C-1", **NOISE))

    case = uow.stored("C-1")
    assert (case.status, case.level, case.assignee_code) == ("dispatched", "street", "S-001")
    assert case.routing_rule == "big_matters_stay_in_the_street"
    assert STREET in [unit["code"] for unit in case.place]
    assert [(step.action, step.actor, step.at) for step in case.history] == [
        ("dispatch", "auto", NOW)
    ]
    assert told(uow) == [("case.dispatched", "C-1")]
    dispatched = uow.events[0]
    deadlines = config.sla.deadlines(
        NOW, timedelta(seconds=case.resolve_seconds or 0) or None, channel="hotline",
        category="environment.noise", risk="blue",
    )  # fmt: skip
    assert dispatched.data.deadlines == deadlines and dispatched.occurred_at == NOW
    assert deadlines.respond_by > NOW
    assert (dispatched.data.dispatched_by, dispatched.data.assignee.code) == ("auto", "S-001")
    assert dispatched.data.territory["street"] == STREET
    assert grid.asked[0] == ("locate_all", [{"address": ADDRESS}])


def test_a_burst_is_located_in_one_call_and_stored_in_one_commit(config: DispatchConfig) -> None:
    uow, grid = FakeDispatchUnitOfWork(), county_grid()

    route(uow, grid, config, received("C-1", **NOISE), received("C-2", **POLLUTION),
          received("C-3", "有事反映", grid_code=GRID_CODE))  # fmt: skip

    assert [method for method, _ in grid.asked].count("locate_all") == 1
    assert uow.commits == 1
    assert {(uow.stored(c).status, uow.stored(c).assignee_code) for c in ("C-1", "C-2")} == {
        ("dispatched", "S-001"),
        ("dispatched", "D-HBJ"),
    }
    assert uow.stored("C-3").status == "pending_dispatch"  # no category: a person decides


def test_a_redelivered_case_received_changes_nothing(config: DispatchConfig) -> None:
    uow, grid = FakeDispatchUnitOfWork(), county_grid()
    event = received("C-1", **NOISE)
    route(uow, grid, config, event, event)  # twice in one burst
    first = (told(uow), uow.stored("C-1").version, len(uow.stored("C-1").history))

    route(uow, grid, config, event)  # and once more later

    assert told(uow) == [("case.dispatched", "C-1")]
    assert (told(uow), uow.stored("C-1").version, len(uow.stored("C-1").history)) == first


def test_an_uncertain_routing_waits_for_one_click(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    route(uow, county_grid(), config, received("C-1", "隔壁广场舞太吵"))  # no category, no place

    waiting = uow.stored("C-1")
    assert (waiting.status, waiting.category) == ("pending_dispatch", "environment.noise")
    assert "关键词" in waiting.routing_reason
    assert told(uow) == [("case.awaiting_dispatch", "C-1")]
    suggestion = uow.events[0].data.suggestion
    assert suggestion is not None and suggestion.code == "D-HBJ"

    clicked = act(uow, config, "C-1", DispatchAction(), OPERATOR)  # the one click

    assert (clicked.status, clicked.assignee.code) == ("dispatched", "D-HBJ")
    assert told(uow)[-1] == ("case.dispatched", "C-1")
    assert uow.events[-1].data.dispatched_by == "op-1"
    assert uow.events[-1].data.deadlines == clicked.deadlines
    assert clicked.deadlines.respond_by > LATER


def test_a_silent_grid_leaves_the_case_for_a_person(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    route(uow, FakeGrid(silent=True), config, received("C-1", **NOISE))

    case = uow.stored("C-1")
    assert case.place == [] and "网格服务无应答" in case.routing_reason
    assert told(uow) == [("case.awaiting_dispatch", "C-1")]


# --- the lifecycle through act ---


def test_accept_feedback_and_conclude_through_act(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    route(uow, county_grid(), config, received("C-1", **POLLUTION))

    accepted = act(uow, config, "C-1", AcceptAction())
    progressed = act(uow, config, "C-1", FeedbackAction(note="已联系企业"))
    concluded = act(uow, config, "C-1", ConcludeAction(result="已整改"))

    assert [accepted.status, progressed.status, concluded.status] == [
        "accepted", "in_progress", "concluded",
    ]  # fmt: skip
    assert [accepted.version, progressed.version, concluded.version] == [2, 3, 4]
    assert told(uow)[1:] == [
        ("case.accepted", "C-1"), ("case.feedback", "C-1"), ("case.concluded", "C-1"),
    ]  # fmt: skip
    assert [step.action for step in concluded.timeline] == [
        "dispatch", "accept", "feedback", "conclude",
    ]  # fmt: skip
    assert uow.stored("C-1").status == "concluded"


def test_return_sends_the_case_back_to_be_dispatched(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    route(uow, county_grid(), config, received("C-1", **POLLUTION))

    returned = act(uow, config, "C-1", ReturnAction(reason="不属本单位职责"))

    assert (returned.status, returned.returns, returned.assignee) == ("pending_dispatch", 1, None)
    assert told(uow)[-1] == ("case.returned", "C-1")
    assert uow.events[-1].data.assignee.code == "D-HBJ"
    again = act(uow, config, "C-1", DispatchAction(assignee="D-CGJ"), OPERATOR)
    assert (again.status, again.assignee.code) == ("dispatched", "D-CGJ")


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "refused"])
def test_a_return_reviewed_through_act(config: DispatchConfig, approve: bool) -> None:
    """退单审核: approved, the case waits for dispatch; refused, it goes back to the unit that
    returned it, with fresh limits from the review's time."""
    uow = FakeDispatchUnitOfWork()
    route(uow, county_grid(), config, received("C-1", **POLLUTION))
    returned = act(uow, config, "C-1", ReturnAction(reason="不属本单位职责"))
    assert returned.return_review.code == "D-HBJ"
    assert "review_return" in returned.actions

    reviewed = act(uow, config, "C-1", ReviewReturnAction(approve=approve, note="核"), OPERATOR)

    assert reviewed.return_review is None
    if approve:
        assert (reviewed.status, reviewed.assignee) == ("pending_dispatch", None)
        assert told(uow)[-1] == ("case.return_reviewed", "C-1")
    else:
        assert (reviewed.status, reviewed.assignee.code) == ("dispatched", "D-HBJ")
        assert reviewed.deadlines.respond_by > LATER
        assert told(uow)[-2:] == [("case.return_reviewed", "C-1"), ("case.dispatched", "C-1")]
    assert uow.events[-1 if approve else -2].data.approved is approve


def test_the_same_command_id_twice_changes_nothing(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    route(uow, county_grid(), config, received("C-1", **POLLUTION))

    first = act(uow, config, "C-1", AcceptAction(), command_id="k-1")
    replay = act(uow, config, "C-1", AcceptAction(), command_id="k-1")

    assert replay == first
    assert told(uow).count(("case.accepted", "C-1")) == 1
    assert uow.stored("C-1").version == 2 and len(uow.stored("C-1").history) == 2


def test_a_refused_command_is_not_remembered(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    route(uow, county_grid(), config, received("C-1", **POLLUTION))
    commits = uow.commits

    with pytest.raises(IllegalTransition, match="cannot feedback a case that is dispatched"):
        act(uow, config, "C-1", FeedbackAction(note="x"), command_id="k-1")

    assert uow.commits == commits and uow.stored("C-1").status == "dispatched"
    assert act(uow, config, "C-1", AcceptAction(), command_id="k-1").status == "accepted"


def test_a_stale_expected_version_is_refused(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    route(uow, county_grid(), config, received("C-1", **POLLUTION))
    seen = uow.stored("C-1").version
    act(uow, config, "C-1", AcceptAction(expected_version=seen))
    events = told(uow)

    with pytest.raises(StaleCase, match=f"C-1 is at version {seen + 1}, not {seen}"):
        act(uow, config, "C-1", FeedbackAction(note="迟到的", expected_version=seen))

    assert told(uow) == events and uow.stored("C-1").status == "accepted"


def test_an_unknown_case_is_not_found(config: DispatchConfig) -> None:
    with pytest.raises(CaseNotFound):
        act(FakeDispatchUnitOfWork(), config, "C-NOSUCH", AcceptAction())


def test_dispatch_many_clicks_each_case_and_answers_for_each(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    route(uow, county_grid(), config, received("C-1", "隔壁广场舞太吵"),
          received("C-2", "小区广场舞噪音"))  # fmt: skip

    answers = handlers.dispatch_many(
        uow, DispatchMany(["C-1", "C-2", "C-NOSUCH"], OPERATOR, "batch-1"), county_grid(),
        config, LATER,
    )  # fmt: skip

    assert [(a["case_id"], a["ok"], a.get("status")) for a in answers] == [
        ("C-1", True, "dispatched"), ("C-2", True, "dispatched"), ("C-NOSUCH", False, None),
    ]  # fmt: skip
    assert {"command:batch-1:C-1", "command:batch-1:C-2"} <= uow.handled


# --- escalation and revisits ---


def escalation(case_id: str, from_level: Level, to_level: Level) -> Any:
    data = EscalationRequested(
        from_level=from_level, to_level=to_level, clock="respond", due_at=NOW, reason="超时未签收"
    )
    return SUPERVISION_ESCALATION_REQUESTED.new(data, case_id=case_id)


@pytest.mark.parametrize(
    ("case", "level", "lead"),
    [(NOISE, "street", "D-HBJ"), ({**NOISE, "channel": "grid", "source": "gridapp"}, "grid",
                                  "S-001")],
    ids=["street", "grid"],
)  # fmt: skip
def test_escalate_when_late_climbs_the_kernels_ladder(
    config: DispatchConfig, case: dict[str, Any], level: Level, lead: str
) -> None:
    uow, grid = FakeDispatchUnitOfWork(), county_grid()
    route(uow, grid, config, received("C-1", **case))
    assert uow.stored("C-1").level == level
    above = config.sla.escalation.above(level)
    assert above is not None and above != "community"  # 格呼街应、街呼区应
    event = escalation("C-1", level, above)

    handlers.escalate_when_late(uow, event, grid, config, LATER)

    case_now = uow.stored("C-1")
    assert (case_now.status, case_now.level, case_now.assignee_code) == ("dispatched", above, lead)
    assert told(uow)[-2:] == [("case.escalated", "C-1"), ("case.dispatched", "C-1")]
    escalated, dispatched = (event.data for event in uow.events[-2:])
    assert (escalated.from_level, escalated.to_level, escalated.by) == (level, above, "supervision")
    assert dispatched.dispatched_by == "auto" and dispatched.deadlines.respond_by > LATER
    unit = STREET if above == "street" else None
    assert ("departments_for", (case["category"], above, unit)) in grid.asked

    handlers.escalate_when_late(uow, event, grid, config, LATER)  # redelivered
    assert len(uow.events) == 3 and uow.stored("C-1").version == case_now.version


def test_escalation_names_the_supervisors_of_the_level_above(config: DispatchConfig) -> None:
    uow, grid = FakeDispatchUnitOfWork(), county_grid()
    route(uow, grid, config, received("C-1", **NOISE))

    handlers.escalate_when_late(uow, escalation("C-1", "street", "district"), grid, config, LATER)

    assert uow.events[1].data.supervisors == ["sup-1"]


def test_a_case_that_moved_on_is_not_escalated(config: DispatchConfig) -> None:
    uow, grid = FakeDispatchUnitOfWork(), county_grid()
    route(uow, grid, config, received("C-1", **POLLUTION))  # at district level
    commits = uow.commits

    handlers.escalate_when_late(uow, escalation("C-1", "street", "district"), grid, config, LATER)

    assert uow.commits == commits and told(uow) == [("case.dispatched", "C-1")]


def revisit_answer(case_id: str, satisfaction: Any) -> Any:
    data = RevisitAnswered(satisfaction=satisfaction, phone="139****0001", reply="3")
    return NOTIFY_REVISIT_ANSWERED.new(data, case_id=case_id)


def test_the_citizens_reply_closes_or_reopens_the_case(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    route(uow, county_grid(), config, received("C-1", **POLLUTION))
    for action in (AcceptAction(), ConcludeAction(result="已整改")):
        act(uow, config, "C-1", action)

    handlers.revisit_by_reply(uow, revisit_answer("C-1", "unsatisfied"), config, LATER)
    assert (uow.stored("C-1").status, uow.stored("C-1").reopens) == ("in_progress", 1)
    assert told(uow)[-1] == ("case.reopened", "C-1")

    act(uow, config, "C-1", ConcludeAction(result="再次整改"))
    answer = revisit_answer("C-1", "satisfied")
    handlers.revisit_by_reply(uow, answer, config, LATER)
    handlers.revisit_by_reply(uow, answer, config, LATER)  # redelivered
    assert uow.stored("C-1").status == "closed"
    assert told(uow).count(("case.closed", "C-1")) == 1
    with pytest.raises(IllegalTransition, match="closed"):
        act(uow, config, "C-1", RevisitAction(satisfaction="satisfied"))


# --- reads ---


def test_reads_see_what_is_committed(config: DispatchConfig) -> None:
    uow = FakeDispatchUnitOfWork()
    route(uow, county_grid(), config, received("C-1", **NOISE), received("C-2", **POLLUTION))

    view = queries.get_case(uow, "C-1")
    assert view is not None and view.status == "dispatched"
    assert queries.get_case(uow, "C-NOSUCH") is None
    in_street = queries.list_cases(uow, queries.ListCases([STREET], CaseListFilters()), LATER)
    assert [item.case_id for item in in_street.items] == ["C-1"] and in_street.total == 1
    every = queries.ListCases(None, CaseListFilters(), page=0, page_size=10_000)
    everything = queries.list_cases(uow, every, LATER)
    assert (everything.total, everything.page, everything.page_size) == (2, 1, 200)
