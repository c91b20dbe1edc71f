"""Find a client by a name the advisor typed, however they typed it.

Queries and names are compared in two forms: the normalised characters (Traditional
folded to Simplified, case and punctuation ignored) and toneless pinyin.  So "王建国",
"王建國", "wangjianguo", "Wang Jianguo", "WJG" and the homophone "王健国" all find 王建国,
"Jianguo Wang" (given name first) too, and "chen" finds "Chen Mei".  Scores run 0..100:

=====  ==============================================================
100    same characters (after normalising)
95     same pinyin (homophone, or pinyin typed for a Chinese name)
88     same pinyin initials ("wjg")
80-87  the query is a whole part of the name: surname, given name or a
       Latin word ("王", "建国", "chen"); longer parts score higher
<=87   fuzzy similarity of characters, or of pinyin (scaled by 0.9)
=====  ==============================================================

The first reading of a surname with several (曾 zeng/ceng, 单 shan/dan) is not
trusted: every reading of the first character is indexed.  Each name's forms are
computed once and cached (:func:`prepare_names` warms the cache up front), so matching
300 known candidates takes about half a millisecond.  Use :func:`ambiguous` before
acting on a result, or :func:`best_match`, which only returns a clear winner.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, NamedTuple, TypeVar

import numpy as np
from rapidfuzz import fuzz, process

from coach.privacy import COMPOUND_SURNAMES
from scripts_library.normalize import normalize

__all__ = [
    "DEFAULT_MIN_SCORE",
    "DEFAULT_THRESHOLD",
    "AMBIGUITY_MARGIN",
    "NameMatch",
    "ambiguous",
    "best_match",
    "match_names",
    "plausible_person_name",
    "prepare_names",
]

K = TypeVar("K", bound=Hashable)

EXACT = 100.0
SAME_PINYIN = 95.0
SAME_INITIALS = 88.0
PART_BASE = 80.0
PART_SPAN = 7.0
PINYIN_FUZZ_WEIGHT = 0.9
DEFAULT_MIN_SCORE = 70.0
DEFAULT_THRESHOLD = 80.0
AMBIGUITY_MARGIN = 5.0


class NameMatch(NamedTuple, Generic[K]):
    """One candidate found for a query; unpacks as ``key, name, score``."""

    key: K
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class _Forms:
    """Everything compared for one name, computed once."""

    chars: str  # normalised characters, no spaces: "王建国", "chenmei"
    pinyins: tuple[str, ...]  # whole name as pinyin/words: each surname reading, both orders
    initials: frozenset[str]  # "wjg"; empty for one-syllable names
    char_parts: frozenset[str]  # contiguous runs of characters, shorter than the name
    sound_parts: frozenset[str]  # contiguous runs of syllables or Latin words


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


@lru_cache(maxsize=16384)
def _readings(ch: str) -> tuple[str, ...]:
    """Toneless readings of one character, the most common first (at most three)."""
    # imported here: pypinyin's dictionaries take ~60 MB, and bulk imports never need them
    from pypinyin import Style, lazy_pinyin, pinyin

    first = lazy_pinyin(ch, style=Style.NORMAL)[0]
    others = pinyin(ch, style=Style.NORMAL, heteronym=True)[0]
    return tuple(dict.fromkeys([first, *others]))[:3]


def _syllables(text: str) -> list[str]:
    """One toneless syllable per Chinese character; Latin words pass through as words.

    Character by character on purpose: given names are not dictionary phrases, and a
    per-character cache keeps indexing a few hundred names cheap.
    """
    out: list[str] = []
    word: list[str] = []
    for ch in text:
        if _is_han(ch) or ch == " ":
            if word:
                out.append("".join(word))
                word.clear()
            if ch != " ":
                out.append(_readings(ch)[0])
        else:
            word.append(ch)
    if word:
        out.append("".join(word))
    return out


def _runs(items: Sequence[str]) -> set[str]:
    """Every contiguous run, joined, except the whole sequence."""
    n = len(items)
    return {"".join(items[i:j]) for i in range(n) for j in range(i + 1, n + 1) if j - i < n}


def _surname_first_and_last(items: list[str], surname_len: int) -> list[list[str]]:
    """The name as written, and given name first ("Jianguo Wang")."""
    if len(items) <= surname_len:
        return [items]
    return [items, items[surname_len:] + items[:surname_len]]


@lru_cache(maxsize=8192)
def _forms(name: str) -> _Forms:
    normal = normalize(name)
    chars = normal.replace(" ", "")
    if any(_is_han(ch) for ch in chars):
        syllables = _syllables(normal)
        surname_len = 2 if chars[:2] in COMPOUND_SURNAMES and len(chars) > 2 else 1
        # Surnames often take a rarer reading (曾 zeng, 单 shan): index every reading.
        readings = _readings(chars[0]) if _is_han(chars[0]) else ()
        spoken = [syllables] + [[r, *syllables[1:]] for r in readings[1:]]
        orders = [o for v in spoken for o in _surname_first_and_last(v, surname_len)]
        char_parts = _runs(list(chars))
        sound_parts = set().union(*(_runs(v) for v in spoken))
        initials = {"".join(s[0] for s in v) for v in spoken if len(v) > 1}
    else:
        words = normal.split()
        orders = _surname_first_and_last(words, 1) + _surname_first_and_last(words[::-1], 1)
        char_parts = set()
        sound_parts = _runs(words)
        initials = {"".join(w[0] for w in words)} if len(words) > 1 else set()
    pinyins = tuple(dict.fromkeys("".join(o) for o in orders))
    return _Forms(
        chars, pinyins, frozenset(initials), frozenset(char_parts), frozenset(sound_parts)
    )


@lru_cache(maxsize=1024)
def _query_forms(query: str) -> tuple[str, str]:
    """(normalised characters, toneless pinyin) of a query, both without spaces."""
    normal = normalize(query)
    return normal.replace(" ", ""), "".join(_syllables(normal))


def _score(q_chars: str, q_pinyin: str, forms: _Forms,
           fuzzy: tuple[float, float] | None = None) -> float:
    """``fuzzy``: this name's (character ratio, best pinyin ratio), when already known."""
    if q_chars == forms.chars:
        return EXACT
    if q_pinyin in forms.pinyins or q_chars in forms.pinyins:
        return SAME_PINYIN
    if q_chars in forms.initials:
        return SAME_INITIALS
    if fuzzy is None:
        fuzzy = (fuzz.ratio(q_chars, forms.chars),
                 max(fuzz.ratio(q_pinyin, full) for full in forms.pinyins))
    best = max(fuzzy[0], PINYIN_FUZZ_WEIGHT * fuzzy[1])
    # A whole part of the name (surname, given name, one word): more coverage, more weight.
    if q_chars in forms.char_parts:
        best = max(best, PART_BASE + PART_SPAN * len(q_chars) / len(forms.chars))
    if q_pinyin in forms.sound_parts:
        best = max(best, PART_BASE + PART_SPAN * len(q_pinyin) / len(forms.pinyins[0]))
    # Fuzzy and partial evidence never outranks an initials match.
    return round(min(best, SAME_INITIALS - 1), 1)


