"""``coach backup`` / ``coach restore``: a round trip on SQLite; PostgreSQL is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from storage.migrate import upgrade


def _teams(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute("SELECT name FROM teams ORDER BY name")]
    finally:
        con.close()


def test_backup_restore_round_trip(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    url = f"sqlite:///{live}"
    upgrade(url)
    con = sqlite3.connect(live)
    con.execute("INSERT INTO teams (name, rotation_index, created_at) VALUES ('滨江支行', 0, '2026-11-25')")
    con.commit()
    con.close()
    backup = tmp_path / "backup.db"
    assert main(["backup", str(backup), "--url", url]) == 0
    assert main(["backup", str(backup), "--url", url]) == 1  # never overwrites
    fresh = tmp_path / "fresh.db"
    assert main(["restore", str(backup), "--url", f"sqlite:///{fresh}"]) == 0
    assert _teams(fresh) == ["滨江支行"]
    # restoring over data is refused and changes nothing
    assert main(["restore", str(backup), "--url", url]) == 1
    assert _teams(live) == ["滨江支行"]


def test_postgresql_is_refused_with_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backup", "x.dump", "--url", "postgresql+psycopg://u@127.0.0.1/db"]) == 2
    out = capsys.readouterr().out
    assert "pg_dump" in out and "pg_restore" in out
