"""A delivery keeps the trace context of the event that asked for it, so its webhook POST, made later by the
dispatcher, belongs to the same trace (its ``traceparent`` header names it).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_delivery_trace_context"
down_revision = "0005_outbox_broker_marks"


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("traceparent")
