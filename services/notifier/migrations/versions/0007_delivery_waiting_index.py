"""An index of deliveries by status, agency and order, so that a claim reads only what it may take: the agencies
with a pending delivery (one probe each) and each one's first due deliveries, not every pending delivery ranked.
"""

from alembic import op

revision = "0007_delivery_waiting_index"
down_revision = "0006_delivery_trace_context"


def upgrade() -> None:
    op.create_index("ix_delivery_waiting", "delivery", ["status", "agency_code", "seq"])


def downgrade() -> None:
    op.drop_index("ix_delivery_waiting", table_name="delivery")
