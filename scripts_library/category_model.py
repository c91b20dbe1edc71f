"""A small learned model of which category a customer's line belongs to.

BM25 and fuzzy matching (``scripts_library.search``) reward the words a script's own
triggers use; an indirect objection ("回家还得过我媳妇那一关", "not today, but maybe down
the line") shares few of them. This model generalises from wording we own: every script's
triggers, titles and the step where the advisor restates the customer's worry, per
category, plus the labelled tuning lines (``scripts_library/examples.yaml``, exported from
the tuning sets by ``python -m tools.search_examples``; the dev and held-out sets never).

Features are TF-IDF (sublinear, l2) over the text as search reads it (Traditional folded to
Simplified, dialect folded to Mandarin, the advisor's framing removed):

* ``c:`` character 1-3 grams of each Chinese run (robust to segmentation and new words),
* ``w:`` words and ``v:`` word pairs (jieba; English words stemmed),
* ``@`` concepts of ``synonyms.yaml`` (so a synonym added later helps the model too),
* ``e:`` character 3-5 grams inside English words (typos, forms the stemmer misses).

A linear support-vector classifier (scikit-learn's ``LinearSVC``, one-vs-rest, fixed seed:
the same data gives the same model; it fits in under a second where a logistic regression
took 20 s and was no more accurate in cross-validation on the tuning lines) is trained when
the index is built (or, for a running bot, in a thread just after: ``ScriptIndex.build``'s
``background``, which first asks :func:`cached`). Its margins become probabilities with a
softmax at a fixed temperature.
A trained model is kept in memory and on disk (:func:`cache_dir`) under a hash of its
training data, settings and the analyzer's data files, so a restart loads it instead of
training again. Queries are scored by hand with numpy on the stored vocabulary, idf and
weights: a query never calls scikit-learn.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from scripts_library.analyze import Analyzer
from scripts_library.schema import Script

__all__ = ["EXAMPLES_FILE", "CategoryModel", "Example", "cache_dir", "cache_key", "cached",
           "examples_from_scripts", "load_examples", "tokens", "train"]

log = logging.getLogger(__name__)

EXAMPLES_FILE = Path(__file__).resolve().parent / "examples.yaml"
# the class of lines that are not objections at all (small talk, market chatter, errands,
# general questions, service requests): trained from the tuning sets' off-topic lines
OFFTOPIC = "~offtopic"
SEED = 7
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ASCII = re.compile(r"[a-z][a-z']+")


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    weight: float = 1.0


def tokens(analyzer: Analyzer, clean: str, words: Sequence[str] | None = None) -> list[str]:
    """The model's features of one cleaned text (see the module docstring)."""
    if not clean:
        return []
    words = list(analyzer.words(clean) if words is None else words)
    out = ["w:" + w for w in words]
    out += ["v:" + a + "_" + b for a, b in zip(words, words[1:], strict=False)]
    out += ["@" + c for c in sorted(analyzer.concepts(clean, words))]
    for run in _CJK.findall(clean):
        for n in (1, 2, 3):
            out += ["c:" + run[i: i + n] for i in range(len(run) - n + 1)]
    for word in _ASCII.findall(clean):
        padded = f"<{word}>"
        for n in (3, 4, 5):
            out += ["e:" + padded[i: i + n] for i in range(len(padded) - n + 1)]
    return out


@dataclass(frozen=True)
class CategoryModel:
    """Trained weights; :meth:`probabilities` scores one query's tokens."""

    classes: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: np.ndarray  # float64 per feature
    coef: np.ndarray  # float64, (features, classes): one row per feature for cheap lookup
    intercept: np.ndarray  # float64 per class
    temperature: float = 4.0  # softmax(temperature * margin)

    def probabilities(self, toks: Iterable[str]) -> dict[str, float]:
        """Category -> probability (they sum to 1 over the known categories)."""
        counts: Counter[int] = Counter()
        vocab = self.vocabulary
        for t in toks:
            j = vocab.get(t)
            if j is not None:
                counts[j] += 1
        scores = self.intercept.copy()
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            x = (1.0 + np.log(tf)) * self.idf[idx]
            x /= math.sqrt(float(x @ x)) or 1.0
            scores = scores + x @ self.coef[idx]
        scores = np.exp(self.temperature * (scores - scores.max()))
        scores /= scores.sum()
        return dict(zip(self.classes, scores.tolist(), strict=True))


