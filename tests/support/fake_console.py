"""Console's unit of work and the other services in memory, so the handlers are tested with
no broker and no database.

The unit of work keeps the promises of ``SqlConsoleUnitOfWork`` the handlers rely on: writes
count only once committed, leaving without a commit puts everything back, and an event id is
new to ``first_times`` once only (and only if the unit of work that saw it commits).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from kit.db import FirstTimes
from services.console.models import DeskCase, LoginFailures, Notice, StreamTicket, User
from services.console.screen_counts import PlacedCase, Tick


@dataclass
class FakeConsoleRepository:
    """Everything the console stores, in dicts and lists."""

    users: dict[str, User] = field(default_factory=dict)
    failures_by_key: dict[str, LoginFailures] = field(default_factory=dict)
    phone_views: list[tuple[str, str, str, datetime]] = field(default_factory=list)
    """(username, case_id, address, at)"""
    daily_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    """By (day, metric)."""
    processed: set[str] = field(default_factory=set)
    """The event ids the screen's counter handled."""
    stream_tickets: dict[str, StreamTicket] = field(default_factory=dict)
    """By the ticket's hash."""
    desk_cases: dict[str, DeskCase] = field(default_factory=dict)
    notice_rows: list[Notice] = field(default_factory=list)
    tallies: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """The screen's counters, by (day, metric, key)."""
    cases: dict[str, PlacedCase] = field(default_factory=dict)
    ticks: dict[str, Tick] = field(default_factory=dict)

    def copy(self) -> FakeConsoleRepository:
        return copy.deepcopy(self)

    # Users
    def get(self, username: str) -> User | None:
        return self.users.get(username)

    def put(self, user: User) -> None:
        self.users[user.username] = user

    def all(self) -> list[User]:
        return [self.users[name] for name in sorted(self.users)]

    def remove(self, user: User) -> None:
        del self.users[user.username]

    # FailedLogins
    def failures(self, key: str) -> LoginFailures | None:
        return self.failures_by_key.get(key)

    def failed(self, key: str, now: float, window: float) -> None:
        row = self.failures_by_key.get(key)
        if row is None or now - row.window_start >= window:
            self.failures_by_key[key] = LoginFailures(key=key, failures=1, window_start=now)
        else:
            row.failures += 1

    def forget_failures(self, *keys: str) -> None:
        for key in keys:
            self.failures_by_key.pop(key, None)

    # PhoneViews
    def saw_phone(self, username: str, case_id: str, address: str, at: datetime) -> None:
        self.phone_views.append((username, case_id, address, at))

    # StreamTickets
    def add(self, ticket: StreamTicket) -> None:
        self.stream_tickets[ticket.ticket_hash] = ticket

    def take(self, ticket_hash: str) -> StreamTicket | None:
        return self.stream_tickets.pop(ticket_hash, None)

    def drop_expired(self, now: datetime) -> None:
        for key in [k for k, t in self.stream_tickets.items() if t.expires_at <= now]:
            del self.stream_tickets[key]

    def drop_of_user(self, username: str) -> None:
        for key in [k for k, t in self.stream_tickets.items() if t.username == username]:
            del self.stream_tickets[key]

    # ScreenCounts
    def count(self, tally: Mapping[tuple[str, str], int]) -> None:
        self.daily_counts.update(tally)

    def counts(self, day: str) -> dict[str, int]:
        return {metric: n for (d, metric), n in self.daily_counts.items() if d == day}

    # DeskBook
    def received(self, case_id: str, received_by: str, summary: str) -> None:
        self.desk_cases.setdefault(
            case_id, DeskCase(case_id=case_id, received_by=received_by, summary=summary)
        )

    def receiver(self, case_id: str) -> DeskCase | None:
        return self.desk_cases.get(case_id)

    def notify(self, username: str, case_id: str, event_id: str, at: datetime, text: str) -> None:
        if any((n.event_id, n.username) == (event_id, username) for n in self.notice_rows):
            return
        self.notice_rows.append(
            Notice(id=len(self.notice_rows) + 1, username=username, case_id=case_id,
                   event_id=event_id, at=at, text=text, read_at=None)
        )  # fmt: skip

    def notices(self, username: str) -> list[Notice]:
        mine = [n for n in self.notice_rows if n.username == username]
        mine.sort(key=lambda n: -n.id)
        return sorted(mine, key=lambda n: n.read_at is not None)

    def unread(self, username: str) -> int:
        return sum(1 for n in self.notice_rows if n.username == username and n.read_at is None)

    def mark_read(self, username: str, notice_id: int, at: datetime) -> bool:
        for notice in self.notice_rows:
            if notice.id == notice_id and notice.username == username:
                notice.read_at = notice.read_at or at
                return True
        return False

    def tally(self, counts: Mapping[tuple[str, str, str], int]) -> None:
        self.tallies.update(counts)

    def tallied(
        self, since: str, until: str, metrics: Sequence[str]
    ) -> list[tuple[str, str, str, int]]:
        return [(day, metric, key, n) for (day, metric, key), n in self.tallies.items()
                if since <= day <= until and metric in metrics]  # fmt: skip

    def placed(self, case_ids: Iterable[str]) -> dict[str, PlacedCase]:
        return {i: self.cases[i] for i in case_ids if i in self.cases}

    def keep(self, cases: Iterable[PlacedCase]) -> None:
        self.cases.update((case.case_id, case) for case in cases)

    def tick(self, ticks: Iterable[Tick]) -> None:
        for tick in ticks:
            self.ticks.setdefault(tick.event_id, tick)

    def ticker(self, limit: int) -> list[Tick]:
        return sorted(self.ticks.values(), key=lambda t: t.at, reverse=True)[:limit]

    def points(self, day: str, limit: int) -> list[PlacedCase]:
        return [c for c in self.cases.values() if c.day == day and c.lat is not None][:limit]


