"""``civicflow keys rotate``: numbers sealed under the old key are sealed again under the new
one in every service that stores them, so the old key can go; one no key opens is reported."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import MetaData, text

from civicflow.cli import cmd_keys_rotate
from civicflow.demo import load_demo
from kit.db import Store, kit_tables
from kit.pii import PhoneVault, SealBroken
from tests.support.harness import migrate_all, settings_for_test

HASH = "test-fingerprint-key"


def test_rotation_reseals_everything_under_the_newest_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, stranger = (Fernet.generate_key().decode() for _ in range(3))
    settings = settings_for_test("amqp://unused/", tmp_path)
    migrate_all(settings, ["intake", "grid", "console", "supervision", "notify"])
    monkeypatch.setenv("CIVICFLOW_PHONE_KEYS", old)
    monkeypatch.setenv("CIVICFLOW_PHONE_HASH_KEY", HASH)
    load_demo(settings)  # the grid's people, their numbers sealed under the old key
    grid = Store(settings.database_url_for("grid"), "grid", kit_tables(MetaData()))
    with grid.engine.begin() as connection:
        people = (
            "SELECT unit, role, person_id, phone_sealed FROM staff WHERE phone_sealed IS NOT NULL"
        )
        first = connection.execute(text(people + " LIMIT 2")).fetchall()
        unit, role, person, _ = first[1]
        # one number sealed under a key nobody has any more
        lost = PhoneVault((stranger,), HASH).seal("13800000000")
        update = (
            "UPDATE staff SET phone_sealed = :v WHERE unit = :u AND role = :r AND person_id = :p"
        )
        connection.execute(text(update), {"v": lost, "u": unit, "r": role, "p": person})
    monkeypatch.setenv("CIVICFLOW_PHONE_KEYS", f"{new},{old}")
    assert cmd_keys_rotate(argparse.Namespace(action="rotate"), settings) == 1
    report = capsys.readouterr().out
    assert "grid.staff:" in report and "1 no key opens" in report
    only_new = PhoneVault((new,), HASH)
    with grid.engine.connect() as connection:
        sealed = "SELECT person_id, phone_sealed FROM staff WHERE phone_sealed IS NOT NULL"
        rows = connection.execute(text(sealed)).fetchall()
    grid.dispose()
    opened = [only_new.open(sealed) for pid, sealed in rows if pid != person]
    assert opened and all(phone.isdigit() and len(phone) == 11 for phone in opened)
    with pytest.raises(SealBroken):  # the stranger's stays as it was: reported, not dropped
        only_new.open(next(sealed for pid, sealed in rows if pid == person))
