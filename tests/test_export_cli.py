"""``coach export --team NAME --format xlsx|json``: a team's clients, contacts, follow-ups."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.services import Services
from storage.models import FollowUp, Interaction
from tests import factories


def _book(services: Services) -> None:
    """Team Alpha: one advisor with two clients (one forgotten); team Beta: one client."""
    now = services.clock.now()
    with services.db.session() as s:
        alpha = factories.team(s, "Alpha", now=now)
        beta = factories.team(s, "Beta", now=now)
        anna = factories.user(s, team_id=alpha.id, name="安娜", now=now)
        bo = factories.user(s, team_id=beta.id, name="博文", now=now)
        wang = factories.client(s, advisor_id=anna.id, name="王建国", now=now,
                                notes="=HYPERLINK(\"http://127.0.0.1/x\",\"click\")")
        factories.client(s, advisor_id=anna.id, name="deleted #9", now=now, forgotten=True)
        factories.client(s, advisor_id=bo.id, name="李秀英", now=now)
        s.add(Interaction(client_id=wang.id, advisor_id=anna.id, channel="phone",
                          outcome="sale", amount=Decimal("50000.50"), product="稳健增利90天",
                          notes="+1 想再看看收益", occurred_at=now, created_at=now))
        s.add(FollowUp(client_id=wang.id, advisor_id=anna.id, kind="call", reason="manual",
                       note="@带资料", due_at=now + timedelta(days=2), status="pending",
                       created_at=now))


@pytest.fixture
def env(services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Services:
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    monkeypatch.chdir(tmp_path)
    _book(services)
    return services


def test_json_export_holds_the_team_only(env: Services, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "alpha.json"
    assert main(["export", "--team", "alpha", "--format", "json", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "1 clients, 1 contacts, 1 follow-ups" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["team"] == "Alpha"
    assert [c["name"] for c in data["clients"]] == ["王建国"]  # not Beta's, not the forgotten
    assert data["clients"][0]["advisor"] == "安娜" and data["clients"][0]["aum"] == "800000.00"
    contact = data["contacts"][0]
    assert (contact["client"], contact["outcome"], contact["amount"]) == ("王建国", "sale",
                                                                          "50000.50")
    assert data["followups"][0]["due_at"].startswith("2026-11-27")


def test_xlsx_export_writes_typed_text_as_text(env: Services,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--team", "Alpha", "--format", "xlsx"]) == 0
    path = Path(capsys.readouterr().out.split(":")[0])
    assert path.name.startswith("coach-export-team") and path.suffix == ".xlsx"
    book = load_workbook(path)
    assert book.sheetnames == ["clients", "contacts", "followups"]
    clients = book["clients"]
    header = [c.value for c in clients[1]]
    notes = clients.cell(row=2, column=header.index("notes") + 1)
    assert notes.data_type == "s" and notes.value.startswith("=HYPERLINK")  # text, no formula
    contacts = book["contacts"]
    header = [c.value for c in contacts[1]]
    row = {h: c for h, c in zip(header, contacts[2], strict=True)}
    assert row["notes"].data_type == "s" and row["notes"].quotePrefix
    assert row["amount"].value == pytest.approx(50000.5)  # a number, not text
    follow = book["followups"]
    note = follow.cell(row=2, column=[c.value for c in follow[1]].index("note") + 1)
    assert note.value == "@带资料" and note.data_type == "s"
    # the same file is never overwritten
    assert main(["export", "--team", "Alpha", "--out", str(path)]) == 1


def test_unknown_team_is_a_friendly_error(env: Services,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--team", "Gamma", "--format", "json"]) == 1
    err = capsys.readouterr().err
    assert "no team named 'Gamma'" in err and "Traceback" not in err
    assert list(Path.cwd().glob("coach-export-*")) == []  # nothing written
