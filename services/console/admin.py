"""Administration: users and roles, and read-only views of the configuration and sources.
Administrators only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kernel.sources import SOURCES_FILE, SourcesConfigError, SourcesFile
from kit.settings import Settings
from services.console import domain
from services.console.models import User
from services.console.refusals import Clash, NotFound, NotPermitted
from services.console.unit_of_work import ConsoleReads, ConsoleUnitOfWork

CONFIG_FILES = ("routing.yml", "sla.yml", "notify.yml", "assessment.yml", "categories.yml",
                "duty.yml")  # fmt: skip
_USERNAME = re.compile(r"[a-z0-9_.-]{3,32}")
MIN_PASSWORD = 10


class BadUser(ValueError):
    """A user that cannot be made as asked; the message names the field."""


def new_user(body: Any) -> User:
    """A user from the admin's form, every field checked."""
    if not isinstance(body, dict):
        raise BadUser("the body must be a JSON object")
    username, password = body.get("username"), body.get("password")
    role, unit = body.get("role"), body.get("unit") or None
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise BadUser("username: 3 to 32 of a-z, 0-9, _ . -")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise BadUser(f"password: at least {MIN_PASSWORD} characters")
    if role not in domain.ROLES:
        raise BadUser(f"role: one of {', '.join(domain.ROLES)}")
    if role in domain.UNIT_ROLES and not isinstance(unit, str):
        raise BadUser(f"unit: a {role} works for a unit (a department, a grid, a street…)")
    display = body.get("display") or username
    if not isinstance(display, str) or len(display) > 64:
        raise BadUser("display: a name of at most 64 characters")
    return User(
        username=username, password_hash=domain.hash_password(password), role=role,
        unit=unit if role in domain.UNIT_ROLES else None, dev_only=False, display=display,
    )  # fmt: skip


def must_be_admin(principal: domain.Principal) -> domain.Principal:
    if principal.role != "admin":
        raise NotPermitted("administrators only")
    return principal


def users(reads: ConsoleReads) -> list[dict[str, Any]]:
    with reads:
        return [domain.user_view(user) for user in reads.users.all()]


def add_user(uow: ConsoleUnitOfWork, body: Any) -> dict[str, Any]:
    user = new_user(body)
    with uow:
        if uow.users.get(user.username) is not None:
            raise Clash(f"user {user.username} exists")
        uow.users.put(user)
        uow.commit()
    return domain.user_view(user)


def remove_user(uow: ConsoleUnitOfWork, principal: domain.Principal, username: str) -> None:
    if username == principal.user:
        raise Clash("you cannot remove yourself")
    with uow:
        user = uow.users.get(username)
        if user is None:
            raise NotFound(f"no user {username}")
        uow.users.remove(user)
        uow.commit()


def config_files(folder: Path) -> dict[str, str]:
    return {
        name: (folder / name).read_text(encoding="utf-8")
        for name in CONFIG_FILES
        if (folder / name).is_file()
    }


def sources(settings: Settings) -> list[dict[str, Any]]:
    """The registered sources, with whether a secret is set (never the secret). sources.yml is
    read as intake reads it: a wrong one is refused naming the file, the line and the field."""
    path = settings.config_dir / SOURCES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesConfigError(f"{path}: missing") from None
    return [
        {"id": source_id, "name": entry.name or source_id, "lines": list(entry.channels),
         "secret_set": bool(entry.secret), "dev_secret": entry.secret.startswith("dev-")}
        for source_id, entry in SourcesFile.from_text(text, path.name).sources.items()
    ]  # fmt: skip
