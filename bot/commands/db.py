"""``coach db upgrade|current|history|downgrade REV``: the schema through Alembic."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("db", help="database schema")
    sub = parser.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", help="apply migrations up to the newest schema")
    up.set_defaults(func=upgrade)
    cur = sub.add_parser("current", help="print the revision the database is on")
    cur.set_defaults(func=current)
    hist = sub.add_parser("history", help="list all revisions, newest first")
    hist.set_defaults(func=history)
    down = sub.add_parser("downgrade", help="go back to revision REV (data may be lost)")
    down.add_argument("revision", metavar="REV")
    down.set_defaults(func=downgrade)
    for p in (up, cur, hist, down):
        p.add_argument("--url", help="database URL (default: DATABASE_URL)")


def _url(args: argparse.Namespace) -> str:
    from bot.settings import load_settings

    return str(args.url or load_settings().database_url)


def _where(url: str) -> str:
    return url.split("@")[-1]  # never print the password


def upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade as run_upgrade

    url = _url(args)
    run_upgrade(url)
    print(f"database at {_where(url)} is up to date")
    return 0


def current(args: argparse.Namespace) -> int:
    from storage.migrate import current as read_current
    from storage.migrate import history as read_history

    url = _url(args)
    rev = read_current(url)
    head = read_history(url)[0][0]
    if rev is None:
        print("no schema yet (run: coach db upgrade)")
    else:
        print(f"{rev} (head)" if rev == head else f"{rev} (head is {head}: run coach db upgrade)")
    return 0


def history(args: argparse.Namespace) -> int:
    from storage.migrate import history as read_history

    for rev, down, message in read_history(_url(args)):
        print(f"{down or '<base>'} -> {rev}  {message}")
    return 0


def downgrade(args: argparse.Namespace) -> int:
    from alembic.util import CommandError

    from storage.migrate import downgrade as run_downgrade

    url = _url(args)
    try:
        run_downgrade(url, args.revision)
    except CommandError as err:
        print(f"coach: cannot downgrade to {args.revision}: {err}")
        return 1
    print(f"database at {_where(url)} is now at {args.revision}")
    return 0
