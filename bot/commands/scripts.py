"""``coach scripts …``: validate, count and search the script library from a shell.

``validate`` is what CI runs on the YAML content; ``stats`` and ``search`` help
trainers check coverage and see what an advisor would get for a phrase.
``search -`` reads one query per line from stdin and answers each as one JSON
line, loading the library and index once. Each answer carries ``confident`` (the
same :func:`scripts_library.search.decide` the bot uses), the ``reason``, and the
``service`` intent when the line is an ordinary bank-service request. Sub-commands
that need the database (``report``, ``import``) are added by :func:`add_subcommand`
from their own module.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["add_subcommand", "register"]

# name -> (help, configure(parser)) hooks for sub-commands defined elsewhere
_EXTRA: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {}


def add_subcommand(name: str, help_text: str,
                   configure: Callable[[argparse.ArgumentParser], None]) -> None:
    """Let another module add ``coach scripts NAME``; ``configure`` sets args and ``func``."""
    _EXTRA[name] = (help_text, configure)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("scripts", help="script library: validate, stats, search")
    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)
    group = parser.add_subparsers(dest="scripts_command", metavar="SUBCOMMAND")
    _add_validate(group)
    _add_stats(group)
    _add_search(group)
    import bot.commands._scripts_db  # noqa: F401  (registers report and import)
    import bot.commands._scripts_regions  # noqa: F401  (registers regions)

    for name, (help_text, configure) in _EXTRA.items():
        configure(group.add_parser(name, help=help_text))


def _add_validate(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = group.add_parser("validate", help="check every YAML file; exit 1 on problems")
    p.add_argument("dir", nargs="?", default=None, help="content folder (default: the library)")
    p.add_argument("--coverage", action="store_true",
                   help="also check coverage (short versions, complete English) for DIR")
    p.add_argument("--no-coverage", action="store_true",
                   help="skip the coverage checks the shared library gets by default")
    p.set_defaults(func=_validate)


def _add_stats(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = group.add_parser("stats", help="number of scripts per category")
    p.add_argument("--dir", default=None, help="content folder (default: the library)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_stats)


def _add_search(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = group.add_parser("search", help='find scripts for what a client said ("-" = stdin)')
    p.add_argument("query", help='the phrase, or "-" to read one query per line from stdin')
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--limit", type=int, default=5, help="results per query (default 5)")
    p.add_argument("--team", type=int, default=None, help="include this team's own scripts")
    p.add_argument("--dir", default=None, help="content folder (default: the library)")
    p.set_defaults(func=_search)


def _validate(args: argparse.Namespace) -> int:
    from scripts_library.loader import coverage_problems, load_library, validate_library

    problems = validate_library(args.dir)
    # the coverage bar is the shared library's; another folder opts in with --coverage
    if args.coverage or (args.dir is None and not args.no_coverage):
        problems = sorted(problems + coverage_problems(load_library(args.dir)))
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"OK: {len(load_library(args.dir))} scripts")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from scripts_library.loader import load_library

    stats = load_library(args.dir).stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
        return 0
    width = max(len(c) for c in stats["by_category"])
    for category, count in stats["by_category"].items():
        print(f"{category:<{width}}  {count:>4}")
    print(f"{'total':<{width}}  {stats['total']:>4}")
    return 0


def _search(args: argparse.Namespace) -> int:
    from scripts_library.loader import load_library
    from scripts_library.search import ScriptIndex

    index = ScriptIndex.build(load_library(args.dir).scripts)
    queries = (line.rstrip("\n") for line in sys.stdin) if args.query == "-" else [args.query]
    for query in queries:
        answer = _answer(index, query, args)
        if args.json:
            print(json.dumps(answer, ensure_ascii=False), flush=True)
        else:
            _print_human(answer)
    return 0


def _answer(index: Any, query: str, args: argparse.Namespace) -> dict[str, Any]:
    """One query's answer: the bot's confidence decision, a service intent, the hits."""
    result = index.search(query, team_id=args.team, limit=args.limit)
    service = result.service
    return {
        "query": query,
        "confident": result.confident,
        "reason": result.reason,
        "service": None if service is None else {
            "intent": service.key, "next_step": service.text("zh"),
            "next_step_en": service.text("en")},
        "results": [
            {"id": h.script.id, "category": h.script.category, "title": h.script.title,
             "score": h.score}
            for h in result.hits
        ],
    }


def _print_human(answer: dict[str, Any]) -> None:
    mark = "✓ confident" if answer["confident"] else f"? not confident ({answer['reason']})"
    print(f"» {answer['query']}  [{mark}]")
    if answer["service"]:
        print(f"  service question: {answer['service']['intent']} — "
              f"{answer['service']['next_step']}")
    if not answer["results"]:
        print("  (no match)")
    for r in answer["results"]:
        print(f"  {r['score']:.3f}  {r['category']:<28} {r['id']}  {r['title']}")
