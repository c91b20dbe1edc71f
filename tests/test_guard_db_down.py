"""A guard that cannot reach the database stops the update after one apology."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from tests.conftest import BotHarness

SORRY = "请稍后再试"


def _fail_database(harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    @contextmanager
    def broken(*_: Any, **__: Any) -> Iterator[Any]:
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception("database is down"))
        yield  # pragma: no cover

    monkeypatch.setattr(harness.services.db, "session", broken)
    return calls


@pytest.mark.parametrize("text", ["/today", "/help", "王建国 觉得收益太低"])
async def test_database_down_in_guard_stops_the_update(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    calls = _fail_database(harness, monkeypatch)
    replies = await chat.send(text)
    assert len(replies) == 1, [r.text for r in replies]
    assert SORRY in replies[0].text
    assert len(calls) == 1  # no feature handler touched the database after the guard


async def test_bot_answers_again_when_the_database_is_back(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    _fail_database(harness, monkeypatch)
    await chat.send("/help")
    monkeypatch.undo()
    replies = await chat.send("/help")
    assert replies and SORRY not in replies[-1].text
