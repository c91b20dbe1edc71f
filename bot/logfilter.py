"""Keep secrets and client data out of every log line and traceback.

Every record from every logger (ours, PTB's, httpx's, APScheduler's, at any
level) is redacted when it is created: :func:`install` puts a log-record
factory in place, plus a filter on the root handlers and on the library loggers
for records built some other way. Redaction removes

* the bot token and any other registered secret (:func:`add_secret`), and
  anything shaped like a bot token (``123456:AA…``), for instance inside a
  request URL ``/bot<token>/getMe`` or an ``InvalidToken`` message;
* client names (:func:`attach_names`; a name saved by this process is masked
  from the moment it is flushed; names saved by other instances from the next
  tick, when :func:`refresh_names` sees the ``client_names`` version move and reads
  only the clients added since);
* phone-like numbers (:func:`coach.privacy.redact_for_log`).

Uncaught exceptions go through :func:`redacting_excepthook` so a crash report
cannot print the token either.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from coach.privacy import NameMasker, redact_for_log

__all__ = ["ClientNameFeed", "RedactingFilter", "add_secret", "attach_names", "install",
           "redact", "redacting_excepthook", "refresh_names", "remember_names"]

log = logging.getLogger(__name__)
LIBRARY_LOGGERS = ("httpx", "httpcore", "telegram", "telegram.ext", "apscheduler")
# Telegram bot tokens: digits, a colon, 30+ URL-safe characters
_TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")
_HIDDEN = "<secret>"


class RedactingFilter(logging.Filter):
    """Rewrites records in place; never drops one."""

    def __init__(self, names: Callable[[], Iterable[str]] | None = None) -> None:
        """``names``: client names to mask from the start (read once, here)."""
        super().__init__()
        self._masker = NameMasker(names() if names is not None else ())
        self._secrets: list[str] = []

    def forget_names(self) -> None:
        self._masker.replace(())

    def remember(self, names: Iterable[str | None]) -> None:
        """Mask these names from now on (a client just saved), without waiting for a re-read."""
        self._masker.add(names)

    def extend(self, names: Iterable[str | None]) -> None:
        """Mask these names too, building the automaton now (raises if the build fails,
        the names masked before staying masked)."""
        self._masker.extend(names)

    def add_secret(self, secret: str | None) -> None:
        if secret and len(secret) >= 6 and secret not in self._secrets:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _HIDDEN)
        text = _TOKEN_SHAPE.sub(_HIDDEN, text)
        return redact_for_log(text, self._masker)

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


class ClientNameFeed:
    """The client names of one database, read again only when they changed.

    :meth:`read` compares the ``client_names`` version (one small query) with the one
    last applied and, when it moved, reads the clients added since (by id: clients
    are added in commit order, see :mod:`storage.versions`). :meth:`applied` records
    what was read once the names are in the automaton, so a failed build is read
    again at the next refresh.
    """

    def __init__(self, db: object) -> None:
        self.db = db
        self.version = -1
        self.last_id = 0

    def read(self) -> tuple[int, int, list[str]] | None:
        """``(version, last id, names added)``; None when nothing changed."""
        from sqlalchemy import select

        from storage import versions
        from storage.models import Client

        with self.db.session() as s:  # type: ignore[attr-defined]
            version = versions.current(s)[versions.CLIENT_NAMES]
            if version == self.version:
                return None
            rows = s.execute(select(Client.id, Client.name)
                             .where(Client.id > self.last_id, Client.forgotten.is_(False))
                             .order_by(Client.id)).all()
        last = max((row[0] for row in rows), default=self.last_id)
        return version, last, [row[1] for row in rows]

    def applied(self, version: int, last_id: int) -> None:
        self.version, self.last_id = version, last_id


_FEED: ClientNameFeed | None = None


def refresh_names() -> int | None:
    """Bring the masked names up to date (each tick); how many were added.

    None when the names could not be read or the automaton not built: the names
    masked before stay masked, and the next tick tries again.
    """
    feed = _FEED
    if feed is None:
        return 0
    try:
        found = feed.read()
    except Exception as err:  # noqa: BLE001 - the database may be down; logging goes on
        log.warning("client names not refreshed: %s", type(err).__name__)
        return None
    if found is None:
        return 0
    version, last_id, names = found
    try:
        _FILTER.extend(names)
    except Exception as err:  # noqa: BLE001 - e.g. MemoryError: keep the old automaton
        _FILTER.remember(names)  # still masked: tried again in the next log call
        log.warning("client name automaton not rebuilt: %s", type(err).__name__)
        return None
    feed.applied(version, last_id)
    return len(names)


def attach_names(feed: ClientNameFeed | None) -> None:
    """Mask the client names of ``feed``'s database from now on (read now, then each tick)."""
    global _FEED
    _FEED = feed
    _FILTER.forget_names()
    if feed is not None:
        _watch_client_names()
        refresh_names()


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


def client_names_from(db: object) -> ClientNameFeed:
    """The client names of ``db`` (a :class:`storage.db.Database`), for :func:`attach_names`."""
    return ClientNameFeed(db)
