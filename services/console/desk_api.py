"""The console's entrypoints for the centre's own desk: 登记 (register a matter), the receiver's
notices (首问负责), the 待回访 list, and the category catalogue the desk's picker searches.
Mixed into ``ConsoleService``; the work is in ``desk``."""

from __future__ import annotations

import time
from typing import Any, Protocol, cast

from werkzeug.wrappers import Request, Response

from contracts.events import Envelope
from kernel.catalogue import Catalogue
from kernel.clock import Clock
from kit import web
from kit.messaging import on_event_batch
from kit.stream import Broadcast
from kit.web import http, json_response
from services.console import desk, domain
from services.console.edge import answers
from services.console.ports import Dispatch, Intake, Supervision
from services.console.unit_of_work import SqlConsoleReads, SqlConsoleUnitOfWork


class Console(Protocol):
    """What the desk's entrypoints use of the service they are mixed into."""

    clock: Clock
    stream: Broadcast
    dispatch: Dispatch
    intake: Intake
    supervision: Supervision
    catalogue: Catalogue

    def _uow(self) -> SqlConsoleUnitOfWork: ...

    def _reads(self) -> SqlConsoleReads: ...

    def _principal(self, request: Request, token: str | None = None) -> domain.Principal: ...


def pause(seconds: float) -> None:
    """Sleep (green: nameko's workers run on eventlet's monkey-patched ``time``)."""
    time.sleep(seconds)


class DeskEntrypoints:
    """Mixed into ``ConsoleService``."""

    def _console(self) -> Console:
        return cast(Console, self)

    @http("POST", "/api/v1/cases")
    def register_at_desk(self, request: Request) -> Response:
        """登记: a matter received at the centre itself; 201 with the case JSON, the same
        Idempotency-Key again answering the same case."""
        console = self._console()
        principal, body = console._principal(request), web.read_json_object(request)
        command = desk.Register(body, request.headers.get("Idempotency-Key"))
        categories = console.catalogue.categories
        with answers():
            case, replayed = desk.register(
                console.intake, console.dispatch, principal, command, categories, pause
            )
        headers = {"Idempotent-Replayed": "true"} if replayed else None
        return json_response(case, status=201, headers=headers)

    @http("GET", "/api/v1/categories")
    def categories(self, request: Request) -> Response:
        """The category catalogue, for the desk's picker: each category's Chinese name."""
        console = self._console()
        console._principal(request)
        return json_response(
            [{"code": c.code, "name": c.name} for c in console.catalogue.categories.values()]
        )

    @http("GET", "/api/v1/departments")
    def departments(self, request: Request) -> Response:
        """The departments, for the desk's 被反映单位 (回避) picker: each one's Chinese name."""
        console = self._console()
        console._principal(request)
        return json_response(
            [{"code": d.code, "name": d.name} for d in console.catalogue.departments.values()]
        )

    @http("GET", "/api/v1/me/notices")
    def my_notices(self, request: Request) -> Response:
        console = self._console()
        return json_response(desk.notices(console._reads(), console._principal(request)))

    @http("POST", "/api/v1/me/notices/<int:notice_id>/read")
    def read_notice(self, request: Request, notice_id: int) -> Response:
        console = self._console()
        principal, now = console._principal(request), console.clock.now()
        with answers():
            desk.read_notice(console._uow(), principal, notice_id, now)
        return Response(status=204)

    @http("GET", "/api/v1/revisits")
    def revisits(self, request: Request) -> Response:
        """待回访: concluded cases waiting for an operator's call, the nearest limit first."""
        console, args = self._console(), request.args
        page, size = args.get("page", 1, type=int), args.get("page_size", 20, type=int)
        with answers():
            return json_response(
                desk.revisits(
                    console.supervision, console.dispatch, console._principal(request),
                    page or 1, size or 20,
                )
            )  # fmt: skip

    @on_event_batch(*desk.FOLLOWED)
    def follow_desk_cases(self, batch: list[tuple[Envelope[Any]]]) -> list[None]:
        """首问负责: a desk case's receiver is told when it is concluded, on the live stream
        too (only that a notice came: each browser fetches its own)."""
        console = self._console()
        kept = desk.follow_desk_cases(console._uow(), [event for (event,) in batch])
        if kept:
            at = console.clock.now().isoformat()
            console.stream.publish({"type": "desk.notice", "occurred_at": at})
        return [None] * len(batch)
