"""``coach suitability``: check one client/product pair against the suitability rules.

Example::

    coach suitability --client-risk C3 --product-risk R4 --assessed-on 2026-06-01 --json
    {"suitable": false, "reasons": ["product_risk_above_tolerance"], "details": {...},
     "warnings": [], "extra_steps": []}
    coach suitability --client-risk C3 --product-risk R3 --assessed-on 2026-06-01 \
        --birth-date 1955-03-02 --first-purchase --vulnerable --json
    {"suitable": true, ..., "warnings": ["elderly_client", "first_risk_purchase",
     "vulnerable_client"], "extra_steps": ["second_person_present", "recorded_explanation"]}

Exit 0 when the check ran (suitable or not), 2 on bad input with one sentence on stderr.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["register"]

_FLAGS = {
    "client_risk": "--client-risk must be one of C1, C2, C3, C4, C5",
    "product_risk": "--product-risk must be one of R1, R2, R3, R4, R5",
    "assessment_valid_days": "--valid-days must be a positive whole number of days",
    "assessment_valid_months": "--valid-months must be a positive whole number of months",
    "sale_window": "--sale-start must not be later than --sale-end",
}


class _BadInput(ValueError):
    """A user mistake that becomes one sentence on stderr and exit code 2."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "suitability",
        help="check whether a product may be recommended to a client",
        description="Check risk tolerance, assessment age, seller qualification and sale window.",
    )
    parser.add_argument("--client-risk", metavar="C1..C5", help="client risk tolerance")
    parser.add_argument("--product-risk", metavar="R1..R5", required=True, help="product rating")
    parser.add_argument("--assessed-on", metavar="YYYY-MM-DD", help="date of the risk assessment")
    parser.add_argument("--today", metavar="YYYY-MM-DD", help="check as of this date")
    parser.add_argument(
        "--seller-qualifications", metavar="A[,B]", default="", help="seller's qualifications"
    )
    parser.add_argument(
        "--product-requires", metavar="QUAL[,QUAL]",
        help="qualification(s) the product accepts (any one will do); R5 products default "
             "to TOP_RISK_QUALIFICATIONS (AFP, CFP, EFP)",
    )
    parser.add_argument("--sale-start", metavar="YYYY-MM-DD", help="first day of the sale window")
    parser.add_argument("--sale-end", metavar="YYYY-MM-DD", help="last day of the sale window")
    parser.add_argument("--valid-days", metavar="DAYS",
                        help="count assessment validity in days instead of calendar months")
    parser.add_argument("--valid-months", metavar="MONTHS",
                        help="assessment validity in calendar months (default: setting, 6)")
    parser.add_argument("--birth-date", metavar="YYYY-MM-DD", help="client's birth date")
    parser.add_argument("--first-purchase", action="store_true",
                        help="the client's first purchase of a risk product")
    parser.add_argument("--vulnerable", action="store_true", help="the client is vulnerable")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=_run)


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise _BadInput(f"{flag} must be a date like 2026-06-01, got {value!r}.") from None


def _positive_int(value: str, flag: str = "--valid-days", unit: str = "days") -> int:
    try:
        days = int(value)
    except ValueError:
        days = 0
    if days <= 0:
        raise _BadInput(f"{flag} must be a positive whole number of {unit}, got {value!r}.")
    return days


def _default_today() -> date:
    from zoneinfo import ZoneInfo

    from bot.settings import load_settings
    from coach.clock import SystemClock

    tz = ZoneInfo(load_settings().default_timezone)
    return SystemClock().now().astimezone(tz).date()


def _settings() -> Settings:
    from bot.settings import load_settings

    return load_settings()


def _run(args: argparse.Namespace) -> int:
    import json

    from coach.suitability import Reason, check_suitability

    try:
        today = _date(args.today, "--today")
        result = check_suitability(
            client_risk=args.client_risk,
            product_risk=args.product_risk,
            assessed_on=_date(args.assessed_on, "--assessed-on"),
            today=today or _default_today(),
            seller_qualifications=[q for q in args.seller_qualifications.split(",") if q.strip()],
            product_requires=args.product_requires,
            sale_window=(
                _date(args.sale_start, "--sale-start"),
                _date(args.sale_end, "--sale-end"),
            ),
            assessment_valid_days=(
                _positive_int(args.valid_days) if args.valid_days is not None else None
            ),
            assessment_valid_months=(
                _positive_int(args.valid_months, "--valid-months", "months")
                if args.valid_months is not None
                else _settings().risk_assessment_valid_months
            ),
            top_risk_qualifications=_settings().top_risk_qualifications.split(","),
            birth_date=_date(args.birth_date, "--birth-date"),
            first_purchase=args.first_purchase,
            vulnerable=args.vulnerable,
            elderly_age=_settings().elderly_client_age,
        )
        if Reason.INVALID_INPUT in result.reasons:
            field, value = next(iter(result.details["invalid"].items()))
            raise _BadInput(f"{_FLAGS.get(field, field)}, got {value!r}.")
    except _BadInput as exc:
        print(f"coach suitability: {exc}", file=sys.stderr)
        return 2

    if args.json:
        payload = {"suitable": result.suitable, "reasons": [str(r) for r in result.reasons]}
        payload["details"] = result.details
        payload["warnings"] = result.warnings
        payload["extra_steps"] = result.extra_steps
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print("suitable" if result.suitable else "NOT suitable: " + ", ".join(result.reasons))
        if result.warnings:
            print("warnings: " + ", ".join(result.warnings)
                  + "; before saving: " + ", ".join(result.extra_steps))
    return 0
