"""A fair score (一单考评) on a real broker, on SQLite and PostgreSQL: dispatch's facts of a
return approved and one refused (退单审核), of an appeal upheld and one rejected (不满意甄别),
reach supervision, and the assessment its RPC answers counts each as the rules say, the same
as the scan of every assignment."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from contracts.events import (
    CASE_ACCEPTED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_RATING_APPEAL_DECIDED,
    CASE_RATING_APPEALED,
    CASE_REOPENED,
    CASE_RETURN_REVIEWED,
    CASE_RETURNED,
    Assignee,
    CaseAccepted,
    CaseConcluded,
    CaseDispatched,
    CaseReopened,
    CaseReturned,
    CaseReturnReviewed,
    Deadlines,
    RatingAppealDecided,
    RatingAppealed,
)
from kit.db import Store
from kit.settings import Settings
from services.supervision.assessment import AssessmentConfig, Period
from services.supervision.models import TABLES, Mark
from services.supervision.reports import assess_period
from tests.integration.test_assessment_counters import Publisher, month_before, rows_of
from tests.integration.test_assessment_counters import publisher as publisher
from tests.integration.test_supervision import TERRITORY, new_case, rpc, supervision
from tests.integration.test_supervision import settings as settings

pytestmark = [pytest.mark.broker]

HOUR = timedelta(hours=1)
APPROVED = Assignee(kind="department", code="D-APPROVED", name="退单获准单位")
REFUSED = Assignee(kind="department", code="D-REFUSED", name="退单被驳回单位")
UPHELD = Assignee(kind="department", code="D-UPHELD", name="甄别成立单位")
REJECTED = Assignee(kind="department", code="D-REJECTED", name="甄别不成立单位")


def dispatch_to(publisher: Publisher, unit: Assignee, case_id: str, at: datetime) -> None:
    limits = Deadlines(respond_by=at + 2 * HOUR, feedback_by=at + 24 * HOUR,
                       resolve_by=at + 120 * HOUR)  # fmt: skip
    publisher.emit(CASE_DISPATCHED, CaseDispatched(
        assignee=unit, level="district", deadlines=limits, dispatched_by="op",
        territory=TERRITORY), case_id, at)  # fmt: skip


def wait_for_marks(store: Store, count: int) -> None:
    """Until supervision has kept ``count`` facts (marks) of the cases."""
    deadline = time.monotonic() + 60
    while (seen := rows_of(store, Mark)) != count:
        assert time.monotonic() < deadline, seen
        time.sleep(0.2)


def by_code(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["assignee_code"]: row for row in rows}


def test_reviewed_returns_and_decided_appeals_count_as_the_rules_say(
    settings: Settings, publisher: Publisher
) -> None:
    settings = dataclasses.replace(settings, supervision_tick_seconds=3600)
    config = AssessmentConfig.from_file(settings.config_dir / "assessment.yml")
    month, start = month_before(settings.clock.now())
    at = start + timedelta(days=3, hours=9)
    returned, refused, upheld, rejected = (new_case() for _ in range(4))
    store = Store(settings.database_url_for("supervision"), "supervision", TABLES)
    try:
        with supervision(settings), rpc(settings) as service:
            # the facts as they stand before any check: two returns, two "unsatisfied"
            for case_id, unit in ((returned, APPROVED), (refused, REFUSED)):
                dispatch_to(publisher, unit, case_id, at)
                publisher.emit(CASE_RETURNED, CaseReturned(assignee=unit, reason="非本单位职责",
                               by="h"), case_id, at + HOUR)  # fmt: skip
            for case_id, unit in ((upheld, UPHELD), (rejected, REJECTED)):
                dispatch_to(publisher, unit, case_id, at)
                publisher.emit(CASE_ACCEPTED, CaseAccepted(assignee=unit, by="h"), case_id,
                               at + HOUR)  # fmt: skip
                publisher.emit(CASE_CONCLUDED, CaseConcluded(result="已办结", by="h"), case_id,
                               at + 2 * HOUR)  # fmt: skip
                publisher.emit(CASE_REOPENED, CaseReopened(reason="回访不满意", by="op",
                               satisfaction="unsatisfied"), case_id, at + 3 * HOUR)  # fmt: skip
                appealed = RatingAppealed(assignee=unit, reason="已按政策答复", by="h")
                publisher.emit(CASE_RATING_APPEALED, appealed, case_id, at + 4 * HOUR)
            wait_for_marks(store, 2 + 2 * 4)
            before = by_code(service.assessment(month))

            # the centre's and the supervisor's decisions
            publisher.emit(CASE_RETURN_REVIEWED, CaseReturnReviewed(
                assignee=APPROVED, approved=True, note="确非职责", by="op"), returned,
                at + 2 * HOUR)  # fmt: skip
            publisher.emit(CASE_RETURN_REVIEWED, CaseReturnReviewed(
                assignee=REFUSED, approved=False, note="属本单位职责", by="op"), refused,
                at + 2 * HOUR)  # fmt: skip
            dispatch_to(publisher, REFUSED, refused, at + 2 * HOUR)  # back to the unit
            publisher.emit(CASE_RATING_APPEAL_DECIDED, RatingAppealDecided(
                upheld=True, note="答复合规", by="sup"), upheld, at + 5 * HOUR)  # fmt: skip
            publisher.emit(CASE_RATING_APPEAL_DECIDED, RatingAppealDecided(
                upheld=False, note="答复不到位", by="sup"), rejected, at + 5 * HOUR)  # fmt: skip
            wait_for_marks(store, 2 + 2 * 4 + 4)
            after = by_code(service.assessment(month))
        with store.read() as session:
            scanned = [row.as_dict() for row in assess_period(
                session, Period.parse(month), config, settings.clock.now())]  # fmt: skip
    finally:
        store.dispose()

    # before the checks, every return and every "unsatisfied" counts against its unit
    assert before[APPROVED.code]["return_rate"] == 1.0
    assert before[REFUSED.code]["return_rate"] == 1.0
    assert before[UPHELD.code]["satisfaction_rate"] == 0.0
    assert before[UPHELD.code]["reopen_rate"] == 1.0

    # 退单审核: approved, the return leaves the unit's score; refused, it stays and the case
    # came back to the unit (a second dispatch)
    assert (after[APPROVED.code]["dispatched"], after[APPROVED.code]["return_rate"]) == (1, 0.0)
    assert (after[REFUSED.code]["dispatched"], after[REFUSED.code]["return_rate"]) == (2, 0.5)
    assert after[APPROVED.code]["score"] > before[APPROVED.code]["score"]

    # 不满意甄别: upheld, the rating and its rework leave the score; rejected, they stay
    assert after[UPHELD.code]["satisfaction_rate"] is None
    assert after[UPHELD.code]["reopen_rate"] == 0.0
    assert after[UPHELD.code]["score"] > before[UPHELD.code]["score"]
    assert after[REJECTED.code]["satisfaction_rate"] == 0.0
    assert after[REJECTED.code]["reopen_rate"] == 1.0
    assert after[REJECTED.code]["score"] == before[REJECTED.code]["score"]

    # the counters agree with the scan of every assignment; but for the dispatch back, whose
    # clocks the scan already judges late while the counters wait for the scanner's alert
    scan = by_code(scanned)
    assert scan[REFUSED.code]["return_rate"] == 0.5
    assert {code: row for code, row in scan.items() if code != REFUSED.code} == {
        code: row for code, row in after.items() if code != REFUSED.code
    }
