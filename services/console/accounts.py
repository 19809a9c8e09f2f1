"""A user's own account: who a token still says they are (token versions), the change of
their password, signing out everywhere, and the live stream's tickets, so that the bearer token
never travels in a URL. Plain functions over a unit of work, given the time.

Every token carries the user's token version when it was issued; raising the version (a new
password, 退出所有设备) revokes every token issued before, except, for a password change, the
token that asked for it (``User.kept_token``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.console import domain
from services.console.handlers import locked_for
from services.console.models import StreamTicket
from services.console.refusals import BadFields, TooManyLogins
from services.console.unit_of_work import ConsoleReads, ConsoleUnitOfWork

STREAM_TICKET_SECONDS = 30
"""How long a stream ticket may wait to be used; it opens the stream once."""


def signed_in(
    reads: ConsoleReads, token_secret: str, token: str, now: datetime
) -> domain.Principal:
    """Who a bearer token says the user is: genuine, unexpired and not revoked since."""
    principal = domain.read_token(token_secret, token, now.timestamp())
    with reads:
        user = reads.users.get(principal.user)
        if not domain.still_valid(principal, user):
            raise domain.AuthError("token revoked: sign in again")
    return principal


@dataclass(frozen=True)
class PasswordChange:
    """``{"old", "new"}``: the password now, and the one wanted."""

    old: str
    new: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> PasswordChange:
        old, new = body.get("old"), body.get("new")
        problems = []
        if not isinstance(old, str) or not old:
            problems.append(("old", "请输入原密码"))
        if not isinstance(new, str) or not new:
            problems.append(("new", "请输入新密码"))
        if problems or not isinstance(old, str) or not isinstance(new, str):
            raise BadFields(problems)
        return cls(old, new)


def change_password(
    uow: ConsoleUnitOfWork, principal: domain.Principal, command: PasswordChange, now: datetime
) -> None:
    """修改密码: the old password must be right (a wrong one counts as a failed login of the
    user, so a stolen token cannot guess it), the new one strong enough; then every other
    token of the user stops working."""
    at, key = now.timestamp(), f"user:{principal.user}"
    with uow:
        wait = locked_for(uow.failed_logins, key, domain.MAX_FAILURES, at)
        if wait:
            raise TooManyLogins(wait)
        user = uow.users.get(principal.user)
        if user is None or not domain.still_valid(principal, user):
            raise domain.AuthError("token revoked: sign in again")
        if not domain.verify_password(command.old, user.password_hash):
            uow.failed_logins.failed(key, at, domain.FAILURE_WINDOW_SECONDS)
            uow.commit()
            raise BadFields([("old", "原密码不正确")])
        problems = domain.password_problems(command.new, command.old, user.username)
        if problems:
            raise BadFields([("new", problem) for problem in problems])
        user.password_hash = domain.hash_password(command.new)
        user.token_version = (user.token_version or 0) + 1
        user.kept_token = principal.token_id
        uow.users.put(user)
        uow.tickets.drop_of_user(user.username)
        uow.commit()


def sign_out_everywhere(uow: ConsoleUnitOfWork, principal: domain.Principal) -> None:
    """退出所有设备: every token of the user stops working, this one too."""
    with uow:
        user = uow.users.get(principal.user)
        if user is None or not domain.still_valid(principal, user):
            raise domain.AuthError("token revoked: sign in again")
        user.token_version = (user.token_version or 0) + 1
        user.kept_token = None
        uow.users.put(user)
        uow.tickets.drop_of_user(user.username)
        uow.commit()


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def issue_stream_ticket(
    uow: ConsoleUnitOfWork, principal: domain.Principal, now: datetime
) -> dict[str, Any]:
    """A ticket that opens the live stream once, within ``STREAM_TICKET_SECONDS``; only its
    hash is stored. Expired tickets are swept on the way."""
    ticket = secrets.token_urlsafe(24)
    row = StreamTicket(
        ticket_hash=_hash(ticket), username=principal.user, role=principal.role,
        unit=principal.unit, token_version=principal.version, token_id=principal.token_id,
        expires_at=now + timedelta(seconds=STREAM_TICKET_SECONDS),
    )  # fmt: skip
    with uow:
        uow.tickets.drop_expired(now)
        uow.tickets.add(row)
        uow.commit()
    return {"ticket": ticket, "expires_in": STREAM_TICKET_SECONDS}


def redeem_stream_ticket(uow: ConsoleUnitOfWork, ticket: str, now: datetime) -> domain.Principal:
    """The user a stream ticket was issued to; the ticket is spent whatever the outcome."""
    with uow:
        row = uow.tickets.take(_hash(ticket))
        user = uow.users.get(row.username) if row is not None else None
        uow.commit()
    if row is None or row.expires_at <= now:
        raise domain.AuthError("stream ticket unknown, used or expired")
    principal = domain.Principal(
        row.username, row.role, int(row.expires_at.timestamp()), row.unit,
        row.token_version, row.token_id,
    )  # fmt: skip
    if not domain.still_valid(principal, user):
        raise domain.AuthError("token revoked: sign in again")
    return principal
