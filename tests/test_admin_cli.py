"""Bulk onboarding without Telegram: coach teams / users add, import, list."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.services import Services


def test_teams_and_users(services: Services, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    assert main(["teams", "add", "滨江支行"]) == 0
    assert main(["teams", "add", "滨江支行"]) == 1  # exists
    assert main(["users", "add", "123456", "--role", "advisor", "--team", "滨江支行",
                 "--name", "林晓峰"]) == 0
    assert main(["users", "add", "123457", "--role", "advisor", "--team", "Nowhere"]) == 1
    people = tmp_path / "people.csv"
    people.write_text("telegram_id,role,team,name\n200,lead,滨江支行,周慧琳\n"
                      "abc,advisor,滨江支行,坏行\n201,boss,滨江支行,错角色\n", encoding="utf-8")
    assert main(["users", "import", str(people)]) == 1
    out = capsys.readouterr().out
    assert "people.csv:3: telegram_id must be a number" in out
    assert "people.csv:4: role: must be one of" in out and "nothing imported" in out
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out  # all or nothing: not the good row 200 either
    assert "123456\tadvisor\t滨江支行\t林晓峰" in listing and "200\tlead" not in listing
    assert "坏行" not in listing and "错角色" not in listing
    people.write_text("telegram_id,role,team,name\n200,lead,滨江支行,周慧琳\n", encoding="utf-8")
    assert main(["users", "import", str(people)]) == 0
    assert "imported 1 people" in capsys.readouterr().out


def test_db_upgrade(services: Services, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
