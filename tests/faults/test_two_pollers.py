"""Two ``coach run`` polling with one token (issue 17: "a 409 Conflict is logged as an
error with a traceback").

Telegram allows one long poll per token and ends the older one with 409 Conflict; the
emulator does the same. Both bots must say so in one clear line (never a traceback per
poll), keep running, and every update must still be answered by one of them.
"""

from __future__ import annotations

from bot.fakebot import FakeUser
from tests.faults.harness import REPORT, START_DEADLINE_S, Stage
from tests.faults.seed import seed_advisors

CLEAR_LINE = "another instance is polling with this token"


def test_a_second_poller_gets_one_clear_line_and_updates_are_still_answered(
        stage: Stage, base_id: int) -> None:
    people = [FakeUser(base_id + n, f"Adv{n}", language_code="en") for n in range(1, 7)]
    seed_advisors(stage.db_url, [p.id for p in people])
    first = stage.start()
    second = stage.start()  # returns on a poll: maybe the first bot's, so wait for its own
    stage.wait(lambda: "Application started" in stage.output(second),
               "the second bot started", timeout=START_DEADLINE_S)
    # its first long poll ends the first bot's with 409, and the other way round
    stage.wait(lambda: stage.telegram.conflicted >= 4, "409s for the two pollers", timeout=60)
    for person in people:  # each answered once, by whichever bot holds the poll
        seen = len(stage.replies(person))
        stage.say(person, "/help")
        stage.next_reply(person, seen, f"/help answered for {person.id}")
    conflicts = stage.telegram.conflicted
    logs = [stage.stop(first), stage.stop(second)]
    lines = sum(log.count(CLEAR_LINE) for log in logs)
    REPORT.append(f"two pollers: {conflicts} 409s from the emulator, {lines} log lines "
                  f"about it, {len(people)} updates answered once each")
    for log in logs:
        assert "Traceback" not in log, log[-4000:]
        assert "ERROR" not in log, log[-4000:]
    assert any(CLEAR_LINE in log and "--webhook" in log for log in logs)
    assert lines <= 2, f"one line per instance, not one per 409 ({conflicts}): {lines}"
    answers = [len(stage.replies(person)) for person in people]
    assert answers == [1] * len(people), f"answered twice (both bots had it): {answers}"
