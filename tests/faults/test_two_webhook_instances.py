"""Two ``coach run --webhook`` instances on one PostgreSQL share the scheduled work (issue 17).

10,000 follow-ups fall due at once (ten each for 1,000 advisors) and a briefing goes to
1,000 members, while two webhook instances (different ports, same ``DATABASE_URL``,
same Bot API emulator) run their ticks side by side. Every piece of that work is claimed
with ``FOR UPDATE SKIP LOCKED`` and a lease (follow-ups, briefing deliveries, outbox
rows): each reminder and each briefing must reach the emulator exactly once (0 sent
twice, 0 lost), both instances must have sent a share, and neither may log a traceback.

PostgreSQL only, on a private cluster (tests/faults/pgcluster.py): SQLite serialises
writers, so two processes on one file prove nothing about row claims. Sizes:
``FAULTS_TWO_REMINDERS`` / ``FAULTS_TWO_MEMBERS`` (defaults: the issue's 10,000 and 1,000).
Alone: ``DATABASE_URL=postgresql+psycopg://… bash .ci/test tests/faults/test_two_webhook_instances.py``.
"""

from __future__ import annotations

import os
import re
import time
import urllib.request
from pathlib import Path

from tests.faults import pgcluster
from tests.faults.conftest import open_stage
from tests.faults.db_state import committed
from tests.faults.harness import REPORT, START_DEADLINE_S, Stage, keys_sent
from tests.faults.seed import seed_briefing, seed_reminders
from tests.processes import free_port

N_REMINDERS = int(os.environ.get("FAULTS_TWO_REMINDERS", "10000"))
N_MEMBERS = int(os.environ.get("FAULTS_TWO_MEMBERS", "1000"))
SEND_DEADLINE_S = 600.0  # a failing run ends here; a passing one takes a fraction of it
# nobody is killed here: a claim never runs out, so any lease lost means two claims met
LEASE_SECONDS = "60"


def _counter(port: int, sample: str) -> int:
    """One counter of one instance's ``/metrics`` (0 if it has no sample yet)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",  # noqa: S310
                                timeout=10) as response:
        text = response.read().decode()
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return int(float(found.group(1))) if found else 0


def test_two_webhook_instances_send_every_message_exactly_once(
        private_cluster: pgcluster.Cluster, tmp_path: Path, base_id: int) -> None:
    """PostgreSQL only: SQLite serialises writers, there is nothing to race."""
    # no global 429s from the emulator: this test proves that claims are exclusive,
    # not pacing (each instance's own limiter still paces it; the 30 msg/s limit
    # and its 429s are exercised by test_kill9.py and test_telegram_faults.py)
    with open_stage(private_cluster.url, tmp_path, base_id,
                    messages_per_second=None) as stage:
        _run(stage, private_cluster.url, base_id)


def _run(stage: Stage, url: str, base_id: int) -> None:
    reminders = seed_reminders(url, N_REMINDERS, first_telegram_id=base_id + 1000)
    broadcast = seed_briefing(url, N_MEMBERS, first_telegram_id=base_id + 50_000)
    total = N_REMINDERS + N_MEMBERS
    ports = [free_port(), free_port()]
    started = time.monotonic()
    # the emulator's flood limit is off here, so each bot's own limiter may go faster
    # too: the test proves exclusive claims, not pacing (tested elsewhere)
    bots = [stage.start_webhook(port, LEASE_SECONDS=LEASE_SECONDS, TELEGRAM_MAX_RATE="200",
                                OUTBOX_CONCURRENCY="8") for port in ports]
    stage.wait(lambda: all(stage.serving(port) for port in ports), "both instances serving",
               timeout=START_DEADLINE_S, every=0.5)
    assert {call["url"] for call in stage.telegram.webhook_calls} == {
        f"http://127.0.0.1:{port}/tg/hook" for port in ports}

    def all_recorded() -> bool:
        if len(stage.telegram.sent) < total:  # cheap: nothing to ask the database yet
            return False
        return committed(url, broadcast.briefing_id).done(reminders.followup_ids, N_MEMBERS)

    stage.wait(all_recorded, "every reminder and briefing sent and recorded",
               timeout=SEND_DEADLINE_S, every=1.0)
    elapsed = time.monotonic() - started
    shares = [_counter(port, 'coach_deliveries_total{outcome="sent"}') for port in ports]
    lost_leases = sum(_counter(port, "coach_outbox_lease_lost_total") for port in ports)
    outputs = [stage.stop(bot) for bot in bots]

    reminder_counts = keys_sent(stage.telegram, "fu d")
    delivery_counts = keys_sent(stage.telegram, "bf ack")
    twice = sum(1 for n in reminder_counts.values() if n > 1) + sum(
        1 for n in delivery_counts.values() if n > 1)
    lost = (len(set(reminders.followup_ids) - set(reminder_counts))
            + N_MEMBERS - len(delivery_counts))
    REPORT.append(
        f"two webhook instances, one PostgreSQL: {N_REMINDERS} reminders + {N_MEMBERS} "
        f"briefings in {elapsed:.0f} s (start to all recorded); sent twice {twice}, lost "
        f"{lost}; sent by each instance {shares[0]} + {shares[1]}; leases lost {lost_leases}")
    assert set(reminder_counts) == set(reminders.followup_ids)
    assert max(reminder_counts.values()) == 1, "a reminder was sent twice"
    assert len(delivery_counts) == N_MEMBERS
    assert max(delivery_counts.values()) == 1, "a briefing was sent twice"
    members = set(broadcast.member_ids)
    assert sorted(m.chat_id for m in stage.telegram.sent if m.chat_id in members) == sorted(
        members), "each member gets exactly one message"
    # both did real work: the claims split it, not one instance doing (nearly) everything
    assert sum(shares) >= total and min(shares) >= total // 10, shares
    # and never met on a row: a renewal that finds another owner means a claim overlapped
    assert lost_leases == 0
    for output in outputs:
        assert "Traceback" not in output, output[-4000:]
