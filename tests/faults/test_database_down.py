"""PostgreSQL stopped for a while under a working ``coach run`` (issue 17; PostgreSQL only).

The bot pushes reminders and a briefing; PostgreSQL is stopped (fast shutdown: every
connection cut) for ``OUTAGE_S`` seconds while it sends, and an advisor writes to
the bot meanwhile. The bot must keep running, answer, and catch up once the
database is back: every reminder and briefing delivered. The suite's shared
database is never touched: the test runs on a private cluster (tests/faults/pgcluster.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.fakebot import FakeUser
from tests.faults import pgcluster
from tests.faults.conftest import open_stage
from tests.faults.db_state import committed
from tests.faults.harness import REPORT, keys_sent
from tests.faults.seed import seed_advisors, seed_briefing, seed_reminders

OUTAGE_S = 12.0
SENDERS = 3  # reminders, briefings and other notices: each may have one send in flight
_OUTCOME: dict[str, int] = {}  # what the outage test saw, for the duplicate check below


def test_postgres_stopped_while_sending_the_bot_keeps_running_and_catches_up(
        private_cluster: pgcluster.Cluster, tmp_path: Path, base_id: int) -> None:
    """PostgreSQL only: SQLite has no server to stop."""
    cluster = private_cluster
    with open_stage(cluster.url, tmp_path, base_id) as stage:
        reminders = seed_reminders(cluster.url, 100, first_telegram_id=base_id + 1000)
        broadcast = seed_briefing(cluster.url, 100, first_telegram_id=base_id + 50_000)
        advisor = FakeUser(base_id + 3, "Writer", language_code="en")
        seed_advisors(cluster.url, [advisor.id])
        bot = stage.start()

        def received() -> int:
            return (len(keys_sent(stage.telegram, "fu d"))
                    + len(keys_sent(stage.telegram, "bf ack")))

        stage.wait(lambda: received() >= 40, "sending under way")
        cluster.stop()
        down_at, sent_at_stop = time.monotonic(), received()
        stage.say(advisor, "/help")
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        assert bot.poll() is None, "the bot exited while the database was down"
        during = [m.text for m in stage.replies(advisor)]
        cluster.start()

        stage.wait(lambda: committed(cluster.url, broadcast.briefing_id).done(
            reminders.followup_ids, 100), "everything delivered after the outage",
            timeout=90)
        seen = len(stage.replies(advisor))
        stage.say(advisor, "/help")
        help_text = stage.next_reply(advisor, seen, "/help after the outage").text
        output = stage.stop(bot)
    reminder_counts = keys_sent(stage.telegram, "fu d")
    delivery_counts = keys_sent(stage.telegram, "bf ack")
    twice = (sum(n - 1 for n in reminder_counts.values())
             + sum(n - 1 for n in delivery_counts.values()))
    _OUTCOME["duplicates"] = twice
    REPORT.append(f"PostgreSQL down {OUTAGE_S:.0f} s ({sent_at_stop} of 200 sent at the "
                  f"stop): all delivered after; duplicates {twice}; replies to /help "
                  f"while down: {len(during)}; tracebacks in the log: "
                  f"{output.count('Traceback')}")
    assert set(reminder_counts) == set(reminders.followup_ids)
    assert len(delivery_counts) == 100
    assert "/log" in help_text
    assert len(during) <= 1, during  # one clear apology at most, never a wrong answer
    # logs clearly: one line per tick while it is down, not a traceback per job
    assert "database unreachable" in output and "reachable again" in output
    assert output.count("Traceback") == 0, output[-6000:]
    # a tick overlapping the next is skipped by design: not a warning twice a second
    assert "maximum number of running instances" not in output



# the outbox worker renews each row's lease before its send: with the database down it
# sends nothing, so at most the sends already in flight repeat (29 duplicates before it)
def test_postgres_stopped_repeats_at_most_the_sends_in_flight() -> None:
    """Runs after the test above and judges its duplicates (nothing is started twice)."""
    if "duplicates" not in _OUTCOME:
        pytest.skip("needs the PostgreSQL outage test above (PostgreSQL only)")
    assert _OUTCOME["duplicates"] <= SENDERS

async def test_an_unreachable_database_is_one_warning_not_a_traceback_per_job(
        caplog: pytest.LogCaptureFixture) -> None:
    """What the log shows while PostgreSQL is down: one warning, then one line when back."""
    from sqlalchemy.exc import OperationalError

    from bot.scheduler import run_ticks

    ran: list[str] = []
    down = True

    async def reminders(app: object) -> None:
        ran.append("reminders")
        if down:
            raise OperationalError("SELECT 1", {}, Exception(
                'connection to server at "127.0.0.1" failed: Connection refused'))

    async def digests(app: object) -> None:
        ran.append("digests")
        if down:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    app = SimpleNamespace(bot_data={})
    with caplog.at_level("INFO", logger="bot.scheduler"):
        for _ in range(3):  # three ticks while it is down
            await run_ticks(app, [reminders, digests])  # type: ignore[arg-type]
        down = False
        await run_ticks(app, [reminders, digests])  # type: ignore[arg-type]
    assert ran == ["reminders", "digests"] * 4  # every job keeps trying, each on its own
    records = [(r.levelname, r.exc_info) for r in caplog.records if r.name == "bot.scheduler"]
    assert records == [("WARNING", None), ("INFO", None)], caplog.text
    assert "database unreachable" in caplog.text and "Connection refused" in caplog.text
    assert "reachable again" in caplog.text
