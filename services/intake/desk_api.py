"""Intake's entrypoint for the centre's own desk: the console hands over a matter registered
at the centre's windows and phone, and it goes the one way every matter goes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, cast

from contracts.desk import DeskRegistration
from kit.rpc import rpc
from services.intake import handlers
from services.intake.commands import NewSubmission
from services.intake.config import IntakeConfig
from services.intake.unit_of_work import SqlIntakeUnitOfWork


class Intake(Protocol):
    """What the entrypoints use of the service they are mixed into."""

    config: IntakeConfig

    def _now(self) -> datetime: ...

    def _uow(self) -> SqlIntakeUnitOfWork: ...


class DeskEntrypoints:
    """Mixed into ``IntakeService``."""

    @rpc
    def register_at_desk(
        self, registration: dict[str, Any], received_by: str, key: str | None = None
    ) -> Any:
        """登记: store a desk registration as source ``centre``; the same user's same key
        again answers the same case. ``{case_id, duplicate, received_at}``."""
        service = cast(Intake, self)
        now = service._now()
        wanted = DeskRegistration.model_validate(registration)
        new = NewSubmission.at_desk(wanted, received_by, key, now)
        answer = handlers.register_at_desk(service._uow(), new, service.config, now)
        return answer.model_dump(mode="json")
