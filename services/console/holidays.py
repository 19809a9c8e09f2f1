"""The working calendar in the console: how far it reaches, the banner asking for the next
year's holiday arrangements (节假日安排), and an admin's upload of holidays.yml.

An upload is validated as ``civicflow calendar import`` validates a file, then installed in the
configuration directory; dispatch and supervision watch that file (``Configured(reload_on=…)``)
and count their next clocks on it.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Final

from kernel.calendar import Coverage, renewal_notice
from kernel.config import ConfigError
from kit.sla import HOLIDAYS_FILE, calendar_coverage, install_holidays
from services.console.refusals import BadField, Clash

MAX_FILE_CHARS: Final = 100_000
_PROBLEM: Final = re.compile(
    r"^(?P<file>\S+?)(?: line (?P<line>\d+))?: (?:(?P<field>[^\s:]+): )?(?P<msg>.*)$"
)
READ_ONLY: Final = (
    "此处的配置目录不可写（由部署统一管理），请在部署的配置中用 civicflow calendar import 导入"
)
BROKEN_NOTICE: Final = "节假日安排文件有误，工单时限无法按节假日计算，请重新导入"
IN_CHINESE: Final = (
    ("listed both as a holiday and as a working day", "同一天既列为放假又列为调休上班"),
    ("not a Saturday or Sunday", "调休上班日须为周六或周日"),
    ("is not in", "日期不在所属年份内"),
    ("is before from", "结束日期早于开始日期"),
    ("must be a year like", "年份须为四位数字，如2027"),
    ("given twice", "重复填写"),
    ("Extra inputs are not permitted", "无法识别的字段"),
    ("Field required", "缺少必填字段"),
    ("date", "日期无效（须为存在的日期，格式如2027-01-01）"),
    ("not valid YAML", "文件格式有误，无法解析"),
)
"""The validator's English problems as the admin reads them (the English stays in ``detail``);
the first pattern found in the message wins."""


class HolidaysRefused(Exception):
    """An uploaded holidays file that does not validate: one entry per problem."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(problems[0]["msg"] if problems else "refused")
        self.problems = problems


def coverage_view(coverage: Coverage, today: date) -> dict[str, Any]:
    return {
        "last_year": coverage.last_year,
        "last_day": coverage.last_day.isoformat(),
        "file_years": list(coverage.file_years),
        "notice": renewal_notice(coverage, today),
    }


def calendar_status(config_dir: Path, today: date) -> dict[str, Any]:
    """What the banner shows: the last known year, and the notice once it is near its end."""
    try:
        coverage = calendar_coverage(config_dir)
    except ConfigError:
        # the services refuse to start on it; the running ones keep the calendar they had
        return {"last_year": None, "last_day": None, "file_years": [], "notice": BROKEN_NOTICE}
    return coverage_view(coverage, today)


def current_file(config_dir: Path, today: date) -> dict[str, Any]:
    """The installed holidays.yml, and how far it takes the calendar."""
    path = config_dir / HOLIDAYS_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return {"text": text, **calendar_status(config_dir, today)}


def upload(config_dir: Path, body: dict[str, Any], today: date) -> dict[str, Any]:
    """Validate the uploaded text and install it; ``HolidaysRefused`` names line and field."""
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadField("text", "the holidays file's text (holidays.yml's format)")
    if len(text) > MAX_FILE_CHARS:
        raise BadField("text", f"at most {MAX_FILE_CHARS} characters")
    try:
        coverage = install_holidays(config_dir, text)
    except ConfigError as exc:
        raise HolidaysRefused(problems_of(exc)) from None
    except OSError:
        # a deployment whose configuration is a read-only ConfigMap: it changes there
        raise Clash(READ_ONLY) from None
    return coverage_view(coverage, today)


def in_chinese(problem: str) -> str:
    return next((said for words, said in IN_CHINESE if words in problem), "内容有误")


def problems_of(exc: ConfigError) -> list[dict[str, Any]]:
    """A validation message (one ``file line N: field: problem`` a line) as the public error
    list, each entry with its line, its field's path, the problem in Chinese (``msg``) and in
    the validator's words (``detail``)."""
    problems: list[dict[str, Any]] = []
    for line in str(exc).splitlines():
        found = _PROBLEM.match(line)
        if found is None:
            problems.append({"loc": ["text"], "msg": in_chinese(line), "detail": line})
            continue
        field = found["field"]
        problems.append({
            "loc": ["text", *(field.split(".") if field else [])],
            "msg": in_chinese(found["msg"]), "detail": found["msg"],
            "file": found["file"], "line": int(found["line"]) if found["line"] else None,
        })  # fmt: skip
    return problems
