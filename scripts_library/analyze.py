"""Turn text into weighted search features, identically for the library and a query.

A text is normalised (``scripts_library.normalize``), stripped of the advisor's
framing ("客户说…怎么办"), segmented with jieba plus a domain dictionary, and
expanded into four channels:

* ``w:`` words (jieba; English words lightly stemmed), stop words removed;
* ``@`` concepts from ``synonyms.yaml`` (贵 / 手续费 / expensive → ``@fee``);
* ``b:`` Chinese character bigrams (robust to segmentation differences);
* ``p:`` toneless pinyin bigrams (robust to homophone typos: 收溢 ≈ 收益).

Queries may also get *homophone corrections*: a 2-4 character window that is not
a known word but sounds exactly like one (手需费 → 手续费) adds that word.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba
import yaml
from pypinyin import Style, lazy_pinyin

from scripts_library.normalize import MAX_QUERY_CHARS, normalize

__all__ = ["Analyzer", "SoundIndex", "get_analyzer", "jieba_startup_seconds"]

_HERE = Path(__file__).resolve().parent
SYNONYMS_FILE = _HERE / "synonyms.yaml"
USERDICT_FILE = _HERE / "userdict.txt"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ASCII_WORD = re.compile(r"[a-z][a-z0-9\-']*|\d+(?:\.\d+)?%?")
_NUMBER = re.compile(r"[\d.%]+")

_jieba_lock = threading.Lock()
_jieba_seconds: float | None = None


def jieba_startup_seconds() -> float | None:
    """How long the one-time jieba initialisation took (None before it ran)."""
    return _jieba_seconds


def stem(word: str) -> str:
    """A deliberately tiny English stemmer: the same rule on both sides is all we need."""
    if len(word) <= 3 or not word.isascii():
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: -len(suffix)] + repl
    return word


@lru_cache(maxsize=8192)
def _char_pinyin(ch: str) -> str:
    return lazy_pinyin(ch, style=Style.NORMAL)[0]


def pinyin_key(text: str) -> str:
    return "|".join(_char_pinyin(c) for c in text)


@dataclass(frozen=True)
class _Concepts:
    multi: re.Pattern[str] | None  # Chinese phrases of 2+ chars, longest first
    multi_map: dict[str, str]
    single: dict[str, str]  # single Chinese characters, whole-token match only
    english: dict[str, str]  # stemmed English word or phrase -> concept


class Analyzer:
    """Feature extraction shared by indexing and querying (one per process)."""

    def __init__(self, synonyms_file: Path = SYNONYMS_FILE, userdict_file: Path = USERDICT_FILE):
        data = yaml.safe_load(synonyms_file.read_text(encoding="utf-8")) or {}
        self._tok = _make_tokenizer(userdict_file)
        self.stopwords = frozenset(stem(normalize(w)) for w in data.get("stopwords", []) if w)
        self._noise = [re.compile(p) for p in data.get("noise", [])]
        self._concepts = _compile_concepts(data.get("concepts", {}))
        self.dictionary_words = frozenset(_userdict_words(userdict_file)) | frozenset(
            self._concepts.multi_map
        )

    # ---------------------------------------------------------------- text
    def clean(self, text: str | None, *, max_chars: int = MAX_QUERY_CHARS) -> str:
        """Normalised text without the advisor's framing, at most ``max_chars`` long."""
        norm = normalize(text[:max_chars] if text else text)
        for pattern in self._noise:
            norm = pattern.sub(" ", norm).strip()
        return norm

    def words(self, clean: str) -> list[str]:
        """Content words: jieba for Chinese, stemmed English; no stop words or bare numbers."""
        out: list[str] = []
        for tok in self._tok.lcut(clean, HMM=False):
            tok = tok.strip()
            if not tok:
                continue
            if tok.isascii():
                out += [stem(w) for w in _ASCII_WORD.findall(tok)]
            else:
                out.append(tok)
        return [w for w in out if w not in self.stopwords and not _NUMBER.fullmatch(w)]

    def content(self, clean: str) -> str:
        """``clean`` with stop words dropped: what fuzzy matching compares."""
        return " ".join(self.words(clean))

    def concepts(self, clean: str, words: Iterable[str]) -> set[str]:
        c = self._concepts
        found: set[str] = set()
        if c.multi is not None:
            found.update(c.multi_map[m.group(0)] for m in c.multi.finditer(clean))
        for w in words:
            concept = c.single.get(w) or c.english.get(w)
            if concept:
                found.add(concept)
        ascii_words = [stem(w) for w in _ASCII_WORD.findall(clean)]
        for n in (2, 3):
            for i in range(len(ascii_words) - n + 1):
                concept = c.english.get(" ".join(ascii_words[i: i + n]))
                if concept:
                    found.add(concept)
        return found

    def features(self, text: str | None, *, weight: float = 1.0, clean: str | None = None,
                 sounds: SoundIndex | None = None, concepts: bool = True) -> Counter[str]:
        """Weighted feature counts of ``text`` (already cleaned when ``clean`` is given).

        Concepts count once per text, and co-occurring concepts add a pair feature
        (``&loss+past``): "收益" and "低" each say little, together they say a lot.
        ``concepts=False`` skips both (used for the advisor's long answer texts, which
        mention every concept and would blur them).
        """
        clean = self.clean(text) if clean is None else clean
        feats: Counter[str] = Counter()
        if not clean:
            return feats
        words = self.words(clean)
        extra = sounds.corrections(clean) if sounds is not None else []
        for w in words:
            feats["w:" + w] += weight * (0.5 if len(w) == 1 and not w.isascii() else 1.0)
        for w in extra:
            feats["w:" + w] += weight * 0.7
        found = self.concepts(clean, words) if concepts else set()
        if extra and concepts:
            found |= self.concepts(" ".join(extra), extra)
        for concept in found:
            feats["@" + concept] += weight
        ordered = sorted(found)
        for i, first in enumerate(ordered):
            for second in ordered[i + 1:]:
                feats[f"&{first}+{second}"] += weight
        # bigrams over content words only, so "你们这" adds nothing
        for run in _CJK.findall("".join(w if not w.isascii() else " " for w in words)):
            for i in range(len(run) - 1):
                pair = run[i: i + 2]
                feats["b:" + pair] += weight
                feats["p:" + pinyin_key(pair)] += weight
        return feats

    # ---------------------------------------------------------------- typos
    def sound_index(self, words: Iterable[str]) -> SoundIndex:
        """Index known words (from triggers, titles, dictionaries) by their pinyin."""
        known = {w for w in words if 2 <= len(w) <= 4 and _CJK.fullmatch(w)}
        known |= {w for w in self.dictionary_words if 2 <= len(w) <= 4 and _CJK.fullmatch(w)}
        by_sound: dict[str, set[str]] = {}
        for w in known:
            by_sound.setdefault(pinyin_key(w), set()).add(w)
        return SoundIndex(frozenset(known), {k: tuple(sorted(v)) for k, v in by_sound.items()})


