"""The file store's promises, kept alike by both implementations: the local filesystem under
the data dir, and S3 (moto's S3 server, started here on a free port). Each test runs against
each store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.config import ConfigError
from kit.file_store import (
    FileStore,
    LocalFileStore,
    MissingFile,
    S3FileStore,
    S3Settings,
    digest_of,
    file_store_from,
)
from kit.settings import Settings
from tests.support import sample_files
from tests.support.s3_server import S3Server, s3_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    """Each store as ``file_store_from`` makes it from the settings and the environment."""
    settings = Settings(data_dir=tmp_path / "var")
    if request.param == "local":
        return file_store_from(settings, {})
    server: S3Server = request.getfixturevalue("s3")
    env = {**server.env(), "CIVICFLOW_S3_PREFIX": f"{tmp_path.name}/"}
    return file_store_from(settings, env)


def test_what_is_put_is_got_back_by_its_sha256(store: FileStore) -> None:
    photo = sample_files.jpeg()
    digest = digest_of(photo)
    assert not store.has(digest)
    store.put(digest, photo, "image/jpeg")
    assert store.has(digest)
    assert store.get(digest) == photo


def test_the_same_content_again_changes_nothing(store: FileStore) -> None:
    document = sample_files.pdf()
    digest = digest_of(document)
    store.put(digest, document, "application/pdf")
    store.put(digest, document, "application/pdf")
    assert store.get(digest) == document


def test_contents_are_kept_apart(store: FileStore) -> None:
    a, b = sample_files.png(), sample_files.webp()
    store.put(digest_of(a), a, "image/png")
    store.put(digest_of(b), b, "image/webp")
    assert (store.get(digest_of(a)), store.get(digest_of(b))) == (a, b)


def test_a_file_not_stored_is_missing(store: FileStore) -> None:
    with pytest.raises(MissingFile):
        store.get("0" * 64)
    assert not store.has("0" * 64)


def test_content_under_a_digest_not_its_own_is_refused(store: FileStore) -> None:
    with pytest.raises(ValueError):
        store.put("0" * 64, b"something else", "application/pdf")
    assert not store.has("0" * 64)


@pytest.mark.parametrize("digest", ["../../etc/passwd", "A" * 64, "0" * 63, ""])
def test_only_a_sha256_names_a_file(store: FileStore, digest: str) -> None:
    with pytest.raises(ValueError):
        store.get(digest)


def test_a_large_file_survives_the_round_trip(store: FileStore) -> None:
    content = b"%PDF-1.7\n" + os.urandom(10 * 1024 * 1024 - 9)
    digest = digest_of(content)
    store.put(digest, content, "application/pdf")
    assert digest_of(store.get(digest)) == digest


# --- where each keeps them ------------------------------------------------------------------


def test_the_filesystem_store_is_the_default_under_the_data_dir(tmp_path: Path) -> None:
    store = file_store_from(Settings(data_dir=tmp_path / "var"), {})
    assert isinstance(store, LocalFileStore)
    photo = sample_files.jpeg()
    digest = digest_of(photo)
    store.put(digest, photo, "image/jpeg")
    path = tmp_path / "var" / "files" / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == photo
    assert [p.name for p in path.parent.iterdir()] == [digest]  # no temporary file left


def test_the_s3_store_keeps_objects_under_its_prefix(s3: S3Server, tmp_path: Path) -> None:
    env = {**s3.env(), "CIVICFLOW_S3_PREFIX": "civicflow/files/"}
    store = file_store_from(Settings(data_dir=tmp_path), env)
    assert isinstance(store, S3FileStore)
    photo = sample_files.png()
    digest = digest_of(photo)
    store.put(digest, photo, "image/png")
    key = f"civicflow/files/{digest[:2]}/{digest[2:4]}/{digest}"
    head = s3.client().head_object(Bucket=s3.bucket, Key=key)  # type: ignore[attr-defined]
    assert head["ContentType"] == "image/png" and head["ContentLength"] == len(photo)
    assert not (tmp_path / "files").exists()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"CIVICFLOW_FILE_STORE": "ftp"}, "local or s3"),
        ({"CIVICFLOW_FILE_STORE": "s3"}, "CIVICFLOW_S3_BUCKET"),
        ({"CIVICFLOW_FILE_STORE": "s3", "CIVICFLOW_S3_BUCKET": "b",
          "CIVICFLOW_S3_ACCESS_KEY_ID": "k"}, "go together"),
    ],
)  # fmt: skip
def test_a_wrong_setting_is_refused_at_the_start(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        file_store_from(Settings(), env)


def test_s3_settings_have_their_documented_defaults() -> None:
    settings = S3Settings.from_env({"CIVICFLOW_S3_BUCKET": "cases"})
    assert settings == S3Settings(bucket="cases", endpoint_url=None, region="us-east-1",
                                  access_key_id=None, secret_access_key=None,
                                  prefix="files/")  # fmt: skip
