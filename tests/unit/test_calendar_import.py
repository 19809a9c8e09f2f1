"""Installing the next year's holiday arrangements: ``civicflow calendar import``, the
console's upload (its validation and its error list), the banner's window, and the services'
reload of holidays.yml when it is replaced."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from civicflow.cli import main
from kernel.calendar import NOTICE_DAYS, WorkingCalendar, renewal_notice
from kernel.holidays import HolidayArrangements, HolidaysError
from kit.providers import Configured
from kit.reloading import FileWatch
from kit.settings import Settings
from kit.sla import HOLIDAYS_FILE, install_holidays, read_holidays
from services.console import holidays
from services.console.refusals import BadField
from tests.unit.test_kernel_calendar import FIXTURE, YEAR

WRONG = FIXTURE.replace(f"date: {YEAR}-02-07", f"date: {YEAR}-02-10")
"""The make-up day put on a day of the 春节 holiday: refused at line 11."""


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "config"
    target.mkdir()
    monkeypatch.setenv("CIVICFLOW_CONFIG_DIR", str(target))
    return target


def test_import_installs_the_file_and_prints_the_last_year_it_now_knows(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "holidays-next.yml"
    source.write_text(FIXTURE, encoding="utf-8")
    assert main(["calendar", "import", str(source)]) == 0
    printed = capsys.readouterr().out
    assert f"last known year: {YEAR}\n" in printed
    assert (config_dir / HOLIDAYS_FILE).read_text(encoding="utf-8") == FIXTURE
    assert read_holidays(config_dir).years == frozenset({YEAR})
    assert [p.name for p in config_dir.iterdir()] == [HOLIDAYS_FILE]  # no temporary left


def test_import_refuses_a_wrong_file_naming_line_and_field_and_installs_nothing(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config_dir / HOLIDAYS_FILE).write_text("years: {}\n", encoding="utf-8")
    source = tmp_path / "holidays-next.yml"
    source.write_text(WRONG, encoding="utf-8")
    assert main(["calendar", "import", str(source)]) == 1
    err = capsys.readouterr().err
    assert str(source) in err
    assert (f"holidays.yml line 11: years.{YEAR}.working_days[0].date: {YEAR}-02-10 is listed "
            "both as a holiday and as a working day") in err  # fmt: skip
    assert (config_dir / HOLIDAYS_FILE).read_text(encoding="utf-8") == "years: {}\n"
    assert main(["calendar", "import", str(tmp_path / "absent.yml")]) == 1


def test_an_impossible_date_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(HolidaysError, match=rf"^holidays.yml line 8: years\.{YEAR}\.holidays"):
        install_holidays(tmp_path, FIXTURE.replace(f"to: {YEAR}-02-14", f"to: {YEAR}-02-30"))
    assert not (tmp_path / HOLIDAYS_FILE).exists()


def test_the_banner_shows_from_60_days_before_the_last_known_day() -> None:
    coverage = WorkingCalendar("chinese", HolidayArrangements.from_text(FIXTURE)).coverage()
    last = date(YEAR, 12, 31)
    assert NOTICE_DAYS == 60
    assert renewal_notice(coverage, last - timedelta(days=61)) is None
    text = f"节假日安排仅到{YEAR}年12月31日，请导入下一年的安排"
    assert renewal_notice(coverage, last - timedelta(days=60)) == text
    assert renewal_notice(coverage, last + timedelta(days=3)) == text  # and once it has run out


def test_the_console_s_upload_installs_a_good_file_and_lists_a_wrong_one_s_problems(
    tmp_path: Path,
) -> None:
    today = date(YEAR, 11, 15)
    installed = holidays.upload(tmp_path, {"text": FIXTURE}, today)
    assert installed == {
        "last_year": YEAR, "last_day": f"{YEAR}-12-31", "file_years": [YEAR],
        "notice": f"节假日安排仅到{YEAR}年12月31日，请导入下一年的安排",
    }  # fmt: skip
    with pytest.raises(holidays.HolidaysRefused) as refused:
        holidays.upload(tmp_path, {"text": WRONG}, today)
    assert refused.value.problems == [{
        "loc": ["text", "years", str(YEAR), "working_days[0]", "date"],
        "msg": "同一天既列为放假又列为调休上班",
        "detail": f"{YEAR}-02-10 is listed both as a holiday and as a working day",
        "file": "holidays.yml", "line": 11,
    }]  # fmt: skip
    assert holidays.current_file(tmp_path, today)["text"] == FIXTURE  # the good one stays
    with pytest.raises(BadField):
        holidays.upload(tmp_path, {"text": "  "}, today)


def test_a_broken_installed_file_shows_its_own_notice(tmp_path: Path) -> None:
    (tmp_path / HOLIDAYS_FILE).write_text(WRONG, encoding="utf-8")
    status = holidays.calendar_status(tmp_path, date(YEAR, 1, 5))
    assert status["last_year"] is None and status["notice"] == holidays.BROKEN_NOTICE


def test_a_watch_sees_a_file_appear_and_be_replaced(tmp_path: Path) -> None:
    watch = FileWatch(tmp_path, [HOLIDAYS_FILE])
    assert not watch.changed()
    install_holidays(tmp_path, "years: {}\n")
    assert watch.changed() and not watch.changed()
    install_holidays(tmp_path, FIXTURE)
    assert watch.changed()


def test_a_configured_value_is_built_again_when_its_file_is_replaced(tmp_path: Path) -> None:
    settings = SimpleNamespace(config_dir=tmp_path)
    provider = Configured(lambda s: read_holidays(s.config_dir), reload_on=[HOLIDAYS_FILE])
    provider.container = SimpleNamespace(
        config={"CIVICFLOW": settings}, service_name="dispatch"
    )  # what nameko gives a bound provider
    provider.setup()
    assert provider.get_dependency(None).years == frozenset()
    install_holidays(tmp_path, FIXTURE)
    assert provider.get_dependency(None).years == frozenset({YEAR})
    # a file that no longer loads leaves the last good value in force
    (tmp_path / HOLIDAYS_FILE).write_text(WRONG, encoding="utf-8")
    assert provider.get_dependency(None).years == frozenset({YEAR})


def test_settings_name_the_config_dir_the_import_writes_to() -> None:
    assert "config_dir" in Settings.__dataclass_fields__


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (f"to: {YEAR}-02-14", f"to: {YEAR}-02-30", "日期无效（须为存在的日期，格式如2027-01-01）"),
        (f"date: {YEAR}-02-07", f"date: {YEAR}-03-03", "调休上班日须为周六或周日"),
        (f"from: {YEAR}-01-01", f"from: {YEAR + 1}-01-01", "日期不在所属年份内"),
        ("      - name: 元旦\n", "      - name: 元旦\n        day: 1\n", "无法识别的字段"),
        ("years:\n", "years: [\n", "文件格式有误，无法解析"),
    ],
)  # fmt: skip
def test_the_admin_reads_each_problem_in_chinese(old: str, new: str, said: str) -> None:
    assert old in FIXTURE
    with pytest.raises(HolidaysError) as refused:
        HolidayArrangements.from_text(FIXTURE.replace(old, new, 1))
    problems = holidays.problems_of(refused.value)
    assert problems[0]["msg"] == said
    assert problems[0]["detail"]  # the validator's own words stay beside it


def test_a_configuration_directory_that_cannot_be_written_is_a_clash(tmp_path: Path) -> None:
    from services.console.refusals import Clash

    not_a_directory = tmp_path / "config"
    not_a_directory.write_text("", encoding="utf-8")
    with pytest.raises(Clash, match="civicflow calendar import"):
        holidays.upload(not_a_directory, {"text": FIXTURE}, date(YEAR, 1, 5))
