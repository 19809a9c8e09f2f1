"""Console's entrypoints: the staff API and the web UI. Each user sees and acts within their
reach (their department, their grid, their unit's subtree); outside it a case does not exist."""

from __future__ import annotations

import json
import mimetypes
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from contracts.actions import action_from
from contracts.events import (
    CASE_CLOSED,
    CASE_DISPATCHED,
    CASE_ESCALATED,
    CASE_RECEIVED,
    SLA_OVERDUE,
    Envelope,
)
from kit.base import ServiceBase
from kit.messaging import on_event_batch
from kit.pii import PhoneVault, load_vault
from kit.providers import Configured, Database
from kit.rpc import RemoteError, RpcClient
from kit.settings import ConfigError, Settings, secret
from kit.stream import PublicStream
from kit.web import (
    Conflict,
    Forbidden,
    HttpError,
    NotFound,
    Unauthorized,
    Unprocessable,
    event_stream,
    http,
    http_errors,
    json_response,
    read_json_body,
    read_json_object,
)
from services.console import admin, domain
from services.console.models import TABLES
from services.console.openapi import document as openapi_document
from services.console.repository import UserRepository

DEV_TOKEN_SECRET = "dev-console-token-secret"
STATIC = Path(__file__).resolve().parent / "static"
CASE_FILTERS = ("status", "channel", "risk", "category", "level")
CONFLICTS = frozenset({"IllegalTransition", "NotYourCase", "StaleCase", "StaleDataError"})
NOT_FOUND = frozenset({"CaseNotFound", "UnknownCase", "UnknownOrder", "NoSuchSubscription"})
UNPROCESSABLE = frozenset({"ValidationError", "OrderRefused", "ValueError", "BadCommand"})
SCREEN_DAY_ZONE = "Asia/Shanghai"


def load_token_secret(settings: Settings) -> str:
    return secret(settings, "CIVICFLOW_CONSOLE_SECRET", DEV_TOKEN_SECRET)


