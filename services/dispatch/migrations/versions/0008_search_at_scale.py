"""search at scale: PostgreSQL's tsvector a stored column, SQLite's FTS5 rows with their time

Revision ID: dispatch_search_at_scale
Revises: dispatch_petition_0006

On PostgreSQL an index on the expression ``to_tsvector(search_terms)`` leaves the planner two
poor choices for ``q``: walk the newest cases computing the vector of each, or guess. A column
generated from the terms is filled here for every stored case, kept by PostgreSQL whenever
the terms change, and has statistics of its own words, so a rare word is found through the
index and a common one along the list's order. The vector is computed once on insert, as the
expression index computed it.

On SQLite the FTS5 table also holds each case's ``received_at`` (not searched), so a list
asked for words alone is counted and sorted in the FTS table, without reading a case for
each match; its triggers keep both columns.

On both, the reach index also holds ``held``: a list by ``unit`` is counted and sorted in
that index alone (it replaces the index without it, so a write costs what it did).
"""

from __future__ import annotations

from alembic import op

revision = "dispatch_search_at_scale"
down_revision = "dispatch_petition_0006"
branch_labels = None
depends_on = None

VECTOR = "to_tsvector('simple'::regconfig, search_terms)"
TRIGGERS = ("cases_fts_insert", "cases_fts_update", "cases_fts_delete")
REACH = ["unit_code", "received_at", "case_id"]


def upgrade() -> None:
    op.drop_index("ix_case_reach_unit", "case_reach")
    op.create_index("ix_case_reach_unit", "case_reach", [*REACH, "held"])
    if op.get_bind().dialect.name != "postgresql":
        _fts(timed=True)
        return
    op.execute(
        f"ALTER TABLE cases ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({VECTOR}) STORED"
    )
    op.execute("DROP INDEX ix_cases_search")
    op.execute("CREATE INDEX ix_cases_search_vector ON cases USING gin (search_vector)")
    op.execute("ANALYZE cases")


def _fts(*, timed: bool) -> None:
    """The FTS5 table made again from the cases, with their ``received_at`` when ``timed``."""
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute("DROP TABLE cases_fts")
    at = ", received_at" if timed else ""
    columns = "case_id UNINDEXED, received_at UNINDEXED" if timed else "case_id UNINDEXED"
    op.execute(f"CREATE VIRTUAL TABLE cases_fts USING fts5({columns}, terms)")
    op.execute(
        f"INSERT INTO cases_fts (case_id{at}, terms) SELECT case_id{at}, search_terms FROM cases"
    )
    new_at = ", new.received_at" if timed else ""
    op.execute(
        f"CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN "
        f"INSERT INTO cases_fts (case_id{at}, terms) "
        f"VALUES (new.case_id{new_at}, new.search_terms); END"
    )
    changed = "search_terms, received_at" if timed else "search_terms"
    kept = "received_at = new.received_at, " if timed else ""
    op.execute(
        f"CREATE TRIGGER cases_fts_update AFTER UPDATE OF {changed} ON cases BEGIN "
        f"UPDATE cases_fts SET {kept}terms = new.search_terms WHERE case_id = old.case_id; END"
    )
    op.execute(
        "CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN "
        "DELETE FROM cases_fts WHERE case_id = old.case_id; END"
    )


def downgrade() -> None:
    op.drop_index("ix_case_reach_unit", "case_reach")
    op.create_index("ix_case_reach_unit", "case_reach", REACH)
    if op.get_bind().dialect.name != "postgresql":
        _fts(timed=False)
        return
    op.execute("DROP INDEX ix_cases_search_vector")
    op.execute("ALTER TABLE cases DROP COLUMN search_vector")
    op.execute(f"CREATE INDEX ix_cases_search ON cases USING gin ({VECTOR})")
