"""Deliveries, attempts, the inbox and the outbox."""

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime
from services.common.migration_ops import BIG_ID as _ID
from services.common.migration_ops import create_inbox, create_outbox

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "delivery",
        sa.Column("seq", _ID, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.String(64), nullable=False, unique=True),
        sa.Column("source_event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("agency_code", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("handover_id", sa.String(36), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False),
        sa.Column("rounds", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=True),
        sa.Column("lease_expires_at", UtcDateTime, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("source_event_id", "agency_code", name="uq_delivery_message_agency"),
    )
    op.create_index("ix_delivery_due", "delivery", ["status", "next_attempt_at"])
    op.create_index("ix_delivery_person", "delivery", ["agency_code", "subject", "seq"])
    op.create_index("ix_delivery_handover_id", "delivery", ["handover_id"])
    op.create_table(
        "delivery_attempt",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("delivery_seq", _ID, sa.ForeignKey("delivery.seq"), nullable=False),
        sa.Column("attempted_at", UtcDateTime, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("response_excerpt", sa.String(500), nullable=True),
    )
    op.create_index("ix_delivery_attempt_delivery_seq", "delivery_attempt", ["delivery_seq"])
    create_inbox()
    create_outbox()


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("delivery_attempt")
    op.drop_table("delivery")
