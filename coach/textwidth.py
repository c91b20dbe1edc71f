"""Display width of text in a monospace block on a phone, and cells cut to fit it.

Telegram shows a ``<pre>`` block in a monospace font where a Chinese character,
a full-width sign or most emoji take two columns and a combining mark none.
:mod:`wcwidth` knows the Unicode tables for that; this module wraps it so every
table the bot draws (``/team``, the team work log) pads and cuts the same way.
A phone held upright shows about :data:`PHONE_COLUMNS` columns.
"""

from __future__ import annotations

from wcwidth import wcswidth, wcwidth

__all__ = ["ELLIPSIS", "PHONE_COLUMNS", "fit", "truncate", "width"]

PHONE_COLUMNS = 32
ELLIPSIS = "…"


def _char_width(ch: str) -> int:
    # control characters report -1: they have no place in a table, count them as nothing
    return max(wcwidth(ch), 0)


def width(text: str) -> int:
    """Columns ``text`` takes in a monospace font (CJK characters count two)."""
    total = wcswidth(text)
    return total if total >= 0 else sum(_char_width(ch) for ch in text)


def truncate(text: str, cols: int) -> str:
    """``text`` if it fits in ``cols`` columns, else cut by width and ended with "…"."""
    if width(text) <= cols:
        return text
    if cols <= 0:
        return ""
    room, out, used = cols - width(ELLIPSIS), [], 0
    for ch in text:
        w = _char_width(ch)
        if used + w > room:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def fit(value: object, cols: int, align: str = "<") -> str:
    """``value`` cut to ``cols`` columns (with "…") and padded to exactly that many.

    ``align``: "<" pads on the right (names), ">" on the left (numbers).
    """
    text = truncate(str(value), cols)
    pad = " " * (cols - width(text))
    return pad + text if align == ">" else text + pad
