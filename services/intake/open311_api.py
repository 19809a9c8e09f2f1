"""Intake's Open311 GeoReport v2 entrypoints: discovery, the category catalogue as services,
service requests posted (with an optional photo, ``media``) and read by the sources' API keys,
and tokens; every resource in JSON or the spec's XML by its extension. A posted request is
stored as a 12345 ticket, by the same group commit as the HTTP lines.

``jurisdiction_id`` is accepted everywhere and ignored: intake serves one county."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, cast

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from contracts.inbound import HOTLINE
from kit import file_kinds
from kit.file_store import FileStore, MissingFile, digest_of, file_store_from
from kit.group_commit import Writer
from kit.providers import Configured
from kit.web import declared_over, http, json_response
from services.intake import domain, open311, queries
from services.intake.commands import NewSubmission
from services.intake.config import IntakeConfig
from services.intake.open311_formats import XML_MEDIA_TYPE, errors_body, to_xml
from services.intake.open311_formats import discovery as discovery_body
from services.intake.unit_of_work import SqlIntakeReads

OPEN311_NOTICE = "已受理,将按时限办理并回复"
FMT = "<any(json, xml):fmt>"
MEDIA_PATH = "/open311/v2/media"
MAX_POST_BODY = file_kinds.MAX_FILE_BYTES + file_kinds.MULTIPART_OVERHEAD


class Intake(Protocol):
    """What the entrypoints use of the service they are mixed into."""

    config: IntakeConfig
    writer: Writer[NewSubmission, tuple[str, bool]]
    media_store: FileStore

    def _store_all(self, submissions: list[NewSubmission]) -> list[tuple[str, bool]]: ...
    def _reads(self) -> SqlIntakeReads: ...
    def _now(self) -> datetime: ...


class Open311Entrypoints:
    """Mixed into ``IntakeService``."""

    media_store: FileStore = Configured(file_store_from)
    """Where a request's photo is kept, by its sha256 (``kit.file_store``)."""

    @http("GET", f"/open311/v2/discovery.{FMT}")
    def open311_discovery(self, request: Request, fmt: str) -> Response:
        public = cast(Intake, self).config.public_url
        base = open311.base_url(public, request.host_url) + "open311/v2/"
        return open311_answer(fmt, "discovery", lambda: discovery_body(base))

    @http("GET", f"/open311/v2/services.{FMT}")
    def open311_services(self, request: Request, fmt: str) -> Response:
        services = cast(Intake, self).config.services
        return open311_answer(fmt, "services", lambda: [s.as_open311() for s in services.values()])

    @http("GET", f"/open311/v2/services/<string:code>.{FMT}")
    def open311_service(self, request: Request, code: str, fmt: str) -> Response:
        services = cast(Intake, self).config.services

        def answer() -> Any:
            if code not in services:
                raise open311.Open311Error(404, f"service_code {code!r} is not offered")
            return open311.definition(services[code])

        return open311_answer(fmt, "service_definition", answer)

    @http("POST", f"/open311/v2/requests.{FMT}")
    def open311_post_request(self, request: Request, fmt: str) -> Response:
        intake = cast(Intake, self)

        def answer() -> Any:
            form, media = _posted(request)
            source = _source(intake, form.get("api_key"))
            if "hotline" not in source.channels:
                raise open311.Open311Error(403, "this api_key may not submit service requests")
            now, key = intake._now(), request.headers.get("Idempotency-Key")
            ticket = open311.ticket_from_request(form, intake.config.services, now, key)
            new = NewSubmission.of(HOTLINE, ticket, source.id, "open311")
            if media is not None:
                base = open311.base_url(intake.config.public_url, request.host_url)
                new = _with_media(intake, new, media, base)
            case_id, _ = intake.writer.store(new, intake._store_all)
            return [{"service_request_id": case_id, "service_notice": OPEN311_NOTICE,
                     "account_id": None}]  # fmt: skip

        return open311_answer(fmt, "posted", answer)

    @http("GET", f"/open311/v2/requests.{FMT}")
    def open311_requests(self, request: Request, fmt: str) -> Response:
        intake = cast(Intake, self)

        def answer() -> Any:
            source = _source(intake, request.args.get("api_key"))
            query = open311.parse_query(request.args)
            services = intake.config.services
            return queries.service_requests(intake._reads(), source.id, query, services)

        return open311_answer(fmt, "requests", answer)

    @http("GET", f"/open311/v2/requests/<string:case_id>.{FMT}")
    def open311_request(self, request: Request, case_id: str, fmt: str) -> Response:
        intake = cast(Intake, self)
        return open311_answer(fmt, "requests", lambda: _one(intake, request, case_id))

    @http("GET", f"/open311/v2/tokens/<string:token>.{FMT}")
    def open311_token(self, request: Request, token: str, fmt: str) -> Response:
        """The spec's token → service_request_id. Our POST answers the id at once, so a token
        is the service_request_id itself: a client that kept it as a token finds its request."""
        intake = cast(Intake, self)

        def answer() -> Any:
            [view] = _one(intake, request, token)
            return [{"service_request_id": view["service_request_id"], "token": token}]

        return open311_answer(fmt, "tokens", answer)

    @http("GET", f"{MEDIA_PATH}/<string:name>")
    def open311_media(self, request: Request, name: str) -> Response:
        """A request's photo, by the name its ``media_url`` gave: ``<sha256>.<ext>``."""
        digest, _, extension = name.partition(".")
        kinds = {k.extension: k for k in (file_kinds.JPEG, file_kinds.PNG, file_kinds.WEBP)}
        try:
            content = cast(Intake, self).media_store.get(digest)
        except (MissingFile, ValueError):
            content = None
        if content is None or extension not in kinds:
            return json_response({"errors": [{"loc": ["name"], "msg": "no such photo"}]}, 404)
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "max-age=86400"}
        return Response(content, content_type=kinds[extension].content_type, headers=headers)


