"""Alembic, run from code: each service applies its own migrations to its own database at start."""

from __future__ import annotations

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


def ensure_database(database_url: str) -> None:
    """Create the PostgreSQL database named by the URL when it does not exist yet (SQLite: its folder)."""
    url = sync_url(database_url)
    if url.get_backend_name() != "postgresql":
        prepare_sqlite_file(database_url)
        return
    name = url.database
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            found = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if found.first() is None:
                try:
                    connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
                except sa.exc.ProgrammingError:
                    pass  # created meanwhile by another replica
    finally:
        engine.dispose()


def upgrade(database_url: str, script_location: Path) -> None:
    """Bring the database to the newest revision (idempotent), creating it first if need be."""
    ensure_database(database_url)
    command.upgrade(_config(database_url, script_location), "head")


def run_env() -> None:
    """Body of every service's ``migrations/env.py``: online migrations on the configured URL."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
