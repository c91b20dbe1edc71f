"""End to end: ``coach run`` as its own process against the HTTP Bot API emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.fakebot import FakeTelegram, FakeUser, SentMessage
from bot.fakeserver import FakeBotServer, serve

TOKEN = "4242:e2e-test-token"
ADMIN = FakeUser(91001, "Admin", language_code="en")
NEWCOMER = FakeUser(91002, "Newcomer", language_code="zh-hans")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server() -> Iterator[FakeBotServer]:
    with serve(FakeTelegram(), TOKEN) as running:
        yield running


def _start(server: FakeBotServer, tmp_path: Path, db_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": server.base_url,
           "ADMIN_TELEGRAM_IDS": str(ADMIN.id), "TICK_SECONDS": "3600", "DATABASE_URL": db_url}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _say(server: FakeBotServer, user: FakeUser, text: str) -> int:
    return server.telegram.push_update(server.telegram.message_update(user, text))["update_id"]


def _replies(server: FakeBotServer, user: FakeUser) -> list[SentMessage]:
    return server.telegram.messages_to(user.id)


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    return output


def test_onboarding_over_http_with_long_polling(server: FakeBotServer, tmp_path: Path,
                                                db_url: str) -> None:
    process = _start(server, tmp_path, db_url)
    try:
        _say(server, ADMIN, "/newteam E2E-Team")
        _wait(lambda: len(_replies(server, ADMIN)) == 1, "team created")
        _say(server, ADMIN, "/invite advisor E2E-Team")
        _wait(lambda: len(_replies(server, ADMIN)) == 2, "invite code")
        code = _replies(server, ADMIN)[1].text.split("<code>")[1].split("</code>")[0]
        _say(server, NEWCOMER, f"/start {code}")
        _say(server, NEWCOMER, "/help")
        _wait(lambda: len(_replies(server, NEWCOMER)) == 2, "newcomer replies")
        welcome, help_text = _replies(server, NEWCOMER)
        assert "E2E-Team" in welcome.text and "/client" in help_text.text
        _wait(lambda: server.telegram.pending_updates() == 0, "offset confirmed")
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_429_is_retried_and_delivered_once(server: FakeBotServer, tmp_path: Path,
                                           db_url: str) -> None:
    server.telegram.fail_next(ADMIN.id, 429, parameters={"retry_after": 1},
                              description="Too Many Requests: retry after 1")
    process = _start(server, tmp_path, db_url)
    try:
        _say(server, ADMIN, "/help")
        _wait(lambda: len(_replies(server, ADMIN)) == 1, "help after a 429")
        time.sleep(1.5)
        assert len(_replies(server, ADMIN)) == 1
    finally:
        _stop(process)


def test_killed_before_confirming_redelivers_and_handles_once(server: FakeBotServer,
                                                                tmp_path: Path,
                                                                db_url: str) -> None:
    process = _start(server, tmp_path, db_url)
    _say(server, ADMIN, "/newteam Once")
    _wait(lambda: len(_replies(server, ADMIN)) == 1, "first reply")
    process.kill()  # SIGKILL: the offset for that update may never be confirmed
    process.wait(timeout=10)
    # like Telegram, the emulator keeps every update until a higher offset confirms it
    process = _start(server, tmp_path, db_url)
    try:
        _say(server, ADMIN, "/help")
        _wait(lambda: len(_replies(server, ADMIN)) >= 2, "help after restart")
        _wait(lambda: server.telegram.pending_updates() == 0, "all confirmed")
        texts = [m.text for m in _replies(server, ADMIN)]
        assert sum("Once" in t for t in texts) == 1, texts  # /newteam handled exactly once
    finally:
        _stop(process)


def test_no_token_exits_2_with_one_sentence(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and ".env.example" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
