"""The team's end-of-day work log as an Excel file (one sheet per view)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

__all__ = ["COLUMNS", "OUTCOMES", "team_worklog_xlsx"]

COLUMNS = ("advisor", "calls", "target", "meetings", "sales", "sales_amount",
           "followups_created", "overdue")
OUTCOMES = ("no_answer", "interested_thinking", "meeting_booked", "soft_decline",
            "firm_decline", "sale", "not_suitable", "other")


def team_worklog_xlsx(day: date, logs: Sequence[Any], *, headers: Mapping[str, str]) -> bytes:
    """Sheet "worklog": title, header row, one row per advisor, totals; sheet "outcomes":
    outcome counts per advisor. ``headers`` maps column and outcome codes (and "title",
    "total") to display labels; a missing label falls back to the code."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from coach.reports.xlsx import append_row

    book = Workbook()
    sheet = book.active
    sheet.title = "worklog"
    append_row(sheet, [f"{headers.get('title', 'Work log')} {day.isoformat()}"])
    append_row(sheet, [headers.get(c, c) for c in COLUMNS])
    for log in logs:
        append_row(sheet, [log.name, log.calls, log.target, log.meetings, log.sales,
                      float(log.sales_amount), log.followups_created, log.overdue])
    append_row(sheet, [headers.get("total", "total"), sum(g.calls for g in logs),
                  sum(g.target for g in logs), sum(g.meetings for g in logs),
                  sum(g.sales for g in logs), float(sum(g.sales_amount for g in logs)),
                  sum(g.followups_created for g in logs), sum(g.overdue for g in logs)])
    for cell in sheet[1] + sheet[2] + sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEFGH", (14, 8, 8, 10, 8, 14, 12, 10), strict=True):
        sheet.column_dimensions[column].width = width
    outcomes = book.create_sheet("outcomes")
    append_row(outcomes, [headers.get("advisor", "advisor"),
                          *(headers.get(o, o) for o in OUTCOMES)])
    for log in logs:
        append_row(outcomes, [log.name, *(log.outcomes.get(o, 0) for o in OUTCOMES)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
