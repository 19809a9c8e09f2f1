from datetime import UTC, datetime, timedelta, timezone

import pytest

from kernel.clock import ManualClock, SystemClock

BEIJING = timezone(timedelta(hours=8))


def test_a_manual_clock_stands_still_until_moved() -> None:
    clock = ManualClock(datetime(2026, 12, 7, 22, 0, tzinfo=BEIJING))
    assert clock.now() == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(hours=3)) == datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    clock.set(datetime(2026, 12, 8, 9, 0, tzinfo=BEIJING))
    assert clock.now() == datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


def test_a_manual_clock_never_goes_back_and_keeps_its_zone() -> None:
    clock = ManualClock(datetime(2026, 12, 7, tzinfo=UTC))
    with pytest.raises(ValueError, match="never goes back"):
        clock.set(datetime(2026, 12, 6, tzinfo=UTC))
    with pytest.raises(ValueError, match="never goes back"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="zone"):
        ManualClock(datetime(2026, 12, 7))


def test_the_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5
