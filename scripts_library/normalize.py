"""Text normalisation shared by search and role-play scoring.

Traditional Chinese is folded to Simplified, full-width characters to
half-width, letters to lower case, and punctuation and emoji to spaces, so that
"手續費太貴！！" and "手续费太贵" compare equal.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

__all__ = ["MAX_QUERY_CHARS", "normalize", "to_simplified"]

MAX_QUERY_CHARS = 4000

_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """Fold Traditional Chinese (Taiwan or Hong Kong) to Simplified."""
    return _t2s().convert(text) if text else text


@lru_cache(maxsize=65536)
def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    # letters, digits and a few symbols that carry meaning in money talk
    return cat[0] in ("L", "N") or ch in "%.+-/:$¥"


class _KeepTable(dict[int, int]):
    """``str.translate`` table: a kept character maps to itself, any other to a space.

    Filled lazily, one entry per distinct character, so a long text costs one C-level
    pass instead of a Python call per character.
    """

    def __missing__(self, codepoint: int) -> int:
        value = codepoint if _keep(chr(codepoint)) else 0x20
        self[codepoint] = value
        return value


_KEEP_TABLE = _KeepTable()


def normalize(text: str | None) -> str:
    """Return the canonical search form of ``text`` (may be empty)."""
    if not text:
        return ""
    text = text[:MAX_QUERY_CHARS]
    text = unicodedata.normalize("NFKC", text)  # full-width → half-width
    text = to_simplified(text).lower()
    text = text.translate(_KEEP_TABLE)
    return _SPACES.sub(" ", text).strip()
