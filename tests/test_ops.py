"""Operations: independent jobs, database work off the loop with timeouts, /healthz, /metrics.

The HTTP checks start the real server (uvicorn on 127.0.0.1, a free port) the way
``coach run`` does in polling mode with ``METRICS_PORT`` set.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot import ops
from bot.app import build_application
from bot.fakebot import FakeRequest, FakeTelegram
from bot.scheduler import install_jobs
from bot.services import Services, is_locked_error, run_db
from bot.settings import Settings
from bot.webserver import side_server
from storage.db import Database
from storage.models import FollowUp
from tests import factories
from tests.conftest import BotHarness
from tests.processes import free_port

# --- jobs run independently ---------------------------------------------------------

async def test_a_slow_job_never_delays_another(services: Services) -> None:
    app = build_application(services, request=FakeRequest(FakeTelegram()), rate_limit=False)
    runs: list[float] = []
    slow_running = asyncio.Event()

    async def slow_broadcast(_app: Any) -> None:
        slow_running.set()
        await run_db(time.sleep, 2.5)  # a long database call, in a worker thread

    async def send_due_reminders(_app: Any) -> None:
        runs.append(time.monotonic())

    async with app:
        await app.start()
        started = time.monotonic()
        # the slow job is first in the list: run one after another, it would hold the
        # reminders back for its whole 2.5 s
        install_jobs(app, [slow_broadcast, send_due_reminders], every=0.2)
        await asyncio.sleep(2.0)
        assert slow_running.is_set()
        await app.stop()
    assert runs, "the reminder job never ran while the slow job was running"
    assert runs[0] - started < 1.6  # first turn after 1 s, on time
    assert len(runs) >= 3  # and every 0.2 s after that, while the slow one still ran


async def test_a_job_cancelled_at_shutdown_is_one_line_not_an_error(
        services: Services, caplog: pytest.LogCaptureFixture) -> None:
    from bot.scheduler import run_job

    app = build_application(services, request=FakeRequest(FakeTelegram()), rate_limit=False)
    running = asyncio.Event()

    async def long_broadcast(_app: Any) -> None:
        running.set()
        await asyncio.sleep(30)  # awaiting its next batch when Ctrl-C comes

    with caplog.at_level("INFO"):
        task = asyncio.create_task(run_job(app, long_broadcast))
        await asyncio.wait_for(running.wait(), timeout=10)
        task.cancel()  # what the scheduler does to the runs still going when it stops
        await task  # ends quietly: what it claimed is leased and comes back
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    assert "tick long_broadcast stopped by shutdown" in caplog.text


def test_a_run_cancelled_before_it_started_is_not_logged_as_an_error() -> None:
    from bot.runtime import _skip_cancelled_runs

    def record(exc: BaseException) -> logging.LogRecord:
        return logging.LogRecord("apscheduler.executors.default", logging.ERROR, __file__, 1,
                                 "Error running job %s", ("abc",), (type(exc), exc, None))

    # the scheduler cancels the runs it started while PTB waited for the others to end
    assert not _skip_cancelled_runs(record(asyncio.CancelledError()))
    assert _skip_cancelled_runs(record(RuntimeError("a real failure")))  # still shown


# --- timeouts and "database is locked" ---------------------------------------------------

def test_statement_timeout_on_postgresql(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("statement_timeout is PostgreSQL's")
    db = Database(db_url, connect_timeout=2, statement_timeout=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError), db.engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(3)"))
        assert time.monotonic() - started < 2.0  # cancelled, not waited out
    finally:
        db.dispose()


def test_connect_timeout_gives_up_on_a_server_that_never_answers() -> None:
    pytest.importorskip("psycopg")
    # a socket that accepts connections (the kernel's backlog) but never speaks:
    # a hung PostgreSQL, on this machine only
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        port = hung.getsockname()[1]
        db = Database(f"postgresql+psycopg://coach@127.0.0.1:{port}/coach", connect_timeout=1)
        try:
            started = time.monotonic()
            with pytest.raises(OperationalError), db.engine.connect():
                pass
            assert time.monotonic() - started < 5  # not the driver's unbounded wait
        finally:
            db.dispose()


async def test_a_locked_sqlite_database_is_retried_not_raised(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's writer lock")
    path = db_url.removeprefix("sqlite:///")
    db = Database(db_url, busy_timeout=0.05)  # give up on the lock almost at once
    holder = sqlite3.connect(path, timeout=5, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        def write() -> int:
            with db.session() as s:
                s.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
                s.execute(text("INSERT INTO probe VALUES (1)"))
            return 1

        with pytest.raises(OperationalError) as err:
            write()  # straight away: locked
        assert is_locked_error(err.value)

        async def release_soon() -> None:
            await asyncio.sleep(0.3)
            holder.rollback()

        result, _ = await asyncio.gather(run_db(write), release_soon())
        assert result == 1  # retried after the other writer finished
        with db.session() as s:
            assert s.execute(text("SELECT count(*) FROM probe")).scalar() == 1
    finally:
        holder.close()
        db.dispose()


async def test_run_db_raises_other_errors_at_once() -> None:
    calls = 0

    def broken() -> None:
        nonlocal calls
        calls += 1
        raise OperationalError("SELECT 1", {}, Exception("no such table: nowhere"))

    with pytest.raises(OperationalError):
        await run_db(broken)
    assert calls == 1


# --- /healthz and /metrics over HTTP ---------------------------------------------------

@pytest.fixture
async def served(harness: BotHarness) -> AsyncIterator[tuple[str, BotHarness]]:
    settings = harness.services.settings.model_copy(
        update={"metrics_port": free_port(), "metrics_listen": "127.0.0.1"})
    start, stop = side_server(harness.app, settings)
    ops.mark_started(harness.app)
    await start(harness.app)
    base = f"http://127.0.0.1:{settings.metrics_port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for _ in range(200):  # until uvicorn listens
            try:
                await client.get("/healthz")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.02)
    try:
        yield base, harness
    finally:
        await stop(harness.app)


async def test_healthz_reports_database_and_scheduler(
        served: tuple[str, BotHarness]) -> None:
    base, harness = served
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        answer = await client.get("/healthz")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "ok" and body["database"] == "ok"
        assert body["scheduler"] == "off"  # this app runs no job queue

        # a scheduler that stopped finishing jobs fails the check
        harness.app.bot_data[ops.SCHEDULED_KEY] = True  # as install_jobs marks it
        ops.mark_tick(harness.app)
        assert (await client.get("/healthz")).status_code == 200
        limit = (harness.services.settings.health_tick_factor
                 * harness.services.settings.tick_seconds)
        harness.app.bot_data[ops.LAST_TICK_KEY] = time.monotonic() - limit - 5
        failing = await client.get("/healthz")
        assert failing.status_code == 503
        assert failing.json()["status"] == "failing"
        assert "no job finished" in failing.json()["scheduler"]


async def test_healthz_fails_when_the_database_is_unreachable(
        served: tuple[str, BotHarness], tmp_path: Path) -> None:
    base, harness = served
    real = harness.services.db
    harness.services.db = Database(f"sqlite:///{tmp_path}/missing/dir/coach.db")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            answer = await client.get("/healthz")
    finally:
        harness.services.db.dispose()
        harness.services.db = real
    assert answer.status_code == 503
    assert answer.json()["database"].startswith("unreachable")


async def test_metrics_count_updates_deliveries_and_queues(
        served: tuple[str, BotHarness]) -> None:
    base, harness = served
    admin = harness.person("admin", team=None)
    advisor = harness.person("advisor")
    with harness.services.db.session() as s:
        client = factories.client(s, advisor_id=harness.user_row(advisor).id,
                                  now=harness.clock.now())
        s.add(FollowUp(client_id=client.id, advisor_id=client.advisor_id, reason="call",
                       due_at=harness.clock.now() - timedelta(minutes=10),
                       created_at=harness.clock.now()))
    await harness.chat(admin).send("/help")
    await harness.chat(advisor).send("/help")
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    body = answer.text
    line = next(x for x in body.splitlines()
                if x.startswith('coach_updates_total{handler="show_help",outcome="ok"}'))
    assert float(line.split()[-1]) >= 2
    assert 'coach_handler_latency_seconds_bucket{handler="show_help",le="0.1"}' in body
    assert 'coach_queue_depth{queue="followup_reminders"} 1.0' in body
    age = next(x for x in body.splitlines()
               if x.startswith('coach_queue_oldest_age_seconds{queue="followup_reminders"}'))
    assert float(age.split()[-1]) == pytest.approx(600, abs=1)
    for name in ("coach_deliveries_total", "coach_digests_sent_total", "coach_errors_total",
                 "coach_search_latency_seconds_bucket", "coach_job_runs_total"):
        assert f"# TYPE {name.rsplit('_total', 1)[0].rsplit('_bucket', 1)[0]}" in body, name


def test_settings_for_the_servers_are_documented_defaults() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.webhook_listen == defaults.metrics_listen == "127.0.0.1"
    assert defaults.metrics_port == 0  # off unless asked for


# --- one slow query does not stall the other chats -------------------------------------

async def test_a_slow_database_lookup_for_one_chat_does_not_stall_another(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    from telegram import Update

    from bot import guard
    from bot.updates import ChatOrderedProcessor

    slow, quick = harness.person("advisor"), harness.person("advisor")
    real_find = guard.people.find_caller

    def find_caller(session: Any, telegram_id: int) -> Any:
        if telegram_id == slow.id:
            time.sleep(1.0)  # a query stuck behind a lock, in the worker thread
        return real_find(session, telegram_id)

    monkeypatch.setattr(guard.people, "find_caller", find_caller)
    processor = ChatOrderedProcessor(concurrency=4)
    finished: dict[str, float] = {}

    async def handle(name: str, user: Any) -> None:
        payload = harness.telegram.number_update(harness.telegram.message_update(user, "/help"))
        update = Update.de_json(payload, harness.app.bot)
        await processor.process_update(update, harness.app.process_update(update))
        finished[name] = time.monotonic()

    started = time.monotonic()

    async def quick_after_slow_began() -> None:
        await asyncio.sleep(0.1)
        await handle("quick", quick)

    await asyncio.gather(handle("slow", slow), quick_after_slow_began())
    assert finished["quick"] < finished["slow"]
    assert finished["quick"] - started < 0.9  # it never waited for the stuck query
    assert len(harness.telegram.messages_to(quick.id)) == 1
    assert len(harness.telegram.messages_to(slow.id)) == 1


async def test_database_threads_and_pool_fit_the_concurrent_updates(settings: Settings) -> None:
    from bot.runtime import db_threads, make_services, use_db_threads

    tuned = settings.model_copy(update={"concurrent_updates": 12})
    services = make_services(tuned, migrate=False)
    try:
        assert db_threads(tuned) == 28  # a lock and a unit of work per update, and the jobs
        assert services.db.engine.pool.size() == 28  # type: ignore[attr-defined]
        use_db_threads(tuned)
        # all of them really run at once: none waits for a free worker
        barrier = threading.Barrier(28, timeout=5)
        await asyncio.gather(*(run_db(barrier.wait) for _ in range(28)))
    finally:
        services.db.dispose()
