"""Alembic, run from code: each service applies its own migrations to its own database at start.

Replicas of a service may start at the same moment on one fresh database. Alembic itself takes no lock: two
upgrades at once both find no ``alembic_version`` and both create the tables, and one of them fails (or both
half-apply a revision). So every upgrade holds a lock for its whole run: on PostgreSQL a session-level advisory
lock on the very connection Alembic migrates with (released when that connection closes, even if the process
dies), on SQLite an exclusive ``flock`` on ``<database file>.migrate.lock`` (released by the kernel likewise).
The second replica then waits, finds the schema at head and has nothing to do.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config

from services.common.db import prepare_sqlite_file, sync_url


def _config(database_url: str, script_location: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", sync_url(database_url).render_as_string(hide_password=False))
    return config


def lock_key(purpose: str, name: str) -> int:
    """A signed 64-bit advisory-lock key from what it guards: stable across processes and releases, and apart
    from the relay's fixed key (``outbox_relay.RELAY_LOCK_KEY``) in all but a 2**-64 chance."""
    digest = hashlib.blake2b(f"ttg:{purpose}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def ensure_database(database_url: str) -> None:
    """Create the PostgreSQL database named by the URL when it does not exist yet (SQLite: its folder).

    Replicas starting at once would race on CREATE DATABASE, so the check and the creation happen under an
    advisory lock on the maintenance database keyed by the name."""
    url = sync_url(database_url)
    if url.get_backend_name() != "postgresql":
        prepare_sqlite_file(database_url)
        return
    name = url.database or ""
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": lock_key("create-database", name)})
            found = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if found.first() is None:
                try:
                    connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
                except sa.exc.ProgrammingError:
                    pass  # created meanwhile by something that does not take the lock
    finally:
        engine.dispose()  # closing the session releases its advisory lock


@contextmanager
def _sqlite_migration_lock(database_url: str) -> Iterator[None]:
    """Hold an exclusive flock beside the SQLite file: one process migrates it at a time."""
    path = sync_url(database_url).database
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate.lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def upgrade(database_url: str, script_location: Path) -> None:
    """Bring the database to the newest revision (idempotent), creating it first if need be; serialised
    against every other process upgrading the same database."""
    ensure_database(database_url)
    config = _config(database_url, script_location)
    url = sync_url(database_url)
    if url.get_backend_name() != "postgresql":
        with _sqlite_migration_lock(database_url):
            command.upgrade(config, "head")
        return
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            key = lock_key("migrate", script_location.parent.name)
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            connection.commit()  # the lock is the session's: it outlives this transaction
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()  # closing the connection releases the lock


def run_env() -> None:
    """Body of every service's ``migrations/env.py``: online migrations on the configured URL, or on the
    connection ``upgrade`` gave (the one holding the migration lock)."""
    given = context.config.attributes.get("connection")
    if isinstance(given, sa.Connection):
        _migrate(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        _migrate(connection)
    engine.dispose()


def _migrate(connection: sa.Connection) -> None:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()
