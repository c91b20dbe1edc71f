"""Real ``coach run`` processes against an HTTP Bot API emulator that misbehaves like Telegram.

:class:`Stage` owns one emulator (``bot/fakeserver.py`` in this process: 429 beyond
its rate, 409 for a second long poll, and the :class:`bot.fakeserver.Faults` knobs),
one database, and the bot processes started against them. It can kill a bot with
SIGKILL at a moment chosen from what the emulator has seen, restart it, and count
what each person received. Outcomes worth reporting (duplicates and the like) go to
:data:`REPORT`, printed at the end of the pytest run.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.fakebot import MESSAGE_METHODS, FakeTelegram, FakeUser, SentMessage
from bot.fakeserver import FakeBotServer, Faults
from tests import processes

__all__ = ["REPORT", "Stage", "TOKEN", "keys_sent"]

TOKEN = "5151:fault-tests-token"
WEBHOOK_SECRET = "fault-tests-webhook-secret"
START_DEADLINE_S = 90.0  # a cold start on a loaded CI machine; passing tests never wait it
REPORT: list[str] = []   # one line per measured outcome, shown in the terminal summary


def keys_sent(telegram: FakeTelegram, prefix: str) -> Counter[int]:
    """How many messages carried a button ``<prefix> <id>``, per id (sends, not edits)."""
    counts: Counter[int] = Counter()
    with telegram._lock:  # the emulator's threads append while we read
        sent = list(telegram.sent)
    for message in sent:
        if message.method not in MESSAGE_METHODS:
            continue
        for _label, data in message.buttons:
            if data.startswith(prefix + " "):
                counts[int(data.rsplit(" ", 1)[1])] += 1
                break
    return counts


@dataclass
class Stage:
    """One emulator, one database, and the ``coach run`` processes started against them."""

    telegram: FakeTelegram
    server: FakeBotServer
    db_url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    start_seconds: list[float] = field(default_factory=list)  # process start → first poll

    @property
    def faults(self) -> Faults:
        return self.server.faults

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        """Start ``coach run``; returns once it polls Telegram (it is serving)."""
        polls_before = self.polls()
        started = time.monotonic()
        process = self._launch(["run"], env)
        self.wait(lambda: self.polls() > polls_before, "the bot's first getUpdates",
                  timeout=START_DEADLINE_S, process=process)
        self.start_seconds.append(time.monotonic() - started)
        return process

    def start_webhook(self, port: int, **env: str) -> subprocess.Popen[bytes]:
        """Start ``coach run --webhook`` on ``port``; returns at once (see :meth:`serving`)."""
        url = f"http://127.0.0.1:{port}/tg/hook"
        return self._launch(["run", "--webhook"], {
            "WEBHOOK_URL": url, "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1", "WEBHOOK_PORT": str(port), **env})

    def serving(self, port: int) -> bool:
        """Does the webhook instance on ``port`` answer (registered and healthy)?"""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",  # noqa: S310
                                        timeout=5) as response:
                return int(response.status) == 200
        except (OSError, urllib.error.URLError):
            return False

    def _launch(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        full_env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": self.server.base_url,
                    "DATABASE_URL": self.db_url, "LOG_LEVEL": "INFO",
                    # fast ticks, and leases short enough that a killed bot's claims
                    # come back within seconds
                    "TICK_SECONDS": "0.5", "LEASE_SECONDS": "4",
                    **self.env, **env}
        process = processes.start_coach(
            args, env=full_env, workdir=self.workdir,
            log=self.workdir / f"bot{len(self.processes)}.log")
        self.processes.append(process)
        return process

    def polls(self) -> int:
        with self.telegram._lock:
            return sum(1 for method, _ in self.telegram.calls if method == "getUpdates")

    def output(self, process: subprocess.Popen[bytes]) -> str:
        index = self.processes.index(process)
        return (self.workdir / f"bot{index}.log").read_text(errors="replace")

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no clean-up, no chance to commit what was just sent."""
        processes.kill(process)
        time.sleep(0.3)  # requests the emulator had already read still finish

    def stop(self, process: subprocess.Popen[bytes]) -> str:
        """SIGINT, as Ctrl-C does; return the bot's output."""
        processes.stop(process)
        return self.output(process)

    def wait(self, check: Callable[[], bool], what: str, *, timeout: float = 120.0,
             process: subprocess.Popen[bytes] | None = None, every: float = 0.05) -> None:
        """Poll ``check`` every ``every`` s until true; fail with the bots' logs after
        ``timeout``, or at once if ``process`` (else any bot running now) exits."""
        deadline = time.monotonic() + timeout
        watched = ([process] if process is not None
                   else [bot for bot in self.processes if bot.poll() is None])
        while time.monotonic() < deadline:
            if check():
                return
            for bot in watched:
                if bot.poll() is not None:
                    raise AssertionError(f"bot exited with {bot.returncode} while waiting for "
                                         f"{what}:\n{self.output(bot)[-4000:]}")
            time.sleep(every)
        with self.telegram._lock:
            calls = Counter(method for method, _ in self.telegram.calls)
        raise AssertionError(f"timed out ({timeout:.0f} s) waiting for {what}; the emulator "
                             f"saw {dict(calls)}, faults {dict(self.faults.counts)}:\n"
                             + "\n".join(self.output(p)[-3000:] for p in self.processes))

    def say(self, user: FakeUser, text: str) -> int:
        return int(self.telegram.push_update(
            self.telegram.message_update(user, text))["update_id"])

    def press(self, user: FakeUser, message: SentMessage, data: str) -> int:
        return int(self.telegram.push_update(
            self.telegram.callback_update(user, message, data))["update_id"])

    def replies(self, user: FakeUser) -> list[SentMessage]:
        return [m for m in self.telegram.messages_to(user.id) if m.method in MESSAGE_METHODS]

    def next_reply(self, user: FakeUser, seen: int, what: str) -> SentMessage:
        """Wait for the reply after the first ``seen`` ones; return it."""
        self.wait(lambda: len(self.replies(user)) > seen, what)
        return self.replies(user)[seen]
