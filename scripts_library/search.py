"""Find the right script for what a client said: the one search used everywhere.

:class:`ScriptIndex` is built once from the library. Each script becomes one
document whose features (see :mod:`scripts_library.analyze`) come from its
triggers (weighted highest), title, tags and text, in Chinese and English. A
query is scored with a hand-written sparse BM25 over precomputed postings
(numpy), then the best candidates are re-ranked with rapidfuzz similarity
against their normalised triggers. Nothing is re-read or re-segmented per query.

Scores are 0..1; ``SearchResult.confident`` says whether the top hit clears
:data:`STRONG_THRESHOLD`, or :data:`CONFIDENCE_THRESHOLD` while sharing a concept or
two words with the query (otherwise the bot should offer choices instead).
Team scripts (``team_id`` set) are visible only to searches with that team id.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from scripts_library.analyze import Analyzer, SoundIndex, get_analyzer
from scripts_library.schema import Script

__all__ = [
    "CONFIDENCE_THRESHOLD",
    "STRONG_THRESHOLD",
    "MAX_SEARCH_CHARS",
    "Hit",
    "ScriptIndex",
    "SearchResult",
    "Weights",
]

# queries longer than this are cut: a Telegram message can be 4,096 characters,
# but the objection is always stated well before that
MAX_SEARCH_CHARS = 600
CONFIDENCE_THRESHOLD = 0.30
# at or above this, a hit is confident without the shared-words check
STRONG_THRESHOLD = 0.45

_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


@dataclass(frozen=True)
class Weights:
    """Tuning knobs (values chosen on tests/data/search_eval.yaml)."""

    triggers: float = 3.0
    title: float = 2.0
    tags: float = 1.0
    body: float = 0.5
    # query-side channel weights
    q_word: float = 1.0
    q_concept: float = 2.2
    q_pair: float = 1.2
    q_bigram: float = 0.3
    q_pinyin: float = 0.4
    k1: float = 1.2
    b: float = 0.75
    # final score = blend * min(1, bm25_gain * bm25) + (1 - blend) * rescaled fuzzy
    blend: float = 0.6
    bm25_gain: float = 1.6
    fuzzy_floor: float = 0.3  # unrelated short Chinese strings already score ~0.3
    # a hit is supported by the best other hit of its category (objections cluster)
    category_support: float = 0.3
    candidates: int = 40
    ceiling_terms: int = 25


@dataclass(frozen=True, slots=True)
class Hit:
    script: Script
    score: float  # 0..1


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit] = field(default_factory=list)
    confident: bool = False

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None


@dataclass(frozen=True)
class _Doc:
    script: Script
    features: Counter[str]
    triggers: tuple[str, ...]  # content words of each trigger, for fuzzy matching
    vocab: tuple[str, ...]  # trigger and title words: targets for homophone typos


@dataclass(frozen=True)
class _Snapshot:
    """Immutable search structures; replaced wholesale when scripts change."""

    docs: tuple[_Doc, ...]
    team: np.ndarray  # int64 per doc, -1 = shared
    postings: dict[str, tuple[np.ndarray, np.ndarray]]  # term -> (doc ids, impacts)
    idf: dict[str, float]
    default_idf: float
    sounds: SoundIndex


class ScriptIndex:
    """Search index over scripts; build once, then :meth:`search` many times."""

    def __init__(self, analyzer: Analyzer | None = None, weights: Weights | None = None):
        self.analyzer = analyzer or get_analyzer()
        self.weights = weights or Weights()
        self._docs: dict[str, _Doc] = {}
        self._lock = threading.Lock()
        self._snap = self._compile([])

    # ---------------------------------------------------------------- building
    @classmethod
    def build(cls, scripts: Iterable[Script], *, analyzer: Analyzer | None = None,
              weights: Weights | None = None) -> ScriptIndex:
        index = cls(analyzer, weights)
        for script in scripts:
            index._docs[script.id] = index._analyze(script)
        index._snap = index._compile(list(index._docs.values()))
        return index

    def add(self, script: Script) -> None:
        """Add or replace a script (e.g. a team script saved at runtime)."""
        doc = self._analyze(script)
        with self._lock:
            self._docs[script.id] = doc
            self._snap = self._compile(list(self._docs.values()))

    def remove(self, script_id: str) -> bool:
        """Drop a script; False if it was not indexed."""
        with self._lock:
            if self._docs.pop(script_id, None) is None:
                return False
            self._snap = self._compile(list(self._docs.values()))
            return True

    def __len__(self) -> int:
        return len(self._snap.docs)

    def __contains__(self, script_id: object) -> bool:
        return script_id in self._docs

    def _analyze(self, script: Script) -> _Doc:
        a, w = self.analyzer, self.weights
        feats: Counter[str] = Counter()
        cleaned: list[str] = []
        for trig in script.triggers:
            clean = a.clean(trig)
            cleaned.append(a.content(clean))
            feats.update(a.features(None, clean=clean, weight=w.triggers))
        feats.update(a.features(script.title, weight=w.title))
        feats.update(a.features(" ".join(script.tags).replace("_", " "), weight=w.tags))
        for path, text in script.text_fields():
            if path.startswith("triggers") or path == "title":
                continue
            short = path == "en.title"
            feats.update(a.features(_strip_templates(text), weight=w.title if short else w.body,
                                    concepts=short))
        vocab = [w for c in cleaned for w in c.split()] + a.words(a.clean(script.title))
        return _Doc(script, feats, tuple(c for c in cleaned if c), tuple(vocab))

    def _compile(self, docs: list[_Doc]) -> _Snapshot:
        w = self.weights
        n = len(docs)
        lengths = np.array([sum(d.features.values()) for d in docs], dtype=np.float64)
        avgdl = float(lengths.mean()) if n else 1.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.features.keys())
        idf = {t: math.log(1.0 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        rows: dict[str, tuple[list[int], list[float]]] = {}
        for i, d in enumerate(docs):
            norm = w.k1 * (1.0 - w.b + w.b * lengths[i] / avgdl)
            for term, tf in d.features.items():
                ids, imps = rows.setdefault(term, ([], []))
                ids.append(i)
                imps.append(idf[term] * tf * (w.k1 + 1.0) / (tf + norm))
        postings = {t: (np.array(ids, dtype=np.int32), np.array(imps, dtype=np.float64))
                    for t, (ids, imps) in rows.items()}
        team = np.array([-1 if d.script.team_id is None else d.script.team_id for d in docs],
                        dtype=np.int64)
        return _Snapshot(
            docs=tuple(docs), team=team, postings=postings, idf=idf,
            default_idf=math.log(1.0 + (n - 0.5) / 1.5) if n else 1.0,  # as if df = 1
            sounds=self.analyzer.sound_index(w for d in docs for w in d.vocab),
        )

    # ---------------------------------------------------------------- searching
    def search(self, query: str | None, *, team_id: int | None = None,
               limit: int = 5) -> SearchResult:
        """Best scripts for ``query`` (shared ones plus the team's own, if ``team_id``)."""
        snap = self._snap  # one consistent snapshot even if add() runs meanwhile
        text = query or ""
        clean = self.analyzer.clean(text, max_chars=MAX_SEARCH_CHARS)
        if not clean or not snap.docs or limit <= 0:
            return SearchResult(query=text)
        qfeats = self._query_features(clean, snap)
        if not qfeats:
            return SearchResult(query=text)
        bm25 = self._bm25(qfeats, snap)
        allowed = (snap.team == -1) | (snap.team == (team_id if team_id is not None else -2))
        bm25[~allowed] = -1.0
        k = min(self.weights.candidates, len(bm25))
        cand = np.argpartition(-bm25, k - 1)[:k]
        cand = cand[bm25[cand] > 0]
        if cand.size == 0:
            return SearchResult(query=text)
        content = self.analyzer.content(clean)
        scored = self._support([(self._final(bm25[i], content, snap.docs[i]), int(i))
                                for i in cand], snap)
        scored.sort(key=lambda s: (-s[0], s[1]))
        hits = [Hit(snap.docs[i].script, round(s, 4)) for s, i in scored[:limit]]
        top = snap.docs[scored[0][1]]
        confident = hits[0].score >= STRONG_THRESHOLD or (
            hits[0].score >= CONFIDENCE_THRESHOLD and _enough_evidence(qfeats, top))
        return SearchResult(query=text, hits=hits, confident=confident)

    def _query_features(self, clean: str, snap: _Snapshot) -> dict[str, float]:
        w = self.weights
        channel = {"w": w.q_word, "@": w.q_concept, "&": w.q_pair, "b": w.q_bigram,
                   "p": w.q_pinyin}
        feats = self.analyzer.features(None, clean=clean, sounds=snap.sounds)
        # repeated words in a ramble should not outweigh the point being made
        return {t: channel[t[0]] * min(c, 2.0) for t, c in feats.items() if c > 0}

    def _bm25(self, qfeats: dict[str, float], snap: _Snapshot) -> np.ndarray:
        """BM25 normalised by the best a document could score for this query."""
        scores = np.zeros(len(snap.docs), dtype=np.float64)
        parts: list[float] = []
        k1 = self.weights.k1
        for term, qw in qfeats.items():
            posting = snap.postings.get(term)
            if posting is None:
                # an unknown word counts against confidence, mildly; unknown bigrams,
                # pinyin and concept pairs only re-encode words already counted
                if term[0] == "w":
                    parts.append(qw * snap.default_idf * 0.5 * (k1 + 1.0))
                continue
            ids, impacts = posting
            scores[ids] += qw * impacts
            parts.append(qw * snap.idf[term] * (k1 + 1.0))
        # the ceiling counts the query's strongest terms only, so a long ramble that
        # states the objection somewhere is not drowned by its other words
        parts.sort(reverse=True)
        ceiling = sum(parts[: self.weights.ceiling_terms])
        return scores / ceiling if ceiling > 0 else scores

    def _final(self, bm25: float, content: str, doc: _Doc) -> float:
        w = self.weights
        fz = max((_fuzzy(content, t) for t in doc.triggers), default=0.0)
        fz = max(0.0, (fz - w.fuzzy_floor) / (1.0 - w.fuzzy_floor))
        return float(min(1.0, max(0.0, w.blend * min(1.0, w.bm25_gain * bm25)
                                  + (1.0 - w.blend) * fz)))

    def _support(self, scored: list[tuple[float, int]], snap: _Snapshot) -> list[tuple[float, int]]:
        """Blend each hit with the best other hit of the same category."""
        cs = self.weights.category_support
        if cs <= 0:
            return scored
        best: dict[str, list[float]] = {}
        for score, i in scored:
            top2 = best.setdefault(snap.docs[i].script.category, [])
            top2.append(score)
            top2.sort(reverse=True)
            del top2[2:]
        out = []
        for score, i in scored:
            top2 = best[snap.docs[i].script.category]
            second = top2[1] if len(top2) > 1 else 0.0
            other = second if score >= top2[0] else top2[0]
            out.append(((score + cs * other) / (1.0 + cs), i))
        return out


def _enough_evidence(qfeats: dict[str, float], doc: _Doc) -> bool:
    """A confident answer shares a concept, or at least two words, with the query.

    One shared word ("好听" in a question about a pop song) can score well on a
    short query but means nothing.
    """
    shared = [t for t in qfeats if t[0] in "w@" and t in doc.features]
    return any(t[0] == "@" for t in shared) or len(shared) >= 2


def _fuzzy(query: str, trigger: str) -> float:
    """Similarity 0..1 of two cleaned strings; containment counts, scaled by length."""
    q, t = query.replace(" ", "") if not query.isascii() else query, trigger
    t = t.replace(" ", "") if not t.isascii() else t
    if not q or not t:
        return 0.0
    if q.isascii() or t.isascii():
        # English: compare words, not characters (partial character runs are noise); a
        # word set contained in the other scores 100, so scale by how much of the longer
        # phrase the shorter one covers ("money" alone is not "I have no money")
        if not (q.isascii() and t.isascii()):
            return 0.0
        q_words, t_words = q.split(), t.split()
        coverage = min(len(q_words), len(t_words)) / max(len(q_words), len(t_words))
        return fuzz.token_set_ratio(q, t) / 100.0 * (0.5 + 0.5 * coverage)
    whole = fuzz.ratio(q, t) / 100.0
    short, long_ = (q, t) if len(q) <= len(t) else (t, q)
    if len(short) < 3:
        return whole
    part = fuzz.partial_ratio(short, long_) / 100.0
    coverage = len(short) / len(long_)
    part *= (0.65 + 0.35 * coverage) * min(1.0, len(short) / 6.0)
    return max(whole, part)


def _strip_templates(text: str) -> str:
    return _TEMPLATE.sub(" ", text)
