"""Console's entrypoints for 请假 (AB岗), a mixin of ``ConsoleService``: record a role holder's
leave, withdraw it, list those not over."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from kit.web import http, json_response
from services.console import leave
from services.console.edge import answers, optional_json
from services.console.leave_store import SqlLeaveUnitOfWork

if TYPE_CHECKING:
    from kernel.clock import Clock
    from kit.providers import WorkerDatabase
    from services.console.domain import Principal


class LeaveEntrypoints:
    """``/api/v1/leave``: supervisors and administrators."""

    if TYPE_CHECKING:
        db: WorkerDatabase
        clock: Clock

        def _principal(self, request: Request, token: str | None = None) -> Principal: ...

    @http("GET", "/api/v1/leave")
    def leaves(self, request: Request) -> Response:
        principal = self._principal(request)
        with answers():
            return json_response(leave.current(self._leave(), principal, self.clock.now()))

    @http("POST", "/api/v1/leave")
    def record_leave(self, request: Request) -> Response:
        principal, body = self._principal(request), optional_json(request)
        with answers():
            recorded = leave.record(self._leave(), principal, body, self.clock.now())
        return json_response(recorded, status=201)

    @http("DELETE", "/api/v1/leave/<string:leave_id>")
    def cancel_leave(self, request: Request, leave_id: str) -> Response:
        principal = self._principal(request)
        with answers():
            leave.cancel(self._leave(), principal, leave_id, self.clock.now())
        return Response(status=204)

    def _leave(self) -> SqlLeaveUnitOfWork:
        return SqlLeaveUnitOfWork(self.db.unit_of_work)
