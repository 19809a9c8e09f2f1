"""Grid's repository: the territory in and out of its tables.

Phones are stored sealed (to call back), fingerprinted (to find a person by number) and masked
(what every answer shows), so reading the territory never needs the key.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

import shapely
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from contracts.common import mask_phone
from kit.pii import PhoneVault
from services.grid.domain import (
    Category,
    Changes,
    Department,
    Duty,
    Person,
    Territory,
    Unit,
)
from services.grid.models import (
    CategoryRow,
    DepartmentRow,
    DutyRow,
    RevisionRow,
    StaffRow,
    UnitRow,
)

PARTS = ("units", "people", "departments", "duties", "categories")


class GridRepository:
    """The territory's tables in one session. ``vault`` seals the phones a write stores and
    opens them for an export that asks for them; reads without it answer masked numbers."""

    def __init__(self, session: Session, vault: PhoneVault | None = None) -> None:
        self.session = session
        self.vault = vault

    # --- revision ---

    def revision(self) -> int:
        found = self.session.scalar(select(RevisionRow.revision).where(RevisionRow.id == 1))
        return int(found or 0)

    def bump_revision(self, now: datetime) -> int:
        row = self.session.get(RevisionRow, 1)
        if row is None:
            row = RevisionRow(id=1, revision=1, changed_at=now)
            self.session.add(row)
        else:
            row.revision += 1
            row.changed_at = now
        self.session.flush()
        return row.revision

    # --- read ---

    def contacts(self, code: str, role: str | None) -> list[dict[str, str | None]]:
        """The people of a unit with their numbers still sealed: for notify, which opens them
        only to send."""
        query = select(StaffRow).where(StaffRow.unit == code).order_by(StaffRow.person_id)
        if role:
            query = query.where(StaffRow.role == role)
        return [
            {"person_id": row.person_id, "name": row.name, "role": row.role,
             "phone_sealed": row.phone_sealed, "phone_masked": row.phone_masked}
            for row in self.session.scalars(query)
        ]  # fmt: skip

    def load(self, open_phones: bool = False) -> Territory:
        """The stored territory; phones masked, or opened with the vault (an export's)."""
        return Territory(
            self._units(),
            self._people(open_phones),
            self._departments(open_phones),
            self._duties(),
            self._categories(),
        )

    def _phone(self, sealed: str | None, masked: str | None, open_phones: bool) -> str | None:
        if open_phones and sealed:
            return self._vault().open(sealed)
        return masked

    def _vault(self) -> PhoneVault:
        if self.vault is None:
            raise ValueError("phones are sealed: storing or opening them needs the vault")
        return self.vault

    def _units(self) -> tuple[Unit, ...]:
        unit_rows = list(self.session.scalars(select(UnitRow).order_by(UnitRow.code)))
        hexes = [row.geometry for row in unit_rows]
        geometries = shapely.from_wkb([h for h in hexes if h]) if any(hexes) else []
        shapes = iter(geometries)
        return tuple(
            Unit(
                code=row.code,
                name=row.name,
                level=cast(Any, row.level),
                parent=row.parent,
                geometry=next(shapes) if row.geometry else None,
                kind=cast(Any, row.kind or "basic"),
                exclusive_type=cast(Any, row.exclusive_type),
                aliases=tuple(json.loads(row.aliases or "[]")),
            )
            for row in unit_rows
        )

    def _people(self, open_phones: bool) -> tuple[Person, ...]:
        return tuple(
            Person(
                person_id=row.person_id,
                unit=row.unit,
                role=cast(Any, row.role),
                name=row.name,
                phone=self._phone(row.phone_sealed, row.phone_masked, open_phones),
                wechat=row.wechat,
            )
            for row in self.session.scalars(
                select(StaffRow).order_by(StaffRow.unit, StaffRow.role, StaffRow.person_id)
            )
        )

    def _departments(self, open_phones: bool) -> tuple[Department, ...]:
        return tuple(
            Department(
                code=row.code,
                name=row.name,
                level=cast(Any, row.level),
                unit=row.unit,
                phone=self._phone(row.phone_sealed, row.phone_masked, open_phones),
                contact=row.contact,
            )
            for row in self.session.scalars(select(DepartmentRow).order_by(DepartmentRow.code))
        )

    def _duties(self) -> tuple[Duty, ...]:
        return tuple(
            Duty(row.department, row.category, cast(Any, row.level), cast(Any, row.role))
            for row in self.session.scalars(
                select(DutyRow).order_by(DutyRow.department, DutyRow.category, DutyRow.level)
            )
        )

    def _categories(self) -> tuple[Category, ...]:
        return tuple(
            Category(
                code=row.code,
                name=row.name,
                parent=row.parent,
                department=row.department,
                level=cast(Any, row.level),
                resolve=row.resolve,
                risk=cast(Any, row.risk),
                keywords=tuple((str(w), float(n)) for w, n in json.loads(row.keywords or "[]")),
            )
            for row in self.session.scalars(select(CategoryRow).order_by(CategoryRow.code))
        )

    # --- write ---

    def write(self, territory: Territory, parts: Iterable[str]) -> Changes:
        """Replace the given parts with the territory's; unchanged parts are not touched."""
        changes = Changes()
        wanted = set(parts)
        if "units" in wanted:
            self._replace_units(territory.units, changes)
        if "people" in wanted:
            self._replace_people(territory.people, self._vault(), changes)
        if wanted & {"departments", "duties", "categories"}:
            self._replace_responsibilities(territory, wanted, self._vault(), changes)
        return changes

    def _replace_units(self, units: Sequence[Unit], changes: Changes) -> None:
        geometries = shapely.to_wkb([u.geometry for u in units], hex=True) if units else []
        rows = [
            {
                "code": unit.code,
                "name": unit.name,
                "level": unit.level,
                "parent": unit.parent,
                "kind": unit.kind,
                "exclusive_type": unit.exclusive_type,
                "aliases": json.dumps(list(unit.aliases), ensure_ascii=False),
                "geometry": geometry if unit.geometry is not None else None,
            }
            for unit, geometry in zip(units, geometries, strict=True)
        ]
        old = {row.code: _unit_key(row) for row in self.session.scalars(select(UnitRow))}
        new = {
            unit.code: tuple(row[k] for k in _UNIT_FIELDS)
            for unit, row in zip(units, rows, strict=True)
        }
        changes.units = {code for code in old.keys() | new.keys() if old.get(code) != new.get(code)}
        if changes.units:
            self.session.execute(delete(UnitRow))
            if rows:
                self.session.execute(insert(UnitRow), rows)

    def _replace_people(
        self, people: Sequence[Person], vault: PhoneVault, changes: Changes
    ) -> None:
        old: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
        for row in self.session.scalars(select(StaffRow)):
            old[row.unit].add(
                (row.role, row.person_id, row.name, row.phone_fingerprint, row.wechat)
            )
        rows = []
        new: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
        sealed: dict[str, tuple[str, str, str]] = {}
        for person in people:
            fingerprint = None
            if person.phone:
                # One seal per number: the police liaison of ten grids is one person.
                if person.phone not in sealed:
                    sealed[person.phone] = (
                        vault.seal(person.phone),
                        mask_phone(person.phone),
                        vault.fingerprint(person.phone),
                    )
                fingerprint = sealed[person.phone][2]
            seal, masked, _ = sealed.get(person.phone or "", (None, None, None))
            new[person.unit].add(
                (person.role, person.person_id, person.name, fingerprint, person.wechat)
            )
            rows.append(
                {
                    "unit": person.unit,
                    "role": person.role,
                    "person_id": person.person_id,
                    "name": person.name,
                    "phone_sealed": seal,
                    "phone_masked": masked,
                    "phone_fingerprint": fingerprint,
                    "wechat": person.wechat,
                }
            )
        changes.staff_units = {
            unit for unit in old.keys() | new.keys() if old.get(unit) != new.get(unit)
        }
        if changes.staff_units:
            self.session.execute(delete(StaffRow))
            if rows:
                self.session.execute(insert(StaffRow), rows)

    def _replace_responsibilities(
        self, territory: Territory, wanted: set[str], vault: PhoneVault, changes: Changes
    ) -> None:
        before = self.load_responsibilities()
        after = (
            {_department_key(d, vault) for d in territory.departments},
            {(d.department, d.category, d.level, d.role) for d in territory.duties},
            {_category_key(c) for c in territory.categories},
        )
        if before == after:
            return
        changes.responsibilities = True
        if "departments" in wanted:
            self._replace_departments(territory.departments, vault)
        if wanted & {"departments", "duties"}:
            self._replace_duties(territory.duties)
        if "categories" in wanted:
            self._replace_categories(territory.categories)

    def _replace_departments(self, departments: Sequence[Department], vault: PhoneVault) -> None:
        self.session.execute(delete(DepartmentRow))
        rows = []
        for department in departments:
            phone = department.phone
            rows.append(
                {
                    "code": department.code,
                    "name": department.name,
                    "level": department.level,
                    "unit": department.unit,
                    "phone_sealed": vault.seal(phone) if phone else None,
                    "phone_masked": mask_phone(phone) if phone else None,
                    "phone_fingerprint": vault.fingerprint(phone) if phone else None,
                    "contact": department.contact,
                }
            )
        if rows:
            self.session.execute(insert(DepartmentRow), rows)

    def _replace_duties(self, duties: Sequence[Duty]) -> None:
        self.session.execute(delete(DutyRow))
        rows = [
            {"department": d.department, "category": d.category, "level": d.level, "role": d.role}
            for d in duties
        ]
        if rows:
            self.session.execute(insert(DutyRow), rows)

    def _replace_categories(self, categories: Sequence[Category]) -> None:
        self.session.execute(delete(CategoryRow))
        rows = [
            {
                "code": c.code,
                "name": c.name,
                "parent": c.parent,
                "department": c.department,
                "level": c.level,
                "resolve": c.resolve,
                "risk": c.risk,
                "keywords": json.dumps([list(k) for k in c.keywords], ensure_ascii=False),
            }
            for c in categories
        ]
        if rows:
            self.session.execute(insert(CategoryRow), rows)

    def load_responsibilities(self) -> tuple[set[Any], set[Any], set[Any]]:
        departments = {
            (r.code, r.name, r.level, r.unit, r.phone_fingerprint, r.contact)
            for r in self.session.scalars(select(DepartmentRow))
        }
        duties = {
            (r.department, r.category, r.level, r.role)
            for r in self.session.scalars(select(DutyRow))
        }
        categories = {
            (r.code, r.name, r.parent, r.department, r.level, r.resolve, r.risk, r.keywords)
            for r in self.session.scalars(select(CategoryRow))
        }
        return departments, duties, categories


_UNIT_FIELDS = ("name", "level", "parent", "kind", "exclusive_type", "aliases", "geometry")


def _unit_key(row: UnitRow) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in _UNIT_FIELDS)


def _department_key(department: Department, vault: PhoneVault) -> tuple[Any, ...]:
    phone = department.phone
    return (
        department.code,
        department.name,
        department.level,
        department.unit,
        vault.fingerprint(phone) if phone else None,
        department.contact,
    )


def _category_key(category: Category) -> tuple[Any, ...]:
    return (
        category.code,
        category.name,
        category.parent,
        category.department,
        category.level,
        category.resolve,
        category.risk,
        json.dumps([list(k) for k in category.keywords], ensure_ascii=False),
    )
