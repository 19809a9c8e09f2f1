"""Who the rules name, and how to reach them: numbers and openids, opened only here to send.

Departments' duty phones come from departments.yml; grid workers and supervisors from the grid
(sealed); the citizen from intake (sealed); subscribers from supervision's alert (sealed).

Staff are told as duty.yml says (AB岗): a 24/7 unit's alerts go to whoever is on duty now, and
a role whose holder is on leave or off duty goes to its deputy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from contracts.events import Assignee, Envelope
from kernel.duty import EMPTY, DutyRoster, Leave
from kit.pii import PhoneVault
from services.notify import domain
from services.notify.models import FollowedCase
from services.notify.rules import ChannelName, RecipientKind

NEVER = datetime.min.replace(tzinfo=UTC)
GRID_WORKER = "grid_worker"
"""专职网格员: who is told of a case dispatched to a grid."""


@dataclass(frozen=True)
class Contact:
    key: str
    """Who, without a number in it (the exactly-once record's key)."""
    phone: str | None = None
    openid: str | None = None
    robot: str | None = None
    only: ChannelName | None = None
    """A subscriber chose one channel per subscription: the rule's others do not apply."""
    on_duty: bool = False
    """值班: standing duty now, so quiet hours do not hold what they are told."""

    def address(self, channel: ChannelName) -> str | None:
        if self.only is not None and channel != self.only:
            return None
        return {"sms": self.phone, "wechat": self.openid, "wecom": self.robot}[channel]


@dataclass
class Directory:
    departments: domain.ContactDirectory
    vault: PhoneVault
    centre_robot: str
    grid_contacts: Callable[[str, str], list[dict[str, Any]]]
    citizen_contact: Callable[[str], dict[str, Any] | None]
    roster: DutyRoster = EMPTY
    leaves: tuple[Leave, ...] = ()
    """The leaves not over yet, as the console recorded them."""
    now: datetime = NEVER
    """The moment the roster and leaves are read at (``at``)."""

    def contacts(
        self, to: RecipientKind, event: Envelope[Any], case: FollowedCase | None
    ) -> list[Contact]:
        data = event.data
        if to == "centre":
            centre = self.departments.recipient_for(domain.CENTRE)
            # the centre's duty line is its duty room (值班室): always on duty
            phone = centre.phone if centre else None
            return [Contact("centre", phone, robot=self.centre_robot, on_duty=True)]
        if to == "assignee":
            holder = getattr(data, "assignee", None) or (
                Assignee.model_validate(case.assignee) if case and case.assignee else None
            )
            return self._unit(holder) if holder is not None else []
        if to == "supervisors":
            people = self._people(data.unit, "supervisor") if data.unit else []
            wanted = set(data.supervisors)
            chosen = [p for p in people if not wanted or p.key.removeprefix("person:") in wanted]
            return self._standing(chosen, None)
        if to == "citizen":
            found = self.citizen_contact(event.case_id or "")
            sealed = (found or {}).get("phone_sealed")
            return [Contact("citizen", self.vault.open(sealed))] if sealed else []
        # subscribers: supervision matched them; their addresses came sealed
        return [
            subscriber(r.subscriber, r.channel, self.vault.open(r.address_sealed))
            for r in data.recipients
        ]

    def at(self, now: datetime, leaves: tuple[Leave, ...]) -> Directory:
        """This directory as it stands at ``now``, with these leaves."""
        return replace(self, now=now, leaves=leaves)

    def _unit(self, holder: Assignee) -> list[Contact]:
        if holder.kind == "grid":
            return self._standing(self._people(holder.code, GRID_WORKER), holder.code)
        found = self.departments.recipient_for(holder)
        if found is not None:
            return self._standing([Contact(found.key, found.phone)], holder.code)
        if self.roster.around_the_clock(holder.code):  # no duty phone: its roster still answers
            return self._standing([Contact(f"{holder.kind}:{holder.code}")], holder.code)
        return []

    def _standing(self, contacts: list[Contact], unit: str | None) -> list[Contact]:
        """Who is told instead of each contact: the person on duty for a 24/7 ``unit``, or a
        deputy (B岗) for a holder on leave or off duty; each one once."""
        told: dict[str, Contact] = {}
        for contact in contacts:
            person = self.roster.stand_in(contact.key, unit, self.now, self.leaves)
            if person is None:
                on_duty = self.roster.is_on_duty(contact.key, self.now)
                told.setdefault(contact.key, replace(contact, on_duty=on_duty))
                continue
            on_duty = (unit is not None and self.roster.around_the_clock(unit)) or (
                self.roster.is_on_duty(person.key, self.now)
            )
            told.setdefault(person.key, Contact(person.key, person.phone, on_duty=on_duty))
        return list(told.values())

    def _people(self, unit: str, role: str) -> list[Contact]:
        return [
            Contact(f"person:{p['person_id']}", self.vault.open(p["phone_sealed"]))
            for p in self.grid_contacts(unit, role)
            if p.get("phone_sealed")
        ]


def subscriber(name: str, channel: ChannelName, address: str) -> Contact:
    key = f"subscriber:{name}"
    if channel == "sms":
        return Contact(key, phone=address, only="sms")
    return Contact(key, openid=address, only=channel)
