"""The custody register, notice corrections, idempotency expiry, and the notice progress projection.


Existing people are entered in the register from what is already stored: the establishment of their latest
notice, then their custody events in sequence order under the same rules as new ones.
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime
from services.common.migration_ops import create_inbox
from services.release_events.domain.custody_rules import UNKNOWN, Allowed, Custody, CustodyEvent, Kind, decide_event

revision = "0004_custody_register"
down_revision = "0003_security"


def upgrade() -> None:
    op.add_column("release_notice", sa.Column("revision", sa.Integer, nullable=False, server_default="1"))
    op.add_column("release_notice", sa.Column("content_hash", sa.String(64), nullable=True))
    op.create_index("ix_release_notice_person_hash", "release_notice", ["prison_number", "content_hash"])
    op.create_index("ix_idempotency_key_created_at", "idempotency_key", ["created_at"])
    op.create_table(
        "release_notice_revision",
        sa.Column("amendment_id", sa.String(36), primary_key=True),
        sa.Column("notice_id", sa.String(36), nullable=False, index=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("notice_id", "revision", name="uq_release_notice_revision"),
    )
    op.create_table(
        "custody_register",
        sa.Column("prison_number", sa.String(7), primary_key=True),
        sa.Column("establishment_code", sa.String(3), nullable=True),
        sa.Column("sequence", sa.BigInteger, nullable=True),
        sa.Column("released", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("set_by", sa.String(50), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "notice_progress",
        sa.Column("handover_id", sa.String(36), primary_key=True),
        sa.Column("notice_id", sa.String(36), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "notice_delivery",
        sa.Column("handover_id", sa.String(36), primary_key=True),
        sa.Column("agency_code", sa.String(50), primary_key=True),
        sa.Column("message", sa.String(50), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    create_inbox()
    _fill_register()


def _fill_register() -> None:
    connection = op.get_bind()
    people: dict[str, tuple[Custody, str]] = {}
    notices = sa.text("SELECT id, prison_number, establishment_code FROM release_notice ORDER BY received_at")
    for row in connection.execute(notices):
        people[row.prison_number] = (Custody(holder=row.establishment_code), f"notice:{row.id}")
    events = sa.text(
        "SELECT id, prison_number, sequence, kind, establishment_code, body FROM custody_event "
        "ORDER BY prison_number, sequence"
    )
    for row in connection.execute(events):
        custody = people.get(row.prison_number, (UNKNOWN, ""))[0]
        sender = json.loads(row.body).get("from_establishment_code")
        decision = decide_event(custody, CustodyEvent(Kind(row.kind), row.sequence, row.establishment_code, sender))
        if isinstance(decision, Allowed):
            people[row.prison_number] = (decision.after, f"custody_event:{row.id}")
    now = datetime.now(UTC)
    register = sa.table(
        "custody_register",
        sa.column("prison_number"),
        sa.column("establishment_code"),
        sa.column("sequence"),
        sa.column("released"),
        sa.column("set_by"),
        sa.column("updated_at", UtcDateTime),
    )
    rows = [
        {
            "prison_number": person,
            "establishment_code": custody.holder,
            "sequence": custody.sequence,
            "released": custody.released,
            "set_by": set_by,
            "updated_at": now,
        }
        for person, (custody, set_by) in people.items()
    ]
    if rows:
        op.bulk_insert(register, rows)


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_table("notice_delivery")
    op.drop_table("notice_progress")
    op.drop_table("custody_register")
    op.drop_table("release_notice_revision")
    op.drop_index("ix_idempotency_key_created_at", "idempotency_key")
    op.drop_index("ix_release_notice_person_hash", "release_notice")
    op.drop_column("release_notice", "content_hash")
    op.drop_column("release_notice", "revision")
