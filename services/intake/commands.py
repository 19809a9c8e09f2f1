"""What intake is asked to do: commands, each handled by a function of ``handlers``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.desk import DeskRegistration
from contracts.events import CaseReceived
from contracts.inbound import InboundLine, InboundPayload
from services.intake import domain


@dataclass(frozen=True)
class NewSubmission:
    """A submission on its way in: its case as the line gave it, the citizen's number, and
    how it came (``http``, ``amqp``, ``open311`` or ``desk``)."""

    case: CaseReceived
    phone: str | None
    transport: str

    @classmethod
    def of(
        cls, line: InboundLine, payload: InboundPayload, source_id: str, transport: str
    ) -> NewSubmission:
        """The payload of a line as the canonical case it becomes. A time out of range raises
        pydantic's ``ValidationError``, as the contract would have."""
        case = domain.canonical_case(line, payload, source_id)
        return cls(case, domain.reporter_phone(payload), transport)

    @classmethod
    def at_desk(
        cls, registration: DeskRegistration, received_by: str, key: str | None, now: datetime
    ) -> NewSubmission:
        """A matter registered at the centre's desk by ``received_by``; ``key``: the
        registration's Idempotency-Key."""
        external_id = domain.desk_external_id(received_by, key, now)
        case = domain.desk_case(registration, received_by, external_id, now)
        return cls(case, registration.citizen.phone, "desk")
