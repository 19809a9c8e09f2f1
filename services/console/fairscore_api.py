"""Console's entrypoints of the fair score's people and accountability (一单考评): the
per-person figures (supervisors and administrators only) and the accountability records
(问责记录) a red card (红牌督办) opens. A mixin the service class inherits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from kit.web import http, json_response
from services.console.cases import must
from services.console.edge import answers, optional_json

if TYPE_CHECKING:
    from services.console import domain
    from services.console.ports import Dispatch, Supervision
    from services.console.unit_of_work import SqlConsoleReads


class FairScoreEntrypoints:
    """Per-person figures and 问责记录."""

    if TYPE_CHECKING:
        dispatch: Dispatch
        supervision: Supervision

        def _principal(self, request: Request, token: str | None = None) -> domain.Principal: ...
        def _reads(self) -> SqlConsoleReads: ...

    @http("GET", "/api/v1/assessment/people")
    def assessment_people(self, request: Request) -> Response:
        principal, period = self._principal(request), request.args.get("period", "")
        with answers(self.dispatch, period):
            must(principal, "assess_people")
            rows = self.supervision.people(period)
        with self._reads() as reads:  # each person under the name the console shows
            names = {user.username: user.display for user in reads.users.all()}
        return json_response([{**row, "display": names.get(row["person"])} for row in rows])

    @http("GET", "/api/v1/assessment/accountability")
    def assessment_accountability(self, request: Request) -> Response:
        principal, period = self._principal(request), request.args.get("period", "")
        with answers(self.dispatch, period):
            must(principal, "assess")
            return json_response(self.supervision.accountability(period))

    @http("POST", "/api/v1/orders/<string:order_id>/accountability")
    def hold_accountable(self, request: Request, order_id: str) -> Response:
        principal, record = self._principal(request), optional_json(request)
        with answers(self.dispatch, order_id):
            must(principal, "hold_accountable")
            opened = self.supervision.open_accountability(order_id, record, principal.user)
        return json_response(opened, status=201)
