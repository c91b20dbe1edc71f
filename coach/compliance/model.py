"""A small text classifier that gives the compliance rules a second opinion.

Character n-grams (TF-IDF, 1-3 characters within word boundaries) and a
multinomial logistic regression, trained by ``coach practice train`` from the
labelled tuning set, into ``model.json`` beside this module (plain JSON: no
pickle, so loading it runs no code). Each sentence of a reply is classified; a
sentence whose most likely class is a rule id with probability at least the
stored threshold adds that rule as a finding, with the n-grams that pushed it
there as the triggering words. The classifier only ever ADDS a finding: it never
removes one the rules made, and it does nothing for rules already found.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from coach.compliance.engine import Finding, sentences

__all__ = [
    "MODEL_PATH", "OK", "Model", "load_model", "second_opinion", "train", "training_examples",
]

MODEL_PATH = Path(__file__).with_name("model.json")
OK = "ok"
SEED = 13
_NGRAMS = (1, 3)
_MAX_FEATURES = 4000
_BAD_WEIGHT = 3.0
_MIN_THRESHOLD = 0.8
_MIN_CHARS = 8  # shorter sentences ("ok, I'll call") carry too little to judge


@dataclass(frozen=True)
class Model:
    """The trained classifier, read from ``model.json``."""

    classes: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: tuple[float, ...]
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]
    threshold: float

    def _features(self, text: str) -> dict[int, float]:
        counts: dict[int, float] = {}
        for gram in _char_wb(text):
            j = self.vocabulary.get(gram)
            if j is not None:
                counts[j] = counts.get(j, 0.0) + 1.0
        weighted = {j: c * self.idf[j] for j, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in weighted.values())) or 1.0
        return {j: v / norm for j, v in weighted.items()}

    def probabilities(self, text: str) -> dict[str, float]:
        """Class -> probability for one sentence."""
        x = self._features(text)
        scores = [b + sum(w[j] * v for j, v in x.items())
                  for w, b in zip(self.coef, self.intercept, strict=True)]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {c: e / total for c, e in zip(self.classes, exps, strict=True)}

    def explain(self, text: str, label: str, k: int = 3) -> list[str]:
        """The ``k`` n-grams of ``text`` that pushed it most towards ``label``."""
        x = self._features(text)
        row = self.coef[self.classes.index(label)]
        inverse = {j: g for g, j in self.vocabulary.items()}
        ranked = sorted(x, key=lambda j: -x[j] * row[j])
        return [inverse[j].strip() for j in ranked[:k] if x[j] * row[j] > 0 and inverse[j].strip()]

    def judge(self, text: str) -> tuple[str, float, list[str]] | None:
        """(rule id, probability, words) for the most suspicious sentence, or None."""
        best: tuple[str, float, list[str]] | None = None
        for sentence in sentences(text):
            if len(sentence.replace(" ", "")) < _MIN_CHARS:
                continue
            probs = self.probabilities(sentence)
            label = max(probs, key=lambda c: probs[c])
            if label == OK or probs[label] < self.threshold:
                continue
            if best is None or probs[label] > best[1]:
                best = (label, probs[label], self.explain(sentence, label))
        return best


def _char_wb(text: str) -> list[str]:
    """Character n-grams inside word boundaries, like scikit-learn's ``char_wb``."""
    out: list[str] = []
    lo, hi = _NGRAMS
    for word in _prepared(text).split():
        padded = f" {word} "
        for n in range(lo, hi + 1):
            out += [padded[i:i + n] for i in range(len(padded) - n + 1)]
    return out


def _prepared(text: str) -> str:
    """Sentence text as the classifier sees it: one prepared sentence string, CJK split per
    character is not needed (char n-grams), punctuation kept as separators."""
    return " ".join(sentences(text))


@lru_cache(maxsize=2)
def load_model(path: Path | str | None = None) -> Model | None:
    """The trained model, or None when no model file has been trained yet."""
    target = Path(path or MODEL_PATH)
    if not target.exists():
        return None
    raw = json.loads(target.read_text(encoding="utf-8"))
    return Model(
        classes=tuple(raw["classes"]),
        vocabulary={g: i for i, g in enumerate(raw["features"])},
        idf=tuple(raw["idf"]),
        coef=tuple(tuple(r) for r in raw["coef"]),
        intercept=tuple(raw["intercept"]),
        threshold=float(raw["threshold"]),
    )


def second_opinion(reply: str, *, already: Iterable[str] = ()) -> list[Finding]:
    """At most one extra finding from the classifier, for a rule not already found."""
    model = load_model()
    if model is None:
        return []
    verdict = model.judge(reply)
    if verdict is None or verdict[0] in set(already):
        return []
    rule, _prob, words = verdict
    return [Finding(rule, "block", " / ".join(words), source="model")]


# ---------------------------------------------------------------- training


