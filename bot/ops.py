"""``GET /healthz`` and ``GET /metrics``: what a load balancer and Prometheus ask.

``/healthz`` answers 200 with a small JSON body when the process is up, the database
answers ``SELECT 1`` within :data:`DB_TIMEOUT_S`, and the scheduler finished a job run
in the last ``HEALTH_TICK_FACTOR`` × ``TICK_SECONDS`` (or has only just started); 503
with the same body, naming what failed, otherwise. ``/metrics`` is Prometheus' text
format from :mod:`bot.metrics`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import func, select, text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram.ext import Application

from bot import metrics
from bot.services import Services, run_db
from storage.db import SessionOnLoopError, off_loop_only

__all__ = ["routes", "health", "mark_started", "mark_tick", "queue_reader", "LAST_TICK_KEY"]

DB_TIMEOUT_S = 2.0
LAST_TICK_KEY = "coach_last_tick"  # bot_data: time.monotonic() of the last finished job run
STARTED_KEY = "coach_started"
SCHEDULED_KEY = "coach_scheduled"  # set by install_jobs: the scheduler runs in this process


def mark_started(app: Application) -> None:  # type: ignore[type-arg]
    app.bot_data[STARTED_KEY] = time.monotonic()


def mark_tick(app: Application) -> None:  # type: ignore[type-arg]
    app.bot_data[LAST_TICK_KEY] = time.monotonic()
    metrics.LAST_TICK.set_to_current_time()


def _ping(svc: Services) -> None:
    with svc.db.session() as s:  # a session, so the loop check sees it like any other
        s.execute(text("SELECT 1"))


async def health(app: Application) -> tuple[bool, dict[str, Any]]:  # type: ignore[type-arg]
    """``(healthy, details)``; see the module docstring."""
    svc: Services = app.bot_data["services"]
    now = time.monotonic()
    details: dict[str, Any] = {"status": "ok"}
    started = app.bot_data.get(STARTED_KEY, now)
    details["uptime_s"] = round(now - started, 1)
    healthy = True
    try:
        await asyncio.wait_for(run_db(_ping, svc), timeout=DB_TIMEOUT_S)
        details["database"] = "ok"
    except TimeoutError:
        details["database"] = f"no answer in {DB_TIMEOUT_S:.0f} s"
        healthy = False
    except SessionOnLoopError:
        raise  # the test suite's loop check: a bug here, not the database's health
    except Exception as err:  # noqa: BLE001 - any failure means not healthy
        details["database"] = f"unreachable ({type(err).__name__})"
        healthy = False
    limit = svc.settings.health_tick_factor * svc.settings.tick_seconds
    if not app.bot_data.get(SCHEDULED_KEY):
        details["scheduler"] = "off"
    else:
        last = app.bot_data.get(LAST_TICK_KEY)
        age = now - (last if last is not None else started)
        details["last_tick_age_s"] = round(age, 1) if last is not None else None
        if age > limit:
            details["scheduler"] = f"no job finished in {age:.0f} s (limit {limit:.0f} s)"
            healthy = False
        else:
            details["scheduler"] = "ok"
    if not healthy:
        details["status"] = "failing"
    return healthy, details


def queue_reader(svc: Services) -> metrics.Reader:
    """Follow-up reminders due and not yet queued, and the outbox (messages waiting to be
    sent): how many, how old the oldest."""

    def read() -> dict[str, tuple[int, float | None]]:
        from coach.services import outbox
        from storage.models import FollowUp

        now = svc.clock.now()
        with svc.db.session() as s:
            count, oldest = s.execute(
                select(func.count(), func.min(FollowUp.due_at))
                .where(FollowUp.status.in_(("pending", "sending")), FollowUp.due_at <= now)
            ).one()
            waiting = outbox.depth(s, now=now)
        return {"followup_reminders": (int(count), metrics.age_seconds(now, oldest)),
                "outbox": (waiting.waiting, waiting.oldest_seconds)}

    return read


def routes(app: Application) -> list[Route]:  # type: ignore[type-arg]
    """The two routes, bound to ``app`` (its services give the database and clock)."""
    svc: Services = app.bot_data["services"]
    metrics.register_queues(queue_reader(svc))

    # both share the bot's event loop: their database work runs in worker threads, and
    # off_loop_only makes a session opened on the loop here warn (raise in the tests),
    # as it does for updates and jobs
    async def healthz(_request: Request) -> Response:
        with off_loop_only():
            healthy, details = await health(app)
        return JSONResponse(details, status_code=200 if healthy else 503)

    async def prometheus(_request: Request) -> Response:
        with off_loop_only():
            # the queue gauges query the database: off the event loop
            body = await run_db(generate_latest, REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"])]
