"""``UtcDateTime`` on SQLite writes and reads exactly what SQLAlchemy's own DATETIME does (the
format rows already stored have), in UTC; naive times are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from kit.db import UtcDateTime

SQLITE = sqlite.dialect()
BEIJING = timezone(timedelta(hours=8))
TIMES = [
    datetime(2026, 12, 6, 18, 30, 0, 1234, tzinfo=BEIJING),
    datetime(2026, 12, 6, 18, 30, 0, 0, tzinfo=BEIJING),  # no fraction: still six digits
    datetime(2027, 1, 1, 0, 0, 0, 999999, tzinfo=UTC),
    datetime(999, 3, 4, 5, 6, 7, 8, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
]


def sqlalchemys_text(value: datetime) -> str:
    process = DateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert process is not None
    return str(process(value.astimezone(UTC).replace(tzinfo=None)))


@pytest.mark.parametrize("value", TIMES)
def test_a_time_is_written_as_sqlalchemy_writes_it_and_read_back_the_same(value: datetime) -> None:
    write = UtcDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    read = UtcDateTime().dialect_impl(SQLITE).result_processor(SQLITE, None)
    assert write is not None and read is not None
    text = write(value)
    assert text == sqlalchemys_text(value)
    back = read(text)
    assert back == value and back.tzinfo == UTC
    assert DateTime().dialect_impl(SQLITE).result_processor(SQLITE, None)(text) == back.replace(
        tzinfo=None
    )


def test_nothing_stays_nothing_and_a_naive_time_is_refused() -> None:
    write = UtcDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    read = UtcDateTime().dialect_impl(SQLITE).result_processor(SQLITE, None)
    assert write is not None and read is not None
    assert write(None) is None and read(None) is None
    with pytest.raises(ValueError, match="naive datetime refused"):
        write(datetime(2026, 12, 6, 18, 30))


def test_postgresql_keeps_sqlalchemys_processing() -> None:
    dialect = postgresql.psycopg2.dialect()
    write = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert write is not None
    value = datetime(2026, 12, 6, 18, 30, tzinfo=BEIJING)
    assert write(value) == value and write(value).tzinfo == UTC
