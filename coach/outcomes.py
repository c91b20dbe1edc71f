"""Call outcomes and the words advisors use for them (data: ``coach/data/outcome_words.yaml``).

The data file lists, per outcome, Simplified, Traditional and English phrasings, the
words that negate a phrase placed right before it, and a priority for lines that name
several outcomes. :func:`find_outcome` returns the chosen outcome with every span that
spoke for it (so all of them leave the notes); :func:`detect_outcome` is the short form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml

from scripts_library.normalize import to_simplified

__all__ = ["Outcome", "OutcomeMatch", "detect_outcome", "find_outcome", "fold_separators",
           "outcome_words", "phrase_starts"]

DATA = Path(__file__).with_name("data") / "outcome_words.yaml"

# punctuation that separates fields; "," ":" "." stay between digits (8,000 / 15:30 / 1.5)
_ALWAYS = frozenset("，、；;。！!？?（）()【】[]「」『』“”\"|~～…")
_BETWEEN_DIGITS = frozenset(",:：.")


class Outcome(StrEnum):
    NO_ANSWER = "no_answer"
    INTERESTED_THINKING = "interested_thinking"
    MEETING_BOOKED = "meeting_booked"
    SOFT_DECLINE = "soft_decline"
    FIRM_DECLINE = "firm_decline"
    SALE = "sale"
    NOT_SUITABLE = "not_suitable"
    OTHER = "other"


@dataclass(frozen=True)
class OutcomeMatch:
    outcome: Outcome
    span: tuple[int, int]  # the phrase that decided
    spans: tuple[tuple[int, int], ...]  # every phrase of that outcome (all leave the notes)


def fold_separators(text: str) -> str:
    """Punctuation between fields becomes spaces, keeping every offset (same length).

    "Mr." loses its dot; "8,000", "15:30" and "1.5" keep theirs; " - " is a separator.
    """
    out = list(text)
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch in _ALWAYS:
            out[i] = " "
        elif ch in _BETWEEN_DIGITS:
            if not (0 < i < last and text[i - 1].isdigit() and text[i + 1].isdigit()):
                out[i] = " "
        elif ch == "-" and 0 < i < last and text[i - 1] == " " and text[i + 1] == " ":
            out[i] = " "
    return "".join(out)


def _fold(phrase: str) -> str:
    return " ".join(fold_separators(to_simplified(str(phrase)).lower()).split())


Phrase = tuple[str, Outcome, "re.Pattern[str] | None"]


@lru_cache(maxsize=1)
def _data() -> tuple[list[Phrase], tuple[str, ...], dict[Outcome, int]]:
    raw = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    pairs = {(_fold(word), Outcome(code)) for code, langs in raw["outcomes"].items()
             for words in langs.values() for word in words}
    pairs |= {(o.value, o) for o in Outcome}
    negators = {_fold(word) for words in raw["negation"].values() for word in words}
    priority = {Outcome(code): rank for rank, code in enumerate(raw["priority"])}
    phrases = [(word, outcome, re.compile(r"\s+".join(map(re.escape, word.split())))
                if " " in word else None)
               for word, outcome in sorted(pairs, key=lambda p: (-len(p[0]), p[0]))]
    return phrases, tuple(sorted(negators, key=len, reverse=True)), priority


def outcome_words() -> list[tuple[str, Outcome]]:
    """Every (phrase, outcome), folded, longest phrase first; also the outcome codes."""
    return [(word, outcome) for word, outcome, _ in _data()[0]]


def _is_word_boundary(text: str, start: int, end: int) -> bool:
    """Latin words must stand alone ("sold" not inside "soldier"); CJK needs no spaces."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    word = text[start:end]
    if not word[:1].isascii():
        return True
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def _negated(text: str, start: int, negators: tuple[str, ...]) -> bool:
    """A negation word right before ``start`` (one space allowed for English)."""
    before = text[:start]
    trimmed = before.rstrip()
    for word in negators:
        if word.isascii():
            if trimmed.endswith(word) and trimmed != before and (
                    len(trimmed) == len(word) or not trimmed[-len(word) - 1].isalnum()):
                return True
        elif before.endswith(word):
            return True
    return False


def _occurrences(text: str, word: str, spaced: re.Pattern[str] | None
                 ) -> list[tuple[int, int]]:
    if spaced is not None:  # "said no  final": any run of spaces between words
        return [m.span() for m in spaced.finditer(text)] if word.split()[0] in text else []
    out = []
    start = text.find(word)
    while start != -1:
        out.append((start, start + len(word)))
        start = text.find(word, start + 1)
    return out


def phrase_starts(text: str) -> list[int]:
    """Where any outcome phrase (negated or not) begins in ``text`` (folded)."""
    lowered = text.lower()
    return [start for word, _, spaced in _data()[0]
            for start, end in _occurrences(lowered, word, spaced)
            if _is_word_boundary(lowered, start, end)]


def find_outcome(text: str) -> OutcomeMatch | None:
    """The outcome ``text`` (lower-cased, Simplified, separators folded) names, and where.

    Overlapping phrases: the longest wins. Negated phrases do not count, except a negated
    interest, which is a soft decline. Several outcomes left: the data's priority.
    """
    phrases, negators, priority = _data()
    lowered = text.lower()
    found: list[tuple[int, int, Outcome]] = []
    taken = [False] * len(lowered)
    for word, outcome, spaced in phrases:  # longest first: a phrase inside it is skipped
        for start, end in _occurrences(lowered, word, spaced):
            if _is_word_boundary(lowered, start, end) and not any(taken[start:end]):
                for i in range(start, end):
                    taken[i] = True
                if _negated(lowered, start, negators):
                    if outcome is Outcome.INTERESTED_THINKING:
                        found.append((start, end, Outcome.SOFT_DECLINE))
                else:
                    found.append((start, end, outcome))
    if not found:
        return None
    best = min(found, key=lambda f: (priority.get(f[2], 99), -(f[1] - f[0]), f[0]))
    spans = tuple(sorted((s, e) for s, e, o in found if o is best[2]))
    return OutcomeMatch(best[2], (best[0], best[1]), spans)


def detect_outcome(text: str) -> tuple[Outcome, tuple[int, int]] | None:
    """The outcome named in ``text`` (lower-cased, Simplified) and where."""
    found = find_outcome(fold_separators(text))
    return (found.outcome, found.span) if found else None
