"""The notifier's copy of the directory of services, fed by directory.agency.changed events."""

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime

revision = "0004_directory_endpoint"
down_revision = "0003_security"


def upgrade() -> None:
    op.create_table(
        "directory_endpoint",
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("directory_endpoint")
