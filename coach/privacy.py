"""Mask client names and phone numbers so they never reach logs or shared screens.

The masking rule, written once (:func:`reveals`, used by every message through
:class:`Audience` and the template filters ``client_name``, ``client_phone`` and
``client_text``):

* the owning advisor reading in a private chat sees everything;
* anyone else, or anywhere else (a group chat, a lead's list, a notice), sees phones masked
  to the last four digits, always, and names and free text masked when privacy mode is on
  (the default). Masked free text keeps its words but loses the client's name and every
  phone-like number.

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
from dataclasses import dataclass
from enum import StrEnum

import ahocorasick

__all__ = ["COMPOUND_SURNAMES", "Audience", "Field", "NameMasker", "mask_name", "mask_phone",
           "mask_text", "redact_for_log", "reveals"]

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
    if (phone or "").startswith("****"):
        return phone or ""  # masked already (e.g. by a service): keep the last four
    digits = [ch for ch in (phone or "") if ch.isdigit()]
    if not digits:
        return ""
    if len(digits) <= 4:
        return "****"
    return "****" + "".join(digits[-4:])


class NameMasker:
    """Masks a growing set of client names in one pass (Aho-Corasick automata).

    Thousands of names cost one scan per text, not one regular expression per name.
    Names live in two automata: the *base* (everything known at the last full build)
    and a small *recent* one for names added since, so adding a client never rebuilds
    the automaton of 300,000 names; when the recent names outgrow
    ``max(COMPACT_AT, base / 8)`` the two are merged (in :meth:`extend`, i.e. on the
    cache refresh, never in a log call).

    A build that fails (out of memory) keeps the automaton that was there: a name
    already masked stays masked, and the new names are tried again at the next
    :meth:`add`/:meth:`extend`. Matching ignores case; the longest name wins
    ("王建国" over "王建"); Latin names must stand alone as words.
    """

    COMPACT_AT = 5000

    def __init__(self, names: Iterable[str | None] = ()) -> None:
        self._base_names: frozenset[str] = frozenset()
        self._base: ahocorasick.Automaton | None = None
        self._recent_names: frozenset[str] = frozenset()
        self._recent: ahocorasick.Automaton | None = None
        self._recent_built_for: frozenset[str] = frozenset()  # names in self._recent
        self._recent_dirty = False  # names were added since the recent automaton was built
        self._lock = threading.Lock()
        self.extend(names)

    def __len__(self) -> int:
        return len(self._base_names) + len(self._recent_names)

    def __contains__(self, name: object) -> bool:
        return name in self._base_names or name in self._recent_names

    def _fresh(self, names: Iterable[str | None]) -> set[str]:
        cleaned = {n.strip() for n in names if n and len(n.strip()) >= 2}
        return {n for n in cleaned if n not in self}

    def add(self, names: Iterable[str | None]) -> None:
        """Mask these from the next :meth:`mask` on (the recent automaton is rebuilt then)."""
        fresh = self._fresh(names)
        if fresh:
            with self._lock:
                self._recent_names = self._recent_names | fresh
                self._recent_dirty = True

    def extend(self, names: Iterable[str | None]) -> None:
        """Add names and build now (the cache refresh); merge into the base when due.

        Raises what the build raised, with the masker unchanged but for the names,
        which :meth:`mask` keeps trying to build in.
        """
        fresh = self._fresh(names)
        with self._lock:
            recent = self._recent_names | fresh
            if len(recent) > max(self.COMPACT_AT, len(self._base_names) // 8):
                merged = self._base_names | recent
                base = _build(merged)  # may raise: nothing swapped yet
                self._base_names, self._base = merged, base
                self._recent_names = self._recent_built_for = frozenset()
                self._recent, self._recent_dirty = None, False
                return
            self._recent_names = recent
            if recent != self._recent_built_for:
                self._recent_dirty = True
                self._recent = _build(recent)
                self._recent_built_for, self._recent_dirty = recent, False

    def replace(self, names: Iterable[str | None]) -> None:
        """Forget every name and start from ``names`` (a full re-read of the book)."""
        cleaned = frozenset(n.strip() for n in names if n and len(n.strip()) >= 2)
        base = _build(cleaned)
        with self._lock:
            self._base_names, self._base = cleaned, base
            self._recent_names = self._recent_built_for = frozenset()
            self._recent, self._recent_dirty = None, False

    def _automata(self) -> list[ahocorasick.Automaton]:
        if self._recent_dirty:  # a flag, not a set comparison: this runs for every log line
            with self._lock:
                wanted = self._recent_names
                if self._recent_dirty:
                    try:
                        self._recent = _build(wanted)
                        self._recent_built_for, self._recent_dirty = wanted, False
                    except Exception:  # noqa: BLE001 - keep the previous one; retried next time
                        pass
        return [a for a in (self._base, self._recent)
                if a is not None and a.kind == ahocorasick.AHOCORASICK]

    def mask(self, text: str) -> str:
        automata = self._automata() if text else []
        if not automata:
            return text
        folded = _fold(text)
        if len(folded) != len(text):
            folded = text
        # leftmost-longest over both automata: each gives its own non-overlapping
        # matches; merged by start, longer first, overlaps skipped
        spans = sorted(((end - length + 1, end) for automaton in automata
                        for end, length in automaton.iter_long(folded)),
                       key=lambda span: (span[0], span[0] - span[1]))
        out: list[str] = []
        last = 0
        for start, end in spans:
            if start < last:
                continue
            found = text[start:end + 1]
            if not _is_han(found[0]) and (_latin_at(text, start - 1) or _latin_at(text, end + 1)):
                continue
            out += [text[last:start], mask_name(found)]
            last = end + 1
        return "".join(out) + text[last:] if out else text


def _build(names: Iterable[str]) -> ahocorasick.Automaton | None:
    """An automaton over ``names`` (None when there are none)."""
    automaton = ahocorasick.Automaton()
    for name in names:
        key = _fold(name)
        if len(key) == len(name):  # folding must keep positions
            automaton.add_word(key, len(key))
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


def _mask_phone_match(match: re.Match[str]) -> str:
    phone = match.group("phone")
    return mask_phone(phone) if phone else match.group(0)  # a date or a log id: kept


def _fold(text: str) -> str:
    return text.lower()


def _latin_at(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isascii() and text[index].isalpha()


# In log lines, Telegram ids written as ``update=123`` / ``user_id: 456`` stay readable:
# they are how an operator follows one update through the log, and they are not phones.
_LOG_IDS_OR_DIGIT_RUNS = re.compile(
    r"(?P<ident>\b(?:update|user|chat|message|update_id|user_id|chat_id|message_id)"
    r"[=:] ?-?\d+)|" + _DIGIT_RUNS.pattern
)


def redact_for_log(text: str | None, names: Iterable[str] | NameMasker = ()) -> str:
    """``text`` with the given client names and phone-like numbers masked; ids kept."""
    if not text:
        return ""
    masker = names if isinstance(names, NameMasker) else NameMasker(names)
    return _LOG_IDS_OR_DIGIT_RUNS.sub(_mask_phone_match, masker.mask(text))


class Field(StrEnum):
    """What part of a client a message shows."""

    NAME = "name"
    PHONE = "phone"
    TEXT = "text"  # free text: contact notes, complaint, question and need texts


def reveals(field: Field, *, own: bool, private: bool, privacy_mode: bool = True) -> bool:
    """True when ``field`` may be shown in full. The one masking rule of the bot.

    ``own``: the viewer is the client's advisor (for a list: the line is about one of
    their clients). ``private``: the message goes to a private chat with the viewer.
    """
    if own and private:
        return True
    if field is Field.PHONE:
        return False  # phones show the last four digits to everyone but the owner
    return not privacy_mode


def mask_text(text: str | None, names: Iterable[str] | NameMasker = (), *,
              phones: bool = True) -> str:
    """Free text with the given client names masked, and phone-like numbers too."""
    if not text:
        return ""
    masker = names if isinstance(names, NameMasker) else NameMasker(names)
    text = masker.mask(text)
    return _DIGIT_RUNS.sub(_mask_phone_match, text) if phones else text


@dataclass(frozen=True)
class Audience:
    """Where a message is read: a private chat or not, and whether privacy mode is on.

    The default is the strictest reader (a group with privacy mode on), so a message
    rendered without knowing its audience masks everything.
    """

    private: bool = False
    privacy_mode: bool = True

    def reveals(self, field: Field, *, own: bool) -> bool:
        return reveals(field, own=own, private=self.private, privacy_mode=self.privacy_mode)

    def name(self, value: str | None, *, own: bool) -> str:
        return (value or "") if self.reveals(Field.NAME, own=own) else mask_name(value)

    def phone(self, value: str | None, *, own: bool) -> str:
        return (value or "") if self.reveals(Field.PHONE, own=own) else mask_phone(value)

    def text(self, value: str | None, *, own: bool, names: Iterable[str] = ()) -> str:
        """Free text about a client; ``names``: that client's name (and other known forms)."""
        hide_names = not self.reveals(Field.TEXT, own=own)
        hide_phones = not self.reveals(Field.PHONE, own=own)
        if not (hide_names or hide_phones):
            return value or ""
        return mask_text(value, names if hide_names else (), phones=hide_phones)
