"""Notify's entrypoints: tell whoever notify.yml names, once; try again what is due; take the
providers' receipts and the citizens' SMS replies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
    NOTIFY_REVISIT_ANSWERED,
    SLA_OVERDUE,
    SLA_WARNING,
    SUPERVISION_ALERT_ROUTED,
    SUPERVISION_ORDER,
    Envelope,
    EventSpec,
    RevisitAnswered,
)
from kit.base import ServiceBase
from kit.cache import KeptAnswers
from kit.db import UnitOfWork
from kit.green import concurrently
from kit.messaging import on_event, on_event_batch
from kit.pii import PhoneVault, load_vault
from kit.providers import Configured, Database
from kit.rpc import RpcClient, every
from kit.settings import Settings, secret
from kit.web import NotFound, Unauthorized, http, json_response, read_json_body
from services import metering  # noqa: F401  (registers the domain's meters)
from services.notify import domain, receipts
from services.notify.directory import Directory
from services.notify.gateways.base import Gateway
from services.notify.models import TABLES, FollowedCase
from services.notify.postman import Lanes, Letter, Postman, Trigger
from services.notify.providers import build_gateways
from services.notify.repository import DeliveryRepository
from services.notify.rules import ChannelName, NotifyRules

NOTIFIED: tuple[EventSpec[Any], ...] = (
    CASE_DISPATCHED, CASE_AWAITING_DISPATCH, SLA_WARNING, SLA_OVERDUE, CASE_ESCALATED,
    SUPERVISION_ORDER, SUPERVISION_ALERT_ROUTED, CASE_CONCLUDED, NOTIFICATION_FAILED,
)  # fmt: skip
CONTACT_TIMEOUT_SECONDS = 3.0
KEEP_STAFF_SECONDS = 60.0
"""Grid's people are kept until grid says they changed, and this long at most."""
DEV_CALLBACK_TOKEN = "dev-notify-callback"


@dataclass(frozen=True)
class NotifyConfig:
    rules: NotifyRules
    departments: domain.ContactDirectory
    vault: PhoneVault
    callback_token: str
    """Aliyun's and Tencent's callbacks are not signed: their URL carries this token."""
    wechat_token: str
    centre_robot: str


def load_config(settings: Settings) -> NotifyConfig:
    return NotifyConfig(
        NotifyRules.from_file(settings.config_dir / "notify.yml"),
        domain.ContactDirectory.from_config(settings.load_yaml("departments.yml")),
        load_vault(settings),
        secret(settings, "CIVICFLOW_NOTIFY_CALLBACK_TOKEN", DEV_CALLBACK_TOKEN),
        secret(settings, "CIVICFLOW_WECHAT_TOKEN", "dev-wechat-token"),
        secret(settings, "CIVICFLOW_WECOM_CENTRE_KEY", "dev-centre-robot"),
    )


@dataclass(frozen=True)
class Gateways:
    by_channel: Mapping[ChannelName, Gateway]
    lanes: Lanes


def load_gateways(settings: Settings) -> Gateways:
    rules = NotifyRules.from_file(settings.config_dir / "notify.yml")
    return Gateways(build_gateways(rules, settings.data_dir), Lanes(rules.max_in_flight))


