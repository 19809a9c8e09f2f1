"""Console's notes and files in memory (``NotesFilesUnitOfWork``), and a file store in a
dict, so the notes and files handlers are tested with no database and no disk.

The unit of work keeps the promises of ``SqlNotesFilesUnitOfWork``: writes count only once
committed, and leaving without a commit puts everything back."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from kit.file_store import MissingFile, digest_of
from services.console.notes_files_models import CaseFile, CaseFileUse, CaseNote


@dataclass
class FakeNotesFilesRepository:
    notes: list[CaseNote] = field(default_factory=list)
    files: dict[str, CaseFile] = field(default_factory=dict)
    uses: list[CaseFileUse] = field(default_factory=list)

    def add_note(self, note: CaseNote) -> None:
        self.notes.append(note)

    def notes_of(self, case_id: str) -> list[CaseNote]:
        return sorted((n for n in self.notes if n.case_id == case_id), key=lambda n: n.at)

    def add_file(self, file: CaseFile) -> None:
        self.files[file.attachment_id] = file

    def file(self, attachment_id: str) -> CaseFile | None:
        return self.files.get(attachment_id)

    def files_of(self, case_id: str) -> list[CaseFile]:
        found = (f for f in self.files.values() if f.case_id == case_id)
        return sorted(found, key=lambda f: f.uploaded_at)

    def use(self, use: CaseFileUse) -> None:
        same = (use.attachment_id, use.used_with, use.ref)
        if all((u.attachment_id, u.used_with, u.ref) != same for u in self.uses):
            self.uses.append(use)

    def uses_of(self, case_id: str) -> list[CaseFileUse]:
        return [u for u in self.uses if u.case_id == case_id]


class FakeNotesFilesUnitOfWork:
    """``notes`` and ``files`` are what the handlers see inside; ``committed`` what is stored."""

    def __init__(self) -> None:
        self.committed = FakeNotesFilesRepository()
        self.working = copy.deepcopy(self.committed)
        self.commits = 0

    @property
    def notes(self) -> FakeNotesFilesRepository:
        return self.working

    @property
    def files(self) -> FakeNotesFilesRepository:
        return self.working

    def __enter__(self) -> Self:
        self.working = copy.deepcopy(self.committed)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.working = copy.deepcopy(self.committed)

    def commit(self) -> None:
        self.committed = copy.deepcopy(self.working)
        self.commits += 1


class FakeFileStore:
    """Bytes by digest, in a dict; ``puts`` counts what was written."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.types: dict[str, str] = {}
        self.puts = 0

    def put(self, digest: str, content: bytes, content_type: str) -> None:
        assert digest_of(content) == digest
        self.puts += 1
        self.blobs[digest] = content
        self.types[digest] = content_type

    def get(self, digest: str) -> bytes:
        if digest not in self.blobs:
            raise MissingFile(digest)
        return self.blobs[digest]

    def has(self, digest: str) -> bool:
        return digest in self.blobs
