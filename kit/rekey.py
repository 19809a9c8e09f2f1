"""Key rotation for sealed phone numbers (and openids): every sealed value in every service's
database sealed again under the newest key, in batches, so the old key can then be retired.

Run after putting the new key first in ``CIVICFLOW_PHONE_KEYS`` (``new,old``) and restarting
the services: they read with either key and seal with the new one; this re-seals what is
already stored. A value no key opens is reported, never dropped.

``fill_phone_index`` gives intake's older submissions the blind index phone search finds them
by (run by intake's migration when the keys are at hand, else by ``civicflow keys index``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection, Row

from kernel.phones import NotAPhoneNumber, blind_index
from kit.db import Store, kit_tables
from kit.pii import PhoneVault, SealBroken


@dataclass(frozen=True)
class SealedColumns:
    service: str
    table: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]


SEALED: tuple[SealedColumns, ...] = (
    SealedColumns("intake", "submissions", ("case_id",), ("reporter_phone_sealed",)),
    SealedColumns("grid", "staff", ("unit", "role", "person_id"), ("phone_sealed",)),
    SealedColumns("grid", "departments", ("code",), ("phone_sealed",)),
    SealedColumns("supervision", "subscriptions", ("id",), ("phone_sealed", "wechat_sealed")),
    SealedColumns("notify", "deliveries", ("id",), ("address_sealed",)),
)


@dataclass
class Rotation:
    resealed: int = 0
    unreadable: int = 0


def rotate(stores: dict[str, Store], vault: PhoneVault, batch: int = 500) -> dict[str, Rotation]:
    """Re-seal every sealed column; the count per table."""
    done: dict[str, Rotation] = {}
    for sealed in SEALED:
        store = stores[sealed.service]
        rotation = done.setdefault(f"{sealed.service}.{sealed.table}", Rotation())
        wanted = ", ".join((*sealed.keys, *sealed.columns))
        with store.engine.connect() as connection:
            # names from SEALED above, never from input
            rows = connection.execute(text(f"SELECT {wanted} FROM {sealed.table}")).fetchall()
        for start in range(0, len(rows), batch):
            with store.engine.begin() as connection:
                for row in rows[start : start + batch]:
                    _reseal_row(connection, sealed, row, vault, rotation)
    return done


def _reseal_row(
    connection: Connection, sealed: SealedColumns, row: Row[Any], vault: PhoneVault,
    rotation: Rotation,
) -> None:  # fmt: skip
    values = dict(zip((*sealed.keys, *sealed.columns), row, strict=True))
    changes = {}
    for column in sealed.columns:
        if values[column]:
            try:
                changes[column] = vault.reseal(values[column])
            except SealBroken:
                rotation.unreadable += 1
    if not changes:
        return
    assigned = ", ".join(f"{c} = :{c}" for c in changes)
    where = " AND ".join(f"{k} = :key_{k}" for k in sealed.keys)
    params = {**changes, **{f"key_{k}": values[k] for k in sealed.keys}}
    connection.execute(text(f"UPDATE {sealed.table} SET {assigned} WHERE {where}"), params)
    rotation.resealed += len(changes)


_UNINDEXED = text(
    "SELECT case_id, reporter_phone_sealed FROM submissions WHERE phone_index IS NULL"
    " AND reporter_phone_sealed IS NOT NULL AND case_id > :after ORDER BY case_id LIMIT :batch"
)
_SET_INDEX = text("UPDATE submissions SET phone_index = :phone_index WHERE case_id = :case_id")


@dataclass
class Indexing:
    filled: int = 0
    unreadable: int = 0


def fill_phone_index(
    connection: Connection, vault: PhoneVault, index_key: str, batch: int = 500
) -> Indexing:
    """Intake's submissions stored before the blind index (``kernel.phones``) get theirs, where
    a key opens the sealed number; one no key opens is counted and left without. Walked by case
    id, a batch at a time, so that millions of rows never sit in memory at once."""
    done, after = Indexing(), ""
    while True:
        rows = connection.execute(_UNINDEXED, {"after": after, "batch": batch}).fetchall()
        if not rows:
            return done
        indexed = []
        for case_id, sealed in rows:
            try:
                indexed.append(
                    {"case_id": case_id, "phone_index": blind_index(index_key, vault.open(sealed))}
                )
            except (SealBroken, NotAPhoneNumber):
                done.unreadable += 1
        if indexed:
            connection.execute(_SET_INDEX, indexed)
        done.filled += len(indexed)
        after = rows[-1][0]


def stores_for(database_url_for: Callable[[str], str]) -> dict[str, Store]:
    services = {sealed.service for sealed in SEALED}
    return {s: Store(database_url_for(s), s, kit_tables(MetaData())) for s in services}
