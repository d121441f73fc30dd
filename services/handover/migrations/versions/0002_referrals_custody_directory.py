"""Handover state and current notice; referrals and answers; people and the custody-event log; directory."""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime
from services.common.migration_ops import BIG_ID as _ID

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("handover") as batch:
        batch.add_column(sa.Column("state", sa.String(20), nullable=False, server_default="open"))
        batch.add_column(sa.Column("state_reason", sa.String(500), nullable=True))
        batch.add_column(sa.Column("notice", sa.Text, nullable=False, server_default=""))
    op.create_index("ix_handover_departures", "handover", ["establishment_code", "state", "release_date"])
    _backfill_notices()
    op.create_table(
        "referral",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("handover_id", sa.String(36), sa.ForeignKey("handover.id"), nullable=False),
        sa.Column("agency_code", sa.String(20), nullable=False),
        sa.Column("agency_kind", sa.String(40), nullable=False),
        sa.Column("agency_name", sa.String(200), nullable=False),
        sa.Column("referral_kind", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("sections", sa.Text, nullable=False),
        sa.Column("first_appointment_at", UtcDateTime, nullable=True),
        sa.Column("first_appointment_place", sa.String(200), nullable=True),
        sa.Column("reason_code", sa.String(50), nullable=True),
        sa.Column("reason_text", sa.Text, nullable=True),
        sa.Column("attended", sa.Boolean, nullable=True),
        sa.Column("report_at", UtcDateTime, nullable=True),
        sa.Column("reporting", sa.Text, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_referral_handover", "referral", ["handover_id"])
    op.create_index("ix_referral_worklist", "referral", ["agency_code", "status"])
    op.create_table(
        "referral_answer",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("referral_id", sa.String(36), sa.ForeignKey("referral.id"), nullable=False),
        sa.Column("answer", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("answered_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_referral_answer_referral_id", "referral_answer", ["referral_id"])
    op.create_table(
        "person",
        sa.Column("prison_number", sa.String(7), primary_key=True),
        sa.Column("last_sequence", sa.BigInteger, nullable=True),
        sa.Column("establishment_code", sa.String(3), nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "custody_event_log",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("custody_event_id", sa.String(36), nullable=False),
        sa.Column("prison_number", sa.String(7), nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False),
        sa.Column("handover_id", sa.String(36), nullable=True),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_custody_event_person", "custody_event_log", ["prison_number", "sequence"])
    op.create_table(
        "directory_agency",
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )


def notice_from_pack(pack: dict[str, Any]) -> dict[str, Any]:
    """The notice of a handover opened before this revision, rebuilt from its pack (all it carried)."""
    person, release = pack["patient_demographics"], pack["release"]
    notice = {
        "prison_number": person["prison_number"],
        "nhs_number": person.get("nhs_number"),
        "given_name": person["given_name"],
        "family_name": person["family_name"],
        "date_of_birth": person["date_of_birth"],
        "establishment_code": release["establishment_code"],
        "release": {"date": release["date"], "type": release["type"], "destination": release["destination"]},
        "registered_gp": (pack.get("gp_practice") or {}).get("registered"),
        "medications": pack.get("medications") or [],
        "allergies": pack.get("allergies_and_adverse_reactions") or [],
        "mental_health": pack.get("mental_health"),
        "prison_contact": pack["person_completing_record"],
    }
    return {key: value for key, value in notice.items() if value is not None}


def _backfill_notices() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT h.id, v.pack FROM handover h JOIN handover_version v "
            "ON v.handover_id = h.id AND v.version = h.current_version WHERE h.notice = ''"
        )
    ).all()
    for handover_id, pack in rows:
        connection.execute(
            sa.text("UPDATE handover SET notice = :notice WHERE id = :id"),
            {"notice": json.dumps(notice_from_pack(json.loads(pack))), "id": handover_id},
        )


def downgrade() -> None:
    op.drop_table("directory_agency")
    op.drop_table("custody_event_log")
    op.drop_table("person")
    op.drop_table("referral_answer")
    op.drop_table("referral")
    op.drop_index("ix_handover_departures", "handover")
    with op.batch_alter_table("handover") as batch:
        batch.drop_column("notice")
        batch.drop_column("state_reason")
        batch.drop_column("state")
