"""``civicflow calendar``: how far the working calendar reaches, and installing the next
year's holiday arrangements (放假安排)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kit.settings import Settings


def cmd_calendar_check(args: argparse.Namespace, settings: Settings) -> int:
    """How far the working calendar reaches: chinesecalendar's years, then holidays.yml's."""
    from kernel.calendar import WorkingCalendar
    from kernel.config import ConfigError
    from kit.sla import read_holidays

    try:
        calendar = WorkingCalendar("chinese", read_holidays(settings.config_dir))
    except ConfigError as exc:
        print(f"calendar refused: {exc}", file=sys.stderr)
        return 1
    coverage = calendar.coverage()
    print(f"last known year: {coverage.last_year}")
    print(coverage.describe())
    return 0


def cmd_calendar_import(args: argparse.Namespace, settings: Settings) -> int:
    """Validate a holidays file and install it as the configuration directory's holidays.yml:
    dispatch and supervision count their next clocks on it (they watch the file)."""
    from kernel.config import ConfigError
    from kit.sla import HOLIDAYS_FILE, install_holidays

    source = Path(args.file)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{source}: cannot be read: {exc}", file=sys.stderr)
        return 1
    try:
        coverage = install_holidays(settings.config_dir, text)
    except ConfigError as exc:
        # the message names holidays.yml, the name it is checked under; say which file it was
        print(f"{source} refused, nothing installed:\n{exc}", file=sys.stderr)
        return 1
    print(f"installed {source} as {settings.config_dir / HOLIDAYS_FILE}")
    print(f"last known year: {coverage.last_year}")
    print(coverage.describe())
    return 0


def add_calendar(calendar: argparse.ArgumentParser) -> None:
    actions = calendar.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="print the last year the calendar knows")
    check.set_defaults(handler=cmd_calendar_check)
    install = actions.add_parser(
        "import", help="validate a holidays file and install it as holidays.yml"
    )
    install.add_argument("file", help="a holidays file in holidays.yml's format")
    install.set_defaults(handler=cmd_calendar_import)
