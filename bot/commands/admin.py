"""``coach teams …`` and ``coach users …``: bulk onboarding without Telegram."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands._common import cli_services, fail, fail_service, print_problems, telegram_id

__all__ = ["register"]

MAX_BYTES = 20_000_000  # a bank's whole staff list is well under 1 MB


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    teams = subparsers.add_parser("teams", help="manage teams").add_subparsers(
        dest="teams_command", required=True)
    add_team = teams.add_parser("add", help="create a team")
    add_team.add_argument("name")
    add_team.set_defaults(func=teams_add)
    teams.add_parser("list", help="list teams").set_defaults(func=teams_list)

    users = subparsers.add_parser("users", help="manage people").add_subparsers(
        dest="users_command", required=True)
    add = users.add_parser("add", help="register a person by Telegram id")
    add.add_argument("telegram_id", type=telegram_id)
    add.add_argument("--role", required=True, choices=["advisor", "lead", "referrer", "admin"])
    add.add_argument("--team")
    add.add_argument("--name")
    add.set_defaults(func=users_add)
    imp = users.add_parser("import", help="register people from a CSV file "
                           "(columns: telegram_id, role, team, name[, username])")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=users_import)
    users.add_parser("list", help="list registered people").set_defaults(func=users_list)
    for verb, text in (("disable", "switch a person off: no messages, no access, no jobs"),
                       ("enable", "switch a disabled person on again")):
        status = users.add_parser(verb, help=text)
        status.add_argument("telegram_id", type=telegram_id,
                            help="their Telegram id (see users list)")
        status.set_defaults(func=users_disable if verb == "disable" else users_enable)


def teams_add(args: argparse.Namespace) -> int:
    from coach.services import people
    from coach.services.errors import ServiceError

    with cli_services() as svc:
        try:
            with svc.db.session() as s:
                team = people.create_team(s, args.name, clock=svc.clock)
                print(f"team {team.name} created (id {team.id})")
        except ServiceError as err:
            return fail(f"{err.code}: {args.name}")
    return 0


def teams_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from storage.models import Team

    with cli_services() as svc, svc.db.session() as s:
        for team in s.scalars(select(Team).order_by(Team.name)):
            print(f"{team.id}\t{team.name}")
    return 0


def users_add(args: argparse.Namespace) -> int:
    from coach.services import people
    from coach.services.errors import ServiceError

    with cli_services() as svc:
        try:
            with svc.db.session() as s:
                user = people.add_user(s, telegram_id=args.telegram_id, role=args.role,
                                       team_name=args.team, name=args.name, clock=svc.clock,
                                       timezone=svc.settings.default_timezone)
                print(f"user {user.telegram_id} is {user.role}"
                      + (f" in team {args.team}" if args.team else ""))
        except ServiceError as err:
            return fail(f"{err.code} ({', '.join(f'{k}={v}' for k, v in err.params.items())})")
    return 0


def users_import(args: argparse.Namespace) -> int:
    """All or nothing: every bad row is printed as ``FILE:LINE: problem`` and nothing is
    saved; a good file is saved in one transaction."""
    from coach.services.client_import import CsvRows
    from coach.services.errors import ServiceError
    from coach.services.people_import import REQUIRED, import_people
    from coach.textfile import FileProblem, read_text

    if not args.file.exists():
        return fail(f"no such file: {args.file}")
    try:
        source = read_text(args.file, max_bytes=MAX_BYTES)
        rows = CsvRows(source.text, required=REQUIRED)
    except FileProblem as err:
        print_problems(args.file, [(1, str(err))])
        return 1
    except ServiceError as err:  # the header lacks a required column
        print_problems(args.file, [(1, f"the header has no {err.params.get('columns')} column "
                                       "(columns: telegram_id, role, team, name[, username])")])
        return 1
    if source.encoding != "utf-8":
        print(f"{args.file}: read as {source.encoding.upper()} (not UTF-8)")
    with cli_services() as svc:
        try:
            with svc.db.session() as s:  # one transaction: the whole file or nothing
                report = import_people(s, rows, clock=svc.clock,
                                       timezone=svc.settings.default_timezone)
                if report.problems:
                    s.rollback()
        except ServiceError as err:
            return fail_service(err)
    if report.problems:
        print_problems(args.file, report.problems)
        print(f"nothing imported: {len(report.problems)} problems in "
              f"{len({line for line, _ in report.problems})} of {report.rows} rows")
        return 1
    print(f"imported {report.added + report.updated} people ({report.added} new, "
          f"{report.updated} updated), 0 rows rejected")
    return 0


def users_list(args: argparse.Namespace) -> int:
    from coach.services import people

    with cli_services() as svc, svc.db.session() as s:
        for user, team in people.list_users(s):
            status = ("disabled" if user.disabled_at is not None
                      else "active" if user.active else "inactive")
            print(f"{user.telegram_id}\t{user.role}\t{team or '-'}\t{user.name}\t{status}")
    return 0


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    from coach.services import staff
    from coach.services.errors import ServiceError

    with cli_services() as svc:
        try:
            with svc.db.session() as s:
                change = staff.set_disabled(s, args.telegram_id, disabled, clock=svc.clock)
        except ServiceError as err:
            return fail(f"{err.code}: {args.telegram_id}")
    state = "disabled" if disabled else "enabled"
    print(f"user {change.telegram_id} {state}" if change.changed
          else f"user {change.telegram_id} was already {state}")
    return 0


def users_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def users_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)
