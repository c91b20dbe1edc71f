"""Real ``coach run`` processes against an HTTP Bot API emulator that misbehaves like Telegram.

:class:`Stage` owns one emulator (``bot/fakeserver.py`` in this process: 429 beyond
its rate, 409 for a second long poll, and the :class:`bot.fakeserver.Faults` knobs),
one database, and the bot processes started against them. It can kill a bot with
SIGKILL at a moment chosen from what the emulator has seen, restart it, and count
what each person received. Outcomes worth reporting (duplicates and the like) go to
:data:`REPORT`, printed at the end of the pytest run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.fakebot import MESSAGE_METHODS, FakeTelegram, FakeUser, SentMessage
from bot.fakeserver import FakeBotServer, Faults

__all__ = ["REPORT", "Stage", "TOKEN", "keys_sent"]

TOKEN = "5151:fault-tests-token"
ROOT = Path(__file__).resolve().parents[2]
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
        full_env = {**os.environ,
                    "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": self.server.base_url,
                    "DATABASE_URL": self.db_url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "INFO",
                    # fast ticks, and leases short enough that a killed bot's claims
                    # come back within seconds
                    "TICK_SECONDS": "0.5", "LEASE_SECONDS": "4",
                    **self.env, **env}
        log = (self.workdir / f"bot{len(self.processes)}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=self.workdir,
                                   env=full_env, stdout=log, stderr=subprocess.STDOUT)
        log.close()  # the child keeps its own descriptor
        self.processes.append(process)
        self.wait(lambda: self.polls() > polls_before, "the bot's first getUpdates",
                  timeout=START_DEADLINE_S, process=process)
        self.start_seconds.append(time.monotonic() - started)
        return process

    def polls(self) -> int:
        with self.telegram._lock:
            return sum(1 for method, _ in self.telegram.calls if method == "getUpdates")

    def output(self, process: subprocess.Popen[bytes]) -> str:
        index = self.processes.index(process)
        return (self.workdir / f"bot{index}.log").read_text(errors="replace")

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no clean-up, no chance to commit what was just sent."""
        process.kill()
        process.wait(timeout=30)
        time.sleep(0.3)  # requests the emulator had already read still finish

    def stop(self, process: subprocess.Popen[bytes]) -> str:
        """SIGINT, as Ctrl-C does; return the bot's output."""
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return self.output(process)

    def wait(self, check: Callable[[], bool], what: str, *, timeout: float = 120.0,
             process: subprocess.Popen[bytes] | None = None) -> None:
        """Poll ``check`` until true; fail with the bots' logs after ``timeout``."""
        deadline = time.monotonic() + timeout
        watched = process or (self.processes[-1] if self.processes else None)
        while time.monotonic() < deadline:
            if check():
                return
            if watched is not None and watched.poll() is not None:
                raise AssertionError(f"bot exited with {watched.returncode} while waiting for "
                                     f"{what}:\n{self.output(watched)[-4000:]}")
            time.sleep(0.05)
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
