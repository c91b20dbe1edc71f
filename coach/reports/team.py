"""Team report files: a PNG chart and an Excel workbook (bytes in, bytes out)."""

from __future__ import annotations

import io
from typing import Any

from coach.reports.fonts import font_families, label

__all__ = ["team_chart_png", "team_report_xlsx", "CHART_SIZE"]

CHART_SIZE = (1200, 800)


def team_chart_png(report: Any, *, titles: dict[str, str]) -> bytes:
    """Calls and sales per advisor (bars) and the daily trend (lines)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    style: dict[Any, Any] = {"axes.unicode_minus": False, "font.family": "sans-serif",
                             "font.sans-serif": font_families()}
    dpi = 100
    # the object API (no pyplot): no global figure state, safe off the event loop
    with rc_context(style):
        fig = Figure(figsize=(CHART_SIZE[0] / dpi, CHART_SIZE[1] / dpi), dpi=dpi)
        top, bottom = fig.subplots(2, 1)
        _draw_team(report, titles, top, bottom)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _draw_team(report: Any, titles: dict[str, str], top: Any, bottom: Any) -> None:
    names = [label(a.name) for a in report.advisors] or ["-"]
    xs = range(len(names))
    calls = [a.calls for a in report.advisors] or [0]
    sales = [a.sales for a in report.advisors] or [0]
    top.bar([x - 0.2 for x in xs], calls, width=0.4, label=label(titles["calls"]))
    top.bar([x + 0.2 for x in xs], sales, width=0.4, label=label(titles["sales"]))
    top.set_xticks(list(xs), names)
    top.set_title(label(titles["per_advisor"]))
    top.legend()
    days = [d.strftime("%m-%d") for d, _, _ in report.daily]
    bottom.plot(days, [c for _, c, _ in report.daily], marker="o", label=label(titles["calls"]))
    bottom.plot(days, [s for _, _, s in report.daily], marker="o", label=label(titles["sales"]))
    bottom.set_title(label(titles["per_day"]))
    bottom.tick_params(axis="x", labelrotation=45)
    bottom.legend()


def team_report_xlsx(report: Any, *, headers: dict[str, str]) -> bytes:
    """One sheet per view, for the monthly review.

    advisors (totals per advisor and a total row), daily (calls and sales per day),
    referrals (per referrer, by outcome), referrals_daily (referrer × day), practice
    (sessions and assignments), complaints (this month, when the compliance module counts
    them).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from coach.reports.xlsx import append_row

    book = Workbook()
    advisors = book.active
    advisors.title = "advisors"
    append_row(advisors, [headers[k] for k in ("advisor", "calls", "meetings", "sales", "amount",
                                          "overdue")])
    for a in report.advisors:
        append_row(advisors, [a.name, a.calls, a.meetings, a.sales, float(a.amount), a.overdue])
    append_row(advisors, [headers["total"], *(sum(getattr(a, k) for a in report.advisors)
                                         for k in ("calls", "meetings", "sales")),
                     float(sum(a.amount for a in report.advisors)),
                     sum(a.overdue for a in report.advisors)])
    for cell in advisors[advisors.max_row]:
        cell.font = Font(bold=True)
    for row in advisors.iter_rows(min_row=2, min_col=5, max_col=5):
        row[0].number_format = "#,##0"
    daily = book.create_sheet("daily")
    append_row(daily, [headers["day"], headers["calls"], headers["sales"]])
    for day, calls, sales in report.daily:
        append_row(daily, [day.isoformat(), calls, sales])
    referrals = book.create_sheet("referrals")
    append_row(referrals, [headers[k] for k in ("referrer", "referrals", "accepted", "declined",
                                           "pending")])
    for r in report.referrers:
        append_row(referrals, [r.name, r.total, r.accepted, r.declined, r.pending])
    per_day = book.create_sheet("referrals_daily")
    days = [day for day, _, _ in report.daily]
    append_row(per_day, [headers["referrer"], *(d.strftime("%m-%d") for d in days),
                    headers["total"]])
    for r in report.referrers:
        append_row(per_day, [r.name, *(r.per_day.get(d, 0) for d in days), r.total])
    practice = book.create_sheet("practice")
    append_row(practice, [headers["advisor"], headers["sessions"], headers["average"],
                     headers["assigned_done"], headers["assigned_open"]])
    for a in report.advisors:
        append_row(practice, [a.name, a.practice, a.practice_avg, a.assignments_done,
                         a.assignments_open])
    if report.complaints is not None:
        counts = report.complaints
        complaints = book.create_sheet("complaints")
        append_row(complaints, [headers["complaints"], headers["count"]])
        append_row(complaints, [headers["received"], counts.received])
        append_row(complaints, [headers["resolved"], counts.resolved])
        append_row(complaints, [headers["still_open"], counts.still_open])
        for category, n in counts.by_category.items():
            append_row(complaints, [category, n])
    for sheet in book.worksheets:
        sheet.freeze_panes = "B2"
        sheet.column_dimensions["A"].width = 16
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
