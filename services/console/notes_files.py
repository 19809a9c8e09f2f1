"""Notes and files on a case: internal notes (内部备注), files uploaded to it (现场照片,
documents), and the files that feedback and the conclusion name. Each belongs to its case:
a user who may not see the case gets 404 for its notes and its files as for the case itself
(``cases.case_in_reach``). Notes are the console's own: they go in no event, and the
source's status endpoint (intake's) cannot show them.

The bytes go to the file store before the metadata commits: a failure between leaves a file
no row names, harmless (content-addressed: the next upload of it reuses it), never a row
without its file."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.actions import action_from, for_dispatch
from contracts.attachments import (
    AttachmentInfo,
    AttachmentUse,
    CaseAttachment,
    Note,
    NoteRequest,
)
from kit.file_store import FileStore, digest_of
from kit.green import off_the_hub
from services.console import cases, domain, files, notices
from services.console.notes_files_models import CaseFile, CaseFileUse, CaseNote
from services.console.notes_files_store import CaseFiles, NotesFilesUnitOfWork
from services.console.ports import Dispatch
from services.console.refusals import BadField, NotFound

NewId = Callable[[], str]


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Upload:
    """One file sent to a case: the name the client gave it and its bytes."""

    case_id: str
    name: str | None
    content: bytes


@dataclass(frozen=True)
class Served:
    """A file to answer with: its bytes and how to present them."""

    content: bytes
    content_type: str
    disposition: str
    etag: str


@dataclass(frozen=True)
class StoredFile:
    """What serving a file needs of its row."""

    case_id: str
    name: str
    content_type: str
    sha256: str
    thumbnail_sha256: str | None

    @classmethod
    def of(cls, row: CaseFile) -> StoredFile:
        return cls(row.case_id, row.name, row.content_type, row.sha256, row.thumbnail_sha256)


def url_of(attachment_id: str) -> str:
    return f"/api/v1/attachments/{attachment_id}"


# --- notes ----------------------------------------------------------------------------------


def add_note(
    uow: NotesFilesUnitOfWork,
    dispatch: Dispatch,
    principal: domain.Principal,
    case_id: str,
    body: Any,
    now: datetime,
    make_id: NewId = new_id,
) -> dict[str, Any]:
    """内部备注 on a case within reach, naming files of that case if it will."""
    cases.case_in_reach(dispatch, principal, case_id)
    wanted = NoteRequest.model_validate(body)
    note = CaseNote(
        note_id=make_id(), case_id=case_id, author=principal.user, at=now, text=wanted.text
    )
    with uow:
        owned(uow.files, case_id, wanted.attachments)
        uow.notes.add_note(note)
        for attachment_id in wanted.attachments:
            uow.files.use(_use(attachment_id, case_id, "note", note.note_id, principal, now))
        uow.commit()
    shown = Note(note_id=note.note_id, author=note.author, at=now, text=note.text,
                 attachments=list(wanted.attachments))  # fmt: skip
    return shown.model_dump(mode="json")


def owned(found: CaseFiles, case_id: str, attachment_ids: Sequence[str]) -> None:
    """Every file named is one of this case's; else 422 naming ``attachments``."""
    strangers = [
        attachment_id
        for attachment_id in attachment_ids
        if (file := found.file(attachment_id)) is None or file.case_id != case_id
    ]
    if strangers:
        raise BadField("attachments", f"本工单没有这些附件：{'、'.join(strangers)}")


def _use(
    attachment_id: str,
    case_id: str,
    used_with: str,
    ref: str,
    principal: domain.Principal,
    now: datetime,
) -> CaseFileUse:
    note_id = ref if used_with == "note" else None
    return CaseFileUse(attachment_id=attachment_id, case_id=case_id, used_with=used_with,
                       ref=ref, note_id=note_id, by=principal.user, at=now)  # fmt: skip


# --- files ----------------------------------------------------------------------------------


