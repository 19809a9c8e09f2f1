"""What intake does with a submission and with the events of its cases, inside a unit of work.

A submission is stored once per (source, external id), whichever way it came (HTTP, Open311,
``civicflow.inbound``): linked to the citizen's earlier matters it repeats, graded 红黄蓝, and
told as ``case.received``. The events dispatch and supervision publish about the cases keep
the sources' view of them (status and timeline), and owe the sources a callback when their
status changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from contracts.desk import RegisteredAtDesk
from contracts.events import CASE_RECEIVED, CaseReceived, Envelope
from kernel import phones
from kernel.clock import Clock
from kit.logs import about
from services.intake import domain
from services.intake.commands import NewSubmission
from services.intake.config import IntakeConfig
from services.intake.models import Callback, CaseStatus, Submission
from services.intake.repeats import EarlierMatter, find_repeats
from services.intake.unit_of_work import CaseStatuses, IntakeUnitOfWork, Submissions

EARLIER_LIMIT = 50
"""A citizen's earlier matters read for repeats at most, the newest first."""
CALLBACK_LEASE = timedelta(seconds=60)
CALLBACKS_AT_ONCE = 20

Send = Callable[[Callback, domain.Source | None, datetime], str | None]
"""Delivers a callback to its source at a time: None when the source took it, else what went
wrong (``callbacks.deliver``)."""

# --- submissions ---


def store_submission(
    uow: IntakeUnitOfWork, new: NewSubmission, config: IntakeConfig, now: datetime
) -> tuple[str, bool]:
    """One submission in a unit of work of its own: (case id, duplicate)."""
    [answer] = store_submissions(uow, [new], config, now)
    return answer


def store_submissions(
    uow: IntakeUnitOfWork, submissions: Sequence[NewSubmission], config: IntakeConfig, now: datetime
) -> list[tuple[str, bool]]:
    """Each submission stored as one alone is, in order, in one unit of work (a batch from
    ``civicflow.inbound``, or HTTP submissions that waited together): each sees those before
    it as earlier matters, and a repeat of a stored one is answered as the duplicate it is.
    (case id, duplicate) each."""
    if not submissions:
        return []
    vault = config.vault
    fingerprints = [vault.fingerprint(new.phone) if new.phone else None for new in submissions]
    with uow:
        earlier = earlier_matters(uow.submissions, submissions, fingerprints, config)
        answers = [
            submit(uow, new, fingerprint, earlier, config, now)
            for new, fingerprint in zip(submissions, fingerprints, strict=True)
        ]
        uow.commit()
    return answers


def earlier_matters(
    submissions: Submissions,
    batch: Sequence[NewSubmission],
    fingerprints: Sequence[str | None],
    config: IntakeConfig,
) -> dict[str, list[EarlierMatter]]:
    """The batch's citizens' earlier matters within the repeat window, in one query."""
    wanted = [fingerprint for fingerprint in fingerprints if fingerprint]
    if not wanted:
        return {}
    since = min(new.case.received_at for new in batch) - config.repeats.window
    return submissions.earlier_matters(wanted, since, EARLIER_LIMIT)


def register_at_desk(
    uow: IntakeUnitOfWork, new: NewSubmission, config: IntakeConfig, now: datetime
) -> RegisteredAtDesk:
    """A matter registered at the centre's desk, stored as every submission is (the number
    sealed, the repeats linked, the risk graded, ``case.received`` told); a registration whose
    key made a case already answers that case."""
    case_id, duplicate = store_submission(uow, new, config, now)
    received_at = now
    if duplicate:
        with uow:
            stored = uow.submissions.get(case_id)
            received_at = stored.received_at if stored is not None else now
    return RegisteredAtDesk(case_id=case_id, duplicate=duplicate, received_at=received_at)


def submit(
    uow: IntakeUnitOfWork,
    new: NewSubmission,
    fingerprint: str | None,
    earlier: dict[str, list[EarlierMatter]],
    config: IntakeConfig,
    now: datetime,
) -> tuple[str, bool]:
    """Store the submission and emit ``case.received``, unless its (source, external id) is
    stored: then it is the duplicate of that case, and nothing is emitted. A stored one joins
    its citizen's ``earlier`` matters, for those after it in the batch."""
    citizens_earlier = earlier.get(fingerprint, []) if fingerprint else []
    repeats = find_repeats(new.case.content, new.case.received_at, citizens_earlier, config.repeats)
    case = domain.assess(new.case, repeats, config.risk)
    sealed = config.vault.seal(new.phone) if new.phone else None
    index = phone_index_of(new.phone, config.phone_index_key)
    for _attempt in range(3):  # a fresh case id on the rare random collision
        case_id = domain.new_case_id(now)
        row = submission_row(case_id, case, new.transport, sealed, fingerprint, now)
        row["phone_index"] = index
        if uow.submissions.add_if_new(row):
            uow.emit(CASE_RECEIVED.new(case, case_id=case_id, occurred_at=now))
            if fingerprint:
                matter = EarlierMatter(case_id, case.received_at, case.content)
                earlier[fingerprint] = [matter, *citizens_earlier]
            return case_id, False
        existing = uow.submissions.case_id_for(case.source, case.external_id)
        if existing:
            return existing, True
    raise RuntimeError("could not allocate a case id")


def phone_index_of(phone: str | None, key: str) -> str | None:
    """The blind index phone search finds the submission by (none without a number or key)."""
    if not phone or not key:
        return None
    try:
        return phones.blind_index(key, phone)
    except phones.NotAPhoneNumber:
        return None  # a number the contract let in but search could never be given


