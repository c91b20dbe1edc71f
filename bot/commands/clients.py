"""``coach clients import FILE.csv --advisor TELEGRAM_ID [--dry-run]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands._common import (
    cli_services,
    fail,
    fail_service,
    print_problems,
    telegram_id,
)

__all__ = ["register"]

MAX_BYTES = 200_000_000


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    clients = subparsers.add_parser("clients", help="client book").add_subparsers(
        dest="clients_command", required=True)
    imp = clients.add_parser("import", help="import clients and holdings from CSV")
    imp.add_argument("file", type=Path)
    imp.add_argument("--advisor", type=telegram_id, required=True,
                     help="the advisor's Telegram id")
    imp.add_argument("--dry-run", action="store_true",
                     help="check the file and list what would change, write nothing")
    imp.set_defaults(func=import_file)


def import_file(args: argparse.Namespace) -> int:
    import time

    from coach.services import people
    from coach.services.client_import import CsvRows, import_clients
    from coach.services.errors import ServiceError
    from coach.textfile import FileProblem, read_text

    if not args.file.exists():
        return fail(f"no such file: {args.file}")
    started = time.perf_counter()
    try:
        source = read_text(args.file, max_bytes=MAX_BYTES)
        rows = CsvRows(source.text)
    except FileProblem as err:
        print_problems(args.file, [(1, str(err))])
        return 1
    except ServiceError as err:
        print_problems(args.file, [(1, f"{err.code}: {', '.join(map(str, err.params.values()))}")])
        return 1
    if source.encoding != "utf-8":
        print(f"{args.file}: read as {source.encoding.upper()} (not UTF-8)")
    with cli_services() as svc:
        thresholds = svc.settings.tier_thresholds
        try:
            with svc.db.session() as s:
                advisor = people.find_user(s, args.advisor)
                if advisor is None or advisor.role not in ("advisor", "lead"):
                    return fail(f"no advisor with Telegram id {args.advisor}")
                # committed every BATCH rows (not in one long transaction): a bot on the
                # same SQLite file is never locked out for longer than one batch
                report = import_clients(s, rows, advisor=advisor, clock=svc.clock,
                                        thresholds=thresholds, dry_run=args.dry_run,
                                        on_batch=None if args.dry_run else s.commit)
                if report.problems or args.dry_run:
                    s.rollback()
        except ServiceError as err:
            return fail_service(err)
    seconds = time.perf_counter() - started
    if report.problems:
        print_problems(args.file, report.problems)
        print(f"nothing imported: {len(report.problems)} of {report.rows} rows have problems "
              f"({seconds:.2f} s)")
        return 1
    if args.dry_run:
        print_problems(args.file, report.changes)
        print(f"dry run, nothing written: would add {report.clients} clients and "
              f"{report.holdings} holdings, update {report.updated}, "
              f"{report.unchanged} unchanged")
        return 0
    print(f"imported {report.clients} clients and {report.holdings} holdings, "
          f"updated {report.updated}, {report.unchanged} unchanged, 0 rows rejected "
          f"({seconds:.2f} s)")
    return 0
