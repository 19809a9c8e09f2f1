"""Notify's repository: deliveries, rate buckets, revisits, the cases notify follows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from kernel.duty import Leave
from kit.db import insert_all_if_absent, insert_if_absent, inserted_if_absent, made_and_locked
from services.notify.domain import take_tokens
from services.notify.models import Delivery, FollowedCase, RateBucket, Revisit, StaffLeave
from services.notify.rules import Bucket


class Due(NamedTuple):
    """A delivery whose next try is due, with the buckets it will need."""

    id: int
    provider: str
    recipient_key: str


class Sent(NamedTuple):
    """What ``notification.sent`` says of a delivery marked sent."""

    channel: str
    recipient_masked: str
    provider: str
    trigger_event_id: str
    case_id: str | None


_deliveries = cast(Table, Delivery.__table__)
_MARK_SENT = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("delivery"))
    .values(
        status="sent", provider_message_id=bindparam("message"), sent_at=bindparam("at"),
        updated_at=bindparam("at"), next_attempt_at=None, last_error=None,
    )
    .returning(*(_deliveries.c[name] for name in Sent._fields))
)  # fmt: skip


ONCE = ("trigger_event_id", "recipient_key", "channel")
"""What a delivery is unique by: (event, recipient, channel)."""


_DELIVERY_COLUMNS = tuple(column.key for column in _deliveries.columns if column.key != "id")


def _once(delivery: dict[str, Any] | Delivery) -> tuple[str, ...]:
    if isinstance(delivery, Delivery):
        return tuple(getattr(delivery, column) for column in ONCE)
    return tuple(delivery[column] for column in ONCE)


class DeliveryRecordedElsewhere(Exception):
    """A delivery this burst made was recorded by another worker first: the burst is tried
    again, and then finds it recorded."""


class DeliveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._new: list[Delivery] = []

    def claim(self, deliveries: Sequence[dict[str, Any]]) -> list[Delivery]:
        """The delivery records for these (event, recipient, channel), in the order given:
        those recorded before as read from the database, the others made new in memory (one
        record for the same three twice) and written by ``write_new`` once the burst has
        settled their first try, so a new delivery goes in once, as it stands."""
        if not deliveries:
            return []
        query = select(Delivery).where(
            Delivery.trigger_event_id.in_({row["trigger_event_id"] for row in deliveries})
        )
        found = {_once(row): row for row in self.session.scalars(query)}
        for row in deliveries:
            if _once(row) not in found:
                found[_once(row)] = delivery = Delivery(**row)
                self._new.append(delivery)
        return [found[_once(row)] for row in deliveries]

    def write_new(self) -> None:
        """Write the deliveries ``claim`` made: one INSERT, in (event, recipient, channel)
        order so that racing instances wait for each other in one order. Another instance
        that recorded one of them meanwhile wins: this transaction must not send it too."""
        new, self._new = sorted(self._new, key=_once), []
        rows = [{column: getattr(d, column) for column in _DELIVERY_COLUMNS} for d in new]
        went_in = {
            tuple(once): delivery_id
            for delivery_id, *once in inserted_if_absent(
                self.session, _deliveries, rows, ("id", *ONCE)
            )
        }
        raced = [_once(d) for d in new if _once(d) not in went_in]
        if raced:
            raise DeliveryRecordedElsewhere(f"recorded meanwhile by another worker: {raced}")
        for delivery in new:
            delivery.id = went_in[_once(delivery)]

    def mark_sent(self, delivery_id: int, message_id: str, at: datetime) -> Sent:
        """The provider took it: one UPDATE … RETURNING, not a read and a write."""
        row = self.session.execute(
            _MARK_SENT, {"delivery": delivery_id, "message": message_id, "at": at}
        ).one()
        return Sent(*row)

    def get(self, delivery_id: int) -> Delivery:
        return self.session.get_one(Delivery, delivery_id)

    def lock(self, delivery_id: int) -> Delivery | None:
        """The delivery, locked for this transaction: two workers never try it at once."""
        query = (
            select(Delivery)
            .where(Delivery.id == delivery_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(query).one_or_none()

    def due(self, now: datetime, stuck_before: datetime, limit: int) -> list[Due]:
        waiting = Delivery.status.in_(("pending", "retrying", "queued"))
        query = (
            select(Delivery.id, Delivery.provider, Delivery.recipient_key)
            .where(
                or_(
                    waiting & (Delivery.next_attempt_at <= now),
                    (Delivery.status == "sending") & (Delivery.updated_at <= stuck_before),
                )
            )
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        )
        return [Due(*row) for row in self.session.execute(query)]

    def by_provider_id(self, provider: str, message_id: str) -> Delivery | None:
        query = select(Delivery).where(
            Delivery.provider == provider, Delivery.provider_message_id == message_id
        )
        return self.session.scalars(query).first()

    def of_case(self, case_id: str) -> list[Delivery]:
        query = select(Delivery).where(Delivery.case_id == case_id).order_by(Delivery.id)
        return list(self.session.scalars(query))

    def take_tokens(self, buckets: Sequence[tuple[str, Bucket]], now: float) -> tuple[float, str]:
        """One token from each bucket (each full when new), or none at all: the seconds to
        wait and the bucket that holds it back (0 and "" when the tokens were taken).

        All or nothing, so a provider's account is not spent on a message its recipient's
        limit holds back. Rows are locked in the order given: always provider, then recipient.
        """
        return take_tokens(
            [self._bucket(key, bucket, now) for key, bucket in buckets], buckets, now
        )

    def hold_buckets(self, buckets: Mapping[str, Bucket], now: float) -> None:
        """Lock these buckets' rows until the transaction ends (made full where new): one
        INSERT and one SELECT for a burst, whose deliveries then take their tokens without
        asking the database again. In key order, so every provider's bucket is locked before
        any recipient's, as ``take_tokens`` locks them."""
        held: dict[str, RateBucket] = self.session.info.setdefault("rate_buckets", {})
        fresh = [
            {"key": key, "tokens": bucket.burst, "updated": now}
            for key, bucket in buckets.items()
            if key not in held
        ]
        rows, _ = made_and_locked(self.session, RateBucket, fresh, "key")
        held.update((row.key, row) for row in rows)

    def _bucket(self, key: str, bucket: Bucket, now: float) -> RateBucket:
        """The bucket's row, locked until the transaction ends; asked of the database once a
        transaction (a burst takes many tokens from the same few buckets)."""
        held: dict[str, RateBucket] = self.session.info.setdefault("rate_buckets", {})
        if key not in held:
            self.hold_buckets({key: bucket}, now)
        return held[key]

    # --- revisits and cases ---

    def ask(self, case_id: str, fingerprint: str, at: datetime) -> None:
        insert_if_absent(
            self.session, Revisit, case_id=case_id, fingerprint=fingerprint, asked_at=at
        )

    def open_revisit(self, fingerprint: str) -> Revisit | None:
        """The latest question to this number still waiting for its answer."""
        query = (
            select(Revisit)
            .where(Revisit.fingerprint == fingerprint, Revisit.answered_at.is_(None))
            .order_by(Revisit.asked_at.desc())
            .limit(1)
            .with_for_update()
        )
        return self.session.scalars(query).first()

    def follow_new(self, cases: Iterable[FollowedCase]) -> set[str]:
        """Write these cases, made in memory, unless notify keeps them already (in case
        order): the ids of those written. A holder never set stays SQL NULL."""
        rows = [
            {"case_id": case.case_id, "risk": case.risk, "summary": case.summary,
             "territory": case.territory}
            | ({"assignee": case.assignee} if case.assignee is not None else {})
            for case in sorted(cases, key=lambda case: case.case_id)
        ]  # fmt: skip
        return insert_all_if_absent(self.session, FollowedCase, rows, "case_id")

    def cases(self, case_ids: Iterable[str]) -> dict[str, FollowedCase]:
        wanted = list(set(case_ids))
        query = select(FollowedCase).where(FollowedCase.case_id.in_(wanted))
        return {case.case_id: case for case in self.session.scalars(query)} if wanted else {}

    def record_leave(self, leave: Leave) -> None:
        """A leave the console recorded; the same one again (a redelivery) changes nothing."""
        insert_if_absent(
            self.session, StaffLeave, leave_id=leave.leave_id, person=leave.person,
            starts=leave.starts, ends=leave.ends,
        )  # fmt: skip

    def cancel_leave(self, leave_id: str) -> None:
        self.session.execute(delete(StaffLeave).where(StaffLeave.leave_id == leave_id))

    def leaves(self, now: datetime) -> list[Leave]:
        """The leaves not over by ``now``."""
        query = select(StaffLeave).where(StaffLeave.ends > now).order_by(StaffLeave.starts)
        return [
            Leave(row.leave_id, row.person, row.starts, row.ends)
            for row in self.session.scalars(query)
        ]
