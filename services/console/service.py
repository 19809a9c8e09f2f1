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
    HttpError,
    NotFound,
    Unauthorized,
    Unprocessable,
    http,
    http_errors,
    json_response,
    read_json_body,
)
from services.console import domain
from services.console.models import TABLES
from services.console.repository import UserRepository

DEV_TOKEN_SECRET = "dev-console-token-secret"
ACTIONS = frozenset(
    {"dispatch", "accept", "return", "feedback", "conclude", "extend", "escalate", "verify",
     "revisit", "resolve_on_site", "merge"}
)  # fmt: skip
CASE_FILTERS = ("status", "channel", "risk", "category", "level")
CONFLICTS = frozenset({"IllegalTransition", "NotYourCase", "StaleCase", "StaleDataError"})


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
        filters = {key: args[key] for key in CASE_FILTERS if args.get(key)}
        page = self.dispatch.list_cases(
            scope=None,  # every case: jurisdiction scopes narrow it per role
            filters=filters,
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

    @http("POST", "/api/v1/cases/dispatch")
    def dispatch_many(self, request: Request) -> Response:
        """Select many, one click: each case takes its suggestion."""
        principal = self._principal(request)
        body = json.loads(read_json_body(request))
        case_ids = body.get("case_ids") if isinstance(body, dict) else None
        if not isinstance(case_ids, list) or not all(isinstance(c, str) for c in case_ids):
            raise Unprocessable([{"loc": ["case_ids"], "msg": "a list of case ids"}])
        actor = {"user": principal.user, "role": principal.role}
        key = request.headers.get("Idempotency-Key")
        return json_response(self.dispatch.dispatch_many(case_ids, actor, key))

    @http("POST", "/api/v1/cases/<string:case_id>/<string:action>")
    def act(self, request: Request, case_id: str, action: str) -> Response:
        """A lifecycle action; ``dispatch`` with an empty body is the one click (一键派单)."""
        principal = self._principal(request)
        if action not in ACTIONS:
            raise NotFound(f"no action {action!r}; actions: {sorted(ACTIONS)}")
        params: Any = json.loads(read_json_body(request)) if request.content_length else {}
        if not isinstance(params, dict):
            raise Unprocessable([{"loc": [], "msg": "the body must be a JSON object"}])
        expected = params.pop("expected_version", None)
        actor = {
            "user": principal.user,
            "role": principal.role,
            "unit": params.pop("on_behalf_of", None),
        }
        try:
            case = self.dispatch.act(
                case_id, action, actor, params, request.headers.get("Idempotency-Key"), expected
            )
        except RemoteError as exc:
            raise self._refusal(case_id, exc) from None
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

    def _refusal(self, case_id: str, exc: RemoteError) -> HttpError:
        """dispatch's refusal as an HTTP answer; a 409 says where the case is now."""
        message = str(exc.value)
        if exc.exc_type == "CaseNotFound":
            return NotFound(f"no case {case_id}")
        if exc.exc_type == "BadCommand":
            field, _, problem = message.partition(": ")
            return Unprocessable([{"loc": [field], "msg": problem or message}])
        if exc.exc_type in CONFLICTS:
            case = self.dispatch.get_case(case_id) or {}
            return Conflict(
                [{"loc": [], "msg": message, "status": case.get("status"),
                  "allowed_actions": case.get("actions", [])}]
            )  # fmt: skip
        return HttpError(message)

    def _principal(self, request: Request) -> domain.Principal:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a bearer token is required", {"WWW-Authenticate": "Bearer"})
        with http_errors({domain.AuthError: Unauthorized}):
            return domain.read_token(self.token_secret, token, time.time())
