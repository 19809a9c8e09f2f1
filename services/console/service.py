"""Console's entrypoints, the staff API and the web UI: each decodes the request, calls a
handler (``handlers``, ``cases``, ``screen``, ``admin``) and answers (refusals: ``edge``)."""

from __future__ import annotations

import json

from werkzeug.wrappers import Request, Response

from contracts.asyncapi import document as asyncapi_document
from kernel.catalogue import Catalogue
from kernel.clock import Clock
from kit import web
from kit.base import ServiceBase
from kit.catalogue import load_catalogue
from kit.logs import about
from kit.pii import PhoneVault, load_phone_index_key, load_vault
from kit.providers import ClockProvider, Configured, Database
from kit.rpc import RpcClient
from kit.stream import PublicStream
from kit.web import http, json_response
from services.console import accounts, admin, cases, domain, handlers
from services.console.accounts_api import AccountEntrypoints
from services.console.admin_api import AdminEntrypoints
from services.console.config import load_token_secret, load_trusted_proxies
from services.console.desk_api import DeskEntrypoints
from services.console.edge import answers, bearer_token, optional_json, static_file
from services.console.export_api import ExportEntrypoints
from services.console.fairscore_api import FairScoreEntrypoints
from services.console.holidays_api import HolidaysEntrypoints
from services.console.leave_api import LeaveEntrypoints
from services.console.map_api import MapEntrypoints
from services.console.models import TABLES
from services.console.notes_files_api import NotesFilesEntrypoints
from services.console.openapi import document as openapi_document
from services.console.ports import Dispatch, Grid, Intake, Supervision
from services.console.screen_api import ScreenEntrypoints
from services.console.unit_of_work import SqlConsoleReads, SqlConsoleUnitOfWork


