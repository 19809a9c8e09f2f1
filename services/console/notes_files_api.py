"""Console's entrypoints for notes and files (``notes_files``), a mixin of ``ConsoleService``:
each decodes the request, calls a handler and answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from kit.file_store import FileStore, file_store_from
from kit.logs import about
from kit.providers import Configured
from kit.web import (
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    declared_over,
    http,
    json_response,
)
from services.console import cases, files, notes_files
from services.console.edge import answers, optional_json
from services.console.notes_files_store import SqlNotesFilesUnitOfWork

if TYPE_CHECKING:
    from kernel.clock import Clock
    from kit.providers import WorkerDatabase
    from services.console.domain import Principal
    from services.console.ports import Dispatch

MAX_UPLOAD_BODY = files.MAX_FILE_BYTES + files.MULTIPART_OVERHEAD
"""A multipart body larger than this holds a file over the limit: refused early."""


class NotesFilesEntrypoints:
    """内部备注 and 附件 of a case; the case JSON with them; actions that name files."""

    file_store: FileStore = Configured(file_store_from)

    if TYPE_CHECKING:
        db: WorkerDatabase
        dispatch: Dispatch
        clock: Clock

        def _principal(self, request: Request, token: str | None = None) -> Principal: ...

    @http("POST", "/api/v1/cases/<string:case_id>/notes")
    def add_note(self, request: Request, case_id: str) -> Response:
        principal, body = self._principal(request), optional_json(request)
        uow, now = self._notes_files(), self.clock.now()
        with about(case_id=case_id), answers():
            note = notes_files.add_note(uow, self.dispatch, principal, case_id, body, now)
        return json_response(note, status=201)

    @http("POST", "/api/v1/cases/<string:case_id>/attachments")
    def add_attachment(self, request: Request, case_id: str) -> Response:
        principal = self._principal(request)
        name, content = uploaded_file(request)
        sent, uow = notes_files.Upload(case_id, name, content), self._notes_files()
        with about(case_id=case_id), answers(), refused_files():
            info = notes_files.upload(
                uow, self.file_store, self.dispatch, principal, sent, self.clock.now()
            )
        return json_response(info, status=201)

    @http("GET", "/api/v1/attachments/<string:attachment_id>")
    def attachment(self, request: Request, attachment_id: str) -> Response:
        return self._serve(request, attachment_id, thumbnail=False)

    @http("GET", "/api/v1/attachments/<string:attachment_id>/thumbnail")
    def attachment_thumbnail(self, request: Request, attachment_id: str) -> Response:
        return self._serve(request, attachment_id, thumbnail=True)

    # --- what service.py's case entrypoints call ---

    def case_with_files(self, principal: Principal, case_id: str) -> dict[str, Any]:
        """The case within reach, with its notes and files."""
        return notes_files.case_with_files(self._notes_files(), self.dispatch, principal, case_id)

    def act_on_case(self, principal: Principal, wanted: cases.Act) -> dict[str, Any]:
        """A lifecycle action; the files it names recorded with it."""
        uow, now = self._notes_files(), self.clock.now()
        return notes_files.act(uow, self.dispatch, principal, wanted, now, self.file_store)

    def _serve(self, request: Request, attachment_id: str, thumbnail: bool) -> Response:
        principal = self._principal(request)
        with answers():
            found = notes_files.served(
                self._notes_files(), self.file_store, self.dispatch, principal, attachment_id,
                thumbnail,
            )  # fmt: skip
        answer = Response(found.content, mimetype=found.content_type, headers={
            "X-Content-Type-Options": "nosniff", "Content-Disposition": found.disposition,
            "Cache-Control": "private, no-cache"})  # fmt: skip
        answer.set_etag(found.etag)
        return answer.make_conditional(request)

    def _notes_files(self) -> SqlNotesFilesUnitOfWork:
        return SqlNotesFilesUnitOfWork(self.db.unit_of_work)


def uploaded_file(request: Request) -> tuple[str | None, bytes]:
    """The one ``file`` of a ``multipart/form-data`` body: its name and bytes. A body over
    the limit is refused before it is read (413); a file over the limit too, as it is read."""
    if declared_over(request, MAX_UPLOAD_BODY):
        raise PayloadTooLarge([{"loc": ["file"], "msg": files.REFUSED_SIZE}])
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType([{"loc": [], "msg": "请以 multipart/form-data 上传一个 file"}])
    request.max_content_length = MAX_UPLOAD_BODY
    try:
        sent = request.files.getlist("file")
    except RequestEntityTooLarge:
        raise PayloadTooLarge([{"loc": ["file"], "msg": files.REFUSED_SIZE}]) from None
    if len(sent) != 1:
        raise Unprocessable([{"loc": ["file"], "msg": "请上传且只上传一个文件"}])
    return sent[0].filename, read_within_limit(sent[0])


def read_within_limit(sent: FileStorage) -> bytes:
    content: bytes = sent.stream.read(files.MAX_FILE_BYTES + 1)
    if files.too_large(len(content)):
        raise PayloadTooLarge([{"loc": ["file"], "msg": files.REFUSED_SIZE}])
    return content


@contextmanager
def refused_files() -> Iterator[None]:
    """A file the console will not keep, as 413 or 415 naming ``file``."""
    try:
        yield
    except files.TooLarge as exc:
        raise PayloadTooLarge([{"loc": ["file"], "msg": str(exc)}]) from None
    except files.NotAllowed as exc:
        raise UnsupportedMediaType([{"loc": ["file"], "msg": str(exc)}]) from None
