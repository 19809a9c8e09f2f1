"""Notify's handlers over the in-memory unit of work and a fake provider: who is told of what,
once; quiet hours; rate limits; retries; receipts; the citizen's answer to the revisit question.
The clock is whatever each test says it is."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet

from contracts.events import (
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    NOTIFY_REVISIT_ANSWERED,
    SLA_WARNING,
    Assignee,
    CaseConcluded,
    CaseDispatched,
    Deadlines,
    Envelope,
    SlaWarning,
)
from kernel.clock import ManualClock
from kit.pii import PhoneVault
from services.notify import handlers
from services.notify.directory import Directory
from services.notify.domain import LOCAL_TIME, ContactDirectory
from services.notify.gateways.base import Gateway, GatewayError, Receipt
from services.notify.models import Delivery
from services.notify.rules import Bucket, ChannelName, NotifyRules
from services.notify.sending import ProviderConcurrency, Sending
from tests.support.fake_notify import FakeGateway, FakeNotifyUnitOfWork
from tests.unit.conftest import CONFIG_DIR

HBJ = Assignee(kind="department", code="D-HBJ", name="市生态环境局县分局")
HBJ_PHONE = "13800000007"
CITIZEN_PHONE = "13912340001"
# 10:00 in Shanghai: no quiet hours (22:00-08:00 in notify.yml).
MORNING = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
# 23:00 in Shanghai: quiet hours.
NIGHT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


class Notify:
    """Notify's handlers with everything they need in memory."""

    def __init__(self, now: datetime, **rule_changes: Any) -> None:
        rules = NotifyRules.from_file(CONFIG_DIR / "notify.yml")
        self.rules = dataclasses.replace(rules, **rule_changes)
        self.vault = PhoneVault((Fernet.generate_key().decode(),), "hash-key")
        self.sms, self.wecom = FakeGateway("aliyun", "sms"), FakeGateway("wecom", "wecom")
        gateways: dict[ChannelName, Gateway] = {
            "sms": self.sms,
            "wechat": FakeGateway("wechat", "wechat"),
            "wecom": self.wecom,
        }
        self.sending = Sending(self.rules, self.vault, gateways, ProviderConcurrency(2))
        departments = ContactDirectory({HBJ.code: (HBJ.name, HBJ_PHONE),
                                        "D-ZZB": ("综治中心", "13800000001")})  # fmt: skip
        self.directory = Directory(
            departments, self.vault, "centre-robot", lambda unit, role: [],
            lambda case_id: {"phone_sealed": self.vault.seal(CITIZEN_PHONE)},
        )  # fmt: skip
        self.uow = FakeNotifyUnitOfWork()
        self.clock = ManualClock(now)

    def tell(self, *events: Envelope[Any]) -> None:
        """The event entrypoint: record, then send what may go now."""
        ready = handlers.tell(self.uow, events, self.directory, self.sending, self.clock.now())
        handlers.send_all(lambda: self.uow, ready, self.sending, self.clock)

    def try_due(self) -> int:
        return handlers.try_due(self.uow, self.sending, self.clock)

    def deliveries(self) -> list[Delivery]:
        return sorted(self.uow.committed.deliveries.values(), key=lambda d: d.id)

    def texted(self, phone: str) -> list[str]:
        return [message.text for message in self.sms.sent if message.address == phone]


def dispatched(case_id: str = "CF-1", at: datetime = MORNING) -> Envelope[CaseDispatched]:
    deadlines = Deadlines(respond_by=at + timedelta(hours=2), feedback_by=at + timedelta(days=1),
                          resolve_by=at + timedelta(days=5))  # fmt: skip
    data = CaseDispatched(
        assignee=HBJ, level="district", deadlines=deadlines, dispatched_by="auto",
        summary="化工厂夜间排污",
    )  # fmt: skip
    return CASE_DISPATCHED.new(data, case_id=case_id, occurred_at=at)


def concluded(case_id: str = "CF-1", at: datetime = MORNING) -> Envelope[CaseConcluded]:
    data = CaseConcluded(result="已责令企业停产整改", by="D-HBJ")
    return CASE_CONCLUDED.new(data, case_id=case_id, occurred_at=at)


# --- once ----------------------------------------------------------------------------------------


