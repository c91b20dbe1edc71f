"""The scheduler only wakes up: every ``TICK_SECONDS`` it runs the registered ticks.

The database is the source of truth for everything scheduled; each tick claims
due rows there before acting, so a restart or a second instance loses nothing
and sends nothing twice. Ticks are isolated: one failing never stops the others.
A tick is ``async def tick(app) -> None`` and is registered with
:func:`register_tick`; tests call :func:`run_ticks` directly with a fixed clock.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import Application, ContextTypes

__all__ = ["TICKS", "install_jobs", "register_tick", "run_ticks", "worker_name"]

log = logging.getLogger(__name__)
Tick = Callable[[Application], Awaitable[None]]  # type: ignore[type-arg]
TICKS: list[Tick] = []


def register_tick(tick: Tick) -> Tick:
    """Add ``tick`` to every scheduler run (usable as a decorator)."""
    if tick not in TICKS:
        TICKS.append(tick)
    return tick


def worker_name() -> str:
    """Identifies this process in claimed rows (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


async def run_ticks(app: Application) -> None:  # type: ignore[type-arg]
    for tick in list(TICKS):
        try:
            await tick(app)
        except Exception:  # noqa: BLE001 - one broken tick must not stop the others
            log.exception("tick %s failed", getattr(tick, "__name__", tick))


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await run_ticks(context.application)


def install_jobs(app: Application, *, every: float) -> Any:  # type: ignore[type-arg]
    """Run all ticks every ``every`` seconds, first one shortly after start."""
    if app.job_queue is None:
        return None
    return app.job_queue.run_repeating(_job, interval=every, first=1.0, name="coach-tick")
