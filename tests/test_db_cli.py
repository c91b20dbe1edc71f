"""``coach db current|history|downgrade`` and the migration lock."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from bot.cli import main
from storage.migrate import current, history, upgrade


def test_current_history_downgrade_round_trip(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert main(["db", "current", "--url", url]) == 0
    assert "no schema yet" in capsys.readouterr().out
    assert main(["db", "upgrade", "--url", url]) == 0
    revisions = history(url)
    head, previous = revisions[0][0], revisions[1][0]
    capsys.readouterr()
    assert main(["db", "current", "--url", url]) == 0
    assert capsys.readouterr().out.strip() == f"{head} (head)"
    assert main(["db", "history", "--url", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(revisions) and f"-> {head}" in lines[0]
    assert main(["db", "downgrade", previous, "--url", url]) == 0
    assert current(url) == previous
    capsys.readouterr()
    main(["db", "current", "--url", url])
    assert "run coach db upgrade" in capsys.readouterr().out
    assert main(["db", "downgrade", "no_such_rev", "--url", url]) == 1
    assert current(url) == previous  # a bad revision changes nothing
    upgrade(url)
    assert current(url) == head


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="the advisory lock exists on PostgreSQL only")
def test_two_first_starts_do_not_race_on_postgresql(db_url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.begin() as conn:  # an empty database, as on a first start
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    errors: list[BaseException] = []

    def start() -> None:
        try:
            upgrade(db_url)
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and current(db_url) == history(db_url)[0][0]
