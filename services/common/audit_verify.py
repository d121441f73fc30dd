"""Verifying the audit trail (``ttg audit verify``): walk the hash chain of :mod:`services.common.audit` and name
the first record that does not follow from the one before, or a head that does not match the newest record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select, true

from services.common.audit import GENESIS, head_table, record_hash, records_table


@dataclass(frozen=True)
class ChainVerdict:
    intact: bool
    records: int
    head_seq: int
    head_hash: str
    broken_at: int | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.intact:
            return f"audit chain intact: {self.records} records, head {self.head_seq} {self.head_hash}"
        return f"audit chain broken at record {self.broken_at}: {self.reason}"


def verify(rows: list[dict[str, Any]], head_seq: int, head_hash: str) -> ChainVerdict:
    """Walk the records in sequence order and name the first one that does not follow from the one before."""
    expected_prev, expected_seq = GENESIS, 1

    def broken(at: int, reason: str) -> ChainVerdict:
        return ChainVerdict(False, len(rows), head_seq, head_hash, at, reason)

    for row in sorted(rows, key=lambda item: item["seq"]):
        if row["seq"] != expected_seq:
            return broken(expected_seq, f"record {expected_seq} is missing (the next record is {row['seq']})")
        if row["prev_hash"] != expected_prev:
            return broken(row["seq"], "it does not link to the record before it (prev_hash differs)")
        if record_hash(row) != row["hash"]:
            return broken(row["seq"], "its content was changed (its hash does not match)")
        expected_prev, expected_seq = row["hash"], expected_seq + 1
    last_seq = expected_seq - 1
    if (last_seq, expected_prev) != (head_seq, head_hash):
        return broken(
            last_seq + 1 if head_seq > last_seq else head_seq,
            f"the chain ends at record {last_seq} but the head names record {head_seq}",
        )
    return ChainVerdict(True, len(rows), head_seq, head_hash)


def verify_connection(connection: Connection) -> ChainVerdict:
    """Verify the chain as it stood at one moment. The head and the records are read in one statement, so one
    snapshot on either backend: on a live system a transaction that appends between two reads would otherwise
    show a head newer than the records read before it, a break that is not there (CI's chaos profile on
    PostgreSQL, which walks the chains while the services may still append, saw exactly that)."""
    found = connection.execute(
        select(head_table.c.seq.label("head_seq"), head_table.c.hash.label("head_hash"), *records_table.c)
        .select_from(head_table.outerjoin(records_table, true()))
        .where(head_table.c.id == 1)
        .order_by(records_table.c.seq)
    ).all()
    if not found:
        records = connection.execute(select(func.count()).select_from(records_table)).scalar_one()
        return ChainVerdict(False, records, 0, GENESIS, 0, "the audit head row is missing")
    head_seq, head_hash = found[0].head_seq, found[0].head_hash
    rows = [{name: row._mapping[name] for name in records_table.c.keys()} for row in found if row.seq is not None]
    for row in rows:
        if isinstance(row["at"], datetime) and row["at"].tzinfo is None:
            row["at"] = row["at"].replace(tzinfo=UTC)
    return verify(rows, head_seq, head_hash)
