"""``coach clients import FILE.csv --advisor TELEGRAM_ID``."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands._common import cli_services, fail, fail_service, print_problems

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    clients = subparsers.add_parser("clients", help="client book").add_subparsers(
        dest="clients_command", required=True)
    imp = clients.add_parser("import", help="import clients and holdings from CSV")
    imp.add_argument("file", type=Path)
    imp.add_argument("--advisor", type=int, required=True, help="the advisor's Telegram id")
    imp.set_defaults(func=import_file)


def import_file(args: argparse.Namespace) -> int:
    import time

    from coach.services import people
    from coach.services.client_import import import_clients, read_rows
    from coach.services.errors import ServiceError

    if not args.file.exists():
        return fail(f"no such file: {args.file}")
    started = time.perf_counter()
    with cli_services() as svc:
        thresholds = svc.settings.tier_thresholds
        try:
            with args.file.open(encoding="utf-8-sig", newline="") as fh:
                rows = read_rows(fh)
            with svc.db.session() as s:
                advisor = people.find_user(s, args.advisor)
                if advisor is None or advisor.role not in ("advisor", "lead"):
                    return fail(f"no advisor with Telegram id {args.advisor}")
                report = import_clients(s, rows, advisor=advisor, clock=svc.clock,
                                        thresholds=thresholds)
        except ServiceError as err:
            return fail_service(err)
        except UnicodeDecodeError:
            return fail(f"{args.file} is not UTF-8 text")
    print_problems(args.file, report.problems)
    print(f"imported {report.clients} clients and {report.holdings} holdings, "
          f"{len(report.problems)} rows rejected ({time.perf_counter() - started:.2f} s)")
    return 1 if report.problems else 0
