"""Measure the practice scorer's compliance verdicts on a labelled reply set.

    python -m tools.compliance_eval tests/data/compliance_heldout.yaml [--show]

A set file holds ``items``: category, reply, label (good/fair/poor/non_compliant),
violations (rule ids), optional customer, name and risk (default true); or ``groups``
sharing those fields over a list of ``replies``. Each reply is
scored exactly as ``coach practice score`` does. Prints:

- flagged: share of non-compliant replies with at least one mis-selling flag
  (``missing_risk_disclosure`` is a tip, not mis-selling, so it does not count);
- named: share of non-compliant replies where a labelled violation id is reported;
- false alarms: good replies with a mis-selling flag;
- grades: how many good replies are graded "good".
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SOFT = "missing_risk_disclosure"


@dataclass
class Report:
    """Counts over one set."""

    total: int = 0
    non_compliant: int = 0
    flagged: int = 0
    named: int = 0
    good: int = 0
    false_alarms: int = 0
    good_graded_good: int = 0
    misses: list[str] = field(default_factory=list)
    wrong_name: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        nc = self.non_compliant or 1
        return {
            "total": self.total,
            "non_compliant": self.non_compliant,
            "flagged": self.flagged,
            "flagged_pct": round(100 * self.flagged / nc, 1),
            "named": self.named,
            "named_pct": round(100 * self.named / nc, 1),
            "good": self.good,
            "false_alarms": self.false_alarms,
            "good_graded_good": self.good_graded_good,
        }


def load_items(path: Path | str) -> list[dict[str, Any]]:
    """The ``items`` of a labelled set file."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    items = list(data.get("items", ()))
    for group in data.get("groups", ()):  # the tuning set's compact form
        shared = {k: v for k, v in group.items() if k != "replies"}
        items += [{**shared, "reply": reply} for reply in group["replies"]]
    return items


def score_item(item: dict[str, Any]) -> Any:
    """Score one labelled item the way ``coach practice score`` does."""
    from coach.roleplay.model_answers import library_model_answers
    from coach.roleplay.scoring import score_reply

    lang = "en" if str(item["reply"]).isascii() else "zh"
    return score_reply(
        str(item["reply"]),
        category=item["category"],
        customer_line=str(item.get("customer", "")),
        customer_name=item.get("name"),
        requires_risk_disclosure=bool(item.get("risk", True)),
        model_answers=library_model_answers(item["category"], lang),
        lang=lang,
    )


def evaluate(items: list[dict[str, Any]]) -> Report:
    """Count flags, named violations and false alarms over ``items``."""
    report = Report()
    for item in items:
        report.total += 1
        verdict = score_item(item)
        hard = [c for c in verdict.compliance if c != SOFT]
        if item["label"] == "non_compliant":
            report.non_compliant += 1
            if hard:
                report.flagged += 1
            else:
                report.misses.append(item["reply"])
            if set(hard) & set(item.get("violations", ())):
                report.named += 1
            elif hard:
                report.wrong_name.append(f"{item.get('violations')} got {hard}: {item['reply']}")
        elif item["label"] == "good":
            report.good += 1
            if hard:
                report.false_alarms += 1
                report.alarms.append(f"{hard}: {item['reply']}")
            if verdict.grade == "good":
                report.good_graded_good += 1
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--show", action="store_true", help="list misses and false alarms")
    args = parser.parse_args(argv)
    report = evaluate(load_items(args.path))
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    if args.show:
        for title, rows in (("missed", report.misses), ("wrong name", report.wrong_name),
                            ("false alarm", report.alarms)):
            for row in rows:
                print(f"{title}: {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
