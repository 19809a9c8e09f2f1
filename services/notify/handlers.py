"""What notify does, inside a unit of work: tell whoever notify.yml names of an event, once; try
again what is due; settle the providers' receipts; take a citizen's answer to the revisit
question (回访).

A burst of events is told the way one event is: its messages are worked out before the
transaction (that asks grid and intake who to reach), and recorded in one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from contracts.events import NOTIFY_REVISIT_ANSWERED, Envelope, LeaveRecorded, RevisitAnswered
from kernel.clock import Clock
from kernel.duty import Leave
from kit.green import concurrently
from kit.logs import about
from kit.pii import PhoneVault
from services.notify import domain
from services.notify.directory import Directory
from services.notify.gateways.base import GatewayError, Receipt
from services.notify.messages import (
    OWN_WORD,
    OutgoingMessage,
    cases_to_read,
    keep,
    messages_of,
    revisit_asked,
    unknown,
)
from services.notify.models import Delivery, FollowedCase
from services.notify.sending import (
    STUCK,
    SendAttempt,
    Sending,
    Trigger,
    attempt_of,
    call_provider,
    is_due,
    provider_bucket,
    recipient_bucket,
    record,
    record_failure,
    record_sent,
    start_attempt,
)
from services.notify.unit_of_work import DeliveryRecords, NotifyUnitOfWork

DUE_PER_ROUND = 200


def tell(
    uow: NotifyUnitOfWork,
    events: Sequence[Envelope[Any]],
    directory: Directory,
    sending: Sending,
    now: datetime,
) -> list[SendAttempt]:
    """Record what each event (seen for the first time) causes to be sent, follow the cases
    they speak of, and await the revisit answers they ask for: the tries to make once this has
    committed (``send_all``)."""
    with uow.read() as records:
        followed = records.cases(cases_to_read(events))
        standing = directory.at(now, tuple(records.leaves(now)))
    messages = messages_of(events, followed, sending.rules, standing, sending.vault, now)
    with uow:
        fresh = uow.first_times(event.event_id for event in events)
        firsts = [(event, theirs) for event, theirs in zip(events, messages, strict=True)
                  if fresh.take(event.event_id)]  # fmt: skip
        follow(uow.deliveries, [event for event, _ in firsts])
        triggers = [Trigger(e.event_id, e.type, e.case_id, theirs) for e, theirs in firsts]
        ready = record(uow.deliveries, triggers, sending, now)
        await_revisits(uow.deliveries, firsts, now)
        uow.commit()
    return ready


def follow(records: DeliveryRecords, events: Sequence[Envelope[Any]]) -> None:
    """Keep what later texts need of each case: its risk, summary and holder, as the events
    leave them in the order they came. A case new to notify is written with an insert that
    leaves it to whoever wrote it first; one written before (by then) is changed as it stands."""
    own = [e for e in events if e.case_id is not None and e.type in OWN_WORD]
    new: dict[str, FollowedCase] = {}
    for event in own:
        case_id = event.case_id or ""
        keep(new.get(case_id) or new.setdefault(case_id, unknown(case_id)), event)
    written = records.follow_new(new.values())
    known = records.cases(e.case_id for e in own if e.case_id and e.case_id not in written)
    for event in own:
        if event.case_id in known:
            keep(known[event.case_id], event)


def await_revisits(
    records: DeliveryRecords,
    told: Iterable[tuple[Envelope[Any], Sequence[OutgoingMessage]]],
    now: datetime,
) -> None:
    """A concluded case's citizen was asked the revisit question: their reply is awaited."""
    for event, messages in told:
        fingerprint = revisit_asked(event, messages)
        if fingerprint is not None and event.case_id is not None:
            records.ask(event.case_id, fingerprint, now)


def follow_leave(uow: NotifyUnitOfWork, event: Envelope[Any]) -> None:
    """请假 recorded or withdrawn in the console: notify's own table of who is away, kept once
    per event."""
    with uow:
        if not uow.first_times([event.event_id]).take(event.event_id):
            return
        data = event.data
        if isinstance(data, LeaveRecorded):
            uow.deliveries.record_leave(Leave(data.leave_id, data.person, data.starts, data.ends))
        else:
            uow.deliveries.cancel_leave(data.leave_id)
        uow.commit()


