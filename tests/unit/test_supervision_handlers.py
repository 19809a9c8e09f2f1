"""Supervision's handlers over the in-memory unit of work: a case's steps on its clocks, the
scan's warnings, overdue alerts and escalation requests, 督办 orders and subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet

from contracts.events import (
    CASE_ACCEPTED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_FEEDBACK,
    CASE_RISK_CHANGED,
    SLA_OVERDUE,
    SLA_WARNING,
    SUPERVISION_ALERT_ROUTED,
    SUPERVISION_ESCALATION_REQUESTED,
    SUPERVISION_ORDER,
    SUPERVISION_ORDER_REPLIED,
    Assignee,
    CaseAccepted,
    CaseConcluded,
    CaseDispatched,
    CaseFeedback,
    CaseRiskChanged,
    Deadlines,
    Envelope,
    EventData,
    EventSpec,
)
from contracts.rpc import OrderRequest, SubscriptionRequest
from kernel.sla import SlaPolicy
from kit.pii import PhoneVault
from services.supervision import handlers
from services.supervision.commands import IssueOrder, ReplyToOrder, Unsubscribe
from services.supervision.handlers import NoSuchSubscription
from services.supervision.orders import OrderAnswered, OrderRefused, UnknownCase
from tests.support.fake_supervision import FakeSupervisionUnitOfWork

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday morning
GRID = Assignee(kind="grid", code="G-0101", name="城关一网格")
TERRITORY = {"grid": "G-0101", "community": "C-01", "street": "S-001", "district": "D-01"}
POLICY = SlaPolicy.from_text(
    """\
default: {respond: PT2H, feedback: PT24H, resolve: P5D}
warn_at: 0.5
escalation:
  clocks: [respond, feedback, resolve]
  max_levels: 2
  via_community: no
  ladder: {grid: PT10M, street: PT10M}
