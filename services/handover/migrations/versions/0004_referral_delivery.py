"""Whether each referral's pack reached its agency (from the notifier's outcome events), for readiness."""

import sqlalchemy as sa
from alembic import op

revision = "0004_referral_delivery"
down_revision = "0003_security"


def upgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("delivery_status", sa.String(20), nullable=True))
        batch.add_column(sa.Column("delivery_detail", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("delivery_detail")
        batch.drop_column("delivery_status")
