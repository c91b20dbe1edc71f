"""``coach backup PATH`` and ``coach restore PATH``: a consistent copy of a SQLite database.

SQLite uses its online backup API (the bot may keep running during a backup). PostgreSQL
is refused with the ``pg_dump``/``pg_restore`` commands to use instead.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["register", "backup_sqlite", "restore_sqlite"]

PG_HINT = ("coach: {what} works on SQLite only. For PostgreSQL use its own tools:\n"
           "  pg_dump --format=custom --file=coach.dump \"$PGURL\"\n"
           "  pg_restore --exit-on-error --no-owner --dbname=\"$PGURL\" coach.dump\n"
           "  (check a dump with: pg_restore --list coach.dump)")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name, func, text in (("backup", _backup, "copy the SQLite database to PATH"),
                             ("restore", _restore, "copy PATH into an empty SQLite database")):
        p = subparsers.add_parser(name, help=text)
        p.add_argument("path", metavar="PATH")
        p.add_argument("--url", help="database URL (default: DATABASE_URL)")
        p.set_defaults(func=func)


def _sqlite_file(args: argparse.Namespace, what: str) -> Path | None:
    from bot.settings import load_settings

    url = make_url(args.url or load_settings().database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        print(PG_HINT.format(what=what))
        return None
    return Path(url.database)


def backup_sqlite(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` page by page, consistent even while the bot writes."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _is_empty(path: Path) -> bool:
    """No file, or a file whose tables hold no rows (a fresh ``coach db upgrade`` counts)."""
    if not path.exists():
        return True
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name != 'alembic_version'"
            " AND name NOT LIKE 'sqlite_%'")]
        return all(con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() is None
                   for t in tables)
    finally:
        con.close()


def restore_sqlite(backup: Path, target: Path) -> None:
    """Copy ``backup`` into ``target``, which must be empty."""
    backup_sqlite(backup, target)


def _backup(args: argparse.Namespace) -> int:
    source = _sqlite_file(args, "backup")
    if source is None:
        return 2
    target = Path(args.path)
    if target.exists():
        print(f"coach: {target} exists; choose a new file")
        return 1
    backup_sqlite(source, target)
    print(f"backed up to {target}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    target = _sqlite_file(args, "restore")
    if target is None:
        return 2
    backup = Path(args.path)
    if not backup.is_file():
        print(f"coach: no backup file at {backup}")
        return 1
    if not _is_empty(target):
        print(f"coach: the database at {target} has data; restore only into an empty one")
        return 1
    restore_sqlite(backup, target)
    print(f"restored {backup} into {target}")
    return 0
