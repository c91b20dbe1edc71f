"""The outbox: one worker claims, sends once, marks; races, lost leases, faults, restarts.

Run with ``DATABASE_URL=postgresql+psycopg://…`` to exercise the ``FOR UPDATE SKIP
LOCKED`` claim; on SQLite the conditional ``UPDATE … RETURNING`` claim is used.
"""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from telegram.error import TimedOut

from bot import metrics
from bot.app import build_application
from bot.delivery import enqueue
from bot.fakebot import FakeRequest
from bot.jobs import outbox as worker_module
from bot.jobs.outbox import deliver_outbox
from bot.services import Services
from coach.services import outbox
from storage.db import Database
from storage.models import OutboxMessage, User
from tests import factories
from tests.conftest import BotHarness


def _queue(harness: BotHarness, chat_id: int, key: str, text: str = "hello") -> None:
    with harness.services.db.session() as s:
        assert enqueue(s, text, to=chat_id, kind="test", key=key, now=harness.clock.now())


def _rows(services: Services) -> list[OutboxMessage]:
    with services.db.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _count(counter: Any, **labels: str) -> float:
    metric = counter.labels(**labels) if labels else counter
    return float(metric._value.get())


def test_enqueue_twice_with_the_same_key_is_a_noop(services: Services) -> None:
    now = services.clock.now()
    with services.db.session() as s:
        assert outbox.enqueue(s, telegram_id=5, kind="k", dedup_key="same", now=now, text="a")
    with services.db.session() as s:
        assert not outbox.enqueue(s, telegram_id=5, kind="k", dedup_key="same", now=now,
                                  text="b")
    assert [r.payload["text"] for r in _rows(services)] == ["a"]


def test_enqueue_is_part_of_the_callers_transaction(services: Services) -> None:
    with pytest.raises(RuntimeError), services.db.session() as s:
        outbox.enqueue(s, telegram_id=5, kind="k", dedup_key="x", now=services.clock.now(),
                       text="a")
        raise RuntimeError("the change that caused the message failed")
    assert _rows(services) == []


def test_two_claimers_never_take_the_same_row(services: Services) -> None:
    now = services.clock.now()
    with services.db.session() as s:
        for i in range(60):
            outbox.enqueue(s, telegram_id=100 + i, kind="k", dedup_key=f"r{i}", now=now,
                           text="x")
    claimed: dict[str, list[int]] = {"a": [], "b": []}

    def claimer(name: str) -> None:
        db = Database(services.settings.database_url)
        for _ in range(10):
            with db.session() as s:
                claimed[name] += [c.id for c in outbox.claim(s, now=now, worker=name,
                                                             lease_seconds=120, limit=7)]
        db.dispose()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = claimed["a"] + claimed["b"]
    assert len(everything) == 60 and len(set(everything)) == 60


async def test_two_workers_racing_send_each_message_exactly_once(harness: BotHarness) -> None:
    people = [harness.person("advisor") for _ in range(45)]
    for n, person in enumerate(people):
        _queue(harness, person.id, f"race{n}", text=f"note {n}")
    other = Services(settings=harness.services.settings,
                     db=Database(harness.services.settings.database_url),
                     clock=harness.services.clock)
    app2 = build_application(other, request=FakeRequest(harness.telegram), rate_limit=False,
                             jobs=False)
    try:
        async with app2:
            await asyncio.gather(deliver_outbox(harness.app), deliver_outbox(app2),
                                 deliver_outbox(harness.app), deliver_outbox(app2))
    finally:
        other.db.dispose()
    for person in people:
        assert len(harness.telegram.messages_to(person.id)) == 1
    assert {r.status for r in _rows(harness.services)} == {"sent"}


