"""The SLA policy as a service starts with it: ``sla.yml`` and the holiday arrangements of
``holidays.yml`` read from the configuration directory, and the calendar's reach published as a
metric, so that an alert fires before the working calendar runs out."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Final

from kernel.calendar import Coverage, WorkingCalendar
from kernel.holidays import HolidayArrangements
from kernel.sla import SlaPolicy
from kernel.working_hours import HoursBook
from kit.metrics import CALENDAR_LAST_KNOWN_DAY

HOLIDAYS_FILE: Final = "holidays.yml"
"""The file of the configuration directory the services watch: installing a new one (by
``install_holidays``) makes dispatch and supervision count the next worker's clocks on it."""


def read_holidays(config_dir: Path) -> HolidayArrangements:
    """holidays.yml's arrangements; none when the file is absent (chinesecalendar's years only)."""
    path = config_dir / HOLIDAYS_FILE
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


def calendar_coverage(config_dir: Path) -> Coverage:
    """How far the working calendar reaches with the installed holidays.yml."""
    return WorkingCalendar("chinese", read_holidays(config_dir)).coverage()


def install_holidays(config_dir: Path, text: str) -> Coverage:
    """Validate ``text`` as holidays.yml (``HolidaysError`` naming the line and the field) and
    install it in ``config_dir`` in one step: a complete new file replaces the old one, so a
    service reloading it never reads half a file. Returns how far the calendar now reaches."""
    arrangements = HolidayArrangements.from_text(text, name=HOLIDAYS_FILE)
    config_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".holidays-", suffix=".yml", dir=config_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, config_dir / HOLIDAYS_FILE)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return WorkingCalendar("chinese", arrangements).coverage()