def test_a_dispatch_texts_the_unit_once_and_says_so() -> None:
    notify = Notify(MORNING)

    notify.tell(dispatched())

    [delivery] = notify.deliveries()
    assert (delivery.recipient_key, delivery.channel, delivery.status) == (
        "department:D-HBJ", "sms", "sent"
    )  # fmt: skip
    assert (delivery.attempts, delivery.provider_message_id) == (1, "msg-1")
    assert delivery.recipient_masked == "138****0007" and HBJ_PHONE not in delivery.text
    [text] = notify.texted(HBJ_PHONE)
    assert "CF-1" in text and HBJ.name in text
    [sent] = notify.uow.emitted(NOTIFICATION_SENT.type)
    assert (sent.case_id, sent.data.recipient, sent.data.trigger_event_id) == (
        "CF-1", "138****0007", delivery.trigger_event_id
    )  # fmt: skip


def test_a_redelivered_event_changes_nothing() -> None:
    notify = Notify(MORNING)
    event = dispatched()
    notify.tell(event, event)  # twice in one burst
    before = [(d.id, d.status, d.attempts) for d in notify.deliveries()]
    events = list(notify.uow.events)

    notify.clock.advance(timedelta(minutes=1))
    notify.tell(event)  # and again later

    assert [(d.id, d.status, d.attempts) for d in notify.deliveries()] == before == [(1, "sent", 1)]
    assert notify.uow.events == events
    assert len(notify.texted(HBJ_PHONE)) == 1 and notify.sms.calls == 1


def test_a_late_copy_of_a_dispatch_does_not_take_the_case_back() -> None:
    """Sent back and dispatched again to another unit, then the first dispatch comes again:
    the case stays with the unit it is with now."""
    notify = Notify(MORNING)
    first, again = dispatched(), dispatched()
    gaj = Assignee(kind="department", code="D-GAJ", name="县公安局")
    again = again.model_copy(update={"data": again.data.model_copy(update={"assignee": gaj})})
    notify.tell(first)
    notify.tell(again)

    notify.tell(first)

    assert notify.uow.committed.followed["CF-1"].assignee == gaj.model_dump()


def test_a_warning_in_the_same_burst_as_its_dispatch_reaches_the_holder() -> None:
    """The warning names nobody: notify finds the holder in what the dispatch before it says."""
    notify = Notify(MORNING)
    warning = SLA_WARNING.new(
        SlaWarning(clock="respond", due_at=MORNING + timedelta(hours=1)), case_id="CF-1"
    )

    notify.tell(dispatched(), warning)

    assert sorted(d.template for d in notify.deliveries()) == ["case_dispatched", "sla_warning"]
    assert len(notify.texted(HBJ_PHONE)) == 2
    assert notify.uow.committed.followed["CF-1"].assignee == HBJ.model_dump()


# --- quiet hours and rate limits -----------------------------------------------------------------


def test_quiet_hours_hold_a_citizen_s_message_until_they_end() -> None:
    notify = Notify(NIGHT)

    notify.tell(concluded(at=NIGHT))

    [held] = notify.deliveries()
    assert (held.recipient_key, held.template, held.status) == (
        "citizen", "revisit_question", "queued"
    )  # fmt: skip
    morning = datetime(2026, 12, 8, 8, 0, tzinfo=LOCAL_TIME)
    assert held.next_attempt_at == morning and held.attempts == 0
    notify.clock.set(morning - timedelta(minutes=1))
    assert notify.try_due() == 0
    assert notify.texted(CITIZEN_PHONE) == []

    notify.clock.set(morning)
    assert notify.try_due() == 1

    [question] = notify.texted(CITIZEN_PHONE)
    assert "CF-1" in question
    assert [(d.status, d.attempts) for d in notify.deliveries()] == [("sent", 1)]


def test_a_recipient_s_limit_queues_the_next_text_until_a_token_is_back() -> None:
    notify = Notify(MORNING, recipient_limit=Bucket(rate=0.5, burst=1))

    notify.tell(dispatched("CF-1"), dispatched("CF-2"))

    # in the order they came (ids go by event id, which is random)
    first, second = sorted(notify.deliveries(), key=lambda d: d.case_id or "")
    assert (first.case_id, first.status, second.status) == ("CF-1", "sent", "queued")
    assert second.next_attempt_at == MORNING + timedelta(seconds=2)
    notify.clock.advance(timedelta(seconds=1))
    assert notify.try_due() == 0 and len(notify.texted(HBJ_PHONE)) == 1

    notify.clock.advance(timedelta(seconds=1))
    assert notify.try_due() == 1

    assert [d.status for d in notify.deliveries()] == ["sent", "sent"]
    assert len(notify.texted(HBJ_PHONE)) == 2


