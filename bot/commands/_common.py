"""Helpers shared by the admin sub-commands: settings, database, clock."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bot.services import Services

__all__ = ["cli_services", "fail", "fail_service", "print_problems", "telegram_id"]

MAX_ID = 2**63 - 1  # a database BIGINT: larger ids must never reach a query


def telegram_id(text: str) -> int:
    """``argparse`` type for a Telegram user id: ASCII digits, 1 … 2^63-1."""
    value = text.strip()
    if not (value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID):
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not a Telegram id (1 to 2^63-1)")
    return int(value)


def fail(message: str, code: int = 1) -> int:
    print(f"coach: {message}", file=sys.stderr)
    return code


def fail_service(err: Exception) -> int:
    """A ``ServiceError`` as one line on stderr: ``code: params``."""
    params = getattr(err, "params", {})
    return fail(f"{getattr(err, 'code', err)}: {', '.join(map(str, params.values()))}")


def print_problems(file: object, problems: list[tuple[int, str]]) -> None:
    """Per-row import problems as ``file:line: problem``."""
    for line, problem in problems:
        print(f"{file}:{line}: {problem}")


@contextmanager
def cli_services() -> Iterator[Services]:
    """Services for a one-shot command, with the schema brought up to date."""
    from bot.runtime import make_services
    from bot.settings import load_settings

    services = make_services(load_settings())
    try:
        yield services
    finally:
        services.db.dispose()
