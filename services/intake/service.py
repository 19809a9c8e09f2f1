"""Intake's entrypoints: the four lines over HTTP and ``civicflow.inbound``, Open311, the
sources' view of their cases, and the callbacks owed to them."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from contracts.events import (
    CASE_ACCEPTED,
    CASE_AWAITING_DISPATCH,
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_ESCALATED,
    CASE_EXTENSION_DECIDED,
    CASE_FEEDBACK,
    CASE_MERGED,
    CASE_RECEIVED,
    CASE_REOPENED,
    CASE_RESOLVED_ON_SITE,
    CASE_RETURNED,
    CASE_VERIFIED,
    CaseReceived,
    Envelope,
)
from contracts.inbound import (
    GRID,
    HOTLINE,
    LINES_BY_ROUTING_KEY,
    OPINION,
    PETITION,
    Accepted,
    InboundLine,
    SourceCaseView,
    SourceTimelineEntry,
)
from contracts.inbound import InboundPayload as Payload
from kit.base import ServiceBase
from kit.db import UnitOfWork, utcnow
from kit.messaging import RawMessage, Rejected, on_event_batch, on_inbound
from kit.pii import PhoneVault, load_vault
from kit.providers import Configured, Database
from kit.rpc import rpc, timer
from kit.settings import Settings
from kit.web import (
    Forbidden,
    HttpError,
    NotFound,
    Unauthorized,
    http,
    http_errors,
    json_response,
    read_json_body,
)
from services import metering  # noqa: F401  (registers the domain's meters)
from services.intake import domain, open311
from services.intake.callbacks import deliver
from services.intake.models import TABLES, CaseStatus, Submission, TimelineEntry
from services.intake.openapi import document as openapi_document
from services.intake.repeats import EarlierMatter, RepeatPolicy, find_repeats
from services.intake.repository import (
    CallbackRepository,
    CaseStatusRepository,
    SubmissionRepository,
)
from services.intake.risk import RiskRules

AUTH_ERRORS: dict[type[Exception], type[HttpError]] = {
    domain.AuthenticationFailed: Unauthorized,
    domain.ChannelNotAllowed: Forbidden,
}
TRACKED = (
    CASE_AWAITING_DISPATCH, CASE_DISPATCHED, CASE_ACCEPTED, CASE_RETURNED, CASE_FEEDBACK,
    CASE_CONCLUDED, CASE_CLOSED, CASE_REOPENED, CASE_ESCALATED, CASE_EXTENSION_DECIDED,
    CASE_VERIFIED, CASE_RESOLVED_ON_SITE, CASE_MERGED,
)  # fmt: skip
CALLBACK_LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class IntakeConfig:
    sources: domain.SourceRegistry
    risk: RiskRules
    repeats: RepeatPolicy
    vault: PhoneVault
    services: dict[str, open311.Service]


def load_config(settings: Settings) -> IntakeConfig:
    return IntakeConfig(
        sources=domain.SourceRegistry.from_file(
            settings.config_dir / "sources.yml", os.environ, production=not settings.is_dev
        ),
        risk=RiskRules.from_file(settings.config_dir / "risk.yml"),
        repeats=RepeatPolicy.from_file(settings.config_dir / "intake.yml"),
        vault=load_vault(settings),
        services=open311.catalogue(settings.load_yaml("categories.yml")),
    )


def decode_inbound(raw: RawMessage) -> tuple[InboundLine, Payload, str]:
    line = LINES_BY_ROUTING_KEY.get(raw.routing_key)
    if line is None:
        raise Rejected(f"unknown routing key {raw.routing_key!r}")
    if not raw.message_id:
        raise Rejected("message_id is missing: it must be the external id")
    if not raw.app_id:
        raise Rejected("app_id is missing: it must be the source id")
    payload = line.model.model_validate_json(raw.body)
    if payload.external_id != raw.message_id:
        raise Rejected(f"message_id {raw.message_id!r} is not the payload's external id")
    return line, payload, raw.app_id


class IntakeService(ServiceBase):
    name = "intake"
    db = Database(TABLES)
    config = Configured(load_config)

    # --- the four lines ---

    @http("POST", HOTLINE.path)
    def post_hotline_ticket(self, request: Request) -> Response:
        return self._submit_http(HOTLINE, request)

    @http("POST", GRID.path)
    def post_grid_report(self, request: Request) -> Response:
        return self._submit_http(GRID, request)

    @http("POST", OPINION.path)
    def post_opinion_item(self, request: Request) -> Response:
        return self._submit_http(OPINION, request)

    @http("POST", PETITION.path)
    def post_petition(self, request: Request) -> Response:
        return self._submit_http(PETITION, request)

    @on_inbound(decode_inbound)
    def consume_inbound(
        self, deliveries: list[tuple[InboundLine, Payload, str]]
    ) -> list[Exception | None]:
        """A batch from ``civicflow.inbound``: stored in one transaction, one submission after
        another (see ``store_submissions``), an outcome each."""
        outcomes: list[Exception | None] = []
        accepted: list[NewSubmission] = []
        for line, payload, source_id in deliveries:
            try:
                self._check_source(line, source_id)
            except Rejected as refusal:
                outcomes.append(refusal)
                continue
            case = domain.canonical_case(line, payload, source_id)
            accepted.append(NewSubmission(case, domain.reporter_phone(payload), "amqp"))
            outcomes.append(None)
        with self.db.unit_of_work() as uow:
            store_submissions(uow, self.config, accepted)
            uow.commit()
        return outcomes

    @rpc
    def reporter_contact(self, case_id: str) -> Any:
        """The citizen's number, sealed, for notify's revisit (回访): it leaves intake only so."""
        with self.db.read() as session:
            submission = SubmissionRepository(session).get(case_id)
            if submission is None or submission.reporter_phone_sealed is None:
                return None
            return {"phone_sealed": submission.reporter_phone_sealed}

    # --- what the sources see afterwards ---

    @http("GET", "/api/v1/cases/<string:case_id>")
    def get_case(self, request: Request, case_id: str) -> Response:
        source = self._authenticate(request, b"")
        with self.db.read() as session:
            submission = SubmissionRepository(session).get(case_id)
            if submission is None or submission.source != source.id:
                raise NotFound(f"no case {case_id}")  # another source's case does not exist
            statuses = CaseStatusRepository(session)
            answer = case_answer(submission, statuses.get(case_id), statuses.timeline(case_id))
        return json_response(answer)

    @on_event_batch(*TRACKED)
    def track_case(self, batch: list[tuple[Envelope[Any]]]) -> list[None]:
        """Keep the sources' view of their cases, and owe them a callback when it changes; a
        burst is kept in one transaction, in the order it came, its timeline in one insert."""
        case_ids = sorted({event.case_id for (event,) in batch if event.case_id is not None})
        with self.db.unit_of_work() as uow:
            submissions, statuses = self._tracking(uow, case_ids)
            fresh = uow.first_times(event.event_id for (event,) in batch)
            ours = [
                (event, submission, event.data.model_dump(mode="json"))
                for (event,) in batch
                if fresh.take(event.event_id)
                and event.case_id is not None
                and (submission := submissions.get(event.case_id)) is not None
            ]  # an event of a case that did not come in here is not ours to track
            new = statuses.add_all_to_timeline([timeline_entry(e, data) for e, _, data in ours])
            for event, submission, data in ours:
                if event.event_id in new:  # not on the timeline yet
                    self._track(uow, submission, statuses, event, data)
            statuses.write_new()
            uow.commit()
        return [None] * len(batch)

    @staticmethod
    def _tracking(
        uow: UnitOfWork, case_ids: list[str]
    ) -> tuple[SubmissionRepository, CaseStatusRepository]:
        """The batch's submissions and statuses, read in two queries rather than two a case."""
        submissions, statuses = SubmissionRepository(uow.session), CaseStatusRepository(uow.session)
        submissions.load(case_ids)
        statuses.load(case_ids)
        return submissions, statuses

    def _track(
        self,
        uow: UnitOfWork,
        submission: Submission,
        statuses: CaseStatusRepository,
        event: Envelope[Any],
        data: dict[str, Any],
    ) -> None:
        changed = move_status(statuses, event, data)
        source = self.config.sources.get(submission.source)
        if changed and source is not None and source.callback_url:
            body = callback_body(submission, event, changed)
            CallbackRepository(uow.session).enqueue(
                source.id, submission.case_id, event.event_id, body, utcnow()
            )

    @timer(interval=1.0)
    def deliver_callbacks(self) -> None:
        """POST owed status changes to the sources' callback URLs, signed, with backoff."""
        now = utcnow()
        with self.db.unit_of_work() as uow:
            due = CallbackRepository(uow.session).claim_due(now, CALLBACK_LEASE, limit=20)
            uow.commit()
        outcomes = [(c.id, deliver(c, self.config.sources.get(c.source))) for c in due]
        with self.db.unit_of_work() as uow:
            callbacks = CallbackRepository(uow.session)
            for callback_id, error in outcomes:
                settle_callback(callbacks.get(callback_id), error, utcnow())
            uow.commit()

    # --- Open311 GeoReport v2 ---

    @http("GET", "/open311/v2/services.json")
    def open311_services(self, request: Request) -> Response:
        return json_response([s.as_open311() for s in self.config.services.values()])

    @http("GET", "/open311/v2/services/<string:code>.json")
    def open311_service(self, request: Request, code: str) -> Response:
        def answer() -> Any:
            if code not in self.config.services:
                raise open311.Open311Error(404, f"service_code {code!r} is not offered")
            return open311.definition(self.config.services[code])

        return open311_answer(answer)

    @http("POST", "/open311/v2/requests.json")
    def open311_post_request(self, request: Request) -> Response:
        def answer() -> Any:
            source = self._open311_source(request.form.get("api_key"))
            if "hotline" not in source.channels:
                raise open311.Open311Error(403, "this api_key may not submit service requests")
            ticket = open311.ticket_from_request(
                request.form, self.config.services, datetime.now(UTC),
                request.headers.get("Idempotency-Key"),
            )  # fmt: skip
            case_id, _ = self._accept(HOTLINE, ticket, source.id, "open311")
            notice = "已受理,将按时限办理并回复"
            return [{"service_request_id": case_id, "service_notice": notice, "account_id": None}]

        return open311_answer(answer)

    @http("GET", "/open311/v2/requests.json")
    def open311_requests(self, request: Request) -> Response:
        def answer() -> Any:
            source = self._open311_source(request.args.get("api_key"))
            query = open311.parse_query(request.args)
            views = self._open311_views(source.id, query)
            return [view for view in views if open311.matches(query, view)]

        return open311_answer(answer)

    @http("GET", "/open311/v2/requests/<string:case_id>.json")
    def open311_request(self, request: Request, case_id: str) -> Response:
        def answer() -> Any:
            source = self._open311_source(request.args.get("api_key"))
            query = open311.RequestQuery((case_id,), (), (), None, None)
            views = self._open311_views(source.id, query)
            if not views:
                raise open311.Open311Error(404, f"no service request {case_id}")
            return views

        return open311_answer(answer)

    @http("GET", "/openapi.json")
    def openapi(self, request: Request) -> Response:
        return json_response(openapi_document())

    # --- the work behind the entrypoints ---

    def _authenticate(self, request: Request, body: bytes) -> domain.Source:
        headers = request.headers
        with http_errors(AUTH_ERRORS):
            return self.config.sources.authenticate(
                headers.get("X-Source"),
                headers.get("X-Timestamp"),
                headers.get("X-Signature"),
                body,
                time.time(),
            )

    def _submit_http(self, line: InboundLine, request: Request) -> Response:
        body = read_json_body(request)
        source = self._authenticate(request, body)
        with http_errors(AUTH_ERRORS):
            source.ensure_allowed(line.channel)
        payload = line.model.model_validate_json(body)
        case_id, duplicate = self._accept(line, payload, source.id, "http")
        answer = Accepted(case_id=case_id, duplicate=duplicate)
        return json_response(answer, 200 if duplicate else 202)

    def _accept(
        self, line: InboundLine, payload: Payload, source_id: str, transport: str
    ) -> tuple[str, bool]:
        """Store the submission and emit ``case.received``, once per (source, external id),
        in a unit of work of its own."""
        case = domain.canonical_case(line, payload, source_id)
        submission = NewSubmission(case, domain.reporter_phone(payload), transport)
        with self.db.unit_of_work() as uow:
            answer = store_submission(uow, self.config, submission)
            uow.commit()
        return answer

    def _check_source(self, line: InboundLine, source_id: str) -> None:
        source = self.config.sources.get(source_id)
        if source is None:
            raise Rejected(f"unknown source {source_id!r}")
        if line.channel not in source.channels:
            raise Rejected(f"source {source_id!r} may not submit on the {line.channel} line")

    def _open311_source(self, api_key: str | None) -> domain.Source:
        source = self.config.sources.by_api_key(api_key)
        if source is None:
            raise open311.Open311Error(403, "invalid api_key")
        return source

    def _open311_views(self, source_id: str, query: open311.RequestQuery) -> list[dict[str, Any]]:
        with self.db.read() as session:
            submissions = SubmissionRepository(session).of_source(
                source_id, query.ids, query.service_codes, query.start, query.end
            )
            statuses = CaseStatusRepository(session)
            return [
                open311.request_view(
                    request_facts(s, statuses.get(s.case_id), statuses.timeline(s.case_id)),
                    self.config.services,
                )
                for s in submissions
            ]


