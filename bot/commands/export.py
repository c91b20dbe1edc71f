"""``coach export --team NAME --format xlsx|json [--out PATH]``: a team's records for the branch.

Clients, logged contacts and follow-ups of the team's members, as a workbook (one
sheet each; typed text written as text cells, never formulas) or as JSON. The file
is written next to where the command runs unless ``--out`` says otherwise; an
existing file is never overwritten. The path is printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands._common import cli_services, fail

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("export", help="a team's clients, contacts and follow-ups")
    p.add_argument("--team", required=True, help="the team's name, as in /team")
    p.add_argument("--format", choices=("xlsx", "json"), default="xlsx")
    p.add_argument("--out", type=Path, help="the file to write (default: "
                                            "coach-export-team<ID>-<DATE>.<FORMAT>)")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from coach.reports.team_export import export_json, export_xlsx
    from coach.services.errors import ServiceError
    from coach.services.people import get_team
    from coach.services.team_export import team_export

    with cli_services() as svc:
        try:
            with svc.db.session() as s:
                team_id = get_team(s, args.team).id
                export = team_export(s, args.team, clock=svc.clock)
        except ServiceError as err:
            if err.code == "team_not_found":
                return fail(f"no team named {args.team!r} (see: coach teams list)")
            raise
    # the team's id, not its name, goes into the default file name: a name may hold
    # characters a file name must not
    out: Path = args.out or Path(
        f"coach-export-team{team_id}-{export.exported_at:%Y%m%d-%H%M}.{args.format}")
    if out.exists():
        return fail(f"{out} exists; choose a new file with --out")
    if args.format == "json":
        out.write_text(export_json(export), encoding="utf-8")
    else:
        out.write_bytes(export_xlsx(export))
    print(f"{out}: {len(export.clients)} clients, {len(export.contacts)} contacts, "
          f"{len(export.followups)} follow-ups")
    return 0
