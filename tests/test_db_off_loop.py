"""Database sessions stay off the event loop while an update is handled.

``storage.db`` reports a session opened on a thread with a running event loop inside
``off_loop_only()`` (every update, see ``CoachApplication.process_update``). The suite
runs with the check raising (tests/conftest.py), so every handler test also proves its
path is off the loop; these tests pin the check itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import CommandHandler

from bot.context import CoachContext
from bot.services import Services, in_session, run_db
from storage import db as storage_db
from storage.db import SessionOnLoopError, off_loop_only, set_loop_check
from tests.conftest import BotHarness


def _one(s: Session) -> int:
    return int(s.execute(text("select 1")).scalar_one())


@pytest.fixture
def warn_mode() -> Iterator[None]:
    set_loop_check("warn")
    storage_db._warned.clear()
    try:
        yield
    finally:
        set_loop_check("raise")
        storage_db._warned.clear()


async def test_a_session_on_the_loop_inside_an_update_raises(services: Services) -> None:
    with (off_loop_only(), pytest.raises(SessionOnLoopError, match="run_db"),
          services.db.session()):
        pass


async def test_worker_threads_and_code_outside_an_update_are_not_checked(
        services: Services) -> None:
    with off_loop_only():
        assert await in_session(services, _one) == 1
        assert await run_db(lambda: _one_in(services)) == 1
    with services.db.session() as s:  # a test's own setup on the loop: not an update
        assert _one(s) == 1


def _one_in(services: Services) -> int:
    with services.db.session() as s:
        return _one(s)


def test_synchronous_code_has_no_loop_to_block(services: Services) -> None:
    with off_loop_only(), services.db.session() as s:  # the CLI, a domain test
        assert _one(s) == 1


async def test_production_warns_once_per_place(services: Services, warn_mode: None,
                                               caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="storage.db"), off_loop_only():
        for _ in range(3):
            with services.db.session() as s:
                assert _one(s) == 1
    warnings = [r for r in caplog.records if "on the event loop" in r.getMessage()]
    assert len(warnings) == 1
    assert "test_db_off_loop.py" in warnings[0].getMessage()


async def test_every_update_is_checked(harness: BotHarness) -> None:
    """A handler that opens a session itself is caught; one that uses in_session is not."""
    seen: list[object] = []

    async def careless(update: Update, context: CoachContext) -> None:
        try:
            with context.svc.db.session():
                seen.append("opened on the loop")
        except SessionOnLoopError as err:
            seen.append(err)
        seen.append(await in_session(context.svc, _one))

    harness.app.add_handler(CommandHandler("careless", careless), group=-10)
    await harness.chat(harness.person("advisor")).send("/careless")
    assert isinstance(seen[0], SessionOnLoopError)
    assert seen[1:] == [1]


async def test_every_job_is_checked(harness: BotHarness) -> None:
    """A job run by the scheduler is inside the check; the error is not swallowed as a bad
    tick (the scheduler logs and carries on after any other error)."""
    from telegram.ext import Application

    from bot.scheduler import run_job

    async def careless_job(app: Application) -> None:  # type: ignore[type-arg]
        with app.bot_data["services"].db.session():
            pass

    done: list[int] = []

    async def careful_job(app: Application) -> None:  # type: ignore[type-arg]
        done.append(await in_session(app.bot_data["services"], _one))

    with pytest.raises(SessionOnLoopError):
        await run_job(harness.app, careless_job)
    await run_job(harness.app, careful_job)
    assert done == [1]
