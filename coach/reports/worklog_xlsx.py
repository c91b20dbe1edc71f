"""The team's end-of-day work log as an Excel file (one sheet per view)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

__all__ = ["team_worklog_xlsx"]

OUTCOMES = ("no_answer", "interested_thinking", "meeting_booked", "soft_decline",
            "firm_decline", "sale", "not_suitable", "other")


def team_worklog_xlsx(day: date, logs: Sequence[Any], *, headers: dict[str, str]) -> bytes:
    """Sheet "worklog": one row per advisor plus totals; sheet "outcomes": outcome counts."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "worklog"
    columns = ["advisor", "calls", "target", "meetings", "sales", "sales_amount",
               "followups_created", "overdue"]
    sheet.append([f"{headers.get('title', 'Work log')} {day.isoformat()}"])
    sheet.append([headers.get(c, c) for c in columns])
    for log in logs:
        sheet.append([log.name, log.calls, log.target, log.meetings, log.sales,
                      float(log.sales_amount), log.followups_created, log.overdue])
    sheet.append([headers.get("total", "total"), sum(g.calls for g in logs),
                  sum(g.target for g in logs), sum(g.meetings for g in logs),
                  sum(g.sales for g in logs), float(sum(g.sales_amount for g in logs)),
                  sum(g.followups_created for g in logs), sum(g.overdue for g in logs)])
    for cell in sheet[2] + sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    outcomes = book.create_sheet("outcomes")
    outcomes.append(["advisor", *OUTCOMES])
    for log in logs:
        outcomes.append([log.name, *(log.outcomes.get(o, 0) for o in OUTCOMES)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
