"""Every way a forgotten client's name and phone may have been written down.

Advisors type a client's name in Simplified or Traditional characters or in
pinyin ("wang jianguo", "WangJianguo", "Jianguo Wang", "wáng jiànguó"), and a
phone with spaces, dashes, brackets or a ``+86``/``0086`` prefix. ``/forget``
must sweep all of them, so :func:`needles_for` returns

* ``plain``: exact strings (the name as stored, its Traditional/Simplified
  forms, the phone as stored and as bare digits) that SQL ``replace`` can remove;
* ``patterns``: regular expressions for the spellings that exact matching cannot
  catch (the characters in any mix of Traditional and Simplified, with spaces between
  them; pinyin with any spacing or case, either order; a Latin name's words in any case;
  the phone with any separators and country prefix). They run on the *folded* text,
  the client lookup's rule (:func:`scripts_library.normalize.normalize`: NFKC, so
  full-width is half-width, Traditional folded to Simplified by OpenCC, lower case),
  folded one character at a time so a match maps back to the same span of the text
  as written. Each has ``hints``: short strings every match contains as written (in
  lower case), for a cheap SQL pre-filter.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import opencc

from coach.privacy import COMPOUND_SURNAMES
from scripts_library.normalize import to_simplified

__all__ = ["Needles", "Pattern", "fold", "needles_for"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SEP = r"[\s\-_.·•'’]*"  # what may sit between syllables or words
_PHONE_SEP = r"[\s\-.()/－（）]*"
_FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
_MAX_READINGS = 16  # heteronyms (单 shàn/dān …): a few combinations, not an explosion


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    """One character as the client lookup sees it, if that is one character (else as is)."""
    folded = to_simplified(unicodedata.normalize("NFKC", ch)).lower()
    return folded if len(folded) == 1 else ch


class _FoldTable(dict[int, str]):
    """``str.translate`` table for :func:`fold`, filled one distinct character at a time."""

    def __missing__(self, codepoint: int) -> str:
        value = self[codepoint] = _fold_char(chr(codepoint))
        return value


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """``text`` folded as the client lookup folds it (NFKC, Simplified, lower case), one
    character for one, so a match in the result is the same span of ``text``."""
    return text.translate(_FOLD)


@dataclass(frozen=True)
class Pattern:
    hint: str  # folded text every match contains (checked before the regex runs)
    regex: re.Pattern[str]  # runs on the folded text
    hints: tuple[str, ...] = ()  # lower-case raw forms of ``hint``, for SQL LIKE

    def sub(self, text: str, replacement: str) -> str:
        """``text`` with every match (found on its folded form) replaced."""
        folded = fold(text)
        if self.hint not in folded:
            return text
        out: list[str] = []
        last = 0
        for match in self.regex.finditer(folded):
            if match.end() == match.start():
                continue
            out += [text[last:match.start()], replacement]
            last = match.end()
        return "".join(out) + text[last:] if out else text


def _pattern(hint: str, regex: re.Pattern[str]) -> Pattern:
    return Pattern(hint, regex, tuple(sorted(_raw_forms(hint))))


def _raw_forms(hint: str) -> set[str]:
    """How ``hint`` (folded) may be written, lower-cased as SQL ``lower()`` does it.

    SQLite's ``lower()`` only knows ASCII: a full-width word is looked for as written in
    lower and upper case, without its first letter (so "Ｗａｎｇ" is found too).
    """
    forms = {hint}
    if hint.isdigit():
        return forms | {hint.translate(_FULL_WIDTH)}
    if hint.isascii():
        tail = hint[1:] if len(hint) >= 3 else hint
        forms |= {tail.translate(_FULL_WIDTH), tail.upper().translate(_FULL_WIDTH)}
        return forms
    for ch in hint:
        forms |= _variants(ch)
    return forms


def _variants(ch: str) -> set[str]:
    """Characters that fold to ``ch``: Traditional forms and compatibility ideographs."""
    found = {ch}
    for config in ("s2t", "s2hk", "s2tw", "s2twp"):
        converted = _converter(config).convert(ch)
        if len(converted) == 1:
            found.add(converted)
    return found | _compatibility().get(ch, set())


@lru_cache(maxsize=1)
def _compatibility() -> dict[str, set[str]]:
    """Compatibility ideographs (豈 U+F900 …) by the character NFKC makes of them."""
    table: dict[str, set[str]] = {}
    for start, end in ((0xF900, 0xFB00), (0x2F800, 0x2FA20)):
        for code in range(start, end):
            ch = chr(code)
            target = _fold_char(ch)
            if target != ch:
                table.setdefault(target, set()).add(ch)
    return table


@dataclass(frozen=True)
class Needles:
    plain: list[str] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.plain or self.patterns)

    def scrub(self, text: str, replacement: str) -> str:
        # patterns first: they take the whole "+86 139…" where plain digits would leave "+86"
        for pattern in self.patterns:
            text = pattern.sub(text, replacement)
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
    """The characters (any script mix, spaced or not) and their pinyin (plain and with tone
    marks) in both orders, or the words of a Latin name; all matched on folded text."""
    from pypinyin import Style, pinyin  # ~60 MB of dictionaries: only when forgetting

    folded = " ".join(fold(name).split())
    if not _HAN.search(folded):
        # a Latin name is matched as whole words, in any case or width ("Chen Mei" is not
        # in "Chen Meiling", and "Amy" is not in "Amyra")
        words = [w for w in re.split(r"[\s\-_.·]+", folded) if w]
        if not words:
            return []
        orders = {tuple(words), tuple(reversed(words))}
        return [_pattern(min(words, key=len), _latin_regex(list(o))) for o in orders]
    chars = [c for c in folded if not c.isspace()]
    # "王 建国", "王　建國", "陈國華": the lookup's rule, one character at a time
    out = [_pattern(chars[-1], re.compile(r"\s*".join(re.escape(c) for c in chars)))]
    for style in (Style.NORMAL, Style.TONE):
        readings = pinyin(chars, style=style, heteronym=True)
        combos = itertools.islice(itertools.product(*readings), _MAX_READINGS)
        for syllables in combos:
            syl = [s for s in syllables if s]
            if len(syl) < 2:
                continue
            hint = fold(max(syl, key=len))
            out.append(_pattern(hint, _latin_regex(syl)))
            surname = 2 if "".join(chars[:2]) in _COMPOUND and len(syl) > 2 else 1
            given, family = syl[surname:], syl[:surname]
            if given:  # "Jianguo Wang": given name first, as on English documents
                out.append(_pattern(hint, _latin_regex([*given, *family])))
    return out


def _phone_patterns(phone: str) -> list[Pattern]:
    digits = "".join(ch for ch in fold(phone) if ch.isascii() and ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 7:
            digits = digits[len(prefix):]
            break
    if len(digits) < 7:
        return []
    # on folded text: a Chinese IME's full-width "＋８６ １３９…" reads as "+86 139…"
    body = _PHONE_SEP.join(re.escape(d) for d in digits)
    prefix = rf"(?:[(]?(?:[+]|00)?86[)]?{_PHONE_SEP})?"
    regex = re.compile(rf"(?<!\d){prefix}{body}(?!\d)")
    return [_pattern(digits[-4:], regex)]


_COMPOUND = COMPOUND_SURNAMES


def needles_for(name: str, phone: str | None) -> Needles:
    """The strings and patterns that must not survive ``/forget`` of this client."""
    name = name.strip()
    plain: set[str] = set()
    patterns: list[Pattern] = []
    if len(name) >= 2:
        patterns += _name_patterns(name)
        if _HAN.search(name):  # as stored and fully converted: one SQL replace each
            plain |= {form for form in _script_forms(name) if len(form) >= 2}
    if phone:
        digits = "".join(ch for ch in phone if ch.isdigit())
        plain |= {p for p in {phone.strip(), digits} if len(p) >= 5}
        patterns += _phone_patterns(phone)
    return Needles(sorted(plain, key=len, reverse=True), patterns)