class NotifyService(ServiceBase):
    name = "notify"
    db = Database(TABLES)
    config = Configured(load_config)
    gateways = Configured(load_gateways)
    grid = RpcClient("grid", timeout=CONTACT_TIMEOUT_SECONDS)
    intake = RpcClient("intake", timeout=CONTACT_TIMEOUT_SECONDS)
    staff = Configured(
        lambda _settings: KeptAnswers[tuple[str, str], list[dict[str, Any]]](KEEP_STAFF_SECONDS)
    )

    @on_event_batch(*NOTIFIED)
    def tell(self, batch: list[tuple[Envelope[Any]]]) -> list[None]:
        """Whoever the rules name for this event hears of it, once, by their channels. A burst
        is written in one transaction, in the order it came; its texts go once it commits."""
        now, events = datetime.now(UTC), [event for (event,) in batch]
        letters = self._letters_of(events, now)
        postman = self.postman
        with self.db.unit_of_work() as uow:
            fresh = uow.first_times(event.event_id for event in events)
            firsts = [(e, theirs) for e, theirs in zip(events, letters, strict=True)
                      if fresh.take(e.event_id)]  # fmt: skip
            follow(uow, [event for event, _ in firsts])
            ready = postman.record(
                uow, [Trigger(e.event_id, e.type, e.case_id, theirs) for e, theirs in firsts], now
            )
            for event, theirs in firsts:
                ask_revisit(uow, event, theirs, now)
            uow.commit()
        concurrently(postman.send, ready, width=self.config.rules.max_in_flight)
        return [None] * len(batch)

    @on_event(GRID_UNIT_CHANGED, GRID_STAFF_CHANGED)
    def territory_changed(self, event: Envelope[Any]) -> None:
        """Grid's people changed: ask grid again for whoever is texted next."""
        self.staff.clear()

    @every(lambda settings: settings.notify_tick_seconds)
    def try_again(self) -> None:
        """Retries, the end of quiet hours, a rate limit's wait: whatever is due now."""
        self.postman.try_due(datetime.now(UTC))

    @http("POST", "/api/v1/notify/receipts/<string:provider>")
    def take_receipts(self, request: Request, provider: str) -> Response:
        """Delivery reports pushed by Aliyun or Tencent (the URL carries our token)."""
        self._check_token(request)
        parsed = receipts.reports_of(provider, read_json_body(request))
        self.postman.settle_receipts(provider, parsed)
        return receipts.answer(provider)

    @http("POST", "/api/v1/notify/replies/<string:provider>")
    def take_replies(self, request: Request, provider: str) -> Response:
        """Citizens' SMS replies (上行): an answer to the revisit question becomes a revisit."""
        self._check_token(request)
        for reply in receipts.replies_of(provider, read_json_body(request)):
            self._answer(reply.phone, reply.text)
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
        self.postman.settle_receipts("wechat", [receipts.wechat_receipt(request.get_data())])
        return Response("success", mimetype="text/plain")

    @http("GET", "/api/v1/notify/deliveries/<string:case_id>")
    def deliveries(self, request: Request, case_id: str) -> Response:
        """What was sent about a case, to whom (masked), and how it went."""
        self._check_token(request)
        with self.db.read() as session:
            rows = DeliveryRepository(session).of_case(case_id)
            if not rows:
                raise NotFound(f"nothing sent about {case_id}")
            return json_response([receipts.view_of(row) for row in rows])

    # --- the work behind the entrypoints ---

    @property
    def postman(self) -> Postman:
        return Postman(
            self.db.store, self.config.rules, self.gateways.by_channel, self.config.vault,
            self.gateways.lanes,
        )  # fmt: skip

    def _letters(
        self, event: Envelope[Any], case: FollowedCase | None, now: datetime
    ) -> list[Letter]:
        rules, directory = self.config.rules, self._directory()
        summary = getattr(event.data, "summary", None) or (case.summary if case else "")
        risk = getattr(event.data, "risk", None) or (case.risk if case else "blue")
        variables = domain.variables_of(event.type, event.case_id or "", event.data, summary or "")
        letters = []
        for rule in rules.rules_for(event.type, risk):
            for contact in directory.contacts(rule.to, event, case):
                for channel in rule.channels:
                    address = contact.address(channel)
                    if address is None:
                        continue
                    quiet = rule.to == "citizen" and risk != "red" and rules.quiet_hours.holds(now)
                    letters.append(Letter(
                        contact.key, address, domain.masked(address, channel), channel,
                        rule.template, rules.render(rule.template, variables, channel), variables,
                        self.config.vault.fingerprint(address) if channel == "sms" else None,
                        rules.quiet_hours.end_after(now) if quiet else None,
                    ))  # fmt: skip
        return letters

    def _directory(self) -> Directory:
        return Directory(
            self.config.departments, self.config.vault, self.config.centre_robot,
            lambda unit, role: self.staff.get(
                (unit, role), lambda: list(self.grid.contacts(unit, role))
            ),
            lambda case_id: self.intake.reporter_contact(case_id),
        )  # fmt: skip

    def _letters_of(self, events: list[Envelope[Any]], now: datetime) -> list[list[Letter]]:
        """Each event's letters. A dispatch says all its texts need; later events read what
        notify kept of the case (read once for the burst), or what a dispatch earlier in the
        same burst says of it."""
        with self.db.read() as session:
            kept = DeliveryRepository(session).cases(
                {e.case_id for e in events if e.case_id and e.type not in OWN_WORD}
            )
        letters = []
        for event in events:
            if event.type in OWN_WORD:
                letters.append(self._letters(event, None, now))
                if event.case_id is not None:
                    kept[event.case_id] = keep(kept.get(event.case_id) or unknown(event.case_id),
                                               event)  # fmt: skip
            else:
                letters.append(self._letters(event, kept.get(event.case_id or ""), now))
        return letters

    def _answer(self, phone: str, text: str) -> None:
        satisfaction = domain.revisit_answer(text)
        with self.db.unit_of_work() as uow:
            revisit = DeliveryRepository(uow.session).open_revisit(
                self.config.vault.fingerprint(phone)
            )
            if revisit is None or satisfaction is None:
                return  # not an answer to a question of ours: nothing to do
            revisit.answered_at, revisit.answer = datetime.now(UTC), satisfaction
            answered = RevisitAnswered(
                satisfaction=satisfaction,
                phone=domain.masked(phone, "sms"),
                reply=text[:70],
            )
            uow.emit(NOTIFY_REVISIT_ANSWERED.new(answered, case_id=revisit.case_id))
            uow.commit()

    def _check_token(self, request: Request) -> None:
        if request.args.get("token") != self.config.callback_token:
            raise Unauthorized("a valid token is required in the callback URL")