def load_trusted_proxies(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> tuple[domain.Network, ...]:
    """``CIVICFLOW_TRUSTED_PROXIES``: the proxies whose ``X-Forwarded-For`` is believed."""
    setting = (os.environ if environ is None else environ).get("CIVICFLOW_TRUSTED_PROXIES", "")
    try:
        return domain.trusted_networks(setting)
    except ValueError as exc:
        raise ConfigError(f"CIVICFLOW_TRUSTED_PROXIES: {exc}") from None


class ConsoleService(ServiceBase):
    name = "console"
    db = Database(TABLES)
    token_secret = Configured(load_token_secret)
    trusted_proxies = Configured(load_trusted_proxies)
    settings = Configured(lambda settings: settings)
    vault: PhoneVault = Configured(load_vault)
    stream = PublicStream()
    dispatch = RpcClient("dispatch")
    grid = RpcClient("grid")
    supervision = RpcClient("supervision")
    intake = RpcClient("intake")

    # --- who you are ---

    @http("POST", "/api/v1/auth/login")
    def login(self, request: Request) -> Response:
        """A bearer token; five wrong tries in fifteen minutes lock the user and the address."""
        credentials = read_json_object(request)
        username, password = credentials.get("username"), credentials.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise Unprocessable(
                [{"loc": ["username"], "msg": "username and password are required"}]
            )
        keys = (f"user:{username}", f"addr:{self._client(request)}")
        with self.db.unit_of_work() as uow:
            users = UserRepository(uow.session)
            wait = max(
                self._locked(users, keys[0], domain.MAX_FAILURES),
                self._locked(users, keys[1], domain.MAX_ADDRESS_FAILURES),
            )
            if wait:
                raise TooMany(f"too many failed logins; try again in {int(wait) + 1} s", wait)
            user = users.get(username)
            good = user is not None and not (user.dev_only and not self.settings.is_dev)
            if not good or user is None or not domain.verify_password(password, user.password_hash):
                for key in keys:
                    users.failed(key, time.time(), domain.FAILURE_WINDOW_SECONDS)
                uow.commit()
                raise Unauthorized("wrong username or password")
            if domain.needs_rehash(user.password_hash):
                user.password_hash = domain.hash_password(password)
            users.forget_failures(keys[0])
            uow.commit()
            token = domain.issue_token(
                self.token_secret, username, user.role, time.time(), user.unit
            )
            return json_response({"token": token, "token_type": "bearer", **me_of(user)})

    @http("GET", "/api/v1/me")
    def me(self, request: Request) -> Response:
        principal = self._principal(request)
        with self.db.read() as session:
            user = UserRepository(session).get(principal.user)
            if user is None:
                raise Unauthorized("no such user any more")
            return json_response(me_of(user))

    # --- cases ---

    @http("GET", "/api/v1/cases")
    def list_cases(self, request: Request) -> Response:
        principal, args = self._principal(request), request.args
        filters = {key: args[key] for key in CASE_FILTERS if args.get(key)}
        page = self.dispatch.list_cases(
            scope=self._scope(principal, mine=args.get("mine") in ("1", "true")),
            filters=filters,
            page=args.get("page", 1, type=int),
            page_size=args.get("page_size", 50, type=int),
        )
        page["items"] = [domain.shown_actions(principal, case) for case in page["items"]]
        return json_response(page)

    @http("GET", "/api/v1/cases/<string:case_id>")
    def get_case(self, request: Request, case_id: str) -> Response:
        principal = self._principal(request)
        return json_response(domain.shown_actions(principal, self._case(principal, case_id)))

    @http("GET", "/api/v1/cases/<string:case_id>/contact")
    def contact(self, request: Request, case_id: str) -> Response:
        """The citizen's number, unmasked, for the unit that must call them; every view audited."""
        principal = self._principal(request)
        case = self._case(principal, case_id)
        found = self.intake.reporter_contact(case_id) if domain.holds(principal, case) else None
        if not found:
            raise NotFound(f"no number to show for {case_id}")
        phone = self.vault.open(found["phone_sealed"])
        with self.db.unit_of_work() as uow:
            UserRepository(uow.session).saw_phone(
                principal.user, case_id, self._client(request) or "-", datetime.now(UTC)
            )
            uow.commit()
        return json_response({"phone": phone})

    @http("POST", "/api/v1/cases/dispatch")
    def dispatch_many(self, request: Request) -> Response:
        """Select many, one click: each case takes its suggestion."""
        principal = self._principal(request)
        self._must(principal, "dispatch")
        body = json.loads(read_json_body(request))
        case_ids = body.get("case_ids") if isinstance(body, dict) else None
        if not isinstance(case_ids, list) or not all(isinstance(c, str) for c in case_ids):
            raise Unprocessable([{"loc": ["case_ids"], "msg": "a list of case ids"}])
        key = request.headers.get("Idempotency-Key")
        return json_response(self.dispatch.dispatch_many(case_ids, actor_of(principal), key))

    @http("POST", "/api/v1/cases/<string:case_id>/supervise")
    def supervise(self, request: Request, case_id: str) -> Response:
        """督办: ``{"grade": "normal|yellow|red", "note", "due_at"?}`` on a case."""
        principal = self._principal(request)
        self._case(principal, case_id)
        self._must(principal, "supervise")
        order: Any = json.loads(read_json_body(request)) if request.content_length else {}
        with self._refusals(case_id):
            issued = self.supervision.issue_order(case_id, order, principal.user)
        return json_response(issued, status=201)

    @http("POST", "/api/v1/cases/<string:case_id>/<string:action>")
    def act(self, request: Request, case_id: str, action: str) -> Response:
        """A lifecycle action; ``dispatch`` with an empty body is the one click (一键派单)."""
        principal = self._principal(request)
        if action not in domain.LIFECYCLE_ACTIONS:
            raise NotFound(f"no action {action!r}")
        self._case(principal, case_id)
        self._must(principal, action)
        body = read_json_object(request) if request.content_length else {}
        wanted = action_from(action, body)
        actor = actor_of(principal, wanted.on_behalf_of)
        key = request.headers.get("Idempotency-Key")
        with self._refusals(case_id):
            case = self.dispatch.act(case_id, wanted.model_dump(mode="json"), actor, key)
        return json_response(domain.shown_actions(principal, case))

    @http("POST", "/api/v1/orders/<string:order_id>/reply")
    def reply_to_order(self, request: Request, order_id: str) -> Response:
        principal = self._principal(request)
        reply: Any = json.loads(read_json_body(request)) if request.content_length else {}
        with self._refusals(order_id):
            return json_response(self.supervision.reply_to_order(order_id, reply, principal.user))

    # --- boards, map, screen, assessment ---

    @http("GET", "/api/v1/board")
    def board(self, request: Request) -> Response:
        principal = self._principal(request)
        return json_response(self.supervision.board(self._scope(principal)))

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

    @http("GET", "/api/v1/grid/map")
    def grid_map(self, request: Request) -> Response:
        """The units' outlines and the open cases within reach that have a location."""
        principal = self._principal(request)
        level = request.args.get("level", "grid")
        if level not in ("grid", "community", "street", "district", "micro_grid"):
            raise Unprocessable([{"loc": ["level"], "msg": f"{level!r} is not a level"}])
        page = self.dispatch.list_cases(
            scope=self._scope(principal), filters={}, page=1, page_size=200
        )
        cases = [
            {"case_id": c["case_id"], "lat": c["location"]["lat"], "lon": c["location"]["lon"],
             "risk": c["risk"], "status": c["status"]}
            for c in page["items"]
            if c.get("location") and c["status"] not in ("closed", "merged", "resolved_on_site")
        ]  # fmt: skip
        return json_response({"units": self.grid.shapes(level), "cases": cases})

    @http("GET", "/api/v1/screen")
    def screen(self, request: Request) -> Response:
        """中心大屏: today's figures (Beijing day)."""
        self._principal(request)
        day = today()
        with self.db.read() as session:
            counts = UserRepository(session).counts(day)
        return json_response(screen_of(day, counts))

    @http("GET", "/api/v1/assessment")
    def assessment(self, request: Request) -> Response:
        """一单考评 of ``period`` (2026-11, 2026-Q4, 2026, 2026-11-21), ``kind`` optional."""
        self._must(self._principal(request), "assess")
        period, kind = request.args.get("period", ""), request.args.get("kind") or None
        with self._refusals(period):
            return json_response(self.supervision.assessment(period, kind))

    @http("GET", "/api/v1/stream")
    def events(self, request: Request) -> Response:
        """Server-sent events: the types of public events as they happen (no case numbers)."""
        self._principal(request, request.args.get("token"))
        return event_stream(request, self.stream.frames())

    @on_event_batch(CASE_RECEIVED, CASE_DISPATCHED, SLA_OVERDUE, CASE_ESCALATED, CASE_CLOSED)
    def count_for_the_screen(self, batch: list[tuple[Envelope[Any]]]) -> list[None]:
        """The big screen's counts of the day; a burst is counted in one transaction."""
        with self.db.unit_of_work() as uow:
            tally: Counter[tuple[str, str]] = Counter()
            fresh = uow.first_times(event.event_id for (event,) in batch)
            for (event,) in batch:
                if fresh.take(event.event_id):
                    tally.update((today(event.occurred_at), m) for m in metrics_of(event))
            UserRepository(uow.session).count(tally)
            uow.commit()
        return [None] * len(batch)

    # --- subscriptions ---

    @http("GET", "/api/v1/subscriptions")
    def my_subscriptions(self, request: Request) -> Response:
        principal = self._principal(request)
        return json_response(self.supervision.subscriptions(principal.user))

    @http("POST", "/api/v1/subscriptions")
    def subscribe(self, request: Request) -> Response:
        principal = self._principal(request)
        self._must(principal, "subscribe")
        wanted = read_json_object(request)
        with self._refusals("subscription"):
            made = self.supervision.subscribe({**wanted, "subscriber": principal.user})
        return json_response(made, status=201)

    @http("DELETE", "/api/v1/subscriptions/<int:subscription_id>")
    def unsubscribe(self, request: Request, subscription_id: int) -> Response:
        principal = self._principal(request)
        with self._refusals(str(subscription_id)):
            self.supervision.unsubscribe(subscription_id, principal.user)
        return Response(status=204)

    # --- admin ---

    @http("GET", "/api/v1/admin/users")
    def users(self, request: Request) -> Response:
        self._admin(request)
        with self.db.read() as session:
            return json_response([me_of(u) for u in UserRepository(session).all()])

    @http("POST", "/api/v1/admin/users")
    def add_user(self, request: Request) -> Response:
        self._admin(request)
        with http_errors({admin.BadUser: Unprocessable}):
            user = admin.new_user(json.loads(read_json_body(request)))
        with self.db.unit_of_work() as uow:
            users = UserRepository(uow.session)
            if users.get(user.username) is not None:
                raise Conflict(f"user {user.username} exists")
            users.put(user)
            uow.commit()
        return json_response(me_of(user), status=201)

    @http("DELETE", "/api/v1/admin/users/<string:username>")
    def remove_user(self, request: Request, username: str) -> Response:
        principal = self._admin(request)
        if username == principal.user:
            raise Conflict("you cannot remove yourself")
        with self.db.unit_of_work() as uow:
            users = UserRepository(uow.session)
            user = users.get(username)
            if user is None:
                raise NotFound(f"no user {username}")
            users.remove(user)
            uow.commit()
        return Response(status=204)

    @http("GET", "/api/v1/admin/config")
    def config_files(self, request: Request) -> Response:
        """Routing, SLA, notify and assessment configuration, read-only."""
        self._admin(request)
        return json_response({"files": admin.config_files(self.settings.config_dir)})

    @http("GET", "/api/v1/admin/sources")
    def sources(self, request: Request) -> Response:
        self._admin(request)
        return json_response(admin.sources(self.settings))

    # --- the web UI and the API's description ---

    @http("GET", "/")
    def index(self, request: Request) -> Response:
        return static_file("index.html")

    @http("GET", "/static/<path:path>")
    def static(self, request: Request, path: str) -> Response:
        return static_file(path)

    @http("GET", "/openapi.json")
    def openapi(self, request: Request) -> Response:
        return json_response(openapi_document())

    # --- the work behind the entrypoints ---

    def _client(self, request: Request) -> str | None:
        forwarded = request.headers.getlist("X-Forwarded-For")
        return domain.client_address(request.remote_addr, forwarded, self.trusted_proxies)

    def _principal(self, request: Request, token: str | None = None) -> domain.Principal:
        if token is None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer":
                token = ""
        if not token:
            raise Unauthorized("a bearer token is required", {"WWW-Authenticate": "Bearer"})
        with http_errors({domain.AuthError: Unauthorized}):
            return domain.read_token(self.token_secret, token, time.time())

    def _scope(self, principal: domain.Principal, mine: bool = False) -> list[str] | None:
        """The units whose cases this user may list (None: all)."""
        if domain.sees_everything(principal) and not (mine and principal.unit):
            return None
        return [principal.unit] if principal.unit else []

    def _case(self, principal: domain.Principal, case_id: str) -> dict[str, Any]:
        case = self.dispatch.get_case(case_id)
        if case is None or not domain.in_reach(principal, case):
            raise NotFound(f"no case {case_id}")
        return dict(case)

    def _must(self, principal: domain.Principal, action: str) -> None:
        if not domain.may(principal, action):
            raise Forbidden(f"a {principal.role} may not {action}")

    def _admin(self, request: Request) -> domain.Principal:
        principal = self._principal(request)
        if principal.role != "admin":
            raise Forbidden("administrators only")
        return principal

    def _locked(self, users: UserRepository, key: str, limit: int) -> float:
        row = users.failures(key)
        if row is None:
            return 0.0
        return domain.locked_for(row.failures, row.window_start, time.time(), limit)

    def _refusals(self, subject: str) -> AbstractContextManager[None]:
        return refusals(self, subject)


class TooMany(HttpError):
    status = 429

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message, {"Retry-After": str(int(wait) + 1)})


