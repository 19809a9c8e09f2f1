"""Supervision against a real broker, on SQLite and PostgreSQL: clocks opened by dispatch and
stopped by the unit, warnings, overdue alerts and escalation requests exactly once with two
instances scanning, extensions, 督办 orders, subscriptions and a restart that misses nothing.

Dispatch is played by a publisher on ``dispatch.events``, so every time is the test's choice;
supervision reads a manual clock that the tests move on past the limits instead of sleeping.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pika
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from civicflow.cli import cmd_report
from civicflow.registry import service_class
from contracts.events import (
    CASE_ACCEPTED,
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_EXTENSION_DECIDED,
    CASE_EXTENSION_REQUESTED,
    CASE_FEEDBACK,
    CASE_REOPENED,
    CASE_RETURNED,
    Assignee,
    CaseAccepted,
    CaseClosed,
    CaseConcluded,
    CaseDispatched,
    CaseExtensionDecided,
    CaseExtensionRequested,
    CaseFeedback,
    CaseReopened,
    CaseReturned,
    Deadlines,
    EventData,
    EventSpec,
)
from kernel.calendar import SHANGHAI
from kernel.clock import ManualClock, SystemClock
from kit.db import Store
from kit.pii import load_vault
from kit.runner import InProcess
from kit.settings import Settings
from kit.sla import load_sla_policy
from services.supervision.models import TABLES, Alert, Mark
from services.supervision.scanner import scan_due
from services.supervision.unit_of_work import SqlSupervisionUnitOfWork
from tests.conftest import free_port
from tests.support.harness import (
    CONFIG_DIR,
    EventTap,
    migrate_all,
    settings_for_test,
    staff_quiet_hours_off,
)

pytestmark = [pytest.mark.broker]

GRID = Assignee(kind="grid", code="G-0101", name="城关一网格")
TERRITORY = {"grid": "G-0101", "community": "C-01", "street": "S-001", "district": "D-01"}
# short limits for the test: warnings at half of a limit, a grid climbs 1 s after its limit
TEST_SLA = """\
default: {respond: PT2H, feedback: PT24H, resolve: P5D}
warn_at: 0.5
escalation:
  clocks: [respond, feedback, resolve]
  max_levels: 2
  via_community: yes
  ladder: {grid: PT1S, community: PT1S}
orders: {normal: PT24H, yellow: PT12H, red: PT4H}
"""


def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    (target / "sla.yml").write_text(TEST_SLA, encoding="utf-8")
    staff_quiet_hours_off(target)  # what reaches whom, not when: the night holds nothing
    return target


@pytest.fixture
def settings(vhost_uri: str, database_url: str, tmp_path: Path) -> Settings:
    base = settings_for_test(vhost_uri, tmp_path, database_url)
    settings = dataclasses.replace(
        base,
        config_dir=config_dir(tmp_path),
        supervision_tick_seconds=0.05,
        clock=ManualClock(datetime.now(UTC)),
    )
    migrate_all(settings, ["supervision"])
    return settings


@contextmanager
def supervision(settings: Settings, instances: int = 1) -> Iterator[list[InProcess]]:
    """``instances`` supervision containers on one database, each with its own HTTP port."""
    running = []
    try:
        for _ in range(instances):
            ports = {**settings.ports, "supervision": free_port()}
            own = dataclasses.replace(settings, ports=ports)
            running.append(InProcess([service_class("supervision")], own).start())
        yield running
    finally:
        for process in running:
            process.kill()


class Dispatch:
    """Stands in for the dispatch service: publishes its events with chosen times."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.channel.exchange_declare("dispatch.events", "topic", durable=True)

    def emit(self, spec: EventSpec[Any], data: EventData, case_id: str, at: datetime) -> str:
        envelope = spec.new(data, case_id=case_id, occurred_at=at)
        self.channel.basic_publish(
            "dispatch.events", spec.type, envelope.model_dump_json().encode(),
            pika.BasicProperties(content_type="application/json", delivery_mode=2),
        )  # fmt: skip
        return envelope.event_id

    def dispatched(
        self, case_id: str, at: datetime, respond: float, feedback: float = 3600,
        resolve: float = 7200, risk: str = "blue", level: str = "grid",
    ) -> str:  # fmt: skip
        deadlines = Deadlines(
            respond_by=at + timedelta(seconds=respond),
            feedback_by=at + timedelta(seconds=feedback),
            resolve_by=at + timedelta(seconds=resolve),
        )
        data = CaseDispatched(
            assignee=GRID, level=level, deadlines=deadlines, dispatched_by="auto",  # type: ignore[arg-type]
            category="dispute.neighbour", channel="grid", risk=risk, territory=TERRITORY,  # type: ignore[arg-type]
        )  # fmt: skip
        return self.emit(CASE_DISPATCHED, data, case_id, at)

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def dispatch(vhost_uri: str) -> Iterator[Dispatch]:
    stand_in = Dispatch(vhost_uri)
    yield stand_in
    stand_in.close()


