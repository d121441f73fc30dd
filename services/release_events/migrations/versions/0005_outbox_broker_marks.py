"""The outbox remembers where each row landed on the broker and which broker it was, so that the relay can
republish what a broker lost (see ARCHITECTURE.md, Messaging guarantees).
"""

from services.common.migration_ops import add_outbox_broker_marks, drop_outbox_broker_marks

revision = "0005_outbox_broker_marks"
down_revision = "0004_custody_register"


upgrade = add_outbox_broker_marks
downgrade = drop_outbox_broker_marks
