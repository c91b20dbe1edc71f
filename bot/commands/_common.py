"""Helpers shared by the admin sub-commands: settings, database, clock."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bot.services import Services

__all__ = ["cli_services", "fail"]


def fail(message: str, code: int = 1) -> int:
    print(f"coach: {message}", file=sys.stderr)
    return code


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
