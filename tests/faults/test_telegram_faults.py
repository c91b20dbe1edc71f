"""Telegram misbehaving while ``coach run`` pushes reminders and a briefing (issue 17).

- 403 for some people: they are marked as having blocked the bot, the lead is told
  which members, everyone else is served, and nobody blocked is tried again.
- 30 s of 500s, then timeouts, then a few dropped requests and dropped answers:
  everything is retried and delivered soon after (retries every 2-30 s, nothing given
  up); only a dropped answer (Telegram accepted the message, the bot never heard) may
  show up twice.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from storage.db import Database
from storage.models import User
from tests.faults.db_state import committed
from tests.faults.harness import REPORT, Stage, keys_sent
from tests.faults.seed import seed_briefing, seed_reminders

OUTAGE_S = 30.0  # Bot API answering 500s, then timing out (issue 17)


def _attempts(stage: Stage, chat_id: int) -> int:
    with stage.telegram._lock:
        return sum(1 for method, params in stage.telegram.calls
                   if method == "sendMessage" and int(params.get("chat_id", 0)) == chat_id)


def _active(url: str, telegram_ids: list[int]) -> dict[int, bool]:
    db = Database(url)
    try:
        with db.session() as s:
            rows = s.execute(select(User.telegram_id, User.active)
                             .where(User.telegram_id.in_(telegram_ids)))
            return {int(tid): bool(active) for tid, active in rows}
    finally:
        db.dispose()


def test_403_marks_people_blocked_and_serves_the_others(stage: Stage, base_id: int) -> None:
    reminders = seed_reminders(stage.db_url, 40, first_telegram_id=base_id + 1000, per_advisor=5)
    broadcast = seed_briefing(stage.db_url, 40, first_telegram_id=base_id + 50_000)
    blocked_advisors = reminders.advisor_ids[:2]
    blocked_members = broadcast.member_ids[::8]
    stage.telegram.blocked_chats.update(blocked_advisors + blocked_members)
    served_reminders = [fid for i, fid in enumerate(reminders.followup_ids) if i // 5 >= 2]
    served_members = set(broadcast.member_ids) - set(blocked_members)
    bot = stage.start()

    def everyone_served() -> bool:
        got = {m.chat_id for m in stage.telegram.sent}
        return (set(served_reminders) <= set(keys_sent(stage.telegram, "fu d"))
                and served_members <= got
                and not any(_active(stage.db_url, blocked_advisors + blocked_members).values()))

    stage.wait(everyone_served, "the others served and the blocked marked")

    def lead_told() -> bool:  # each batch's blocked members in one message
        told = stage.telegram.messages_to(broadcast.lead_id)
        return all(any(f"advisor{tid}" in m.text for m in told) for tid in blocked_members)

    stage.wait(lead_told, "the lead told who blocked the bot", timeout=30)

    def recorded() -> bool:  # a send is recorded just after Telegram accepted it
        done = committed(stage.db_url, broadcast.briefing_id)
        return (len(done.deliveries) == len(served_members)
                and done.reminders == set(served_reminders))  # the blocked ones' wait, unsent

    stage.wait(recorded, "every send to the others recorded", timeout=30)
    tries = {tid: _attempts(stage, tid) for tid in blocked_advisors + blocked_members}
    REPORT.append(f"403: {len(blocked_advisors)} advisors (5 reminders each) and "
                  f"{len(blocked_members)} members blocked, marked inactive; the others "
                  f"served; sends tried to the blocked: {sorted(tries.values())}")
    output = stage.stop(bot)
    assert "Traceback" not in output, output[-4000:]
    assert max(tries.values()) == 1, f"a blocked person was tried again: {tries}"


def test_500s_timeouts_and_dropped_calls_are_retried_and_nothing_is_lost(
        stage: Stage, base_id: int) -> None:
    reminders = seed_reminders(stage.db_url, 60, first_telegram_id=base_id + 1000)
    broadcast = seed_briefing(stage.db_url, 60, first_telegram_id=base_id + 50_000)
    bot = stage.start()
    # 30 s of trouble: 15 s answered 500, then 15 s of calls held 2 s and dropped
    # unprocessed; after it, 3 calls dropped before Telegram and 3 answers lost after it
    # delivered. The retry schedule (2 s doubling, at most 30 s) catches up within 30 s.
    started = time.monotonic()
    stage.faults.outage(15, status=500)
    stage.faults.timeouts(OUTAGE_S, hang=2)
    stage.faults.drop_requests = 3
    stage.faults.drop_responses = 3

    stage.wait(lambda: committed(stage.db_url, broadcast.briefing_id).done(
        reminders.followup_ids, 60), "everything delivered after the faults",
        timeout=OUTAGE_S + 60)
    caught_up = time.monotonic() - started - OUTAGE_S
    output = stage.stop(bot)
    reminder_counts = keys_sent(stage.telegram, "fu d")
    delivery_counts = keys_sent(stage.telegram, "bf ack")
    assert set(reminder_counts) == set(reminders.followup_ids)
    assert len(delivery_counts) == 60
    twice = sum(n - 1 for n in reminder_counts.values()) + sum(
        n - 1 for n in delivery_counts.values())
    REPORT.append(f"500s 15 s + timeouts 15 s + 3 dropped requests + 3 dropped answers: "
                  f"60 reminders, 60 briefings delivered {caught_up:.1f} s after the "
                  f"outage; duplicates {twice} (faults hit: {dict(stage.faults.counts)})")
    assert stage.faults.counts["outage"] and stage.faults.counts["timeout"]
    assert twice <= stage.faults.counts["dropped_response"]
    assert "Traceback" not in output, output[-4000:]
