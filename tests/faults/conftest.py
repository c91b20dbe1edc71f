"""Fixtures for the fault tests: a misbehaving Bot API emulator and a :class:`Stage`."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.fakebot import FakeTelegram
from bot.fakeserver import FakeBotServer
from storage.migrate import upgrade
from tests import processes
from tests.faults import pgcluster
from tests.faults.harness import REPORT, TOKEN, Stage


@pytest.fixture
def base_id() -> int:
    """Random Telegram ids per test: runs sharing a PostgreSQL database never collide."""
    return random.randrange(10**9, 4 * 10**9, 100_000)


@contextmanager
def open_stage(db_url: str, workdir: Path, base_id: int, *,
               messages_per_second: float | None = 30) -> Iterator[Stage]:
    """An emulator on 127.0.0.1 for ``db_url``; every bot started is killed at the end.

    By default it keeps Telegram's own limit for bots (30 messages/s, 429 with
    retry_after beyond); ``messages_per_second=None`` lifts it.
    """
    # one long poll per token (409 Conflict for a second one), as Telegram does
    telegram = FakeTelegram(messages_per_second=messages_per_second, conflicts=True,
                            first_update_id=base_id)
    server = FakeBotServer(telegram, TOKEN)
    server.start()
    setting = Stage(telegram, server, db_url, workdir)
    try:
        yield setting
    finally:
        for process in setting.processes:
            processes.kill(process)
        server.stop()


@pytest.fixture
def private_cluster(db_url: str) -> Iterator[pgcluster.Cluster]:
    """A throwaway PostgreSQL cluster of this test's own, migrated (PostgreSQL runs only)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    if (why := pgcluster.available()) is not None:
        pytest.skip(why)
    cluster = pgcluster.Cluster()
    try:
        cluster.start()
        upgrade(cluster.url)
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def stage(db_url: str, tmp_path: Path, base_id: int) -> Iterator[Stage]:
    with open_stage(db_url, tmp_path, base_id) as setting:
        yield setting


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("fault tests: measured")
        for line in REPORT:
            terminalreporter.write_line(line)
