"""A logging filter that keeps client data out of every log line and traceback.

Each record's message (with its arguments) and formatted exception pass through
:func:`coach.privacy.redact_for_log`: phone-like numbers are always masked, and
client names too once a name source is attached (:func:`attach_names`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from coach.privacy import redact_for_log

__all__ = ["RedactingFilter", "attach_names", "install"]

NameSource = Callable[[], Iterable[str]]


class RedactingFilter(logging.Filter):
    """Rewrites records in place; never drops one."""

    def __init__(self, names: NameSource | None = None, refresh_seconds: float = 300) -> None:
        super().__init__()
        self._source = names
        self._refresh = refresh_seconds
        self._names: list[str] = []
        self._loaded_at = -float("inf")
        self._lock = threading.Lock()

    def set_source(self, names: NameSource | None) -> None:
        with self._lock:
            self._source, self._names, self._loaded_at = names, [], -float("inf")

    def _current_names(self) -> list[str]:
        if self._source is None:
            return []
        now = time.monotonic()
        if now - self._loaded_at > self._refresh:
            with self._lock:
                try:
                    self._names = [n for n in self._source() if n]
                except Exception:  # noqa: BLE001 - a broken source must not break logging
                    self._names = []
                self._loaded_at = now
        return self._names

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        names = self._current_names()
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - keep the raw text rather than lose the line
            message = str(record.msg)
        record.msg, record.args = redact_for_log(message, names), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_for_log(record.exc_text, names)
        if record.stack_info:
            record.stack_info = redact_for_log(record.stack_info, names)
        record._redacted = True
        return True


_FILTER = RedactingFilter()


def install(logger: logging.Logger | None = None) -> RedactingFilter:
    """Put the filter on every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    return _FILTER


def attach_names(names: NameSource | None) -> None:
    """Also mask these client names (re-read every few minutes) from now on."""
    _FILTER.set_source(names)


def client_names_from(db: object) -> NameSource:
    """A name source reading the client names of ``db`` (a :class:`storage.db.Database`)."""

    def read() -> list[str]:
        from sqlalchemy import select

        from storage.models import Client

        with db.session() as s:  # type: ignore[attr-defined]
            return list(s.scalars(select(Client.name).where(Client.forgotten.is_(False))))

    return read
