"""End to end: ``coach run`` as its own process against the HTTP Bot API emulator.

Each test starts ``bot/fakeserver.py`` in this process, then the real bot with
``TELEGRAM_BASE_URL`` pointing at it, talks to it by queueing updates, and waits
(with a deadline) until the replies are recorded. Telegram ids and update ids are
random per test so that runs sharing one PostgreSQL database never collide.
"""

from __future__ import annotations

import random
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.fakebot import FakeTelegram, FakeUser, SentMessage
from bot.fakeserver import serve
from storage.db import Database
from storage.models import Team
from tests import processes
from tests.factories import quiet_timezone

TOKEN = "4242:e2e-test-token"
DEADLINE_S = 60.0  # generous for a cold start on a slow CI machine; passing tests never wait it


class EmulatedTelegram(FakeTelegram):
    """A FakeTelegram that remembers deliveries and call times, and can stall confirmations.

    ``hold_confirming(update_id)`` makes any ``getUpdates`` whose offset would confirm
    that update wait until ``release()`` and then answer nothing without confirming:
    to the test it looks exactly like a bot killed before its next poll reached Telegram.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deliveries: Counter[int] = Counter()
        self.call_times: list[tuple[str, int | None, float]] = []
        self._hold_above: int | None = None
        self.holding = threading.Event()
        self._released = threading.Event()

    def hold_confirming(self, update_id: int) -> None:
        self._hold_above = update_id
        self._released.clear()

    def release(self) -> None:
        self._hold_above = None
        self._released.set()

    def handle(self, method: str, params: dict[str, Any],
               files: dict[str, bytes] | None = None) -> tuple[int, dict[str, Any]]:
        chat = params.get("chat_id")
        with self._lock:
            self.call_times.append((method, int(chat) if chat else None, time.monotonic()))
        return super().handle(method, params, files)

    def wait_for_updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        hold = self._hold_above
        if hold is not None and offset > hold:
            self.holding.set()
            self._released.wait(DEADLINE_S)
            return []
        updates = super().wait_for_updates(offset, timeout)
        with self._lock:
            self.deliveries.update(u["update_id"] for u in updates)
        return updates

    def send_attempts(self, chat_id: int) -> list[float]:
        with self._lock:
            return [t for m, c, t in self.call_times if m == "sendMessage" and c == chat_id]


@dataclass
class Scene:
    """One emulator, the people in it, and the bot processes started against it."""

    telegram: EmulatedTelegram
    base_url: str
    db_url: str
    workdir: Path
    admin: FakeUser
    newcomer: FakeUser
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_bot(self) -> subprocess.Popen[bytes]:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": self.base_url,
               "DATABASE_URL": self.db_url, "ADMIN_TELEGRAM_IDS": str(self.admin.id),
               "TICK_SECONDS": "3600", "DEFAULT_TIMEZONE": quiet_timezone(),  # no scheduler chatter during the test
               "LOG_LEVEL": "INFO"}
        process = processes.start_coach(["run"], env=env, workdir=self.workdir,
                                        log=self.workdir / f"bot{len(self.processes)}.log")
        self.processes.append(process)
        return process

    def output(self, process: subprocess.Popen[bytes]) -> str:
        index = self.processes.index(process)
        return (self.workdir / f"bot{index}.log").read_text(errors="replace")

    def say(self, user: FakeUser, text: str) -> int:
        return self.telegram.push_update(self.telegram.message_update(user, text))["update_id"]

    def replies(self, user: FakeUser) -> list[SentMessage]:
        return self.telegram.messages_to(user.id)

    def wait(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if check():
                return
            for process in self.processes:
                if process.poll() is not None and process is self.processes[-1]:
                    raise AssertionError(f"bot exited with {process.returncode} while waiting "
                                         f"for {what}:\n{self.output(process)}")
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}:\n"
                             + "\n".join(self.output(p)[-3000:] for p in self.processes))

    def replies_count(self, user: FakeUser, n: int, what: str) -> list[SentMessage]:
        self.wait(lambda: len(self.replies(user)) >= n, what)
        return self.replies(user)

    def stop(self, process: subprocess.Popen[bytes]) -> str:
        """SIGINT, as Ctrl-C does (SIGKILL after the deadline); return the bot's output."""
        processes.stop(process, timeout=DEADLINE_S)
        return self.output(process)


@pytest.fixture
def scene(db_url: str, tmp_path: Path) -> Iterator[Scene]:
    base = random.randrange(10**9, 4 * 10**9, 1000)  # 64-bit ids are fine on both databases
    telegram = EmulatedTelegram(first_update_id=base)
    with serve(telegram, TOKEN) as base_url:
        setting = Scene(telegram, base_url, db_url, tmp_path,
                        admin=FakeUser(base + 1, "Admin", language_code="en"),
                        newcomer=FakeUser(base + 2, "Newcomer", language_code="en"))
        try:
            yield setting
        finally:
            telegram.release()
            for process in setting.processes:
                processes.kill(process)