@pytest.fixture
def public(vhost_uri: str) -> Iterator[EventTap]:
    tap = EventTap(vhost_uri)
    yield tap
    tap.close()


@pytest.fixture
def internal(vhost_uri: str) -> Iterator[EventTap]:
    tap = EventTap(vhost_uri, "#", exchange="supervision.events")
    yield tap
    tap.close()


@contextmanager
def rpc(settings: Settings) -> Iterator[Any]:
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=10) as cluster:
        yield cluster.supervision


def new_case() -> str:
    return f"CF-{uuid.uuid4().hex[:12]}"


def now(settings: Settings) -> datetime:
    return settings.clock.now()


def advance(settings: Settings, seconds: float) -> None:
    """Move supervision's clock on: limits run out without the test sleeping."""
    assert isinstance(settings.clock, ManualClock)
    settings.clock.advance(timedelta(seconds=seconds))


def scans_done() -> float:
    return REGISTRY.get_sample_value("civicflow_clock_scans_total") or 0.0


def scans_pass(count: int) -> None:
    """Wait for ``count`` more scans of the clocks (by any instance in this process): whatever
    was due at the clock's time has been looked at by then, more than once."""
    wanted, deadline = scans_done() + count, time.monotonic() + 10
    while scans_done() < wanted:
        assert time.monotonic() < deadline, f"{count} scans did not pass in 10 s"
        time.sleep(0.02)


def marked(settings: Settings, case_id: str) -> None:
    """Wait until supervision has kept a fact of the case (a mark): it has handled its event."""
    store = Store(settings.database_url_for("supervision"), "supervision", TABLES)
    deadline = time.monotonic() + 10
    try:
        while True:
            with store.read() as session:
                query = select(func.count()).select_from(Mark).where(Mark.case_id == case_id)
                if session.scalar(query):
                    return
            assert time.monotonic() < deadline, f"no fact of {case_id} kept in 10 s"
            time.sleep(0.05)
    finally:
        store.dispose()


def clocks(settings: Settings, case_id: str, **wanted: Any) -> list[dict[str, Any]]:
    """The case's clocks once one of each wanted kind exists (events are asynchronous)."""
    deadline = time.monotonic() + 10
    with rpc(settings) as supervision:
        while True:
            found = supervision.clocks_of(case_id)
            if all(any(c[k] == v for c in found) for k, v in wanted.items()):
                return list(found)
            assert time.monotonic() < deadline, (wanted, found)
            time.sleep(0.05)


def clock_states_once(settings: Settings, case_id: str, expected: dict[str, str]) -> dict[str, str]:
    """The case's clock states once they are ``expected``, or as they stand after 10 s: each
    fact may be handled by either instance, in any order, so one seen does not mean all."""
    deadline = time.monotonic() + 10
    with rpc(settings) as supervision:
        while True:
            states = {c["kind"]: c["state"] for c in supervision.clocks_of(case_id)}
            if states == expected or time.monotonic() > deadline:
                return states
            time.sleep(0.05)


def types_of(events: list[dict[str, Any]], clock: str) -> list[str]:
    return [e["type"] for e in events if e["data"].get("clock") == clock]


# --- warning, overdue, escalation: exactly once, two instances scanning -------------------------


