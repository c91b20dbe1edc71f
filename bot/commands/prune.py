"""``coach prune [--dry-run]``: delete rows past their retention periods now.

The scheduled housekeeping job does the same every hour while the bot runs; this
command is for a first clean-up, or to see what the settings would remove
(``--dry-run`` prints the counts and deletes nothing).
"""

from __future__ import annotations

import argparse

from bot.commands._common import cli_services

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("prune", help="delete update ids, script events and audit rows "
                                            "past their retention")
    p.add_argument("--dry-run", action="store_true", help="print the counts, delete nothing")
    p.set_defaults(func=run_prune)


def run_prune(args: argparse.Namespace) -> int:
    from coach.services.retention import Retention, count_expired, jsonl_archive, prune_expired

    with cli_services() as svc:
        settings = svc.settings
        retention = Retention.from_settings(settings)
        now = svc.clock.now()
        if args.dry_run:
            counts = count_expired(svc.db, retention, now=now)
        else:
            archive = (jsonl_archive(settings.audit_archive_dir)
                       if settings.audit_archive_dir else None)
            counts = prune_expired(svc.db, retention, now=now, archive=archive)
    for kind, count in counts.items():
        before = retention.cutoff(kind, now).strftime("%Y-%m-%d %H:%M")
        print(f"{kind}: {count} {'would be ' if args.dry_run else ''}deleted "
              f"(older than {before} UTC)")
    if not args.dry_run and settings.audit_archive_dir:
        print(f"audit rows archived to {settings.audit_archive_dir}/<table>.jsonl")
    return 0
