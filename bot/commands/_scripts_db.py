"""``coach scripts report`` and ``coach scripts import``: the parts that need the database."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands._common import cli_services, fail
from bot.commands.scripts import add_subcommand

__all__: list[str] = []


def _configure_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--limit", type=int, default=10)
    parser.set_defaults(func=_report)


def _configure_import(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="YAML file in the library format")
    parser.add_argument("--team", required=True, help="team name")
    parser.set_defaults(func=_import)


def _report(args: argparse.Namespace) -> int:
    from coach.services.library import usage_report

    with cli_services() as svc, svc.db.session() as s:
        report = usage_report(s, clock=svc.clock, days=args.days, limit=args.limit)
    print(f"Most used (last {args.days} days):")
    for script_id, n in report.most_used or [("-", 0)]:
        print(f"  {n:5d}  {script_id}")
    print("Most disliked (👎, 👍):")
    for script_id, downs, ups in report.most_disliked or [("-", 0, 0)]:
        print(f"  {downs:5d} {ups:5d}  {script_id}")
    print("Queries that found nothing:")
    for query, n in report.not_found or [("-", 0)]:
        print(f"  {n:5d}  {query}")
    return 0


def _import(args: argparse.Namespace) -> int:
    import yaml

    from coach.actor import Me
    from coach.services import people
    from coach.services.errors import ServiceError

    if not args.file.exists():
        return fail(f"no such file: {args.file}")
    try:
        data = yaml.safe_load(args.file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        return fail(f"{args.file}: not valid YAML: {err}")
    default_category = data.get("category")
    problems, saved = [], 0
    with cli_services() as svc:
        with svc.db.session() as s:
            team = people.get_team(s, args.team)
            admin = Me(0, 0, "cli", "admin", None, "zh-Hans", svc.settings.default_timezone)
        for n, raw in enumerate(data.get("scripts") or [], start=1):
            item = {"category": default_category, **raw}
            try:
                with svc.db.session() as s:
                    svc.catalog.save_team_script(s, admin, item, clock=svc.clock,
                                                 team_id=team.id)
                saved += 1
            except ServiceError as err:
                problems.append(f"{args.file}: script #{n} ({raw.get('id', '?')}): "
                                f"{err.params.get('problems', err.code)}")
    for problem in problems:
        print(problem)
    print(f"saved {saved} team scripts for {args.team}, {len(problems)} rejected")
    return 1 if problems else 0


add_subcommand("report", "most used and disliked scripts, queries that found nothing",
               _configure_report)
add_subcommand("import", "add or update a team's scripts from a YAML file", _configure_import)