def test_warning_overdue_and_escalation_fire_once_each_with_two_instances(
    settings: Settings, dispatch: Dispatch, public: EventTap, internal: EventTap
) -> None:
    case_id = new_case()
    with supervision(settings, instances=2):
        dispatch.dispatched(case_id, now(settings), respond=1.0)
        clocks(settings, case_id, kind="respond")
        advance(settings, 0.5)  # half the limit
        warning = public.wait_for("sla.warning", case_id)
        advance(settings, 0.5)  # the limit
        overdue = public.wait_for("sla.overdue", case_id)
        advance(settings, 1.0)  # a grid climbs 1 s after its limit
        asked = internal.wait_for("supervision.escalation_requested", case_id)
        advance(settings, 1.0)
        scans_pass(20)  # ten more scans of each scanner: nothing fires again
        alerts = public.of_type("sla.warning", case_id) + public.of_type("sla.overdue", case_id)
        requests = internal.of_type("supervision.escalation_requested", case_id)
    # the relay publishes at least once (a batch whose confirm came but whose marking failed
    # goes again, same event id): once means one event id, and one alert row
    distinct = {e["event_id"]: e for e in alerts}.values()
    assert sorted(types_of(list(distinct), "respond")) == ["sla.overdue", "sla.warning"]
    assert len({e["event_id"] for e in requests}) == 1
    assert alert_rows(settings, case_id) == {"warning": 1, "overdue": 1, "escalate": 1}
    assert warning["data"]["assignee"] == GRID.model_dump()
    assert overdue["data"]["level"] == "grid"
    assert (asked["data"]["from_level"], asked["data"]["to_level"]) == ("grid", "community")
    assert asked["data"]["clock"] == "respond"


def alert_rows(settings: Settings, case_id: str) -> dict[str, int]:
    store = Store(settings.database_url_for("supervision"), "supervision", TABLES)
    try:
        with store.read() as session:
            kinds = [a.kind for a in session.scalars(select(Alert).where(Alert.case_id == case_id))]
    finally:
        store.dispose()
    return {kind: kinds.count(kind) for kind in kinds}


def test_a_restart_misses_no_alert(
    settings: Settings, dispatch: Dispatch, public: EventTap
) -> None:
    case_id = new_case()
    with supervision(settings):
        dispatch.dispatched(case_id, now(settings), respond=1.5)
        clocks(settings, case_id, kind="respond")
    assert public.of_type("sla.overdue", case_id) == []  # stopped before the limit
    # past the limit while supervision is down, and past the stopped instance's hold on the
    # scanner's lease (SQLite: ten seconds), which the new instance waits out
    advance(settings, 1.6 + 10)
    with supervision(settings):
        overdue = public.wait_for("sla.overdue", case_id)
        scans_pass(10)
    assert overdue["data"]["clock"] == "respond"
    assert types_of(public.of_type("sla.overdue", case_id), "respond") == ["sla.overdue"]
    # past its limit when first seen: overdue alone, no stale warning
    assert public.of_type("sla.warning", case_id) == []


# --- the unit meets its limits ---------------------------------------------------------------


def test_an_accept_stops_the_respond_clock_even_when_it_comes_before_the_dispatch(
    settings: Settings, dispatch: Dispatch, public: EventTap
) -> None:
    case_id, start = new_case(), now(settings)
    with supervision(settings):
        accepted = CaseAccepted(assignee=GRID, by="worker-1")
        dispatch.emit(CASE_ACCEPTED, accepted, case_id, start + timedelta(seconds=0.2))
        marked(settings, case_id)  # the accept is handled before its dispatch comes
        dispatch.dispatched(case_id, start, respond=0.8)
        found = clocks(settings, case_id, kind="resolve")
        advance(settings, 1.0)  # past the limit the accept met
        scans_pass(10)
        assert public.of_type("sla.warning", case_id) == []
        assert public.of_type("sla.overdue", case_id) == []
    by_kind = {c["kind"]: c for c in found}
    assert by_kind["respond"]["state"] == "stopped"
    assert by_kind["respond"]["stopped_at"] is not None
    assert (by_kind["feedback"]["state"], by_kind["resolve"]["state"]) == ("open", "open")


def test_facts_racing_their_dispatch_are_never_lost(settings: Settings, dispatch: Dispatch) -> None:
    """Accepts and extension requests published with their dispatch, either first: handled
    concurrently by two instances, every one still lands on its clock."""
    start, cases = now(settings), [new_case() for _ in range(12)]
    with supervision(settings, instances=2):
        for n, case_id in enumerate(cases):
            accepted = CaseAccepted(assignee=GRID, by="worker-1")
            asked = CaseExtensionRequested(until=start + timedelta(days=9), reason="等", by="h")
            facts = [
                lambda c=case_id: dispatch.dispatched(c, start, respond=3600),
                lambda c=case_id, a=accepted: dispatch.emit(CASE_ACCEPTED, a, c, start),
                lambda c=case_id, a=asked: dispatch.emit(CASE_EXTENSION_REQUESTED, a, c, start),
            ]
            for publish in facts if n % 2 else reversed(facts):
                publish()
        expected = {"respond": "stopped", "feedback": "open", "resolve": "paused"}
        states = [clock_states_once(settings, case_id, expected) for case_id in cases]
    assert states == [expected] * 12


