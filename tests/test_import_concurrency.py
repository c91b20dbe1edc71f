"""A large SQLite import commits in short batches: the bot can write meanwhile."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services import Services
from coach.services import client_import, people
from coach.tiers import TierThresholds
from storage.models import Client
from tests import factories

ROWS = 600
BATCH = 50


def _rows() -> list[tuple[int, dict[str, str]]]:
    return [(i + 2, {"name": f"客户{i:04d}", "phone": f"1390000{i:04d}", "tier": "mass",
                     "aum": "1000"}) for i in range(ROWS)]


def test_bot_writes_while_a_large_import_runs(services: Services,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    if services.db.is_postgres:
        pytest.skip("SQLite's single writer lock is what this is about")
    with services.db.session() as s:
        advisor_id = factories.user(s, now=services.clock.now()).id
    rows = _rows()
    parsed = 0
    writing = threading.Event()
    original = client_import._parse_row

    def slow_parse(*args, **kwargs):  # type: ignore[no-untyped-def]
        # each row takes a little while, so the import lasts a few seconds
        nonlocal parsed
        parsed += 1
        if parsed == ROWS + 3 * BATCH:  # pass 2, a few batches in
            writing.set()
        time.sleep(0.004)
        return original(*args, **kwargs)

    monkeypatch.setattr(client_import, "_parse_row", slow_parse)
    failure: list[BaseException] = []

    def run_import() -> None:
        try:
            with services.db.session() as s:
                advisor = people.get_user(s, advisor_id)
                client_import.import_clients(s, rows, advisor=advisor, clock=services.clock,
                                             thresholds=TierThresholds(), batch=BATCH,
                                             on_batch=s.commit)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            failure.append(err)

    worker = threading.Thread(target=run_import)
    worker.start()
    assert writing.wait(60)
    # the bot's own write, with a busy timeout far shorter than the import: it must get in
    path = Path(services.db.engine.url.database or "")
    bot = sqlite3.connect(path, timeout=1.0)
    try:
        started = time.perf_counter()
        bot.execute("UPDATE users SET call_target = 7 WHERE id = ?", (advisor_id,))
        bot.commit()
        waited = time.perf_counter() - started
    finally:
        bot.close()
    still_importing = worker.is_alive()
    worker.join(120)
    assert not failure, failure
    assert still_importing, "the write happened during the import"
    assert waited < 1.0
    with services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Client)) == ROWS
        assert people.get_user(s, advisor_id).call_target == 7
