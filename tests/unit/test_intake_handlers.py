"""Intake's handlers and queries over the in-memory unit of work: what a submission stores and
tells, how a repeat is linked and graded, how the sources' view follows the events of their
cases, and the callbacks owed to them. No broker, no database."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.events import (
    CASE_ACCEPTED,
    CASE_DISPATCHED,
    CASE_RECEIVED,
    Assignee,
    CaseAccepted,
    CaseDispatched,
    Deadlines,
    Envelope,
)
from contracts.inbound import HOTLINE, PETITION, HotlineTicket, Petition
from kernel.clock import ManualClock
from kit.settings import Settings
from services.intake import handlers, open311, queries
from services.intake.commands import NewSubmission
from services.intake.config import IntakeConfig, load_config
from services.intake.domain import Source, SourceRegistry
from services.intake.models import Callback, CaseStatus
from tests.support.fake_intake import FakeIntakeUnitOfWork

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
NOW = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
CALLER, OTHER = "13800001111", "13900002222"
CALLBACK_URL = "https://hotline.example/callbacks"
GRID = Assignee(kind="grid", code="G-0101", name="城关一网格")


@pytest.fixture(scope="module")
def config() -> IntakeConfig:
    """The dev configuration, with the hotline owed callbacks."""
    loaded = load_config(Settings(env="dev", config_dir=CONFIG_DIR))
    hotline = Source(
        id="hotline", name="12345", secret="s", api_key="k",
        channels=frozenset({"hotline"}), callback_url=CALLBACK_URL,
    )  # fmt: skip
    petition = Source(
        id="petition", name="信访局", secret="s", api_key="p", channels=frozenset({"petition"})
    )
    return replace(loaded, sources=SourceRegistry({"hotline": hotline, "petition": petition}))


def ticket(
    number: str, content: str, phone: str = CALLER, at: datetime = NOW, urgent: bool = False
) -> NewSubmission:
    payload = HotlineTicket.model_validate(
        {
            "ticket_no": number,
            "received_at": at.isoformat(),
            "caller": {"name": "王先生", "phone": phone},
            "content": content,
            "category": "environment.noise",
            "urgent": urgent,
        }
    )
    return NewSubmission.of(HOTLINE, payload, "hotline", "http")


def received(uow: FakeIntakeUnitOfWork) -> dict[str, dict[str, Any]]:
    """Each case.received told, by case id: its data as JSON."""
    assert all(event.type == CASE_RECEIVED.type for event in uow.events)
    return {str(e.case_id): e.data.model_dump(mode="json") for e in uow.events}


# --- submissions ---


def test_a_new_submission_is_stored_and_told(config: IntakeConfig) -> None:
    uow = FakeIntakeUnitOfWork()

    case_id, duplicate = handlers.store_submission(
        uow, ticket("T-1", "楼下饭店油烟太大"), config, NOW
    )

    assert not duplicate and case_id.startswith("CF261121-")
    [event] = uow.events
    assert (event.type, event.case_id, event.occurred_at) == (CASE_RECEIVED.type, case_id, NOW)
    assert (event.data.source, event.data.external_id) == ("hotline", "T-1")
    assert event.data.reporter is not None and event.data.reporter.phone == "138****1111"
    row = uow.committed.submissions.get(case_id)
    assert row is not None and (row.source, row.external_id, row.transport) == (
        "hotline",
        "T-1",
        "http",
    )
    assert row.created_at == NOW and row.received_at == NOW
    assert row.reporter_phone_sealed and CALLER not in row.reporter_phone_sealed
    assert config.vault.open(row.reporter_phone_sealed) == CALLER
    assert row.reporter_fingerprint == config.vault.fingerprint(CALLER)


def test_the_same_external_id_again_is_the_same_case_and_tells_nothing(
    config: IntakeConfig,
) -> None:
    uow = FakeIntakeUnitOfWork()
    first = handlers.store_submission(uow, ticket("T-1", "楼下饭店油烟太大"), config, NOW)

    later = NOW + timedelta(minutes=5)
    again = handlers.store_submission(uow, ticket("T-1", "楼下饭店油烟太大"), config, later)
    # the same ticket number from another source is another matter
    petition = Petition.model_validate(
        {"petition_no": "T-1", "form": "letter", "filed_at": NOW.isoformat(), "content": "讨薪",
         "petitioners": [{"name": "李某"}]}
    )  # fmt: skip
    other = handlers.store_submission(
        uow, NewSubmission.of(PETITION, petition, "petition", "amqp"), config, later
    )

    assert again == (first[0], True)
    assert other[0] != first[0] and not other[1]
    assert list(received(uow)) == [first[0], other[0]]
    assert len(uow.committed.submissions.rows) == 2


def test_a_repeat_of_the_citizens_earlier_matter_is_linked_and_graded(
    config: IntakeConfig,
) -> None:
    uow = FakeIntakeUnitOfWork()
    earlier, _ = handlers.store_submission(
        uow, ticket("T-1", "小区楼下饭店油烟污染严重", at=NOW - timedelta(days=3)), config, NOW
    )
    handlers.store_submission(uow, ticket("T-2", "小区楼下饭店油烟污染严重", OTHER), config, NOW)
    handlers.store_submission(
        uow, ticket("T-3", "饭店油烟污染严重", at=NOW - timedelta(days=200)), config, NOW
    )  # the same citizen, long before the window

    case_id, _ = handlers.store_submission(
        uow, ticket("T-4", "楼下饭店油烟污染严重,反映多次没人管"), config, NOW
    )
    unrelated, _ = handlers.store_submission(uow, ticket("T-5", "路灯坏了"), config, NOW)

    cases = received(uow)
    assert cases[case_id]["repeat_of"] == [earlier] and cases[case_id]["repeat_count"] == 1
    assert cases[case_id]["risk"] == "yellow"
    assert "repeat_complaint" in cases[case_id]["risk_rules"]
    assert cases[unrelated]["repeat_of"] == [] and cases[unrelated]["risk"] == "blue"


def test_risk_is_graded_by_the_rules(config: IntakeConfig) -> None:
    uow = FakeIntakeUnitOfWork()
    red, _ = handlers.store_submission(uow, ticket("T-1", "工地欠薪工人要跳楼"), config, NOW)
    urgent, _ = handlers.store_submission(
        uow, ticket("T-2", "路灯坏了", OTHER, urgent=True), config, NOW
    )

    cases = received(uow)
    assert cases[red]["risk"] == "red"
    assert {"self_harm", "wage_arrears"} <= set(cases[red]["risk_rules"])
    assert (cases[urgent]["risk"], cases[urgent]["risk_rules"]) == ("yellow", ["urgent_hotline"])


def test_a_batch_is_stored_as_each_alone_would_be(config: IntakeConfig) -> None:
    uow = FakeIntakeUnitOfWork()
    first, repeat, again = (
        ticket("T-1", "孩子上学入学名额问题", at=NOW - timedelta(hours=1)),
        ticket("T-2", "孩子入学名额问题还没解决"),
        ticket("T-1", "孩子上学入学名额问题", at=NOW - timedelta(hours=1)),
    )

    answers = handlers.store_submissions(uow, [first, repeat, again], config, NOW)

    (one, new_one), (two, new_two), (three, duplicate) = answers
    assert (new_one, new_two, duplicate) == (False, False, True) and three == one
    assert received(uow)[two]["repeat_of"] == [one]
    assert uow.commits == 1 and len(uow.events) == 2


def test_a_failed_batch_stores_and_tells_nothing(config: IntakeConfig) -> None:
    uow = FakeIntakeUnitOfWork()
    # a submission that cannot be stored, after one that was
    broken = replace(ticket("T-2", "路灯坏了"), case=None)  # type: ignore[arg-type]

    with pytest.raises(AttributeError):
        handlers.store_submissions(uow, [ticket("T-1", "油烟"), broken], config, NOW)

    assert uow.commits == 0 and uow.events == []
    assert uow.committed.submissions.rows == {}


# --- the sources' view of their cases ---


def _status(status: CaseStatus | None) -> tuple[Any, ...]:
    assert status is not None
    return status.status, status.status_at, status.assignee, status.level, status.deadlines


def lifecycle(case_id: str) -> list[Envelope[Any]]:
    deadlines = Deadlines(
        respond_by=NOW + timedelta(hours=2), feedback_by=NOW + timedelta(hours=24),
        resolve_by=NOW + timedelta(days=5),
    )  # fmt: skip
    dispatched = CaseDispatched(
        assignee=GRID, level="grid", deadlines=deadlines, dispatched_by="auto",
        category="environment.noise", channel="hotline", risk="blue", territory={},
    )  # fmt: skip
    at = NOW + timedelta(minutes=1)
    return [
        CASE_DISPATCHED.new(dispatched, case_id=case_id, occurred_at=at),
        CASE_ACCEPTED.new(
            CaseAccepted(assignee=GRID, by="grid-worker-01"),
            case_id=case_id,
            occurred_at=at + timedelta(minutes=5),
        ),
    ]


def submitted(config: IntakeConfig, new: NewSubmission | None = None) -> tuple[Any, str]:
    uow = FakeIntakeUnitOfWork()
    case_id, _ = handlers.store_submission(uow, new or ticket("T-1", "夜间施工噪音"), config, NOW)
    return uow, case_id


def test_tracking_follows_the_events_of_a_case(config: IntakeConfig) -> None:
    uow, case_id = submitted(config)
    dispatched, accepted = lifecycle(case_id)
    later = NOW + timedelta(minutes=10)

    handlers.track_case_events(uow, [dispatched, accepted], config.sources, later)

    view = queries.case_view(uow, "hotline", case_id)
    assert view is not None
    assert (view.status, view.level) == ("accepted", "grid")
    assert view.assignee == GRID.model_dump()
    assert [(entry.type, entry.status) for entry in view.timeline] == [
        ("case.received", "received"),
        ("case.dispatched", "dispatched"),
        ("case.accepted", "accepted"),
    ]
    assert view.timeline[-1].note == GRID.name
    owed = sorted(uow.committed.callbacks.rows.values(), key=lambda c: c.id)
    assert [(c.event_id, c.next_attempt_at) for c in owed] == [
        (dispatched.event_id, later),
        (accepted.event_id, later),
    ]
    body = json.loads(owed[0].body)
    assert (body["case_id"], body["external_id"], body["status"]) == (case_id, "T-1", "dispatched")


def test_a_redelivered_event_changes_nothing_and_a_late_one_moves_no_status(
    config: IntakeConfig,
) -> None:
    uow, case_id = submitted(config)
    dispatched, accepted = lifecycle(case_id)
    handlers.track_case_events(uow, [dispatched, accepted], config.sources, NOW)
    before = uow.committed.copy()

    # the same events again, one twice in a batch
    handlers.track_case_events(uow, [accepted, dispatched, accepted], config.sources, NOW)
    after = uow.committed
    assert _status(after.statuses.get(case_id)) == _status(before.statuses.get(case_id))
    assert [e.event_id for e in after.statuses.entries] == [
        e.event_id for e in before.statuses.entries
    ]
    assert sorted(after.callbacks.rows) == sorted(before.callbacks.rows) == [1, 2]

    # an older word arriving late goes on the timeline but moves nothing
    late = CASE_DISPATCHED.new(
        dispatched.data, case_id=case_id, occurred_at=NOW - timedelta(minutes=1)
    )
    handlers.track_case_events(uow, [late], config.sources, NOW)

    status = uow.committed.statuses.get(case_id)
    assert status is not None and status.status == "accepted"
    assert status.status_at == accepted.occurred_at
    timeline = uow.committed.statuses.timeline(case_id)
    assert [e.event_id for e in timeline] == [late.event_id, dispatched.event_id, accepted.event_id]
    assert late.event_id not in {c.event_id for c in uow.committed.callbacks.rows.values()}
    assert len(uow.committed.callbacks.rows) == len(before.callbacks.rows) == 2


def test_events_of_cases_not_received_here_are_not_tracked(config: IntakeConfig) -> None:
    uow, _ = submitted(config)
    handlers.track_case_events(uow, lifecycle("CF261121-ELSEWH"), config.sources, NOW)
    assert uow.committed.statuses.statuses == {} and uow.committed.statuses.entries == []


def test_a_source_without_a_callback_url_is_owed_none(config: IntakeConfig) -> None:
    petition = Petition.model_validate(
        {"petition_no": "P-1", "form": "letter", "filed_at": NOW.isoformat(), "content": "讨薪",
         "petitioners": [{"name": "李某"}]}
    )  # fmt: skip
    uow, case_id = submitted(config, NewSubmission.of(PETITION, petition, "petition", "http"))
    handlers.track_case_events(uow, lifecycle(case_id), config.sources, NOW)
    status = uow.committed.statuses.get(case_id)
    assert status is not None and status.status == "accepted"
    assert uow.committed.callbacks.rows == {}


# --- callbacks ---


def test_callbacks_are_sent_when_due_and_retried_with_backoff(config: IntakeConfig) -> None:
    uow, case_id = submitted(config)
    [dispatched] = lifecycle(case_id)[:1]
    handlers.track_case_events(uow, [dispatched], config.sources, NOW)
    clock = ManualClock(NOW)
    answers = ["HTTP 500", None]
    sent: list[tuple[str, str | None, datetime]] = []

    def send(callback: Callback, source: Source | None, at: datetime) -> str | None:
        sent.append((callback.event_id, source.callback_url if source else None, at))
        return answers.pop(0)

    handlers.deliver_callbacks(uow, config.sources, send, clock)
    [callback] = uow.committed.callbacks.rows.values()
    assert sent == [(dispatched.event_id, CALLBACK_URL, NOW)]
    assert (callback.attempts, callback.last_error) == (1, "HTTP 500")
    assert callback.next_attempt_at == NOW + timedelta(seconds=2) and callback.delivered_at is None

    clock.advance(timedelta(seconds=1))
    handlers.deliver_callbacks(uow, config.sources, send, clock)  # not due yet
    assert len(sent) == 1

    clock.advance(timedelta(seconds=1))
    handlers.deliver_callbacks(uow, config.sources, send, clock)
    [callback] = uow.committed.callbacks.rows.values()
    assert len(sent) == 2 and (callback.attempts, callback.delivered_at) == (2, clock.now())

    clock.advance(timedelta(hours=1))
    handlers.deliver_callbacks(uow, config.sources, send, clock)  # delivered: not again
    assert len(sent) == 2


# --- what the sources read ---


def test_a_case_is_only_its_own_sources(config: IntakeConfig) -> None:
    uow, case_id = submitted(config)
    assert queries.case_view(uow, "petition", case_id) is None
    assert queries.case_view(uow, "hotline", "CF000000-NOSUCH") is None
    contact = queries.reporter_contact(uow, case_id)
    assert contact is not None and config.vault.open(contact["phone_sealed"]) == CALLER


def test_open311_requests_show_the_sources_cases(config: IntakeConfig) -> None:
    uow, case_id = submitted(config)
    handlers.track_case_events(uow, lifecycle(case_id)[:1], config.sources, NOW)
    query = open311.RequestQuery((), ("environment.noise",), ("open",), None, None)

    [view] = queries.service_requests(uow, "hotline", query, config.services)

    assert (view["service_request_id"], view["status"]) == (case_id, "open")
    assert view["service_name"] == config.services["environment.noise"].name
    assert view["agency_responsible"] == GRID.name
    closed = replace(query, statuses=("closed",))
    assert queries.service_requests(uow, "hotline", closed, config.services) == []
    assert queries.service_requests(uow, "petition", query, config.services) == []
