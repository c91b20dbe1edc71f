"""``coach products import FILE.csv``: load or update the product catalogue (upsert by code).

Columns: ``code, name, type, risk_rating, min_amount, term_days, sale_start, sale_end,
requires_qualification, features, advantages, benefits`` (``code``, ``name`` and
``risk_rating`` are required). Bad rows are reported as ``FILE:LINE: problem`` and
skipped; the good ones are saved. Exit code 1 when any row was rejected.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands._common import cli_services, fail, fail_service, print_problems

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    products = subparsers.add_parser("products", help="product catalogue").add_subparsers(
        dest="products_command", required=True)
    imp = products.add_parser("import", help="import or update products from CSV")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=import_file)


def import_file(args: argparse.Namespace) -> int:
    from coach.services.errors import ServiceError
    from coach.services.products import import_products, read_product_rows

    if not args.file.exists():
        return fail(f"no such file: {args.file}")
    with cli_services() as svc:
        try:
            with args.file.open(encoding="utf-8-sig", newline="") as fh:
                rows = read_product_rows(fh)
            with svc.db.session() as s:
                report = import_products(s, rows)
        except ServiceError as err:
            return fail_service(err)
        except UnicodeDecodeError:
            return fail(f"{args.file} is not UTF-8 text")
    print_problems(args.file, report.problems)
    print(f"imported {report.created} new and {report.updated} updated products, "
          f"{len(report.problems)} rows rejected; {report.linked} holdings/sales linked")
    return 1 if report.problems else 0
