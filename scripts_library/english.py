"""English wording folded to one form before search compares it.

Applied by :meth:`scripts_library.analyze.Analyzer.norm` after :func:`normalize` (lower case,
an apostrophe already a space), identically to a query, the library's triggers and titles and
the phrase files (``synonyms.yaml``, ``evidence.yaml``, ``services.yaml``), so a fold can never
make one side disagree with the other. Three steps, on English words only:

1. A hyphen between letters becomes a space ("back-to-back", "lock-up", "rip-off" are
   looked up as phrases). *Rewrites* from ``english.yaml``, whole words, longest first:
   contractions with or without the apostrophe ("dont", "don t" → "do not"), chat shorthand
   ("tmr", "abit", "cx" for the client), Hong Kong and Singapore English ("lah" dropped,
   "liao" → already, "kena" → got).
2. *British spelling* an American dictionary does not know, by rule when the American form is
   a dictionary word (realise → realize, favour → favor, centre → center, travelled →
   traveled, paediatric → pediatric) or from the file's ``spelling`` table (programme).
3. *Typos*: a word the dictionary does not know is replaced by a dictionary word one edit
   away whose stem is part of the search vocabulary (the phrase files' English words); a real
   word is never changed, and an unknown word with no such neighbour is left as typed. Edits
   are tried in the order typists make them: two letters swapped ("retrun", "lsot"), a letter
   left out ("markt", "worred"), a letter mistyped, a letter doubled or added ("bussy",
   "feees"); among several words of one kind the more frequent wins.

The dictionary is pyspellchecker's English word list (American spelling), loaded once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ENGLISH_FILE", "EnglishFolder"]

ENGLISH_FILE = Path(__file__).resolve().parent / "english.yaml"

_LETTERS = re.compile(r"[a-z]")
_WORD = re.compile(r"[a-z]+")
_SPACES = re.compile(r"\s+")
_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")  # "back-to-back" is the phrase "back to back"

# British → American endings; the American form must be a dictionary word, so "promise",
# "advise", "four" and "tour" stay as they are
_BRITISH_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(.{3,})is(e|es|ed|ing|ation|ations|er|ers)$"), r"\1iz\2"),
    (re.compile(r"^(.{2,})ys(e|es|ed|ing)$"), r"\1yz\2"),
    (re.compile(r"^(.{3,})our(s|ed|ing|ite|ites|able|ably|er|ers|ful|less|hood)?$"), r"\1or\2"),
    (re.compile(r"^(.{2,})tre(s|d)?$"), r"\1ter\2"),
    (re.compile(r"^(.{2,}[aeiou])ll(ed|ing|er|ers|or|ors)$"), r"\1l\2"),
    (re.compile(r"^(.{2,})ogue(s)?$"), r"\1og\2"),
    (re.compile(r"^(.*?)ae(.+)$"), r"\1e\2"),
    (re.compile(r"^(.*?)oe(.+)$"), r"\1e\2"),
)

MIN_TYPO_LEN = 4  # shorter words have too many neighbours one edit away ("teh", "lah")


class _Dictionary:
    """pyspellchecker's English word list (word -> frequency), loaded on first use (about half
    a second). The plain mapping, not the checker: a typo tries hundreds of candidate words
    and the checker's own membership test costs ten times a dict lookup (it made building a
    5,000-script index take 20 s longer)."""

    _lock = threading.Lock()
    _words: Mapping[str, int] | None = None

    @classmethod
    def get(cls) -> Mapping[str, int]:
        if cls._words is None:
            with cls._lock:
                if cls._words is None:
                    from spellchecker import SpellChecker

                    checker = SpellChecker(language="en", distance=1)
                    cls._words = checker.word_frequency.dictionary  # lower-case keys
        return cls._words


@dataclass
class EnglishFolder:
    """Folds English wording in normalised text (see the module docstring)."""

    rewrites: dict[str, str]
    spelling: dict[str, str]
    vocabulary: frozenset[str]  # stems of the words a typo may be corrected to
    keep: frozenset[str] = frozenset()
    stem: Callable[[str], str] = str
    dictionary: Callable[[], Mapping[str, int]] = _Dictionary.get
    _pattern: re.Pattern[str] | None = field(init=False, default=None)
    _cache: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.rewrites:
            keys = sorted(self.rewrites, key=len, reverse=True)
            self._pattern = re.compile(
                r"(?<![a-z0-9])(?:" + "|".join(re.escape(k) for k in keys) + r")(?![a-z0-9])")

    @classmethod
    def from_file(cls, path: Path = ENGLISH_FILE, *, vocabulary: Iterable[str] = (),
                  stem: Callable[[str], str] = str) -> EnglishFolder:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
        raw = raw or {}
        rewrites = {_clean_key(k): _clean_key(v or "")
                    for k, v in (raw.get("rewrites") or {}).items()}
        spelling = {_clean_key(k): _clean_key(v) for k, v in (raw.get("spelling") or {}).items()}
        keep = frozenset(_clean_key(w) for w in raw.get("keep") or [])
        vocab = set(vocabulary) | keep
        for value in [*rewrites.values(), *spelling.values()]:
            vocab.update(_WORD.findall(value))
        return cls({k: v for k, v in rewrites.items() if k}, spelling,
                   frozenset(stem(w) for w in vocab if w.isascii()), keep, stem)

    def fold(self, norm: str, *, pinyin: bool = False) -> str:
        """``norm`` (already normalised) with its English wording folded.

        ``pinyin``: the text may be toneless pinyin ("wo yao wen wen laopo liao"), where "liao"
        is 了 and a syllable is no typo: only spelling is folded.
        """
        if not norm or not _LETTERS.search(norm):
            return norm
        text = _HYPHEN.sub(" ", norm) if "-" in norm else norm
        if self._pattern is not None and not pinyin:
            text = self._pattern.sub(lambda m: self.rewrites[m.group(0)], text)
        text = _WORD.sub(lambda m: self.word(m.group(0), typos=not pinyin), text)
        return _SPACES.sub(" ", text).strip() if text != norm else text

    def word(self, word: str, *, typos: bool = True) -> str:
        """One lower-case word folded: British spelling, then a typo (cached)."""
        key = word if typos else "\0" + word
        hit = self._cache.get(key)
        if hit is None:
            hit = self._fold_word(word, typos)
            if len(self._cache) < 65536:
                self._cache[key] = hit
        return hit

    def _fold_word(self, word: str, typos: bool) -> str:
        if word in self.spelling:
            return self.spelling[word]
        if len(word) < MIN_TYPO_LEN or word in self.keep:
            return word
        checker = self.dictionary()  # words are lower case already (normalize)
        if word in checker:
            return word
        for pattern, replacement in _BRITISH_RULES:
            american = pattern.sub(replacement, word)
            if american != word and american in checker:
                return american
        if not typos or self.stem(word) in self.vocabulary:
            return word  # a term of the trade the dictionary lacks ("citi", "toppy")
        for edits in _edits(word):
            near = [w for w in edits if w in checker and self.stem(w) in self.vocabulary]
            if near:
                return max(sorted(near), key=lambda w: checker[w])
        return word


_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def _edits(word: str) -> tuple[set[str], ...]:
    """Words one edit from ``word``, grouped by how likely a typist made that edit."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    swapped = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    left_out = {a + c + b for a, b in splits for c in _ALPHABET}
    mistyped = {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    added = {a + b[1:] for a, b in splits if b}
    return swapped, left_out, mistyped, added


def _clean_key(text: object) -> str:
    # the same shape normalize() gives: lower case, apostrophes and punctuation as spaces
    from scripts_library.normalize import normalize

    return normalize(str(text))


def vocabulary_of(*data: Any) -> set[str]:
    """Every English word in nested YAML data (lists, mappings, strings), normalised."""
    from scripts_library.normalize import normalize

    out: set[str] = set()
    stack = list(data)
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.update(_WORD.findall(normalize(item)))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out
