"""An index of referrals by handover and agency, in place of the one by handover alone (its prefix).

A delivery outcome reads and notes one agency's referrals of one handover. Without statistics SQLite preferred
the worklist index (agency, status) for that, reading a third of all referrals of the agency for each outcome:
1.6 ms a statement at 9,000 referrals, growing with every release stored (most of handover's SQLite time in a
burst). With both columns in one index the lookup is a probe on either backend.
"""

from alembic import op

revision = "0010_referral_handover_agency"
down_revision = "0009_referral_escalations"


def upgrade() -> None:
    op.create_index("ix_referral_handover_agency", "referral", ["handover_id", "agency_code"])
    op.drop_index("ix_referral_handover", table_name="referral")


def downgrade() -> None:
    op.create_index("ix_referral_handover", "referral", ["handover_id"])
    op.drop_index("ix_referral_handover_agency", table_name="referral")
