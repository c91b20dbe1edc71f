"""Mask client names and phone numbers so they never reach logs or shared screens.

* :func:`mask_name`: Chinese names keep the surname (two characters for compound
  surnames such as 欧阳, 司马, 诸葛) and every other character becomes ``*``
  ("王建国" → "王**", "欧阳娜娜" → "欧阳**").  Latin names keep the first word and the rest
  becomes ``***`` ("Chen Wei" → "Chen***"); a single Latin word keeps only its first letter
  ("Madonna" → "M***") so a whole name is never shown.
* :func:`mask_phone`: only the last four digits survive, behind a fixed ``****`` so the
  length does not leak ("138-0013-8000" → "****8000").
* :func:`redact_for_log`: masks known client names and every phone-like run of seven or
  more digits (spaces, dashes, dots and a leading ``+`` may separate the digits).  ISO dates
  (2026-11-25) are left alone; other long numbers (account numbers, large amounts, user ids)
  are masked on purpose: logs should carry ids in structured fields, not in free text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

import ahocorasick

__all__ = ["COMPOUND_SURNAMES", "NameMasker", "mask_name", "mask_phone", "redact_for_log"]

# The common two-character surnames; a name starting with one keeps both characters.
_COMPOUND_SURNAMES_TEXT = """
    欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离
    端木 西门 南宫 独孤 百里 呼延 闻人 东郭 申屠 澹台 公冶 太史 仲孙 濮阳 淳于 单于
    赫连 万俟 司空 拓跋 第五 歐陽 諸葛 東方 尉遲 公孫 長孫 軒轅 鍾離 西門 獨孤
"""
COMPOUND_SURNAMES = frozenset(_COMPOUND_SURNAMES_TEXT.split())

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_NAME_SEPARATORS = frozenset("·•・.-‧ ")
# ISO dates (with an optional time) are matched first so they are kept, not masked.
_DIGIT_RUNS = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?(?!\d))"
    r"|(?<![0-9A-Za-z+])(?P<phone>\+?\d(?:[ .\-]?\d){6,})(?![0-9A-Za-z])"
)


def _is_han(ch: str) -> bool:
    return bool(_HAN.match(ch))


def mask_name(name: str | None) -> str:
    """Masked display form of a client name; ``""`` for None or blank."""
    text = (name or "").strip()
    if not text:
        return ""
    if _is_han(text[0]):
        keep = 2 if text[:2] in COMPOUND_SURNAMES and len(text) > 2 else 1
        masked = ("*" if ch not in _NAME_SEPARATORS else ch for ch in text[keep:])
        return text[:keep] + "".join(masked)
    words = text.split()
    if len(words) > 1:
        return words[0] + "***"
    return text[0] + "***"


def mask_phone(phone: str | None) -> str:
    """``"****"`` plus the last four digits; ``""`` when there are no digits at all.

    Four digits or fewer are masked completely, since showing them would show everything.
    """
    digits = [ch for ch in (phone or "") if ch.isdigit()]
    if not digits:
        return ""
    if len(digits) <= 4:
        return "****"
    return "****" + "".join(digits[-4:])


class NameMasker:
    """Masks a growing set of client names in one pass (an Aho-Corasick automaton).

    Thousands of names cost one scan per text, not one regular expression per name;
    :meth:`add` takes effect for the very next :meth:`mask` (the automaton is rebuilt
    lazily, once per batch of additions). Matching ignores case; the longest name
    wins ("王建国" over "王建"); Latin names must stand alone as words.
    """

    def __init__(self, names: Iterable[str | None] = ()) -> None:
        self._names: set[str] = set()
        self._automaton: ahocorasick.Automaton | None = None
        self._lock = threading.Lock()
        self.add(names)

    def __len__(self) -> int:
        return len(self._names)

    def add(self, names: Iterable[str | None]) -> None:
        fresh = {n.strip() for n in names if n and len(n.strip()) >= 2} - self._names
        if fresh:
            with self._lock:
                self._names |= fresh
                self._automaton = None

    def replace(self, names: Iterable[str | None]) -> None:
        """Forget every name and start from ``names`` (a full re-read of the book)."""
        with self._lock:
            self._names = set()
            self._automaton = None
        self.add(names)

    def _built(self) -> ahocorasick.Automaton | None:
        automaton = self._automaton
        if automaton is None and self._names:
            with self._lock:
                automaton = ahocorasick.Automaton()
                for name in self._names:
                    key = _fold(name)
                    if len(key) == len(name):  # folding must keep positions
                        automaton.add_word(key, len(key))
                automaton.make_automaton()
                self._automaton = automaton
        return automaton

    def mask(self, text: str) -> str:
        automaton = self._built()
        if automaton is None or not text or automaton.kind != ahocorasick.AHOCORASICK:
            return text
        folded = _fold(text)
        if len(folded) != len(text):
            folded = text
        out: list[str] = []
        last = 0
        for end, length in automaton.iter_long(folded):
            start = end - length + 1
            if start < last:
                continue
            found = text[start:end + 1]
            if not _is_han(found[0]) and (_latin_at(text, start - 1) or _latin_at(text, end + 1)):
                continue
            out += [text[last:start], mask_name(found)]
            last = end + 1
        return "".join(out) + text[last:] if out else text


def _mask_phone_match(match: re.Match[str]) -> str:
    phone = match.group("phone")
    return mask_phone(phone) if phone else match.group(0)


def _fold(text: str) -> str:
    return text.lower()


def _latin_at(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isascii() and text[index].isalpha()


def redact_for_log(text: str | None, names: Iterable[str] | NameMasker = ()) -> str:
    """``text`` with the given client names and phone-like numbers masked."""
    if not text:
        return ""
    masker = names if isinstance(names, NameMasker) else NameMasker(names)
    return _DIGIT_RUNS.sub(_mask_phone_match, masker.mask(text))
