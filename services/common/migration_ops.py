"""Migration steps and column types every service's migrations share: the outbox, the inbox, the broker marks."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime

# An integer key that is 64-bit on PostgreSQL and SQLite's rowid-backed INTEGER (which is what autoincrements there).
BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def create_outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("published_at", UtcDateTime, nullable=True),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        sqlite_where=sa.text("published_at IS NULL"),
        postgresql_where=sa.text("published_at IS NULL"),
    )


def create_inbox() -> None:
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("processed_at", UtcDateTime, nullable=False),
    )


def add_outbox_broker_marks() -> None:
    """Where each published outbox row landed on the broker, and what the relay knows of the broker: the
    relay compares them with the broker to notice a broker that lost what it was given."""
    op.add_column("outbox", sa.Column("kafka_partition", sa.Integer, nullable=True))
    op.add_column("outbox", sa.Column("kafka_offset", sa.BigInteger, nullable=True))
    op.create_index("ix_outbox_partition_offset", "outbox", ["topic", "kafka_partition", "kafka_offset"])
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table(
        "outbox_broker",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("cluster_id", sa.String(200), nullable=False),
        sa.Column("seen_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "outbox_partition",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("kafka_partition", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("written_until", sa.BigInteger, nullable=False),
        sa.Column("last_batch_from", sa.BigInteger, nullable=False),
    )


def drop_outbox_broker_marks() -> None:
    op.drop_table("outbox_partition")
    op.drop_table("outbox_broker")
    op.drop_index("ix_outbox_published_at", "outbox")
    op.drop_index("ix_outbox_partition_offset", "outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("kafka_offset")
        batch.drop_column("kafka_partition")
