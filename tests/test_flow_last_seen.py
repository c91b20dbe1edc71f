"""The caller's "last seen" time (the idle-flow timeout) is not rewritten on every message.

It lives in the drafts, and drafts are written after an update only when they changed:
a new time on every message made every update write (a transaction of its own for a
/today or a card). It is stored again once a step (handlers._flow.seen_step) old, and
a flow closes only after the timeout plus that step, so never early.
"""

from __future__ import annotations

from datetime import timedelta

from handlers._flow import LAST_SEEN, seen_step
from tests.conftest import BotHarness
from tests.test_query_budget import counting


def _drafts_writes(statements: list[str]) -> int:
    return sum(sql.startswith("INSERT INTO state_entries") for sql in statements)


def test_the_step_is_a_minute_or_a_fifteenth_of_short_timeouts() -> None:
    assert seen_step(timedelta(minutes=15)) == timedelta(minutes=1)
    assert seen_step(timedelta(hours=2)) == timedelta(minutes=1)
    assert seen_step(timedelta(minutes=5)) == timedelta(seconds=20)


async def test_messages_seconds_apart_write_no_drafts(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    await chat.send("/today")  # the first time: stored
    harness.clock.advance(seconds=10)
    with counting(harness) as tally:
        await chat.send("/today")
    assert _drafts_writes(tally.statements) == 0, tally.statements
    harness.clock.advance(seconds=55)  # over a minute since it was stored: stored again
    with counting(harness) as tally:
        await chat.send("/today")
    assert _drafts_writes(tally.statements) == 1, tally.statements
    assert harness.app.user_data[chat.user.id][LAST_SEEN] == harness.clock.now().isoformat()


async def test_a_flow_never_closes_before_the_timeout(harness: BotHarness) -> None:
    harness.services.settings.flow_timeout_minutes = 5  # step: 20 s
    chat = harness.chat(harness.person("advisor"))
    await chat.send("/log")
    harness.clock.advance(seconds=15)  # within the step: the stored time stays at /log
    await chat.send("/help")
    # 4 min 59 s after the last message, 5 min 14 s after the stored time: still open
    harness.clock.advance(minutes=4, seconds=59)
    replies = await chat.send("王建国")
    assert not any("关闭" in r.text for r in replies)
    harness.clock.advance(minutes=5, seconds=20)  # idle past the timeout plus the step
    replies = await chat.send("王建国")
    assert any("/log" in r.text and "5 分钟" in r.text for r in replies)
