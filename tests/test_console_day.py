"""``coach console`` runs the product's timed jobs on a virtual clock: a whole day, scripted."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.commands.console import parse_time_command

DAY = """\
/time 2026-12-03 08:31
客户说手续费太贵
/log 王建国 有兴趣 今天上午11点再打
1
/time 11:01
7
/time 12:01
/time 18:01
3
@bot 手续费
第一行\\
第二行
"""


def run_console(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                tmp_path: Path, script: str, *args: str) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    code = main(["console", "--db", str(tmp_path / "console.db"), *args])
    assert code == 0
    return capsys.readouterr().out


def test_a_whole_day_in_the_console(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = run_console(monkeypatch, capsys, tmp_path, DAY, "--start", "2026-12-02 12:00")
    day = out[out.index("🕒 2026-12-03 08:31"):]
    # the morning checklist came before the clock reached 08:31 on the 3rd
    assert "早上好！12-03 的工作清单" in out[:out.index("🕒 2026-12-03 08:31")]
    steps = [
        "嫌手续费高",                         # the objection gets a script
        "👤 王建国 · 有兴趣，再考虑",           # the one-line log, confirmed…
        "✅ 已保存：王建国",
        "⏰ 王建国",                           # …becomes the 11:00 reminder
        "🕒 2026-12-03 11:01",
        "找出真正在考虑的那一点 · 要再考虑",     # "7" pressed the reminder's 📖 button
        "→ 周慧琳:\n⚠️ 团队有",                 # a follow-up 5 days late escalates to the lead
        "🕒 2026-12-03 12:01",
        "您的工作日志 2026-12-03",              # the end-of-day work log
        "→ 周慧琳:\n团队日志 2026-12-03",        # and the lead's team log
        "🕒 2026-12-03 18:01",
    ]
    positions = [day.index(step) for step in steps]
    assert positions == sorted(positions)
    reminder = day[day.index("⏰ 王建国"):day.index("🕒 2026-12-03 11:01")]
    assert "[7] 📖 话术" in reminder
    evening = day[day.index("🕒 2026-12-03 18:01"):]
    # "3" with no buttons shown is text (earlier buttons are not pressed): a search answer
    assert evening.index("不太确定哪条话术合适") < evening.index("<1> 把申购费摊到每一天")
    # the inline query's results are listed; the two-line message got one answer
    after_inline = evening[evening.index("<5>"):]
    assert after_inline.count("不太确定哪条话术合适") == 1

def test_files_are_saved_and_messages_to_others_marked(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    files = tmp_path / "files"
    out = run_console(monkeypatch, capsys, tmp_path, "/time 18:01\n1\n",
                      "--as", "lead", "--start", "2026-12-02 17:00", "--files", str(files))
    assert "→ 林晓峰:\n您的工作日志 2026-12-02" in out
    assert "[1] 📊 Excel 文件" in out
    saved = list(files.iterdir())
    assert len(saved) == 1 and saved[0].stat().st_size > 0
    assert f"[📎 {saved[0]}" in out


def test_time_arguments() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert parse_time_command("+2h", now, "Asia/Shanghai") == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert parse_time_command("+1d 30m", now, "Asia/Shanghai") == datetime(2026, 12, 3, 0, 30,
                                                                          tzinfo=UTC)
    assert parse_time_command("2026-12-03 08:30", now, "Asia/Shanghai") == datetime(
        2026, 12, 3, 0, 30, tzinfo=UTC)
    assert parse_time_command("07:00", now, "Asia/Shanghai") == datetime(2026, 12, 2, 23, 0,
                                                                       tzinfo=UTC)
    assert parse_time_command("+2x", now, "Asia/Shanghai") is None
    assert parse_time_command("soon", now, "Asia/Shanghai") is None


def test_other_commands_read_the_console_database(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    run_console(monkeypatch, capsys, tmp_path, "客户说手续费太贵\n", "--start", "2026-12-02 10:00")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "elsewhere.db"))
    assert main(["--db", str(tmp_path / "console.db"), "scripts", "report"]) == 0
    report = capsys.readouterr().out
    assert "Most used" in report
    assert "  -" not in report.split("Most used")[1].split("Most disliked")[0]


def _most_used(report: str) -> str:
    return report.split("Most used")[1].split("Most disliked")[0]


def test_console_and_cli_share_one_default_database(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    """No --db anywhere: the console and `coach scripts report` use the same database."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the default, sqlite:///coach.db
    monkeypatch.setattr(sys, "stdin", io.StringIO("客户说手续费太贵\n"))
    assert main(["console", "--start", "2026-12-02 10:00"]) == 0
    capsys.readouterr()
    assert (tmp_path / "coach.db").exists() and not (tmp_path / "coach-demo.db").exists()
    assert main(["scripts", "report"]) == 0
    assert "  -" not in _most_used(capsys.readouterr().out)  # the console's use is counted
    # --db still overrides: another file has no uses
    assert main(["--db", str(tmp_path / "other.db"), "scripts", "report"]) == 0
    assert "  -" in _most_used(capsys.readouterr().out)


def test_console_keeps_its_demo_out_of_a_real_teams_database(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    db = str(tmp_path / "real.db")
    assert main(["--db", db, "teams", "add", "滨江支行"]) == 0
    assert main(["--db", db, "users", "add", "123456789", "--role", "advisor",
                 "--team", "滨江支行", "--name", "林晓峰"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO("/start\n"))
    assert main(["--db", db, "console"]) == 2
    err = capsys.readouterr().err
    assert "1 real people" in err and "coach --db coach-demo.db console" in err
    assert main(["--db", db, "users", "list"]) == 0
    assert "示范" not in capsys.readouterr().out  # nothing fictional was added
