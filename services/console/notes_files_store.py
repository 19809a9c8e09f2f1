"""Notes and files as the handlers see them (``NotesFilesUnitOfWork``), and the console
database's repository and unit of work behind it; ``tests/support/fake_console_files.py``
keeps the same promises in memory."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy import select
from sqlalchemy.orm import Session

from kit.unit_of_work import ServiceUnitOfWork
from services.console.notes_files_models import CaseFile, CaseFileUse, CaseNote


class Notes(Protocol):
    """内部备注, by case."""

    def add_note(self, note: CaseNote) -> None: ...

    def notes_of(self, case_id: str) -> list[CaseNote]:
        """Oldest first."""
        ...


class CaseFiles(Protocol):
    """The metadata of the files on a case, and what each went with."""

    def add_file(self, file: CaseFile) -> None: ...

    def file(self, attachment_id: str) -> CaseFile | None: ...

    def files_of(self, case_id: str) -> list[CaseFile]:
        """Oldest first."""
        ...

    def use(self, use: CaseFileUse) -> None:
        """Record a use; one already recorded (same file, same kind, same ``ref``) is kept."""
        ...

    def uses_of(self, case_id: str) -> list[CaseFileUse]:
        """In the order they were recorded."""
        ...


class NotesFilesUnitOfWork(Protocol):
    """One transaction over notes and files: stored together on ``commit``, or not at all."""

    @property
    def notes(self) -> Notes: ...

    @property
    def files(self) -> CaseFiles: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class NotesFilesRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_note(self, note: CaseNote) -> None:
        self.session.add(note)

    def notes_of(self, case_id: str) -> list[CaseNote]:
        query = select(CaseNote).where(CaseNote.case_id == case_id)
        return list(self.session.scalars(query.order_by(CaseNote.at, CaseNote.note_id)))

    def add_file(self, file: CaseFile) -> None:
        self.session.add(file)

    def file(self, attachment_id: str) -> CaseFile | None:
        return self.session.get(CaseFile, attachment_id)

    def files_of(self, case_id: str) -> list[CaseFile]:
        query = select(CaseFile).where(CaseFile.case_id == case_id)
        return list(self.session.scalars(query.order_by(CaseFile.uploaded_at, CaseFile.name)))

    def use(self, use: CaseFileUse) -> None:
        known = select(CaseFileUse.id).where(
            CaseFileUse.attachment_id == use.attachment_id,
            CaseFileUse.used_with == use.used_with,
            CaseFileUse.ref == use.ref,
        )
        if self.session.scalar(known) is None:
            self.session.add(use)

    def uses_of(self, case_id: str) -> list[CaseFileUse]:
        query = select(CaseFileUse).where(CaseFileUse.case_id == case_id)
        return list(self.session.scalars(query.order_by(CaseFileUse.id)))

    def uses_all(self, uses: Iterable[CaseFileUse]) -> None:
        for use in uses:
            self.use(use)


class SqlNotesFilesUnitOfWork(ServiceUnitOfWork):
    """The console database's unit of work with the notes and files repository on it."""

    notes: NotesFilesRepository
    files: NotesFilesRepository

    def on_session(self, session: Session, during: ExitStack) -> None:
        self.notes = self.files = NotesFilesRepository(session)
