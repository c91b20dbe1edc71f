"""The scheduler only wakes up: every ``TICK_SECONDS`` it runs the jobs of ``job_list()``.

The database is the source of truth for everything scheduled; each job claims
due rows there before acting, so a restart or a second instance loses nothing
and sends nothing twice. Jobs are isolated: each one is its own repeating task,
so one failing never stops the others and one slow job (a long broadcast, a big
digest) never delays the others; a job still running when its next turn comes
skips that turn. Tests call :func:`run_ticks` directly with a fixed clock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import InterfaceError, OperationalError
from telegram.ext import Application, ContextTypes

from storage.db import SessionOnLoopError, off_loop_only

if TYPE_CHECKING:
    from bot.jobs import Job

__all__ = ["install_jobs", "run_job", "run_ticks", "worker_name"]

log = logging.getLogger(__name__)
_database_down = False  # set by the first job that cannot reach it, cleared by the next success


def worker_name() -> str:
    """Identifies this process in claimed rows (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def unreachable_reason(err: BaseException) -> str | None:
    """The first line of why the database could not be reached; None for any other error."""
    if not isinstance(err, (OperationalError, InterfaceError)):
        return None
    lines = str(err.orig or err).strip().splitlines()
    return (lines[0] if lines else type(err).__name__)[:200]


async def run_job(app: Application, job: Job) -> None:  # type: ignore[type-arg]
    """Run one job once; a failure is logged and counted, never raised."""
    from bot import metrics, ops

    name = getattr(job, "__name__", str(job))
    started = time.perf_counter()
    outcome = "ok"
    global _database_down
    try:
        # a job's database work belongs in worker threads (run_db), like an update's: a
        # session opened on the loop here warns (raises in the test suite)
        with off_loop_only():
            await job(app)
        if _database_down:
            _database_down = False
            log.info("database reachable again; jobs catching up")
    except (OperationalError, InterfaceError) as err:
        # the database is unreachable (stopped, restarting, network): one clear line when
        # it starts, not a traceback per job per tick; every job retries on its next turn
        outcome = "error"
        if not _database_down:
            _database_down = True
            log.warning("database unreachable (%s); jobs retry every tick until it is back",
                        unreachable_reason(err))
    except SessionOnLoopError:
        raise  # the test suite's loop check (production only warns): a bug, not a bad tick
    except asyncio.CancelledError:
        # the process is stopping (the scheduler cancels running jobs): what this run
        # claimed is leased and comes back to the next run; nothing to report loudly
        outcome = "cancelled"
        log.info("tick %s stopped by shutdown", name)
    except Exception:  # noqa: BLE001 - one broken tick must not stop the others
        outcome = "error"
        log.exception("tick %s failed", name)
    finally:
        metrics.TICKS.labels(job=name, outcome=outcome).inc()
        metrics.TICK_LATENCY.labels(job=name).observe(time.perf_counter() - started)
        ops.mark_tick(app)


async def run_ticks(app: Application,  # type: ignore[type-arg]
                    jobs: Sequence[Job] | None = None) -> None:
    """Run every job once, in order (by default the jobs of ``bot.app.job_list()``)."""
    if jobs is None:
        from bot.app import job_list  # the app imports the scheduler: resolve at call time

        jobs = job_list()
    for tick in jobs:
        await run_job(app, tick)


def install_jobs(app: Application, jobs: Sequence[Job], *,  # type: ignore[type-arg]
                 every: float) -> list[Any]:
    """Run each of ``jobs`` every ``every`` seconds, independently; first run after 1 s."""
    if app.job_queue is None:
        return []
    from bot import ops

    app.bot_data[ops.SCHEDULED_KEY] = True  # /healthz now watches the last tick
    scheduled = []
    for job in jobs:
        async def tick(context: ContextTypes.DEFAULT_TYPE, job: Job = job) -> None:
            await run_job(context.application, job)

        name = getattr(job, "__name__", "job")
        # one run at a time per job (a turn that comes while it runs is skipped); a
        # late turn runs once, not once per missed interval
        scheduled.append(app.job_queue.run_repeating(
            tick, interval=every, first=1.0, name=f"coach-{name}",
            job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None}))
    return scheduled
