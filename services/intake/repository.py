"""Intake's repository: submissions stored once, whatever races to store them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kit.db import insert_if_absent
from services.intake.models import Submission


class SubmissionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_if_new(self, submission: Submission) -> bool:
        """Insert unless (source, external id) is already there; True if inserted.

        The unique constraint decides, not a read before the write, so concurrent
        submissions of one ticket over HTTP and AMQP make exactly one case.
        """
        values = {
            column.key: getattr(submission, column.key) for column in Submission.__table__.columns
        }
        return insert_if_absent(self.session, Submission, **values)

    def case_id_for(self, source: str, external_id: str) -> str | None:
        return self.session.scalar(
            select(Submission.case_id).where(
                Submission.source == source, Submission.external_id == external_id
            )
        )

    def get(self, case_id: str) -> Submission | None:
        return self.session.get(Submission, case_id)