# --- retries -------------------------------------------------------------------------------------


def test_a_failed_send_is_tried_again_later() -> None:
    notify = Notify(MORNING)
    notify.sms.errors.append(GatewayError("流控", transient=True, code="isv.BUSINESS_LIMIT"))

    notify.tell(dispatched())

    [retrying] = notify.deliveries()
    assert (retrying.status, retrying.attempts, retrying.error_code) == (
        "retrying", 1, "isv.BUSINESS_LIMIT"
    )  # fmt: skip
    # notify.yml: base PT2S ± 30 %
    assert retrying.next_attempt_at is not None
    wait = retrying.next_attempt_at - MORNING
    assert timedelta(seconds=1.4) <= wait <= timedelta(seconds=2.6)
    notify.clock.advance(timedelta(seconds=1))
    assert notify.try_due() == 0 and notify.sms.calls == 1

    notify.clock.set(retrying.next_attempt_at)
    assert notify.try_due() == 1

    [delivery] = notify.deliveries()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert len(notify.texted(HBJ_PHONE)) == 1
    assert notify.uow.emitted(NOTIFICATION_FAILED.type) == []


def test_a_permanent_error_fails_at_once_and_says_so() -> None:
    notify = Notify(MORNING)
    notify.sms.errors.append(GatewayError("非法手机号", transient=False, code="isv.MOBILE"))

    notify.tell(dispatched())

    [delivery] = notify.deliveries()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    [failed] = notify.uow.emitted(NOTIFICATION_FAILED.type)
    assert (failed.data.attempts, failed.data.error) == (1, "isv.MOBILE: 非法手机号")
    notify.clock.advance(timedelta(hours=1))
    assert notify.try_due() == 0 and notify.sms.calls == 1


def test_the_last_transient_error_gives_up() -> None:
    notify = Notify(MORNING)
    notify.sms.errors += [GatewayError("超时", transient=True, code="timeout")] * 5

    notify.tell(dispatched())
    for _ in range(4):
        notify.clock.advance(timedelta(minutes=10))
        notify.try_due()

    [delivery] = notify.deliveries()
    assert (delivery.status, delivery.attempts) == ("failed", notify.rules.retry.attempts)
    assert [e.data.attempts for e in notify.uow.emitted(NOTIFICATION_FAILED.type)] == [5]


# --- receipts and revisits -----------------------------------------------------------------------


def test_a_receipt_settles_its_delivery() -> None:
    notify = Notify(MORNING)
    notify.tell(dispatched())

    receipts = [Receipt("msg-1", True, MORNING, "DELIVERED"), Receipt("msg-9", True, None)]
    assert handlers.settle_receipts(notify.uow, "aliyun", receipts) == 1

    [delivery] = notify.deliveries()
    assert (delivery.status, delivery.receipt_status, delivery.receipt_code) == (
        "delivered", "delivered", "DELIVERED"
    )  # fmt: skip
    assert handlers.settle_receipts(notify.uow, "tencent", receipts[:1]) == 0


def test_the_citizen_s_answer_to_the_revisit_question_is_told_once() -> None:
    notify = Notify(MORNING)
    notify.tell(concluded())
    assert notify.texted(CITIZEN_PHONE)

    def answer(phone: str, text: str) -> bool:
        return handlers.answer_revisit(notify.uow, phone, text, notify.vault, notify.clock.now())

    assert not answer(CITIZEN_PHONE, "你好,请问什么时候处理")  # no answer
    assert not answer("13912349999", "1")  # nobody asked them
    assert notify.uow.emitted(NOTIFY_REVISIT_ANSWERED.type) == []

    assert answer(CITIZEN_PHONE, "3 还是有味道")

    [answered] = notify.uow.emitted(NOTIFY_REVISIT_ANSWERED.type)
    assert answered.case_id == "CF-1"
    assert (answered.data.satisfaction, answered.data.phone) == ("unsatisfied", "139****0001")
    assert not answer(CITIZEN_PHONE, "1")  # answered once: no question is open any more
    assert len(notify.uow.emitted(NOTIFY_REVISIT_ANSWERED.type)) == 1


def test_what_is_not_committed_is_not_kept() -> None:
    notify = Notify(MORNING)
    notify.tell(dispatched())
    with pytest.raises(RuntimeError), notify.uow:
        notify.uow.deliveries.get(1).status = "failed"
        raise RuntimeError("the transaction breaks off")
    assert [d.status for d in notify.deliveries()] == ["sent"]