class FakeConsoleUnitOfWork:
    """``users``, ``failed_logins``, ``phone_views`` and ``screen`` are what the handlers see
    inside the unit of work (one repository); ``committed`` holds what is stored."""

    def __init__(self, users: Iterable[User] = ()) -> None:
        self.committed = FakeConsoleRepository(users={user.username: user for user in users})
        self.working = self.committed.copy()
        self.commits = 0

    @property
    def users(self) -> FakeConsoleRepository:
        return self.working

    @property
    def failed_logins(self) -> FakeConsoleRepository:
        return self.working

    @property
    def phone_views(self) -> FakeConsoleRepository:
        return self.working

    @property
    def screen(self) -> FakeConsoleRepository:
        return self.working

    @property
    def tickets(self) -> FakeConsoleRepository:
        return self.working

    @property
    def desk(self) -> FakeConsoleRepository:
        return self.working

    def __enter__(self) -> Self:
        self.working = self.committed.copy()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # What was not committed is gone, as a rolled-back transaction's rows are.
        self.working = self.committed.copy()

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        new = set(event_ids) - self.working.processed
        self.working.processed |= new
        return FirstTimes(new)

    def commit(self) -> None:
        self.committed = self.working.copy()
        self.commits += 1


class FakeDispatch:
    """Dispatch holding ``cases`` by id; ``acted`` records each action it carried out."""

    def __init__(self, *cases: dict[str, Any]) -> None:
        self.cases = {case["case_id"]: case for case in cases}
        self.acted: list[tuple[str, dict[str, Any], dict[str, Any], str | None]] = []
        self.listed: list[list[str] | None] = []
        self.asked: list[tuple[dict[str, Any], str | None]] = []
        self.filtered: list[dict[str, Any]] = []
        self.open: list[dict[str, Any]] = []
        """What ``open_cases`` answers (as dispatch would, already in scope)."""
        self.asked_open: list[tuple[list[str] | None, str | None, bool, int]] = []

    def get_case(self, case_id: str) -> dict[str, Any] | None:
        case = self.cases.get(case_id)
        return copy.deepcopy(case) if case is not None else None

    def list_cases(
        self,
        scope: list[str] | None,
        filters: dict[str, Any],
        page: int,
        page_size: int,
        after: str | None = None,
    ) -> dict[str, Any]:
        """Every case (only ``case_ids`` when given), a page of them by number or after a
        cursor (here: the position to go on from); the scope, filters and cursor asked for
        are recorded (dispatch applies the scope)."""
        self.listed.append(scope)
        self.asked.append((filters, after))
        self.filtered.append(dict(filters))
        wanted = filters.get("case_ids")
        every = [c for c in self.cases.values() if wanted is None or c["case_id"] in wanted]
        start = int(after) if after and after.isdigit() else (page - 1) * page_size
        end = start + page_size
        items = [copy.deepcopy(case) for case in every[start:end]]
        return {"items": items, "page": page, "page_size": page_size, "total": len(every),
                "next": str(end) if end < len(every) else None}  # fmt: skip

    def export_cases(
        self,
        scope: list[str] | None,
        filters: dict[str, Any],
        after: str | None = None,
        page_size: int = 1000,
    ) -> dict[str, Any]:
        """As ``list_cases`` (recorded the same way), without the count."""
        page = self.list_cases(scope, filters, 1, page_size, after)
        return {"items": page["items"], "next": page["next"]}

    def act(
        self, case_id: str, action: dict[str, Any], actor: dict[str, Any], key: str | None
    ) -> dict[str, Any]:
        self.acted.append((case_id, action, actor, key))
        return {**self.cases[case_id], "status": "acted"}

    def open_cases(
        self,
        scope: list[str] | None,
        unit: str | None = None,
        located: bool = False,
        limit: int = 5000,
    ) -> dict[str, Any]:
        """``open``, those with a place when ``located``; the question kept in ``asked_open``."""
        self.asked_open.append((scope, unit, located, limit))
        items = [c for c in self.open if not located or c.get("lat") is not None]
        return {"items": copy.deepcopy(items[:limit]), "capped": len(items) > limit}

    def dispatch_many(
        self, case_ids: list[str], actor: dict[str, Any], key: str | None
    ) -> list[dict[str, Any]]:
        answers = []
        for case_id in case_ids:
            self.acted.append((case_id, {"action": "dispatch"}, actor, key))
            answers.append({"case_id": case_id, "ok": True, "status": "dispatched"})
        return answers


