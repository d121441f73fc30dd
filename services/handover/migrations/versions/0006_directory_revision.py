"""The directory of services becomes the one directory: each agency's revision, carried by its change events."""

import sqlalchemy as sa
from alembic import op

revision = "0006_directory_revision"
down_revision = "0005_case_lifecycle"


def upgrade() -> None:
    with op.batch_alter_table("directory_agency") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("directory_agency") as batch:
        batch.drop_column("revision")