@dataclass(frozen=True)
class NewSubmission:
    """A submission on its way in: its case as the line gave it, the citizen's number, and
    how it came (``http`` or ``amqp``)."""

    case: CaseReceived
    phone: str | None
    transport: str


EARLIER_LIMIT = 50
"""A citizen's earlier matters read for repeats at most, the newest first."""


def store_submissions(
    uow: UnitOfWork, config: IntakeConfig, submissions: list[NewSubmission]
) -> list[tuple[str, bool]]:
    """``store_submission`` for each, in order, in the caller's unit of work (a batch from
    ``civicflow.inbound``): each sees those before it as earlier matters, and a repeat of a
    stored ticket is answered as the duplicate it is. The caller commits."""
    return [store_submission(uow, config, new) for new in submissions]


def store_submission(uow: UnitOfWork, config: IntakeConfig, new: NewSubmission) -> tuple[str, bool]:
    """One submission, stored (or found stored) on its own: (case id, duplicate)."""
    now = datetime.now(UTC)
    repository = SubmissionRepository(uow.session)
    fingerprint = fingerprint_of(config, new)
    earlier = earlier_matters(repository, config, [new], [fingerprint])
    case, sealed = assessed(config, new, earlier[fingerprint] if fingerprint else [])
    for _attempt in range(3):  # a fresh case id on the rare random collision
        case_id = domain.new_case_id(now)
        if repository.add_if_new(
            submission_row(case_id, case, new.transport, sealed, fingerprint, now)
        ):
            uow.emit(CASE_RECEIVED.new(case, case_id=case_id, occurred_at=now))
            return case_id, False
        existing = repository.case_id_for(case.source, case.external_id)
        if existing:
            return existing, True
    raise RuntimeError("could not allocate a case id")


