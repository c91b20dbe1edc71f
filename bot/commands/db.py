"""``coach db upgrade``: apply Alembic migrations to DATABASE_URL."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("db", help="database schema")
    sub = parser.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", help="apply migrations up to the newest schema")
    up.add_argument("--url", help="database URL (default: DATABASE_URL)")
    up.set_defaults(func=upgrade)


def upgrade(args: argparse.Namespace) -> int:
    from bot.settings import load_settings
    from storage.migrate import upgrade as run_upgrade

    url = args.url or load_settings().database_url
    run_upgrade(url)
    print(f"database at {url.split('@')[-1]} is up to date")
    return 0
