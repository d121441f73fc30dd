"""The outcomes dataset: readiness kept when a case ends, and when each referral reached its agency.

Revision ID: 0008_release_outcomes
Revises: 0007_outbox_broker_marks
"""

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime

revision = "0008_release_outcomes"
down_revision = "0007_outbox_broker_marks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_outcome",
        sa.Column("handover_id", sa.String(36), primary_key=True),
        sa.Column("prison_number", sa.String(7), nullable=False),
        sa.Column("establishment_code", sa.String(3), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=False),
        sa.Column("ending", sa.String(30), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_release_outcome_month", "release_outcome", ["recorded_at", "establishment_code"])
    op.create_table(
        "referral_delivered",
        sa.Column("referral_id", sa.String(36), primary_key=True),
        sa.Column("delivered_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("referral_delivered")
    op.drop_index("ix_release_outcome_month", table_name="release_outcome")
    op.drop_table("release_outcome")
