"""Internal notes (内部备注) and files (附件: 现场照片, documents) on a case, as the console's
staff API receives and answers them. Both are the console's own: a note never travels in a
public event and the source's status endpoint never shows one."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field
from pydantic_core import PydanticCustomError

from contracts.common import Contract

MAX_ATTACHMENTS = 20
"""Files one note or action may name."""

ContentType = Literal["image/jpeg", "image/png", "image/webp", "application/pdf"]
"""What a file may be, recognised by its content (never by its name)."""

AttachmentId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]{32}$")]


def once_each(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise PydanticCustomError("repeated", "a file is named twice")
    return ids


AttachmentIds = Annotated[
    list[AttachmentId],
    AfterValidator(once_each),
    Field(
        max_length=MAX_ATTACHMENTS,
        json_schema_extra={"uniqueItems": True},
        description="files uploaded to this case before (POST …/attachments), by id",
    ),
]


def said(text: str) -> str:
    """The text without its surrounding blanks; blank text is refused as missing."""
    if not text.strip():
        raise PydanticCustomError("blank", "required text")
    return text.strip()


NoteText = Annotated[
    str, AfterValidator(said), Field(max_length=4000, json_schema_extra={"pattern": r"\S"})
]

UsedWith = Literal["note", "feedback", "conclude"]
"""What a file was attached to: a note, progress feedback, the conclusion (现场照片)."""


class NoteRequest(Contract):
    """``POST /api/v1/cases/{id}/notes``."""

    text: NoteText
    attachments: AttachmentIds = []


class Note(Contract):
    """An internal note (内部备注), as answered and as listed in the case's ``notes``."""

    note_id: str
    author: str
    at: AwareDatetime
    text: str
    attachments: list[str] = []


class AttachmentInfo(Contract):
    """The answer to an upload (``POST /api/v1/cases/{id}/attachments``)."""

    attachment_id: str
    name: str
    content_type: ContentType
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class AttachmentUse(Contract):
    """A note or an action the file went with."""

    used_with: UsedWith
    note_id: str | None = None
    by: str
    at: AwareDatetime


class CaseAttachment(AttachmentInfo):
    """A file as listed in the case's ``attachments``."""

    uploaded_by: str
    uploaded_at: AwareDatetime
    url: str = Field(description="GET: the bytes")
    thumbnail_url: str | None = Field(default=None, description="GET: a small JPEG (images)")
    used_with: list[AttachmentUse] = []
