"""Every scheduled job does its database work off the event loop (issue 17).

A job that opens a session on the event-loop thread freezes every chat while its
queries run, and the whole bot while the database hangs. Each job of
``bot.app.job_list()`` is run with real work to do, with the session factory watched:
no session may be opened on the event-loop thread. (``run_job`` also runs each job
inside ``storage.db.off_loop_only``, so the suite's loop check covers every job test.)
"""

from __future__ import annotations

import contextvars
import threading
from collections import defaultdict
from typing import Any

import pytest

from bot.app import job_list
from bot.scheduler import run_job
from tests.conftest import BotHarness
from tests.test_reminders import _due_followup

_running: contextvars.ContextVar[str] = contextvars.ContextVar("job", default="-")


def _watch_sessions(harness: BotHarness, monkeypatch: pytest.MonkeyPatch
                    ) -> dict[str, list[int]]:
    """Thread ids that opened a session, per running job (context travels to threads)."""
    opened: dict[str, list[int]] = defaultdict(list)
    db = harness.services.db
    factory = db._factory

    def watched(*args: Any, **kwargs: Any) -> Any:
        opened[_running.get()].append(threading.get_ident())
        return factory(*args, **kwargs)

    monkeypatch.setattr(db, "_factory", watched)
    return opened


async def test_no_job_opens_a_database_session_on_the_event_loop(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    advisor = harness.person("advisor")
    for n in range(3):  # reminders to queue, then outbox rows to send
        _due_followup(harness, advisor, minutes_ago=n + 1, name=f"客户{n}")
    _ = harness.services.catalog  # built at start in production (post_init), not by a job
    opened = _watch_sessions(harness, monkeypatch)
    loop_thread = threading.get_ident()
    for job in job_list():
        name = job.__name__
        token = _running.set(name)
        try:
            await run_job(harness.app, job)
        finally:
            _running.reset(token)
    on_loop = sorted(name for name, threads in opened.items() if loop_thread in threads)
    assert on_loop == [], f"jobs opening sessions on the event loop: {on_loop}"
    # the check saw real work: every job touching the database was watched
    assert {"send_due_reminders", "escalate_overdue", "hand_back_after_leave",
            "send_question_reminders", "practice_housekeeping", "briefings_tick",
            "morning_checklists", "deliver_outbox", "prune_expired_rows"} <= opened.keys()
    reminders = [m for m in harness.telegram.messages_to(advisor.id) if "⏰" in m.text]
    assert len(reminders) == 3  # the jobs did their work