def send(uow: NotifyUnitOfWork, attempt: SendAttempt, sending: Sending, clock: Clock) -> None:
    """Make one try, then record how it went (at the time it came back)."""
    with about(case_id=attempt.case_id, event_id=attempt.trigger_event_id):
        outcome = call_provider(attempt, sending)
        if isinstance(outcome, GatewayError):
            record_failure(uow, attempt.delivery_id, outcome, sending.rules, clock.now())
        else:
            record_sent(uow, attempt.delivery_id, outcome, clock.now())


def send_all(
    new_uow: Callable[[], NotifyUnitOfWork],
    attempts: Sequence[SendAttempt],
    sending: Sending,
    clock: Clock,
) -> None:
    """The tries side by side, as many at once as one provider takes from this process."""
    width = sending.rules.max_in_flight
    concurrently(lambda attempt: send(new_uow(), attempt, sending, clock), attempts, width)


def attempt(
    uow: NotifyUnitOfWork, delivery_id: int, sending: Sending, now: datetime
) -> SendAttempt | str:
    """Start a try of a delivery that is due (nothing if another worker has it): the try to
    make, or the bucket that held it back, or "" if it was not due."""
    with uow:
        delivery = uow.deliveries.lock(delivery_id)
        if delivery is None or not is_due(delivery, now):
            return ""
        started = start_attempt(uow.deliveries, delivery, sending, now) or attempt_of(
            delivery, sending
        )
        uow.commit()
    return started


def try_due(uow: NotifyUnitOfWork, sending: Sending, clock: Clock) -> int:
    """Try what is due now (retries, the end of quiet hours, a rate limit's wait); once a
    bucket holds one delivery back, the others that need it wait for the next round instead
    of each asking it again. How many were tried."""
    now = clock.now()
    with uow.read() as records:
        due = records.due(now, now - STUCK, DUE_PER_ROUND)
    held: set[str] = set()
    tried = 0
    for delivery in due:
        if {provider_bucket(delivery.provider), recipient_bucket(delivery.recipient_key)} & held:
            continue
        started = attempt(uow, delivery.id, sending, now)
        if isinstance(started, SendAttempt):
            send(uow, started, sending, clock)
        elif started:
            held.add(started)
        tried += 1
    return tried


def settle_receipts(uow: NotifyUnitOfWork, provider: str, receipts: Sequence[Receipt]) -> int:
    """Delivery receipts onto their records; how many matched."""
    matched = 0
    with uow:
        for receipt in receipts:
            delivery = uow.deliveries.by_provider_id(provider, receipt.provider_message_id)
            if delivery is None:
                continue
            delivery.receipt_status = "delivered" if receipt.delivered else "undelivered"
            delivery.receipt_code, delivery.receipt_at = receipt.code, receipt.at
            delivery.status = delivery.receipt_status
            matched += 1
        uow.commit()
    return matched


def answer_revisit(
    uow: NotifyUnitOfWork, phone: str, text: str, vault: PhoneVault, now: datetime
) -> bool:
    """A citizen's SMS reply: an answer to the revisit question they were asked becomes
    ``notify.revisit_answered``. False when it is no answer, or nobody asked them."""
    satisfaction = domain.revisit_answer(text)
    with uow:
        revisit = uow.deliveries.open_revisit(vault.fingerprint(phone))
        if revisit is None or satisfaction is None:
            return False
        revisit.answered_at, revisit.answer = now, satisfaction
        answered = RevisitAnswered(
            satisfaction=satisfaction, phone=domain.masked(phone, "sms"), reply=text[:70]
        )
        with about(case_id=revisit.case_id):
            uow.emit(NOTIFY_REVISIT_ANSWERED.new(answered, case_id=revisit.case_id))
        uow.commit()
    return True


def deliveries_of(uow: NotifyUnitOfWork, case_id: str) -> list[dict[str, Any]]:
    """What was sent about a case, to whom (masked), and how it went, in the order recorded."""
    with uow.read() as records:
        return [delivery_view(row) for row in records.of_case(case_id)]


def delivery_view(row: Delivery) -> dict[str, Any]:
    return {
        "id": row.id, "channel": row.channel, "recipient": row.recipient_masked,
        "provider": row.provider, "template": row.template, "status": row.status,
        "attempts": row.attempts, "segments": row.segments, "text": row.text,
        "provider_message_id": row.provider_message_id, "error_code": row.error_code,
        "receipt": row.receipt_status, "trigger": row.trigger_type,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
    }  # fmt: skip
