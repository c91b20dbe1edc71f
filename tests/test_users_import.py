"""``coach users import``: one bad row changes nothing; every bad row is named by line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from coach.services import people
from coach.services.errors import ServiceError
from storage.models import User
from tests import factories

HEADER = "telegram_id,role,team,name,username\n"


@pytest.fixture
def cli(services, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    with services.db.session() as s:
        team = people.create_team(s, "Alpha", clock=services.clock)
        people.create_team(s, "Beta", clock=services.clock)
        factories.user(s, role="advisor", team_id=team.id, telegram_id=777, name="老员工",
                       now=services.clock.now())
    return services


def _run(capsys, *args: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _people(services) -> dict[int, tuple[str, str]]:  # type: ignore[no-untyped-def]
    with services.db.session() as s:
        return {u.telegram_id: (u.role, u.name) for u in s.scalars(select(User))}


def _file(tmp_path: Path, body: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "people.csv"
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def test_one_bad_row_changes_nothing_and_every_bad_row_is_named(cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = _people(cli)
    path = _file(tmp_path,
                 "901,advisor,Alpha,张一,\n"             # 2 good
                 "777,lead,Beta,老员工,\n"               # 3 good (an update: must not happen)
                 "abc,advisor,Alpha,张三,\n"             # 4 bad id
                 "903,boss,Alpha,张四,\n"                # 5 unknown role
                 "904,advisor,,张五,\n"                  # 6 no team
                 "905,advisor,Nowhere,张六,\n"           # 7 unknown team
                 "901,lead,Alpha,张一,\n"                # 8 the same person twice
                 "906,advisor,Alpha,张七,,extra\n"       # 9 more fields than the header
                 "907,referrer,Alpha,张八,@x\n"          # 10 not a username
                 "908,admin,,管理员,\n")                 # 11 good: admins need no team
    code, out = _run(capsys, "users", "import", str(path))
    assert code == 1 and "Traceback" not in out
    assert f"{path}:4: telegram_id must be a number from 1 to 2^63-1" in out
    assert f"{path}:5: role: must be one of advisor, lead, referrer, admin (not 'boss')" in out
    assert f"{path}:6: team: required for role advisor" in out
    assert f"{path}:7: team: there is no team called 'Nowhere'" in out
    assert f"{path}:8: telegram_id: the same person as on line 2" in out
    assert f"{path}:9: 6 fields, the header has 5" in out
    assert f"{path}:10: username: not a Telegram username" in out
    for good in (2, 3, 11):
        assert f"{path}:{good}:" not in out
    assert "nothing imported: 7 problems in 7 of 10 rows" in out
    assert _people(cli) == before  # not the good rows either, not the update


def test_a_good_file_is_imported_and_importing_it_again_changes_nothing(
        cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _file(tmp_path, "901,advisor,alpha,张一,zhang_yi\n777,lead,Beta,老员工,\n"
                           "908,admin,,管理员,\n")
    code, out = _run(capsys, "users", "import", str(path))
    assert code == 0, out
    assert "imported 3 people (2 new, 1 updated), 0 rows rejected" in out
    after = _people(cli)
    assert after[901] == ("advisor", "张一") and after[777] == ("lead", "老员工")
    assert after[908] == ("admin", "管理员")
    code, out = _run(capsys, "users", "import", str(path))
    assert code == 0 and "(0 new, 3 updated)" in out and _people(cli) == after


def test_a_failure_while_writing_leaves_nothing_half_done(
        cli, capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The rows are written in one transaction: a failure on the third rolls back all."""
    before = _people(cli)
    real_add = people.add_user
    calls = 0

    def add_then_fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ServiceError("team_not_found", team="Alpha")
        return real_add(*args, **kwargs)

    monkeypatch.setattr(people, "add_user", add_then_fail)
    path = _file(tmp_path, "901,advisor,Alpha,张一,\n902,advisor,Alpha,张二,\n"
                           "903,advisor,Alpha,张三,\n")
    code, out = _run(capsys, "users", "import", str(path))
    assert code == 1 and "team_not_found" in out
    assert _people(cli) == before


def test_gbk_files_and_missing_columns(cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _file(tmp_path, "901,advisor,Alpha,张一,\n", encoding="gbk")
    code, out = _run(capsys, "users", "import", str(path))
    assert code == 0 and "read as GBK" in out and _people(cli)[901] == ("advisor", "张一")
    bare = tmp_path / "bare.csv"
    bare.write_text("id,name\n1,甲\n", encoding="utf-8")
    code, out = _run(capsys, "users", "import", str(bare))
    assert code == 1 and f"{bare}:1: the header has no role, telegram_id column" in out
