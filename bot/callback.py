"""The one parser of button (callback) data, and the matching builder.

Every inline button the bot draws carries short ASCII data such as ``cl 42`` or
``rf no 7 busy``: a prefix of one or more words, then fields separated by single
spaces. Telegram sends that data back untouched, but anyone can craft a callback
query with arbitrary data, so every button handler reads it through
:func:`parse`, which returns ``None`` for anything that is not exactly what the
handler expects:

* the prefix must match word for word;
* the number of fields must match (trailing fields may be optional);
* an :data:`ID` is ASCII digits only (``'²'.isdigit()`` is true in Python and
  ``int('٣')`` is 3: neither is accepted), without sign or leading zero, within
  ``1 .. 2**63 - 1`` so no out-of-range integer ever reaches the database;
* an :data:`INDEX` is a small non-negative ASCII integer (a page, a position);
* a :func:`one_of` field is one of the listed words; a :data:`TOKEN` is a
  short ASCII identifier (script ids, reasons, times).

:func:`data` builds button data from the same pieces and refuses anything a
parser would not read back or that is over Telegram's 64-byte limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coach.digits import MAX_ID, ascii_int, is_ascii_digits

__all__ = ["ID", "INDEX", "MAX_BYTES", "MAX_ID", "MAX_INDEX", "TOKEN", "Field", "ascii_int", "data",
           "is_ascii_digits", "matches", "one_of", "parse"]

MAX_BYTES = 64  # Telegram: callback_data is 1-64 bytes
MAX_INDEX = 10_000
_TOKEN = re.compile(r"[A-Za-z0-9_.:\-]{1,48}")


@dataclass(frozen=True)
class Field:
    """One position of button data: ``read`` turns the text into a value or ``None``."""

    name: str
    read: Callable[[str], Any]


def _read_id(text: str) -> int | None:
    if text.startswith("0"):
        return None
    return ascii_int(text, low=1)


ID = Field("id", _read_id)
INDEX = Field("index", lambda text: ascii_int(text, high=MAX_INDEX))
TOKEN = Field("token", lambda text: text if _TOKEN.fullmatch(text) else None)


def one_of(*words: str) -> Field:
    """A field that must be one of ``words`` (returned as is)."""
    allowed = frozenset(words)
    return Field("|".join(words), lambda text: text if text in allowed else None)


def parse(raw: str | None, prefix: str, *fields: Field,
          optional: int = 0) -> tuple[Any, ...] | None:
    """The values of ``fields`` after ``prefix`` in ``raw``, or ``None`` if it does not fit.

    ``optional`` trailing fields may be absent; they are then ``None`` in the result, so
    the tuple always has ``len(fields)`` items. Example::

        parse("rf no 7 busy", "rf no", ID, TOKEN, optional=1)  # (7, "busy")
        parse("rf no 7", "rf no", ID, TOKEN, optional=1)       # (7, None)
        parse("rf no ²", "rf no", ID)                          # None
    """
    if not raw or len(raw.encode("utf-8", "surrogatepass")) > MAX_BYTES or not raw.isascii():
        return None
    head = prefix.split(" ")
    parts = raw.split(" ")
    if parts[:len(head)] != head:
        return None
    rest = parts[len(head):]
    if not len(fields) - optional <= len(rest) <= len(fields):
        return None
    values: list[Any] = []
    for field, text in zip(fields, rest, strict=False):
        value = field.read(text)
        if value is None:
            return None
        values.append(value)
    return (*values, *([None] * (len(fields) - len(rest))))


def matches(prefix: str, *fields: Field, optional: int = 0) -> Callable[[object], bool]:
    """A ``CallbackQueryHandler(pattern=...)`` predicate: data :func:`parse` accepts."""

    def check(raw: object) -> bool:
        return isinstance(raw, str) and parse(raw, prefix, *fields, optional=optional) is not None

    return check


def data(prefix: str, *values: object) -> str:
    """Button data ``prefix v1 v2 …``; raises ``ValueError`` if it would not fit or parse."""
    text = " ".join([prefix, *(str(v) for v in values)])
    if any(" " in str(v) or not str(v) for v in values) or not text.isascii():
        raise ValueError(f"callback data must be ASCII words: {text!r}")
    if len(text.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {text!r}")
    return text