# texts per category taken from the scripts: the real library has at most 164, and a cap
# keeps training time flat for a library of 20,000 scripts (the first scripts in file order)
MAX_PER_CATEGORY = 200


def examples_from_scripts(scripts: Iterable[Script],
                          per_category: int = MAX_PER_CATEGORY) -> list[Example]:
    """What each shared script says about its category: triggers, titles, the restated worry."""
    out: list[Example] = []
    taken: Counter[str] = Counter()
    for s in scripts:
        if s.team_id is not None or taken[s.category] >= per_category:
            continue  # a team's own wording must not shape other teams' searches
        texts = [*s.triggers, s.title]
        if s.steps is not None:
            texts.append(s.steps.restate)
        if s.en is not None:
            texts.append(s.en.title)
            if s.en.steps is not None:
                texts.append(s.en.steps.restate)
        texts = [t for t in texts if t and t.strip()][: per_category - taken[s.category]]
        taken[s.category] += len(texts)
        out += [Example(t, s.category) for t in texts]
    return out


def load_examples(path: Path = EXAMPLES_FILE) -> list[Example]:
    """Labelled customer lines (tuning sets only) shipped with the library."""
    if not path.exists():
        return []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is 10x faster
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506
    return [Example(str(e["q"]), str(e["category"])) for e in data.get("examples") or []]


# bump when tokens() or the training changes: cached models of another version are ignored
VERSION = 1
_MEMORY: dict[str, CategoryModel | None] = {}
_MEMORY_SIZE = 8
# models kept on disk: each content change trains a new one (9-18 MB), older ones only
# serve a rollback, so the cache folder never grows without bound
DISK_KEEP = 4
_lock = threading.Lock()  # guards _MEMORY
_training = threading.Lock()  # one fit at a time (the same model is never trained twice)


def cache_dir() -> Path | None:
    """Where trained models are kept between processes (``COACH_MODEL_CACHE``; ``off`` for
    none; default ``$XDG_CACHE_HOME/advisor-coach`` or ``~/.cache/advisor-coach``)."""
    configured = os.environ.get("COACH_MODEL_CACHE", "").strip()
    if configured.lower() in {"off", "0", "none"}:
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "advisor-coach"


Featurize = Callable[[str], Sequence[str]]


def cache_key(analyzer: Analyzer, examples: Sequence[Example], *, variant: str = "",
              c: float = 0.5, temperature: float = 4.0) -> str:
    """The name a model for these examples and settings is cached under (memory and disk)."""
    payload = repr((VERSION, variant, c, temperature, analyzer.fingerprint,
                    [(e.text, e.category, e.weight) for e in examples]))
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()


def cached(analyzer: Analyzer, examples: Sequence[Example], *, variant: str = "",
           c: float = 0.5, temperature: float = 4.0) -> tuple[bool, CategoryModel | None]:
    """``(found, model)`` from the memory or disk cache only: never imports scikit-learn,
    never trains (milliseconds). Same arguments and key as :func:`train`; ``found`` is
    False when only training can make the model."""
    return _cached(cache_key(analyzer, examples, variant=variant, c=c,
                             temperature=temperature))


def train(analyzer: Analyzer, examples: Sequence[Example], *,
          featurize: Featurize | None = None, variant: str = "", c: float = 0.5,
          temperature: float = 4.0) -> CategoryModel | None:
    """A model for ``examples`` (None with fewer than two categories).

    ``featurize`` turns a raw text into the model's features exactly as a query's are made
    (default: :func:`tokens` of the cleaned text); ``variant`` names anything else the
    features depend on, for the cache key. The model is cached in memory and on disk
    (:func:`cache_dir`) under a hash of the examples, the settings and the analyzer's data
    files, so a restart or a second index over the same library loads it in milliseconds
    instead of training again (:func:`cached` looks there alone). One model is trained at a
    time in a process: a second caller wanting the same one waits and then reuses it.
    """
    key = cache_key(analyzer, examples, variant=variant, c=c, temperature=temperature)
    found, model = _cached(key)
    if found:
        return model
    with _training:
        found, model = _cached(key)  # trained by another thread while this one waited
        if found:
            return model
        model = _fit(analyzer, examples, c, temperature, featurize)
        path = _path(key)
        if model is not None and path is not None:
            _save(model, path)
        _remember(key, model)
    return model


