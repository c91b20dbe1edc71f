"""``coach products import FILE.csv``: load or update the product catalogue (upsert by code).

Columns: ``code, name, type, risk_rating, min_amount, term_days, sale_start, sale_end,
requires_qualification, features, advantages, benefits`` (``code``, ``name`` and
``risk_rating`` are required), UTF-8 or GBK. Every row is checked first; problems are
reported as ``FILE:LINE: problem`` and then nothing is saved (exit code 1).
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
    from coach.textfile import FileProblem, read_text

    if not args.file.exists():
        return fail(f"no such file: {args.file}")
    try:
        source = read_text(args.file, max_bytes=50_000_000)
    except FileProblem as err:
        print_problems(args.file, [(1, str(err))])
        return 1
    if source.encoding != "utf-8":
        print(f"{args.file}: read as {source.encoding.upper()} (not UTF-8)")
    with cli_services() as svc:
        try:
            rows = read_product_rows(source.text)
            with svc.db.session() as s:
                report = import_products(s, rows)
                if report.problems:
                    s.rollback()
        except ServiceError as err:
            return fail_service(err)
    print_problems(args.file, report.problems)
    if report.problems:
        print(f"nothing imported: {len(report.problems)} rows have problems")
        return 1
    print(f"imported {report.created} new and {report.updated} updated products, "
          f"{len(report.problems)} rows rejected; {report.linked} holdings/sales linked")
    return 1 if report.problems else 0
