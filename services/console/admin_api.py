"""Console's administration entrypoints (系统管理): staff accounts, and the configuration and
sources the platform runs with, read-only."""

from __future__ import annotations

import json
from typing import Protocol, cast

from werkzeug.wrappers import Request, Response

from kit import web
from kit.settings import Settings
from kit.web import http, json_response
from services.console import admin, domain
from services.console.edge import answers
from services.console.unit_of_work import SqlConsoleReads, SqlConsoleUnitOfWork


class Console(Protocol):
    """What the entrypoints use of the service they are mixed into."""

    settings: Settings

    def _admin(self, request: Request) -> domain.Principal: ...
    def _uow(self) -> SqlConsoleUnitOfWork: ...
    def _reads(self) -> SqlConsoleReads: ...


class AdminEntrypoints:
    """Mixed into ``ConsoleService``."""

    @http("GET", "/api/v1/admin/users")
    def users(self, request: Request) -> Response:
        console = cast(Console, self)
        console._admin(request)
        return json_response(admin.users(console._reads()))

    @http("POST", "/api/v1/admin/users")
    def add_user(self, request: Request) -> Response:
        console = cast(Console, self)
        console._admin(request)
        body = json.loads(web.read_json_body(request))
        with answers():
            return json_response(admin.add_user(console._uow(), body), status=201)

    @http("DELETE", "/api/v1/admin/users/<string:username>")
    def remove_user(self, request: Request, username: str) -> Response:
        console = cast(Console, self)
        principal = console._admin(request)
        with answers():
            admin.remove_user(console._uow(), principal, username)
        return Response(status=204)

    @http("GET", "/api/v1/admin/config")
    def config_files(self, request: Request) -> Response:
        """Routing, SLA, notify and assessment configuration, read-only."""
        console = cast(Console, self)
        console._admin(request)
        return json_response({"files": admin.config_files(console.settings.config_dir)})

    @http("GET", "/api/v1/admin/sources")
    def sources(self, request: Request) -> Response:
        console = cast(Console, self)
        console._admin(request)
        return json_response(admin.sources(console.settings))