def _path(key: str) -> Path | None:
    folder = cache_dir()
    return folder / f"category-model-{key}.npz" if folder else None


def _cached(key: str) -> tuple[bool, CategoryModel | None]:
    with _lock:
        if key in _MEMORY:
            return True, _MEMORY[key]
    path = _path(key)
    model = _load(path) if path is not None and path.exists() else None
    if model is None:
        return False, None
    _remember(key, model)
    return True, model


def _remember(key: str, model: CategoryModel | None) -> None:
    with _lock:
        while len(_MEMORY) >= _MEMORY_SIZE:
            del _MEMORY[next(iter(_MEMORY))]
        _MEMORY[key] = model


def _save(model: CategoryModel, path: Path) -> None:
    """Write atomically; a cache that cannot be written only costs the next start time."""
    vocab = sorted(model.vocabulary, key=model.vocabulary.__getitem__)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as fh:
            np.savez(fh, classes=np.array(model.classes), vocabulary=np.array(vocab),
                     idf=model.idf, coef=model.coef.astype(np.float32),
                     intercept=model.intercept, temperature=np.array(model.temperature))
        os.replace(fh.name, path)
    except OSError as exc:
        log.debug("category model not cached at %s: %s", path, exc)
        return
    _evict(path.parent, keep=path)


def _evict(folder: Path, *, keep: Path) -> None:
    """Remove all but the :data:`DISK_KEEP` most recently written models (never ``keep``)."""
    def written(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:  # removed meanwhile by another process
            return 0.0

    models = sorted(folder.glob("category-model-*.npz"), key=written, reverse=True)
    for old in [p for p in models if p != keep][DISK_KEEP - 1:]:
        try:
            old.unlink()
        except OSError as exc:  # another instance removed it first, or read-only
            log.debug("old category model %s not removed: %s", old, exc)


def _load(path: Path) -> CategoryModel | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            vocab = data["vocabulary"].tolist()
            return CategoryModel(
                tuple(data["classes"].tolist()), {t: j for j, t in enumerate(vocab)},
                data["idf"].astype(np.float64), data["coef"].astype(np.float64),
                data["intercept"].astype(np.float64), float(data["temperature"]))
    except (OSError, KeyError, ValueError) as exc:
        log.debug("category model cache %s unreadable: %s", path, exc)
        return None


def _fit(analyzer: Analyzer, examples: Sequence[Example], c: float, temperature: float,
         featurize: Featurize | None = None) -> CategoryModel | None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    def plain(text: str) -> Sequence[str]:
        return tokens(analyzer, analyzer.clean(text))

    ready = featurize or plain
    rows = [(tuple(ready(e.text)), e.category, e.weight) for e in examples]
    rows = [r for r in rows if r[0]]
    classes = sorted({r[1] for r in rows})
    if len(classes) < 2:
        return None
    vec = TfidfVectorizer(analyzer=lambda toks: toks, sublinear_tf=True, min_df=1)
    x = vec.fit_transform([r[0] for r in rows])
    y = [r[1] for r in rows]
    clf = LinearSVC(C=c, random_state=SEED)
    clf.fit(x, y, sample_weight=np.array([r[2] for r in rows]))
    coef = np.ascontiguousarray(clf.coef_.T, dtype=np.float64)
    intercept = np.asarray(clf.intercept_, dtype=np.float64)
    if len(clf.classes_) == 2:  # binary: scikit-learn keeps one row; make it two classes
        coef = np.hstack([-coef, coef])
        intercept = np.array([-intercept[0], intercept[0]])
    vocabulary = {str(t): int(j) for t, j in vec.vocabulary_.items()}
    return CategoryModel(tuple(str(k) for k in clf.classes_), vocabulary,
                         np.asarray(vec.idf_, dtype=np.float64), coef, intercept, temperature)
