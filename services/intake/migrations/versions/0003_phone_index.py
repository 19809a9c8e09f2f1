"""the blind index of the citizen's number (phone search), filled for the rows a key opens

Revision ID: intake_0003_phone_index
Revises: intake_0002
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "intake_0003_phone_index"
down_revision = "intake_0002"

log = logging.getLogger(__name__)


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("phone_index", sa.String(64)))
    op.create_index("ix_submissions_phone_index", "submissions", ["phone_index", "received_at"])
    fill_existing()


def fill_existing() -> None:
    """Where this process has the keys (dev, or the services' environment), the rows stored so
    far get their index now; elsewhere (a migrate job without the phone keys) ``civicflow keys
    index`` fills them afterwards."""
    from kit.pii import load_phone_index_key, load_vault
    from kit.rekey import fill_phone_index
    from kit.settings import ConfigError, Settings

    try:
        settings = Settings.from_env()
        vault, key = load_vault(settings), load_phone_index_key(settings)
    except ConfigError as exc:
        log.warning("phone index not filled (%s): run `civicflow keys index`", exc)
        return
    fill_phone_index(op.get_bind(), vault, key)


def downgrade() -> None:
    op.drop_index("ix_submissions_phone_index", "submissions")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("phone_index")
