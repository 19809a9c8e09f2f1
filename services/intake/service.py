"""Intake's entrypoints: the four lines over HTTP and over ``civicflow.inbound``."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from werkzeug.wrappers import Request, Response

from contracts.events import CASE_RECEIVED, CaseReceived
from contracts.inbound import GRID, HOTLINE, LINES_BY_ROUTING_KEY, OPINION, PETITION, InboundLine
from contracts.inbound import InboundPayload as Payload
from kit.base import ServiceBase
from kit.messaging import RawMessage, Rejected, on_inbound
from kit.providers import Configured, Database
from kit.settings import Settings
from kit.web import (
    Forbidden,
    HttpError,
    Unauthorized,
    http,
    http_errors,
    json_response,
    read_json_body,
)
from services.intake import domain
from services.intake.models import TABLES, Submission
from services.intake.repository import SubmissionRepository

AUTH_ERRORS: dict[type[Exception], type[HttpError]] = {
    domain.AuthenticationFailed: Unauthorized,
    domain.ChannelNotAllowed: Forbidden,
}


def load_sources(settings: Settings) -> domain.SourceRegistry:
    return domain.SourceRegistry.from_config(settings.load_yaml("sources.yml"), os.environ)


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
    sources = Configured(load_sources)

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
    def consume_inbound(self, line: InboundLine, payload: Payload, source_id: str) -> None:
        source = self.sources.get(source_id)
        if source is None:
            raise Rejected(f"unknown source {source_id!r}")
        if line.channel not in source.channels:
            raise Rejected(f"source {source_id!r} may not submit on the {line.channel} line")
        self._accept(line, payload, source_id, "amqp")

    def _submit_http(self, line: InboundLine, request: Request) -> Response:
        body = read_json_body(request)
        headers = request.headers
        with http_errors(AUTH_ERRORS):
            source = self.sources.authenticate(
                headers.get("X-Source"),
                headers.get("X-Timestamp"),
                headers.get("X-Signature"),
                body,
                time.time(),
            )
            source.ensure_allowed(line.channel)
        payload = line.model.model_validate_json(body)
        case_id, duplicate = self._accept(line, payload, source.id, "http")
        answer = {"case_id": case_id, "status": "received", "duplicate": duplicate}
        return json_response(answer, 200 if duplicate else 202)

    def _accept(
        self, line: InboundLine, payload: Payload, source_id: str, transport: str
    ) -> tuple[str, bool]:
        """Store the submission and emit ``case.received``, once per (source, external id)."""
        case = domain.canonical_case(line, payload, source_id)
        now = datetime.now(UTC)
        with self.db.unit_of_work() as uow:
            repository = SubmissionRepository(uow.session)
            existing = repository.case_id_for(source_id, payload.external_id)
            if existing:
                return existing, True
            for _attempt in range(3):  # a fresh case id on the rare random collision
                case_id = domain.new_case_id(now)
                if repository.add_if_new(submission_row(case_id, case, payload, transport, now)):
                    uow.emit(CASE_RECEIVED.new(case, case_id=case_id, occurred_at=now))
                    uow.commit()
                    return case_id, False
                existing = repository.case_id_for(source_id, payload.external_id)
                if existing:
                    return existing, True
        raise RuntimeError("could not allocate a case id")


def submission_row(
    case_id: str, case: CaseReceived, payload: Payload, transport: str, now: datetime
) -> Submission:
    return Submission(
        case_id=case_id,
        source=case.source,
        external_id=case.external_id,
        channel=case.channel,
        transport=transport,
        case=case.model_dump(mode="json"),
        content=case.content,
        received_at=payload.occurred_at,
        created_at=now,
    )
