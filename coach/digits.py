"""ASCII-only number checks for anything a person typed or a file carried.

``str.isdigit`` is true for ``'²'``, ``'①'`` and other digits ``int()`` cannot read,
and ``int()`` itself accepts ``'٣'``, ``'１２'`` and surrounding spaces. Ids, amounts
and counts that reach the database or a date go through these instead.
"""

from __future__ import annotations

__all__ = ["MAX_ID", "ascii_int", "is_ascii_digits"]

MAX_ID = 2**63 - 1  # the largest BIGINT; also the largest SQLite INTEGER


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty run of ``0-9`` only."""
    return bool(text) and text.isascii() and text.isdigit()


def ascii_int(text: str, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """``text`` (spaces around allowed) as an int in ``low..high`` if it is ASCII digits, else None.

    At most 19 digits are read, so no huge number is ever converted.
    """
    text = text.strip()
    if not is_ascii_digits(text) or len(text) > 19:
        return None
    value = int(text)
    return value if low <= value <= high else None
