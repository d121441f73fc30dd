"""The outcomes dataset: which referrals were escalated, by which deadline or cause, and when.

Revision ID: 0009_referral_escalations
Revises: 0008_release_outcomes
"""

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime

revision = "0009_referral_escalations"
down_revision = "0008_release_outcomes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referral_escalation",
        sa.Column("escalation_id", sa.String(64), primary_key=True),
        sa.Column("referral_id", sa.String(36), primary_key=True),
        sa.Column("handover_id", sa.String(36), nullable=False),
        sa.Column("agency_code", sa.String(20), nullable=False),
        sa.Column("cause", sa.String(20), nullable=False),
        sa.Column("escalated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_referral_escalation_referral", "referral_escalation", ["referral_id"])


def downgrade() -> None:
    op.drop_index("ix_referral_escalation_referral", table_name="referral_escalation")
    op.drop_table("referral_escalation")
