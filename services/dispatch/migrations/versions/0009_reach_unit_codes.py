"""a case's reach codes beside its words, in one GIN index on PostgreSQL

Revision ID: dispatch_reach_unit_codes
Revises: dispatch_search_at_scale

A street's ``q`` intersected two large sets on PostgreSQL: every case holding the words (tens
of thousands at 2,000,000 cases) with the street's reach rows (a hundred thousand and more),
a lookup of a reach row's key for each match, since neither index narrows the other. The
codes of a case's reach rows as an array column beside its ``search_vector``, with one GIN
index over both, give the cases holding both in one index scan. The index replaces the
words' own (a GIN index over several columns serves a query on any of them), so a write
keeps one GIN index. SQLite keeps the column too (the model is one), unindexed: its scoped
``q`` is answered from its FTS table and the reach rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "dispatch_reach_unit_codes"
down_revision = "dispatch_search_at_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.add_column("cases", sa.Column("reach_unit_codes", sa.JSON(), nullable=True))
        op.execute(
            "UPDATE cases SET reach_unit_codes = (SELECT json_group_array(unit_code) FROM "
            "(SELECT unit_code FROM case_reach WHERE case_reach.case_id = cases.case_id "
            "ORDER BY unit_code))"
        )
        return
    op.add_column("cases", sa.Column("reach_unit_codes", sa.ARRAY(sa.Text()), nullable=True))
    op.execute(
        "UPDATE cases SET reach_unit_codes = codes FROM (SELECT case_id AS id, "
        "array_agg(unit_code ORDER BY unit_code)::text[] AS codes "
        "FROM case_reach GROUP BY case_id) AS reach WHERE reach.id = cases.case_id"
    )
    op.execute("UPDATE cases SET reach_unit_codes = '{}' WHERE reach_unit_codes IS NULL")
    op.execute("DROP INDEX ix_cases_search_vector")
    op.execute(
        "CREATE INDEX ix_cases_search_reach ON cases USING gin (search_vector, reach_unit_codes)"
    )
    op.execute("ANALYZE cases")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_cases_search_reach")
        op.execute("CREATE INDEX ix_cases_search_vector ON cases USING gin (search_vector)")
    op.drop_column("cases", "reach_unit_codes")