def training_examples(paths: Sequence[Path]) -> list[tuple[str, str]]:
    """(text, label) pairs: each tuning group reply, plus the sentences of compliant ones.

    Non-compliant replies keep their first violation id as the label; good, fair and
    poor replies (and each of their sentences) are ``ok``.
    """
    import yaml

    pairs: list[tuple[str, str]] = []
    for path in paths:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        for group in data.get("groups", ()):
            for reply in group["replies"]:
                text = reply if isinstance(reply, str) else reply["text"]
                if group["label"] == "non_compliant":
                    pairs.append((text, group["violations"][0]))
                else:
                    pairs.append((text, OK))
                    pairs += [(s, OK) for s in sentences(text) if len(s) > 4]
    return pairs


def library_examples() -> list[tuple[str, str]]:
    """Every sentence of the shipped script library (read as compliant text)."""
    from scripts_library.loader import load_library

    pairs: list[tuple[str, str]] = []
    for script in load_library().scripts:
        for path, text in script.text_fields():
            if not path.startswith("triggers"):
                pairs += [(s, OK) for s in sentences(text) if len(s) > 4]
    return pairs


def train(paths: Sequence[Path], out: Path | str | None = None, *,
          include_library: bool = True) -> dict[str, Any]:
    """Fit the classifier on ``paths`` (plus the library) and write ``model.json``.

    Deterministic: fixed seed, sorted inputs, rounded weights, sorted JSON keys.
    The threshold is the probability above which at most 0.3 % of the compliant texts of
    a 5-fold cross-validation would be flagged, plus a margin, and never below 0.8 (the
    held-out set plays no part).
    """
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    extra = library_examples() if include_library else []
    pairs = sorted(set(training_examples(paths) + extra))
    texts = [_prepared(t) for t, _ in pairs]
    labels = [lab for _, lab in pairs]

    def fit(xs: list[str], ys: list[str]) -> tuple[Any, Any]:
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=_NGRAMS, lowercase=False,
                              max_features=_MAX_FEATURES, sublinear_tf=False)
        matrix = vec.fit_transform(xs)
        # rules are few per class and compliant sentences many: weigh each rule class up,
        # but far less than "balanced" would (that made short everyday sentences suspect)
        weights = {label: (1.0 if label == OK else _BAD_WEIGHT) for label in set(ys)}
        clf = LogisticRegression(C=8.0, max_iter=2000, random_state=SEED, class_weight=weights)
        clf.fit(matrix, ys)
        return vec, clf

    # cross-validated probabilities of the compliant texts pick the threshold
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    ok_alarms: list[float] = []  # probability of the wrong flag on each compliant text
    bad_hits: list[float] = []  # probability of the right flag on each non-compliant text
    for train_idx, test_idx in folds.split(texts, labels):
        vec, clf = fit([texts[i] for i in train_idx], [labels[i] for i in train_idx])
        probs = clf.predict_proba(vec.transform([texts[i] for i in test_idx]))
        classes = list(clf.classes_)
        for row, i in zip(probs, test_idx, strict=True):
            best = int(np.argmax(row))
            if labels[i] == OK and classes[best] != OK:
                ok_alarms.append(float(row[best]))
            if labels[i] != OK and classes[best] == labels[i]:
                bad_hits.append(float(row[best]))
    # allow at most 0.3 % of compliant sentences to be flagged: a good reply has about
    # five sentences, and the goal is at most one false alarm in 30 good replies
    allowed = int(0.003 * labels.count(OK))
    ranked = sorted(ok_alarms, reverse=True)
    edge = ranked[allowed] if len(ranked) > allowed else 0.0
    # never below 0.8: the classifier is a second opinion from a few hundred examples, and
    # a confident wrong flag on a good answer costs more than a missed one the rules catch
    threshold = round(min(0.95, max(_MIN_THRESHOLD, edge + 0.01)), 3)
    caught = sum(p >= threshold for p in bad_hits)
    total_bad = len(labels) - labels.count(OK)

    vec, clf = fit(texts, labels)
    features = [None] * len(vec.vocabulary_)
    for gram, j in vec.vocabulary_.items():
        features[j] = gram
    model = {
        "about": "coach/compliance/model.py: char n-gram TF-IDF + logistic regression; "
                 "written by `coach practice train`",
        "classes": list(clf.classes_),
        "features": features,
        "idf": [round(float(v), 4) for v in vec.idf_],
        "coef": [[round(float(v), 3) for v in row] for row in clf.coef_],
        "intercept": [round(float(v), 4) for v in clf.intercept_],
        "threshold": threshold,
        "examples": len(pairs),
    }
    target = Path(out or MODEL_PATH)
    target.write_text(json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                      encoding="utf-8")
    load_model.cache_clear()
    return {"examples": len(pairs), "non_compliant": len(labels) - labels.count(OK),
            "threshold": threshold, "cv_named": caught, "cv_non_compliant": total_bad,
            "path": str(target)}
