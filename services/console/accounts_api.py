"""The console's entrypoints for a user's own account and the live stream: the change of
password, signing out everywhere, and the stream opened by a single-use ticket rather than by
the bearer token in its URL. Mixed into ``ConsoleService``; the work is in ``accounts``."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, cast

from werkzeug.wrappers import Request, Response

from kernel.clock import Clock
from kit import web
from kit.stream import Broadcast
from kit.web import http, json_response
from services.console import accounts, domain
from services.console.edge import answers
from services.console.unit_of_work import SqlConsoleUnitOfWork


class Console(Protocol):
    """What the entrypoints use of the service they are mixed into."""

    clock: Clock
    stream: Broadcast

    def _uow(self) -> SqlConsoleUnitOfWork: ...

    def _principal(self, request: Request, token: str | None = None) -> domain.Principal: ...


class AccountEntrypoints:
    """Mixed into ``ConsoleService``."""

    @http("POST", "/api/v1/me/password")
    def change_password(self, request: Request) -> Response:
        """修改密码 ``{"old", "new"}``: 204; every other token of the user stops working."""
        console = cast(Console, self)
        principal, body = console._principal(request), web.read_json_object(request)
        with answers():
            command = accounts.PasswordChange.of(body)
            accounts.change_password(console._uow(), principal, command, _now(console))
        return Response(status=204)

    @http("POST", "/api/v1/me/logout-all")
    def logout_all(self, request: Request) -> Response:
        """退出所有设备: 204; every token of the user stops working, this one too."""
        console = cast(Console, self)
        principal = console._principal(request)
        with answers():
            accounts.sign_out_everywhere(console._uow(), principal)
        return Response(status=204)

    @http("POST", "/api/v1/stream/ticket")
    def stream_ticket(self, request: Request) -> Response:
        """A ticket that opens the live stream once, within 30 s."""
        console = cast(Console, self)
        principal = console._principal(request)
        ticket = accounts.issue_stream_ticket(console._uow(), principal, _now(console))
        return json_response(ticket, status=201)

    @http("GET", "/api/v1/stream")
    def events(self, request: Request) -> Response:
        """Server-sent events: the types of public events as they happen (no case numbers).
        Opened with ``?ticket=`` (``POST /api/v1/stream/ticket``); ``?token=``, the bearer
        token itself, is still taken from clients of 1.0 but no longer used by the UI."""
        console = cast(Console, self)
        ticket = request.args.get("ticket")
        if ticket is None:
            console._principal(request, request.args.get("token"))
        else:
            with answers():
                accounts.redeem_stream_ticket(console._uow(), ticket, _now(console))
        return web.event_stream(request, console.stream.frames())


def _now(console: Console) -> datetime:
    return console.clock.now()
