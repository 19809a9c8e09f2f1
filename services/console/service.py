"""Console's entrypoints: login, cases and one-click dispatch, grid units."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from nameko.exceptions import RemoteError
from werkzeug.wrappers import Request, Response

from kit.base import ServiceBase
from kit.providers import Configured, Database
from kit.rpc import RpcClient
from kit.settings import Settings
from kit.web import (
    BadRequest,
    Conflict,
    NotFound,
    Unauthorized,
    http,
    http_errors,
    json_response,
    read_json_body,
)
from services.console import domain
from services.console.models import TABLES
from services.console.repository import UserRepository

DEV_TOKEN_SECRET = "dev-console-token-secret"


def load_token_secret(settings: Settings) -> str:
    return os.environ.get("CIVICFLOW_CONSOLE_SECRET", DEV_TOKEN_SECRET)


class ConsoleService(ServiceBase):
    name = "console"
    db = Database(TABLES)
    token_secret = Configured(load_token_secret)
    settings = Configured(lambda settings: settings)
    dispatch = RpcClient("dispatch")
    grid = RpcClient("grid")

    @http("POST", "/api/v1/auth/login")
    def login(self, request: Request) -> Response:
        credentials = json.loads(read_json_body(request))
        username, password = credentials.get("username"), credentials.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise BadRequest("username and password are required")
        with self.db.read() as session:
            user = UserRepository(session).get(username)
        if (
            user is None
            or (user.dev_only and not self.settings.is_dev)
            or not domain.verify_password(password, user.password_hash)
        ):
            raise Unauthorized("wrong username or password")
        token = domain.issue_token(self.token_secret, username, user.role, time.time())
        return json_response({"token": token, "token_type": "bearer", "role": user.role})

    @http("GET", "/api/v1/cases")
    def list_cases(self, request: Request) -> Response:
        self._principal(request)
        args = request.args
        page = self.dispatch.list_cases(
            status=args.get("status") or None,
            page=args.get("page", 1, type=int),
            page_size=args.get("page_size", 50, type=int),
        )
        return json_response(page)

    @http("GET", "/api/v1/cases/<string:case_id>")
    def get_case(self, request: Request, case_id: str) -> Response:
        self._principal(request)
        case = self.dispatch.get_case(case_id)
        if case is None:
            raise NotFound(f"no case {case_id}")
        return json_response(case)

    @http("POST", "/api/v1/cases/<string:case_id>/dispatch")
    def dispatch_case(self, request: Request, case_id: str) -> Response:
        """一键派单: an empty body takes the suggestion."""
        principal = self._principal(request)
        choice: dict[str, Any] = (
            json.loads(read_json_body(request)) if request.content_length else {}
        )
        try:
            case = self.dispatch.dispatch_case(case_id, principal.user, choice.get("assignee"))
        except RemoteError as exc:
            if exc.exc_type == "CaseNotFound":
                raise NotFound(f"no case {case_id}") from None
            if exc.exc_type in ("IllegalTransition", "StaleDataError"):
                raise Conflict(str(exc.value)) from None
            raise
        return json_response(case)

    @http("GET", "/api/v1/grid/units")
    def grid_units(self, request: Request) -> Response:
        self._principal(request)
        args = request.args
        units = self.grid.units(
            level=args.get("level") or None,
            parent=args.get("parent") or None,
            limit=args.get("limit", 100, type=int),
        )
        return json_response(units)

    def _principal(self, request: Request) -> domain.Principal:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a bearer token is required", {"WWW-Authenticate": "Bearer"})
        with http_errors({domain.AuthError: Unauthorized}):
            return domain.read_token(self.token_secret, token, time.time())
