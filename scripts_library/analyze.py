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

import hashlib
import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jieba
import snowballstemmer
import yaml
from pypinyin import Style, lazy_pinyin

from scripts_library.english import ENGLISH_FILE, EnglishFolder, vocabulary_of
from scripts_library.normalize import MAX_QUERY_CHARS, normalize

__all__ = ["Analyzer", "SoundIndex", "get_analyzer", "jieba_startup_seconds"]

_HERE = Path(__file__).resolve().parent
SYNONYMS_FILE = _HERE / "synonyms.yaml"
USERDICT_FILE = _HERE / "userdict.txt"
DIALECT_FILE = _HERE / "dialect.yaml"
# English words a typo may be corrected to also come from the cue and service files
_PHRASE_FILES = (_HERE / "evidence.yaml", _HERE / "services.yaml")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ASCII_WORD = re.compile(r"[a-z][a-z0-9\-']*|\d+(?:\.\d+)?%?")
_NUMBER = re.compile(r"[\d.%]+")
_BIGRAM = "b:{}{}"

_jieba_lock = threading.Lock()
_jieba_seconds: float | None = None


def jieba_startup_seconds() -> float | None:
    """How long the one-time jieba initialisation took (None before it ran)."""
    return _jieba_seconds


# words whose ending is not an inflection: "interesting" is not "interest" (the rate),
# "business" is not "busy", "timing" is not "time", "marketing" is not the market
_KEEP_WHOLE = frozenset({
    "interesting", "interested", "boring", "amazing", "something", "nothing", "anything",
    "everything", "morning", "evening", "during", "thing", "things", "feeling", "bring",
    "string", "nes", "yes", "less", "unless", "news", "bless", "this", "thus", "bus",
    "business", "businesses", "timing", "marketing",
})

# Snowball's English (Porter2) stemmer: "charges"/"charged" -> "charg", "investments"/
# "investing" -> "invest", so a synonym written in one form matches every inflection.
# Applied identically to the library, the synonym and cue files and the query.
_SNOWBALL = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """English stem of ``word`` (Chinese and short words unchanged); same rule on both sides."""
    if len(word) <= 3 or not word.isascii() or word in _KEEP_WHOLE:
        return word
    return str(_SNOWBALL.stemWord(word))


@lru_cache(maxsize=8192)
def _char_pinyin(ch: str) -> str:
    return lazy_pinyin(ch, style=Style.NORMAL)[0]


def pinyin_key(text: str) -> str:
    return "|".join(_char_pinyin(c) for c in text)


@lru_cache(maxsize=65536)
def spoken_key(word: str) -> str:
    """How ``word`` is read as a whole: pypinyin's phrase readings settle polyphones that a
    character-by-character key gets wrong (银行 is yin|hang, not yin|xing)."""
    return "|".join(lazy_pinyin(word, style=Style.NORMAL))


@lru_cache(maxsize=8192)
def _polyphone(ch: str) -> bool:
    from pypinyin.constants import PINYIN_DICT

    return "," in PINYIN_DICT.get(ord(ch), "")


def _sound_keys(word: str) -> tuple[str, ...]:
    """The keys a known word is filed under: per character (what a typo window is compared
    with) and as the word is spoken (what a pinyin query spells). Only a word with a
    polyphonic character can be read differently, so only those pay for a phrase lookup."""
    chars = pinyin_key(word)
    if not any(_polyphone(c) for c in word):
        return (chars,)
    spoken = spoken_key(word)
    return (chars,) if chars == spoken else (chars, spoken)


@dataclass(frozen=True)
class _Concepts:
    multi: re.Pattern[str] | None  # Chinese phrases of 2+ chars, longest first
    multi_map: dict[str, str]
    single: dict[str, str]  # single Chinese characters, whole-token match only
    english: dict[str, str]  # stemmed English word or phrase -> concept
    # words in the longest English phrase: a contraction splits in two ("don't" -> "don t"),
    # so "don't have time" is four words and must still be looked up whole
    longest: int = 3