def upload(
    uow: NotesFilesUnitOfWork,
    store: FileStore,
    dispatch: Dispatch,
    principal: domain.Principal,
    sent: Upload,
    now: datetime,
    make_id: NewId = new_id,
) -> dict[str, Any]:
    """Keep a file on a case within reach: recognised by its content (``files.recognise``:
    ``TooLarge``, ``NotAllowed``), an image with its thumbnail; nothing kept on a refusal."""
    cases.case_in_reach(dispatch, principal, sent.case_id)
    # decoding a photo takes a while: in a real thread, the other greenlets going on meanwhile
    recognised = off_the_hub(files.recognise, sent.content)
    digest = digest_of(sent.content)
    thumbnail_digest = None
    if recognised.is_image:
        small = off_the_hub(files.thumbnail, sent.content)
        thumbnail_digest = digest_of(small)
        store.put(thumbnail_digest, small, files.JPEG.content_type)
    store.put(digest, sent.content, recognised.content_type)
    row = CaseFile(
        attachment_id=make_id(), case_id=sent.case_id,
        name=files.display_name(sent.name, recognised), content_type=recognised.content_type,
        size=len(sent.content), sha256=digest, thumbnail_sha256=thumbnail_digest,
        uploaded_by=principal.user, uploaded_at=now,
    )  # fmt: skip
    info = _info(row).model_dump(mode="json")
    with uow:
        uow.files.add_file(row)
        uow.commit()
    return info


def _info(row: CaseFile) -> AttachmentInfo:
    return AttachmentInfo.model_validate(
        {"attachment_id": row.attachment_id, "name": row.name, "content_type": row.content_type,
         "size": row.size, "sha256": row.sha256}
    )  # fmt: skip


def served(
    uow: NotesFilesUnitOfWork,
    store: FileStore,
    dispatch: Dispatch,
    principal: domain.Principal,
    attachment_id: str,
    thumbnail: bool = False,
) -> Served:
    """A file (or its thumbnail) of a case within reach; anything else does not exist."""
    with uow:  # a read: what is needed is taken before the block ends (and the session)
        found = uow.files.file(attachment_id)
        row = StoredFile.of(found) if found is not None else None
    if row is None:
        raise NotFound(f"没有附件 {attachment_id}")
    cases.case_in_reach(dispatch, principal, row.case_id)
    recognised = files.of_content_type(row.content_type)
    if not thumbnail:
        disposition = files.content_disposition(row.name, recognised)
        return Served(store.get(row.sha256), row.content_type, disposition, row.sha256)
    if row.thumbnail_sha256 is None:
        raise NotFound(f"附件 {attachment_id} 没有缩略图")
    disposition = files.content_disposition(f"缩略图-{row.name}.jpg", files.JPEG)
    content = store.get(row.thumbnail_sha256)
    return Served(content, files.JPEG.content_type, disposition, row.thumbnail_sha256)


# --- the case, with its notes and files -------------------------------------------------------


def with_notes_and_files(uow: NotesFilesUnitOfWork, case: dict[str, Any]) -> dict[str, Any]:
    """The case JSON with its ``notes`` and ``attachments``, oldest first."""
    case_id = case["case_id"]
    with uow:  # a read: the rows are shown before the block ends (and the session with it)
        in_note: dict[str, list[str]] = {}
        uses_of: dict[str, list[AttachmentUse]] = {}
        for use in uow.files.uses_of(case_id):
            if use.note_id is not None:
                in_note.setdefault(use.note_id, []).append(use.attachment_id)
            shown = AttachmentUse.model_validate(
                {"used_with": use.used_with, "note_id": use.note_id, "by": use.by, "at": use.at}
            )
            uses_of.setdefault(use.attachment_id, []).append(shown)
        notes = [_note_view(n, in_note.get(n.note_id, [])) for n in uow.notes.notes_of(case_id)]
        rows = uow.files.files_of(case_id)
        attachments = [_file_view(row, uses_of.get(row.attachment_id, [])) for row in rows]
    return {**case, "notes": notes, "attachments": attachments}


