"""The audit trail: hash-chained, append-only records of who did what (issue 6).

Revision ID: 0003_security
Revises: 0002
"""

from services.common.audit_schema import create_audit_trail, drop_audit_trail

revision = "0003_security"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_trail()


def downgrade() -> None:
    drop_audit_trail()
