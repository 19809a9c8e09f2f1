"""Console's repository: users, login failures, the phone-view audit, the screen's counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, func, select
from sqlalchemy.orm import Session

from kit.db import dialect_insert, insert_all_if_absent, insert_if_absent
from services.console.models import (
    DailyCount,
    DeskCase,
    LoginFailures,
    Notice,
    PhoneView,
    ScreenCase,
    ScreenTally,
    StreamTicket,
    TickerItem,
    User,
)
from services.console.screen_counts import Counter, PlacedCase, Tick


@cache
def _add_to_count(dialect: str) -> Any:
    table = cast(Table, DailyCount.__table__)
    upsert = dialect_insert(dialect, table)
    return upsert.on_conflict_do_update(
        index_elements=[table.c.day, table.c.metric],
        set_={"count": table.c.count + upsert.excluded["count"]},
    )


@cache
def _add_to_tally(dialect: str) -> Any:
    table = cast(Table, ScreenTally.__table__)
    upsert = dialect_insert(dialect, table)
    return upsert.on_conflict_do_update(
        index_elements=[table.c.day, table.c.metric, table.c.key],
        set_={"count": table.c.count + upsert.excluded["count"]},
    )


@cache
def _keep_case(dialect: str) -> Any:
    table = cast(Table, ScreenCase.__table__)
    upsert = dialect_insert(dialect, table)
    kept = ("day", "risk", "lat", "lon", "street", "grid", "resolve_by")
    return upsert.on_conflict_do_update(
        index_elements=[table.c.case_id], set_={name: upsert.excluded[name] for name in kept}
    )


def _placed_case(row: ScreenCase) -> PlacedCase:
    return PlacedCase(row.case_id, row.day, row.risk, row.lat, row.lon, row.street, row.grid,
                      row.resolve_by)  # fmt: skip


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, username: str) -> User | None:
        return self.session.get(User, username)

    def put(self, user: User) -> None:
        self.session.merge(user)

    def all(self) -> list[User]:
        return list(self.session.scalars(select(User).order_by(User.username)))

    def remove(self, user: User) -> None:
        self.session.delete(user)

    # --- login throttling ---

    def failures(self, key: str) -> LoginFailures | None:
        return self.session.get(LoginFailures, key)

    def failed(self, key: str, now: float, window: float) -> None:
        row = self.session.get(LoginFailures, key)
        if row is None:
            self.session.add(LoginFailures(key=key, failures=1, window_start=now))
        elif now - row.window_start >= window:
            row.failures, row.window_start = 1, now
        else:
            row.failures += 1

    def forget_failures(self, *keys: str) -> None:
        for key in keys:
            row = self.session.get(LoginFailures, key)
            if row is not None:
                self.session.delete(row)

    # --- audit and counts ---

    def saw_phone(self, username: str, case_id: str, address: str, at: datetime) -> None:
        self.session.add(PhoneView(username=username, case_id=case_id, address=address, at=at))

    def phone_views(self, case_id: str) -> list[PhoneView]:
        query = select(PhoneView).where(PhoneView.case_id == case_id).order_by(PhoneView.id)
        return list(self.session.scalars(query))

    def count(self, tally: Mapping[tuple[str, str], int]) -> None:
        """Add each ``(day, metric)``'s number to its count, in one statement: an upsert, so
        two instances counting the same day add up instead of overwriting each other."""
        if not tally:
            return
        rows = [
            {"day": day, "metric": metric, "count": by}
            for (day, metric), by in sorted(tally.items())  # one lock order for every writer
        ]
        self.session.execute(_add_to_count(self.session.get_bind().dialect.name), rows)

    def counts(self, day: str) -> dict[str, int]:
        query = select(DailyCount).where(DailyCount.day == day)
        return {row.metric: row.count for row in self.session.scalars(query)}

    # --- the screen's counters ---

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def tally(self, counts: Mapping[Counter, int]) -> None:
        """Add to each ``(day, metric, key)``: an upsert, in one lock order for every writer."""
        rows = [{"day": day, "metric": metric, "key": key[:64], "count": by}
                for (day, metric, key), by in sorted(counts.items()) if by]  # fmt: skip
        if rows:
            self.session.execute(_add_to_tally(self._dialect()), rows)

    def tallied(
        self, since: str, until: str, metrics: Sequence[str]
    ) -> list[tuple[str, str, str, int]]:
        table = ScreenTally
        query = select(table.day, table.metric, table.key, table.count).where(
            table.day >= since, table.day <= until, table.metric.in_(list(metrics))
        )
        return [
            (day, metric, key, count) for day, metric, key, count in self.session.execute(query)
        ]

    def placed(self, case_ids: Iterable[str]) -> dict[str, PlacedCase]:
        wanted = sorted(set(case_ids))
        found: dict[str, PlacedCase] = {}
        for start in range(0, len(wanted), 500):
            query = select(ScreenCase).where(ScreenCase.case_id.in_(wanted[start : start + 500]))
            for row in self.session.scalars(query.execution_options(populate_existing=True)):
                found[row.case_id] = _placed_case(row)
        return found

    def keep(self, cases: Iterable[PlacedCase]) -> None:
        rows = [{"case_id": c.case_id, "day": c.day, "risk": c.risk, "lat": c.lat, "lon": c.lon,
                 "street": c.street, "grid": c.grid, "resolve_by": c.resolve_by}
                for c in sorted(cases, key=lambda c: c.case_id)]  # fmt: skip
        if rows:
            self.session.execute(_keep_case(self._dialect()), rows)

    def tick(self, ticks: Iterable[Tick]) -> None:
        rows = [{"event_id": t.event_id, "at": t.at, "kind": t.kind, "case_id": t.case_id,
                 "unit": t.unit[:200], "detail": t.detail[:64]} for t in ticks]  # fmt: skip
        if rows:
            insert_all_if_absent(self.session, cast(Table, TickerItem.__table__), rows, "event_id")

    def ticker(self, limit: int) -> list[Tick]:
        query = select(TickerItem).order_by(TickerItem.at.desc()).limit(limit)
        return [Tick(row.event_id, row.at, row.kind, row.case_id, row.unit, row.detail)
                for row in self.session.scalars(query)]  # fmt: skip

    def points(self, day: str, limit: int) -> list[PlacedCase]:
        query = select(ScreenCase).where(ScreenCase.day == day, ScreenCase.lat.is_not(None))
        query = query.limit(limit)
        return [_placed_case(row) for row in self.session.scalars(query)]


class StreamTicketRepository:
    """The live stream's tickets, by their hash."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, ticket: StreamTicket) -> None:
        self.session.add(ticket)

    def take(self, ticket_hash: str) -> StreamTicket | None:
        """The ticket, gone once taken: of two requests racing for it, the delete lets one
        have it (the other deletes nothing)."""
        ticket = self.session.get(StreamTicket, ticket_hash)
        if ticket is None:
            return None
        self.session.expunge(ticket)
        taken = cast(
            CursorResult[Any],
            self.session.execute(
                delete(StreamTicket).where(StreamTicket.ticket_hash == ticket_hash)
            ),
        )
        return ticket if taken.rowcount == 1 else None

    def drop_expired(self, now: datetime) -> None:
        self.session.execute(delete(StreamTicket).where(StreamTicket.expires_at <= now))

    def drop_of_user(self, username: str) -> None:
        self.session.execute(delete(StreamTicket).where(StreamTicket.username == username))