class ConsoleService(
    FairScoreEntrypoints, NotesFilesEntrypoints, AccountEntrypoints, ExportEntrypoints,
    DeskEntrypoints, ScreenEntrypoints, MapEntrypoints, AdminEntrypoints, LeaveEntrypoints,
    HolidaysEntrypoints, ServiceBase,
):  # fmt: skip
    name = "console"
    db = Database(TABLES)
    token_secret = Configured(load_token_secret)
    trusted_proxies = Configured(load_trusted_proxies)
    settings = Configured(lambda settings: settings)
    vault: PhoneVault = Configured(load_vault)
    catalogue: Catalogue = Configured(lambda settings: load_catalogue(settings.config_dir))
    """The category catalogue: the desk's picker and the screen's names."""
    phone_index_key: str = Configured(load_phone_index_key)
    clock: Clock = ClockProvider()
    stream = PublicStream()
    dispatch: Dispatch = RpcClient("dispatch")
    grid: Grid = RpcClient("grid")
    supervision: Supervision = RpcClient("supervision")
    intake: Intake = RpcClient("intake")

    # --- who you are ---

    @http("POST", "/api/v1/auth/login")
    def login(self, request: Request) -> Response:
        credentials, address = web.read_json_object(request), self._client(request)
        sign_in = handlers.SignIn(self.token_secret, self.settings.is_dev)
        with answers():
            command = handlers.Login.of(credentials, address)
            return json_response(handlers.login(self._uow(), command, sign_in, self.clock.now()))

    @http("GET", "/api/v1/me")
    def me(self, request: Request) -> Response:
        with answers():
            return json_response(handlers.me(self._reads(), self._principal(request)))

    # --- cases ---

    @http("GET", "/api/v1/cases")
    def list_cases(self, request: Request) -> Response:
        principal = self._principal(request)
        with answers():
            query = cases.CaseQuery.of(request.args)
            found = cases.list_cases(self.dispatch, principal, query, self._phone_search())
        return json_response(found)

    @http("GET", "/api/v1/cases/<string:case_id>")
    def get_case(self, request: Request, case_id: str) -> Response:
        with about(case_id=case_id), answers():
            return json_response(self.case_with_files(self._principal(request), case_id))

    @http("GET", "/api/v1/cases/<string:case_id>/contact")
    def contact(self, request: Request, case_id: str) -> Response:
        """The citizen's number, unmasked, for the unit that must call them; every view audited."""
        principal, now = self._principal(request), self.clock.now()
        wanted = handlers.RevealPhone(case_id, self._client(request))
        others = self.dispatch, self.intake, self.vault
        with about(case_id=case_id), answers():
            phone = handlers.reveal_phone(self._uow(), *others, principal, wanted, now)
        return json_response({"phone": phone})

    @http("POST", "/api/v1/cases/dispatch")
    def dispatch_many(self, request: Request) -> Response:
        """Select many, one click: each case takes its suggestion."""
        principal, body = self._principal(request), json.loads(web.read_json_body(request))
        case_ids = body.get("case_ids") if isinstance(body, dict) else None
        key = request.headers.get("Idempotency-Key")
        with answers():
            return json_response(cases.dispatch_many(self.dispatch, principal, case_ids, key))

    @http("POST", "/api/v1/cases/<string:case_id>/supervise")
    def supervise(self, request: Request, case_id: str) -> Response:
        principal, order = self._principal(request), optional_json(request)
        with about(case_id=case_id), answers(self.dispatch, case_id):
            issued = cases.supervise(self.dispatch, self.supervision, principal, case_id, order)
        return json_response(issued, status=201)

    @http("POST", "/api/v1/cases/<string:case_id>/<string:action>")
    def act(self, request: Request, case_id: str, action: str) -> Response:
        principal = self._principal(request)
        body = web.read_json_object(request) if request.content_length else {}
        wanted = cases.Act(case_id, action, body, request.headers.get("Idempotency-Key"))
        with about(case_id=case_id), answers(self.dispatch, case_id):
            return json_response(self.act_on_case(principal, wanted))

    @http("POST", "/api/v1/orders/<string:order_id>/reply")
    def reply_to_order(self, request: Request, order_id: str) -> Response:
        principal, reply = self._principal(request), optional_json(request)
        with answers(self.dispatch, order_id):
            return json_response(self.supervision.reply_to_order(order_id, reply, principal.user))

    # --- boards and map (the screen and the assessment: screen_api) ---

    @http("GET", "/api/v1/board")
    def board(self, request: Request) -> Response:
        principal, after = self._principal(request), request.args.get("after") or None
        with answers():
            return json_response(cases.board(self.supervision, principal, after))

    @http("GET", "/api/v1/grid/units")
    def grid_units(self, request: Request) -> Response:
        self._principal(request)
        level, parent = request.args.get("level") or None, request.args.get("parent") or None
        limit = request.args.get("limit", 100, type=int)
        return json_response(self.grid.units(level=level, parent=parent, limit=limit))

    @http("GET", "/api/v1/grid/map")
    def grid_map(self, request: Request) -> Response:
        principal, level = self._principal(request), request.args.get("level", "grid")
        with answers():
            return json_response(cases.case_map(self.dispatch, self.grid, principal, level))

    # --- subscriptions ---

    @http("GET", "/api/v1/subscriptions")
    def my_subscriptions(self, request: Request) -> Response:
        return json_response(self.supervision.subscriptions(self._principal(request).user))

    @http("POST", "/api/v1/subscriptions")
    def subscribe(self, request: Request) -> Response:
        principal, wanted = self._principal(request), web.read_json_object(request)
        with answers(self.dispatch, "subscription"):
            made = cases.subscribe(self.supervision, principal, wanted)
        return json_response(made, status=201)

    @http("DELETE", "/api/v1/subscriptions/<int:subscription_id>")
    def unsubscribe(self, request: Request, subscription_id: int) -> Response:
        principal = self._principal(request)
        with answers(self.dispatch, str(subscription_id)):
            self.supervision.unsubscribe(subscription_id, principal.user)
        return Response(status=204)

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

    @http("GET", "/asyncapi.json")
    def asyncapi(self, request: Request) -> Response:
        """The messages on civicflow.inbound and civicflow.events (AsyncAPI 3)."""
        return json_response(asyncapi_document())

    # --- what the entrypoints share ---

    def _uow(self) -> SqlConsoleUnitOfWork:
        return SqlConsoleUnitOfWork(self.db.unit_of_work)

    def _reads(self) -> SqlConsoleReads:
        return SqlConsoleReads(self.db.read)

    def _phone_search(self) -> cases.PhoneSearch:
        return cases.PhoneSearch(self.intake, self.phone_index_key)

    def _client(self, request: Request) -> str | None:
        forwarded = request.headers.getlist("X-Forwarded-For")
        return domain.client_address(request.remote_addr, forwarded, self.trusted_proxies)

    def _principal(self, request: Request, token: str | None = None) -> domain.Principal:
        token = bearer_token(request, token)
        with answers():
            return accounts.signed_in(self._reads(), self.token_secret, token, self.clock.now())

    def _admin(self, request: Request) -> domain.Principal:
        with answers():
            return admin.must_be_admin(self._principal(request))
