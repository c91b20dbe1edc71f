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
from collections.abc import Iterable

__all__ = ["COMPOUND_SURNAMES", "mask_name", "mask_phone", "redact_for_log"]

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


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    # Longest first so "王建国" wins over a shorter known name such as "王建".
    unique = {n.strip() for n in names if n and len(n.strip()) >= 2}
    if not unique:
        return None
    parts = []
    for name in sorted(unique, key=len, reverse=True):
        escaped = re.escape(name)
        # Latin names must stand alone as words ("Chen" must not eat "Cheng").
        parts.append(escaped if _is_han(name[0]) else rf"(?<![A-Za-z]){escaped}(?![A-Za-z])")
    return re.compile("|".join(parts), re.IGNORECASE)


def _mask_phone_match(match: re.Match[str]) -> str:
    phone = match.group("phone")
    return mask_phone(phone) if phone else match.group(0)


def redact_for_log(text: str | None, names: Iterable[str] = ()) -> str:
    """``text`` with the given client names and phone-like numbers masked."""
    if not text:
        return ""
    pattern = _name_pattern(names)
    if pattern is not None:
        text = pattern.sub(lambda m: mask_name(m.group(0)), text)
    return _DIGIT_RUNS.sub(_mask_phone_match, text)
