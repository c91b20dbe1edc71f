"""How much database work one update costs: SQL statements and units of work per kind.

The load bench (bench/load.py) mixes objection queries, /log one-liners, client-card
buttons and /today. Each round trip and each transaction costs every update of that
kind, so the budgets here lock in what was saved (the guard's duplicate check, caller
lookup and flow-state read share one transaction) and fail when a change adds more.
On PostgreSQL the per-chat advisory lock adds one statement and one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from tests import factories
from tests.conftest import BotHarness


@dataclass
class Tally:
    statements: list[str] = field(default_factory=list)
    transactions: int = 0


@contextmanager
def counting(harness: BotHarness) -> Iterator[Tally]:
    """Every statement and every transaction begun on the bot's engine meanwhile."""
    engine = harness.services.db.engine
    tally = Tally()

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        tally.statements.append(" ".join(sql.split())[:90])

    def begin(_conn: Any) -> None:
        tally.transactions += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", begin)
    try:
        yield tally
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "begin", begin)


def _budget(harness: BotHarness, statements: int, transactions: int) -> tuple[int, int]:
    extra = 1 if harness.services.db.is_postgres else 0  # the chat's advisory lock
    return statements + extra, transactions + extra


def _check(harness: BotHarness, tally: Tally, statements: int, transactions: int) -> None:
    most_statements, most_transactions = _budget(harness, statements, transactions)
    assert len(tally.statements) <= most_statements, tally.statements
    assert tally.transactions <= most_transactions, tally.statements


async def _warm(harness: BotHarness, chat: Any) -> None:
    """A first update: the caller's drafts row exists, lazy imports are done."""
    await chat.send("客户嫌收益低")