class FakeIntake:
    """Intake holding each case's sealed number, and the cases of each number's blind index."""

    def __init__(
        self, sealed: Mapping[str, str], by_index: Mapping[str, list[str]] | None = None
    ) -> None:
        self.sealed = dict(sealed)
        self.by_index = dict(by_index or {})
        self.asked: list[str] = []
        self.registered: list[tuple[dict[str, Any], str, str | None]] = []
        """Each desk registration handed over: (registration, received_by, key)."""

    def case_ids_by_phone(self, blind_index: str) -> list[str]:
        self.asked.append(blind_index)
        return list(self.by_index.get(blind_index, []))

    def reporter_contact(self, case_id: str) -> dict[str, Any] | None:
        phone = self.sealed.get(case_id)
        return {"phone_sealed": phone} if phone is not None else None

    def register_at_desk(
        self, registration: dict[str, Any], received_by: str, key: str | None
    ) -> dict[str, Any]:
        """A new case each time, but the same one for the same user's same key."""
        earlier = [
            i
            for i, (_, by, k) in enumerate(self.registered)
            if key and (by, k) == (received_by, key)
        ]
        self.registered.append((registration, received_by, key))
        number = earlier[0] + 1 if earlier else len(self.registered)
        return {"case_id": f"CF-D{number}", "duplicate": bool(earlier),
                "received_at": "2026-11-23T02:00:00+00:00"}  # fmt: skip


class FakeSupervision:
    """Supervision recording the orders and subscriptions asked of it."""

    def __init__(self) -> None:
        self.orders: list[tuple[str, Any, str]] = []
        self.subscribed: list[dict[str, Any]] = []
        self.boards: list[list[str] | None] = []
        self.board_cursors: list[str | None] = []
        self.waiting: list[dict[str, Any]] = []
        """The 待回访 list, nearest limit first."""

    def issue_order(self, case_id: str, order: Any, issued_by: str) -> dict[str, Any]:
        self.orders.append((case_id, order, issued_by))
        return {"case_id": case_id, "issued_by": issued_by}

    def reply_to_order(self, order_id: str, reply: Any, user: str) -> dict[str, Any]:
        return {"order_id": order_id, "replied_by": user}

    def board(self, scope: list[str] | None, after: str | None = None) -> dict[str, Any]:
        self.boards.append(scope)
        self.board_cursors.append(after)
        return {"units": [], "totals": {}}

    def assessment(self, period: str, kind: str | None) -> dict[str, Any]:
        return {"period": period, "kind": kind, "units": []}

    def subscriptions(self, subscriber: str) -> list[dict[str, Any]]:
        return [s for s in self.subscribed if s["subscriber"] == subscriber]

    def subscribe(self, wanted: dict[str, Any]) -> dict[str, Any]:
        self.subscribed.append(wanted)
        return {"id": len(self.subscribed), **wanted}

    def unsubscribe(self, subscription_id: int, subscriber: str) -> None:
        del self.subscribed[subscription_id - 1]

    def revisits(self, page: int, page_size: int) -> dict[str, Any]:
        items = self.waiting
        start = (page - 1) * page_size
        return {"items": items[start : start + page_size], "total": len(items), "page": page,
                "page_size": page_size}  # fmt: skip


class FakeGrid:
    """Grid with no territory to speak of: one outline per level asked; ``units_by_code``
    and ``people`` answer ``chain`` and ``staff``."""

    def __init__(self) -> None:
        self.units_by_code: dict[str, dict[str, Any]] = {}
        self.people: dict[str, list[dict[str, Any]]] = {}

    def outlines(self) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": []}

    def chain(self, code: str) -> list[dict[str, Any]]:
        chain = []
        while code in self.units_by_code:
            chain.append(self.units_by_code[code])
            code = self.units_by_code[code]["parent"]
        return chain

    def staff(self, code: str, role: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.people.get(code, []) if role is None or p["role"] == role]

    def units(self, level: str | None, parent: str | None, limit: int) -> list[dict[str, Any]]:
        return []

    def shapes(self, level: str) -> list[dict[str, Any]]:
        return [{"code": f"{level}-1", "level": level, "polygons": []}]
