"""Housekeeping the jobs ask for: drop bookkeeping rows nobody needs any more."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.models import ProcessedUpdate

__all__ = ["prune_processed_updates"]


def prune_processed_updates(session: Session, *, before: datetime) -> int:
    """Forget the Telegram update ids handled before ``before``; returns how many."""
    result = session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
