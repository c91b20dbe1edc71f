"""iCalendar (RFC 5545) export of follow-ups, for the advisor's phone calendar."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["followups_calendar", "fold"]


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets (continuation lines start with a space)."""
    out: list[str] = []
    current = b""
    for ch in line:
        encoded = ch.encode()
        limit = 75 if not out else 74
        if len(current) + len(encoded) > limit:
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def followups_calendar(items: Iterable[Any], *, now: datetime,
                       reason_text: Callable[[str], str],
                       name_text: Callable[[str], str] | None = None) -> bytes:
    """One VEVENT per follow-up (15 minutes, UTC times); ``items`` have id, client_name,
    reason, due_at. ``name_text`` transforms client names (e.g. masks them)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Advisor Coach//Follow-ups//ZH",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    for item in items:
        name = name_text(item.client_name) if name_text else item.client_name
        lines += [
            "BEGIN:VEVENT",
            f"UID:followup-{item.id}@advisor-coach",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(item.due_at)}",
            f"DTEND:{_stamp(item.due_at + timedelta(minutes=15))}",
            f"SUMMARY:{_escape(f'{name} · {reason_text(item.reason)}')}",
            "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT10M",
            f"DESCRIPTION:{_escape(name)}", "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode()
