"""internal notes, the metadata of files on a case, and what each file went with

Revision ID: console_0003_notes_files
Revises: console_desk_0003
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "console_0003_notes_files"
down_revision = "console_desk_0003"


def upgrade() -> None:
    op.create_table(
        "case_notes",
        sa.Column("note_id", sa.String(32), primary_key=True),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_case_notes_case_at", "case_notes", ["case_id", "at"])
    op.create_table(
        "case_files",
        sa.Column("attachment_id", sa.String(32), primary_key=True),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("thumbnail_sha256", sa.String(64)),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_case_files_case_at", "case_files", ["case_id", "uploaded_at"])
    op.create_table(
        "case_file_uses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("attachment_id", sa.String(32), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("used_with", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(32), nullable=False),
        sa.Column("note_id", sa.String(32)),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("attachment_id", "used_with", "ref", name="uq_case_file_uses"),
    )


def downgrade() -> None:
    for table in ("case_file_uses", "case_files", "case_notes"):
        op.drop_table(table)