async def test_lease_lost_mid_batch_sends_nothing_twice(harness: BotHarness,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    people = [harness.person("advisor") for _ in range(5)]
    for n, person in enumerate(people):
        _queue(harness, person.id, f"lease{n}")
    real_send = worker_module.notifier.send_text
    stolen: list[int] = []
    sends: list[int] = []
    lost_before = _count(metrics.OUTBOX_LEASE_LOST)

    async def slow_send(*args: Any, **kwargs: Any) -> Any:
        # 429s inside PTB's limiter make the first two sends slow: the batch's claim runs
        # out (120 s) for the rows not yet renewed, and another worker takes them
        sends.append(1)
        harness.clock.advance(seconds=100 if len(sends) == 1 else 25)
        if len(sends) == 2:
            with harness.services.db.session() as s:
                stolen.extend(c.id for c in outbox.claim(s, now=harness.clock.now(),
                                                         worker="thief", lease_seconds=60,
                                                         limit=10))
        return await real_send(*args, **kwargs)

    monkeypatch.setattr(worker_module.notifier, "send_text", slow_send)
    # one chat at a time, so "the rows not yet renewed" are the last three
    monkeypatch.setattr(harness.services.settings, "outbox_concurrency", 1)
    await deliver_outbox(harness.app)
    assert len(stolen) == 3  # the rows of our batch not yet renewed
    assert sum(len(harness.telegram.messages_to(p.id)) for p in people) == 2
    assert _count(metrics.OUTBOX_LEASE_LOST) - lost_before == 3
    harness.clock.advance(seconds=61)  # the thief died: its rows are claimable again
    await deliver_outbox(harness.app)
    for person in people:
        assert len(harness.telegram.messages_to(person.id)) == 1


async def test_a_batch_serves_several_chats_at_once_each_chat_in_order(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    talkative, others = harness.person("advisor"), [harness.person("advisor") for _ in range(6)]
    for n in range(4):
        _queue(harness, talkative.id, f"t{n}", text=f"part {n}")
    for n, person in enumerate(others):
        _queue(harness, person.id, f"o{n}")
    real_send = worker_module.notifier.send_text
    in_flight: list[int] = []
    most = 0

    async def slow_send(bot: Any, chat_id: int, *args: Any, **kwargs: Any) -> Any:
        nonlocal most
        assert chat_id not in in_flight, "two sends to one chat at once"
        in_flight.append(chat_id)
        most = max(most, len(in_flight))
        await asyncio.sleep(0.05)  # Telegram's answer takes a while
        in_flight.remove(chat_id)
        return await real_send(bot, chat_id, *args, **kwargs)

    monkeypatch.setattr(worker_module.notifier, "send_text", slow_send)
    monkeypatch.setattr(harness.services.settings, "outbox_concurrency", 3)
    await deliver_outbox(harness.app)
    assert most == 3  # OUTBOX_CONCURRENCY chats at once, never more
    assert [m.text for m in harness.telegram.messages_to(talkative.id)] == [
        f"part {n}" for n in range(4)]
    for person in others:
        assert len(harness.telegram.messages_to(person.id)) == 1
    assert {r.status for r in _rows(harness.services)} == {"sent"}


async def test_403_blocks_that_person_and_the_others_are_served(harness: BotHarness) -> None:
    blocked, fine = harness.person("advisor"), harness.person("advisor")
    harness.telegram.blocked_chats.add(blocked.id)
    _queue(harness, blocked.id, "b1")
    _queue(harness, fine.id, "f1")
    _queue(harness, blocked.id, "b2")
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(fine.id)) == 1
    statuses = {r.dedup_key: r.status for r in _rows(harness.services)}
    assert statuses == {"b1": "blocked", "f1": "sent", "b2": "blocked"}
    assert harness.user_row(blocked).active is False
    tried = [p for m, p in harness.telegram.calls
             if m == "sendMessage" and int(p["chat_id"]) == blocked.id]
    assert len(tried) == 1  # the second message was never sent to someone who blocked us


async def test_a_disabled_person_is_never_sent_to(harness: BotHarness) -> None:
    person = harness.person("advisor")
    with harness.services.db.session() as s:
        s.execute(update(User).where(User.telegram_id == person.id)
                  .values(disabled_at=harness.clock.now()))
    _queue(harness, person.id, "d1")
    await deliver_outbox(harness.app)
    assert harness.telegram.messages_to(person.id) == []
    assert _rows(harness.services)[0].status == "failed"


async def test_database_error_right_after_a_send_does_not_resend(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    people = [harness.person("advisor") for _ in range(8)]
    for n, person in enumerate(people):
        _queue(harness, person.id, f"db{n}")
    real_mark = outbox.mark_sent
    down = {"on": True}

    def failing_mark(*args: Any, **kwargs: Any) -> bool:
        if down["on"]:
            raise OperationalError("UPDATE outbox", {}, Exception("server closed the connection"))
        return real_mark(*args, **kwargs)

    def delivered() -> int:
        return sum(len(harness.telegram.messages_to(p.id)) for p in people)

    monkeypatch.setattr(outbox, "mark_sent", failing_mark)
    unrecorded = _count(metrics.OUTBOX_UNRECORDED)
    concurrency = harness.services.settings.outbox_concurrency
    with caplog.at_level("ERROR", logger="bot.jobs.outbox"):
        await deliver_outbox(harness.app)  # the first mark fails: no new send starts
    landed = delivered()  # the first, and the chats already in flight beside it
    assert 1 <= landed <= concurrency < len(people)
    # an outage is expected: one line saying why per unsaved outcome, not a traceback
    unsaved = [r for r in caplog.records if "could not be saved" in r.getMessage()]
    assert len(unsaved) == landed and all(r.exc_info is None for r in unsaved)
    assert "server closed the connection" in unsaved[0].getMessage()
    assert _count(metrics.OUTBOX_UNRECORDED) - unrecorded == landed
    rows = _rows(harness.services)  # the sent ones and the rest of the claimed batch
    assert {r.status for r in rows} == {"sending"}
    assert all(r.lease_until is not None and r.lease_until > harness.clock.now()
               for r in rows)  # kept: nobody reclaims them meanwhile
    harness.clock.advance(seconds=30)
    await deliver_outbox(harness.app)  # still down: nothing is sent again
    assert delivered() == landed
    down["on"] = False
    harness.clock.advance(seconds=harness.services.settings.lease_seconds)
    await deliver_outbox(harness.app)  # back: the outcomes are saved, the others are sent
    for person in people:
        assert len(harness.telegram.messages_to(person.id)) == 1
    assert {r.status for r in _rows(harness.services)} == {"sent"}


async def test_killed_between_claim_and_send_is_delivered_after_restart(
        harness: BotHarness) -> None:
    person = harness.person("advisor")
    _queue(harness, person.id, "crash")
    with harness.services.db.session() as s:  # a worker claimed it, then was killed
        assert len(outbox.claim(s, now=harness.clock.now(), worker="dead", lease_seconds=120,
                                limit=5)) == 1
    await deliver_outbox(harness.app)
    assert harness.telegram.messages_to(person.id) == []  # its lease still runs
    harness.clock.advance(seconds=121)
    await deliver_outbox(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(person.id)) == 1
    assert _rows(harness.services)[0].attempts == 2


async def test_timeout_after_accepted_is_counted_ambiguous_and_retried(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    person = harness.person("advisor")
    _queue(harness, person.id, "slow")
    real_handle = harness.telegram.handle
    dropped: list[str] = []

    def drop_answer(method: str, params: dict[str, Any], files: Any = None) -> Any:
        answer = real_handle(method, params, files)
        if method == "sendMessage" and not dropped:  # accepted, but the answer never came
            dropped.append(method)
            raise TimedOut("read timed out")
        return answer

    monkeypatch.setattr(harness.telegram, "handle", drop_answer)
    before = _count(metrics.OUTBOX_AMBIGUOUS)
    await deliver_outbox(harness.app)
    assert _count(metrics.OUTBOX_AMBIGUOUS) - before == 1
    row = _rows(harness.services)[0]
    assert row.status == "pending" and row.last_error == "timed out"
    harness.clock.advance(seconds=30)
    await deliver_outbox(harness.app)
    # the documented window: Telegram had it, so the person sees it twice
    assert len(harness.telegram.messages_to(person.id)) == 2
    assert _rows(harness.services)[0].status == "sent"


async def test_a_split_text_resumes_after_the_parts_already_sent(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    person = harness.person("advisor")
    long_text = "\n".join(f"line {n} " + "x" * 60 for n in range(120))  # about 8,000 chars
    _queue(harness, person.id, "long", text=long_text)
    real_handle = harness.telegram.handle
    calls: list[int] = []

    def fail_second(method: str, params: dict[str, Any], files: Any = None) -> Any:
        if method == "sendMessage":
            calls.append(1)
            if len(calls) == 2:
                return 500, {"ok": False, "error_code": 500, "description": "Internal"}
        return real_handle(method, params, files)

    monkeypatch.setattr(harness.telegram, "handle", fail_second)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(person.id)) == 1
    assert _rows(harness.services)[0].parts_sent == 1
    harness.clock.advance(seconds=30)
    await deliver_outbox(harness.app)
    sent = harness.telegram.messages_to(person.id)
    assert len(sent) >= 2 and sent[0].text.startswith("line 0")
    assert "".join(m.text for m in sent).count("line 0 ") == 1  # part one not repeated


async def test_gives_up_after_max_attempts(harness: BotHarness) -> None:
    person = harness.person("advisor")
    _queue(harness, person.id, "flaky")
    tries = harness.services.settings.outbox_max_attempts
    for _ in range(tries):
        harness.telegram.fail_next(person.id, 502, description="Bad Gateway")
        await deliver_outbox(harness.app)
        harness.clock.advance(hours=1)
    row = _rows(harness.services)[0]
    assert (row.status, row.attempts) == ("failed", tries)


def test_depth_counts_waiting_messages(services: Services) -> None:
    now = services.clock.now()
    with services.db.session() as s:
        factories.user(s, now=now)
        outbox.enqueue(s, telegram_id=1, kind="k", dedup_key="a", now=now, text="x")
    later = now + timedelta(seconds=90)
    with services.db.session() as s:
        depth = outbox.depth(s, now=later)
    assert (depth.waiting, depth.oldest_seconds) == (1, 90.0)


def test_backoff_is_short_doubling_and_capped_at_30_s() -> None:
    low = [outbox.backoff(n, rand=lambda: 0.0).total_seconds() for n in range(1, 12)]
    high = [outbox.backoff(n, rand=lambda: 0.999999).total_seconds() for n in range(1, 12)]
    assert low == [1, 2, 4, 8, 15, 15, 15, 15, 15, 15, 15]
    assert [round(h) for h in high] == [2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30]
    assert outbox.backoff(10_000).total_seconds() <= 30  # no overflow, still capped
    # 30 s of failures are ridden out in at most five tries
    assert sum(high[:4]) < 30 <= sum(high[:5])


def test_backoff_is_jittered_so_rows_failing_together_spread_out() -> None:
    draws = random.Random(17)
    waits = [outbox.backoff(6, rand=draws.random).total_seconds() for _ in range(200)]
    assert all(15 <= w < 30 for w in waits)
    assert len({round(w, 1) for w in waits}) > 50  # not in lockstep
    assert max(waits) - min(waits) > 10


def test_a_429_waits_telegrams_retry_after() -> None:
    assert outbox.backoff(3, retry_after=7).total_seconds() == 7
    assert outbox.backoff(1, retry_after=0).total_seconds() == 1  # never a busy loop
    assert outbox.backoff(9, retry_after=45).total_seconds() == 45  # not capped: Telegram's


def test_give_up_needs_both_the_tries_and_the_time() -> None:
    queued = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    hour = timedelta(minutes=60)
    rule = {"queued_at": queued, "max_attempts": 8, "retry_for": hour}
    assert not outbox.give_up(7, now=queued + 2 * hour, **rule)  # time, not tries
    assert not outbox.give_up(8, now=queued + timedelta(minutes=4), **rule)  # tries, not time
    assert outbox.give_up(8, now=queued + hour, **rule)
    assert outbox.give_up(8, queued_at=None, now=queued, max_attempts=8, retry_for=hour)


async def test_a_long_outage_gives_nothing_up_and_is_caught_up_within_30_s(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    person = harness.person("advisor")
    _queue(harness, person.id, "outage")
    real_handle = harness.telegram.handle
    down = {"on": True}

    def outage(method: str, params: dict[str, Any], files: Any = None) -> Any:
        if method == "sendMessage" and down["on"]:
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        return real_handle(method, params, files)

    monkeypatch.setattr(harness.telegram, "handle", outage)
    for _ in range(5 * 60):  # five minutes of 502s, the worker running every second
        await deliver_outbox(harness.app)
        harness.clock.advance(seconds=1)
    row = _rows(harness.services)[0]
    tries = harness.services.settings.outbox_max_attempts
    assert row.status == "pending" and row.attempts > tries  # more tries than the limit
    assert row.next_attempt_at <= harness.clock.now() + timedelta(seconds=30)
    down["on"] = False
    for _ in range(30):
        harness.clock.advance(seconds=1)
        await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(person.id)) == 1
    assert _rows(harness.services)[0].status == "sent"


def test_each_instance_sends_at_most_its_share_of_telegrams_rate(harness: BotHarness) -> None:
    from telegram.ext import AIORateLimiter

    from bot.fakebot import FakeRequest

    settings = harness.services.settings.model_copy(update={"telegram_max_rate": 15.0})
    other = Services(settings=settings, db=harness.services.db, clock=harness.clock)
    app = build_application(other, request=FakeRequest(harness.telegram), jobs=False)
    limiter = app.bot.rate_limiter
    assert isinstance(limiter, AIORateLimiter)
    assert limiter._base_limiter.max_rate == 15.0  # two instances: half of Telegram's 30 each


async def test_a_claim_with_the_database_down_is_one_scheduler_line_not_a_traceback(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Nothing waiting to be saved, then the claim meets the outage: the scheduler's
    "database unreachable" line, no traceback per tick (the fault test saw 50)."""
    from bot import scheduler

    def claim(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception(
            'connection to server at "127.0.0.1" failed: Connection refused'))

    monkeypatch.setattr(outbox, "claim", claim)
    monkeypatch.setattr(scheduler, "_database_down", False)
    with caplog.at_level("INFO"):
        for _ in range(3):
            await scheduler.run_job(harness.app, deliver_outbox)
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert caplog.text.count("database unreachable") == 1
