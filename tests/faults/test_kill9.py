"""kill -9 of ``coach run`` while it sends reminders and broadcasts a briefing (issue 17).

One run, three kills: early, in the middle and late in the sending (by the share of
all messages the emulator has accepted), each followed by a restart. In the end
every follow-up got its reminder and every member the briefing; a message may
arrive twice only if it is in the documented window: Telegram had accepted it when
the process died, and the database did not record it yet. The duplicates seen are
reported in the terminal summary.

Sizes: ``FAULTS_REMINDERS`` (default 200) and ``FAULTS_MEMBERS`` (default 300) keep CI
under its time budget; the issue's 500 and 1,000 run with
``FAULTS_REMINDERS=500 FAULTS_MEMBERS=1000``.
"""

from __future__ import annotations

import os

from tests.faults.db_state import committed
from tests.faults.harness import REPORT, Stage, keys_sent
from tests.faults.seed import seed_briefing, seed_reminders

KILL_POINTS = (("early", 0.15), ("middle", 0.5), ("late", 0.85))


def test_kill9_at_three_points_loses_nothing_and_repeats_only_the_window(
        stage: Stage, base_id: int) -> None:
    n_reminders = int(os.environ.get("FAULTS_REMINDERS", "200"))
    n_members = int(os.environ.get("FAULTS_MEMBERS", "300"))
    reminders = seed_reminders(stage.db_url, n_reminders, first_telegram_id=base_id + 1000)
    broadcast = seed_briefing(stage.db_url, n_members, first_telegram_id=base_id + 50_000)
    total = n_reminders + n_members

    def received() -> tuple[int, int]:
        return (len(keys_sent(stage.telegram, "fu d")), len(keys_sent(stage.telegram, "bf ack")))

    window_reminders: set[int] = set()
    window_deliveries: set[int] = set()
    at_kill: list[str] = []
    bot = stage.start()
    for name, share in KILL_POINTS:
        stage.wait(lambda share=share: sum(received()) >= total * share,  # type: ignore[misc]
                   f"{share:.0%} of the messages before the {name} kill")
        stage.kill(bot)
        done = committed(stage.db_url, broadcast.briefing_id)
        window_reminders |= set(keys_sent(stage.telegram, "fu d")) - done.reminders
        window_deliveries |= set(keys_sent(stage.telegram, "bf ack")) - done.deliveries
        at_kill.append(f"{name}: {received()[0]} reminders + {received()[1]} briefings")
        bot = stage.start()

    stage.wait(lambda: received() == (n_reminders, n_members)
               and committed(stage.db_url, broadcast.briefing_id).done(
                   reminders.followup_ids, n_members),
               "every reminder and briefing delivered and recorded")
    output = stage.stop(bot)

    reminder_counts = keys_sent(stage.telegram, "fu d")
    delivery_counts = keys_sent(stage.telegram, "bf ack")
    assert set(reminder_counts) == set(reminders.followup_ids)
    assert {m.chat_id for m in stage.telegram.sent if m.chat_id in set(broadcast.member_ids)} \
        == set(broadcast.member_ids)
    twice_reminders = {k for k, n in reminder_counts.items() if n > 1}
    twice_deliveries = {k for k, n in delivery_counts.items() if n > 1}
    REPORT.append(
        f"kill -9 x3 ({'; '.join(at_kill)}): {n_reminders} reminders, {n_members} briefings "
        f"all delivered; duplicates {len(twice_reminders)} reminders + "
        f"{len(twice_deliveries)} briefings; in the window at the kills "
        f"{len(window_reminders)} + {len(window_deliveries)} (starts took "
        f"{', '.join(f'{t:.1f}' for t in stage.start_seconds)} s)")
    assert twice_reminders <= window_reminders, "a reminder recorded as sent went out again"
    assert twice_deliveries <= window_deliveries, "a briefing recorded as sent went out again"
    assert max(reminder_counts.values()) <= 2 and max(delivery_counts.values()) <= 2
    assert "Traceback" not in output, output[-4000:]
