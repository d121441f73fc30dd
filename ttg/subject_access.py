"""What a subject-access export reads: every table of every service that holds a person's data, found by rule.

Tables are not listed one by one, so a new table cannot be forgotten: the export reflects each service
database and reads every table by its columns.

* A **person column** holds the prison number: ``prison_number``, ``subject`` (the audit trail, deliveries),
  ``key`` of the outbox (events are keyed by prison number).
* A **link column** names a row already found to be the person's: ``handover_id``, ``referral_id``,
  ``delivery_seq``, ``webhook_id``, ``notice_id``, ``custody_event_id``, ``event_id``; the audit trail's
  ``resource_id`` may name any of them, and its ``details`` name what a list read disclosed. The ids of the
  rows found (a handover's ``id`` is a ``handover_id``) feed the next round, across the three services, until
  nothing new is found.
* A table with neither must be in :data:`NO_PERSON_DATA` with the reason it holds nothing about a person;
  ``tests/unit/security/test_subject_access.py`` fails for a table of any service's migrations that is in
  neither, and the export lists such a table under ``not_searched`` rather than pass over it in silence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

import sqlalchemy as sa

PERSON_COLUMNS = ("prison_number", "subject")
PERSON_COLUMNS_OF = {"outbox": ("key",)}
LINK_COLUMNS = (
    "handover_id",
    "referral_id",
    "delivery_seq",
    "webhook_id",
    "notice_id",
    "custody_event_id",
    "event_id",
)
RESOURCE_COLUMNS = ("resource_id",)
# Audit records of list reads name what they disclosed in ``details`` (handover, referral and webhook ids).
DETAIL_COLUMNS = ("details",)
DETAIL_LINKS = ("handover_id", "referral_id", "webhook_id")
# A row's own id, as the link other tables use for it.
OWN_ID: dict[str, tuple[str, str]] = {
    "handover": ("id", "handover_id"),
    "referral": ("id", "referral_id"),
    "delivery": ("seq", "delivery_seq"),
    "release_notice": ("id", "notice_id"),
    "custody_event": ("id", "custody_event_id"),
}
NO_PERSON_DATA: dict[str, str] = {
    "alembic_version": "the schema revision",
    "audit_head": "the newest audit record's sequence number and hash",
    "idempotency_key": "a client's key and the first answer to it (a notice id and status), no identifier",
    "directory_agency": "agencies and the areas they cover",
    "endpoint_state": "the state of an agency's webhook endpoint",
    "directory_endpoint": "the notifier's copy of the directory: agencies, their endpoints and secret references",
    "outbox_broker": "the cluster id of the broker the outbox relay last published to",
    "outbox_partition": "how far the outbox relay wrote on each topic partition",
}


@dataclass(frozen=True)
class Plan:
    """How one table is searched: by person columns, by link columns, by resource columns."""

    table: str
    person: tuple[str, ...]
    links: tuple[str, ...]
    resources: tuple[str, ...]


def plan_of(table: sa.Table) -> Plan | None:
    """How to find a person's rows in ``table``; None when it has no column that could lead to them."""
    names = set(table.columns.keys())
    person = tuple(c for c in (*PERSON_COLUMNS, *PERSON_COLUMNS_OF.get(table.name, ())) if c in names)
    links = tuple(c for c in LINK_COLUMNS if c in names)
    resources = tuple(c for c in RESOURCE_COLUMNS if c in names)
    if not (person or links or resources):
        return None
    return Plan(table.name, person, links, resources)


def unsearchable(tables: Iterable[sa.Table]) -> list[str]:
    """Tables that neither a rule reaches nor :data:`NO_PERSON_DATA` explains."""
    return sorted(t.name for t in tables if plan_of(t) is None and t.name not in NO_PERSON_DATA)


Keys = dict[str, set[str]]


def _harvest(table: str, rows: list[dict[str, object]], keys: Keys) -> bool:
    """Add the ids these rows carry to ``keys``; True when something new was found."""
    grew = False
    for row in rows:
        found = [(link, row.get(link)) for link in LINK_COLUMNS]
        if table in OWN_ID:
            column, link = OWN_ID[table]
            found.append((link, row.get(column)))
        for link, value in found:
            if value is not None and str(value) not in keys[link]:
                keys[link].add(str(value))
                grew = True
    return grew


def _typed(column: sa.Column[Any], values: Iterable[str]) -> list[int] | list[str]:
    """The values as the column holds them: PostgreSQL compares an integer column only with integers."""
    try:
        numeric = column.type.python_type is int
    except NotImplementedError:
        numeric = False
    if numeric:
        return sorted(int(value) for value in values if value.isdigit())
    return sorted(values)


def _select(connection: sa.Connection, table: sa.Table, plan: Plan, keys: Keys) -> list[dict[str, object]]:
    conditions: list[sa.ColumnElement[bool]] = [table.c[c].in_(sorted(keys["prison_number"])) for c in plan.person]
    conditions += [table.c[c].in_(_typed(table.c[c], keys[c])) for c in plan.links if keys[c]]
    every_id = sorted(set().union(*(keys[link] for link in LINK_COLUMNS)))
    conditions += [table.c[c].in_(every_id) for c in plan.resources if every_id]
    named = sorted(set().union(*(keys[link] for link in DETAIL_LINKS)))
    if plan.resources:  # the audit trail: list reads that named one of the person's ids
        conditions += [
            table.c[c].contains(value, autoescape=True) for c in DETAIL_COLUMNS if c in table.c for value in named
        ]
    if not conditions:
        return []
    order = list(table.primary_key.columns) or list(table.columns)[:1]
    query = sa.select(table).where(sa.or_(*conditions)).order_by(*order)
    return [dict(row._mapping) for row in connection.execute(query)]


class ServiceRows(TypedDict):
    """One service's share of a subject access export: rows by table, and the tables no rule could search."""

    tables: dict[str, list[dict[str, object]]]
    not_searched: list[str]


def gather(connections: dict[str, sa.Connection], people: set[str]) -> dict[str, ServiceRows]:
    """Every row of every service's tables that is about ``people``, by service and table, with what could not
    be searched. Rounds repeat over all services until no new id is found (ids cross services: a handover id
    found in handover leads to the notifier's escalations)."""
    keys: Keys = defaultdict(set)
    keys["prison_number"] = set(people)
    tables = {}
    for service, connection in connections.items():
        metadata = sa.MetaData()
        metadata.reflect(bind=connection)
        tables[service] = list(metadata.sorted_tables)
    held: dict[str, dict[str, list[dict[str, object]]]] = {service: {} for service in connections}
    grew = True
    while grew:
        grew = False
        for service, connection in connections.items():
            for table in tables[service]:
                plan = plan_of(table)
                if plan is None:
                    continue
                rows = _select(connection, table, plan, keys)
                held[service][table.name] = rows
                grew = _harvest(table.name, rows, keys) or grew
    return {
        service: {"tables": held[service], "not_searched": unsearchable(tables[service])} for service in connections
    }
