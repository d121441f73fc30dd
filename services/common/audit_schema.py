"""Migration operations of the audit trail, shared by every service's ``*_security`` revision.

Besides the tables, triggers refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) of audit records: the service
never needs them, so an attempt is either a bug or tampering. Someone who can drop the triggers can still
edit rows; the hash chain is what detects that (``ttg audit verify``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common.audit import GENESIS
from services.common.db import UtcDateTime

_REFUSAL = "audit records are append-only"


def create_audit_trail() -> None:
    op.create_table(
        "audit_record",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("record_id", sa.String(36), nullable=False, unique=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(30), nullable=False),
        sa.Column("actor_organisation", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("resource_type", sa.String(50), nullable=False),
        sa.Column("resource_id", sa.String(100), nullable=True),
        sa.Column("subject", sa.String(20), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_audit_record_subject", "audit_record", ["subject"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON audit_record "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_record_no_{verb.lower()} BEFORE {verb} ON audit_record "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
            )


def drop_audit_trail() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_record_no_truncate ON audit_record")
        op.execute("DROP TRIGGER IF EXISTS audit_record_append_only ON audit_record")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    op.drop_table("audit_head")
    op.drop_table("audit_record")
