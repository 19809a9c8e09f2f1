"""Notes and files handlers (``services.console.notes_files``) against the fakes: a note and
its files, an upload kept with its thumbnail and nothing kept on a refusal, files served
only within reach, the case JSON with them, feedback and the conclusion naming files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from pydantic import ValidationError

from kit.file_store import digest_of
from services.console import cases, files, notes_files
from services.console.domain import Principal
from services.console.refusals import BadField, NotFound, NotPermitted
from tests.support import sample_files
from tests.support.fake_console import FakeDispatch
from tests.support.fake_console_files import FakeFileStore, FakeNotesFilesUnitOfWork

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
ADMIN = Principal("admin", "admin", 0)
HBJ = Principal("hbj", "handler", 0, "D-HBJ")
ZJJ = Principal("zjj", "handler", 0, "D-ZJJ")
SUPERVISOR = Principal("street", "supervisor", 0, "S-001")


def case(case_id: str = "CF-1", unit: str = "D-HBJ") -> dict[str, Any]:
    return {"case_id": case_id, "status": "accepted", "version": 4,
            "assignee": {"kind": "department", "code": unit, "name": unit},
            "actions": ["feedback", "conclude", "extend"], "timeline": [],
            "place": [{"code": "G-001"}, {"code": "S-001"}]}  # fmt: skip


@pytest.fixture
def dispatch() -> FakeDispatch:
    return FakeDispatch(case("CF-1"), case("CF-2"), case("CF-ZJJ", unit="D-ZJJ"))


@pytest.fixture
def uow() -> FakeNotesFilesUnitOfWork:
    return FakeNotesFilesUnitOfWork()


@pytest.fixture
def store() -> FakeFileStore:
    return FakeFileStore()


def ids() -> notes_files.NewId:
    numbers = count(1)
    return lambda: f"{next(numbers):032x}"


def upload(
    uow: FakeNotesFilesUnitOfWork,
    store: FakeFileStore,
    dispatch: FakeDispatch,
    content: bytes,
    case_id: str = "CF-1",
    who: Principal = HBJ,
    name: str = "现场照片.jpg",
    make_id: notes_files.NewId | None = None,
) -> dict[str, Any]:
    sent = notes_files.Upload(case_id, name, content)
    return notes_files.upload(uow, store, dispatch, who, sent, NOW, make_id or ids())


# --- notes ----------------------------------------------------------------------------------


def test_a_note_is_kept_with_its_author_and_time_and_listed_with_the_case(
    uow: FakeNotesFilesUnitOfWork, dispatch: FakeDispatch
) -> None:
    note = notes_files.add_note(
        uow, dispatch, HBJ, "CF-1", {"text": "  已电话联系，下午到场 "}, NOW
    )
    assert note == {"note_id": note["note_id"], "author": "hbj", "at": "2026-11-21T02:00:00Z",
                    "text": "已电话联系，下午到场", "attachments": []}  # fmt: skip
    shown = notes_files.case_with_files(uow, dispatch, HBJ, "CF-1")
    assert shown["notes"] == [note]
    assert notes_files.case_with_files(uow, dispatch, HBJ, "CF-2")["notes"] == []
    assert dispatch.acted == []  # nothing goes to dispatch: no event can carry it


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "text"), ({"text": "   "}, "text"), ({"text": 5}, "text"), ({"text": "x" * 4001}, "text"),
     ({"text": "好", "attachments": "abc"}, "attachments"),
     ({"text": "好", "attachments": ["a" * 32, "a" * 32]}, "attachments"),
     ({"text": "好", "secret": 1}, "secret")],
)  # fmt: skip
def test_a_bad_note_is_refused_naming_the_field_and_nothing_is_kept(
    uow: FakeNotesFilesUnitOfWork, dispatch: FakeDispatch, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        notes_files.add_note(uow, dispatch, HBJ, "CF-1", body, NOW)
    assert {str(e["loc"][0]) for e in refused.value.errors()} == {field}
    assert uow.committed.notes == []


def test_a_note_names_files_of_its_own_case_only(
    uow: FakeNotesFilesUnitOfWork, store: FakeFileStore, dispatch: FakeDispatch
) -> None:
    mine = upload(uow, store, dispatch, sample_files.jpeg(), make_id=lambda: "1" * 32)
    other = upload(uow, store, dispatch, sample_files.png(), "CF-2", make_id=lambda: "2" * 32)
    for strangers in ([other["attachment_id"]], ["f" * 32, mine["attachment_id"]]):
        body = {"text": "见附件", "attachments": strangers}
        with pytest.raises(BadField) as refused:
            notes_files.add_note(uow, dispatch, HBJ, "CF-1", body, NOW)
        assert refused.value.field == "attachments"
        assert strangers[0] in refused.value.problem
    assert uow.committed.notes == [] and uow.committed.uses == []
    body = {"text": "见附件", "attachments": [mine["attachment_id"]]}
    note = notes_files.add_note(uow, dispatch, HBJ, "CF-1", body, NOW)
    assert note["attachments"] == [mine["attachment_id"]]
    shown = notes_files.case_with_files(uow, dispatch, HBJ, "CF-1")
    assert shown["notes"][0]["attachments"] == [mine["attachment_id"]]
    [use] = shown["attachments"][0]["used_with"]
    assert (use["used_with"], use["note_id"], use["by"]) == ("note", note["note_id"], "hbj")


def test_outside_reach_a_case_has_no_notes_to_read_or_add(
    uow: FakeNotesFilesUnitOfWork, dispatch: FakeDispatch
) -> None:
    notes_files.add_note(uow, dispatch, HBJ, "CF-1", {"text": "内部意见"}, NOW)
    with pytest.raises(NotFound):
        notes_files.add_note(uow, dispatch, ZJJ, "CF-1", {"text": "看看"}, NOW)
    with pytest.raises(NotFound):
        notes_files.case_with_files(uow, dispatch, ZJJ, "CF-1")
    with pytest.raises(NotFound):
        notes_files.add_note(uow, dispatch, ADMIN, "CF-NONE", {"text": "看看"}, NOW)
    assert len(uow.committed.notes) == 1


# --- files ----------------------------------------------------------------------------------


def test_an_image_is_kept_by_its_sha256_with_a_thumbnail(
    uow: FakeNotesFilesUnitOfWork, store: FakeFileStore, dispatch: FakeDispatch
) -> None:
    photo = sample_files.jpeg((1600, 1200))
    info = upload(uow, store, dispatch, photo, name="C:\\相机\\现场照片.jpg")
    digest = digest_of(photo)
    assert info == {"attachment_id": info["attachment_id"], "name": "现场照片.jpg",
                    "content_type": "image/jpeg", "size": len(photo), "sha256": digest}  # fmt: skip
    assert store.blobs[digest] == photo and store.types[digest] == "image/jpeg"
    row = uow.committed.files[info["attachment_id"]]
    assert row.thumbnail_sha256 in store.blobs and row.uploaded_by == "hbj"
    thumb = notes_files.served(uow, store, dispatch, HBJ, info["attachment_id"], thumbnail=True)
    assert thumb.content_type == "image/jpeg" and thumb.content.startswith(b"\xff\xd8\xff")
    assert len(thumb.content) < len(photo)


def test_a_pdf_is_kept_without_a_thumbnail_and_saved_rather_than_shown(
    uow: FakeNotesFilesUnitOfWork, store: FakeFileStore, dispatch: FakeDispatch
) -> None:
    info = upload(uow, store, dispatch, sample_files.pdf(), name="整改报告.pdf")
    assert info["content_type"] == "application/pdf" and store.puts == 1
    found = notes_files.served(uow, store, dispatch, HBJ, info["attachment_id"])
    assert found.content == sample_files.pdf() and found.content_type == "application/pdf"
    assert found.disposition.startswith("attachment; ") and found.etag == info["sha256"]
    with pytest.raises(NotFound):
        notes_files.served(uow, store, dispatch, HBJ, info["attachment_id"], thumbnail=True)


def test_the_name_decides_nothing(
    uow: FakeNotesFilesUnitOfWork, store: FakeFileStore, dispatch: FakeDispatch
) -> None:
    info = upload(uow, store, dispatch, sample_files.png(), name="报告.pdf")
    assert info["content_type"] == "image/png" and info["name"] == "报告.pdf"
    with pytest.raises(files.NotAllowed):
        upload(uow, store, dispatch, sample_files.html_page(), name="照片.jpg")


@pytest.mark.parametrize(
    ("content", "refusal"),
    [(sample_files.gif(), files.NotAllowed), (sample_files.jpeg_impostor(), files.NotAllowed),
     (b"%PDF-1.4" + b"0" * files.MAX_FILE_BYTES, files.TooLarge)],
)  # fmt: skip
def test_nothing_is_kept_on_a_refusal(
    uow: FakeNotesFilesUnitOfWork,
    store: FakeFileStore,
    dispatch: FakeDispatch,
    content: bytes,
    refusal: type[Exception],
) -> None:
    with pytest.raises(refusal):
        upload(uow, store, dispatch, content)
    assert store.blobs == {} and uow.committed.files == {} and uow.commits == 0


def test_outside_reach_nothing_is_uploaded_and_no_file_is_served(
    uow: FakeNotesFilesUnitOfWork, store: FakeFileStore, dispatch: FakeDispatch
) -> None:
    with pytest.raises(NotFound):
        upload(uow, store, dispatch, sample_files.jpeg(), who=ZJJ)
    assert store.blobs == {}
    info = upload(uow, store, dispatch, sample_files.jpeg())
    for thumbnail in (False, True):
        with pytest.raises(NotFound):
            notes_files.served(uow, store, dispatch, ZJJ, info["attachment_id"], thumbnail)
        with pytest.raises(NotFound):  # an unknown id answers the same
            notes_files.served(uow, store, dispatch, ZJJ, "0" * 32, thumbnail)
    assert notes_files.served(uow, store, dispatch, ADMIN, info["attachment_id"]).content


def test_the_case_lists_its_files_oldest_first_with_their_urls(
    uow: FakeNotesFilesUnitOfWork, store: FakeFileStore, dispatch: FakeDispatch
) -> None:
    make_id = ids()
    first = upload(uow, store, dispatch, sample_files.pdf(), name="a.pdf", make_id=make_id)
    later = notes_files.Upload("CF-1", "b.webp", sample_files.webp())
    notes_files.upload(uow, store, dispatch, HBJ, later, NOW + timedelta(minutes=1), make_id)
    listed = notes_files.case_with_files(uow, dispatch, HBJ, "CF-1")["attachments"]
    assert [f["name"] for f in listed] == ["a.pdf", "b.webp"]
    assert listed[0]["url"] == f"/api/v1/attachments/{first['attachment_id']}"
    assert listed[0]["thumbnail_url"] is None
    assert listed[1]["thumbnail_url"] == f"{listed[1]['url']}/thumbnail"
    assert listed[1]["uploaded_by"] == "hbj" and listed[1]["used_with"] == []


# --- feedback and the conclusion with their 现场照片 ------------------------------------------


def act(action: str, body: dict[str, Any], case_id: str = "CF-1", key: str | None = None) -> Any:
    return cases.Act(case_id, action, body, key)


def test_feedback_names_its_photos_and_the_case_shows_which_action_they_went_with(
    uow: FakeNotesFilesUnitOfWork, store: FakeFileStore, dispatch: FakeDispatch
) -> None:
    photo = upload(uow, store, dispatch, sample_files.jpeg())["attachment_id"]
    wanted = act("feedback", {"note": "已到场处置", "attachments": [photo]}, key="k-1")
    after = notes_files.act(uow, dispatch, HBJ, wanted, NOW)
    [(case_id, sent, actor, key)] = dispatch.acted
    assert (case_id, sent["action"], sent["note"], key) == ("CF-1", "feedback", "已到场处置", "k-1")
    assert actor == {"user": "hbj", "role": "handler", "unit": "D-HBJ"}
    assert "attachments" not in sent  # the console's own: dispatch has no use for them
    [use] = after["attachments"][0]["used_with"]
    assert (use["used_with"], use["by"], use["note_id"]) == ("feedback", "hbj", None)
    assert after["notes"] == [] and after["actions"] == ["feedback", "conclude", "extend"]
    notes_files.act(uow, dispatch, HBJ, wanted, NOW)  # the same request again: one use
    assert len(uow.committed.uses) == 1


def test_an_action_naming_a_file_of_another_case_is_refused_before_dispatch_acts(
    uow: FakeNotesFilesUnitOfWork, store: FakeFileStore, dispatch: FakeDispatch
) -> None:
    other = upload(uow, store, dispatch, sample_files.jpeg(), "CF-2")["attachment_id"]
    for named in ([other], ["e" * 32]):
        with pytest.raises(BadField) as refused:
            notes_files.act(
                uow, dispatch, HBJ, act("conclude", {"result": "已办结", "attachments": named}), NOW
            )
        assert refused.value.field == "attachments"
    with pytest.raises(ValidationError) as invalid:
        notes_files.act(uow, dispatch, HBJ, act("conclude", {"result": "好", "attachments": [1]}),
                        NOW)  # fmt: skip
    assert invalid.value.errors()[0]["loc"][0] == "attachments"
    assert dispatch.acted == [] and uow.committed.uses == []


def test_an_action_without_files_is_carried_out_as_before_and_its_answer_has_the_files(
    uow: FakeNotesFilesUnitOfWork, store: FakeFileStore, dispatch: FakeDispatch
) -> None:
    upload(uow, store, dispatch, sample_files.png())
    after = notes_files.act(uow, dispatch, HBJ, act("feedback", {"note": "处理中"}), NOW)
    assert dispatch.acted[0][1] == {
        "action": "feedback", "note": "处理中", "expected_version": None,
        "on_behalf_of": None}  # fmt: skip
    assert len(after["attachments"]) == 1 and after["attachments"][0]["used_with"] == []


def test_actions_keep_their_reach_and_role_rules(
    uow: FakeNotesFilesUnitOfWork, dispatch: FakeDispatch
) -> None:
    with pytest.raises(NotFound):
        notes_files.act(uow, dispatch, ZJJ, act("feedback", {"note": "x"}), NOW)
    with pytest.raises(NotPermitted):
        notes_files.act(uow, dispatch, SUPERVISOR, act("feedback", {"note": "x"}, "CF-1"), NOW)
    with pytest.raises(NotFound):
        notes_files.act(uow, dispatch, HBJ, act("fly", {}), NOW)
    assert dispatch.acted == []
