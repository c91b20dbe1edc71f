"""Every way a forgotten client's name and phone may have been written down.

Advisors type a client's name in Simplified or Traditional characters or in
pinyin ("wang jianguo", "WangJianguo", "Jianguo Wang", "wáng jiànguó"), and a
phone with spaces, dashes, brackets or a ``+86``/``0086`` prefix. ``/forget``
must sweep all of them, so :func:`needles_for` returns

* ``plain``: exact strings (the name as stored, its Traditional/Simplified
  forms, the phone as stored and as bare digits) that SQL ``replace`` can remove;
* ``patterns``: case-insensitive regular expressions for the spellings that
  exact matching cannot catch (pinyin with any spacing or case, either order;
  the phone with any separators and country prefix), each with a short
  lower-case ``hint`` that every match contains, for a cheap SQL pre-filter.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import opencc

from coach.privacy import COMPOUND_SURNAMES

__all__ = ["Needles", "needles_for"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SEP = r"[\s\-_.·•'’]*"  # what may sit between syllables or words
_PHONE_SEP = r"[\s\-.()/－（）]*"
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_MAX_READINGS = 16  # heteronyms (单 shàn/dān …): a few combinations, not an explosion


@dataclass(frozen=True)
class Pattern:
    hint: str  # lower-case text every match contains (for SQL LIKE)
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Needles:
    plain: list[str] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.plain or self.patterns)

    def scrub(self, text: str, replacement: str) -> str:
        # patterns first: they take the whole "+86 139…" where plain digits would leave "+86"
        for pattern in self.patterns:
            if pattern.hint in text.lower():
                text = pattern.regex.sub(replacement, text)
        for needle in self.plain:
            text = text.replace(needle, replacement)
        return text

    def found_in(self, text: str) -> bool:
        return self.scrub(text, "\0") != text

    def scrub_value(self, value: Any, replacement: str) -> Any:
        """``value`` (JSON-like) with every needle replaced in every string."""
        if isinstance(value, str):
            return self.scrub(value, replacement)
        if isinstance(value, list):
            return [self.scrub_value(v, replacement) for v in value]
        if isinstance(value, dict):
            return {self.scrub_value(k, replacement): self.scrub_value(v, replacement)
                    for k, v in value.items()}
        return value


@lru_cache(maxsize=8)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def _script_forms(name: str) -> set[str]:
    forms = {name}
    for config in ("s2t", "s2hk", "s2tw", "s2twp", "t2s"):
        forms.add(_converter(config).convert(name))
    return forms


def _latin_regex(words: list[str]) -> re.Pattern[str]:
    body = _SEP.join(re.escape(w) for w in words)
    return re.compile(rf"(?<![A-Za-z\u00c0-\u024f]){body}(?![A-Za-z\u00c0-\u024f])",
                      re.IGNORECASE)


def _name_patterns(name: str) -> list[Pattern]:
    """Pinyin (plain and with tone marks) in both orders, or the words of a Latin name."""
    from pypinyin import Style, pinyin  # ~60 MB of dictionaries: only when forgetting

    if not _HAN.search(name):
        words = [w for w in re.split(r"[\s\-_.·]+", name) if w]
        if len(words) < 2 and len(name) < 4:
            return []  # "Li" alone would sweep every "Li" in the database
        orders = {tuple(words), tuple(reversed(words))}
        return [Pattern(min(words, key=len).lower(), _latin_regex(list(o))) for o in orders]
    chars = [c for c in name if not c.isspace()]
    out: list[Pattern] = []
    for style in (Style.NORMAL, Style.TONE):
        readings = pinyin(chars, style=style, heteronym=True)
        combos = itertools.islice(itertools.product(*readings), _MAX_READINGS)
        for syllables in combos:
            syl = [s for s in syllables if s]
            if len(syl) < 2:
                continue
            hint = max(syl, key=len).lower()
            out.append(Pattern(hint, _latin_regex(syl)))
            surname = 2 if "".join(chars[:2]) in _COMPOUND and len(syl) > 2 else 1
            given, family = syl[surname:], syl[:surname]
            if given:  # "Jianguo Wang": given name first, as on English documents
                out.append(Pattern(hint, _latin_regex([*given, *family])))
    return out


def _phone_patterns(phone: str) -> list[Pattern]:
    digits = "".join(ch for ch in phone if ch.isascii() and ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 7:
            digits = digits[len(prefix):]
            break
    if len(digits) < 7:
        return []
    # each digit as typed or full width (a Chinese IME types １３９…)
    body = _PHONE_SEP.join(f"[{d}{d.translate(_FULL_WIDTH)}]" for d in digits)
    prefix = rf"(?:[(（]?(?:[+＋]|00|００)?(?:86|８６)[)）]?{_PHONE_SEP})?"
    regex = re.compile(rf"(?<!\d){prefix}{body}(?!\d)")
    last4 = digits[-4:]
    return [Pattern(last4, regex), Pattern(last4.translate(_FULL_WIDTH), regex)]


_COMPOUND = COMPOUND_SURNAMES


def needles_for(name: str, phone: str | None) -> Needles:
    """The strings and patterns that must not survive ``/forget`` of this client."""
    name = name.strip()
    plain: set[str] = set()
    patterns: list[Pattern] = []
    if len(name) >= 2:
        patterns += _name_patterns(name)
        if _HAN.search(name) or not patterns:
            plain |= {form for form in _script_forms(name) if len(form) >= 2}
        # a Latin name is only matched as whole words ("Chen Mei" is not in "Chen Meiling")
    if phone:
        digits = "".join(ch for ch in phone if ch.isdigit())
        plain |= {p for p in {phone.strip(), digits} if len(p) >= 5}
        patterns += _phone_patterns(phone)
    return Needles(sorted(plain, key=len, reverse=True), patterns)
