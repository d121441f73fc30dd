"""The audit trail: hash-chained, append-only records of who did what."""

from services.common.audit_schema import create_audit_trail, drop_audit_trail

revision = "0003_security"
down_revision = "0002"


upgrade = create_audit_trail
downgrade = drop_audit_trail