def _assert_clean_exit(process: subprocess.Popen[bytes], output: str) -> None:
    assert process.returncode == 0, output
    assert "Traceback" not in output, output


def test_onboarding_over_http_with_long_polling(scene: Scene) -> None:
    team = f"E2E-{scene.admin.id}"
    process = scene.start_bot()

    scene.say(scene.admin, f"/newteam {team}")
    created = scene.replies_count(scene.admin, 1, "team created")[0]
    assert f"Team {team} created." in created.text

    scene.say(scene.admin, f"/invite advisor {team}")
    invite = scene.replies_count(scene.admin, 2, "invite code")[1]
    assert "Invite code for a new advisor" in invite.text
    code = invite.text.split("<code>")[1].split("</code>")[0]

    scene.say(scene.newcomer, f"/start {code}")
    last = scene.say(scene.newcomer, "/help")
    welcome, help_text = scene.replies_count(scene.newcomer, 2, "welcome and help")
    assert f"Welcome, Newcomer! You are registered in team {team}." in welcome.text
    assert "/client" in help_text.text and "/newteam" not in help_text.text

    # the bot asked for updates after the last one: Telegram has dropped them all
    scene.wait(lambda: scene.telegram.pending_updates() == 0, "offset confirmed")
    assert all(n == 1 for n in scene.telegram.deliveries.values())
    assert max(scene.telegram.deliveries) == last
    output = scene.stop(process)
    _assert_clean_exit(process, output)
    # start-up objects (index, dictionaries) are kept out of the collector's full passes
    frozen = re.search(r"start-up objects frozen for the garbage collector: (\d+)", output)
    assert frozen is not None and int(frozen.group(1)) > 100_000, output


def test_429_is_retried_and_the_message_arrives_once(scene: Scene) -> None:
    scene.telegram.fail_next(scene.admin.id, 429, parameters={"retry_after": 1})
    process = scene.start_bot()

    scene.say(scene.admin, "/help")
    first = scene.replies_count(scene.admin, 1, "help after a 429")[0]
    # a second update is handled only after the first one's handler finished (updates
    # are processed in order), so any duplicate of the first reply would show by now
    scene.say(scene.admin, "/help")
    replies = scene.replies_count(scene.admin, 2, "second help")
    assert [m.text for m in replies] == [first.text, first.text]

    attempts = scene.telegram.send_attempts(scene.admin.id)
    assert len(attempts) == 3  # refused, retried, the second /help
    assert attempts[1] - attempts[0] >= 0.9  # the bot honoured retry_after
    _assert_clean_exit(process, scene.stop(process))


def test_killed_before_confirming_redelivers_and_handles_once(scene: Scene) -> None:
    team = f"Once-{scene.admin.id}"
    process = scene.start_bot()
    warmup = scene.say(scene.admin, "/help")  # make sure the bot is polling before we stall it
    scene.replies_count(scene.admin, 1, "first help")

    scene.telegram.hold_confirming(warmup + 1)  # before the update exists: no race
    update_id = scene.say(scene.admin, f"/newteam {team}")
    assert update_id == warmup + 1
    scene.replies_count(scene.admin, 2, "team created")
    scene.wait(scene.telegram.holding.is_set, "the poll that would confirm it")
    processes.kill(process, timeout=DEADLINE_S)  # no chance to tell Telegram it was handled
    assert scene.telegram.pending_updates() == 1

    scene.telegram.release()
    restarted = scene.start_bot()
    scene.say(scene.admin, "/help")
    replies = scene.replies_count(scene.admin, 3, "help after restart")
    scene.wait(lambda: scene.telegram.pending_updates() == 0, "everything confirmed")

    assert scene.telegram.deliveries[update_id] == 2  # Telegram delivered it again ...
    texts = [m.text for m in scene.replies(scene.admin)]
    assert sum(f"Team {team} created." in t for t in texts) == 1, texts  # ... handled once
    assert len(texts) == 3 and texts[0] == texts[2] == replies[0].text
    db = Database(scene.db_url)
    try:
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Team).where(Team.name == team)) == 1
    finally:
        db.dispose()
    _assert_clean_exit(restarted, scene.stop(restarted))


def test_run_without_token_exits_2_with_one_sentence(tmp_path: Path) -> None:
    result = processes.run_coach(["run"], env={}, workdir=tmp_path, timeout=DEADLINE_S,
                                 unset=["TELEGRAM_BOT_TOKEN"])
    assert result.returncode == 2
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in message and ".env.example" in message
