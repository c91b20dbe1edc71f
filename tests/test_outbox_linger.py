"""A retry that falls due just after a pass is sent then, not a whole tick later.

The sender's run stays up to ``OUTBOX_LINGER_SECONDS`` after a pass; its sleeps are
replaced by moving the test's clock, so "0.5 s later" takes no time at all.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.jobs import outbox as worker_module
from bot.scheduler import run_ticks
from coach.services import outbox
from storage.models import OutboxMessage
from tests.conftest import BotHarness


@pytest.fixture
def slept(harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sender lingers (a 30 s tick); each sleep moves the clock instead of waiting."""
    harness.services.settings = harness.services.settings.model_copy(
        update={"outbox_linger_seconds": None, "tick_seconds": 30.0})
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        harness.clock.advance(seconds=seconds)

    monkeypatch.setattr(worker_module, "_sleep", nap)
    return naps


def _queue(harness: BotHarness, chat_id: int, key: str, *, in_seconds: float) -> None:
    now = harness.clock.now()
    with harness.services.db.session() as s:
        outbox.enqueue(s, telegram_id=chat_id, kind="test", dedup_key=key, now=now,
                       text=f"hello {key}", not_before=now + timedelta(seconds=in_seconds))


def _status(harness: BotHarness, key: str) -> str:
    with harness.services.db.session() as s:
        return str(s.scalar(select(OutboxMessage.status).where(OutboxMessage.dedup_key == key)))


async def test_a_message_due_half_a_second_after_the_pass_goes_in_the_same_run(
        harness: BotHarness, slept: list[float]) -> None:
    advisor = harness.person("advisor")
    _queue(harness, advisor.id, "now", in_seconds=0)
    _queue(harness, advisor.id, "soon", in_seconds=0.5)
    await worker_module.deliver_outbox(harness.app)  # one run of the tick
    assert [m.text for m in harness.telegram.messages_to(advisor.id)] == ["hello now",
                                                                          "hello soon"]
    assert _status(harness, "soon") == "sent"
    assert slept == [pytest.approx(0.5)]  # waited for it, not for another tick


async def test_a_retry_after_a_timeout_is_sent_when_its_backoff_ends(
        harness: BotHarness, slept: list[float]) -> None:
    advisor = harness.person("advisor")
    _queue(harness, advisor.id, "flaky", in_seconds=0)
    harness.telegram.fail_next(advisor.id, 502, description="Bad Gateway")
    await run_ticks(harness.app, [worker_module.deliver_outbox])
    assert _status(harness, "flaky") == "sent"  # the 1-2 s backoff, then the same run
    assert len(harness.telegram.messages_to(advisor.id)) == 1
    assert 1.0 <= sum(slept) <= 2.0 + 0.1


async def test_a_message_due_after_the_next_tick_is_left_to_it(
        harness: BotHarness, slept: list[float]) -> None:
    advisor = harness.person("advisor")
    _queue(harness, advisor.id, "later", in_seconds=45)  # beyond the 30 s tick
    await worker_module.deliver_outbox(harness.app)
    assert slept == [] and _status(harness, "later") == "pending"


async def test_lingering_polls_so_new_work_is_not_held_back(
        harness: BotHarness, slept: list[float]) -> None:
    advisor = harness.person("advisor")
    _queue(harness, advisor.id, "in10", in_seconds=10)
    await worker_module.deliver_outbox(harness.app)
    assert _status(harness, "in10") == "sent"
    assert max(slept) <= worker_module.LINGER_POLL_S  # a second at a time, never 10 s


async def test_a_handler_send_and_linger_zero_make_one_pass(
        harness: BotHarness, slept: list[float]) -> None:
    advisor = harness.person("advisor")
    _queue(harness, advisor.id, "soon", in_seconds=0.5)
    await worker_module.deliver_soon(harness.app)  # right after a handler queued a notice
    assert slept == [] and _status(harness, "soon") == "pending"
    harness.services.settings = harness.services.settings.model_copy(
        update={"outbox_linger_seconds": 0})
    await worker_module.deliver_outbox(harness.app)
    assert slept == [] and _status(harness, "soon") == "pending"


async def test_a_briefing_broadcast_does_not_wait_for_other_retries(
        harness: BotHarness, slept: list[float]) -> None:
    from bot.jobs import briefings

    advisor = harness.person("advisor")
    _queue(harness, advisor.id, "soon", in_seconds=0.5)
    await briefings.broadcast_pending(harness.app)  # its report comes without delay
    assert slept == [] and _status(harness, "soon") == "pending"
