"""Load ``cues.yaml`` into compiled, normalised cue sets for the scorer.

Cue phrases are normalised with the same function as replies, so authors can
write "you're" or "好吗？" and still match. English phrases match on word
boundaries; Chinese phrases are plain substrings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from scripts_library.normalize import normalize

__all__ = [
    "CUES_PATH", "ComplianceConfig", "CueSet", "Cues", "fold", "load_cues", "parse_cues",
]

CUES_PATH = Path(__file__).with_name("cues.yaml")

_LATIN = re.compile(r"[a-z0-9]")


_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")


def fold(text: str | None) -> str:
    """normalize() plus "risk-free" → "risk free", so hyphenated words match either way."""
    return _HYPHEN.sub(" ", normalize(text))


def _phrase_pattern(phrase: str) -> str:
    escaped = re.escape(phrase)
    if _LATIN.match(phrase[:1]) and _LATIN.match(phrase[-1:]):
        return rf"(?<![a-z0-9]){escaped}(?![a-z0-9])"
    return escaped


@dataclass(frozen=True)
class CueSet:
    """Phrases and regular expressions that mark one thing in a normalised text."""

    patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def build(cls, phrases: Iterable[str] = (), regex: Iterable[str] = ()) -> CueSet:
        normalised = {fold(p) for p in phrases}
        compiled = [re.compile(_phrase_pattern(p)) for p in sorted(normalised) if p]
        compiled += [re.compile(r) for r in regex]
        return cls(tuple(compiled))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Every match as ``(start, end)``, in text order."""
        found = {(m.start(), m.end()) for p in self.patterns for m in p.finditer(text)}
        return sorted(found)

    def search(self, text: str) -> bool:
        return any(p.search(text) for p in self.patterns)


@dataclass(frozen=True)
class ComplianceConfig:
    """How compliance rules match and which contexts excuse a match."""

    rules: dict[str, CueSet]
    order: tuple[str, ...]
    zh_window: int
    en_window: int
    negators_zh: tuple[str, ...]
    negators_en: frozenset[str]
    wish_zh: tuple[str, ...]
    wish_en: tuple[str, ...]
    deposit_words: tuple[str, ...]
    same_as: tuple[str, ...]
    product: CueSet
    recommend: CueSet
    risk: CueSet


@dataclass(frozen=True)
class Cues:
    """Everything the scorer needs from ``cues.yaml``."""

    thresholds: dict[str, int]
    length: dict[str, dict[str, int]]
    weights: dict[str, dict[str, int]]
    tip_order: tuple[str, ...]
    checks: dict[str, CueSet]
    question_endings: tuple[str, ...]
    category_keywords: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]
    compliance: ComplianceConfig
    tips: dict[str, dict[str, str]] = field(default_factory=dict)

    def weights_for(self, category: str) -> dict[str, int]:
        profile = "objection" if category.startswith("objection.") else "default"
        return self.weights.get(category) or self.weights[profile]

    def tip_text(self, code: str, lang: str = "zh") -> str:
        texts = self.tips.get(code, {})
        return texts.get(lang) or texts.get("zh") or code


def _norm_all(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(n for n in (fold(str(i)) for i in items) if n)


def _compliance(raw: dict[str, Any], order: list[str]) -> ComplianceConfig:
    neg, wish, dep = raw["negation"], raw["wish_context"], raw["deposit_context"]
    rules = raw["rules"]
    risk_rule = rules["missing_risk_disclosure"]
    return ComplianceConfig(
        rules={
            name: CueSet.build(spec.get("phrases", ()), spec.get("regex", ()))
            for name, spec in rules.items()
            if name != "missing_risk_disclosure"
        },
        order=tuple(order),
        zh_window=int(neg["zh_window"]),
        en_window=int(neg["en_window"]),
        negators_zh=_norm_all(neg["zh"]),
        negators_en=frozenset(_norm_all(neg["en"])),
        wish_zh=_norm_all(wish["zh"]),
        wish_en=_norm_all(wish["en"]),
        deposit_words=_norm_all(dep["words"]),
        same_as=_norm_all(dep["same_as"]),
        product=CueSet.build(risk_rule["product_phrases"], risk_rule.get("product_regex", ())),
        recommend=CueSet.build(
            risk_rule.get("recommend_phrases", ()), risk_rule.get("recommend_regex", ())
        ),
        risk=CueSet.build(risk_rule["risk_phrases"]),
    )


def parse_cues(raw: dict[str, Any]) -> Cues:
    """Build :class:`Cues` from the parsed YAML mapping."""
    return Cues(
        thresholds={k: int(v) for k, v in raw["thresholds"].items()},
        length=raw["length"],
        weights=raw["weights"],
        tip_order=tuple(raw["tip_order"]),
        checks={
            name: CueSet.build(spec.get("phrases", ()), spec.get("regex", ()))
            for name, spec in raw["checks"].items()
        },
        question_endings=tuple(raw["question_endings"]),
        category_keywords={k: _norm_all(v) for k, v in raw["category_keywords"].items()},
        stopwords=frozenset(_norm_all(raw["stopwords"])),
        compliance=_compliance(raw["compliance"], raw["compliance_order"]),
        tips=raw.get("tips", {}),
    )


@lru_cache(maxsize=4)
def load_cues(path: Path | str | None = None) -> Cues:
    """Read and compile the cue file (cached; pass a path to load another one)."""
    with open(path or CUES_PATH, encoding="utf-8") as fh:
        return parse_cues(yaml.safe_load(fh))
