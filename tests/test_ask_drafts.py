"""The objection search writes "the last question" in its own unit of work.

The search's event row and the caller's drafts are one transaction (one fewer per
objection query, tests/test_query_budget.py); these tests check what that must keep:
the next instance sees the question, and a failed unit of work leaves no trace.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from storage.models import StateEntry
from tests.conftest import BotHarness
from tests.test_multi_instance import Relay, second  # noqa: F401 - the fixture


def _asked(harness: BotHarness, telegram_id: int) -> str | None:
    """The last question as stored in the caller's drafts."""
    with harness.services.db.session() as s:
        row = s.get(StateEntry, ("user_data", str(telegram_id)))
        return None if row is None else row.data.get("ask")


async def test_the_question_asked_on_one_instance_pages_on_the_other(
        harness: BotHarness, second: Any) -> None:  # noqa: F811
    advisor = harness.person("advisor")
    relay = Relay([harness.app, second], harness, advisor)
    first = (await relay.send("收益太低了吧"))[-1]  # instance A
    assert _asked(harness, advisor.id) == "收益太低了吧"
    following = (await relay.press("sc n 1"))[-1]  # instance B reads it from the database
    assert first.text.splitlines()[0] != following.text.splitlines()[0]
    assert "嫌收益低" in following.text


async def test_a_failed_search_unit_keeps_the_previous_question(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    from coach.services import library

    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.send("收益太低了吧")

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("insert", {}, Exception("database is down"))

    monkeypatch.setattr(library, "record_event", broken)
    await chat.send("客户说手续费太贵")  # fails: nothing shown, nothing stored
    monkeypatch.undo()
    assert _asked(harness, advisor.id) == "收益太低了吧"
    assert harness.app.user_data[advisor.id]["ask"] == "收益太低了吧"


async def test_asking_the_same_question_again_writes_no_drafts(harness: BotHarness) -> None:
    from tests.test_query_budget import counting

    chat = harness.chat(harness.person("advisor"))
    await chat.send("收益太低了吧")
    with counting(harness) as tally:
        await chat.send("收益太低了吧")
    assert not any("state_entries" in sql and sql.startswith("INSERT")
                   for sql in tally.statements), tally.statements


async def test_an_objection_mid_flow_is_searched_once(harness: BotHarness,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The check "does it read like an objection" and the answer share one search."""
    index = harness.services.catalog.index
    real = index.search
    calls: list[str] = []

    def search(query: str | None, **kwargs: Any) -> Any:
        calls.append(query or "")
        return real(query, **kwargs)

    monkeypatch.setattr(index, "search", search)
    chat = harness.chat(harness.person("advisor"))
    await chat.send("/log")
    replies = await chat.send("客户说手续费太贵")
    assert "手续费" in replies[0].text and "/log" in replies[-1].text  # script, flow open
    assert calls == ["客户说手续费太贵"]
