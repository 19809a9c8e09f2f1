"""Console's working-calendar entrypoints: the banner's status for supervisors and admins,
and the admin's view and upload of holidays.yml (系统管理 · 节假日安排)."""

from __future__ import annotations

from datetime import date
from typing import Protocol, cast

from werkzeug.wrappers import Request, Response

from kernel.calendar import SHANGHAI
from kernel.clock import Clock
from kit import web
from kit.settings import Settings
from kit.web import Unprocessable, http, json_response
from services.console import domain, holidays
from services.console.edge import answers
from services.console.refusals import NotPermitted

CALENDAR_READERS = frozenset({"supervisor", "admin"})


class Console(Protocol):
    """What the entrypoints use of the service they are mixed into."""

    settings: Settings
    clock: Clock

    def _principal(self, request: Request, token: str | None = None) -> domain.Principal: ...
    def _admin(self, request: Request) -> domain.Principal: ...


def _today(console: Console) -> date:
    return console.clock.now().astimezone(SHANGHAI).date()


class HolidaysEntrypoints:
    """Mixed into ``ConsoleService``."""

    @http("GET", "/api/v1/calendar")
    def calendar(self, request: Request) -> Response:
        """How far the working calendar reaches; ``notice`` is the banner's text from 60 days
        before the last known year ends (by the clock provider's today)."""
        console = cast(Console, self)
        principal = console._principal(request)
        with answers():
            if principal.role not in CALENDAR_READERS:
                raise NotPermitted("supervisors and administrators only")
        return json_response(holidays.calendar_status(console.settings.config_dir, _today(console)))

    @http("GET", "/api/v1/admin/holidays")
    def holidays_file(self, request: Request) -> Response:
        console = cast(Console, self)
        console._admin(request)
        return json_response(holidays.current_file(console.settings.config_dir, _today(console)))

    @http("PUT", "/api/v1/admin/holidays")
    def upload_holidays(self, request: Request) -> Response:
        """Validate and install holidays.yml: 422 with every problem's line and field."""
        console = cast(Console, self)
        console._admin(request)
        body = web.read_json_object(request)
        with answers():
            try:
                installed = holidays.upload(console.settings.config_dir, body, _today(console))
            except holidays.HolidaysRefused as refused:
                raise Unprocessable(refused.problems) from None
        return json_response(installed)
