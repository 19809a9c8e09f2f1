"""Test set-up shared by every layer: eventlet first, then the real broker and databases."""

from kit.green import patch

patch()  # the services under test run on eventlet, in this process

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.support import databases  # noqa: E402
from tests.support.harness import BASE_AMQP_URI, free_port, temporary_vhost  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def vhost_uri() -> Iterator[str]:
    """A RabbitMQ vhost of this test's own, deleted afterwards."""
    with temporary_vhost(BASE_AMQP_URI) as uri:
        yield uri


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on SQLite and, when it is reachable, on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with databases.temporary_postgres() as url:
        yield url


__all__ = ["BASE_AMQP_URI", "free_port"]
