"""Concurrent updates: one chat's updates in order, different chats at the same time.

Drives :class:`bot.updates.ChatOrderedProcessor` with real ``Update`` objects and
handlers that take their time; on PostgreSQL two processors (two instances) share
one database and the advisory lock keeps one chat's updates apart across them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from telegram import Update

from bot.chatlock import advisory_key
from bot.fakebot import FakeRequest, FakeTelegram, FakeUser
from bot.services import Services
from bot.updates import ChatOrderedProcessor, chat_key
from storage.db import Database


def _update(telegram: FakeTelegram, user_id: int, text: str) -> Update:
    payload = telegram.number_update(telegram.message_update(FakeUser(user_id, "P"), text))
    return Update.de_json(payload, None)


class Recorder:
    """Handlers that note when they start and end."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []
        self.running = 0
        self.most_running = 0

    async def work(self, name: str, seconds: float) -> None:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        self.events.append(("start", name, time.monotonic()))
        await asyncio.sleep(seconds)
        self.events.append(("end", name, time.monotonic()))
        self.running -= 1

    def at(self, kind: str, name: str) -> float:
        return next(t for k, n, t in self.events if k == kind and n == name)

    def order(self) -> list[str]:
        return [f"{k} {n}" for k, n, _ in self.events]


async def test_one_chat_keeps_order_under_a_slow_handler_and_others_overlap() -> None:
    telegram = FakeTelegram()
    processor = ChatOrderedProcessor(concurrency=4)
    rec = Recorder()
    first = _update(telegram, 100, "slow first")
    second = _update(telegram, 100, "quick second")
    other = _update(telegram, 200, "another chat")

    await asyncio.gather(
        processor.process_update(first, rec.work("a1", 0.3)),
        processor.process_update(second, rec.work("a2", 0.0)),
        processor.process_update(other, rec.work("b1", 0.05)),
    )

    # chat 100: the quick second update waited for the slow first one
    assert rec.at("end", "a1") <= rec.at("start", "a2")
    assert rec.order().index("end a1") < rec.order().index("start a2")
    # chat 200 ran (and finished) while chat 100's slow update was still running
    assert rec.at("start", "b1") < rec.at("end", "a1")
    assert rec.at("end", "b1") < rec.at("end", "a1")
    assert processor.chats_tracked == 0  # the per-chat locks are dropped when idle


async def test_order_holds_for_many_updates_of_one_chat() -> None:
    telegram = FakeTelegram()
    processor = ChatOrderedProcessor(concurrency=8)
    rec = Recorder()
    updates = [_update(telegram, 300, f"m{i}") for i in range(20)]
    # the earlier the update, the slower its handler: any overlap would reorder the ends
    await asyncio.gather(*(processor.process_update(u, rec.work(f"m{i}", 0.02 * (20 - i) / 20))
                           for i, u in enumerate(updates)))
    ends = [n for k, n, _ in rec.events if k == "end"]
    assert ends == [f"m{i}" for i in range(20)]
    assert rec.most_running == 1


async def test_concurrency_is_bounded() -> None:
    telegram = FakeTelegram()
    processor = ChatOrderedProcessor(concurrency=3)
    rec = Recorder()
    updates = [_update(telegram, 1000 + i, "x") for i in range(10)]
    await asyncio.gather(*(processor.process_update(u, rec.work(str(i), 0.03))
                           for i, u in enumerate(updates)))
    assert rec.most_running == 3


def test_chat_key_and_advisory_key() -> None:
    telegram = FakeTelegram()
    assert chat_key(_update(telegram, 42, "hi")) == 42
    inline = Update.de_json(telegram.number_update(
        telegram.inline_update(FakeUser(43, "P"), "q")), None)
    assert chat_key(inline) == 43  # no chat: the person
    assert chat_key(object()) is None
    for key in (0, 1, -1, 2**31, -(2**40) - 7, 7_000_000_000, -1001234567890):
        folded = advisory_key(key)
        assert -(2**31) <= folded < 2**31
    assert advisory_key(-1001234567890) == advisory_key(-1001234567890)


async def test_the_application_handles_updates_through_the_processor(
        services: Services) -> None:
    from bot.app import build_application

    app = build_application(services, request=FakeRequest(FakeTelegram()), rate_limit=False,
                            jobs=False)
    processor = app.update_processor
    assert isinstance(processor, ChatOrderedProcessor)
    assert processor.concurrency == services.settings.concurrent_updates
    assert processor.max_concurrent_updates > 1  # PTB runs updates as concurrent tasks


async def test_two_instances_on_postgresql_never_run_one_chat_at_once(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the cross-instance chat lock is PostgreSQL's advisory lock")
    db_one, db_two = Database(db_url), Database(db_url)
    try:
        one = ChatOrderedProcessor(concurrency=4, db=db_one)
        two = ChatOrderedProcessor(concurrency=4, db=db_two)
        telegram = FakeTelegram()
        rec = Recorder()
        first = _update(telegram, 500, "slow on instance one")
        second = _update(telegram, 500, "on instance two")
        other = _update(telegram, 600, "another chat on instance two")

        async def later(coro: Any) -> None:
            await asyncio.sleep(0.1)  # instance one has the chat by then
            await coro

        await asyncio.gather(
            one.process_update(first, rec.work("one", 0.6)),
            later(two.process_update(second, rec.work("two", 0.0))),
            later(two.process_update(other, rec.work("other", 0.0))),
        )
        assert rec.at("end", "one") <= rec.at("start", "two")
        assert rec.at("start", "other") < rec.at("end", "one")  # not blocked by chat 500
    finally:
        db_one.dispose()
        db_two.dispose()