def _one(intake: Intake, request: Request, case_id: str) -> list[dict[str, Any]]:
    source = _source(intake, request.args.get("api_key"))
    query = open311.RequestQuery((case_id,), (), (), None, None)
    services = intake.config.services
    views = queries.service_requests(intake._reads(), source.id, query, services)
    if not views:
        raise open311.Open311Error(404, f"no service request {case_id}")
    return views


def _posted(request: Request) -> tuple[dict[str, str], bytes | None]:
    """The form fields and the ``media`` file's bytes (if one was sent); a body over the limit
    is refused before it is read."""
    if declared_over(request, MAX_POST_BODY):
        raise open311.Open311Error(413, "media: at most 10 MiB")
    request.max_content_length = MAX_POST_BODY
    try:
        form = {name: request.form.get(name, "") for name in request.form}
        sent = request.files.getlist("media")
    except RequestEntityTooLarge:
        raise open311.Open311Error(413, "media: at most 10 MiB") from None
    if len(sent) > 1:
        raise open311.Open311Error(400, "media: one file at most")
    if not sent:
        return form, None
    content: bytes = sent[0].stream.read(file_kinds.MAX_FILE_BYTES + 1)
    return form, content


def _with_media(intake: Intake, new: NewSubmission, content: bytes, base: str) -> NewSubmission:
    """The submission with its photo kept and named in the case's attachments (its
    ``media_url``); the photo is stored first: kept by its digest, it is never half-written."""
    try:
        kind = file_kinds.recognise(content)
    except file_kinds.TooLarge:
        raise open311.Open311Error(413, "media: at most 10 MiB") from None
    except file_kinds.NotAllowed:
        raise open311.Open311Error(415, "media: a JPEG, PNG or WebP photo") from None
    if not kind.is_image:
        raise open311.Open311Error(415, "media: a JPEG, PNG or WebP photo")
    digest = digest_of(content)
    intake.media_store.put(digest, content, kind.content_type)
    url = f"{base.rstrip('/')}{MEDIA_PATH}/{digest}.{kind.extension}"
    case = new.case.model_copy(update={"attachments": [url]})
    return NewSubmission(case, new.phone, new.transport)


def _source(intake: Intake, api_key: str | None) -> domain.Source:
    source = intake.config.sources.by_api_key(api_key)
    if source is None:
        raise open311.Open311Error(403, "invalid api_key")
    return source


def open311_answer(fmt: str, kind: str, make: Callable[[], Any]) -> Response:
    """``make()``'s answer, or its Open311 error, in the format asked for."""
    try:
        body, status = make(), 200
    except open311.Open311Error as exc:
        kind, body, status = "errors", errors_body(exc.code, exc.description), exc.code
    if fmt == "xml":
        return Response(to_xml(kind, body), status=status, content_type=XML_MEDIA_TYPE)
    return json_response(body, status)
