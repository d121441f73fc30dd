"""Delivery reliability: replays, endpoint state, the audit trail, and what escalation needs."""

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime
from services.common.migration_ops import BIG_ID as _ID

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("replays", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_delivery_agency_status", "delivery", ["agency_code", "status"])
    op.create_table(
        "endpoint_state",
        sa.Column("agency_code", sa.String(20), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.Column("failing_since", UtcDateTime, nullable=True),
        sa.Column("last_success_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "delivery_audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("agency_code", sa.String(20), nullable=True),
        sa.Column("webhook_id", sa.String(64), nullable=True),
        sa.Column("handover_id", sa.String(36), nullable=True),
        sa.Column("detail", sa.String(1000), nullable=True),
    )
    op.create_index("ix_delivery_audit_agency_code", "delivery_audit", ["agency_code"])
    op.create_index("ix_delivery_audit_webhook_id", "delivery_audit", ["webhook_id"])
    op.create_table(
        "handover_fact",
        sa.Column("handover_id", sa.String(36), primary_key=True),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("establishment_code", sa.String(10), nullable=True),
        sa.Column("release_date", sa.Date, nullable=True),
        sa.Column("district", sa.String(10), nullable=True),
        sa.Column("local_authority", sa.String(200), nullable=True),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "referral_watch",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("handover_id", sa.String(36), nullable=False),
        sa.Column("agency_code", sa.String(20), nullable=False),
        sa.Column("agency_kind", sa.String(50), nullable=True),
        sa.Column("subject", sa.String(20), nullable=True),
        sa.Column("delivered_at", UtcDateTime, nullable=True),
        sa.Column("answered_at", UtcDateTime, nullable=True),
        sa.Column("answer", sa.String(20), nullable=True),
        sa.Column("settled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("handover_id", "agency_code", name="uq_referral_watch"),
    )
    op.create_index("ix_referral_watch_open", "referral_watch", ["settled", "answered_at", "delivered_at"])
    op.create_table(
        "escalation",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("handover_id", sa.String(36), nullable=False),
        sa.Column("agency_code", sa.String(20), nullable=False),
        sa.Column("deadline", sa.String(20), nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("escalated_at", UtcDateTime, nullable=False),
        sa.Column("told", sa.String(500), nullable=False),
        sa.UniqueConstraint("handover_id", "agency_code", "deadline", name="uq_escalation_once"),
    )
    op.create_index("ix_escalation_handover_id", "escalation", ["handover_id"])


def downgrade() -> None:
    op.drop_table("escalation")
    op.drop_table("referral_watch")
    op.drop_table("handover_fact")
    op.drop_table("delivery_audit")
    op.drop_table("endpoint_state")
    op.drop_index("ix_delivery_agency_status", "delivery")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("replays")
