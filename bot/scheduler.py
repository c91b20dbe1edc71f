"""The scheduler only wakes up: every ``TICK_SECONDS`` it runs the jobs of ``job_list()``.

The database is the source of truth for everything scheduled; each job claims
due rows there before acting, so a restart or a second instance loses nothing
and sends nothing twice. Jobs are isolated: one failing never stops the others.
Tests call :func:`run_ticks` directly with a fixed clock.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, ContextTypes

if TYPE_CHECKING:
    from bot.jobs import Job

__all__ = ["install_jobs", "run_ticks", "worker_name"]

log = logging.getLogger(__name__)


def worker_name() -> str:
    """Identifies this process in claimed rows (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


async def run_ticks(app: Application,  # type: ignore[type-arg]
                    jobs: Sequence[Job] | None = None) -> None:
    """Run every job once, in order (by default the jobs of ``bot.app.job_list()``)."""
    if jobs is None:
        from bot.app import job_list  # the app imports the scheduler: resolve at call time

        jobs = job_list()
    for tick in jobs:
        try:
            await tick(app)
        except Exception:  # noqa: BLE001 - one broken tick must not stop the others
            log.exception("tick %s failed", getattr(tick, "__name__", tick))


def install_jobs(app: Application, jobs: Sequence[Job], *,  # type: ignore[type-arg]
                 every: float) -> Any:
    """Run ``jobs`` every ``every`` seconds, first run shortly after start."""
    if app.job_queue is None:
        return None

    async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
        await run_ticks(context.application, jobs)

    return app.job_queue.run_repeating(tick, interval=every, first=1.0, name="coach-tick")
