"""search: on PostgreSQL the search terms' tsvector is a stored column, GIN-indexed

Revision ID: dispatch_search_terms_vector
Revises: dispatch_petition_0006

An index on the expression ``to_tsvector(search_terms)`` leaves the planner two poor choices
for ``q``: walk the newest cases computing the vector of each, or guess. A column generated
from the terms is filled here for every stored case, kept by PostgreSQL whenever the terms
change, and has statistics of its own words, so a rare word is found through the index and a
common one along the list's order. The vector is computed once on insert, as the expression
index computed it. SQLite keeps its FTS5 table (dispatch_0004): nothing changes there.
"""

from __future__ import annotations

from alembic import op

revision = "dispatch_search_terms_vector"
down_revision = "dispatch_petition_0006"
branch_labels = None
depends_on = None

VECTOR = "to_tsvector('simple'::regconfig, search_terms)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"ALTER TABLE cases ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({VECTOR}) STORED"
    )
    op.execute("DROP INDEX ix_cases_search")
    op.execute("CREATE INDEX ix_cases_search_vector ON cases USING gin (search_vector)")
    op.execute("ANALYZE cases")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_cases_search_vector")
    op.execute("ALTER TABLE cases DROP COLUMN search_vector")
    op.execute(f"CREATE INDEX ix_cases_search ON cases USING gin ({VECTOR})")