async def test_an_objection_query_costs_five_statements_in_two_transactions(
        harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    await _warm(harness, chat)
    with counting(harness) as tally:
        replies = await chat.send("客户说手续费太贵")
    assert "嫌手续费高" in replies[-1].text
    # guard (update id, caller, flow state) | search event and drafts (the last question)
    # in one unit of work; before: 6 statements in 5 transactions, then 5 in 3
    _check(harness, tally, statements=5, transactions=2)


async def test_a_log_line_costs_five_statements(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    with harness.services.db.session() as s:
        me = harness.user_row(advisor)
        for i, name in enumerate(("王建国", "李秀英", "张志强")):
            factories.client(s, advisor_id=me.id, name=name, now=harness.clock.now(),
                             phone=f"1380000{i:04d}")
    chat = harness.chat(advisor)
    await _warm(harness, chat)
    with counting(harness) as tally:
        replies = await chat.send("/log 李秀英 有兴趣 周五下午3点再打")
    assert "李秀英" in replies[-1].text
    # guard | client lookup | drafts and flow state in one upsert; before: 8 in 5,
    # then 6 in 3 (two upserts)
    _check(harness, tally, statements=5, transactions=3)


async def test_a_client_card_button_costs_seven_statements(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    with harness.services.db.session() as s:
        me = harness.user_row(advisor)
        client_id = factories.client(s, advisor_id=me.id, now=harness.clock.now()).id
    chat = harness.chat(advisor)
    card = (await chat.send("/client 王建国"))[-1]
    with counting(harness) as tally:
        replies = await chat.press_data(f"cl {client_id}", message=card)
    assert "王建国" in replies[-1].text
    # guard | the card's queries in one unit of work (the owner's name is the caller's,
    # not read again); before: 8 in 4, then 8 in 2
    _check(harness, tally, statements=7, transactions=2)


async def test_today_costs_twelve_statements(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    await _warm(harness, chat)
    with counting(harness) as tally:
        await chat.send("/today")
    # guard | the checklist (the caller's row as the guard read it); before: 13 in 4,
    # then 13 in 2
    _check(harness, tally, statements=12, transactions=2)


async def test_a_duplicate_update_writes_nothing(harness: BotHarness) -> None:
    """A redelivered update id is refused by the insert: everything is rolled back."""
    chat = harness.chat(harness.person("advisor"))
    payload = harness.telegram.push_update(
        harness.telegram.message_update(chat.user, "客户说手续费太贵"))
    first = await chat.redeliver(payload)
    assert first
    with counting(harness) as tally:
        again = await chat.redeliver(payload)
    assert again == []
    # the guard's reads, then the refused insert; no search, no event, no drafts
    assert not any(sql.startswith(("UPDATE", "DELETE")) for sql in tally.statements)
    inserts = [sql for sql in tally.statements if sql.startswith("INSERT")]
    assert len(inserts) == 1 and inserts[0].startswith("INSERT INTO processed_updates")
    _check(harness, tally, statements=3, transactions=1)


async def test_a_slow_caller_lookup_holds_no_write_lock(harness: BotHarness,
                                                        monkeypatch: Any) -> None:
    """The guard's insert comes after its reads: the lookup runs outside any write."""
    from bot import guard

    chat = harness.chat(harness.person("advisor"))
    real_find = guard.people.find_caller
    seen: list[bool] = []

    def find_caller(session: Any, telegram_id: int) -> Any:
        seen.append(any(sql.startswith("INSERT") for sql in tally.statements))
        return real_find(session, telegram_id)

    monkeypatch.setattr(guard.people, "find_caller", find_caller)
    with counting(harness) as tally:
        await chat.send("客户说手续费太贵")
    assert seen == [False]


async def test_a_slow_log_lookup_does_not_stall_another_chat(harness: BotHarness,
                                                             monkeypatch: Any) -> None:
    """/log's client lookup (and the client card) run off the event loop."""
    import asyncio
    import time

    from telegram import Update

    from bot.updates import ChatOrderedProcessor
    from coach.services import interactions

    slow, quick = harness.person("advisor"), harness.person("advisor")
    slow_id = harness.user_row(slow).id
    real_prepare = interactions.prepare

    def prepare(session: Any, me: Any, line: str, **kwargs: Any) -> Any:
        if me.user_id == slow_id:
            time.sleep(1.0)  # a lookup stuck behind a lock, in a worker thread
        return real_prepare(session, me, line, **kwargs)

    monkeypatch.setattr(interactions, "prepare", prepare)
    processor = ChatOrderedProcessor(concurrency=4)
    finished: dict[str, float] = {}

    async def handle(name: str, user: Any, text: str) -> None:
        payload = harness.telegram.number_update(harness.telegram.message_update(user, text))
        update = Update.de_json(payload, harness.app.bot)
        await processor.process_update(update, harness.app.process_update(update))
        finished[name] = time.monotonic()

    async def quick_after_slow_began() -> None:
        await asyncio.sleep(0.2)
        await handle("quick", quick, "/log 王建国 有兴趣")

    await asyncio.gather(handle("slow", slow, "/log 王建国 有兴趣"), quick_after_slow_began())
    # on the event loop, the stuck lookup would hold every chat until it returned
    assert finished["quick"] < finished["slow"]


async def test_every_statement_of_the_hot_paths_is_compiled_once(harness: BotHarness) -> None:
    """SQLAlchemy caches a statement's compiled form unless the statement cannot have a
    cache key (a multi-row VALUES literal, for one): such a statement is compiled again on
    every update (the drafts upsert was, for a while). Text SQL (the chat lock) is not
    checked; everything built with SQLAlchemy's constructs must be cacheable."""
    from sqlalchemy.engine.interfaces import CacheStats

    advisor = harness.person("advisor")
    with harness.services.db.session() as s:
        me = harness.user_row(advisor)
        client_id = factories.client(s, advisor_id=me.id, name="李秀英",
                                     now=harness.clock.now()).id
    chat = harness.chat(advisor)
    card = (await chat.send("/client 李秀英"))[-1]
    uncached: list[str] = []

    def after(_conn: Any, _cursor: Any, sql: str, _params: Any, context: Any,
              _many: bool) -> None:
        if getattr(context, "cache_hit", None) is CacheStats.NO_CACHE_KEY and context.compiled:
            uncached.append(" ".join(sql.split())[:90])

    engine = harness.services.db.engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        for _ in range(2):
            await chat.send("客户说手续费太贵")
            await chat.send("/log 李秀英 有兴趣 周五下午3点再打")
            await chat.send("收益太低了吧")  # an objection while the /log flow is open
            await chat.press_data(f"cl {client_id}", message=card)
            await chat.send("/today")
            harness.clock.advance(minutes=2)  # the "last seen" time is written again
    finally:
        event.remove(engine, "after_cursor_execute", after)
    assert uncached == []
