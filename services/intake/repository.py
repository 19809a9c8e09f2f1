"""Intake's repositories: submissions stored once, the status projection, callbacks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, load_only

from kit.db import insert_all_if_absent, insert_if_absent
from services.intake.models import Callback, CaseStatus, Submission, TimelineEntry
from services.intake.repeats import EarlierMatter

REPEATS_SHOWN = 200
"""A citizen's later matters looked at for repeats of one case, at most."""
_submissions = Submission.__table__
# Built once with bind parameters: the hot path of every submission reuses the compiled form.
_latest = (
    select(
        _submissions.c.case_id,
        _submissions.c.received_at,
        _submissions.c.content,
        _submissions.c.reporter_fingerprint,
        func.row_number()
        .over(
            partition_by=_submissions.c.reporter_fingerprint,
            order_by=_submissions.c.received_at.desc(),
        )
        .label("newest"),
    )
    .where(
        _submissions.c.reporter_fingerprint.in_(bindparam("fingerprints", expanding=True)),
        _submissions.c.received_at >= bindparam("since"),
    )
    .subquery()
)
_EARLIER = (
    select(
        _latest.c.reporter_fingerprint, _latest.c.case_id, _latest.c.received_at, _latest.c.content
    )
    .where(_latest.c.newest <= bindparam("limit"))
    .order_by(_latest.c.reporter_fingerprint, _latest.c.newest)
)
_CASE_ID_FOR = select(_submissions.c.case_id).where(
    _submissions.c.source == bindparam("source"),
    _submissions.c.external_id == bindparam("external_id"),
)


class SubmissionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._loaded: dict[str, Submission | None] = {}

    def add_if_new(self, submission: dict[str, Any]) -> bool:
        """Insert unless (source, external id) is already there; True if inserted.

        The unique constraint decides, not a read before the write, so concurrent
        submissions of one ticket over HTTP and AMQP make exactly one case.
        """
        return insert_if_absent(self.session, Submission, **submission)

    def case_id_for(self, source: str, external_id: str) -> str | None:
        return self.session.scalar(_CASE_ID_FOR, {"source": source, "external_id": external_id})

    def get(self, case_id: str) -> Submission | None:
        if case_id in self._loaded:
            return self._loaded[case_id]
        return self.session.get(Submission, case_id)

    def repeats_of(self, submission: Submission) -> list[str]:
        """The same citizen's later matters (by the number's fingerprint, on its index) that
        name this one among those they repeat."""
        if submission.reporter_fingerprint is None:
            return []
        later = self.session.scalars(
            select(Submission)
            .where(
                Submission.reporter_fingerprint == submission.reporter_fingerprint,
                Submission.received_at >= submission.received_at,
                Submission.case_id != submission.case_id,
            )
            .order_by(Submission.received_at)
            .limit(REPEATS_SHOWN)
        )
        return [row.case_id for row in later if submission.case_id in repeat_of(row)]

    def load(self, case_ids: Sequence[str]) -> None:
        """Read these at once: ``get`` then finds them, or knows they are not there, without
        asking the database again (the session's identity map holds rows only weakly, so the
        repository keeps them). Only what tracking a case needs is read: the submitted case
        itself, a JSON document, is read if asked for."""
        query = (
            select(Submission)
            .where(Submission.case_id.in_(case_ids))
            .options(load_only(Submission.case_id, Submission.source, Submission.external_id))
        )
        self._loaded = dict.fromkeys(case_ids)
        self._loaded.update((row.case_id, row) for row in self.session.scalars(query))

    def earlier_matters(
        self, fingerprints: Iterable[str], since: datetime, limit: int = 50
    ) -> dict[str, list[EarlierMatter]]:
        """What each of these citizens raised since ``since``, on any line, in one statement:
        for each, the newest ``limit``, newest first. Asked of the connection, not through the
        ORM's session: a Core query needs none of its work."""
        wanted = sorted(set(fingerprints))
        found: dict[str, list[EarlierMatter]] = {fingerprint: [] for fingerprint in wanted}
        if wanted:
            rows = self.session.connection().execute(
                _EARLIER, {"fingerprints": wanted, "since": since, "limit": limit}
            )
            for fingerprint, case_id, received_at, content in rows:
                found[fingerprint].append(EarlierMatter(case_id, received_at, content))
        return found

    def case_ids_by_phone_index(self, phone_index: str, limit: int) -> list[str]:
        """The cases of the citizen whose number has this blind index, newest first; the
        index (``ix_submissions_phone_index``) serves it."""
        query = (
            select(Submission.case_id)
            .where(Submission.phone_index == phone_index)
            .order_by(Submission.received_at.desc(), Submission.case_id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def of_source(
        self,
        source: str,
        ids: Sequence[str] = (),
        categories: Sequence[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[Submission]:
        query = select(Submission).where(Submission.source == source)
        if ids:
            query = query.where(Submission.case_id.in_(ids))
        if start:
            query = query.where(Submission.received_at >= start)
        if end:
            query = query.where(Submission.received_at <= end)
        rows = self.session.scalars(query.order_by(Submission.received_at.desc()).limit(limit))
        return [row for row in rows if not categories or row.case.get("category") in categories]


def repeat_of(submission: Submission) -> list[str]:
    """The earlier matters a stored submission's case repeats."""
    named = submission.case.get("repeat_of")
    return [str(case_id) for case_id in named] if isinstance(named, list) else []


class CaseStatusRepository:
    """The projection of what dispatch and supervision published about each case."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._loaded: dict[str, CaseStatus | None] = {}
        self._new: list[CaseStatus] = []

    def get(self, case_id: str) -> CaseStatus | None:
        if case_id in self._loaded:
            return self._loaded[case_id]
        return self.session.get(CaseStatus, case_id)

    def load(self, case_ids: Sequence[str]) -> None:
        """As ``SubmissionRepository.load``: a case with no status yet is known to have none."""
        query = select(CaseStatus).where(CaseStatus.case_id.in_(case_ids))
        self._loaded = dict.fromkeys(case_ids)
        self._loaded.update((row.case_id, row) for row in self.session.scalars(query))

    def add_all_to_timeline(self, entries: Sequence[dict[str, Any]]) -> set[str]:
        """The event ids of those entries that were not on the timeline yet, which now are;
        one statement for all, in the order given."""
        return insert_all_if_absent(self.session, TimelineEntry, entries, "event_id")

    def timeline(self, case_id: str) -> list[TimelineEntry]:
        return list(
            self.session.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.case_id == case_id)
                .order_by(TimelineEntry.at, TimelineEntry.id)
            )
        )

    def put(self, status: CaseStatus) -> None:
        """A new status: kept back and added with the others at ``write_new``, as it stands
        then (later events of the batch move it in memory)."""
        self._new.append(status)
        self._loaded[status.case_id] = status

    def write_new(self) -> None:
        new, self._new = self._new, []
        self.session.add_all(new)


class CallbackRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, source: str, case_id: str, event_id: str, body: str, now: datetime) -> None:
        insert_if_absent(
            self.session,
            Callback,
            source=source,
            case_id=case_id,
            event_id=event_id,
            body=body,
            attempts=0,
            next_attempt_at=now,
        )

    def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Callback]:
        """Due callbacks, leased so another instance does not send them at the same time."""
        due = list(
            self.session.scalars(
                select(Callback)
                .where(
                    Callback.delivered_at.is_(None),
                    Callback.failed_at.is_(None),
                    Callback.next_attempt_at <= now,
                )
                .order_by(Callback.next_attempt_at)
                .limit(limit)
            )
        )
        if due:
            self.session.execute(
                update(Callback)
                .where(Callback.id.in_([c.id for c in due]))
                .values(next_attempt_at=now + lease)
            )
        return due

    def get(self, callback_id: int) -> Callback:
        return self.session.get_one(Callback, callback_id)
