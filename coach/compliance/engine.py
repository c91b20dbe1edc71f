"""The compliance rule engine: mis-selling rules from ``rules.yaml`` applied to a text.

One engine for every place where advisor-facing text is checked: the practice
scorer, ``coach scripts validate``, team scripts saved with /addscript and briefing
text. A text is split into sentences and clauses; each rule's patterns are searched
in every sentence (Simplified, lower case, full-width folded). A match is excused
when a negation stands just before it in the same clause (for rules that say so:
"不保本" is a disclosure, while "不会亏" is the claim the ``risk_denied`` rule looks
for), or when one of the rule's ``excuse`` patterns is found before it in the same
sentence ("我不能保证您不会亏", "you asked whether").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from scripts_library.normalize import to_simplified

__all__ = [
    "RULES_PATH", "Finding", "Rule", "RuleSet", "check", "load_rules", "sentences",
]

RULES_PATH = Path(__file__).with_name("rules.yaml")

_SENTENCE = re.compile(r"[。！？!?；;\n]+|(?<=[a-z0-9\)])\.(?=\s|$)")
_CLAUSE = re.compile(r"[，,、：:（）()“”\"]")
_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
# words that start with a negation character but negate nothing ("不过" = "but")
_NOT_NEGATIONS = re.compile(
    r"不过|不但|不仅|不管|不论|不少|不错|不久|不断|非常|无论|没错|别的|别家|别人"
)


def _prepare(text: str) -> str:
    """Simplified, NFKC, lower case; apostrophes dropped ("can't" → "cant")."""
    text = to_simplified(unicodedata.normalize("NFKC", text or "")).lower()
    text = text.replace("’", "'").replace("'", "")
    text = _HYPHEN.sub(" ", text)
    return re.sub(r"[ \t]+", " ", text)


def sentences(text: str) -> list[str]:
    """The prepared sentences of ``text`` (clause punctuation kept)."""
    return [s.strip() for s in _SENTENCE.split(_prepare(text)) if s and s.strip()]


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule broken: which rule, how bad, and the words that triggered it."""

    rule: str
    severity: str  # "block": mis-selling; "warn": a weakness (missing disclosure)
    words: str
    source: str = "rule"  # "rule" or "model"

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "words": self.words,
                "source": self.source}


@dataclass(frozen=True)
class Rule:
    """One compliance rule (see ``rules.yaml`` for the meaning of each field)."""

    id: str
    title: dict[str, str]
    explanation: dict[str, str]
    severity: str
    tip: str
    patterns: tuple[re.Pattern[str], ...]
    negatable: bool
    excuse: tuple[re.Pattern[str], ...]
    must_match: tuple[str, ...]
    must_not_match: tuple[str, ...]

    def find(self, text: str, negators: Negators) -> list[str]:
        """The triggering words of every unexcused match in ``text``."""
        hits: list[str] = []
        for sentence in sentences(text):
            for pattern in self.patterns:
                for m in pattern.finditer(sentence):
                    if not self._excused(sentence, m.start(), negators):
                        hits.append(m.group().strip())
        return hits

    def _excused(self, sentence: str, start: int, negators: Negators) -> bool:
        before = sentence[:start]
        if any(p.search(before) for p in self.excuse):
            return True
        return self.negatable and negators.negated(before)


@dataclass(frozen=True)
class Negators:
    """Negation cues that turn a following claim into a disclosure."""

    zh: tuple[str, ...]
    en: frozenset[str]
    zh_window: int
    en_window: int

    def negated(self, before: str) -> bool:
        clause = _CLAUSE.split(before)[-1]
        tail = clause.rstrip()
        if tail[-1:].isascii():
            words = re.findall(r"[a-z0-9]+", tail)[-self.en_window:]
            return bool(self.en & set(words))
        window = _NOT_NEGATIONS.sub("__", tail.replace(" ", ""))[-self.zh_window:]
        return any(n in window for n in self.zh)


@dataclass(frozen=True)
class RuleSet:
    """All rules, in reporting order, plus the shared negation cues."""

    rules: tuple[Rule, ...]
    negators: Negators

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    def example_problems(self) -> list[str]:
        """Rules whose own examples disagree with them (checked by a test and the CLI)."""
        out = []
        for rule in self.rules:
            out += [f"{rule.id}: should match: {t}" for t in rule.must_match
                    if not rule.find(t, self.negators)]
            out += [f"{rule.id}: should not match: {t}" for t in rule.must_not_match
                    if rule.find(t, self.negators)]
        return out


def check(text: str, rules: RuleSet | None = None, *,
          only: Iterable[str] | None = None) -> list[Finding]:
    """Every rule ``text`` breaks, one finding per rule, in the rules' order."""
    rules = rules or load_rules()
    wanted = set(only) if only is not None else None
    found = []
    for rule in rules.rules:
        if wanted is not None and rule.id not in wanted:
            continue
        hits = rule.find(text, rules.negators)
        if hits:
            words = " / ".join(dict.fromkeys(hits))
            found.append(Finding(rule.id, rule.severity, words))
    return found


def _texts(raw: Any) -> dict[str, str]:
    if isinstance(raw, str):
        return {"zh": raw, "en": raw}
    return {str(k): str(v) for k, v in (raw or {}).items()}


def _rule(raw: dict[str, Any]) -> Rule:
    examples = raw.get("examples") or {}
    return Rule(
        id=str(raw["id"]),
        title=_texts(raw["title"]),
        explanation=_texts(raw.get("explanation", "")),
        severity=str(raw.get("severity", "block")),
        tip=str(raw.get("tip", "")),
        patterns=tuple(re.compile(p) for p in raw.get("patterns", ())),
        negatable=bool(raw.get("negatable", False)),
        excuse=tuple(re.compile(p) for p in raw.get("excuse", ())),
        must_match=tuple(examples.get("match", ())),
        must_not_match=tuple(examples.get("no_match", ())),
    )


def parse_rules(raw: dict[str, Any]) -> RuleSet:
    """Build a :class:`RuleSet` from the parsed YAML mapping."""
    neg = raw["negation"]
    return RuleSet(
        rules=tuple(_rule(r) for r in raw["rules"]),
        negators=Negators(
            zh=tuple(_prepare(n) for n in neg["zh"]),
            en=frozenset(_prepare(n) for n in neg["en"]),
            zh_window=int(neg.get("zh_window", 4)),
            en_window=int(neg.get("en_window", 3)),
        ),
    )


@lru_cache(maxsize=4)
def load_rules(path: Path | str | None = None) -> RuleSet:
    """Read and compile the rule file (cached)."""
    with open(path or RULES_PATH, encoding="utf-8") as fh:
        return parse_rules(yaml.safe_load(fh))
