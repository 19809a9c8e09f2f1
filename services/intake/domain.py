"""Intake's rules, free of I/O: who may submit, how a submission is signed, and how the four
lines' payloads become one canonical case."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from contracts.common import Channel, mask_name, mask_phone, mask_phones_in
from contracts.desk import CENTRE_SOURCE, DeskRegistration
from contracts.events import CaseReceived, Reporter
from contracts.inbound import (
    GridReport,
    HotlineTicket,
    InboundLine,
    InboundPayload,
    OpinionItem,
    Petition,
)
from kernel.sources import SourcesConfigError, SourcesFile
from services.intake.risk import RiskFacts, RiskRules

MAX_CLOCK_SKEW_SECONDS = 300
SIGNATURE_PREFIX = "sha256="


class IntakeError(Exception):
    """Base of intake's refusals."""


class AuthenticationFailed(IntakeError):
    """Unknown source, missing or bad signature, or a stale timestamp."""


class ChannelNotAllowed(IntakeError):
    """The source is known but may not submit on this line."""


@dataclass(frozen=True)
class Source:
    """A registered submitter: the 12345 system, the grid app, the opinion feed, the bureau."""

    id: str
    name: str
    secret: str
    api_key: str
    channels: frozenset[Channel]
    callback_url: str | None = None

    def ensure_allowed(self, channel: Channel) -> None:
        if channel not in self.channels:
            raise ChannelNotAllowed(f"source {self.id!r} may not submit on the {channel} line")


