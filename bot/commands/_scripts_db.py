"""``coach scripts report`` and ``coach scripts import``: the parts that need the database."""

from __future__ import annotations

import argparse
import sys
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
    """Validate every script of the file first; write all of them or none."""
    from coach.actor import Me
    from coach.services import people
    from coach.services.errors import ServiceError
    from scripts_library.loader import Problem, load_entries

    if not args.file.exists():
        return fail(f"no such file: {args.file}")
    name = str(args.file)
    entries, problems = load_entries(args.file, name)
    with cli_services() as svc, svc.db.session() as s:
        try:
            team = people.get_team(s, args.team)
        except ServiceError:
            return fail(f"no team called {args.team!r}")
        admin = Me(0, 0, "cli", "admin", None, "zh-Hans", svc.settings.default_timezone)
        checked = []
        for line, raw in entries:
            try:
                checked.append(svc.catalog.check_team_script(s, admin, raw, team_id=team.id))
            except ServiceError as err:
                detail = str(err.params.get("problems", err.code))
                if not detail.startswith("script "):
                    detail = f"script {raw.get('id', '?')!r}: {detail}"
                problems.append(Problem(name, line, detail))
        ids = [script.id for script in checked]
        problems += [Problem(name, line, f"duplicate id {raw.get('id')!r}")
                     for (line, raw) in entries if raw.get("id") and ids.count(raw["id"]) > 1]
        if problems:
            for problem in sorted(set(problems)):
                print(problem)
            print(f"nothing saved: {len(set(problems))} problem(s) in {name}",
                  file=sys.stderr)
            return 1
        svc.catalog.store_team_scripts(s, admin, checked, clock=svc.clock)
    print(f"saved {len(checked)} team scripts for {args.team}")
    return 0


add_subcommand("report", "most used and disliked scripts, queries that found nothing",
               _configure_report)
add_subcommand("import", "add or update a team's scripts from a YAML file", _configure_import)