def submission_row(
    case_id: str,
    case: CaseReceived,
    transport: str,
    sealed_phone: str | None,
    fingerprint: str | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "source": case.source,
        "external_id": case.external_id,
        "channel": case.channel,
        "transport": transport,
        "case": case.model_dump(mode="json"),
        "content": case.content,
        "reporter_phone_sealed": sealed_phone,
        "reporter_fingerprint": fingerprint,
        "risk": case.risk,
        "received_at": case.received_at,
        "created_at": now,
    }


# --- the sources' view of their cases ---


def track_case_events(
    uow: IntakeUnitOfWork,
    events: Sequence[Envelope[Any]],
    sources: domain.SourceRegistry,
    now: datetime,
) -> None:
    """Keep the sources' view of their cases, in the order the events came, each event once
    (a redelivered one changes nothing), and owe a source a callback when its case's status
    changes. An event of a case that did not come in here is not ours to track."""
    case_ids = sorted({event.case_id for event in events if event.case_id is not None})
    with uow:
        uow.submissions.load(case_ids)  # two queries for the batch rather than two a case
        uow.statuses.load(case_ids)
        fresh = uow.first_times(event.event_id for event in events)
        ours = [
            (event, submission, event.data.model_dump(mode="json"))
            for event in events
            if fresh.take(event.event_id)
            and event.case_id is not None
            and (submission := uow.submissions.get(event.case_id)) is not None
        ]
        new = uow.statuses.add_all_to_timeline([timeline_entry(e, data) for e, _, data in ours])
        for event, submission, data in ours:
            if event.event_id in new:  # not on the timeline yet
                with about(case_id=event.case_id, event_id=event.event_id):
                    track(uow, submission, event, data, sources, now)
        uow.commit()


def track(
    uow: IntakeUnitOfWork,
    submission: Submission,
    event: Envelope[Any],
    data: dict[str, Any],
    sources: domain.SourceRegistry,
    now: datetime,
) -> None:
    changed = move_status(uow.statuses, event, data)
    source = sources.get(submission.source)
    if changed and source is not None and source.callback_url:
        body = callback_body(submission, event, data, changed)
        uow.callbacks.enqueue(source.id, submission.case_id, event.event_id, body, now)


def timeline_entry(event: Envelope[Any], data: dict[str, Any]) -> dict[str, Any]:
    """The event as its case's timeline shows it (``data``: the event's, as JSON)."""
    return {
        "case_id": event.case_id, "event_id": event.event_id, "at": event.occurred_at,
        "type": event.type, "status": domain.STATUS_AFTER.get(event.type),
        "note": domain.timeline_note(data),
    }  # fmt: skip


def move_status(statuses: CaseStatuses, event: Envelope[Any], data: dict[str, Any]) -> str | None:
    """If the event (new on the timeline) is the newest word on the case (events may arrive
    out of order), move the status and keep its assignee, level and deadlines. The new
    status, or None if the status did not change."""
    assert event.case_id is not None
    new_status = domain.STATUS_AFTER.get(event.type)
    current = statuses.get(event.case_id)
    if current is None:
        if new_status is None:
            return None
        current = CaseStatus(case_id=event.case_id, status="received", status_at=event.occurred_at)
        statuses.put(current)
    elif current.status_at > event.occurred_at:
        return None
    current.status_at = event.occurred_at
    for key in ("assignee", "level"):
        if data.get(key) is not None:
            setattr(current, key, data[key])
    if data.get("deadlines") is not None:
        current.deadlines = given(data["deadlines"])
    if event.type in ("case.returned", "case.escalated"):
        current.assignee, current.deadlines = None, None
    if new_status is None or new_status == current.status:
        return None
    current.status = new_status
    return new_status


def given(deadlines: dict[str, Any]) -> dict[str, Any]:
    """The limits a case has: a petition's own two are absent, not null, on other cases."""
    return {name: at for name, at in deadlines.items() if at is not None}


# --- callbacks ---


def callback_body(
    submission: Submission, event: Envelope[Any], data: dict[str, Any], status: str
) -> str:
    return json.dumps(
        {
            "event_id": event.event_id,
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "case_id": submission.case_id,
            "external_id": submission.external_id,
            "status": status,
            "assignee": data.get("assignee"),
            "deadlines": given(data["deadlines"]) if data.get("deadlines") else None,
            "note": domain.timeline_note(data),
        },
        ensure_ascii=False,
    )


def deliver_callbacks(
    uow: IntakeUnitOfWork, sources: domain.SourceRegistry, send: Send, clock: Clock
) -> None:
    """Send the callbacks due: claimed in one transaction, sent outside any (a slow source
    holds no transaction open), each settled in another: delivered, or tried again later
    with backoff until it fails for good."""
    now = clock.now()
    with uow:
        due = uow.callbacks.claim_due(now, CALLBACK_LEASE, CALLBACKS_AT_ONCE)
        uow.commit()
    if not due:
        return
    outcomes = []
    for callback in due:
        with about(case_id=callback.case_id, event_id=callback.event_id):
            outcomes.append((callback.id, send(callback, sources.get(callback.source), now)))
    with uow:
        for callback_id, error in outcomes:
            settle_callback(uow.callbacks.get(callback_id), error, clock.now())
        uow.commit()


def settle_callback(callback: Callback, error: str | None, now: datetime) -> None:
    callback.attempts += 1
    if error is None:
        callback.delivered_at = now
        return
    callback.last_error = error[:500]
    if callback.attempts >= domain.MAX_CALLBACK_ATTEMPTS:
        callback.failed_at = now
    else:
        callback.next_attempt_at = now + timedelta(seconds=domain.callback_delay(callback.attempts))
