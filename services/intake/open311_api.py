"""Intake's Open311 GeoReport v2 entrypoints: the category catalogue as services, and service
requests posted and read by the sources' API keys. A posted request is stored as a 12345
ticket, by the same group commit as the HTTP lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, cast

from werkzeug.wrappers import Request, Response

from contracts.inbound import HOTLINE
from kit.group_commit import Writer
from kit.web import http, json_response
from services.intake import domain, open311, queries
from services.intake.commands import NewSubmission
from services.intake.config import IntakeConfig
from services.intake.unit_of_work import SqlIntakeReads

OPEN311_NOTICE = "已受理,将按时限办理并回复"


class Intake(Protocol):
    """What the entrypoints use of the service they are mixed into."""

    config: IntakeConfig
    writer: Writer[NewSubmission, tuple[str, bool]]

    def _store_all(self, submissions: list[NewSubmission]) -> list[tuple[str, bool]]: ...
    def _reads(self) -> SqlIntakeReads: ...
    def _now(self) -> datetime: ...


class Open311Entrypoints:
    """Mixed into ``IntakeService``."""

    @http("GET", "/open311/v2/services.json")
    def open311_services(self, request: Request) -> Response:
        services = cast(Intake, self).config.services
        return json_response([s.as_open311() for s in services.values()])

    @http("GET", "/open311/v2/services/<string:code>.json")
    def open311_service(self, request: Request, code: str) -> Response:
        services = cast(Intake, self).config.services

        def answer() -> Any:
            if code not in services:
                raise open311.Open311Error(404, f"service_code {code!r} is not offered")
            return open311.definition(services[code])

        return open311_answer(answer)

    @http("POST", "/open311/v2/requests.json")
    def open311_post_request(self, request: Request) -> Response:
        intake = cast(Intake, self)

        def answer() -> Any:
            source = _source(intake, request.form.get("api_key"))
            if "hotline" not in source.channels:
                raise open311.Open311Error(403, "this api_key may not submit service requests")
            now, key = intake._now(), request.headers.get("Idempotency-Key")
            ticket = open311.ticket_from_request(request.form, intake.config.services, now, key)
            new = NewSubmission.of(HOTLINE, ticket, source.id, "open311")
            case_id, _ = intake.writer.store(new, intake._store_all)
            return [{"service_request_id": case_id, "service_notice": OPEN311_NOTICE,
                     "account_id": None}]  # fmt: skip

        return open311_answer(answer)

    @http("GET", "/open311/v2/requests.json")
    def open311_requests(self, request: Request) -> Response:
        intake = cast(Intake, self)

        def answer() -> Any:
            source = _source(intake, request.args.get("api_key"))
            query = open311.parse_query(request.args)
            services = intake.config.services
            return queries.service_requests(intake._reads(), source.id, query, services)

        return open311_answer(answer)

    @http("GET", "/open311/v2/requests/<string:case_id>.json")
    def open311_request(self, request: Request, case_id: str) -> Response:
        intake = cast(Intake, self)

        def answer() -> Any:
            source = _source(intake, request.args.get("api_key"))
            query = open311.RequestQuery((case_id,), (), (), None, None)
            services = intake.config.services
            views = queries.service_requests(intake._reads(), source.id, query, services)
            if not views:
                raise open311.Open311Error(404, f"no service request {case_id}")
            return views

        return open311_answer(answer)


def _source(intake: Intake, api_key: str | None) -> domain.Source:
    source = intake.config.sources.by_api_key(api_key)
    if source is None:
        raise open311.Open311Error(403, "invalid api_key")
    return source


def open311_answer(make: Callable[[], Any]) -> Response:
    try:
        return json_response(make())
    except open311.Open311Error as exc:
        return json_response(exc.body(), exc.code)
