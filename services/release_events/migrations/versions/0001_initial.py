"""Release notices, idempotency keys and the outbox."""

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime
from services.common.migration_ops import create_outbox

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "release_notice",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("prison_number", sa.String(7), nullable=False),
        sa.Column("establishment_code", sa.String(3), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_release_notice_person", "release_notice", ["prison_number", "received_at"])
    op.create_table(
        "idempotency_key",
        sa.Column("scope", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response_body", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    create_outbox()


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("idempotency_key")
    op.drop_table("release_notice")
