"""Call outcomes and the words advisors use for them (data: ``coach/data/outcome_words.yaml``)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml

__all__ = ["Outcome", "detect_outcome", "outcome_words"]

DATA = Path(__file__).with_name("data") / "outcome_words.yaml"


class Outcome(StrEnum):
    NO_ANSWER = "no_answer"
    INTERESTED_THINKING = "interested_thinking"
    MEETING_BOOKED = "meeting_booked"
    SOFT_DECLINE = "soft_decline"
    FIRM_DECLINE = "firm_decline"
    SALE = "sale"
    NOT_SUITABLE = "not_suitable"
    OTHER = "other"


@lru_cache(maxsize=1)
def outcome_words() -> list[tuple[str, Outcome]]:
    """Every (word, outcome), longest word first; also the outcome codes themselves."""
    raw = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    pairs = [(str(word).lower(), Outcome(code)) for code, words in raw.items() for word in words]
    pairs += [(o.value, o) for o in Outcome]
    return sorted(set(pairs), key=lambda p: (-len(p[0]), p[0]))


def _is_word_boundary(text: str, start: int, end: int) -> bool:
    """Latin words must stand alone ("sold" not inside "soldier"); CJK needs no spaces."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    word = text[start:end]
    if not word[:1].isascii():
        return True
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def detect_outcome(text: str) -> tuple[Outcome, tuple[int, int]] | None:
    """The outcome named in ``text`` (lower-cased, Simplified) and where: longest match wins."""
    lowered = text.lower()
    best: tuple[int, int, Outcome] | None = None
    for word, outcome in outcome_words():
        start = lowered.find(word)
        while start != -1:
            end = start + len(word)
            if _is_word_boundary(lowered, start, end):
                if best is None or (end - start) > (best[1] - best[0]) or (
                        end - start == best[1] - best[0] and start < best[0]):
                    best = (start, end, outcome)
                break
            start = lowered.find(word, start + 1)
    return (best[2], (best[0], best[1])) if best else None
