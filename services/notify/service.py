"""Notify's entrypoints: tell whoever notify.yml names, once; try again what is due; take the
providers' receipts and the citizens' SMS replies. What each does is in ``handlers``."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from contracts.events import (
    CASE_AWAITING_DISPATCH,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_ESCALATED,
    GRID_STAFF_CHANGED,
    GRID_UNIT_CHANGED,
    NOTIFICATION_FAILED,
    SLA_OVERDUE,
    SLA_WARNING,
    STAFF_LEAVE_CANCELLED,
    STAFF_LEAVE_RECORDED,
    SUPERVISION_ALERT_ROUTED,
    SUPERVISION_ORDER,
    Envelope,
    EventSpec,
)
from kernel.clock import Clock
from kit.base import ServiceBase
from kit.cache import KeptAnswers
from kit.messaging import on_event, on_event_batch
from kit.providers import ClockProvider, Configured, Database
from kit.rpc import RpcClient, every
from kit.web import NotFound, Unauthorized, http, json_response, read_json_body
from services import metering  # noqa: F401  (registers the domain's meters)
from services.notify import handlers, receipts
from services.notify.config import load_config
from services.notify.directory import Directory
from services.notify.models import TABLES
from services.notify.unit_of_work import SqlNotifyUnitOfWork

NOTIFIED: tuple[EventSpec[Any], ...] = (
    CASE_DISPATCHED, CASE_AWAITING_DISPATCH, SLA_WARNING, SLA_OVERDUE, CASE_ESCALATED,
    SUPERVISION_ORDER, SUPERVISION_ALERT_ROUTED, CASE_CONCLUDED, NOTIFICATION_FAILED,
)  # fmt: skip
CONTACT_TIMEOUT_SECONDS = 3.0
KEEP_STAFF_SECONDS = 60.0
"""Grid's people are kept until grid says they changed, and this long at most."""


class NotifyService(ServiceBase):
    name = "notify"
    db = Database(TABLES)
    clock: Clock = ClockProvider()
    config = Configured(load_config)
    grid = RpcClient("grid", timeout=CONTACT_TIMEOUT_SECONDS)
    intake = RpcClient("intake", timeout=CONTACT_TIMEOUT_SECONDS)
    staff = Configured(
        lambda _settings: KeptAnswers[tuple[str, str], list[dict[str, Any]]](KEEP_STAFF_SECONDS)
    )

    @on_event_batch(*NOTIFIED)
    def tell(self, batch: list[tuple[Envelope[Any]]]) -> list[None]:
        """Whoever the rules name for each event hears of it, once, by their channels. A burst
        is recorded in one transaction, in the order it came; its texts go once it commits."""
        events, sending = [event for (event,) in batch], self.config.sending
        ready = handlers.tell(self._uow(), events, self._directory(), sending, self.clock.now())
        handlers.send_all(self._uow, ready, sending, self.clock)
        return [None] * len(batch)

    @on_event(GRID_UNIT_CHANGED, GRID_STAFF_CHANGED)
    def territory_changed(self, event: Envelope[Any]) -> None:
        """Grid's people changed: ask grid again for whoever is texted next."""
        self.staff.clear()

    @on_event(STAFF_LEAVE_RECORDED, STAFF_LEAVE_CANCELLED)
    def leave_changed(self, event: Envelope[Any]) -> None:
        """请假 recorded or withdrawn: the holder's alerts go to their deputy while it lasts."""
        handlers.follow_leave(self._uow(), event)

    @every(lambda settings: settings.notify_tick_seconds)
    def try_again(self) -> None:
        """Retries, the end of quiet hours, a rate limit's wait: whatever is due now."""
        handlers.try_due(self._uow(), self.config.sending, self.clock)

    @http("POST", "/api/v1/notify/receipts/<string:provider>")
    def take_receipts(self, request: Request, provider: str) -> Response:
        """Delivery reports pushed by Aliyun or Tencent (the URL carries our token)."""
        self._check_token(request)
        parsed = receipts.reports_of(provider, read_json_body(request))
        handlers.settle_receipts(self._uow(), provider, parsed)
        return receipts.answer(provider)

    @http("POST", "/api/v1/notify/replies/<string:provider>")
    def take_replies(self, request: Request, provider: str) -> Response:
        """Citizens' SMS replies (上行): an answer to the revisit question becomes a revisit."""
        self._check_token(request)
        for reply in receipts.replies_of(provider, read_json_body(request)):
            handlers.answer_revisit(
                self._uow(), reply.phone, reply.text, self.config.sending.vault, self.clock.now()
            )
        return receipts.answer(provider)

    @http("GET", "/api/v1/notify/wechat")
    def wechat_check(self, request: Request) -> Response:
        """WeChat's server check: echo ``echostr`` when the signature is WeChat's."""
        receipts.check_wechat(request, self.config.wechat_token)
        return Response(request.args.get("echostr", ""), mimetype="text/plain")

    @http("POST", "/api/v1/notify/wechat")
    def wechat_push(self, request: Request) -> Response:
        """Template message receipts (TEMPLATESENDJOBFINISH), signed by WeChat."""
        receipts.check_wechat(request, self.config.wechat_token)
        receipt = receipts.wechat_receipt(request.get_data())
        handlers.settle_receipts(self._uow(), "wechat", [receipt])
        return Response("success", mimetype="text/plain")

    @http("GET", "/api/v1/notify/deliveries/<string:case_id>")
    def deliveries(self, request: Request, case_id: str) -> Response:
        """What was sent about a case, to whom (masked), and how it went."""
        self._check_token(request)
        views = handlers.deliveries_of(self._uow(), case_id)
        if not views:
            raise NotFound(f"nothing sent about {case_id}")
        return json_response(views)

    def _uow(self) -> SqlNotifyUnitOfWork:
        return SqlNotifyUnitOfWork(self.db.store, self.db.consumer)

    def _directory(self) -> Directory:
        """Who the rules name: departments from departments.yml, grid's people (kept a while)
        and the citizen from intake."""
        return Directory(
            self.config.departments, self.config.sending.vault, self.config.centre_robot,
            lambda unit, role: self.staff.get(
                (unit, role), lambda: list(self.grid.contacts(unit, role))
            ),
            lambda case_id: self.intake.reporter_contact(case_id),
            self.config.roster,
        )  # fmt: skip

    def _check_token(self, request: Request) -> None:
        if request.args.get("token") != self.config.callback_token:
            raise Unauthorized("a valid token is required in the callback URL")
