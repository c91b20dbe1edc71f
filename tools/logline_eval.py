"""Score :func:`coach.logline.parse_log_line` on a labelled YAML file of log lines.

``python -m tools.logline_eval tests/data/logline_heldout.yaml [-v]`` prints the share
of lines read exactly (client, outcome, due, amount and period all right; a line
marked ``ask`` must come back with a date question) and, with ``-v``, every miss.
The same scoring backs the tuning table test and the figures in the README.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from coach.logline import parse_log_line
from scripts_library.normalize import to_simplified

DATE_QUESTIONS = frozenset({"date_in_past", "ambiguous_date", "invalid_date", "ambiguous_time",
                            "alternative_dates", "weekday_mismatch", "unclear_date"})


@dataclass(frozen=True)
class Miss:
    line: str
    field: str
    expected: object
    got: object


def _fold(name: object) -> str | None:
    return None if name is None else to_simplified(str(name)).lower().strip()


def check(case: dict[str, Any], *, now: datetime, tz: str) -> list[Miss]:
    """What ``parse_log_line`` got wrong on one labelled case (empty: exact)."""
    line = case["line"]
    got = parse_log_line(line, now=now, tz=tz)
    misses: list[Miss] = []

    def compare(name: str, expected: object, actual: object) -> None:
        if expected != actual:
            misses.append(Miss(line, name, expected, actual))

    compare("client", _fold(case.get("client")), _fold(got.client))
    compare("outcome", case.get("outcome"), got.outcome.value if got.outcome else None)
    expected_amount = case.get("amount")
    compare("amount", Decimal(str(expected_amount)) if expected_amount is not None else None,
            got.amount)
    compare("period", case.get("period"), getattr(got, "period", None))
    asked = sorted(q for q in got.questions if q in DATE_QUESTIONS)
    if case.get("ask"):
        if not asked:
            misses.append(Miss(line, "ask", "a date question", got.questions))
    else:
        compare("questions", [], asked)
        compare("due", case.get("due"), got.due.strftime("%Y-%m-%dT%H:%M") if got.due else None)
    return misses


def evaluate(path: Path) -> tuple[int, int, list[Miss]]:
    """(exact lines, total lines, misses) for one labelled file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    now = datetime.fromisoformat(data["now"])
    misses: list[Miss] = []
    exact = 0
    for case in data["lines"]:
        found = check(case, now=now, tz=data["tz"])
        exact += not found
        misses += found
    return exact, len(data["lines"]), misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    exact, total, misses = evaluate(args.path)
    asks = yaml.safe_load(args.path.read_text(encoding="utf-8"))["lines"]
    must_ask = [c for c in asks if c.get("ask")]
    asked_misses = {m.line for m in misses if m.field == "ask"}
    if args.verbose:
        for miss in misses:
            print(f"{miss.line!r}: {miss.field} expected {miss.expected!r}, got {miss.got!r}")
    print(f"{args.path}: {exact}/{total} exact ({100 * exact / total:.1f} %), "
          f"must-ask asked {len(must_ask) - len(asked_misses)}/{len(must_ask)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
