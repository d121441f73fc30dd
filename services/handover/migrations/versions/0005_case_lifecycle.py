"""The case lifecycle: custody events keep their content (a held or late event is decided again from the
ordered log), a referral says why its answer no longer holds, a handover counts the notice corrections applied.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_case_lifecycle"
down_revision = "0004_referral_delivery"


def upgrade() -> None:
    with op.batch_alter_table("custody_event_log") as batch:
        batch.add_column(sa.Column("event", sa.Text(), nullable=True))
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("invalidated_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("handover") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("handover") as batch:
        batch.drop_column("revision")
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("invalidated_reason")
    with op.batch_alter_table("custody_event_log") as batch:
        batch.drop_column("event")
