"""The last blocking work that ran on the event loop, now in worker threads (issue 17).

A script search typed mid-flow, the 403 bookkeeping of ``bot.notifier`` and the
``/healthz`` and ``/metrics`` readers. Each is inside the suite's loop check
(``storage.db.off_loop_only`` with ``set_loop_check("raise")``), so going back onto the
loop fails here, and in every other test that passes through it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot import notifier, ops
from bot.webserver import side_server
from coach.services.library import ScriptCatalog
from coach.vocabulary import DeliveryStatus
from storage.db import SessionOnLoopError, off_loop_only
from storage.models import User
from tests import factories
from tests.conftest import BotHarness
from tests.processes import free_port


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def test_an_objection_typed_mid_flow_is_searched_off_the_loop(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    advisor = harness.person("advisor")
    with harness.services.db.session() as s:
        factories.client(s, advisor_id=harness.user_row(advisor).id, name="王建国",
                         now=harness.clock.now())
    searched_on_loop: list[bool] = []
    real_ask = ScriptCatalog.ask

    def watched(self: ScriptCatalog, *args: Any, **kwargs: Any) -> Any:
        searched_on_loop.append(_has_loop())
        return real_ask(self, *args, **kwargs)

    monkeypatch.setattr(ScriptCatalog, "ask", watched)
    chat = harness.chat(advisor)
    await chat.send("/log")
    replies = await chat.send("客户说手续费太贵")
    # on the loop, the search raises (the suite's check) and the advisor gets an apology
    assert "手续费" in replies[0].text and "还没完成" in replies[-1].text
    assert searched_on_loop and not any(searched_on_loop)


async def test_a_search_on_the_loop_is_caught_by_the_check(harness: BotHarness) -> None:
    with off_loop_only(), pytest.raises(SessionOnLoopError, match="script search"):
        harness.services.catalog.ask("客户说手续费太贵", team_id=None)


async def test_a_403_marks_the_person_blocked_off_the_loop(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    harness.telegram.blocked_chats.add(advisor.id)
    with off_loop_only():  # as inside an update or a job: a session on the loop raises
        delivery = await notifier.send_text(harness.app.bot, advisor.id, "你好",
                                            db=harness.services.db)
    assert delivery.status == DeliveryStatus.BLOCKED
    with harness.services.db.session() as s:
        assert s.scalar(select(User.active).where(User.telegram_id == advisor.id)) is False


@pytest.fixture
async def side(harness: BotHarness) -> AsyncIterator[str]:
    """``/healthz`` and ``/metrics`` served on the test's own event loop, as in polling mode."""
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
        yield base
    finally:
        await stop(harness.app)


async def test_health_and_metrics_read_the_database_in_worker_threads(
        side: str, harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[int] = []
    factory = harness.services.db._factory

    def watched(*args: Any, **kwargs: Any) -> Any:
        opened.append(threading.get_ident())
        return factory(*args, **kwargs)

    monkeypatch.setattr(harness.services.db, "_factory", watched)
    async with httpx.AsyncClient(base_url=side, timeout=10) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
    assert len(opened) >= 2  # the ping and the queue gauges
    assert threading.get_ident() not in opened  # none on the loop's thread


async def test_health_and_metrics_are_inside_the_loop_check(
        side: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were their readers moved back onto the loop, the suite's check would fail them."""

    async def on_the_loop(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    monkeypatch.setattr(ops, "run_db", on_the_loop)
    async with httpx.AsyncClient(base_url=side, timeout=10) as client:
        assert (await client.get("/healthz")).status_code == 500
        assert (await client.get("/metrics")).status_code == 500