def _fuzzy_ratios(q_chars: str, q_pinyin: str,
                  forms: Sequence[_Forms]) -> list[tuple[float, float]]:
    """Each name's (character ratio, best pinyin ratio) against the query, in two calls
    into rapidfuzz for the whole list (a /log compares every client of the book: one
    call per pair was most of its CPU). Same values as ``fuzz.ratio`` pair by pair."""
    if not forms:
        return []
    chars = process.cdist([q_chars], [f.chars for f in forms], scorer=fuzz.ratio,
                          dtype=np.float64)[0]
    spoken = [p for f in forms for p in f.pinyins]
    starts = np.cumsum([0] + [len(f.pinyins) for f in forms[:-1]])
    sounds = np.maximum.reduceat(process.cdist([q_pinyin], spoken, scorer=fuzz.ratio,
                                               dtype=np.float64)[0], starts)
    return list(zip(chars.tolist(), sounds.tolist(), strict=True))


def match_names(
    query: str,
    candidates: Sequence[tuple[K, str]],
    limit: int = 5,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[NameMatch[K]]:
    """The ``limit`` best candidates scoring at least ``min_score``, best first.

    Ties keep the candidates' order, so an exact match always comes before any other.
    """
    q_chars, q_pinyin = _query_forms(query) if query and query.strip() else ("", "")
    if not q_chars:
        return []
    named = [(index, key, name, _forms(name))
             for index, (key, name) in enumerate(candidates) if name]
    fuzzy = _fuzzy_ratios(q_chars, q_pinyin, [forms for *_, forms in named])
    scored: list[tuple[float, int, K, str]] = []
    for (index, key, name, forms), ratios in zip(named, fuzzy, strict=True):
        score = _score(q_chars, q_pinyin, forms, ratios)
        if score >= min_score:
            scored.append((score, index, key, name))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [NameMatch(key, name, score) for score, _, key, name in scored[: max(limit, 0)]]


def prepare_names(names: Iterable[str]) -> None:
    """Index names ahead of time (when a client list loads) so the first search is fast."""
    for name in names:
        if name:
            _forms(name)


def ambiguous(results: Sequence[NameMatch[K]], margin: float = AMBIGUITY_MARGIN) -> bool:
    """True when the advisor must choose: the runner-up is within ``margin`` of the best.

    A single exact match is never ambiguous; two exact matches (two clients with the
    same name) always are.
    """
    if len(results) < 2:
        return False
    first, second = results[0].score, results[1].score
    if first >= EXACT:
        return second >= EXACT
    return first - second <= margin


def best_match(
    query: str,
    candidates: Sequence[tuple[K, str]],
    threshold: float = DEFAULT_THRESHOLD,
) -> NameMatch[K] | None:
    """The one clear winner scoring at least ``threshold``, else None (show choices)."""
    results = match_names(query, candidates, limit=2, min_score=threshold)
    if not results or ambiguous(results):
        return None
    return results[0]


_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff]"
_HAN_NAME = re.compile(rf"^{_HAN}{{2,4}}$")
# minority and transliterated names: 阿不都·热合曼
_HAN_DOTTED = re.compile(rf"^{_HAN}{{1,8}}(?:[·•・]{_HAN}{{1,8}}){{1,3}}$")
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z'.\-]*(?: [A-Za-z][A-Za-z'.\-]*){0,4}$")


def plausible_person_name(text: str) -> bool:
    """Whether ``text`` reads like a person's name (not a sentence, a number or a phrase).

    Chinese: 2-4 characters (5 with a compound surname such as 欧阳), or parts joined
    by "·"; Latin: one to five words of letters, 2-60 characters in all.
    """
    name = " ".join(text.split())
    if _HAN_NAME.match(name) or _HAN_DOTTED.match(name):
        return True
    if len(name) == 5 and name[:2] in COMPOUND_SURNAMES and _HAN_NAME.match(name[2:] + "某"):
        return True
    return 2 <= len(name) <= 60 and _LATIN_NAME.match(name) is not None
