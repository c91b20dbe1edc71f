"""``coach practice``: score a role-play reply and validate the scenario files.

    coach practice score objection.fee_too_high "王先生，您是担心费用…" --name 王先生 --json
    coach practice validate [DIR]
    coach practice list
    coach practice train [--out PATH]   # retrain the compliance classifier (model.json)
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

    train = sub.add_parser("train", help="retrain the compliance classifier from the tuning set")
    train.add_argument("--out", default=None, help="model file (default: the shipped model.json)")
    train.add_argument("--data", action="append", default=None,
                       help="labelled set(s) (default: tests/data/compliance_tuning.yaml)")
    train.set_defaults(func=_train)


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
            "evidence": result.evidence, "warnings": result.warnings,
            "tip": result.tip, "grade": result.grade,
            "tip_text": tip_text(result.tip, args.lang),
        }
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    print(f"score {result.score}/100 ({result.grade})")
    for name, ok in result.checks.items():
        print(f"  [{'x' if ok else ' '}] {name}")
    for rule in result.compliance:
        print(f"compliance: {rule} (words: {result.evidence.get(rule, '')})")
    for warning in result.warnings:
        print(f"warning: {warning}")
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


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from coach.compliance.model import train

    root = Path(__file__).resolve().parents[2]
    default = root / "tests" / "data" / "compliance_tuning.yaml"
    paths = [Path(p) for p in (args.data or [default])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print("no such labelled set: " + ", ".join(missing), file=sys.stderr)
        return 2
    report = train(paths, args.out)
    print(json.dumps(report, ensure_ascii=False))
    return 0
