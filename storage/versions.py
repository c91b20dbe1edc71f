"""Version counters for caches every bot instance keeps (``cache_versions``).

A change to something cached (a team script saved, a client added) bumps its
counter in the same transaction; each instance compares the counters once a tick
(:func:`current`, one small query) and, when one moved, reads only what changed.

Bumping holds the counter row's lock until the transaction ends (PostgreSQL), so
changes to one cache commit one after another: rows they add carry ids (and
versions) in commit order, which is what lets a reader ask for "rows after the
last one I saw" without missing one that committed late.

Client names are bumped by a ``before_flush`` listener (:func:`track_client_names`,
installed by :class:`storage.db.Database`), so every way a client is added (the
bot, an import, a referral) counts without each service remembering to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, insert, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import CacheVersion, Client

__all__ = ["CLIENT_NAMES", "TEAM_SCRIPTS", "bump", "current", "track_client_names"]

_TABLE: Table = CacheVersion.__table__  # type: ignore[assignment]
TEAM_SCRIPTS = "team_scripts"
CLIENT_NAMES = "client_names"


def current(session: Session) -> dict[str, int]:
    """Every counter, by name (a missing row reads as 0)."""
    counters = {TEAM_SCRIPTS: 0, CLIENT_NAMES: 0}
    for name, version in session.execute(select(CacheVersion.name, CacheVersion.version)):
        counters[name] = int(version)
    return counters


def bump(session: Session, name: str) -> int:
    """Add one to ``name``'s counter in this transaction; the new value."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)  # informational only: nothing compares it
    # a Core statement on the session's connection: no autoflush, safe inside a flush
    connection = session.connection()
    table = _TABLE
    changed = connection.execute(update(table).where(table.c.name == name)
                                 .values(version=table.c.version + 1, updated_at=now))
    if changed.rowcount == 0:  # a database migrated without the seed rows
        connection.execute(insert(table).values(name=name, version=1, updated_at=now))
    value = connection.execute(select(table.c.version).where(table.c.name == name)).scalar_one()
    return int(value)


def _names_changed(session: Session) -> bool:
    if any(isinstance(obj, Client) for obj in session.new):
        return True
    return any(isinstance(obj, Client) and inspect(obj).attrs.name.history.has_changes()
               for obj in session.dirty)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if _names_changed(session):
        bump(session, CLIENT_NAMES)


def track_client_names(factory: sessionmaker[Session]) -> None:
    """Bump ``client_names`` in any flush of ``factory``'s sessions that adds or renames
    a client."""
    from sqlalchemy import event

    # a mark on the factory itself, not event.contains(): SQLAlchemy's registry keys on
    # id(), so a new factory at the address of a freed one "contains" the listener
    # already, and its sessions would add clients without bumping the version
    if getattr(factory, "_coach_tracks_client_names", False):
        return
    event.listen(factory, "before_flush", _before_flush)
    factory._coach_tracks_client_names = True  # type: ignore[attr-defined]
