"""A team export (:mod:`coach.services.team_export`) as an Excel workbook or JSON text.

The workbook has one sheet per list (clients, contacts, follow-ups), a header row
of column codes and one row per record. Every string a person typed (names, notes,
products) goes through :func:`coach.reports.xlsx.append_row`, so it is a text cell
and never a formula; amounts are numbers, dates ISO text.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

from coach.services.team_export import (
    CLIENT_COLUMNS,
    CONTACT_COLUMNS,
    FOLLOWUP_COLUMNS,
    TeamExport,
)

__all__ = ["export_json", "export_xlsx"]

AMOUNT_COLUMNS = frozenset({"aum", "amount"})


def _cell(column: str, value: Any) -> Any:
    if column in AMOUNT_COLUMNS and isinstance(value, str):
        return Decimal(value)  # exact: openpyxl writes a Decimal as a number
    return value


def export_xlsx(export: TeamExport) -> bytes:
    """Sheets "clients", "contacts", "followups"."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from coach.reports.xlsx import append_row

    book = Workbook()
    first = True
    for title, columns, rows in (("clients", CLIENT_COLUMNS, export.clients),
                                 ("contacts", CONTACT_COLUMNS, export.contacts),
                                 ("followups", FOLLOWUP_COLUMNS, export.followups)):
        sheet = book.active if first else book.create_sheet(title)
        first = False
        sheet.title = title
        append_row(sheet, columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            append_row(sheet, [_cell(c, row[c]) for c in columns])
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_json(export: TeamExport) -> str:
    """The export as one JSON document (UTF-8 text, names as typed)."""
    return json.dumps(export.as_json(), ensure_ascii=False, indent=1)