orders: {normal: PT24H, yellow: PT12H, red: PT4H}
"""
)


def vault_for_test() -> PhoneVault:
    return PhoneVault((Fernet.generate_key().decode(),), "hash-key")


def event(spec: EventSpec[Any], data: EventData, case_id: str, at: datetime) -> Envelope[Any]:
    return spec.new(data, case_id=case_id, occurred_at=at)


def dispatched(case_id: str, at: datetime = AT, risk: str = "blue") -> Envelope[Any]:
    deadlines = Deadlines(
        respond_by=at + timedelta(hours=2),
        feedback_by=at + timedelta(hours=24),
        resolve_by=at + timedelta(days=5),
    )
    data = CaseDispatched(
        assignee=GRID, level="grid", deadlines=deadlines, dispatched_by="auto",
        category="dispute.neighbour", channel="grid", risk=risk, territory=TERRITORY,
    )  # fmt: skip
    return event(CASE_DISPATCHED, data, case_id, at)


def states(uow: FakeSupervisionUnitOfWork, case_id: str) -> dict[str, str]:
    return {clock.kind: clock.state for clock in uow.records.clocks_of(case_id)}


def follow(uow: FakeSupervisionUnitOfWork, *events: Envelope[Any]) -> None:
    handlers.follow(uow, list(events), POLICY)


# --- following a case --------------------------------------------------------------------------


def test_a_dispatch_opens_three_clocks_held_by_the_unit() -> None:
    uow = FakeSupervisionUnitOfWork()

    follow(uow, dispatched("CF-1"))

    clocks = {clock.kind: clock for clock in uow.records.clocks_of("CF-1")}
    assert {kind: clock.state for kind, clock in clocks.items()} == {
        "respond": "open", "feedback": "open", "resolve": "open"
    }  # fmt: skip
    respond = clocks["respond"]
    assert (respond.due_at, respond.warn_at) == (AT + timedelta(hours=2), AT + timedelta(hours=1))
    assert respond.next_due_at == respond.warn_at and respond.assignee_code == "G-0101"
    case = uow.records.case("CF-1")
    assert case is not None and case.territory == TERRITORY
    assert case.assignment_id == uow.records.assignment_at("CF-1", None).id  # type: ignore[union-attr]
    assert uow.events == []  # a blue case raises nothing


def test_an_accept_stops_the_respond_clock_only() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, dispatched("CF-1"))

    accepted = CaseAccepted(assignee=GRID, by="worker-1")
    follow(uow, event(CASE_ACCEPTED, accepted, "CF-1", AT + timedelta(minutes=30)))

    assert states(uow, "CF-1") == {"respond": "stopped", "feedback": "open", "resolve": "open"}
    [respond] = [c for c in uow.records.clocks_of("CF-1") if c.kind == "respond"]
    assert respond.stopped_at == AT + timedelta(minutes=30) and respond.next_due_at is None


def test_an_accept_before_its_dispatch_still_stops_the_respond_clock() -> None:
    uow = FakeSupervisionUnitOfWork()
    accepted = CaseAccepted(assignee=GRID, by="worker-1")

    follow(uow, event(CASE_ACCEPTED, accepted, "CF-1", AT + timedelta(minutes=5)))
    follow(uow, dispatched("CF-1"))

    assert states(uow, "CF-1") == {"respond": "stopped", "feedback": "open", "resolve": "open"}


def test_a_conclusion_stops_the_feedback_and_resolve_clocks() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, dispatched("CF-1"))

    concluded = CaseConcluded(result="已解决", by="worker-1")
    follow(uow, event(CASE_CONCLUDED, concluded, "CF-1", AT + timedelta(hours=3)))

    assert states(uow, "CF-1") == {
        "respond": "stopped",
        "feedback": "stopped",
        "resolve": "stopped",
    }
    assignment = uow.records.assignment_at("CF-1", None)
    assert assignment is not None and assignment.concluded


def test_a_redelivered_event_changes_nothing() -> None:
    uow = FakeSupervisionUnitOfWork()
    first = dispatched("CF-1")
    follow(uow, first)
    feedback = event(CASE_FEEDBACK, CaseFeedback(note="已联系", by="w"), "CF-1", AT)
    follow(uow, feedback)
    before = [(c.kind, c.state, c.stopped_at) for c in uow.records.clocks_of("CF-1")]

    follow(uow, first, feedback, first)  # again, and twice in one batch

    assert [(c.kind, c.state, c.stopped_at) for c in uow.records.clocks_of("CF-1")] == before
    assert len(uow.records.clocks) == 3 and len(uow.records.assignment_rows) == 1
    assert uow.handled == {first.event_id, feedback.event_id}


def test_a_red_case_raises_its_red_risk_once() -> None:
    uow = FakeSupervisionUnitOfWork()
    red = dispatched("CF-1", risk="red")

    follow(uow, red)
    follow(uow, red)

    [raised] = uow.of_type("supervision.red_risk")
    assert raised.case_id == "CF-1" and raised.data.assignee == GRID


def test_a_case_regraded_red_raises_its_red_risk_once_and_keeps_the_new_risk() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, dispatched("CF-1"))
    changed = CaseRiskChanged.model_validate(
        {"from": "blue", "to": "red", "reason": "扬言过激", "by": "operator"}
    )
    regraded = event(CASE_RISK_CHANGED, changed, "CF-1", AT)

    follow(uow, regraded)
    follow(uow, regraded)
    assert uow.of_type("supervision.red_risk") != []
    assert len(uow.of_type("supervision.red_risk")) == 1

    calmer = CaseRiskChanged.model_validate(
        {"from": "red", "to": "yellow", "reason": "情绪已平稳", "by": "operator"}
    )
    follow(uow, event(CASE_RISK_CHANGED, calmer, "CF-1", AT))
    assert len(uow.of_type("supervision.red_risk")) == 1


# --- the scan ----------------------------------------------------------------------------------


def scan(uow: FakeSupervisionUnitOfWork, at: datetime, instance: str = "one") -> int | None:
    return handlers.scan(uow, POLICY, instance, at, tick=1.0)


def respond_alerts(uow: FakeSupervisionUnitOfWork) -> list[str]:
    kinds = (SLA_WARNING.type, SLA_OVERDUE.type, SUPERVISION_ESCALATION_REQUESTED.type)
    return [e.type for e in uow.events if e.type in kinds and e.data.clock == "respond"]


def test_a_scan_warns_then_reports_overdue_then_asks_escalation_once_each() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, dispatched("CF-1"))

    assert scan(uow, AT + timedelta(minutes=59)) == 0  # nothing due yet
    assert respond_alerts(uow) == []
    scan(uow, AT + timedelta(hours=1))  # half the respond limit
    assert respond_alerts(uow) == ["sla.warning"]
    scan(uow, AT + timedelta(hours=2))
    assert respond_alerts(uow) == ["sla.warning", "sla.overdue"]
    scan(uow, AT + timedelta(hours=2, minutes=10))  # the grid's wait past the limit
    assert respond_alerts(uow) == ["sla.warning", "sla.overdue", "supervision.escalation_requested"]
    for minutes in range(11, 60, 7):  # later scans find nothing more to say
        scan(uow, AT + timedelta(hours=2, minutes=minutes))
    assert respond_alerts(uow) == ["sla.warning", "sla.overdue", "supervision.escalation_requested"]
    [asked] = uow.of_type(SUPERVISION_ESCALATION_REQUESTED.type)
    assert (asked.data.from_level, asked.data.to_level) == ("grid", "street")
    [overdue] = uow.of_type(SLA_OVERDUE.type)
    assert (overdue.data.assignee, overdue.data.level) == (GRID, "grid")


def test_a_clock_first_seen_past_its_limit_is_overdue_without_a_warning() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, dispatched("CF-1"))

    scan(uow, AT + timedelta(hours=2, minutes=1))

    assert respond_alerts(uow) == ["sla.overdue"]


def test_a_stopped_clock_raises_nothing() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, dispatched("CF-1"))
    accepted = CaseAccepted(assignee=GRID, by="worker-1")
    follow(uow, event(CASE_ACCEPTED, accepted, "CF-1", AT + timedelta(minutes=30)))

    scan(uow, AT + timedelta(hours=3))

    assert respond_alerts(uow) == []


def test_on_sqlite_only_the_lease_holder_scans() -> None:
    uow = FakeSupervisionUnitOfWork(claims_rows=False)
    follow(uow, dispatched("CF-1"))

    warned = AT + timedelta(hours=1)
    assert scan(uow, warned, instance="one") == 1
    # its lease runs ten seconds (three ticks, at least ten seconds): the other stands by
    assert scan(uow, warned + timedelta(seconds=5), instance="two") is None
    assert scan(uow, warned + timedelta(seconds=9), instance="one") == 0
    assert scan(uow, warned + timedelta(seconds=15), instance="two") is None
    assert respond_alerts(uow) == ["sla.warning"]
    # the first instance is gone: once its lease has lapsed the other takes over
    assert scan(uow, AT + timedelta(hours=2), instance="two") == 1
    assert respond_alerts(uow) == ["sla.warning", "sla.overdue"]


def test_an_alert_reaches_the_subscribers_whose_scope_holds_the_case() -> None:
    uow = FakeSupervisionUnitOfWork()
    vault = vault_for_test()
    for subscriber, unit in (("sup-street", "S-001"), ("sup-other", "S-002")):
        request = SubscriptionRequest.model_validate(
            {"subscriber": subscriber, "kinds": ["overdue"], "channels": ["sms"],
             "scope": {"kind": "unit", "value": unit}, "phone": "13800138001"}
        )  # fmt: skip
        handlers.subscribe(uow, request, vault, AT, bind_queue=refuse_queues)
    follow(uow, dispatched("CF-1"))

    scan(uow, AT + timedelta(hours=2))

    [routed] = uow.of_type(SUPERVISION_ALERT_ROUTED.type)
    assert routed.data.alert == "overdue"
    assert [r.subscriber for r in routed.data.recipients] == ["sup-street"]
    assert vault.open(routed.data.recipients[0].address_sealed) == "13800138001"


# --- 督办 ----------------------------------------------------------------------------------------


def test_an_order_has_its_own_clock_and_a_reply_stops_it() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, dispatched("CF-1"))
    issued_at = AT + timedelta(hours=1)

    command = IssueOrder("CF-1", OrderRequest(grade="red", note="限期"), "sup-1")
    order = handlers.issue_order(uow, command, POLICY, issued_at)

    assert order.due_at == issued_at + timedelta(hours=4)  # the red grade's time
    assert order.assignee == GRID.model_dump()
    [clock] = uow.records.clocks_owned_by([order.order_id])
    assert (clock.kind, clock.state, clock.due_at) == ("order", "open", order.due_at)
    [told] = uow.of_type(SUPERVISION_ORDER.type)
    assert (told.data.order_id, told.data.grade) == (order.order_id, "red")

    reply = ReplyToOrder(order.order_id, "已上门调解", "worker-1")
    replied = handlers.reply_to_order(uow, reply, POLICY, issued_at + timedelta(hours=5))

    assert (replied.reply, replied.replied_by) == ("已上门调解", "worker-1")
    assert clock.state == "stopped"
    [answer] = uow.of_type(SUPERVISION_ORDER_REPLIED.type)
    assert answer.data.on_time is False  # five hours for a four-hour order
    with pytest.raises(OrderAnswered):
        handlers.reply_to_order(uow, reply, POLICY, issued_at + timedelta(hours=6))


def test_an_order_on_an_unknown_case_or_due_in_the_past_is_refused() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, dispatched("CF-1"))

    with pytest.raises(UnknownCase):
        handlers.issue_order(
            uow, IssueOrder("CF-nobody", OrderRequest(grade="red"), "s"), POLICY, AT
        )
    past = OrderRequest(grade="red", due_at=AT - timedelta(minutes=1))
    with pytest.raises(OrderRefused):
        handlers.issue_order(uow, IssueOrder("CF-1", past, "s"), POLICY, AT)

    assert uow.records.order_rows == {} and uow.of_type(SUPERVISION_ORDER.type) == []
    assert [c.kind for c in uow.records.clocks] == ["respond", "feedback", "resolve"]


# --- subscriptions -----------------------------------------------------------------------------


def refuse_queues(queue: str, routing_keys: list[str]) -> None:
    raise AssertionError(f"no queue was asked for, yet {queue} was made")


def test_a_subscription_is_kept_with_its_phone_sealed_and_its_queue_bound_first() -> None:
    uow = FakeSupervisionUnitOfWork()
    vault = vault_for_test()
    bound: list[tuple[str, list[str]]] = []
    request = SubscriptionRequest.model_validate(
        {"subscriber": "screen", "kinds": ["overdue", "warning"], "channels": ["amqp", "sms"],
         "phone": "13800138001"}
    )  # fmt: skip

    row = handlers.subscribe(uow, request, vault, AT, bind_queue=lambda q, k: bound.append((q, k)))

    assert bound == [("civicflow.sub.screen", ["sla.overdue", "sla.warning"])]
    assert uow.records.subscriptions("screen") == [row]
    assert row.phone_masked == "138****8001" and row.phone_sealed != "13800138001"
    assert vault.open(row.phone_sealed or "") == "13800138001"


def test_a_subscription_whose_queue_cannot_be_made_is_not_kept() -> None:
    uow = FakeSupervisionUnitOfWork()
    request = SubscriptionRequest.model_validate(
        {"subscriber": "screen", "kinds": ["overdue"], "channels": ["amqp"]}
    )

    def broker_down(queue: str, routing_keys: list[str]) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        handlers.subscribe(uow, request, vault_for_test(), AT, bind_queue=broker_down)
    assert uow.records.subscriptions() == []


def test_only_its_subscriber_may_drop_a_subscription() -> None:
    uow = FakeSupervisionUnitOfWork()
    request = SubscriptionRequest.model_validate(
        {"subscriber": "sup-1", "kinds": ["overdue"], "channels": ["sms"], "phone": "13800138001"}
    )
    row = handlers.subscribe(uow, request, vault_for_test(), AT, bind_queue=refuse_queues)

    for wrong in (Unsubscribe(row.id, "sup-2"), Unsubscribe(row.id + 1, "sup-1"),
                  Unsubscribe(2**63, "sup-1"), Unsubscribe(-1, "sup-1")):  # fmt: skip
        with pytest.raises(NoSuchSubscription):
            handlers.unsubscribe(uow, wrong)
    assert uow.records.subscriptions() == [row]

    handlers.unsubscribe(uow, Unsubscribe(row.id, "sup-1"))

    assert uow.records.subscriptions() == []