class Analyzer:
    """Feature extraction shared by indexing and querying (one per process)."""

    def __init__(self, synonyms_file: Path = SYNONYMS_FILE, userdict_file: Path = USERDICT_FILE,
                 dialect_file: Path = DIALECT_FILE, english_file: Path = ENGLISH_FILE):
        data = yaml.safe_load(synonyms_file.read_text(encoding="utf-8")) or {}
        # what the analyzer's output depends on: a model trained on its features is cached
        # under this (scripts_library.category_model), so editing a synonym retrains it
        digest = hashlib.sha1()
        for path in (synonyms_file, userdict_file, dialect_file, english_file):
            digest.update(path.read_bytes() if path.exists() else b"-")
        self.fingerprint = digest.hexdigest()
        self._tok = _make_tokenizer(userdict_file)
        self.dialect = DialectFolder.from_file(dialect_file)
        self.english = EnglishFolder.from_file(english_file, vocabulary=_english_vocabulary(data),
                                               stem=stem)
        self.stopwords = frozenset(stem(self.norm(w)) for w in data.get("stopwords", []) if w)
        self._noise = [re.compile(p) for p in data.get("noise", [])]
        self._concepts = _compile_concepts(data.get("concepts", {}), self.norm)
        self.dictionary_words = frozenset(_userdict_words(userdict_file)) | frozenset(
            self._concepts.multi_map
        )

    # ---------------------------------------------------------------- text
    def norm(self, text: str | None) -> str:
        """:func:`normalize` plus dialect and English folding: the form every phrase is
        compared in. Toneless pinyin ("wo yao wen wen laopo") is left for
        :meth:`from_pinyin`: "liao" there is 了, not Singapore English for "already"."""
        norm = self.dialect.fold(normalize(text))
        return self.english.fold(norm, pinyin=norm.isascii() and _is_pinyin(norm))

    def clean(self, text: str | None, *, max_chars: int = MAX_QUERY_CHARS) -> str:
        """Normalised text without the advisor's framing, at most ``max_chars`` long."""
        norm = self.norm(text[:max_chars] if text else text)
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

    def is_word(self, text: str) -> bool:
        """Whether jieba's dictionary knows ``text`` as a word (a real word is not a typo:
        "文件" must not be heard as "稳健")."""
        return bool(self._tok.FREQ.get(text, 0))

    def content(self, clean: str) -> str:
        """``clean`` with stop words dropped: what fuzzy matching compares."""
        return " ".join(self.words(clean))

    def concepts(self, clean: str, words: Iterable[str]) -> set[str]:
        c = self._concepts
        found: set[str] = set()
        if c.multi is not None:
            found.update(c.multi_map[m.group(0)] for m in c.multi.finditer(clean))
        # an English phrase speaks for its words: "lost my job" is money trouble, and its
        # "lost" must not also count as a loss (longest phrase first, no overlaps)
        ascii_words = [stem(w) for w in _ASCII_WORD.findall(clean)]
        taken = [False] * len(ascii_words)
        in_phrase: set[str] = set()
        for n in range(c.longest, 1, -1):
            for i in range(len(ascii_words) - n + 1):
                if any(taken[i: i + n]):
                    continue
                concept = c.english.get(" ".join(ascii_words[i: i + n]))
                if concept:
                    found.add(concept)
                    taken[i: i + n] = [True] * n
                    in_phrase.update(ascii_words[i: i + n])
        for w in words:
            concept = c.single.get(w) or (c.english.get(w) if w not in in_phrase else None)
            if concept:
                found.add(concept)
        return found

    def features(self, text: str | None, *, weight: float = 1.0, clean: str | None = None,
                 sounds: SoundIndex | None = None, concepts: bool = True,
                 words: list[str] | None = None,
                 into: Counter[str] | None = None) -> Counter[str]:
        """Weighted feature counts of ``text`` (already cleaned when ``clean`` is given).

        Concepts count once per text, and co-occurring concepts add a pair feature
        (``&loss+past``): "收益" and "低" each say little, together they say a lot.
        ``concepts=False`` skips both (used for the advisor's long answer texts, which
        mention every concept and would blur them).
        """
        clean = self.clean(text) if clean is None else clean
        feats: Counter[str] = Counter() if into is None else into  # into: add to a doc's counts
        if not clean:
            return feats
        words = self.words(clean) if words is None else words
        extra = sounds.corrections(clean, self.is_word) if sounds is not None else []
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
            keys = [_char_pinyin(c) for c in run]
            for i in range(len(run) - 1):
                feats["b:" + run[i: i + 2]] += weight
                feats["p:" + keys[i] + "|" + keys[i + 1]] += weight
        return feats

    def body_features(self, text: str, *, weight: float,
                      into: Counter[str] | None = None) -> Counter[str]:
        """Cheap features of a long answer text: English words and Chinese character bigrams.

        No jieba, pinyin or concepts here: answer texts are the bulk of the library and
        weigh little in ranking, and segmenting them was most of the build time.
        """
        counts: Counter[str] = Counter()
        clean = self.norm(text)
        if not clean:
            return counts if into is None else into
        stop = self.stopwords
        if not clean.isascii():
            # "b:" + each pair of neighbouring characters, counted in C
            for run in _CJK.findall(clean):
                counts.update(map(_BIGRAM.format, run, run[1:]))
        words = [stem(w) for w in _ASCII_WORD.findall(clean)]
        counts.update("w:" + w for w in words if w not in stop and not _NUMBER.fullmatch(w))
        if into is None:
            if weight != 1.0:
                for key in counts:
                    counts[key] *= weight
            return counts
        get = into.get
        for key, n in counts.items():
            into[key] = get(key, 0.0) + n * weight
        return into

    # ---------------------------------------------------------------- typos
    def sound_index(self, words: Iterable[str]) -> SoundIndex:
        """Index known words (from triggers, titles, dictionaries) by their pinyin."""
        known = {w for w in words if 2 <= len(w) <= 4 and _CJK.fullmatch(w)}
        known |= {w for w in self.dictionary_words if 2 <= len(w) <= 4 and _CJK.fullmatch(w)}
        by_sound: dict[str, set[str]] = {}
        for w in known:
            for key in _sound_keys(w):
                by_sound.setdefault(key, set()).add(w)
        singles: dict[str, str] = {}
        for ch in [*self.dialect.pinyin_singles, *sorted(self._concepts.single)]:
            singles.setdefault(_char_pinyin(ch), ch)
        return SoundIndex(frozenset(known), {k: tuple(sorted(v)) for k, v in by_sound.items()},
                          singles)

    def from_pinyin(self, clean: str, sounds: SoundIndex) -> str | None:
        """Chinese words for a query typed in toneless pinyin ("shouxufei tai gui"), else None."""
        if not clean.isascii():
            return None
        tokens = clean.split()
        parsed = [syllabify(t) for t in tokens]
        if not tokens or any(p is None for p in parsed):
            return None
        syllables = [s for p in parsed for s in p or ()]
        if len(syllables) < 2:
            return None
        words = sounds.spell(syllables)
        return " ".join(words) if words else None