OWN_WORD = (CASE_DISPATCHED.type, CASE_AWAITING_DISPATCH.type)
"""Events that say all their texts need of the case, and what later texts will need of it."""


def follow(uow: UnitOfWork, events: Sequence[Envelope[Any]]) -> None:
    """Keep what later texts need of each case: its risk, summary and holder, as the events
    leave them in the order they came."""
    own = [e for e in events if e.case_id is not None and e.type in OWN_WORD]
    repo, new = DeliveryRepository(uow.session), dict[str, FollowedCase]()
    for event in own:  # as new cases, in memory: the usual first word of a case
        case_id = event.case_id or ""
        keep(new.get(case_id) or new.setdefault(case_id, unknown(case_id)), event)
    written = repo.follow_new(new.values())
    known = repo.cases(e.case_id for e in own if e.case_id not in written and e.case_id)
    for event in own:  # cases kept before: their rows move through the ORM
        if event.case_id in known:
            keep(known[event.case_id], event)


def keep(case: FollowedCase, event: Envelope[Any]) -> FollowedCase:
    """``case`` as a dispatch (or a wait for one) leaves it."""
    data = event.data
    case.risk = data.risk
    case.summary = data.summary or case.summary
    case.territory = dict(data.territory) or case.territory
    if event.type == CASE_DISPATCHED.type:
        case.assignee = data.assignee.model_dump()
    return case


def unknown(case_id: str) -> FollowedCase:
    """A case notify has kept nothing of yet: for a burst's texts, and as ``follow`` starts its
    row (its holder unset, SQL NULL, until a dispatch names one)."""
    return FollowedCase(case_id=case_id, risk="blue", summary="", territory={})


def ask_revisit(
    uow: UnitOfWork, event: Envelope[Any], letters: list[Letter], now: datetime
) -> None:
    """A concluded case's citizen was asked the revisit question: their reply is awaited."""
    if event.type != CASE_CONCLUDED.type or event.case_id is None:
        return
    for letter in letters:
        if letter.recipient_key == "citizen" and letter.fingerprint:
            DeliveryRepository(uow.session).ask(event.case_id, letter.fingerprint, now)
