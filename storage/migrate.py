"""Run Alembic migrations from code (``coach db …``, start-up, tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

__all__ = ["alembic_config", "upgrade", "downgrade", "current", "history", "MIGRATION_LOCK"]

MIGRATIONS = Path(__file__).with_name("migrations")
# any fixed 64-bit number; every `coach` process that migrates takes this one lock
MIGRATION_LOCK = 0x436F616368  # "Coach"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """On PostgreSQL, hold a session advisory lock so two first starts never race.

    The second process waits, then finds the schema already at head and does nothing.
    SQLite serialises writers itself, so nothing is taken there.
    """
    if not make_url(url).get_backend_name().startswith("postgresql"):
        yield
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (creating it if new)."""
    with _migration_lock(url):
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the schema at ``url`` back to ``revision`` (data in dropped columns is lost)."""
    with _migration_lock(url):
        command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database at ``url`` is on (None: never migrated)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def history(url: str) -> list[tuple[str, str | None, str]]:
    """All revisions newest first: (revision, down_revision, message)."""
    scripts = ScriptDirectory.from_config(alembic_config(url))
    out = []
    for rev in scripts.walk_revisions():
        down = rev.down_revision
        out.append((rev.revision, down if isinstance(down, str) or down is None else ",".join(down),
                    (rev.doc or "").strip()))
    return out