NOTICES_SHOWN = 50


class DeskRepository:
    """The cases registered at the desk, and the notices kept for their receivers."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def received(self, case_id: str, received_by: str, summary: str) -> None:
        insert_if_absent(
            self.session, DeskCase, case_id=case_id, received_by=received_by, summary=summary
        )

    def receiver(self, case_id: str) -> DeskCase | None:
        return self.session.get(DeskCase, case_id)

    def notify(self, username: str, case_id: str, event_id: str, at: datetime, text: str) -> None:
        insert_if_absent(
            self.session, Notice, username=username, case_id=case_id, event_id=event_id, at=at,
            text=text, read_at=None,
        )  # fmt: skip

    def notices(self, username: str) -> list[Notice]:
        """The user's newest notices, the unread first."""
        query = (
            select(Notice)
            .where(Notice.username == username)
            .order_by(Notice.read_at.is_not(None), Notice.at.desc(), Notice.id.desc())
            .limit(NOTICES_SHOWN)
        )
        return list(self.session.scalars(query))

    def unread(self, username: str) -> int:
        query = select(func.count()).where(Notice.username == username, Notice.read_at.is_(None))
        return int(self.session.scalar(query) or 0)

    def mark_read(self, username: str, notice_id: int, at: datetime) -> bool:
        """False when the user has no such notice."""
        notice = self.session.get(Notice, notice_id) if 0 <= notice_id < 2**31 else None
        if notice is None or notice.username != username:
            return False
        notice.read_at = notice.read_at or at
        return True
