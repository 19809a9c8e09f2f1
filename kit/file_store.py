"""Files kept by their content: the bytes under their sha256, so the same photo sent twice is
stored once, and a database row need hold only the digest.

``FileStore`` is the one interface; ``LocalFileStore`` keeps the files under
``CIVICFLOW_DATA_DIR`` (the default), ``S3FileStore`` in an S3-compatible bucket (production:
an object store shared by every instance). ``file_store_from`` picks one from the settings:

- ``CIVICFLOW_FILE_STORE``: ``local`` (default) or ``s3``;
- for ``s3``: ``CIVICFLOW_S3_BUCKET`` (required), ``CIVICFLOW_S3_ENDPOINT_URL`` (none: AWS
  itself), ``CIVICFLOW_S3_REGION`` (default ``us-east-1``), ``CIVICFLOW_S3_ACCESS_KEY_ID`` and
  ``CIVICFLOW_S3_SECRET_ACCESS_KEY`` (none: boto3's own chain, e.g. an instance role),
  ``CIVICFLOW_S3_PREFIX`` (default ``files/``).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kernel.config import ConfigError
from kit.green import off_the_hub
from kit.settings import Settings

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class MissingFile(LookupError):
    """No file is stored under this digest."""


def digest_of(content: bytes) -> str:
    """The sha256 a file is kept under, in lowercase hex."""
    return hashlib.sha256(content).hexdigest()


def _checked(digest: str) -> str:
    # a digest becomes a path or a key: anything else could name a place outside the store
    if not _DIGEST.match(digest):
        raise ValueError(f"not a sha256 in lowercase hex: {digest!r}")
    return digest


def spread(digest: str) -> str:
    """``ab/cd/abcd…``: two levels of 256 folders keep any one folder small."""
    _checked(digest)
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


class FileStore(Protocol):
    """Bytes kept under their sha256. Storing the same content again changes nothing."""

    def put(self, digest: str, content: bytes, content_type: str) -> None:
        """Keep ``content`` under ``digest`` (which must be its sha256)."""
        ...

    def get(self, digest: str) -> bytes:
        """The bytes under ``digest``; ``MissingFile`` when there are none."""
        ...

    def has(self, digest: str) -> bool: ...


def _verified(digest: str, content: bytes) -> None:
    if digest_of(content) != _checked(digest):
        raise ValueError("the content does not have the digest it is stored under")


class LocalFileStore:
    """Files under ``root`` (``<data dir>/files/ab/cd/<sha256>``), each written to a temporary
    file beside it and renamed: a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, digest: str) -> Path:
        return self.root / spread(digest)

    def put(self, digest: str, content: bytes, content_type: str) -> None:
        _verified(digest, content)
        target = self.path_of(digest)
        if target.is_file():
            return
        # fsync blocks in the kernel: in a real thread, so the other greenlets go on
        off_the_hub(self._write, target, content)

    @staticmethod
    def _write(target: Path, content: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as part:
                part.write(content)
                part.flush()
                os.fsync(part.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, digest: str) -> bytes:
        try:
            return self.path_of(digest).read_bytes()
        except FileNotFoundError:
            raise MissingFile(digest) from None

    def has(self, digest: str) -> bool:
        return self.path_of(digest).is_file()


class S3FileStore:
    """Files as objects ``<prefix>ab/cd/<sha256>`` of a bucket, through a boto3 S3 client."""

    def __init__(self, client: Any, bucket: str, prefix: str = "files/") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def key_of(self, digest: str) -> str:
        return f"{self.prefix}{spread(digest)}"

    def put(self, digest: str, content: bytes, content_type: str) -> None:
        _verified(digest, content)
        if self.has(digest):
            return
        self.client.put_object(
            Bucket=self.bucket, Key=self.key_of(digest), Body=content, ContentType=content_type
        )

    def get(self, digest: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key_of(digest))
        except ClientError as exc:
            if _missing(exc):
                raise MissingFile(digest) from None
            raise
        content: bytes = answer["Body"].read()
        return content

    def has(self, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key_of(digest))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True


def _missing(exc: Any) -> bool:
    error = exc.response.get("Error", {})
    return str(error.get("Code")) in ("404", "NoSuchKey", "NotFound")


@dataclass(frozen=True)
class S3Settings:
    """Where the S3 store is and how to sign in to it (``CIVICFLOW_S3_*``)."""

    bucket: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    prefix: str = "files/"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> S3Settings:
        bucket = env.get("CIVICFLOW_S3_BUCKET", "")
        if not bucket:
            raise ConfigError("CIVICFLOW_FILE_STORE=s3 needs CIVICFLOW_S3_BUCKET")
        key, secret = (
            env.get("CIVICFLOW_S3_ACCESS_KEY_ID"),
            env.get("CIVICFLOW_S3_SECRET_ACCESS_KEY"),
        )
        if bool(key) != bool(secret):
            raise ConfigError(
                "CIVICFLOW_S3_ACCESS_KEY_ID and CIVICFLOW_S3_SECRET_ACCESS_KEY go together"
            )
        return cls(
            bucket=bucket,
            endpoint_url=env.get("CIVICFLOW_S3_ENDPOINT_URL") or None,
            region=env.get("CIVICFLOW_S3_REGION") or cls.region,
            access_key_id=key or None,
            secret_access_key=secret or None,
            prefix=env.get("CIVICFLOW_S3_PREFIX", cls.prefix),
        )


def s3_client(settings: S3Settings) -> Any:
    """A boto3 S3 client for ``settings``: path-style addressing, which every S3-compatible
    server (MinIO, Ceph, a cloud's own) understands, and SigV4."""
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        config=config,
    )


def file_store_from(settings: Settings, environ: Mapping[str, str] | None = None) -> FileStore:
    """The store ``CIVICFLOW_FILE_STORE`` names: ``local`` (default) or ``s3``."""
    env = os.environ if environ is None else environ
    kind = env.get("CIVICFLOW_FILE_STORE", "local") or "local"
    if kind == "local":
        return LocalFileStore(settings.data_dir / "files")
    if kind == "s3":
        s3 = S3Settings.from_env(env)
        return S3FileStore(s3_client(s3), s3.bucket, s3.prefix)
    raise ConfigError(f"CIVICFLOW_FILE_STORE={kind!r}: local or s3")
