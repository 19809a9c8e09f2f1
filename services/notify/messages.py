"""Which messages an event causes, and to whom: the rules of notify.yml for the event and the
case's risk, each recipient they name reached by each of the rule's channels they have.

What later events of a case need of it (its risk, summary and holder) is what its dispatch, or
its wait for one, said: notify follows the case from those events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.events import CASE_AWAITING_DISPATCH, CASE_CONCLUDED, CASE_DISPATCHED, Envelope
from kit.logs import about
from kit.pii import PhoneVault
from services.notify import domain
from services.notify.directory import Directory
from services.notify.models import FollowedCase
from services.notify.rules import ChannelName, NotifyRules

OWN_WORD = (CASE_DISPATCHED.type, CASE_AWAITING_DISPATCH.type)
"""Events that say all their texts need of the case, and what later texts will need of it."""


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one recipient by one channel, ready to record as a delivery."""

    recipient_key: str
    """Who, without a number in it: ``department:D-HBJ``, ``person:P-01``, ``citizen``…"""
    address: str
    masked: str
    channel: ChannelName
    template: str
    text: str
    params: Mapping[str, str]
    fingerprint: str | None = None
    hold_until: datetime | None = None
    """Quiet hours: not before then."""


def messages_for(
    event: Envelope[Any],
    case: FollowedCase | None,
    rules: NotifyRules,
    directory: Directory,
    vault: PhoneVault,
    now: datetime,
) -> list[OutgoingMessage]:
    """The messages one event causes; ``case`` is what notify followed of its case."""
    summary = getattr(event.data, "summary", None) or (case.summary if case else "")
    risk = getattr(event.data, "risk", None) or (case.risk if case else "blue")
    variables = domain.variables_of(event.type, event.case_id or "", event.data, summary or "")
    messages = []
    hours = rules.quiet_hours
    for rule in rules.rules_for(event.type, risk):
        # 免打扰: quiet hours hold what goes to citizens, and to staff not on duty, unless the
        # case is red risk
        red = risk == "red" or getattr(event.data, "alert", None) == "red_risk"
        night = not red and hours.holds(now)
        for contact in directory.contacts(rule.to, event, case):
            quiet = night and hours.hold_for(rule.to == "citizen", contact.on_duty)
            for channel in rule.channels:
                address = contact.address(channel)
                if address is None:
                    continue
                messages.append(OutgoingMessage(
                    contact.key, address, domain.masked(address, channel), channel,
                    rule.template, rules.render(rule.template, variables, channel), variables,
                    vault.fingerprint(address) if channel == "sms" else None,
                    rules.quiet_hours.end_after(now) if quiet else None,
                ))  # fmt: skip
    return messages


def messages_of(
    events: Sequence[Envelope[Any]],
    followed: dict[str, FollowedCase],
    rules: NotifyRules,
    directory: Directory,
    vault: PhoneVault,
    now: datetime,
) -> list[list[OutgoingMessage]]:
    """Each event's messages, in order. A dispatch says all its texts need; a later event reads
    what notify followed of its case (``followed``, by case id), or what a dispatch earlier
    among ``events`` says of it."""
    followed = dict(followed)
    messages = []
    for event in events:
        with about(case_id=event.case_id, event_id=event.event_id):
            own_word = event.type in OWN_WORD
            case = None if own_word else followed.get(event.case_id or "")
            messages.append(messages_for(event, case, rules, directory, vault, now))
        if own_word and event.case_id is not None:
            followed[event.case_id] = keep(
                followed.get(event.case_id) or unknown(event.case_id), event
            )
    return messages


def cases_to_read(events: Sequence[Envelope[Any]]) -> set[str]:
    """The cases whose followed state the events' messages need."""
    return {e.case_id for e in events if e.case_id and e.type not in OWN_WORD}


def keep(case: FollowedCase, event: Envelope[Any]) -> FollowedCase:
    """``case`` as a dispatch (or a wait for one) leaves it."""
    data = event.data
    case.risk = data.risk
    case.summary = data.summary or case.summary
    case.territory = dict(data.territory) or case.territory
    if event.type == CASE_DISPATCHED.type:
        case.assignee = data.assignee.model_dump()
    return case


def unknown(case_id: str) -> FollowedCase:
    """A case notify has followed nothing of yet (its holder unset, SQL NULL, until a dispatch
    names one)."""
    return FollowedCase(case_id=case_id, risk="blue", summary="", territory={})


def revisit_asked(event: Envelope[Any], messages: Sequence[OutgoingMessage]) -> str | None:
    """The fingerprint of the citizen a concluded case's messages ask the revisit question (回访),
    if they do: their reply is then awaited."""
    if event.type != CASE_CONCLUDED.type or event.case_id is None:
        return None
    return next(
        (m.fingerprint for m in messages if m.recipient_key == "citizen" and m.fingerprint), None
    )
