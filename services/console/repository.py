"""Console's repository."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.console.models import User


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, username: str) -> User | None:
        return self.session.get(User, username)

    def put(self, user: User) -> None:
        self.session.merge(user)
