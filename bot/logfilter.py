"""Keep secrets and client data out of every log line and traceback.

Every record from every logger (ours, PTB's, httpx's, APScheduler's, at any
level) is redacted when it is created: :func:`install` puts a log-record
factory in place, plus a filter on the root handlers and on the library loggers
for records built some other way. Redaction removes

* the bot token and any other registered secret (:func:`add_secret`), and
  anything shaped like a bot token (``123456:AA…``), for instance inside a
  request URL ``/bot<token>/getMe`` or an ``InvalidToken`` message;
* client names (:func:`attach_names`; a name saved by this process is masked
  from the moment it is flushed, the full list is re-read every few minutes);
* phone-like numbers (:func:`coach.privacy.redact_for_log`).

Uncaught exceptions go through :func:`redacting_excepthook` so a crash report
cannot print the token either.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from coach.privacy import NameMasker, redact_for_log

__all__ = ["RedactingFilter", "add_secret", "attach_names", "install", "redact",
           "redacting_excepthook", "remember_names"]

NameSource = Callable[[], Iterable[str]]
LIBRARY_LOGGERS = ("httpx", "httpcore", "telegram", "telegram.ext", "apscheduler")
# Telegram bot tokens: digits, a colon, 30+ URL-safe characters
_TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")
_HIDDEN = "<secret>"


class RedactingFilter(logging.Filter):
    """Rewrites records in place; never drops one."""

    def __init__(self, names: NameSource | None = None, refresh_seconds: float = 300) -> None:
        super().__init__()
        self._source = names
        self._refresh = refresh_seconds
        self._masker = NameMasker()
        self._loaded_at = -float("inf")
        self._lock = threading.Lock()
        self._secrets: list[str] = []

    def set_source(self, names: NameSource | None) -> None:
        with self._lock:
            self._source, self._loaded_at = names, -float("inf")
            self._masker.replace(())

    def remember(self, names: Iterable[str | None]) -> None:
        """Mask these names from now on (a client just saved), without waiting for a re-read."""
        self._masker.add(names)

    def add_secret(self, secret: str | None) -> None:
        if secret and len(secret) >= 6 and secret not in self._secrets:
            self._secrets.append(secret)

    def _current(self) -> NameMasker:
        if self._source is None:
            return self._masker
        now = time.monotonic()
        if now - self._loaded_at > self._refresh:
            with self._lock:
                self._loaded_at = now  # first, so a logging source cannot recurse
                try:
                    fresh = list(self._source())
                except Exception:  # noqa: BLE001 - a broken source must not break logging
                    fresh = None
                if fresh is not None:
                    self._masker.add(fresh)  # never drop names remembered in between
        return self._masker

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _HIDDEN)
        text = _TOKEN_SHAPE.sub(_HIDDEN, text)
        return redact_for_log(text, self._current())

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - keep the raw text rather than lose the line
            message = str(record.msg)
        record.msg, record.args = self.redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        record._redacted = True
        return True


_FILTER = RedactingFilter()
_installed = False


def _factory_for(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        _FILTER.filter(record)
        return record

    make._coach_redacting = True  # type: ignore[attr-defined]
    return make


def install(logger: logging.Logger | None = None) -> RedactingFilter:
    """Redact every record of every logger; also filter the handlers of ``logger`` (root)."""
    global _installed
    if not _installed:
        current = logging.getLogRecordFactory()
        if not getattr(current, "_coach_redacting", False):
            logging.setLogRecordFactory(_factory_for(current))
        for name in LIBRARY_LOGGERS:
            lib = logging.getLogger(name)
            if _FILTER not in lib.filters:
                lib.addFilter(_FILTER)
        sys.excepthook = redacting_excepthook
        _installed = True
    for handler in (logger or logging.getLogger()).handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    return _FILTER


def redact(text: str) -> str:
    """``text`` as it may be printed: secrets, client names and phones masked."""
    return _FILTER.redact(text)


def add_secret(secret: str | None) -> None:
    """Never print this value (the bot token) in any log line or crash report."""
    _FILTER.add_secret(secret)


def attach_names(names: NameSource | None) -> None:
    """Also mask these client names (re-read every few minutes) from now on."""
    _FILTER.set_source(names)
    if names is not None:
        _watch_client_names()


def remember_names(names: Iterable[str | None]) -> None:
    """Mask these names from now on (called when clients are saved)."""
    _FILTER.remember(names)


def redacting_excepthook(kind: type[BaseException], value: BaseException,
                         tb: TracebackType | None) -> None:
    """Print an uncaught exception like Python does, but redacted."""
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(redact(text))


_watching = False


def _watch_client_names() -> None:
    """Mask a client's name from the flush that saves it (not minutes later)."""
    global _watching
    if _watching:
        return
    from sqlalchemy import event

    from storage.models import Client

    def saved(_mapper: Any, _connection: Any, target: Client) -> None:
        remember_names([target.name])

    event.listen(Client, "after_insert", saved)
    event.listen(Client, "after_update", saved)
    _watching = True


def client_names_from(db: object) -> NameSource:
    """A name source reading the client names of ``db`` (a :class:`storage.db.Database`)."""

    def read() -> list[str]:
        from sqlalchemy import select

        from storage.models import Client

        with db.session() as s:  # type: ignore[attr-defined]
            return list(s.scalars(select(Client.name).where(Client.forgotten.is_(False))))

    return read
