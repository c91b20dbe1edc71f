"""Issue 11.10: imports refuse bad files clearly, write all or nothing, and never double."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from coach.services import people
from storage.models import Client, Holding, Product, TeamScript
from tests import factories

HEADER = ("name,phone,tier,aum,risk_tolerance,risk_assessed_on,birthday,product,risk_rating,"
          "amount,maturity_date\n")
GOOD = ("王建国,13800001111,premier,1200000,C3,2026-08-01,1966-03-15,稳健增利90天,R2,600000,"
        "2026-12-01\n"
        "王建国,13800001111,premier,1200000,C3,2026-08-01,1966-03-15,货币基金,R1,200000,\n"
        "林美玲,,wealth,150000,C2,2026-10-10,,,,,\n")


@pytest.fixture
def cli(services, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    with services.db.session() as s:
        team = people.create_team(s, "Alpha", clock=services.clock)
        factories.user(s, role="advisor", team_id=team.id, telegram_id=777,
                       now=services.clock.now())
    return services


def _run(capsys, *args: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _counts(services) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with services.db.session() as s:
        return (s.scalar(select(func.count()).select_from(Client)) or 0,
                s.scalar(select(func.count()).select_from(Holding)) or 0)


def _clients(tmp_path: Path, body: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "clients.csv"
    path.write_bytes((HEADER + body).encode(encoding))
    return path


@pytest.mark.parametrize("amount", ["NaN", "nan", "inf", "-Infinity", "1e999", "sNaN", "-5"])
def test_nan_and_infinite_amounts_are_refused(cli, capsys, tmp_path, amount) -> None:  # type: ignore[no-untyped-def]
    path = _clients(tmp_path, GOOD + f"赵强,13800009999,mass,{amount},C1,,,,,,\n")
    code, out = _run(capsys, "clients", "import", str(path), "--advisor", "777")
    assert code == 1 and f"{path}:5: aum: amount_invalid" in out
    assert _counts(cli) == (0, 0)  # the good rows before it are not written either


def test_bad_row_after_good_ones_prints_no_client_data(cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _clients(tmp_path, GOOD + "赵秘密,1380abc999,mass,1000,C1,,,,,,\n"
                    + "钱秘密,13800002222,mass,1000,C1,2031-02-30,,,,,\n")
    code, out = _run(capsys, "clients", "import", str(path), "--advisor", "777")
    assert code == 1
    assert f"{path}:5: phone: phone_invalid" in out
    assert f"{path}:6: risk_assessed_on: date_invalid" in out
    for secret in ("赵秘密", "1380abc999", "钱秘密", "2031-02-30", "王建国"):
        assert secret not in out
    assert _counts(cli) == (0, 0)


def test_over_long_field_and_extra_fields(cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _clients(tmp_path, GOOD + ("王" * 5000) + ",,mass,1,,,,,,,\n"
                    + "孙丽,,mass,1,,,,,,,,extra,more\n")
    code, out = _run(capsys, "clients", "import", str(path), "--advisor", "777")
    assert code == 1 and f"{path}:5: name: longer than 200 characters" in out
    assert f"{path}:6: 13 fields, the header has 11" in out
    assert "王王王" not in out and _counts(cli) == (0, 0)


def test_gbk_file_is_read(cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _clients(tmp_path, GOOD, encoding="gbk")
    code, out = _run(capsys, "clients", "import", str(path), "--advisor", "777")
    assert code == 0 and "read as GBK" in out
    with cli.db.session() as s:
        assert sorted(s.scalars(select(Client.name))) == ["林美玲", "王建国"]


def test_undecodable_and_binary_files_are_refused(cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.csv"
    path.write_bytes(b"name,phone\n\xff\xfe\xfd\x80\x81abc\n")
    code, out = _run(capsys, "clients", "import", str(path), "--advisor", "777")
    assert code == 1 and f"{path}:1: the file is neither UTF-8 nor GBK" in out
    path.write_bytes(b"name\n\x00\x01")
    code, out = _run(capsys, "clients", "import", str(path), "--advisor", "777")
    assert code == 1 and "binary" in out and "Traceback" not in out


@pytest.mark.parametrize("value", [str(2**63), str(2**64 + 5), "-3", "0", "²"])
def test_telegram_ids_out_of_range_never_reach_the_database(cli, capsys, tmp_path,  # type: ignore[no-untyped-def]
                                                           value) -> None:
    for args in (["clients", "import", str(_clients(tmp_path, GOOD)), "--advisor", value],
                 ["users", "add", value, "--role", "advisor", "--team", "Alpha"],
                 ["users", "disable", value]):
        with pytest.raises(SystemExit) as exit_:
            main(args)
        assert exit_.value.code == 2  # argparse: a usage error, no traceback
        assert "is not a Telegram id (1 to 2^63-1)" in capsys.readouterr().err


def test_reimport_does_not_double_and_dry_run_shows_changes(cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _clients(tmp_path, GOOD)
    code, out = _run(capsys, "clients", "import", str(path), "--advisor", "777", "--dry-run")
    assert code == 0 and "would add 2 clients and 2 holdings" in out
    assert f"{path}:2: add client" in out and f"{path}:3: add holding" in out
    assert _counts(cli) == (0, 0)
    assert _run(capsys, "clients", "import", str(path), "--advisor", "777")[0] == 0
    assert _counts(cli) == (2, 2)
    code, out = _run(capsys, "clients", "import", str(path), "--advisor", "777")
    assert code == 0 and "imported 0 clients and 0 holdings, updated 0, 2 unchanged" in out
    assert _counts(cli) == (2, 2)
    changed = _clients(tmp_path, GOOD.replace("150000,C2", "650000,C2")
                       .replace("wealth", "premier"))
    code, out = _run(capsys, "clients", "import", str(changed), "--advisor", "777", "--dry-run")
    assert "update client: tier, aum" in out and "update 1" in out
    assert _run(capsys, "clients", "import", str(changed), "--advisor", "777")[0] == 0
    with cli.db.session() as s:
        lin = s.scalars(select(Client).where(Client.name == "林美玲")).one()
        assert (lin.tier, int(lin.aum)) == ("premier", 650000)
    assert _counts(cli) == (2, 2)


def _products(tmp_path: Path, body: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "products.csv"
    path.write_bytes(("code,name,risk_rating,min_amount,term_days\n" + body).encode(encoding))
    return path


def test_products_import_refuses_bad_values(cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _products(tmp_path, "A1,好产品,R2,1000,90\nA2,坏,R2,NaN,90\nA3,坏,R2,inf,\n"
                     f"A4,坏,R2,,{2**64}\nA5,坏,R2,,²\n")
    code, out = _run(capsys, "products", "import", str(path))
    assert code == 1
    for line, what in ((3, "amount_invalid"), (4, "amount_invalid"), (5, "term_invalid"),
                       (6, "term_invalid")):
        assert f"{path}:{line}: {what}" in out
    with cli.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 0
    code, out = _run(capsys, "products", "import", str(_products(tmp_path, "A1,好产品,R2,1000,90\n",
                                                                   encoding="gbk")))
    assert code == 0 and "read as GBK" in out and "imported 1 new" in out


def _scripts(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "team.yaml"
    path.write_bytes(text.encode(encoding))
    return path


GOOD_SCRIPT = ("  - id: alpha.close{n}\n    title: 收尾{n}\n    triggers: [怎么收尾{n}]\n"
               "    say: 您看今天先把手续办好，好吗？\n")


@pytest.mark.parametrize("text, problem", [
    ("- a\n- b\n", ":1: top level must be a mapping"),
    ("just a string\n", ":1: top level must be a mapping"),
    ("category: closing\nscripts:\n  - " + "[" * 3000 + "]" * 3000 + "\n",
     ":1: YAML is nested too deeply"),
    ("category: closing\nscripts:\n  - id: alpha.deep\n    title: {a: {b: {c: {d: {e: {f: 1}}}}}}\n",
     ":3: script is nested too deeply"),
    ("category: closing\nscripts:\n" + GOOD_SCRIPT.format(n=1)
     + "  - id: alpha.long\n    title: " + "长" * 500 + "\n    triggers: [x]\n    say: 好\n",
     ":7: script 'alpha.long': title"),
    ("category: closing\nscripts:\n" + GOOD_SCRIPT.format(n=1) + "  - 42\n",
     ":7: each script must be a mapping"),
])
def test_scripts_import_bad_files(cli, capsys, tmp_path, text, problem) -> None:  # type: ignore[no-untyped-def]
    path = _scripts(tmp_path, text)
    code, out = _run(capsys, "scripts", "import", str(path), "--team", "Alpha")
    assert code == 1 and f"{path}{problem}" in out, out
    assert "Traceback" not in out
    with cli.db.session() as s:
        assert s.scalars(select(TeamScript)).all() == []


def test_scripts_import_unknown_team_and_gbk(cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _scripts(tmp_path, "category: closing\nscripts:\n" + GOOD_SCRIPT.format(n=1),
                    encoding="gbk")
    code, out = _run(capsys, "scripts", "import", str(path), "--team", "Nope")
    assert code == 1 and "no team called 'Nope'" in out
    code, out = _run(capsys, "scripts", "import", str(path), "--team", "Alpha")
    assert code == 0 and "saved 1 team scripts" in out


def test_users_import_ids_beyond_range_and_unknown_team(cli, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "people.csv"
    path.write_text("telegram_id,role,team,name\n"
                    f"{2**63},advisor,Alpha,甲\n{2**64 + 1},advisor,Alpha,乙\n²,advisor,Alpha,丙\n"
                    "901,advisor,Nowhere,丁\n", encoding="utf-8")
    code, out = _run(capsys, "users", "import", str(path))
    assert code == 1 and "Traceback" not in out
    for line in (2, 3, 4):
        assert f"{path}:{line}: telegram_id must be a number from 1 to 2^63-1" in out
    assert f"{path}:5: team: there is no team called 'Nowhere'" in out
