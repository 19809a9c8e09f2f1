"""The centre's own desk (来访, 来电, 来信 at its windows and phone): the registration the console
takes (``POST /api/v1/cases``) and hands to intake (``intake.register_at_desk``), and the
particulars of a case every view of it shows (address, citizen, photos, the line's details).
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime

from contracts.common import (
    Channel,
    Content,
    Contract,
    GeoPoint,
    Identifier,
    MaskedPhone,
    Phone,
    ShortText,
)
from contracts.event_data import CaseReceived, HandledAtDesk, IntakeForm, Reporter, RevisitBy
from contracts.inbound import Address, CategoryCode

CENTRE_SOURCE = "centre"
"""The source of every matter registered at the centre's own desk."""


class Citizen(Contract):
    """Who brought the matter to the desk; either may be left out (an anonymous caller)."""

    name: ShortText | None = None
    phone: Phone | None = None


class DeskRegistration(Contract):
    """``POST /api/v1/cases``: a matter received at the centre itself."""

    line: Channel
    form: IntakeForm
    citizen: Citizen = Citizen()
    content: Content
    category: CategoryCode | None = None
    address: Address | None = None
    location: GeoPoint | None = None
    grid_code: Identifier | None = None
    handled_at_desk: HandledAtDesk | None = None
    accused_unit: Identifier | None = None
    """被反映单位, for a petition: the department or grid unit it accuses (回避)."""


class RegisteredAtDesk(Contract):
    """What intake answers ``register_at_desk``: the case, and whether the key had made it."""

    case_id: str
    duplicate: bool
    received_at: AwareDatetime


class ShownCitizen(Contract):
    """The citizen as staff see them: the number masked (the audited reveal shows it whole)."""

    name: str | None = None
    phone: MaskedPhone | None = None


class Particulars(Contract):
    """What a case's page shows beside its lifecycle, all read from the received case."""

    address: str | None = None
    citizen: ShownCitizen | None = None
    photos: list[str] = []
    repeat_of: list[str] = []
    risk_rules: list[str] = []
    received_by: str | None = None
    details: dict[str, Any] = {}
    """By line: opinion ``platform``, ``url``, ``heat``; petition ``form``, ``group_size``;
    grid ``reporter_id``; the desk's ``form`` and its ``handled_at_desk`` result."""


def particulars_of(case: CaseReceived) -> Particulars:
    """The particulars of a received case, by its line."""
    return Particulars(
        address=case.address,
        citizen=shown_citizen(case.reporter),
        photos=list(case.attachments) if case.channel == "grid" else [],
        repeat_of=list(case.repeat_of),
        risk_rules=list(case.risk_rules),
        received_by=case.received_by,
        details=details_of(case),
    )


def shown_citizen(reporter: Reporter) -> ShownCitizen | None:
    """The citizen behind a case, when a citizen or petitioner raised it and said who
    they are (a grid worker or a monitor is no citizen to call back)."""
    if reporter.kind in ("citizen", "petitioner") and (reporter.name or reporter.phone):
        return ShownCitizen(name=reporter.name, phone=reporter.phone)
    return None


def details_of(case: CaseReceived) -> dict[str, Any]:
    details: dict[str, Any]
    if case.source == CENTRE_SOURCE:
        details = {"form": case.form}
        if case.handled_at_desk is not None:
            details["handled_at_desk"] = case.handled_at_desk.result
        return details
    if case.channel == "opinion":
        url = case.attachments[0] if case.attachments else None
        return {"platform": case.reporter.name, "url": url, "heat": case.heat}
    if case.channel == "petition":
        return {"form": case.form, "group_size": case.group_size}
    if case.channel == "grid":
        return {"reporter_id": case.reporter.id}
    return {"urgent": case.urgent}


def revisit_by(channel: Channel, masked_phone: str | None) -> RevisitBy:
    """回访: by SMS when the citizen has a mobile number on a line that has a citizen; else an
    operator calls (grid and opinion matters, a landline, no number at all)."""
    if channel in ("grid", "opinion") or not masked_phone or not masked_phone.startswith("1"):
        return "phone"
    return "sms"
