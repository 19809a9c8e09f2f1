"""A local server that speaks S3 (moto in server mode), started by the test that needs it on
a free port of the loopback, with a bucket of its own; and the environment that points the
console's file store at it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.support.harness import free_port

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str

    def env(self) -> dict[str, str]:
        """``CIVICFLOW_FILE_STORE=s3`` and the rest, as production would set them."""
        return {
            "CIVICFLOW_FILE_STORE": "s3",
            "CIVICFLOW_S3_ENDPOINT_URL": self.endpoint_url,
            "CIVICFLOW_S3_BUCKET": self.bucket,
            "CIVICFLOW_S3_REGION": REGION,
            "CIVICFLOW_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "CIVICFLOW_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def client(self) -> object:
        from kit.file_store import S3Settings, s3_client

        settings = S3Settings(bucket=self.bucket, endpoint_url=self.endpoint_url,
                              access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)  # fmt: skip
        return s3_client(settings)


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3 on 127.0.0.1, a fresh bucket in it; stopped afterwards."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        found = S3Server(f"http://127.0.0.1:{port}", f"civicflow-test-{uuid.uuid4().hex[:10]}")
        found.client().create_bucket(Bucket=found.bucket)  # type: ignore[attr-defined]
        yield found
    finally:
        server.stop()