def test_an_extension_pauses_the_resolve_clock_and_an_approval_moves_it(
    settings: Settings, dispatch: Dispatch, public: EventTap
) -> None:
    case_id, start = new_case(), now(settings)
    with supervision(settings):
        dispatch.dispatched(case_id, start, respond=3600, feedback=3600, resolve=1.0)
        until = start + timedelta(days=10)
        asked = CaseExtensionRequested(until=until, reason="需第三方检测", by="h-1")
        dispatch.emit(CASE_EXTENSION_REQUESTED, asked, case_id, start + timedelta(seconds=0.1))
        paused = clocks(settings, case_id, state="paused")
        advance(settings, 1.5)  # past the old limit: a paused clock does not go overdue
        scans_pass(10)
        assert public.of_type("sla.overdue", case_id) == []
        assert public.of_type("sla.warning", case_id) == []
        moved = Deadlines(respond_by=start, feedback_by=start, resolve_by=until)
        decided = CaseExtensionDecided(approved=True, until=until, deadlines=moved, by="sup-1")
        dispatch.emit(CASE_EXTENSION_DECIDED, decided, case_id, now(settings))
        resumed = clocks(settings, case_id, due_at=until.isoformat())
    resolve = next(c for c in paused if c["kind"] == "resolve")
    assert resolve["state"] == "paused"
    after = next(c for c in resumed if c["kind"] == "resolve")
    assert (after["state"], after["warned"], after["overdue"]) == ("open", False, False)


def test_a_refused_extension_gives_back_the_time_the_clock_stood_still(
    settings: Settings, dispatch: Dispatch
) -> None:
    case_id, start = new_case(), now(settings)
    with supervision(settings):
        dispatch.dispatched(case_id, start, respond=3600, feedback=3600, resolve=600)
        asked = CaseExtensionRequested(until=start + timedelta(days=3), reason="等待", by="h-1")
        dispatch.emit(CASE_EXTENSION_REQUESTED, asked, case_id, start + timedelta(seconds=60))
        clocks(settings, case_id, state="paused")
        refused = CaseExtensionDecided(approved=False, until=start, by="sup-1")
        dispatch.emit(CASE_EXTENSION_DECIDED, refused, case_id, start + timedelta(seconds=360))
        # stood still from +60 s to +360 s: the limit moves by those five minutes
        moved = (start + timedelta(seconds=900)).isoformat()
        resumed = clocks(settings, case_id, due_at=moved)
    resolve = next(c for c in resumed if c["kind"] == "resolve")
    assert (resolve["due_at"], resolve["state"]) == (moved, "open")


# --- 督办 ----------------------------------------------------------------------------------------


def test_an_order_has_its_own_clock_and_reply(
    settings: Settings, dispatch: Dispatch, public: EventTap
) -> None:
    case_id = new_case()
    with supervision(settings), rpc(settings) as service:
        dispatch.dispatched(case_id, now(settings), respond=3600)
        clocks(settings, case_id, kind="respond")
        due = now(settings) + timedelta(seconds=0.8)
        red = service.issue_order(
            case_id, {"grade": "red", "note": "限期办理", "due_at": due.isoformat()}, "sup-1"
        )
        issued = public.wait_for("supervision.order", case_id)["data"]
        advance(settings, 1.0)  # past the order's time
        late = public.wait_for("sla.overdue", case_id)["data"]
        replied = service.reply_to_order(red["order_id"], {"reply": "已上门调解"}, "worker-1")
        answer = public.wait_for("supervision.order_replied", case_id)["data"]
        normal = service.issue_order(case_id, {"grade": "normal"}, "sup-1")
        in_time = service.reply_to_order(normal["order_id"], {"reply": "已处理"}, "worker-1")
        with pytest.raises(Exception) as twice:
            service.reply_to_order(normal["order_id"], {"reply": "again"}, "worker-1")
        with pytest.raises(Exception) as unknown:
            service.issue_order("CF-nobody", {"grade": "red"}, "sup-1")
        listed = service.orders_of(case_id)
    assert (issued["grade"], issued["order_id"], issued["assignee"]) == (
        "red", red["order_id"], GRID.model_dump()
    )  # fmt: skip
    assert (late["clock"], late["order_id"]) == ("order", red["order_id"])
    assert replied["reply"] == "已上门调解" and answer["on_time"] is False
    # a normal order without a due time gets the policy's 24 hours
    assert datetime.fromisoformat(normal["due_at"]) - datetime.fromisoformat(
        normal["issued_at"]
    ) == timedelta(hours=24)
    assert in_time["replied_by"] == "worker-1"
    assert "OrderAnswered" in repr(twice.value)
    assert "UnknownCase" in repr(unknown.value)
    assert [o["grade"] for o in listed] == ["red", "normal"]


