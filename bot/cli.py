"""The ``coach`` command line: one argparse parser, one sub-command module each.

Every module in :mod:`bot.commands` exposes ``register(subparsers)``; it adds its
sub-command(s) and sets ``func`` to a callable taking the parsed namespace and
returning the process exit code. Modules are discovered, so a feature adds a
command by adding a file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from bot import commands

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coach", description="Advisor Coach: bot and admin tools")
    parser.add_argument("--db", dest="global_db", default=None,
                        help="SQLite file or database URL for every command (overrides "
                             "DATABASE_URL), e.g. coach --db coach-demo.db scripts report")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.global_db:  # settings are read from the environment by every command
        db = args.global_db
        os.environ["DATABASE_URL"] = db if "://" in db else f"sqlite:///{db}"
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        code = func(args)
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