def fingerprint_of(config: IntakeConfig, new: NewSubmission) -> str | None:
    return config.vault.fingerprint(new.phone) if new.phone else None


def earlier_matters(
    repository: SubmissionRepository,
    config: IntakeConfig,
    submissions: list[NewSubmission],
    prints: list[str | None],
) -> dict[str, list[EarlierMatter]]:
    """What each citizen of these submissions raised within the repeat window of the earliest
    of them, newest first, by fingerprint."""
    since = min(new.case.received_at for new in submissions) - config.repeats.window
    return repository.earlier_matters(filter(None, prints), since, EARLIER_LIMIT)


def assessed(
    config: IntakeConfig, new: NewSubmission, matters: list[EarlierMatter]
) -> tuple[CaseReceived, str | None]:
    """The case with its repeats (of the citizen's ``matters``, newest first, those within its
    own window) and its risk; and the citizen's number, sealed."""
    since = new.case.received_at - config.repeats.window
    earlier = [matter for matter in matters if matter.received_at >= since][:EARLIER_LIMIT]
    repeats = find_repeats(new.case.content, new.case.received_at, earlier, config.repeats)
    sealed = config.vault.seal(new.phone) if new.phone else None
    return domain.assess(new.case, repeats, config.risk), sealed


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


def timeline_entry(event: Envelope[Any], data: dict[str, Any]) -> dict[str, Any]:
    """The event as its case's timeline shows it (``data``: the event's, as JSON)."""
    return {
        "case_id": event.case_id, "event_id": event.event_id, "at": event.occurred_at,
        "type": event.type, "status": domain.STATUS_AFTER.get(event.type),
        "note": domain.timeline_note(data),
    }  # fmt: skip