# --- subscriptions -----------------------------------------------------------------------------


def test_subscriptions_reach_the_right_supervisors(
    settings: Settings, dispatch: Dispatch, internal: EventTap
) -> None:
    case_id = new_case()
    migrate_all(settings, ["notify"])
    # notify keeps the system's time: its sending is not what this test moves on
    notify_settings = dataclasses.replace(settings, clock=SystemClock())
    notify = InProcess([service_class("notify")], notify_settings).start()
    with supervision(settings), rpc(settings) as service:
        mine = service.subscribe({"subscriber": "sup-street", "kinds": ["overdue"],
                                  "scope": {"kind": "unit", "value": "S-001"},
                                  "channels": ["sms"], "phone": "13800138001"})  # fmt: skip
        service.subscribe({"subscriber": "sup-other-street", "kinds": ["overdue", "red_risk"],
                           "scope": {"kind": "unit", "value": "S-002"},
                           "channels": ["sms"], "phone": "13800138002"})  # fmt: skip
        service.subscribe({"subscriber": "sup-red", "kinds": ["red_risk"],
                           "scope": {"kind": "risk", "value": "red"},
                           "channels": ["wechat"], "wechat_openid": "oX1234567890"})  # fmt: skip
        service.subscribe({"subscriber": "screen", "kinds": ["overdue"], "channels": ["amqp"]})
        with pytest.raises(Exception) as refused:
            service.subscribe({"subscriber": "x", "kinds": ["overdue"], "channels": ["sms"]})
        dispatch.dispatched(case_id, now(settings), respond=0.5, risk="red")
        red = internal.wait_for("supervision.red_risk", case_id)
        advance(settings, 0.6)  # past the respond limit
        internal.wait_for("sla.overdue", case_id)
        routed = routed_alerts(internal, case_id, {"red_risk", "overdue"})
        listed = service.subscriptions("sup-street")
        refused_stored = service.subscriptions("x")
    assert mine["phone"] == "138****8001" and "13800138001" not in str(listed)
    assert "channel sms needs a phone" in str(refused.value)
    assert refused_stored == []  # the refused subscription left nothing behind
    assert red["data"]["territory"] == TERRITORY
    vault = load_vault(settings)
    reached = {
        alert: sorted(
            (r["subscriber"], r["channel"], vault.open(r["address_sealed"]))
            for r in data["recipients"]
        )
        for alert, data in routed.items()
    }
    assert reached == {
        "red_risk": [("sup-red", "wechat", "oX1234567890")],
        "overdue": [("sup-street", "sms", "13800138001")],
    }
    assert routed["overdue"]["summary"].startswith(f"【已超时】{case_id}")
    # the AMQP subscriber's own queue holds the public overdue alert
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_uri))
    method, _props, body = connection.channel().basic_get("civicflow.sub.screen", auto_ack=True)
    connection.close()
    assert method is not None and case_id.encode() in body and b"sla.overdue" in body
    # notify told them: the street's supervisor by SMS, the red-risk watcher on WeChat
    sent = wait_for_lines(settings.data_dir / "notify", {"sms.jsonl": 1, "wechat.jsonl": 1})
    notify.kill()
    assert [(m["to"], m["text"][:10]) for m in sent["sms.jsonl"]] == [
        ("13800138001", f"【综治中心】【已超时】{case_id}"[:10])
    ]
    assert [m["to"] for m in sent["wechat.jsonl"]] == ["oX1234567890"]
    assert case_id in sent["wechat.jsonl"][0]["text"]


