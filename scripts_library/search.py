"""Find the right script for what a client said: the one search used everywhere.

:class:`ScriptIndex` is built once from the library. Each script becomes one
document whose features (see :mod:`scripts_library.analyze`) come from its
triggers (weighted highest), title, tags and text, in Chinese and English. A
query is scored with a hand-written sparse BM25 over postings of term counts
(numpy; idf and length normalisation are read at query time, so adding a team
script only touches that script's own postings), then the best candidates are
re-ranked with rapidfuzz similarity against their normalised triggers.

A query typed in toneless pinyin is first spelled back into known Chinese words;
dialect wording is folded to Mandarin by the analyzer. Whether the bot may answer
with the top script is decided by :func:`decide` alone: not a service request
(``services.yaml``), a high enough score, and the evidence the category needs
(``evidence.yaml``). Team scripts (``team_id`` set) are visible only to searches
with that team id.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from rapidfuzz import fuzz, process

from scripts_library.analyze import Analyzer, SoundIndex, get_analyzer
from scripts_library.category_model import (
    OFFTOPIC,
    CategoryModel,
    Example,
    cached,
    examples_from_scripts,
    load_examples,
    tokens,
    train,
)
from scripts_library.intents import QueryReader, ServiceIntent, get_reader
from scripts_library.schema import Script

__all__ = [
    "MAX_SEARCH_CHARS",
    "Hit",
    "ScriptIndex",
    "SearchResult",
    "Weights",
    "browsable",
    "decide",
]

log = logging.getLogger(__name__)

# queries longer than this are cut: a Telegram message can be 4,096 characters,
# but the objection is always stated well before that
MAX_SEARCH_CHARS = 600
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


@dataclass(frozen=True)
class Weights:
    """Tuning knobs (values chosen on tests/data/search_eval.yaml)."""

    triggers: float = 3.0
    title: float = 2.0
    tags: float = 1.0
    body: float = 0.0  # answer texts: 0 keeps 20,000 scripts small (tuning top-1 -0.4 pt)
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
    # confidence (see decide()) and the lift a hit gets when the query carries its evidence
    # round 3 (were 0.40 and 0.05): on tuning, 2 fewer off-topic lines and 1 fewer wrong confident
    confident_score: float = 0.43
    margin: float = 0.08
    evidence_bonus: float = 0.1
    # ranking only: a category the query gives evidence for goes ahead of one it does not
    # when it scores at most this much lower (the score shown and decided on keeps
    # ``evidence_bonus``); words shared across categories should not outrank the concept
    rank_bonus: float = 0.3
    # ranking only: the learned category model's probability for a hit's category, times
    # this, is added to its rank (see scripts_library.category_model); 0 turns it off
    model_rank: float = 2.0
    model_c: float = 0.5
    # the model's likeliest categories (up to this many, each at least ``model_floor``) get
    # their best script into the candidates even when BM25 did not find one: an indirect
    # line often shares no word with the right category's triggers
    model_inject: int = 3
    # a labelled customer line weighs this many script texts in training (it is worded like
    # a query; a trigger is worded like a heading)
    model_line_weight: float = 2.0
    # not confident when the model gives "not an objection" (trained on the tuning sets'
    # off-topic lines) at least this probability and more than the top hit's category;
    # 0 = never. Chosen by cross-validation: off-topic confident 9/440 -> 4/440 at no cost
    model_offtopic: float = 0.3
    model_floor: float = 0.05
    model_temperature: float = 4.0


@dataclass(frozen=True, slots=True)
class Hit:
    script: Script
    score: float  # 0..1


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit] = field(default_factory=list)
    confident: bool = False
    service: ServiceIntent | None = None  # a bank-service request: answer that, not a script
    reason: str = "empty"  # why (not) confident; see :func:`decide`

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None


@dataclass(frozen=True)
class _Doc:
    """What a query needs of one script after the index is built (no feature counts kept)."""

    script: Script
    triggers: tuple[str, ...]  # content words of each trigger, for fuzzy matching
    vocab: tuple[str, ...]  # trigger and title words: targets for homophone typos
    # the triggers as fuzzy matching compares them: (text, is English, word count)
    compare: tuple[tuple[str, bool, int], ...] = ()


@dataclass(frozen=True)
class _Posting:
    ids: np.ndarray  # int32 doc positions
    tfs: np.ndarray  # float32 weighted term counts


@dataclass(frozen=True)
class _Snapshot:
    """Immutable search structures. :meth:`ScriptIndex.add` makes a new snapshot that shares
    every array it does not touch, so a search in flight keeps a consistent view."""

    docs: tuple[_Doc, ...]
    alive: np.ndarray  # bool per doc position (a replaced or removed script is dead)
    team: np.ndarray  # int64 per doc, -1 = shared
    lengths: np.ndarray  # float64 per doc: sum of weighted term counts
    postings: dict[str, _Posting]
    live: int  # number of alive docs
    total_length: float  # sum of alive lengths
    sounds: SoundIndex
    positions: dict[str, int]  # script id -> doc position
    codes: np.ndarray  # int32 category code per doc
    categories: dict[str, int]  # category -> code
    # term -> its BM25 weight per posting, (k1 + 1) tf / (tf + k1 (1 - b + b len / avgdl)):
    # fixed for a snapshot, so computed on a term's first query, not on every query
    # (a new snapshot, made by add or remove, starts empty: avgdl moved)
    term_weights: dict[str, np.ndarray] = field(default_factory=dict, init=False,
                                                 compare=False, repr=False)

    @property
    def avgdl(self) -> float:
        return self.total_length / self.live if self.live else 1.0

    def idf(self, df: int) -> float:
        return math.log(1.0 + (self.live - df + 0.5) / (df + 0.5))


class _ModelSlot:
    """The category model an index and its :meth:`ScriptIndex.copy` twins share.

    Filled once: at build time, or later by the training thread (``ready`` is set then,
    whether a model came out or not), so a twin made before the model arrived gets it too.
    """

    __slots__ = ("model", "ready")

    def __init__(self, model: CategoryModel | None = None, *, ready: bool = True) -> None:
        self.model = model
        self.ready = threading.Event()
        if ready:
            self.ready.set()

    def install(self, model: CategoryModel | None) -> None:
        self.model = model  # one reference assignment: a search reads the old or the new
        self.ready.set()


@dataclass
class _Memo:
    """What a build computes once and reads many times: the words of each cleaned text
    (a trigger is segmented for its postings and again as a training text), and the
    features of each tag line (scripts share a few hundred tag lines between them)."""

    words: dict[str, list[str]] = field(default_factory=dict)
    tags: dict[str, Counter[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Training:
    """What training the category model needs, fixed when the index is built."""

    examples: list[Example]
    featurize: Callable[[str], Sequence[str]]
    c: float
    temperature: float


class ScriptIndex:
    """Search index over scripts; build once, then :meth:`search` many times.

    :meth:`add` and :meth:`remove` change only the postings of the script's own terms
    (BM25 statistics are read at query time), never re-analysing the other scripts.
    """

    def __init__(self, analyzer: Analyzer | None = None, weights: Weights | None = None,
                 reader: QueryReader | None = None):
        self.analyzer = analyzer or get_analyzer()
        self.weights = weights or Weights()
        self.reader = reader or (get_reader() if analyzer is None else QueryReader(self.analyzer))
        self._lock = threading.Lock()
        self._snap = self._compile([], [])
        self._slot = _ModelSlot()

    # ---------------------------------------------------------------- the model
    @property
    def model(self) -> CategoryModel | None:
        """The learned category model; None when turned off, or not trained yet (see
        :meth:`build`'s ``background``): search then ranks as with ``model_rank=0``."""
        return self._slot.model

    @model.setter
    def model(self, model: CategoryModel | None) -> None:
        # a slot of this index's own: twins made earlier keep theirs
        self._slot = _ModelSlot(model)

    def wait_for_model(self, timeout: float | None = None) -> bool:
        """Wait until no training is pending (the model installed, or training failed);
        False if ``timeout`` seconds passed first. True at once for a synchronous build."""
        return self._slot.ready.wait(timeout)

    # ---------------------------------------------------------------- building
    @classmethod
    def build(cls, scripts: Iterable[Script], *, analyzer: Analyzer | None = None,
              weights: Weights | None = None, examples: Iterable[Example] | None = None,
              background: bool = False) -> ScriptIndex:
        """Index ``scripts`` and train the category model on their wording plus ``examples``
        (labelled customer lines; default: ``scripts_library/examples.yaml``).

        ``background``: a model found in the cache is used at once; otherwise the index is
        returned as soon as its postings are compiled, and a daemon thread
        (``category-model``) trains the model and installs it (:meth:`wait_for_model`).
        Searches meanwhile rank without it. Training costs about 2.5 s of CPU however large
        the library (scikit-learn's import alone is 1 s), so a start after a content change
        serves that much sooner. A process that forks must wait for the model first.
        """
        index = cls(analyzer, weights)
        latest: dict[str, Script] = {}
        for script in scripts:
            latest[script.id] = script  # a later script with the same id replaces the earlier
        # shared by indexing and training; handed to the training thread whole once
        # indexing is done (never used by two threads at once)
        memo = _Memo()
        analysed = [index._analyze(s, memo) for s in latest.values()]
        index._snap = index._compile([d for d, _ in analysed], [f for _, f in analysed])
        training = index._training(latest.values(), examples, index._snap, memo)
        if training is None:
            return index
        if background:
            found, model = cached(index.analyzer, training.examples, c=training.c,
                                  temperature=training.temperature)
            if not found:
                slot = index._slot = _ModelSlot(ready=False)
                threading.Thread(target=index._train_later, args=(slot, training),
                                 name="category-model", daemon=True).start()
                return index
        else:
            model = index._train(training)
        index._slot = _ModelSlot(model)
        return index

    def _training(self, scripts: Iterable[Script], examples: Iterable[Example] | None,
                  snap: _Snapshot, memo: _Memo) -> _Training | None:
        if self.weights.model_rank <= 0:
            return None
        scripts = list(scripts)
        known = {s.category for s in scripts}
        lines = [replace(e, weight=self.weights.model_line_weight)
                 for e in (load_examples() if examples is None else examples)
                 if e.category in known or e.category == OFFTOPIC]

        def featurize(text: str) -> list[str]:
            # a training text is read exactly as a query is: cleaned, pinyin spelled back
            # (against the snapshot as built: a team script added meanwhile never counts)
            clean, words = self._prepare(text, snap, memo.words)
            return tokens(self.analyzer, clean, words)

        return _Training(examples_from_scripts(scripts) + lines, featurize,
                         self.weights.model_c, self.weights.model_temperature)

    def _train(self, training: _Training) -> CategoryModel | None:
        return train(self.analyzer, training.examples, featurize=training.featurize,
                     c=training.c, temperature=training.temperature)

    def _train_later(self, slot: _ModelSlot, training: _Training) -> None:
        """The training thread: train, then install the model for this index and its twins."""
        start, cpu = time.perf_counter(), time.thread_time()
        model: CategoryModel | None = None
        try:
            model = self._train(training)
        except Exception as exc:  # noqa: BLE001 - search goes on without the model
            log.warning("category model training failed (%s); search ranks without it",
                        type(exc).__name__, exc_info=True)
        else:
            log.info("category model ready: trained in the background in %.1f s "
                     "(CPU %.1f s)", time.perf_counter() - start, time.thread_time() - cpu)
        finally:
            slot.install(model)

    def _prepare(self, text: str, snap: _Snapshot | None = None,
                 memo: dict[str, list[str]] | None = None) -> tuple[str, list[str]]:
        """The cleaned form of ``text`` (pinyin spelled into known words) and its words."""
        snap = snap or self._snap
        clean = self.analyzer.clean(text, max_chars=MAX_SEARCH_CHARS)
        spelled = self.analyzer.from_pinyin(clean, snap.sounds) if clean else None
        if spelled:
            clean = spelled
        return clean, self._words(clean, memo)

    def _words(self, clean: str, memo: dict[str, list[str]] | None = None) -> list[str]:
        """``Analyzer.words``, remembered in ``memo`` while the index is being built (a
        trigger is segmented once for its postings and once more as a training text)."""
        if memo is None:
            return self.analyzer.words(clean)
        words = memo.get(clean)
        if words is None:
            words = memo[clean] = self.analyzer.words(clean)
        return list(words)

    def copy(self) -> ScriptIndex:
        """A second index sharing this one's data; adding to either leaves the other as it was.

        The twin shares the model slot too (categories do not change when a team adds a
        script): a model still being trained reaches both.
        """
        twin = ScriptIndex.__new__(ScriptIndex)
        twin.analyzer, twin.weights, twin.reader = self.analyzer, self.weights, self.reader
        twin._lock = threading.Lock()
        twin._snap = self._snap
        twin._slot = self._slot
        return twin

    def add(self, script: Script) -> None:
        """Add or replace one script (e.g. a team script saved at runtime), incrementally."""
        doc, feats = self._analyze(script)
        with self._lock:
            snap = self._kill(self._snap, script.id)
            pos = len(snap.docs)
            postings = dict(snap.postings)
            for term, tf in feats.items():
                old = postings.get(term)
                if old is None:
                    postings[term] = _Posting(np.array([pos], dtype=np.int32),
                                              np.array([tf], dtype=np.float32))
                else:
                    postings[term] = _Posting(np.append(old.ids, np.int32(pos)),
                                              np.append(old.tfs, np.float32(tf)))
            length = float(sum(feats.values()))
            words = [w for w in doc.vocab if w not in snap.sounds.known]
            categories = snap.categories
            if script.category not in categories:
                categories = {**categories, script.category: len(categories)}
            self._snap = replace(
                snap, codes=np.append(snap.codes, np.int32(categories[script.category])),
                categories=categories, docs=(*snap.docs, doc), alive=np.append(snap.alive, True),
                team=np.append(snap.team, _team(script)),
                lengths=np.append(snap.lengths, length), postings=postings,
                live=snap.live + 1, total_length=snap.total_length + length,
                sounds=snap.sounds.extended(words) if words else snap.sounds,
                positions={**snap.positions, script.id: pos})

    def remove(self, script_id: str) -> bool:
        """Drop a script; False if it was not indexed."""
        with self._lock:
            if script_id not in self._snap.positions:
                return False
            self._snap = self._kill(self._snap, script_id)
            return True

    @staticmethod
    def _kill(snap: _Snapshot, script_id: str) -> _Snapshot:
        pos = snap.positions.get(script_id)
        if pos is None:
            return snap
        alive = snap.alive.copy()
        alive[pos] = False
        positions = dict(snap.positions)
        del positions[script_id]
        return replace(snap, alive=alive, live=snap.live - 1,
                       total_length=snap.total_length - float(snap.lengths[pos]),
                       positions=positions)

    def __len__(self) -> int:
        return self._snap.live

    def __contains__(self, script_id: object) -> bool:
        return script_id in self._snap.positions

    def _analyze(self, script: Script, memo: _Memo | None = None) -> tuple[_Doc, Counter[str]]:
        a, w = self.analyzer, self.weights
        known = memo.words if memo is not None else None
        feats: Counter[str] = Counter()
        cleaned: list[str] = []
        for trig in script.triggers:
            clean = a.clean(trig)
            words = self._words(clean, known)  # segmented once: features and fuzzy matching
            cleaned.append(" ".join(words))
            a.features(None, clean=clean, weight=w.triggers, words=words, into=feats)
        title_clean = a.clean(script.title)
        title_words = self._words(title_clean, known)
        a.features(None, clean=title_clean, weight=w.title, words=title_words, into=feats)
        tags = " ".join(script.tags).replace("_", " ")
        if memo is None:
            a.features(tags, weight=w.tags, into=feats)
        else:
            counts = memo.tags.get(tags)
            if counts is None:
                counts = memo.tags[tags] = a.features(tags, weight=w.tags)
            for term, n in counts.items():  # exact sums: default weights are multiples of 0.5
                feats[term] += n
        for path, text in script.text_fields():
            if path.startswith("triggers") or path == "title":
                continue
            if path == "en.title":
                a.features(text, weight=w.title, into=feats)
            elif w.body > 0:
                a.body_features(_strip_templates(text), weight=w.body, into=feats)
        vocab = [w for c in cleaned for w in c.split()] + title_words
        triggers = tuple(c for c in cleaned if c)
        compare = tuple((t, True, len(t.split())) if t.isascii() else (t.replace(" ", ""), False, 0)
                        for t in triggers)
        return _Doc(script, triggers, tuple(vocab), compare), feats

    def _compile(self, docs: list[_Doc], feats: list[Counter[str]]) -> _Snapshot:
        # one pass in Python to number the terms, then numpy groups (term, doc) pairs:
        # far cheaper than growing a Python list per term for 20,000 scripts
        term_ids: dict[str, int] = {}
        tid_parts: list[np.ndarray] = []
        tf_parts: list[np.ndarray] = []
        doc_parts: list[np.ndarray] = []
        lengths = np.zeros(len(docs), dtype=np.float64)
        for i, f in enumerate(feats):
            if not f:
                continue
            setdefault = term_ids.setdefault
            tids = [setdefault(t, len(term_ids)) for t in f]
            tfs = np.fromiter(f.values(), dtype=np.float32, count=len(f))
            tid_parts.append(np.array(tids, dtype=np.int32))
            tf_parts.append(tfs)
            doc_parts.append(np.full(len(f), i, dtype=np.int32))
            lengths[i] = float(tfs.sum())
        postings: dict[str, _Posting] = {}
        if tid_parts:
            tid = np.concatenate(tid_parts)
            order = np.argsort(tid, kind="stable")  # stable: doc ids stay ascending
            tid, tf, doc = tid[order], np.concatenate(tf_parts)[order], np.concatenate(
                doc_parts)[order]
            bounds = np.flatnonzero(np.diff(tid)) + 1
            starts = np.concatenate(([0], bounds))
            ends = np.concatenate((bounds, [len(tid)]))
            names = list(term_ids)
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
                postings[names[int(tid[s])]] = _Posting(doc[s:e], tf[s:e])
        categories: dict[str, int] = {}
        codes = np.array([categories.setdefault(d.script.category, len(categories))
                          for d in docs], dtype=np.int32)
        return _Snapshot(
            codes=codes, categories=categories,
            docs=tuple(docs), alive=np.ones(len(docs), dtype=bool),
            team=np.array([_team(d.script) for d in docs], dtype=np.int64),
            lengths=lengths, postings=postings, live=len(docs),
            total_length=float(lengths.sum()),
            sounds=self.analyzer.sound_index(w for d in docs for w in d.vocab),
            positions={d.script.id: i for i, d in enumerate(docs)},
        )

    # ---------------------------------------------------------------- searching
    def search(self, query: str | None, *, team_id: int | None = None,
               limit: int = 5) -> SearchResult:
        """Best scripts for ``query`` (shared ones plus the team's own, if ``team_id``)."""
        snap = self._snap  # one consistent snapshot even if add() runs meanwhile
        text = query or ""
        clean = self.analyzer.clean(text, max_chars=MAX_SEARCH_CHARS)
        if not clean or not snap.live or limit <= 0:
            return SearchResult(query=text, reason="empty")
        spelled = self.analyzer.from_pinyin(clean, snap.sounds)
        if spelled:
            clean = spelled
        words = self.analyzer.words(clean)  # segmented once for features and evidence
        view = self.reader.view(clean, words)
        service = self.reader.service(clean, view)
        qfeats = self._query_features(clean, snap, words)
        if not qfeats:
            return SearchResult(query=text, service=service,
                                reason="service" if service else "empty")
        concepts = {t[1:] for t in qfeats if t[0] == "@"}
        supported = self.reader.supported(concepts, view)
        bm25 = self._bm25(qfeats, snap)
        allowed = snap.alive & ((snap.team == -1) | (
            snap.team == (team_id if team_id is not None else -2)))
        bm25[~allowed] = -1.0
        k = min(self.weights.candidates, len(bm25))
        cand = np.argpartition(-bm25, k - 1)[:k]
        cand = cand[bm25[cand] > 0]
        model = self.model
        probs = model.probabilities(tokens(self.analyzer, clean, words)) if model else {}
        if cand.size and probs:
            cand = self._with_likely_categories(cand, probs, bm25, allowed, snap)
        if cand.size == 0:
            return SearchResult(query=text, service=service,
                                reason="service" if service else "no_match")
        content = " ".join(words)
        fz = _fuzzy_best(content, [snap.docs[i].compare for i in cand.tolist()])
        w = self.weights
        fz = np.maximum(0.0, (fz - w.fuzzy_floor) / (1.0 - w.fuzzy_floor))
        final = np.clip(w.blend * np.minimum(1.0, w.bm25_gain * bm25[cand])
                        + (1.0 - w.blend) * fz, 0.0, 1.0)
        scored = self._support([(float(f), int(i)) for f, i in zip(final, cand, strict=True)],
                               snap)
        bonus, lead = self.weights.evidence_bonus, self.weights.rank_bonus
        learned = self.weights.model_rank
        ranked = []
        for s, i in scored:
            category = snap.docs[i].script.category
            backed = category in supported
            rank = s + (lead if backed else 0.0) + learned * probs.get(category, 0.0)
            ranked.append((rank, min(1.0, s + bonus) if backed else s, i))
        ranked.sort(key=lambda r: (-r[0], r[2]))
        scored = [(s, i) for _, s, i in ranked]
        # decided on every candidate, so the answer does not depend on ``limit``
        confident, reason = decide([Hit(snap.docs[i].script, s) for s, i in scored], supported,
                                   service, self.weights, readings=probs)
        if not confident:
            scored = _one_per_category_first(scored, snap)
        hits = [Hit(snap.docs[i].script, round(s, 4)) for s, i in scored[:limit]]
        return SearchResult(query=text, hits=hits, confident=confident, service=service,
                            reason=reason)

    def _with_likely_categories(self, cand: np.ndarray, probs: dict[str, float],
                                bm25: np.ndarray, allowed: np.ndarray,
                                snap: _Snapshot) -> np.ndarray:
        """``cand`` plus the best-matching script of each likely category it lacks."""
        w = self.weights
        have = set(snap.codes[cand].tolist())
        extra: list[int] = []
        for category in sorted(probs, key=probs.__getitem__, reverse=True)[: w.model_inject]:
            if probs[category] < w.model_floor:
                break
            code = snap.categories.get(category)
            if code is None or code in have:
                continue
            members = np.flatnonzero(allowed & (snap.codes == code))
            if members.size:
                extra.append(int(members[np.argmax(bm25[members])]))
        if not extra:
            return cand
        return np.concatenate([cand, np.array(extra, dtype=cand.dtype)])

    def _query_features(self, clean: str, snap: _Snapshot,
                        words: list[str] | None = None) -> dict[str, float]:
        w = self.weights
        channel = {"w": w.q_word, "@": w.q_concept, "&": w.q_pair, "b": w.q_bigram,
                   "p": w.q_pinyin}
        feats = self.analyzer.features(None, clean=clean, sounds=snap.sounds, words=words)
        # repeated words in a ramble should not outweigh the point being made
        return {t: channel[t[0]] * min(c, 2.0) for t, c in feats.items() if c > 0}

    def _bm25(self, qfeats: dict[str, float], snap: _Snapshot) -> np.ndarray:
        """BM25 normalised by the best a document could score for this query.

        Every term's postings are gathered and summed per document in one ``bincount``
        (in term order, as adding term by term did): a numpy call per query, not five per
        query term.
        """
        parts: list[float] = []
        k1 = self.weights.k1
        default_idf = snap.idf(1)  # an unknown word: as rare as can be
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        factors: list[float] = []
        for term, qw in qfeats.items():
            posting = snap.postings.get(term)
            df = 0 if posting is None else len(posting.ids) if snap.live == len(
                snap.docs) else int(np.count_nonzero(snap.alive[posting.ids]))
            if posting is None or df == 0:
                # an unknown word counts against confidence, mildly; unknown bigrams,
                # pinyin and concept pairs only re-encode words already counted (a word
                # only a removed script had is as unknown as one never indexed)
                if term[0] == "w":
                    parts.append(qw * default_idf * 0.5 * (k1 + 1.0))
                continue
            idf = snap.idf(df)
            ids.append(posting.ids)
            weights.append(self._term_weights(term, posting, snap))
            factors.append(qw * idf)
            parts.append(qw * idf * (k1 + 1.0))
        if ids:
            lengths = [len(i) for i in ids]
            scores = np.bincount(np.concatenate(ids),
                                 weights=np.repeat(factors, lengths) * np.concatenate(weights),
                                 minlength=len(snap.docs)).astype(np.float64, copy=False)
        else:
            scores = np.zeros(len(snap.docs), dtype=np.float64)
        # the ceiling counts the query's strongest terms only, so a long ramble that
        # states the objection somewhere is not drowned by its other words
        parts.sort(reverse=True)
        ceiling = sum(parts[: self.weights.ceiling_terms])
        return scores / ceiling if ceiling > 0 else scores

    def _term_weights(self, term: str, posting: _Posting, snap: _Snapshot) -> np.ndarray:
        weights = snap.term_weights.get(term)
        if weights is None:
            k1, b = self.weights.k1, self.weights.b
            tfs = posting.tfs.astype(np.float64)
            norm = k1 * (1.0 - b + b * snap.lengths[posting.ids] / snap.avgdl)
            weights = snap.term_weights[term] = tfs * (k1 + 1.0) / (tfs + norm)
        return weights

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


def decide(hits: list[Hit], supported: set[str], service: ServiceIntent | None,
           weights: Weights | None = None,
           readings: dict[str, float] | None = None) -> tuple[bool, str]:
    """THE confidence rule, used by the bot, inline mode and ``coach scripts search``.

    Confident only when the query is not a service request, the top hit scores at least
    ``confident_score``, the query carries the evidence its category needs
    (``evidence.yaml``), and no other category that the query also gives evidence for
    comes within ``margin`` of it (two plausible readings: let the advisor choose), and the
    category model (``readings``: category -> probability, with ``~offtopic`` for "not an
    objection") does not read the line as off-topic: at least ``model_offtopic`` and more
    than the top hit's category. ``hits`` are all the ranked candidates. Returns
    ``(confident, reason)``; reason is one of ok, service, no_match, low_score,
    no_evidence, ambiguous, not_objection.
    """
    w = weights or Weights()
    if service is not None:
        return False, "service"
    if not hits:
        return False, "no_match"
    top = hits[0]
    if top.script.category not in supported:
        return False, "no_evidence"
    if top.score < w.confident_score:
        return False, "low_score"
    for other in hits[1:]:
        category = other.script.category
        if category != top.script.category and category in supported:
            if top.score - other.score < w.margin:
                return False, "ambiguous"
            break  # hits are sorted: the first competitor is the closest
    off = (readings or {}).get(OFFTOPIC, 0.0)
    if 0 < w.model_offtopic <= off and off > (readings or {}).get(top.script.category, 0.0):
        return False, "not_objection"
    return True, "ok"


# inline mode is browsing: besides confident answers it lists scripts whose own phrasing
# the query matches this closely (2 of 67 off-topic tuning lines reach it)
BROWSE_SCORE = 0.7


def browsable(result: SearchResult) -> list[Hit]:
    """Hits inline mode may list: none for a service request, all when confident, and
    otherwise only when the top hit is a near-exact match (a team script's own title)."""
    if result.service is not None or not result.hits:
        return []
    if result.confident or result.hits[0].score >= BROWSE_SCORE:
        return result.hits
    return []


def _one_per_category_first(scored: list[tuple[float, int]],
                            snap: _Snapshot) -> list[tuple[float, int]]:
    """When unsure, the closest guesses should be different readings of the query: the best
    hit of each category in rank order first, then the rest (a sure answer keeps its
    category's alternatives next to it)."""
    seen: set[str] = set()
    first: list[tuple[float, int]] = []
    rest: list[tuple[float, int]] = []
    for item in scored:
        category = snap.docs[item[1]].script.category
        (rest if category in seen else first).append(item)
        seen.add(category)
    return first + rest


def _team(script: Script) -> int:
    return -1 if script.team_id is None else script.team_id


def _fuzzy_best(query: str, groups: list[tuple[tuple[str, bool, int], ...]]) -> np.ndarray:
    """Best :func:`_fuzzy` of ``query`` against each group of triggers, computed in C.

    Same formula as :func:`_fuzzy` (kept as the readable reference), batched through
    ``rapidfuzz.process.cdist`` so forty candidates cost one call, not two hundred.
    ``groups`` hold each candidate's triggers as ``_Doc.compare`` stores them.
    """
    best = np.zeros(len(groups), dtype=np.float64)
    q = query.replace(" ", "") if not query.isascii() else query
    if not q:
        return best
    ascii_q = q.isascii()
    texts: list[str] = []
    owners: list[int] = []
    counts: list[int] = []
    for g, triggers in enumerate(groups):
        for text, is_ascii, n_words in triggers:
            if is_ascii == ascii_q:
                texts.append(text)
                owners.append(g)
                counts.append(n_words)
    if not texts:
        return best
    own = np.array(owners, dtype=np.int64)
    if ascii_q:
        ratio = process.cdist([q], texts, scorer=fuzz.token_set_ratio)[0] / 100.0
        qn = len(q.split())
        tn = np.array(counts, dtype=np.float64)
        coverage = np.minimum(qn, tn) / np.maximum(np.maximum(qn, tn), 1.0)
        score = ratio * (0.5 + 0.5 * coverage)
    else:
        whole = process.cdist([q], texts, scorer=fuzz.ratio)[0] / 100.0
        part = process.cdist([q], texts, scorer=fuzz.partial_ratio)[0] / 100.0
        tl = np.fromiter((len(t) for t in texts), dtype=np.float64, count=len(texts))
        short = np.minimum(len(q), tl)
        coverage = short / np.maximum(len(q), tl)
        part = part * (0.65 + 0.35 * coverage) * np.minimum(1.0, short / 6.0)
        score = np.where(short < 3, whole, np.maximum(whole, part))
    np.maximum.at(best, own, score)
    return best


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
