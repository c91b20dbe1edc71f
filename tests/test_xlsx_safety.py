"""Issue 11.2: user-supplied text in every Excel export is a text cell, never a formula."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from coach.reports.xlsx import append_row
from coach.services import people
from storage.models import Interaction
from tests import factories
from tests.conftest import BotHarness

PAYLOADS = ['=HYPERLINK("http://127.0.0.1/x","点我")', "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(1,2)", "\t=1+1", "\r=1+1", "＝1+1"]


def _reopen(data: bytes):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(data))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_append_row_writes_text(payload: str) -> None:
    book = Workbook()
    append_row(book.active, [payload, 3, None, "王\x07建国"])
    buffer = io.BytesIO()
    book.save(buffer)
    cells = list(_reopen(buffer.getvalue()).active.iter_rows())[0]
    # XML stores a lone CR as a line break; the text itself is unchanged
    assert cells[0].data_type == "s" and cells[0].value == payload.replace("\r", "\n")
    assert cells[0].quotePrefix
    assert cells[1].value == 3 and cells[1].data_type == "n"
    assert cells[3].value == "王建国"  # control character dropped, export still written


def _sales(harness: BotHarness, fake, calls: int = 2) -> None:  # type: ignore[no-untyped-def]
    now = harness.clock.now()
    with harness.services.db.session() as s:
        uid = people.find_user(s, fake.id).id  # type: ignore[union-attr]
        client = factories.client(s, advisor_id=uid, now=now, name=f"客{uid}")
        for i in range(calls):
            s.add(Interaction(client_id=client.id, advisor_id=uid, channel="phone",
                              outcome="sale" if i == 0 else "no_answer",
                              amount=Decimal(10_000) if i == 0 else None,
                              occurred_at=now - timedelta(minutes=5), created_at=now))


def _formula_cells(book) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{sheet.title}!{cell.coordinate}" for sheet in book.worksheets
            for row in sheet.iter_rows() for cell in row
            if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value[:1] in
                                          "=+-@\t\r\n" and not cell.quotePrefix)]


async def test_team_worklog_excel_keeps_names_as_text(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    for i, payload in enumerate(PAYLOADS):
        _sales(harness, harness.person("advisor", team="Alpha", name=payload,
                                       telegram_id=9100 + i))
    doc = (await harness.chat(lead).send("/log_today xlsx"))[-1]
    book = _reopen(next(iter(doc.files.values())))
    names = {row[0].value for row in book["worklog"].iter_rows(min_row=3)}
    assert {p.replace("\r", "\n") for p in PAYLOADS} <= names
    assert _formula_cells(book) == []


async def test_team_report_excel_keeps_names_as_text(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    for i, payload in enumerate(PAYLOADS):
        _sales(harness, harness.person("advisor", team="Alpha", name=payload,
                                       telegram_id=9200 + i))
    replies = await harness.chat(lead).send("/report week")
    doc = next(m for m in replies if m.method == "sendDocument")
    book = _reopen(next(iter(doc.files.values())))
    names = {row[0].value for row in book["advisors"].iter_rows(min_row=2)}
    assert {p.replace("\r", "\n") for p in PAYLOADS} <= names
    assert _formula_cells(book) == []
