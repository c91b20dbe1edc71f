"""Operator signals: a second poller is a one-line warning; blocked people get no reminders."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from sqlalchemy import update
from telegram.error import Conflict

from coach.services import people
from handlers import errors
from handlers.errors import on_error
from storage.models import User
from tests.conftest import BotHarness
from tests.test_reminders import _due_followup, _status, run_ticks


async def test_409_conflict_is_one_warning_line_without_traceback(
        harness: BotHarness, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = {"t": 1000.0}
    monkeypatch.setattr(errors, "CONFLICTS", errors.ConflictLog(clock=lambda: now["t"]))
    context = SimpleNamespace(error=Conflict("terminated by other getUpdates request"),
                              svc=harness.services, bot=harness.app.bot, locale="zh-Hans",
                              me=None)
    with caplog.at_level(logging.WARNING):
        for _ in range(20):  # two pollers: a 409 every few seconds
            await on_error(None, context)  # type: ignore[arg-type]
            now["t"] += 5
    records = [r for r in caplog.records if r.name == "handlers.errors"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING and records[0].exc_info is None
    line = records[0].getMessage()
    assert "409" in line and "another instance is polling" in line and "--webhook" in line
    now["t"] += errors.CONFLICT_REMIND_S  # still going ten minutes later: one reminder
    with caplog.at_level(logging.WARNING):
        await on_error(None, context)  # type: ignore[arg-type]
    records = [r for r in caplog.records if r.name == "handlers.errors"]
    assert len(records) == 2 and "19 more 409s" in records[1].getMessage()


async def test_409_while_a_webhook_is_set_says_so(
        harness: BotHarness, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors, "CONFLICTS", errors.ConflictLog())
    context = SimpleNamespace(
        error=Conflict("Conflict: can't use getUpdates method while webhook is active"),
        svc=harness.services, bot=harness.app.bot, locale="zh-Hans", me=None)
    with caplog.at_level(logging.WARNING):
        await on_error(None, context)  # type: ignore[arg-type]
    [record] = [r for r in caplog.records if r.name == "handlers.errors"]
    assert "webhook is set" in record.getMessage() and record.exc_info is None


async def test_no_reminder_to_someone_who_blocked_the_bot(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    fid = _due_followup(harness, advisor)
    with harness.services.db.session() as s:
        s.execute(update(User).where(User.telegram_id == advisor.id).values(active=False))
    await run_ticks(harness.app)
    assert harness.telegram.messages_to(advisor.id) == []
    assert _status(harness, fid) == "pending"
    # they write to the bot again: the guard marks them active and the reminder goes out
    await harness.chat(advisor).send("/help")
    with harness.services.db.session() as s:
        assert people.find_user(s, advisor.id).active  # type: ignore[union-attr]
    before = len(harness.telegram.messages_to(advisor.id))
    await run_ticks(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == before + 1