@dataclass(frozen=True)
class SoundIndex:
    """Known words by pronunciation, to repair homophone typos in queries."""

    known: frozenset[str]
    by_sound: dict[str, tuple[str, ...]]

    def corrections(self, clean: str) -> list[str]:
        """Known words that sound exactly like an unknown 2-4 character window."""
        out: list[str] = []
        for run in _CJK.findall(clean):
            run = run[:200]  # long rambles: corrections cost more than they help
            for n in (4, 3, 2):
                for i in range(len(run) - n + 1):
                    window = run[i: i + n]
                    if window not in self.known:
                        out += self.by_sound.get(pinyin_key(window), ())
        return out


def _userdict_words(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.split()[0] for ln in lines if ln.strip() and not ln.startswith("#")]


def _compile_concepts(raw: dict[str, list[str]]) -> _Concepts:
    multi: dict[str, str] = {}
    single: dict[str, str] = {}
    english: dict[str, str] = {}
    for concept, phrases in raw.items():
        for phrase in phrases or []:
            norm = normalize(str(phrase))
            if not norm:
                continue
            if norm.isascii():
                english.setdefault(" ".join(stem(w) for w in _ASCII_WORD.findall(norm)), concept)
            elif len(norm) == 1:
                single.setdefault(norm, concept)
            else:
                multi.setdefault(norm, concept)
    pattern = None
    if multi:
        alternatives = sorted(multi, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(p) for p in alternatives))
    return _Concepts(pattern, multi, single, english)


def _make_tokenizer(userdict: Path) -> jieba.Tokenizer:
    global _jieba_seconds
    import time

    with _jieba_lock:
        jieba.setLogLevel(logging.WARNING)
        start = time.perf_counter()
        tok = jieba.Tokenizer()
        tok.initialize()
        if userdict.exists():
            tok.load_userdict(str(userdict))
        _jieba_seconds = time.perf_counter() - start
    return tok


_analyzer: Analyzer | None = None
_analyzer_lock = threading.Lock()


def get_analyzer() -> Analyzer:
    """The process-wide analyzer (jieba initialises once, ~0.5 s)."""
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                _analyzer = Analyzer()
    return _analyzer