@dataclass(frozen=True)
class SoundIndex:
    """Known words by pronunciation, to repair homophone typos in queries."""

    known: frozenset[str]
    by_sound: dict[str, tuple[str, ...]]
    singles: dict[str, str] = field(default_factory=dict)  # one syllable -> a likely character

    def extended(self, words: Iterable[str]) -> SoundIndex:
        """A copy that also knows ``words`` (a script added at run time)."""
        new = {w for w in words if 2 <= len(w) <= 4 and _CJK.fullmatch(w)} - self.known
        if not new:
            return self
        by_sound = dict(self.by_sound)
        for w in new:
            for key in _sound_keys(w):
                by_sound[key] = tuple(sorted({*by_sound.get(key, ()), w}))
        return SoundIndex(self.known | new, by_sound, self.singles)

    def spell(self, syllables: list[str]) -> list[str]:
        """Known words for a run of toneless syllables, longest match first, left to right."""
        out: list[str] = []
        i = 0
        while i < len(syllables):
            for n in (4, 3, 2):
                words = self.by_sound.get("|".join(syllables[i: i + n])) if i + n <= len(
                    syllables) else None
                if words:
                    out += words
                    i += n
                    break
            else:
                single = self.singles.get(syllables[i])
                if single:
                    out.append(single)
                i += 1
        return out

    def corrections(self, clean: str,
                    is_word: Callable[[str], bool] | None = None) -> list[str]:
        """Known words that sound exactly like an unknown 2-4 character window; a window
        that ``is_word`` (a real word of the language) is left as typed."""
        out: list[str] = []
        for run in _CJK.findall(clean):
            run = run[:200]  # long rambles: corrections cost more than they help
            for n in (4, 3, 2):
                for i in range(len(run) - n + 1):
                    window = run[i: i + n]
                    if window not in self.known and not (is_word and is_word(window)):
                        out += self.by_sound.get(pinyin_key(window), ())
        return out


