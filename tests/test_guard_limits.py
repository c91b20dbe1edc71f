"""The guard's limits through the Application: flood, over-long input, over-long replies."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import Rendered
from coach.textsplit import MAX_INPUT_CHARS, TELEGRAM_LIMIT, utf16_len
from storage.models import Complaint
from tests import factories
from tests.conftest import BotHarness

FLOOD = "操作有点太快了"


async def test_31st_message_in_a_minute_is_refused_once_then_allowed_again(
        harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    for _ in range(30):
        replies = await chat.send("/help")
        assert replies and FLOOD not in replies[-1].text
    refused = await chat.send("/help")
    assert len(refused) == 1 and FLOOD in refused[0].text and "60" in refused[0].text
    assert await chat.send("/help") == []  # warned once, then silently dropped
    assert await chat.send("/help") == []
    harness.clock.advance(seconds=61)
    replies = await chat.send("/help")
    assert replies and "我能帮您做什么" in replies[-1].text
    # another person is not affected by someone else's flood
    other = harness.chat(harness.person("advisor"))
    assert (await other.send("/help"))[-1].text.startswith("<b>")


async def test_flooded_message_is_not_processed(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    with harness.services.db.session() as s:
        user = harness.user_row(advisor)
        factories.client(s, advisor_id=user.id, name="王建国", now=harness.clock.now())
    chat = harness.chat(advisor)
    for _ in range(30):
        await chat.send("/help")
    await chat.send("/complaint 王建国 排队太久")
    with harness.services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Complaint)) == 0


async def test_over_long_input_is_refused_politely(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    with harness.services.db.session() as s:
        user = harness.user_row(advisor)
        factories.client(s, advisor_id=user.id, name="王建国", now=harness.clock.now())
    chat = harness.chat(advisor)
    too_long = "/complaint 王建国 " + "太" * MAX_INPUT_CHARS
    replies = await chat.send(too_long)
    assert len(replies) == 1 and "太长" in replies[0].text and "4000" in replies[0].text
    with harness.services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Complaint)) == 0
    plain = await chat.send("手续费" * 1334)  # 4,002 characters of customer words
    assert len(plain) == 1 and "太长" in plain[0].text
    fits = await chat.send("手" * MAX_INPUT_CHARS)
    assert fits and "太长" not in fits[-1].text
    answer = await chat.inline("贵" * (MAX_INPUT_CHARS + 1))
    assert answer is not None and answer["results"] == []


async def test_long_replies_are_split_with_buttons_on_the_last_chunk(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = harness.services.renderer
    original = renderer.render
    paragraph = "这是一段很长的说明文字，用来检验分段。" * 20
    long_text = "\n\n".join(f"<b>{i}</b> {paragraph}" for i in range(30))
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="noop")]])

    def render(name: str, locale: str, /, **ctx: Any) -> Rendered:
        if name == "help":
            return Rendered(long_text, markup)
        return original(name, locale, **ctx)

    monkeypatch.setattr(renderer, "render", render)
    replies = await harness.chat(harness.person("advisor")).send("/help")
    assert len(replies) >= 3
    assert all(utf16_len(r.text) <= TELEGRAM_LIMIT for r in replies)
    assert [bool(r.buttons) for r in replies] == [False] * (len(replies) - 1) + [True]
    assert "".join(r.text for r in replies).count("<b>") == 30
    assert all(r.text.count("<b>") == r.text.count("</b>") for r in replies)
