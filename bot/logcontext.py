"""Which update is being handled (context variables) and the JSON-lines log format.

:class:`bot.app.CoachApplication` sets :data:`update_id` for each update and the
``named`` handler wrapper sets :data:`handler`; both are per asyncio task, so
concurrent updates never see each other's values. ``LOG_FORMAT=json`` makes every
log line one JSON object (:class:`JsonFormatter`) carrying them.

Redaction (:mod:`bot.logfilter`) rewrites each record when it is created, before any
handler formats it; the JSON formatter only serialises what is left, and redacts a
record that was built some other way before writing it.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = ["update_id", "handler", "outcome", "JsonFormatter"]

update_id: ContextVar[int | None] = ContextVar("coach_update_id", default=None)
handler: ContextVar[str | None] = ContextVar("coach_handler", default=None)
# "ok" unless the error handler ran for this update ("error")
outcome: ContextVar[str] = ContextVar("coach_outcome", default="ok")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, update_id, handler, latency_ms."""

    def format(self, record: logging.LogRecord) -> str:
        from bot import logfilter

        message = record.getMessage()
        redacted = getattr(record, "_redacted", False)
        if not redacted:  # a record made without the redacting factory
            message = logfilter.redact(message)
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        current_update = getattr(record, "update_id", None) or update_id.get()
        if current_update is not None:
            entry["update_id"] = current_update
        current_handler = getattr(record, "handler", None) or handler.get()
        if current_handler:
            entry["handler"] = current_handler
        latency = getattr(record, "latency_ms", None)
        if latency is not None:
            entry["latency_ms"] = latency
        if record.exc_text:
            entry["exc"] = record.exc_text if redacted else logfilter.redact(record.exc_text)
        elif record.exc_info:
            entry["exc"] = logfilter.redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = (record.stack_info if redacted
                              else logfilter.redact(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