def _note_view(note: CaseNote, attachments: list[str]) -> dict[str, Any]:
    shown = Note(note_id=note.note_id, author=note.author, at=note.at, text=note.text,
                 attachments=attachments)  # fmt: skip
    return shown.model_dump(mode="json")


def _file_view(row: CaseFile, uses: list[AttachmentUse]) -> dict[str, Any]:
    url = url_of(row.attachment_id)
    shown = CaseAttachment(
        **_info(row).model_dump(), uploaded_by=row.uploaded_by, uploaded_at=row.uploaded_at,
        url=url, thumbnail_url=f"{url}/thumbnail" if row.thumbnail_sha256 else None,
        used_with=uses,
    )  # fmt: skip
    return shown.model_dump(mode="json")


def case_with_files(
    uow: NotesFilesUnitOfWork, dispatch: Dispatch, principal: domain.Principal, case_id: str
) -> dict[str, Any]:
    """``GET /api/v1/cases/{id}``: the case within reach, its notes and files with it."""
    return with_notes_and_files(uow, cases.get_case(dispatch, principal, case_id))


def act(
    uow: NotesFilesUnitOfWork,
    dispatch: Dispatch,
    principal: domain.Principal,
    command: cases.Act,
    now: datetime,
    store: FileStore | None = None,
) -> dict[str, Any]:
    """A lifecycle action (``cases.act``), the files it names (feedback's and the
    conclusion's 现场照片) checked to be the case's before dispatch carries it out, and
    recorded with it after, and a petition's written notice kept (``notices``: with
    ``store``); the case after it, with its notes and files."""
    if command.action not in domain.LIFECYCLE_ACTIONS:
        raise NotFound(f"no action {command.action!r}")
    cases.case_in_reach(dispatch, principal, command.case_id)
    cases.must(principal, command.action)
    wanted = action_from(command.action, command.body)
    cases.must_decide(principal, wanted)
    named: list[str] = list(getattr(wanted, "attachments", []))
    if named:
        with uow:
            owned(uow.files, command.case_id, named)
    actor = cases.actor_of(principal, wanted.on_behalf_of)
    after = dispatch.act(command.case_id, for_dispatch(wanted), actor, command.key)
    if named:
        ref = f"v{after.get('version', '')}"
        with uow:
            for attachment_id in named:
                use = _use(attachment_id, command.case_id, command.action, ref, principal, now)
                uow.files.use(use)
            uow.commit()
    if store is not None and command.action in notices.NOTICE_STEPS:
        notice = notices.notice_for(command.action, after, command.body, now)
        keep_notice(uow, store, notice, after,
                    command.action, principal, now)  # fmt: skip
    return with_notes_and_files(uow, domain.shown_actions(principal, after))


def keep_notice(
    uow: NotesFilesUnitOfWork,
    store: FileStore,
    notice: notices.Notice,
    case: dict[str, Any],
    action: str,
    principal: domain.Principal,
    now: datetime,
) -> None:
    """A petition's written notice kept as a file of its case, once (``notices``)."""
    digest = digest_of(notice.content)
    store.put(digest, notice.content, files.HTML.content_type)
    with uow:
        if uow.files.file(notice.attachment_id) is not None:
            return
        uow.files.add_file(CaseFile(
            attachment_id=notice.attachment_id, case_id=case["case_id"], name=notice.name,
            content_type=files.HTML.content_type, size=len(notice.content), sha256=digest,
            thumbnail_sha256=None, uploaded_by=principal.user, uploaded_at=now,
        ))  # fmt: skip
        ref = f"v{case.get('version', '')}"
        uow.files.use(_use(notice.attachment_id, case["case_id"], action, ref, principal, now))
        uow.commit()
