"""Shared fixtures: a migrated database per test (SQLite or PostgreSQL), a fixed
clock, services, and the real Application talking to the in-memory Bot API.

Set ``DATABASE_URL=postgresql+psycopg://…`` to run every database test on
PostgreSQL; by default each test gets its own SQLite file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import build_application
from bot.chat import LocalChat
from bot.fakebot import FakeRequest, FakeTelegram, FakeUser
from bot.services import Services
from bot.settings import Settings
from coach.clock import FixedClock
from storage.db import Database, set_loop_check
from storage.migrate import upgrade
from storage.models import Base, User
from tests import factories

# the whole suite proves the bot opens no database session on the event loop while it
# handles an update: one there raises instead of only logging a warning (production)
set_loop_check("raise")

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
ADMIN_ID = 1


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a SQLite template file, or the PostgreSQL database."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        upgrade(url)
        return url
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def db_url(_template_db: str, tmp_path: Path) -> Iterator[str]:
    if _template_db.startswith("postgresql"):
        db = Database(_template_db)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.dispose()
        yield _template_db
        return
    target = tmp_path / "coach.db"
    shutil.copy(_template_db, target)
    yield f"sqlite:///{target}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def settings(db_url: str) -> Settings:
    # the clock stands still here: a sender run waiting for a retry would wait in vain
    # (tests/test_outbox_linger.py turns it on with a clock that moves); search answers
    # must not depend on whether the category model finished training yet
    return Settings(_env_file=None, database_url=db_url, telegram_bot_token="",  # type: ignore[call-arg]
                    admin_telegram_ids=[ADMIN_ID], outbox_linger_seconds=0,
                    search_model_background=False)


@pytest.fixture
def services(settings: Settings, clock: FixedClock) -> Iterator[Services]:
    svc = Services(settings=settings, db=Database(settings.database_url), clock=clock)
    yield svc
    svc.db.dispose()


@dataclass
class BotHarness:
    """The running Application plus helpers to make people and talk as them."""

    app: Any
    telegram: FakeTelegram
    services: Services

    @property
    def clock(self) -> FixedClock:
        return self.services.clock  # type: ignore[return-value]

    def person(self, role: str = "advisor", *, team: str | None = "Alpha",
               name: str | None = None, language: str = "zh-Hans", **extra: Any) -> FakeUser:
        """Register someone directly in the database and return their fake account."""
        with self.services.db.session() as s:
            team_id = None
            if team is not None:
                from coach.services import people

                team_id = people.get_or_create_team(s, team, clock=self.clock).id
            row = factories.user(s, role=role, team_id=team_id, name=name, now=self.clock.now(),
                                 language=language, **extra)
            return FakeUser(row.telegram_id, first_name=row.name, username=row.username,
                            language_code="en" if language == "en" else "zh-hans")

    def user_row(self, fake: FakeUser) -> User:
        from coach.services import people

        with self.services.db.session() as s:
            row = people.find_user(s, fake.id)
            assert row is not None
            return row

    def chat(self, user: FakeUser) -> LocalChat:
        return LocalChat(self.app, self.telegram, user)

    def stranger(self, telegram_id: int = 555, language: str = "zh-hans") -> FakeUser:
        return FakeUser(telegram_id, first_name="Stranger", language_code=language)


@pytest.fixture
async def harness(services: Services) -> AsyncIterator[BotHarness]:
    telegram = FakeTelegram()
    app = build_application(services, request=FakeRequest(telegram), rate_limit=False, jobs=False)
    async with app:
        yield BotHarness(app=app, telegram=telegram, services=services)
