"""The SLA policy as a service starts with it: ``sla.yml`` and the holiday arrangements of
``holidays.yml`` read from the configuration directory, and the calendar's reach published as a
metric, so that an alert fires before the working calendar runs out."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

from kernel.holidays import HolidayArrangements
from kernel.sla import SlaPolicy
from kernel.working_hours import HoursBook
from kit.metrics import CALENDAR_LAST_KNOWN_DAY


def read_holidays(config_dir: Path) -> HolidayArrangements:
    """holidays.yml's arrangements; none when the file is absent (chinesecalendar's years only)."""
    path = config_dir / "holidays.yml"
    if not path.exists():
        return HolidayArrangements()
    return HolidayArrangements.from_text(path.read_text(encoding="utf-8"), name=path.name)


def read_hours(config_dir: Path) -> HoursBook:
    """hours.yml's working hours of the units; the county's default when the file is absent."""
    path = config_dir / "hours.yml"
    if not path.exists():
        return HoursBook()
    return HoursBook.from_text(path.read_text(encoding="utf-8"), name=path.name)


def load_sla_policy(config_dir: Path) -> SlaPolicy:
    """sla.yml with holidays.yml's years in its calendar and hours.yml's working hours; sets
    the last-known-day gauge."""
    path = config_dir / "sla.yml"
    policy = SlaPolicy.from_text(
        path.read_text(encoding="utf-8"),
        name=path.name,
        holidays=read_holidays(config_dir),
        hours=read_hours(config_dir),
    )
    last_day = policy.calendar.coverage().last_day
    CALENDAR_LAST_KNOWN_DAY.set(datetime.combine(last_day, time(), tzinfo=UTC).timestamp())
    return policy
