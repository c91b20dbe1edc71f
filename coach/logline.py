"""One chat line about a call → client, outcome, amount, product, next date, notes.

``parse_log_line("王建国 有兴趣 周五下午3点再打", now=…, tz="Asia/Shanghai")`` →
client 王建国, interested_thinking, due Friday 15:00 local. The client is the
first word as typed (the caller fuzzy-matches it against the advisor's own
clients); ``questions`` lists what must be asked rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from coach.dates import find_date
from coach.outcomes import Outcome, detect_outcome
from scripts_library.normalize import to_simplified

__all__ = ["LogLine", "parse_amount", "parse_log_line"]

AMOUNT = re.compile(
    r"(?<![\w.])[¥￥]?\s*(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*"
    r"(?P<unit>万元|万|w|k|m|元|块|rmb|cny)?(?![A-Za-z0-9/:：点天日号月周年.-])", re.IGNORECASE)
FILLERS = re.compile(r"再打|再联系|再电话|再约|回电|跟进|打电话|\b(?:call back|callback|follow up|"
                     r"follow-up|call again|again|call)\b", re.IGNORECASE)
UNITS = {"万元": 10_000, "万": 10_000, "w": 10_000, "k": 1_000, "m": 1_000_000}
MIN_BARE_AMOUNT = 1000


@dataclass
class LogLine:
    client: str | None
    outcome: Outcome | None
    due: datetime | None
    has_time: bool
    amount: Decimal | None
    product: str | None
    notes: str
    questions: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "client": self.client,
            "outcome": self.outcome.value if self.outcome else None,
            "due": self.due.isoformat() if self.due else None,
            "amount": float(self.amount) if self.amount is not None else None,
            "product": self.product,
            "notes": self.notes,
            "questions": self.questions,
        }


def parse_amount(text: str) -> tuple[Decimal, tuple[int, int]] | None:
    """The first money amount in ``text``: 500k, 50万, 5万元, 1,000,000, 20w, 1.5m, ¥50000."""
    for m in AMOUNT.finditer(text):
        unit = (m.group("unit") or "").lower()
        try:
            value = Decimal(m.group("num").replace(",", ""))
        except InvalidOperation:
            continue
        if unit in UNITS:
            value *= UNITS[unit]
        elif not unit and value < MIN_BARE_AMOUNT:
            continue  # a bare "3" is a count or an hour, not money
        return value, m.span()
    return None


def _blank(text: str, span: tuple[int, int]) -> str:
    return text[: span[0]] + " " * (span[1] - span[0]) + text[span[1]:]


def _split_client(original: str, simplified: str, now: datetime) -> tuple[str | None, int]:
    """The client as typed and where the rest starts."""
    stripped = original.lstrip()
    offset = len(original) - len(stripped)
    if not stripped:
        return None, 0
    words = stripped.split()
    first = words[0]
    # "王建国有兴趣", "王建国明天再打": a Chinese name glued to what follows
    head = simplified[offset: offset + len(first)]
    cuts = [c for c in (_outcome_start(head), _date_start(head, now)) if c is not None]
    if cuts and min(cuts) == 0:
        return None, offset  # the line starts with the outcome or a date: no client given
    if cuts and min(cuts) >= 2:
        first = first[: min(cuts)]
    elif parse_amount(first):
        return None, offset
    elif first.isascii() and len(words) > 1 and _is_name_part(words[1], now):
        first = f"{first} {words[1]}"  # "Chen Li sale 500k"
    return first, offset + len(first)


def _outcome_start(text: str) -> int | None:
    found = detect_outcome(text)
    return found[1][0] if found else None


def _date_start(text: str, now: datetime) -> int | None:
    found = find_date(text, now, "UTC")
    return found.span[0] if found else None


def _is_name_part(word: str, now: datetime) -> bool:
    lowered = word.lower()
    return (word.isascii() and word.isalpha() and word[:1].isupper()
            and detect_outcome(lowered) is None and find_date(lowered, now, "UTC") is None)


def parse_log_line(text: str, *, now: datetime, tz: str) -> LogLine:
    """Understand one line; never raises on bad input (questions say what is missing)."""
    original = (text or "").strip()[:500]
    simplified = to_simplified(original)
    if len(simplified) != len(original):  # conversion changed length: work on Simplified
        original = simplified
    client, rest_start = _split_client(original, simplified, now)
    rest = simplified[rest_start:].lower()
    rest_original = original[rest_start:]
    questions: list[str] = []

    outcome = None
    found = detect_outcome(rest)
    if found:
        outcome, span = found
        rest = _blank(rest, span)
    parsed = find_date(rest, now, tz)  # dates before amounts: "2026-12-03" is no sum
    due, has_time = None, False
    if parsed:
        due, has_time = parsed.due, parsed.has_time
        questions += parsed.questions
        for part in parsed.spans or [parsed.span]:
            rest = _blank(rest, part)
    amount = None
    money = parse_amount(rest)
    if money:
        amount, span = money
        rest = _blank(rest, span)

    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", rest)]
    product = None
    if outcome is Outcome.SALE and words:
        start, end = words[0]
        candidate = rest_original[start:end]
        if not FILLERS.fullmatch(candidate):
            product = candidate
            rest = _blank(rest, (start, end))
    notes = " ".join(rest_original[m.start():m.end()] for m in re.finditer(r"\S+", rest))
    notes = FILLERS.sub("", notes).strip(" ，,;；。")
    if client is None:
        questions.insert(0, "missing_client")
    if outcome is None:
        questions.append("missing_outcome")
    return LogLine(client, outcome, due, has_time, amount, product, notes, questions)