def move_status(
    statuses: CaseStatusRepository, event: Envelope[Any], data: dict[str, Any]
) -> str | None:
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
    for key in ("assignee", "level", "deadlines"):
        if data.get(key) is not None:
            setattr(current, key, data[key])
    if event.type in ("case.returned", "case.escalated"):
        current.assignee, current.deadlines = None, None
    if new_status is None or new_status == current.status:
        return None
    current.status = new_status
    return new_status


def case_answer(
    submission: Submission, status: CaseStatus | None, timeline: list[TimelineEntry]
) -> SourceCaseView:
    case = CaseReceived.model_validate(submission.case)
    received = SourceTimelineEntry(
        at=submission.created_at, type="case.received", status="received"
    )
    return SourceCaseView(
        case_id=submission.case_id,
        external_id=submission.external_id,
        channel=case.channel,
        status=status.status if status else "received",
        risk=case.risk,
        repeat_of=case.repeat_of,
        assignee=status.assignee if status else None,
        level=status.level if status else None,
        deadlines=status.deadlines if status else None,
        received_at=submission.received_at,
        timeline=[received]
        + [
            SourceTimelineEntry(at=e.at, type=e.type, status=e.status, note=e.note)
            for e in timeline
        ],
    )


def request_facts(
    submission: Submission, status: CaseStatus | None, timeline: list[TimelineEntry]
) -> open311.RequestFacts:
    return open311.RequestFacts(
        case_id=submission.case_id,
        case=submission.case,
        status=status.status if status else "received",
        assignee=status.assignee if status else None,
        deadlines=status.deadlines if status else None,
        requested_at=submission.received_at,
        updated_at=timeline[-1].at if timeline else submission.created_at,
        note=timeline[-1].note if timeline else None,
    )


def callback_body(submission: Submission, event: Envelope[Any], status: str) -> str:
    data = event.data.model_dump(mode="json")
    return json.dumps(
        {
            "event_id": event.event_id,
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "case_id": submission.case_id,
            "external_id": submission.external_id,
            "status": status,
            "assignee": data.get("assignee"),
            "deadlines": data.get("deadlines"),
            "note": domain.timeline_note(data),
        },
        ensure_ascii=False,
    )


def settle_callback(callback: Any, error: str | None, now: datetime) -> None:
    callback.attempts += 1
    if error is None:
        callback.delivered_at = now
        return
    callback.last_error = error[:500]
    if callback.attempts >= domain.MAX_CALLBACK_ATTEMPTS:
        callback.failed_at = now
    else:
        callback.next_attempt_at = now + timedelta(seconds=domain.callback_delay(callback.attempts))


def open311_answer(make: Callable[[], Any]) -> Response:
    try:
        return json_response(make())
    except open311.Open311Error as exc:
        return json_response(exc.body(), exc.code)
