"""Handovers, their versions, the inbox and the outbox."""

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime
from services.common.migration_ops import create_inbox, create_outbox

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "handover",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("notice_id", sa.String(36), nullable=False, unique=True),
        sa.Column("prison_number", sa.String(7), nullable=False),
        sa.Column("establishment_code", sa.String(3), nullable=False),
        sa.Column("release_date", sa.Date, nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_handover_person", "handover", ["prison_number"])
    op.create_table(
        "handover_version",
        sa.Column("handover_id", sa.String(36), sa.ForeignKey("handover.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("pack", sa.Text, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("issued_at", UtcDateTime, nullable=False),
    )
    create_inbox()
    create_outbox()


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("handover_version")
    op.drop_table("handover")
