"""End to end: ``coach run --webhook`` as its own process; the emulator posts the updates.

The HTTP Bot API emulator records ``setWebhook`` and delivers updates to the URL the
bot registered, with or without the right ``X-Telegram-Bot-Api-Secret-Token``, the way
Telegram does. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.fakebot import FakeTelegram, FakeUser
from bot.fakeserver import FakeBotServer, post_update
from tests import processes
from tests.factories import quiet_timezone
from tests.processes import free_port

TOKEN = "4242:e2e-webhook-token"
SECRET = "s3cret_Token-for-tests"
DEADLINE_S = 60.0


@dataclass
class WebhookScene:
    server: FakeBotServer
    db_url: str
    workdir: Path
    admin: FakeUser
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def telegram(self) -> FakeTelegram:
        return self.server.telegram

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tg/hook"

    def start_bot(self, **extra: str) -> subprocess.Popen[bytes]:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": self.server.base_url,
               "DATABASE_URL": self.db_url, "ADMIN_TELEGRAM_IDS": str(self.admin.id),
               "TICK_SECONDS": "3600", "DEFAULT_TIMEZONE": quiet_timezone(), "LOG_LEVEL": "INFO",
               "WEBHOOK_URL": self.hook_url, "WEBHOOK_SECRET": SECRET,
               "WEBHOOK_LISTEN": "127.0.0.1", "WEBHOOK_PORT": str(self.port), **extra}
        return self.start(["run", "--webhook"], env)

    def start(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        process = processes.start_coach(args, env=env, workdir=self.workdir,
                                        log=self.workdir / f"bot{len(self.processes)}.log")
        self.processes.append(process)
        return process

    def output(self, index: int = 0) -> str:
        return (self.workdir / f"bot{index}.log").read_text(errors="replace")

    def wait(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if check():
                return
            for process in self.processes:
                if process.poll() is not None:
                    raise AssertionError(f"bot exited with {process.returncode} while waiting "
                                         f"for {what}:\n{self.output()}")
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output()[-3000:]}")

    def say(self, user: FakeUser, text: str, **kwargs: Any) -> int:
        status, _ = self.server.post_update(self.telegram.message_update(user, text), **kwargs)
        return status

    def get_text(self, path: str, port: int | None = None) -> tuple[int, str]:
        url = f"http://127.0.0.1:{port or self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as err:
            return int(err.code), err.read().decode()

    def get(self, path: str, port: int | None = None) -> tuple[int, dict[str, Any]]:
        status, body = self.get_text(path, port)
        return status, json.loads(body)


@pytest.fixture
def scene(db_url: str, tmp_path: Path) -> Iterator[WebhookScene]:
    base = random.randrange(10**9, 4 * 10**9, 1000)
    server = FakeBotServer(FakeTelegram(first_update_id=base), TOKEN)
    server.start()
    setting = WebhookScene(server, db_url, tmp_path,
                           admin=FakeUser(base + 1, "Admin", language_code="en"))
    try:
        yield setting
    finally:
        for process in setting.processes:
            processes.kill(process)
        server.stop()


def test_webhook_registers_checks_the_secret_and_answers(scene: WebhookScene) -> None:
    process = scene.start_bot(LOG_FORMAT="json")
    scene.wait(lambda: scene.telegram.webhook_url is not None, "setWebhook")
    call = scene.telegram.webhook_calls[0]
    assert call["url"] == scene.hook_url
    assert call["secret_token"] == SECRET
    assert str(call.get("drop_pending_updates", "false")).lower() == "false"

    # a stranger without the secret, or with a wrong one: 403 and nothing is processed
    assert scene.say(scene.admin, "/help", secret=None) == 403
    assert scene.say(scene.admin, "/help", secret="wrong-secret") == 403
    assert scene.telegram.messages_to(scene.admin.id) == []

    team = f"Hook-{scene.admin.id}"
    assert scene.say(scene.admin, f"/newteam {team}") == 200
    # the webhook answers after the update was handled: the reply is already there
    replies = scene.telegram.messages_to(scene.admin.id)
    assert len(replies) == 1 and f"Team {team} created." in replies[0].text
    assert scene.say(scene.admin, "/help") == 200
    assert len(scene.telegram.messages_to(scene.admin.id)) == 2

    # an update Telegram delivers twice (its answer was lost) is handled once
    update = scene.telegram.number_update(scene.telegram.message_update(scene.admin, "/help"))
    for _ in range(2):
        status, _ = post_update(scene.hook_url, update, secret=SECRET)
        assert status == 200
    assert len(scene.telegram.messages_to(scene.admin.id)) == 3

    # not an update at all: 400, nothing processed
    status, _ = post_update(scene.hook_url, {"nonsense": True}, secret=SECRET)
    assert status == 400
    assert scene.telegram.pending_updates() == 0  # nothing went through getUpdates

    # the same server answers the load balancer and Prometheus
    status, health = scene.get("/healthz")
    assert status == 200 and health["database"] == "ok", health
    status, body = scene.get_text("/metrics")
    assert status == 200
    assert 'coach_updates_total{handler="new_team",outcome="ok"} 1.0' in body
    assert 'coach_updates_total{handler="show_help",outcome="ok"} 2.0' in body

    code = processes.stop(process, timeout=DEADLINE_S)  # Ctrl-C; SIGKILL (-9) if it hangs
    output = scene.output()
    assert code == 0, output
    assert "Traceback" not in output, output
    assert TOKEN not in output and SECRET not in output, output
    # LOG_FORMAT=json: every line is one JSON object; the update lines name the handler
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]
    handled = [e for e in entries if e["logger"] == "coach.updates"]
    # the redelivered update stops at the guard: no handler ("-")
    assert [e["handler"] for e in handled] == ["new_team", "show_help", "show_help", "-"]
    assert all(isinstance(e["update_id"], int) and e["latency_ms"] >= 0 for e in handled)


def test_polling_serves_health_and_metrics_on_metrics_port(scene: WebhookScene) -> None:
    metrics_port = free_port()
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": scene.server.base_url,
           "DATABASE_URL": scene.db_url, "ADMIN_TELEGRAM_IDS": str(scene.admin.id),
           "TICK_SECONDS": "3600", "DEFAULT_TIMEZONE": quiet_timezone(),
           "METRICS_PORT": str(metrics_port), "METRICS_LISTEN": "127.0.0.1"}
    process = scene.start(["run"], env)
    scene.telegram.push_update(scene.telegram.message_update(scene.admin, "/help"))
    scene.wait(lambda: len(scene.telegram.messages_to(scene.admin.id)) == 1, "help by polling")

    def answers() -> bool:
        try:
            return scene.get("/healthz", metrics_port)[0] == 200
        except OSError:
            return False

    scene.wait(answers, "/healthz on METRICS_PORT")
    counted = 'coach_updates_total{handler="show_help",outcome="ok"} 1.0'
    # the reply goes out before the update ends (its flow state is saved after it): wait
    scene.wait(lambda: counted in scene.get_text("/metrics", metrics_port)[1], "the count")
    status, body = scene.get_text("/metrics", metrics_port)
    assert status == 200 and counted in body
    assert processes.stop(process, timeout=DEADLINE_S) == 0, scene.output()
    assert "Traceback" not in scene.output()


def test_webhook_without_url_or_secret_exits_2(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "", "WEBHOOK_SECRET": ""}
    result = processes.run_coach(["run", "--webhook"], env=env, workdir=tmp_path,
                                 timeout=DEADLINE_S)
    assert result.returncode == 2
    assert "WEBHOOK_URL" in result.stderr and "WEBHOOK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr
