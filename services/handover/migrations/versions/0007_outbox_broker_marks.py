"""The outbox remembers where each row landed on the broker and which broker it was, so that the relay can
republish what a broker lost (see ARCHITECTURE.md, Messaging guarantees).

Revision ID: 0007_outbox_broker_marks
Revises: 0006_directory_revision
"""

from services.common.migration_ops import add_outbox_broker_marks, drop_outbox_broker_marks

revision = "0007_outbox_broker_marks"
down_revision = "0006_directory_revision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_broker_marks()


def downgrade() -> None:
    drop_outbox_broker_marks()
