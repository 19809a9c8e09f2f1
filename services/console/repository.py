"""Console's repository: users, login failures, the phone-view audit, the screen's counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kit.db import insert_if_absent
from services.console.models import DailyCount, LoginFailures, PhoneView, User


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

    def count(self, day: str, metric: str, by: int = 1) -> None:
        insert_if_absent(self.session, DailyCount, day=day, metric=metric, count=0)
        row = self.session.get_one(DailyCount, (day, metric))
        row.count += by

    def counts(self, day: str) -> dict[str, int]:
        query = select(DailyCount).where(DailyCount.day == day)
        return {row.metric: row.count for row in self.session.scalars(query)}
