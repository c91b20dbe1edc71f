"""Issue 11.12: dedup pruning, a separate inline budget, nothing kept for strangers, /startx."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.jobs.housekeeping import prune_expired_rows as prune_processed_updates
from storage.models import Base, ProcessedUpdate
from tests.conftest import BotHarness

NOT_REGISTERED = "仅供已注册的银行员工使用"


async def test_processed_updates_are_pruned_by_the_scheduled_job(harness: BotHarness) -> None:
    now = harness.clock.now()
    with harness.services.db.session() as s:
        s.add_all([ProcessedUpdate(update_id=10_000 + i, processed_at=now - timedelta(hours=h))
                   for i, h in enumerate((1, 20, 47, 49, 100, 24 * 30))])
    from bot.app import job_list

    assert prune_processed_updates in job_list()  # runs every tick (at most hourly)
    await prune_processed_updates(harness.app)
    with harness.services.db.session() as s:
        kept = sorted(s.scalars(select(ProcessedUpdate.update_id)
                                .where(ProcessedUpdate.update_id >= 10_000)))
    assert kept == [10_000, 10_001, 10_002]  # PROCESSED_UPDATES_KEEP_HOURS=48 by default
    # a duplicate of a kept update is still ignored after pruning
    harness.services.settings.processed_updates_keep_hours = 2
    harness.clock.advance(seconds=3600 * 2)
    await prune_processed_updates(harness.app)
    with harness.services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessedUpdate)
                        .where(ProcessedUpdate.update_id >= 10_000)) == 0


async def test_inline_typing_never_locks_out_messages(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    for i in range(45):  # typing "@bot 手续费太贵" sends one query per keystroke
        answer = await chat.inline("手续费太贵"[: 1 + i % 5])
        assert answer is not None
    replies = await chat.send("/help")
    assert replies and "操作有点太快了" not in replies[-1].text
    # inline has its own budget: beyond it, queries get an empty answer, silently
    limit = harness.services.settings.inline_limit_per_minute
    for _ in range(limit):
        await chat.inline("手续费")
    answer = await chat.inline("手续费")
    assert answer is not None and answer["results"] == []
    assert "操作有点太快了" not in (await chat.send("/help"))[-1].text


def _row_counts(harness: BotHarness) -> dict[str, int]:
    with harness.services.db.session() as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}


async def test_nothing_is_stored_for_strangers(harness: BotHarness) -> None:
    harness.person("advisor")  # someone registered, so the tables are not all empty
    before = _row_counts(harness)
    stranger = harness.stranger(telegram_id=424_242)
    chat = harness.chat(stranger)
    for text in ("你好", "/start", "/start WRONGCODE", "/startx ABC", "/help", "/client 王",
                 "客户说手续费太贵", "/complaint 王建国 太慢", "/forget 王建国"):
        await chat.send(text)
    await chat.send("你好", chat_id=-100123, chat_type="supergroup")
    await chat.press_data("sc up objection.fee.1")
    await chat.inline("手续费")
    after = _row_counts(harness)
    changed = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    assert set(changed) <= {"processed_updates"}, changed


async def test_startx_is_not_start(harness: BotHarness) -> None:
    stranger = harness.stranger(telegram_id=515_151)
    chat = harness.chat(stranger)
    for text in ("/startx ABCDEF", "/start_now ABCDEF", "/start@SomeOtherBot ABCDEF"):
        replies = await chat.send(text)
        assert replies and NOT_REGISTERED in replies[-1].text, text
    # the real command, also addressed to this bot by name, still reaches registration
    replies = await chat.send("/start@AdvisorCoachBot ABCDEF")
    assert replies and NOT_REGISTERED not in replies[-1].text
