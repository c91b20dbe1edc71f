"""``coach practice``: score a role-play reply and validate the scenario files.

    coach practice score objection.fee_too_high "王先生，您是担心费用…" --name 王先生 --json
    coach practice validate [DIR]
    coach practice list
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("practice", help="role-play practice tools (score, validate)")
    sub = parser.add_subparsers(dest="practice_command", metavar="ACTION")
    parser.set_defaults(func=lambda _args: _usage(parser))

    score = sub.add_parser("score", help="score one advisor reply to a customer category")
    score.add_argument("category", help="e.g. objection.fee_too_high")
    score.add_argument("reply", help="the advisor's reply")
    score.add_argument("--name", help="customer's name, e.g. 王先生 (enables the name check)")
    score.add_argument("--risk", action="store_true", help="the product needs a risk disclosure")
    score.add_argument("--customer-line", default="", help="what the customer said")
    score.add_argument("--lang", choices=("zh", "en"), default="zh", help="tip language")
    score.add_argument("--json", action="store_true", help="print JSON")
    score.set_defaults(func=_score)

    validate = sub.add_parser("validate", help="check scenario YAML files")
    validate.add_argument("dir", nargs="?", default=None, help="folder (default: shipped)")
    validate.set_defaults(func=_validate)

    listing = sub.add_parser("list", help="list the shipped scenarios")
    listing.set_defaults(func=_list)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _score(args: argparse.Namespace) -> int:
    from coach.roleplay.model_answers import library_model_answers
    from coach.roleplay.scenario import CATEGORIES
    from coach.roleplay.scoring import score_reply, tip_text

    if args.category not in CATEGORIES:
        print(f"unknown category {args.category!r}", file=sys.stderr)
        return 2
    result = score_reply(
        args.reply,
        category=args.category,
        customer_line=args.customer_line,
        customer_name=args.name,
        requires_risk_disclosure=args.risk,
        model_answers=library_model_answers(args.category, args.lang),
        lang=args.lang,
    )
    if args.json:
        payload = {
            "score": result.score, "checks": result.checks, "compliance": result.compliance,
            "tip": result.tip, "grade": result.grade,
            "tip_text": tip_text(result.tip, args.lang),
        }
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    print(f"score {result.score}/100 ({result.grade})")
    for name, ok in result.checks.items():
        print(f"  [{'x' if ok else ' '}] {name}")
    if result.compliance:
        print("compliance: " + ", ".join(result.compliance))
    print("tip: " + tip_text(result.tip, args.lang))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from coach.roleplay.scenario import validate_scenarios

    problems = validate_scenarios(args.dir)
    for problem in problems:
        print(problem)
    if not problems:
        print("scenarios OK")
    return 1 if problems else 0


def _list(_args: argparse.Namespace) -> int:
    from coach.roleplay.scenario import load_scenarios

    for scenario in sorted(load_scenarios().values(), key=lambda s: (s.difficulty, s.id)):
        print(f"{scenario.id:34} d{scenario.difficulty} {scenario.goal:18} {scenario.title.zh}")
    return 0
