"""What the sources read of their cases afterwards: the status view over the signed API, the
service requests of Open311, and the citizen's sealed number notify asks for."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from contracts.desk import particulars_of
from contracts.events import CaseReceived
from contracts.inbound import SourceCaseView, SourceTimelineEntry
from services.intake import open311
from services.intake.models import CaseStatus, Submission, TimelineEntry
from services.intake.unit_of_work import IntakeReads


def reporter_contact(reads: IntakeReads, case_id: str) -> dict[str, str] | None:
    """The citizen's number, sealed, for notify's revisit (回访): it leaves intake only so."""
    with reads:
        submission = reads.submissions.get(case_id)
        if submission is None or submission.reporter_phone_sealed is None:
            return None
        return {"phone_sealed": submission.reporter_phone_sealed}


CASES_BY_PHONE = 1000
"""The most cases one number's search answers, the newest."""
_BLIND_INDEX = re.compile(r"^[0-9a-f]{64}$")


def case_ids_by_phone(
    reads: IntakeReads, blind_index: str, limit: int = CASES_BY_PHONE
) -> list[str]:
    """The cases of the citizen whose number has this blind index (``kernel.phones``), newest
    first: the number itself never reaches intake in a search, nor is it compared."""
    if not isinstance(blind_index, str) or not _BLIND_INDEX.match(blind_index):
        raise ValueError("blind_index: not a blind index (64 hex digits)")
    with reads:
        return reads.submissions.case_ids_by_phone_index(
            blind_index, max(1, min(limit, CASES_BY_PHONE))
        )


def case_view(reads: IntakeReads, source_id: str, case_id: str) -> SourceCaseView | None:
    """The case as its source sees it; None if there is no such case of this source (another
    source's case does not exist for it)."""
    with reads:
        submission = reads.submissions.get(case_id)
        if submission is None or submission.source != source_id:
            return None
        statuses = reads.statuses
        view = case_answer(submission, statuses.get(case_id), statuses.timeline(case_id))
        repeats = reads.submissions.repeats_of(submission)
    return view.model_copy(update={"repeats": repeats})


def service_requests(
    reads: IntakeReads,
    source_id: str,
    query: open311.RequestQuery,
    services: Mapping[str, open311.Service],
) -> list[dict[str, Any]]:
    """The source's cases as Open311 service requests, as the query filters them."""
    with reads:
        submissions = reads.submissions.of_source(
            source_id, query.ids, query.service_codes, query.start, query.end
        )
        statuses = reads.statuses
        views = [
            open311.request_view(
                request_facts(s, statuses.get(s.case_id), statuses.timeline(s.case_id)),
                services,
            )
            for s in submissions
        ]
    return [view for view in views if open311.matches(query, view)]


def case_answer(
    submission: Submission, status: CaseStatus | None, timeline: list[TimelineEntry]
) -> SourceCaseView:
    case = CaseReceived.model_validate(submission.case)
    shown = particulars_of(case)
    received = SourceTimelineEntry(
        at=submission.created_at, type="case.received", status="received"
    )
    return SourceCaseView(
        case_id=submission.case_id,
        external_id=submission.external_id,
        channel=case.channel,
        status=status.status if status else "received",
        risk=case.risk,
        repeat_of=case.repeat_of,
        assignee=status.assignee if status else None,
        level=status.level if status else None,
        deadlines=status.deadlines if status else None,
        received_at=submission.received_at,
        timeline=[received]
        + [
            SourceTimelineEntry(at=e.at, type=e.type, status=e.status, note=e.note)
            for e in timeline
        ],
        address=shown.address,
        citizen=shown.citizen.model_dump() if shown.citizen else None,
        photos=shown.photos,
        risk_rules=shown.risk_rules,
        received_by=shown.received_by,
        details=shown.details,
    )


def request_facts(
    submission: Submission, status: CaseStatus | None, timeline: list[TimelineEntry]
) -> open311.RequestFacts:
    return open311.RequestFacts(
        case_id=submission.case_id,
        case=submission.case,
        status=status.status if status else "received",
        assignee=status.assignee if status else None,
        deadlines=status.deadlines if status else None,
        requested_at=submission.received_at,
        updated_at=timeline[-1].at if timeline else submission.created_at,
        note=timeline[-1].note if timeline else None,
    )
