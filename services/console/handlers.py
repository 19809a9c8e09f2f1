"""What the console does for its staff: sign-in and its tokens, the audited reveal of a
citizen's number. Plain functions over a unit of work, given the time.

The rest lives by topic: ``cases.py`` (cases, orders and boards, in each user's reach, carried
out by the other services), ``screen.py`` (the big screen's counts), ``admin.py`` (users).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kit.pii import PhoneVault
from services.console import domain
from services.console.cases import case_in_reach
from services.console.models import User
from services.console.ports import Dispatch, Intake
from services.console.refusals import BadField, NotFound, TooManyLogins
from services.console.unit_of_work import ConsoleReads, ConsoleUnitOfWork, FailedLogins


@dataclass(frozen=True)
class Login:
    """A sign-in attempt, and the address it comes from (behind trusted proxies)."""

    username: str
    password: str
    address: str | None

    @classmethod
    def of(cls, credentials: dict[str, Any], address: str | None) -> Login:
        """The attempt a login request's body makes."""
        username, password = credentials.get("username"), credentials.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise BadField("username", "username and password are required")
        return cls(username, password, address)


@dataclass(frozen=True)
class SignIn:
    """How tokens are signed, and whether demo users (``dev_only``) may sign in."""

    token_secret: str
    dev_users_allowed: bool


def login(uow: ConsoleUnitOfWork, command: Login, sign_in: SignIn, now: datetime) -> dict[str, Any]:
    """A bearer token; five wrong tries in fifteen minutes lock the user, twenty the address.
    A wrong name and a wrong password get the same answer."""
    at = now.timestamp()
    keys = (f"user:{command.username}", f"addr:{command.address}")
    with uow:
        wait = max(
            locked_for(uow.failed_logins, keys[0], domain.MAX_FAILURES, at),
            locked_for(uow.failed_logins, keys[1], domain.MAX_ADDRESS_FAILURES, at),
        )
        if wait:
            raise TooManyLogins(wait)
        user = uow.users.get(command.username)
        if user is None or not allowed(user, command.password, sign_in):
            for key in keys:
                uow.failed_logins.failed(key, at, domain.FAILURE_WINDOW_SECONDS)
            uow.commit()
            raise domain.AuthError("wrong username or password")
        if domain.needs_rehash(user.password_hash):
            user.password_hash = domain.hash_password(command.password)
            uow.users.put(user)
        uow.failed_logins.forget_failures(keys[0])
        uow.commit()
    token = domain.issue_token(
        sign_in.token_secret, command.username, user.role, at, user.unit,
        user.token_version or 0, secrets.token_hex(8),
    )  # fmt: skip
    return {"token": token, "token_type": "bearer", **domain.user_view(user)}


def allowed(user: User, password: str, sign_in: SignIn) -> bool:
    """Whether the password is the user's, and the user may sign in here."""
    if user.dev_only and not sign_in.dev_users_allowed:
        return False
    return domain.verify_password(password, user.password_hash)


def locked_for(failed_logins: FailedLogins, key: str, limit: int, now: float) -> float:
    """Seconds until ``key`` may try again (0: now)."""
    row = failed_logins.failures(key)
    if row is None:
        return 0.0
    return domain.locked_for(row.failures, row.window_start, now, limit)


def principal(token_secret: str, token: str, now: datetime) -> domain.Principal:
    """Who a bearer token says the user is, if it is genuine and not expired."""
    return domain.read_token(token_secret, token, now.timestamp())


def me(reads: ConsoleReads, principal: domain.Principal) -> dict[str, Any]:
    with reads:
        user = reads.users.get(principal.user)
        if user is None:
            raise domain.AuthError("no such user any more")
        return domain.user_view(user)


@dataclass(frozen=True)
class RevealPhone:
    """A request to see the citizen's number of a case, and the address it comes from."""

    case_id: str
    address: str | None


def reveal_phone(
    uow: ConsoleUnitOfWork,
    dispatch: Dispatch,
    intake: Intake,
    vault: PhoneVault,
    principal: domain.Principal,
    command: RevealPhone,
    now: datetime,
) -> str:
    """The citizen's number, unmasked, for the unit that must call them; every view audited."""
    case = case_in_reach(dispatch, principal, command.case_id)
    found = intake.reporter_contact(command.case_id) if domain.holds(principal, case) else None
    if not found:
        raise NotFound(f"no number to show for {command.case_id}")
    phone = vault.open(found["phone_sealed"])
    with uow:
        uow.phone_views.saw_phone(principal.user, command.case_id, command.address or "-", now)
        uow.commit()
    return phone
