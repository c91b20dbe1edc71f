"""Relevance: does the reply take up what the customer just said?

A polished pitch that ignores the customer's line ("手续费太贵了" answered with
"这款基金去年涨了15%") must not score well, however many other checks it ticks.
A reply is relevant when, anywhere in it, it

* repeats a content word of the customer's line (stop words dropped), or
* names the customer's concern with one of the category's keywords (cues.yaml
  ``category_keywords``: 手续费/费率 for fees, 忙/没空 for no time …, plus the few
  extra topic words in relevance.yaml).

Kept apart from :mod:`coach.roleplay.scoring` on purpose: one small rule, with its
own tuning (tests/data/relevance_tuning.yaml) and held-out set
(tests/data/relevance_heldout.yaml).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import jieba
import yaml

from coach.roleplay.cues import Cues, fold

__all__ = ["CAP", "is_relevant"]

# the most an answer that ignores the customer can score (below "good")
CAP = 40
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[a-z0-9]+")
_EXTRA_FILE = Path(__file__).with_name("relevance.yaml")


@lru_cache(maxsize=1)
def _extra_words() -> dict[str, tuple[str, ...]]:
    with open(_EXTRA_FILE, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    return {category: tuple(fold(str(w)) for w in words) for category, words in raw.items()}


def _content_words(text: str, stopwords: frozenset[str]) -> set[str]:
    words = set()
    for token in jieba.lcut_for_search(text):  # search mode adds sub-words: 高风险 → 风险
        token = token.strip()
        if not token or token in stopwords:
            continue
        if (_CJK.match(token) and len(token) >= 2) or (not _CJK.match(token) and len(token) >= 3):
            words.add(token)
    return words


def _mentions(text: str, phrase: str) -> bool:
    if _LATIN_WORD.fullmatch(phrase.replace(" ", "")):
        return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None
    return phrase in text


def is_relevant(reply: str, *, customer_line: str, category: str, cues: Cues) -> bool:
    """Whether ``reply`` takes up ``customer_line`` (see the module doc)."""
    text, line = fold(reply), fold(customer_line)
    if not line:
        return True  # nothing to be relevant to
    if bool(_CJK.search(line)) != bool(_CJK.search(text)):
        # an English answer to a Chinese line (or the reverse) shares no words by nature:
        # word overlap cannot judge it, and a wrong "ignored the customer" is worse
        return True
    if any(_mentions(text, word) for word in _content_words(line, cues.stopwords)):
        return True
    topic = (*cues.category_keywords.get(category, ()), *_extra_words().get(category, ()))
    return any(_mentions(text, k) for k in topic if k)
