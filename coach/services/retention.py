"""Data retention: rows that are only kept for a while are pruned (audit rows archived first).

Three kinds of rows grow with use and are not needed for ever:

* processed update ids (the duplicate check): ``PROCESSED_UPDATES_KEEP_HOURS``, 48;
  Telegram keeps undelivered updates 24 h, so older ids can never come back;
* script events (shown / 👍 / 👎 / no match, for ``coach scripts report``):
  ``SCRIPT_EVENTS_KEEP_DAYS``, 400 (a year of reports, plus a month);
* audit rows (``access_audit``: who opened someone else's client card;
  ``staff_audit``: who was disabled, enabled, removed): ``AUDIT_KEEP_DAYS``, 2557
  (seven years). When ``AUDIT_ARCHIVE_DIR`` is set, each audit row is appended to
  ``<dir>/<table>.jsonl`` (one JSON object a line, with its id) before it is deleted;
  otherwise audit rows past the period are just deleted.

Rows are deleted in batches of :data:`BATCH`, one short transaction each, so a first
prune of a large table never holds the database (SQLite's busy timeout) for long.
Two instances pruning at once is harmless: a row is deleted once; an archived row may
then appear twice in an archive (same id).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from storage.db import Database
from storage.models import AccessAudit, Base, ProcessedUpdate, ScriptEvent, StaffAudit

__all__ = ["BATCH", "KINDS", "Retention", "count_expired", "jsonl_archive", "prune_expired"]

BATCH = 5000
# kind -> (model, its time column, archived before deletion?)
KINDS: dict[str, tuple[type[Base], str, bool]] = {
    "processed_updates": (ProcessedUpdate, "processed_at", False),
    "script_events": (ScriptEvent, "created_at", False),
    "access_audit": (AccessAudit, "created_at", True),
    "staff_audit": (StaffAudit, "created_at", True),
}
Archive = Callable[[str, list[dict[str, Any]]], None]


@dataclass(frozen=True)
class Retention:
    """How long each kind of row is kept."""

    processed_updates: timedelta = timedelta(hours=48)
    script_events: timedelta = timedelta(days=400)
    audit: timedelta = timedelta(days=2557)

    @classmethod
    def from_settings(cls, settings: Any) -> Retention:
        return cls(processed_updates=timedelta(hours=settings.processed_updates_keep_hours),
                   script_events=timedelta(days=settings.script_events_keep_days),
                   audit=timedelta(days=settings.audit_keep_days))

    def cutoff(self, kind: str, now: datetime) -> datetime:
        """Rows of ``kind`` older than this are expired."""
        period = {"processed_updates": self.processed_updates,
                  "script_events": self.script_events}.get(kind, self.audit)
        return now - period


def count_expired(db: Database, retention: Retention, *, now: datetime) -> dict[str, int]:
    """How many rows of each kind a prune would remove now (``coach prune --dry-run``)."""
    counts = {}
    with db.session() as s:
        for kind, (model, column, _archived) in KINDS.items():
            when = getattr(model, column)
            counts[kind] = s.scalar(select(func.count()).select_from(model)
                                    .where(when < retention.cutoff(kind, now))) or 0
    return counts


def _row(obj: Base) -> dict[str, Any]:
    """An audit row as a plain mapping, keyed by column name (for the archive)."""
    return {attr.columns[0].name: getattr(obj, attr.key)
            for attr in obj.__mapper__.column_attrs}


def prune_expired(db: Database, retention: Retention, *, now: datetime,
                  archive: Archive | None = None,
                  kinds: tuple[str, ...] = tuple(KINDS)) -> dict[str, int]:
    """Delete expired rows in short batches; audit rows go to ``archive`` first (if given).

    Returns how many rows of each kind were deleted.
    """
    deleted: dict[str, int] = {}
    for kind in kinds:
        model, column, archived = KINDS[kind]
        when = getattr(model, column)
        ident = model.__mapper__.primary_key[0]
        cutoff = retention.cutoff(kind, now)
        deleted[kind] = 0
        while True:
            with db.session() as s:
                if archived and archive is not None:
                    rows = s.scalars(select(model).where(when < cutoff)
                                     .order_by(ident).limit(BATCH)).all()
                    if not rows:
                        break
                    archive(kind, [_row(r) for r in rows])  # written before the delete commits
                    ids = [getattr(r, ident.name) for r in rows]
                else:
                    ids = list(s.scalars(select(ident).where(when < cutoff).limit(BATCH)))
                    if not ids:
                        break
                s.execute(delete(model).where(ident.in_(ids)))
            deleted[kind] += len(ids)
            if len(ids) < BATCH:
                break
    return deleted


def jsonl_archive(directory: str) -> Archive:
    """An archive appending rows to ``<directory>/<kind>.jsonl`` (synced to disk)."""
    import os
    from pathlib import Path

    folder = Path(directory)

    def write(kind: str, rows: list[dict[str, Any]]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{kind}.jsonl").open("a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    return write