def routed_alerts(internal: EventTap, case_id: str, kinds: set[str]) -> dict[str, dict[str, Any]]:
    """The case's routed alerts by kind, once one of each kind wanted is there (an alert and
    its routing leave in one transaction, but not always in one batch)."""
    deadline = time.monotonic() + 10
    while True:
        routed = {
            e["data"]["alert"]: e["data"]
            for e in internal.of_type("supervision.alert_routed", case_id)
        }
        if kinds <= routed.keys():
            return routed
        assert time.monotonic() < deadline, (kinds, routed)
        time.sleep(0.02)


def wait_for_lines(folder: Path, wanted: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    deadline = time.monotonic() + 10
    while True:
        found = {
            name: [json.loads(line) for line in (folder / name).read_text().splitlines()]
            if (folder / name).exists() else []
            for name in wanted
        }  # fmt: skip
        if all(len(found[name]) >= count for name, count in wanted.items()):
            time.sleep(0.3)  # and nothing more arrives
            return {name: [json.loads(line) for line in (folder / name).read_text().splitlines()]
                    for name in wanted}  # fmt: skip
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


# --- 一单考评 ---------------------------------------------------------------------------

DEPT = Assignee(kind="department", code="D-ZJJ", name="县住建局")


def bj(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def test_the_assessment_matches_hand_computed_figures(
    settings: Settings, dispatch: Dispatch, tmp_path: Path
) -> None:
    """Five dispatches in November 2026 (and one in October, left out), scored by hand below."""
    cases = {name: new_case() for name in "ABCDEF"}
    # no scan while the history is replayed: its clocks were all due long ago, and a scan
    # between a dispatch and its accept would call a met limit overdue
    settings = dataclasses.replace(settings, supervision_tick_seconds=3600)

    def dispatched(name: str, at: datetime, unit: Assignee) -> None:
        limits = Deadlines(respond_by=at + timedelta(hours=2), feedback_by=at + timedelta(hours=24),
                           resolve_by=at + timedelta(days=5))  # fmt: skip
        level = "grid" if unit.kind == "grid" else "district"
        data = CaseDispatched(assignee=unit, level=level, deadlines=limits, dispatched_by="auto",
                              territory=TERRITORY)  # type: ignore[arg-type]  # fmt: skip
        dispatch.emit(CASE_DISPATCHED, data, cases[name], at)

    def fact(name: str, spec: EventSpec[Any], data: EventData, at: datetime) -> None:
        dispatch.emit(spec, data, cases[name], at)

    lead = {"assignee": GRID, "by": "w"}
    with supervision(settings), rpc(settings) as service:
        # A, grid: every limit met; revisit satisfied
        dispatched("A", bj(2, 9), GRID)
        fact("A", CASE_ACCEPTED, CaseAccepted(**lead), bj(2, 9, 30))
        fact("A", CASE_FEEDBACK, CaseFeedback(note="已联系", by="w"), bj(2, 20))
        fact("A", CASE_CONCLUDED, CaseConcluded(result="已解决", by="w"), bj(4, 10))
        fact("A", CASE_CLOSED, CaseClosed(satisfaction="satisfied", by="op"), bj(5, 10))
        # B, grid: accepted and fed back late, concluded in time; basically satisfied
        dispatched("B", bj(3, 9), GRID)
        fact("B", CASE_ACCEPTED, CaseAccepted(**lead), bj(3, 12))
        fact("B", CASE_FEEDBACK, CaseFeedback(note="处理中", by="w"), bj(4, 10))
        fact("B", CASE_CONCLUDED, CaseConcluded(result="已解决", by="w"), bj(5, 10))
        fact("B", CASE_CLOSED, CaseClosed(satisfaction="basically_satisfied", by="op"), bj(6, 9))
        # C, grid: returned within the hour: a response in time; the other limits end unmet
        dispatched("C", bj(5, 9), GRID)
        fact("C", CASE_RETURNED, CaseReturned(assignee=GRID, reason="非本网格", by="w"), bj(5, 10))
        # D, department: all in time, concluded, sent back unsatisfied, concluded again, satisfied
        dispatched("D", bj(6, 9), DEPT)
        fact("D", CASE_ACCEPTED, CaseAccepted(assignee=DEPT, by="h"), bj(6, 10))
        fact("D", CASE_FEEDBACK, CaseFeedback(note="已受理", by="h"), bj(6, 15))
        fact("D", CASE_CONCLUDED, CaseConcluded(result="已维修", by="h"), bj(8, 10))
        fact("D", CASE_REOPENED, CaseReopened(reason="没修好", by="op", satisfaction="unsatisfied"),
             bj(9, 10))  # fmt: skip
        fact("D", CASE_CONCLUDED, CaseConcluded(result="已返修", by="h"), bj(10, 10))
        fact("D", CASE_CLOSED, CaseClosed(satisfaction="satisfied", by="op"), bj(11, 10))
        # E, department: nothing done; a red and a yellow card
        dispatched("E", bj(10, 9), DEPT)
        # F, department, in October: not in the November report
        dispatched("F", bj(31, 23, 30, month=10), DEPT)
        clocks(settings, cases["E"], kind="resolve")
        service.issue_order(cases["E"], {"grade": "red", "note": "限期"}, "sup-1")
        service.issue_order(cases["E"], {"grade": "yellow"}, "sup-1")
        # the events are handled concurrently: wait until the last facts of each have landed
        deadline = time.monotonic() + 15
        while (before := by_code(service.assessment("2026-11"))) != {
            "G-0101": {"satisfaction_rate": 1.0, "return_rate": 1 / 3},
            "D-ZJJ": {"satisfaction_rate": 1.0, "return_rate": 0.0},
        }:
            assert time.monotonic() < deadline, before
            time.sleep(0.1)
    # one scan, now (late November): only E's three clocks are still open, all past due
    store = Store(settings.database_url_for("supervision"), "supervision", TABLES)
    uow = SqlSupervisionUnitOfWork(store, "test", autoflush=False)
    scan_due(uow, load_sla_policy(settings.config_dir), now(settings))
    store.dispose()
    with supervision(settings), rpc(settings) as service:
        rows = {row["assignee_code"]: row for row in service.assessment("2026-11")}
        departments = service.assessment("2026-11", "department")
    # grid: respond A in time, B late, C in time (its return) = 2/3; feedback A in time, B late,
    # C ended before its limit (not counted) = 1/2; resolve A, B in time, C not counted = 2/2;
    # satisfaction (satisfied + basically) / revisited = 2/2; returns 1/3; reopens 0/2.
    # score = 15·2/3 + 15·1/2 + 30·1 + 30·1 + 5·(1 − 1/3) + 5·(1 − 0) = 85.83, nothing off
    grid = rows["G-0101"]
    assert (grid["dispatched"], grid["overdue"], grid["orders"]) == (3, 0, 0)
    assert grid["respond_on_time_rate"] == pytest.approx(2 / 3)
    assert (grid["feedback_on_time_rate"], grid["resolve_on_time_rate"]) == (0.5, 1.0)
    assert (grid["reopen_rate"], grid["score"]) == (0.0, 85.83)
    # department: D in time on all three, E late on all three (and overdue) = 1/2 each;
    # satisfaction 1/1; returns 0/2; reopens 1/1 (D).
    # score = 15·1/2 + 15·1/2 + 30·1/2 + 30·1 + 5·1 + 5·0 = 65; minus 3 overdue × 1, a red
    # card 10 and a yellow card 3 = 49
    dept = rows["D-ZJJ"]
    assert (dept["dispatched"], dept["overdue"], dept["orders"]) == (2, 3, 2)
    assert (dept["red_cards"], dept["yellow_cards"]) == (1, 1)
    assert (dept["respond_on_time_rate"], dept["feedback_on_time_rate"],
            dept["resolve_on_time_rate"]) == (0.5, 0.5, 0.5)  # fmt: skip
    assert (dept["reopen_rate"], dept["satisfaction_rate"], dept["score"]) == (1.0, 1.0, 49.0)
    assert [row["assignee_code"] for row in departments] == ["D-ZJJ"]
    # the same as CSV, from `civicflow report --period 2026-11`
    out = tmp_path / "report.csv"
    assert cmd_report(argparse.Namespace(period="2026-11", out=str(out)), settings) == 0
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("period,kind,code,name,dispatched,")
    assert lines[1:] == [
        "2026-11,grid,G-0101,城关一网格,3,66.7,50.0,100.0,0,33.3,0.0,100.0,0,0,0,85.83",
        "2026-11,department,D-ZJJ,县住建局,2,50.0,50.0,50.0,3,0.0,100.0,100.0,2,1,1,49.00",
    ]


def by_code(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        row["assignee_code"]: {
            "satisfaction_rate": row["satisfaction_rate"], "return_rate": row["return_rate"]
        }
        for row in rows
    }  # fmt: skip