class SourceRegistry:
    def __init__(self, sources: Mapping[str, Source]) -> None:
        self._by_id = dict(sources)
        self._by_key = {source.api_key: source for source in sources.values()}

    def __contains__(self, source_id: object) -> bool:
        return source_id in self._by_id

    def get(self, source_id: str) -> Source | None:
        return self._by_id.get(source_id)

    def by_api_key(self, api_key: str | None) -> Source | None:
        if not api_key:
            return None
        found = self._by_key.get(api_key)
        # compare once more in constant time: the dict lookup alone leaks timing
        if found is None or not hmac.compare_digest(found.api_key.encode(), api_key.encode()):
            return None
        return found

    @classmethod
    def from_config(
        cls, document: Mapping[str, Any], environ: Mapping[str, str], production: bool = False
    ) -> SourceRegistry:
        """``sources.yml`` as read already; see ``from_text``."""
        return cls.registered(SourcesFile.from_document(document), environ, production)

    @classmethod
    def from_text(
        cls, text: str, environ: Mapping[str, str], production: bool = False,
        name: str = "sources.yml",
    ) -> SourceRegistry:  # fmt: skip
        """``sources.yml``; ``CIVICFLOW_SOURCE_<ID>_SECRET`` / ``_API_KEY`` override it. A
        fault is refused naming the file, the line and the field."""
        return cls.registered(SourcesFile.from_text(text, name), environ, production)

    @classmethod
    def from_file(
        cls, path: Path, environ: Mapping[str, str], production: bool = False
    ) -> SourceRegistry:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SourcesConfigError(f"{path}: missing") from None
        return cls.from_text(text, environ, production, path.name)

    @classmethod
    def registered(
        cls, registered: SourcesFile, environ: Mapping[str, str], production: bool
    ) -> SourceRegistry:
        """The sources, with what the environment overrides. In production a secret or key
        still holding a dev value is refused."""
        sources = {}
        for source_id, entry in registered.sources.items():
            env_id = source_id.upper().replace("-", "_")
            secret = environ.get(f"CIVICFLOW_SOURCE_{env_id}_SECRET", entry.secret)
            api_key = environ.get(f"CIVICFLOW_SOURCE_{env_id}_API_KEY", entry.api_key)
            if not secret:
                raise SourcesConfigError(f"sources.yml: source {source_id!r} has no secret")
            if production and (secret.startswith("dev-") or api_key.startswith("dev-")):
                raise SourcesConfigError(
                    f"sources.yml: source {source_id!r} still has a dev secret or key; set "
                    f"CIVICFLOW_SOURCE_{env_id}_SECRET and CIVICFLOW_SOURCE_{env_id}_API_KEY"
                )
            sources[source_id] = Source(
                id=source_id,
                name=entry.name or source_id,
                secret=secret,
                api_key=api_key,
                channels=frozenset(entry.channels),
                callback_url=environ.get(
                    f"CIVICFLOW_SOURCE_{env_id}_CALLBACK_URL", entry.callback_url
                ),
            )
        return cls(sources)

    def authenticate(
        self,
        source_id: str | None,
        timestamp: str | None,
        signature: str | None,
        body: bytes,
        now: float,
    ) -> Source:
        """Check ``X-Source``, ``X-Timestamp`` and ``X-Signature`` against the raw body."""
        source = self._by_id.get(source_id or "")
        if source is None:
            raise AuthenticationFailed("unknown or missing X-Source")
        if not timestamp or not (timestamp.isascii() and timestamp.isdigit()):
            raise AuthenticationFailed("X-Timestamp must be unix seconds")
        if abs(now - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            raise AuthenticationFailed("X-Timestamp is more than 300 s away from our clock")
        if not signature or not signature.startswith(SIGNATURE_PREFIX):
            raise AuthenticationFailed("X-Signature must be sha256=<hex>")
        expected = sign(source.secret, timestamp, body)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise AuthenticationFailed("signature does not match")
        return source


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


_CASE_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread


def new_case_id(now: datetime, token: int | None = None) -> str:
    """``CF261121-7K3QX9``: the day it came in, then 30 random bits read aloud easily."""
    value = secrets.randbits(30) if token is None else token
    chars = "".join(_CASE_ID_ALPHABET[(value >> shift) & 31] for shift in range(25, -1, -5))
    return f"CF{now:%y%m%d}-{chars}"


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
OCCURRED_FIELD: dict[type[InboundPayload], str] = {
    HotlineTicket: "received_at",
    GridReport: "reported_at",
    OpinionItem: "published_at",
    Petition: "filed_at",
}


def check_occurred_at(payload: InboundPayload) -> None:
    """The time a matter came in must be a real moment, from 1900 up to 2200 in UTC.

    A time at the calendar's edge with an offset (``0001-01-01T00:00:00+01:00``) passes the
    contract but cannot even be converted to UTC: refused here as the contract error it is
    (422 over HTTP, parked from AMQP), it cannot crash the repeat check or the store."""
    moment = payload.occurred_at
    try:
        good = EARLIEST <= moment.astimezone(UTC) < LATEST
    except OverflowError:
        good = False
    if not good:
        field = OCCURRED_FIELD.get(type(payload), "occurred_at")
        problem = PydanticCustomError(
            "datetime_out_of_range", "must lie from 1900 up to 2200 (UTC)"
        )
        raise ValidationError.from_exception_data(
            type(payload).__name__,
            [InitErrorDetails(type=problem, loc=(field,), input=moment.isoformat())],
        )


def canonical_case(line: InboundLine, payload: InboundPayload, source_id: str) -> CaseReceived:
    """One canonical case from whichever line it came on; phones only masked. A time out of
    range raises pydantic's ``ValidationError``, as the contract would have."""
    check_occurred_at(payload)
    common: dict[str, Any] = {
        "channel": line.channel,
        "source": source_id,
        "external_id": payload.external_id,
        "content": mask_phones_in(payload.content),
        "received_at": payload.occurred_at,
        "category": getattr(payload, "category", None),
        "address": mask_phones_in(address)
        if (address := getattr(payload, "address", None))
        else None,
        "location": getattr(payload, "location", None),
    }
    match payload:
        case HotlineTicket():
            reporter = Reporter(name=payload.caller.name, phone=mask_phone(payload.caller.phone))
            return CaseReceived(**common, reporter=reporter, urgent=payload.urgent)
        case GridReport():
            return CaseReceived(
                **common,
                reporter=Reporter(kind="grid_worker", id=payload.reporter_id),
                grid_code=payload.grid_code,
                attachments=list(payload.photos),
                resolved_on_site=payload.resolved_on_site,
            )
        case OpinionItem():
            attachments = [payload.url] if payload.url else []
            return CaseReceived(
                **common,
                reporter=Reporter(kind="monitor", name=payload.platform),
                heat=payload.heat,
                attachments=attachments,
            )
        case Petition():
            first = payload.petitioners[0]
            reporter = Reporter(  # 信访人: never named in full on a public event
                kind="petitioner",
                name=mask_name(first.name),
                phone=mask_phone(first.phone) if first.phone else None,
            )
            group = payload.group_size or len(payload.petitioners)
            return CaseReceived(
                **common, reporter=reporter, group_size=group, form=payload.form,
                accused_unit=payload.accused_unit,
            )  # fmt: skip
    raise TypeError(f"no canonical form for {type(payload).__name__}")


def desk_external_id(received_by: str, key: str | None, now: datetime) -> str:
    """The desk's own id for a registration: the same user's same ``Idempotency-Key`` gives
    the same id (so the same case); without a key, one of its own."""
    if key is None:
        return f"desk-{now:%y%m%d}-{secrets.token_hex(8)}"
    digest = hashlib.sha256(f"{received_by}\n{key}".encode()).hexdigest()
    return f"desk-key-{digest[:40]}"


def desk_case(
    registration: DeskRegistration, received_by: str, external_id: str, now: datetime
) -> CaseReceived:
    """A matter registered at the centre's desk as the canonical case: source ``centre``, the
    line the operator chose, the registering user its ``received_by`` (首问负责)."""
    citizen = registration.citizen
    name = citizen.name
    if name and registration.line == "petition":  # 信访人: masked as on the petition line
        name = mask_name(name)
    reporter = Reporter(name=name, phone=mask_phone(citizen.phone) if citizen.phone else None)
    address = registration.address
    return CaseReceived(
        channel=registration.line,
        source=CENTRE_SOURCE,
        external_id=external_id,
        reporter=reporter,
        content=mask_phones_in(registration.content),
        category=registration.category,
        address=mask_phones_in(address) if address else None,
        location=registration.location,
        grid_code=registration.grid_code,
        received_at=now,
        form=registration.form,
        received_by=received_by,
        handled_at_desk=registration.handled_at_desk,
        accused_unit=registration.accused_unit if registration.line == "petition" else None,
    )


def reporter_phone(payload: InboundPayload) -> str | None:
    """The number to call the citizen back on, if the line carries one."""
    match payload:
        case HotlineTicket():
            return payload.caller.phone
        case Petition():
            return next((p.phone for p in payload.petitioners if p.phone), None)
    return None


def assess(case: CaseReceived, repeat_of: list[str], rules: RiskRules) -> CaseReceived:
    """The case with its repeats linked and its 红黄蓝 grade: a repeat raises the risk."""
    facts = RiskFacts(
        channel=case.channel,
        content=case.content,
        urgent=case.urgent,
        heat=case.heat,
        group_size=case.group_size,
        repeat_count=len(repeat_of),
    )
    assessment = rules.assess(facts)
    return case.model_copy(
        update={
            "repeat_of": list(repeat_of),
            "repeat_count": len(repeat_of),
            "risk": assessment.grade,
            "risk_rules": list(assessment.rules),
        }
    )


# --- what the source sees of its case afterwards ---

STATUS_AFTER: dict[str, str] = {
    "case.awaiting_dispatch": "pending_dispatch",
    "case.dispatched": "dispatched",
    "case.accepted": "accepted",
    "case.returned": "pending_dispatch",
    "case.feedback": "in_progress",
    "case.concluded": "concluded",
    "case.closed": "closed",
    "case.reopened": "in_progress",
    "case.escalated": "pending_dispatch",
    "case.resolved_on_site": "resolved_on_site",
    "case.merged": "merged",
}
"""Status a case is in after each lifecycle event; events not listed (a helper's sign-off,
verification, extensions, warnings) add to the timeline without changing it."""

MAX_CALLBACK_ATTEMPTS = 12


def timeline_note(data: Mapping[str, Any]) -> str | None:
    """The one line a source sees for an event: who has it, or why."""
    for key in ("reason", "result", "note"):
        if data.get(key):
            return str(data[key])
    assignee = data.get("assignee")
    if isinstance(assignee, Mapping) and assignee.get("name"):
        return str(assignee["name"])
    return None


def callback_delay(attempts: int) -> float:
    """Seconds before the next try: 2, 4, 8 … capped at an hour."""
    return float(min(2**attempts, 3600))