@lru_cache(maxsize=1)
def pinyin_syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows, with ü written "v" as people type it."""
    from pypinyin.constants import PINYIN_DICT

    out: set[str] = set()
    for value in PINYIN_DICT.values():
        for reading in value.split(","):
            base = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
            base = "".join(c for c in base if not unicodedata.combining(c))
            if base.isascii() and base.isalpha():
                out.add(base)
    return frozenset(out)


def _is_pinyin(text: str) -> bool:
    """Every word of ``text`` splits into toneless pinyin syllables (what :meth:`from_pinyin`
    reads back into Chinese)."""
    tokens = text.split()
    return bool(tokens) and all(syllabify(t) is not None for t in tokens)


@lru_cache(maxsize=4096)
def syllabify(token: str) -> tuple[str, ...] | None:
    """Split ``token`` into the fewest toneless syllables ("shouxufei" -> shou xu fei), or None."""
    if not token.isalpha() or not token.isascii():
        return None
    known = pinyin_syllables()
    n = len(token)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for end in range(1, n + 1):
        for start in range(max(0, end - 6), end):
            prev = best[start]
            if prev is not None and token[start:end] in known:
                cand = (*prev, token[start:end])
                if best[end] is None or len(cand) < len(best[end] or ()):
                    best[end] = cand
    return best[n]


# Northern erhua: 儿 after a Chinese character is a suffix ("这会儿", "丁点儿", "事儿") unless
# it belongs to a word where 儿 means child (儿子, 女儿, 儿童, 婴儿, 孤儿, 健儿 …)
_ERHUA = re.compile(r"(?<=[\u4e00-\u9fff])(?<![女婴幼孤健男侄孙宠胎育])儿(?![子童女媳孙科歌])")


@dataclass(frozen=True)
class DialectFolder:
    """Rewrites Cantonese, northern, south-western and Taiwan wording to plain Mandarin.

    One regex alternation, longest phrase first, so "唔得闲" is read before "唔"; then,
    when ``erhua`` is on, the northern 儿 suffix is dropped ("丁点儿" → "丁点").
    """

    pattern: re.Pattern[str] | None
    table: dict[str, str]
    pinyin_singles: tuple[str, ...] = ()  # characters a lone pinyin syllable most likely means
    erhua: bool = False

    @classmethod
    def from_file(cls, path: Path) -> DialectFolder:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
        table: dict[str, str] = {}
        for src, dst in ((raw or {}).get("rewrites") or {}).items():
            key = normalize(str(src))
            if key:
                table[key] = normalize(str(dst))
        singles = tuple(normalize(str(c)) for c in (raw or {}).get("pinyin_singles") or [])
        erhua = bool((raw or {}).get("erhua"))
        if not table:
            return cls(None, {}, singles, erhua)
        alternatives = sorted(table, key=len, reverse=True)
        return cls(re.compile("|".join(re.escape(a) for a in alternatives)), table, singles,
                   erhua)

    def fold(self, norm: str) -> str:
        if not norm or norm.isascii():
            return norm
        if self.pattern is not None:
            norm = self.pattern.sub(lambda m: self.table[m.group(0)], norm)
        if self.erhua and "儿" in norm:
            norm = _ERHUA.sub("", norm)
        return norm


def _english_vocabulary(synonyms: dict[str, object]) -> set[str]:
    """English words of the phrase files: what an English typo may be corrected to."""
    parts: list[object] = [synonyms.get("concepts") or {}, synonyms.get("stopwords") or []]
    for path in _PHRASE_FILES:
        data = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}
        parts += [data.get("cues") or {}, data.get("not_service") or []]
        parts += [spec.get("match") or [] for spec in (data.get("intents") or {}).values()]
    return vocabulary_of(*parts)


def _userdict_words(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.split()[0] for ln in lines if ln.strip() and not ln.startswith("#")]


def _compile_concepts(raw: dict[str, list[str]],
                      norm_fn: Callable[[str], str] = normalize) -> _Concepts:
    multi: dict[str, str] = {}
    single: dict[str, str] = {}
    english: dict[str, str] = {}
    for concept, phrases in raw.items():
        for phrase in phrases or []:
            norm = norm_fn(str(phrase))
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
    longest = max((len(p.split()) for p in english), default=1)
    return _Concepts(pattern, multi, single, english, min(max(longest, 2), 6))


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
