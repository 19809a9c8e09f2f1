"""Intake's entrypoints: the four lines over HTTP and ``civicflow.inbound``, Open311, the
sources' view of their cases, and the callbacks owed to them. The work is in ``handlers``
(writes) and ``queries`` (reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from contracts import events
from contracts.asyncapi import document as asyncapi_document
from contracts.events import Envelope
from contracts.inbound import (
    GRID,
    HOTLINE,
    LINES_BY_ROUTING_KEY,
    OPINION,
    PETITION,
    Accepted,
    InboundLine,
)
from kit.base import ServiceBase
from kit.group_commit import GroupCommit, Writer
from kit.messaging import RawMessage, Rejected, on_event_batch, on_inbound
from kit.providers import ClockProvider, Configured, Database
from kit.rpc import rpc, timer
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
from services.intake import domain, handlers, queries
from services.intake.callbacks import deliver
from services.intake.commands import NewSubmission
from services.intake.config import load_config
from services.intake.desk_api import DeskEntrypoints
from services.intake.models import TABLES
from services.intake.open311_api import Open311Entrypoints
from services.intake.openapi import document as openapi_document
from services.intake.phone_search_api import PhoneSearchEntrypoints
from services.intake.unit_of_work import SqlIntakeReads, SqlIntakeUnitOfWork

AUTH_ERRORS: dict[type[Exception], type[HttpError]] = {
    domain.AuthenticationFailed: Unauthorized,
    domain.ChannelNotAllowed: Forbidden,
}
TRACKED = (
    events.CASE_AWAITING_DISPATCH, events.CASE_DISPATCHED, events.CASE_ACCEPTED,
    events.CASE_RETURNED, events.CASE_FEEDBACK, events.CASE_CONCLUDED, events.CASE_CLOSED,
    events.CASE_REOPENED, events.CASE_ESCALATED, events.CASE_EXTENSION_DECIDED,
    events.CASE_VERIFIED, events.CASE_RESOLVED_ON_SITE, events.CASE_MERGED,
)  # fmt: skip


def decode_inbound(raw: RawMessage) -> tuple[NewSubmission]:
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
    return (NewSubmission.of(line, payload, raw.app_id, "amqp"),)


class IntakeService(Open311Entrypoints, PhoneSearchEntrypoints, DeskEntrypoints, ServiceBase):
    name = "intake"
    db = Database(TABLES)
    config = Configured(load_config)
    clock = ClockProvider()
    writer: Writer[NewSubmission, tuple[str, bool]] = GroupCommit()
    """HTTP and Open311 submissions, stored together while they wait (``kit.group_commit``)."""

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
    def consume_inbound(self, deliveries: list[tuple[NewSubmission]]) -> list[Exception | None]:
        """A batch from ``civicflow.inbound``: each message its source may send is stored as an
        HTTP submission is, one after the other in one unit of work; an outcome each."""
        submissions = [new for (new,) in deliveries]
        outcomes = [self._refusal(new) for new in submissions]
        accepted = [new for new, refused in zip(submissions, outcomes, strict=True) if not refused]
        handlers.store_submissions(self._uow(), accepted, self.config, self._now())
        return outcomes

    @rpc
    def reporter_contact(self, case_id: str) -> Any:
        """The citizen's number, sealed, for notify's revisit (回访)."""
        return queries.reporter_contact(self._reads(), case_id)

    # --- what the sources see afterwards ---

    @http("GET", "/api/v1/cases/<string:case_id>")
    def get_case(self, request: Request, case_id: str) -> Response:
        source = self._authenticate(request, b"")
        view = queries.case_view(self._reads(), source.id, case_id)
        if view is None:
            raise NotFound(f"no case {case_id}")
        return json_response(view)

    @on_event_batch(*TRACKED)
    def track_case(self, batch: list[tuple[Envelope[Any]]]) -> list[None]:
        """Keep the sources' view of their cases; a burst in one transaction, in order."""
        happened = [event for (event,) in batch]
        handlers.track_case_events(self._uow(), happened, self.config.sources, self._now())
        return [None] * len(batch)

    @timer(interval=1.0)
    def deliver_callbacks(self) -> None:
        """POST owed status changes to the sources' callback URLs, signed, with backoff."""
        handlers.deliver_callbacks(self._uow(), self.config.sources, deliver, self.clock)

    @http("GET", "/openapi.json")
    def openapi(self, request: Request) -> Response:
        return json_response(openapi_document())

    @http("GET", "/asyncapi.json")
    def asyncapi(self, request: Request) -> Response:
        """The messages on civicflow.inbound and civicflow.events (AsyncAPI 3)."""
        return json_response(asyncapi_document())

    # --- decoding and answering ---

    def _now(self) -> datetime:
        now: datetime = self.clock.now()
        return now

    def _store_all(self, submissions: list[NewSubmission]) -> list[tuple[str, bool]]:
        return handlers.store_submissions(self._uow(), submissions, self.config, self._now())

    def _uow(self) -> SqlIntakeUnitOfWork:
        return SqlIntakeUnitOfWork(self.db.unit_of_work)

    def _reads(self) -> SqlIntakeReads:
        return SqlIntakeReads(self.db.read)

    def _authenticate(self, request: Request, body: bytes) -> domain.Source:
        headers = request.headers
        with http_errors(AUTH_ERRORS):
            return self.config.sources.authenticate(
                headers.get("X-Source"), headers.get("X-Timestamp"),
                headers.get("X-Signature"), body, self._now().timestamp(),
            )  # fmt: skip

    def _submit_http(self, line: InboundLine, request: Request) -> Response:
        body = read_json_body(request)
        source = self._authenticate(request, body)
        with http_errors(AUTH_ERRORS):
            source.ensure_allowed(line.channel)
        new = NewSubmission.of(line, line.model.model_validate_json(body), source.id, "http")
        case_id, duplicate = self.writer.store(new, self._store_all)
        answer = Accepted(case_id=case_id, duplicate=duplicate)
        return json_response(answer, 200 if duplicate else 202)

    def _refusal(self, new: NewSubmission) -> Exception | None:
        """Why the source of an inbound message may not send it, if it may not."""
        case = new.case
        source = self.config.sources.get(case.source)
        if source is None:
            return Rejected(f"unknown source {case.source!r}")
        if case.channel not in source.channels:
            return Rejected(f"source {source.id!r} may not submit on the {case.channel} line")
        return None