@contextmanager
def refusals(console: ConsoleService, subject: str) -> Iterator[None]:
    """Another service's refusal as an HTTP answer; a 409 says where the case is now."""
    try:
        yield
    except RemoteError as exc:
        message = str(exc.value)
        if exc.exc_type in NOT_FOUND:
            raise NotFound(f"no {subject}") from None
        if exc.exc_type in UNPROCESSABLE:
            field, _, problem = message.partition(": ")
            raise Unprocessable([{"loc": [field], "msg": problem or message}]) from None
        if exc.exc_type == "OrderAnswered":
            raise Conflict(message) from None
        if exc.exc_type in CONFLICTS:
            case = console.dispatch.get_case(subject) or {}
            raise Conflict(
                [{"loc": [], "msg": message, "status": case.get("status"),
                  "allowed_actions": case.get("actions", [])}]
            ) from None  # fmt: skip
        # Any other failure is the remote service's, not the client's: the kit answers 502
        # and logs it, without passing its message (which may hold internals) to the client.
        raise


def me_of(user: Any) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "unit": user.unit,
            "display": user.display or user.username}  # fmt: skip


def actor_of(principal: domain.Principal, on_behalf_of: str | None = None) -> dict[str, Any]:
    """Who acts, for which unit: a handler for their own; an admin for whichever they name."""
    unit = on_behalf_of if principal.role == "admin" else principal.unit
    return {"user": principal.user, "role": principal.role, "unit": unit}


