"""Who the rules name, and how to reach them: numbers and openids, opened only here to send.

Departments' duty phones come from departments.yml; grid workers and supervisors from the grid
(sealed); the citizen from intake (sealed); subscribers from supervision's alert (sealed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.events import Assignee, Envelope
from kit.pii import PhoneVault
from services.notify import domain
from services.notify.models import FollowedCase
from services.notify.rules import ChannelName, RecipientKind

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

    def contacts(
        self, to: RecipientKind, event: Envelope[Any], case: FollowedCase | None
    ) -> list[Contact]:
        data = event.data
        if to == "centre":
            centre = self.departments.recipient_for(domain.CENTRE)
            return [Contact("centre", centre.phone if centre else None, robot=self.centre_robot)]
        if to == "assignee":
            holder = getattr(data, "assignee", None) or (
                Assignee.model_validate(case.assignee) if case and case.assignee else None
            )
            return self._unit(holder) if holder is not None else []
        if to == "supervisors":
            people = self._people(data.unit, "supervisor") if data.unit else []
            wanted = set(data.supervisors)
            return [p for p in people if not wanted or p.key.removeprefix("person:") in wanted]
        if to == "citizen":
            found = self.citizen_contact(event.case_id or "")
            sealed = (found or {}).get("phone_sealed")
            return [Contact("citizen", self.vault.open(sealed))] if sealed else []
        # subscribers: supervision matched them; their addresses came sealed
        return [
            subscriber(r.subscriber, r.channel, self.vault.open(r.address_sealed))
            for r in data.recipients
        ]

    def _unit(self, holder: Assignee) -> list[Contact]:
        if holder.kind == "grid":
            return self._people(holder.code, GRID_WORKER)
        found = self.departments.recipient_for(holder)
        return [Contact(found.key, found.phone)] if found else []

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
