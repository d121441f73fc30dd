"""Custody events as received, unique per person and sequence."""

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "custody_event",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("prison_number", sa.String(7), nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("establishment_code", sa.String(3), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("prison_number", "sequence", name="uq_custody_event_person_sequence"),
    )


def downgrade() -> None:
    op.drop_table("custody_event")
