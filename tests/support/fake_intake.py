"""Intake's unit of work in memory: submissions, statuses, the timeline and callbacks in dicts,
events kept in a list, so the handlers and queries are tested with no broker and no database.

It keeps the promises of ``SqlIntakeUnitOfWork`` the handlers rely on: one submission per
(source, external id), one timeline entry per event and one callback per (source, event),
each event taken once by ``first_times``; rows and events count only once committed, and
leaving without a commit puts everything back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import inspect

from contracts.events import Envelope
from kit.db import FirstTimes
from services.intake.models import Callback, CaseStatus, Submission, TimelineEntry
from services.intake.repeats import EarlierMatter

Row = TypeVar("Row", Submission, CaseStatus, TimelineEntry, Callback)


def _copy(row: Row) -> Row:
    """A row of its own, as another transaction would read it."""
    keys = [attribute.key for attribute in inspect(row).mapper.column_attrs]
    return type(row)(**{key: getattr(row, key) for key in keys})


@dataclass
class FakeSubmissions:
    rows: dict[str, Submission] = field(default_factory=dict)
    """By case id."""

    def add_if_new(self, submission: dict[str, Any]) -> bool:
        taken = submission["case_id"] in self.rows or self.case_id_for(
            submission["source"], submission["external_id"]
        )
        if taken:
            return False
        self.rows[submission["case_id"]] = Submission(**submission)
        return True

    def case_id_for(self, source: str, external_id: str) -> str | None:
        return next(
            (
                row.case_id
                for row in self.rows.values()
                if (row.source, row.external_id) == (source, external_id)
            ),
            None,
        )

    def earlier_matters(
        self, fingerprints: Iterable[str], since: datetime, limit: int = 50
    ) -> dict[str, list[EarlierMatter]]:
        found: dict[str, list[EarlierMatter]] = {}
        for fingerprint in sorted(set(fingerprints)):
            rows = [
                row
                for row in self.rows.values()
                if row.reporter_fingerprint == fingerprint and row.received_at >= since
            ]
            rows.sort(key=lambda row: row.received_at, reverse=True)
            found[fingerprint] = [
                EarlierMatter(row.case_id, row.received_at, row.content) for row in rows[:limit]
            ]
        return found

    def get(self, case_id: str) -> Submission | None:
        return self.rows.get(case_id)

    def load(self, case_ids: Sequence[str]) -> None:
        pass  # everything is at hand

    def case_ids_by_phone_index(self, phone_index: str, limit: int) -> list[str]:
        rows = [row for row in self.rows.values() if row.phone_index == phone_index]
        rows.sort(key=lambda row: (row.received_at, row.case_id), reverse=True)
        return [row.case_id for row in rows[:limit]]

    def repeats_of(self, submission: Submission) -> list[str]:
        later = sorted(
            (
                row
                for row in self.rows.values()
                if submission.reporter_fingerprint is not None
                and row.reporter_fingerprint == submission.reporter_fingerprint
                and row.case_id != submission.case_id
                and row.received_at >= submission.received_at
            ),
            key=lambda row: row.received_at,
        )
        return [row.case_id for row in later if submission.case_id in row.case.get("repeat_of", [])]

    def of_source(
        self,
        source: str,
        ids: Sequence[str] = (),
        categories: Sequence[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[Submission]:
        rows = [
            row
            for row in self.rows.values()
            if row.source == source
            and (not ids or row.case_id in ids)
            and (not categories or row.case.get("category") in categories)
            and (start is None or row.received_at >= start)
            and (end is None or row.received_at <= end)
        ]
        rows.sort(key=lambda row: row.received_at, reverse=True)
        return rows[:limit]

    def copy(self) -> FakeSubmissions:
        return FakeSubmissions({case_id: _copy(row) for case_id, row in self.rows.items()})


@dataclass
class FakeCaseStatuses:
    statuses: dict[str, CaseStatus] = field(default_factory=dict)
    entries: list[TimelineEntry] = field(default_factory=list)

    def get(self, case_id: str) -> CaseStatus | None:
        return self.statuses.get(case_id)

    def load(self, case_ids: Sequence[str]) -> None:
        pass

    def put(self, status: CaseStatus) -> None:
        assert status.case_id not in self.statuses, "a case has one status row"
        self.statuses[status.case_id] = status

    def add_all_to_timeline(self, entries: Sequence[dict[str, Any]]) -> set[str]:
        new: set[str] = set()
        for entry in entries:
            if all(known.event_id != entry["event_id"] for known in self.entries):
                self.entries.append(TimelineEntry(id=len(self.entries) + 1, **entry))
                new.add(entry["event_id"])
        return new

    def timeline(self, case_id: str) -> list[TimelineEntry]:
        mine = [entry for entry in self.entries if entry.case_id == case_id]
        return sorted(mine, key=lambda entry: (entry.at, entry.id))

    def copy(self) -> FakeCaseStatuses:
        return FakeCaseStatuses(
            {case_id: _copy(status) for case_id, status in self.statuses.items()},
            [_copy(entry) for entry in self.entries],
        )


@dataclass
class FakeCallbacks:
    rows: dict[int, Callback] = field(default_factory=dict)

    def enqueue(self, source: str, case_id: str, event_id: str, body: str, now: datetime) -> None:
        if any((row.source, row.event_id) == (source, event_id) for row in self.rows.values()):
            return
        callback_id = len(self.rows) + 1
        self.rows[callback_id] = Callback(
            id=callback_id, source=source, case_id=case_id, event_id=event_id, body=body,
            attempts=0, next_attempt_at=now,
        )  # fmt: skip

    def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Callback]:
        due = sorted(
            (
                row
                for row in self.rows.values()
                if row.delivered_at is None and row.failed_at is None and row.next_attempt_at <= now
            ),
            key=lambda row: row.next_attempt_at,
        )[:limit]
        for row in due:
            row.next_attempt_at = now + lease
        return [_copy(row) for row in due]

    def get(self, callback_id: int) -> Callback:
        return self.rows[callback_id]

    def copy(self) -> FakeCallbacks:
        return FakeCallbacks({key: _copy(row) for key, row in self.rows.items()})


@dataclass
class FakeIntakeData:
    """What a transaction sees: the rows, and the event ids already handled."""

    submissions: FakeSubmissions = field(default_factory=FakeSubmissions)
    statuses: FakeCaseStatuses = field(default_factory=FakeCaseStatuses)
    callbacks: FakeCallbacks = field(default_factory=FakeCallbacks)
    processed: set[str] = field(default_factory=set)

    def copy(self) -> FakeIntakeData:
        return FakeIntakeData(
            self.submissions.copy(),
            self.statuses.copy(),
            self.callbacks.copy(),
            set(self.processed),
        )


class FakeIntakeUnitOfWork:
    """``submissions``, ``statuses`` and ``callbacks`` are what the handlers see inside the
    unit of work; ``committed`` holds what is stored, and ``events`` what the committed units
    of work emitted. It serves the queries' reads as well."""

    def __init__(self) -> None:
        self.committed = FakeIntakeData()
        self._data = self.committed.copy()
        self.events: list[Envelope[Any]] = []
        self.commits = 0
        self._emitted: list[Envelope[Any]] = []

    @property
    def submissions(self) -> FakeSubmissions:
        return self._data.submissions

    @property
    def statuses(self) -> FakeCaseStatuses:
        return self._data.statuses

    @property
    def callbacks(self) -> FakeCallbacks:
        return self._data.callbacks

    def __enter__(self) -> Self:
        self._data = self.committed.copy()
        self._emitted = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # What was not committed is gone, as a rolled-back transaction's rows are.
        self._data = self.committed.copy()
        self._emitted = []

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        new = set(event_ids) - self._data.processed
        self._data.processed |= new
        return FirstTimes(new)

    def emit(self, envelope: Envelope[Any]) -> None:
        self._emitted.append(envelope)

    def commit(self) -> None:
        self.committed = self._data.copy()
        self.events += self._emitted
        self._emitted = []
        self.commits += 1