def today(moment: datetime | None = None) -> str:
    from zoneinfo import ZoneInfo

    return (moment or datetime.now(UTC)).astimezone(ZoneInfo(SCREEN_DAY_ZONE)).date().isoformat()


def metrics_of(event: Envelope[Any]) -> list[str]:
    data = event.data
    if event.type == CASE_RECEIVED.type:
        return [f"received.{data.channel}"]
    if event.type == CASE_CLOSED.type:
        good = data.satisfaction in ("satisfied", "basically_satisfied")
        return (
            ["closed", "revisited", *(["satisfied"] if good else [])]
            if data.satisfaction
            else ["closed"]
        )
    return {CASE_DISPATCHED.type: ["dispatched"], SLA_OVERDUE.type: ["overdue"],
            CASE_ESCALATED.type: ["escalated"]}[event.type]  # fmt: skip


def screen_of(day: str, counts: dict[str, int]) -> dict[str, Any]:
    revisited = counts.get("revisited", 0)
    return {
        "date": day,
        "received": {line: counts.get(f"received.{line}", 0)
                     for line in ("hotline", "grid", "opinion", "petition")},
        "dispatched": counts.get("dispatched", 0), "overdue": counts.get("overdue", 0),
        "escalated": counts.get("escalated", 0), "closed": counts.get("closed", 0),
        "satisfaction_rate": counts.get("satisfied", 0) / revisited if revisited else None,
    }  # fmt: skip


def static_file(path: str) -> Response:
    """A file of the UI; nothing outside its folder."""
    try:
        target = (STATIC / path).resolve()
    except (ValueError, OSError):  # a NUL byte in the path
        raise NotFound(f"no file {path}") from None
    if not target.is_file() or STATIC not in target.parents:
        raise NotFound(f"no file {path}")
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if target.suffix == ".js":
        kind = "text/javascript"
    return Response(target.read_bytes(), mimetype=kind, headers={"Cache-Control": "no-cache"})
