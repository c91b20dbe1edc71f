"""Held-out figures of the compliance engine (issue 13 goals), measured, never tuned on.

tests/data/compliance_heldout.yaml was committed before any rule was written and is
never read by the rules or the classifier's training; this test only reports and
guards the figures the closing note quotes.
"""

from __future__ import annotations

from pathlib import Path

from tools.compliance_eval import evaluate, load_items

HELDOUT = Path(__file__).parent / "data" / "compliance_heldout.yaml"


def test_heldout_goals() -> None:
    items = load_items(HELDOUT)
    assert len(items) >= 120
    report = evaluate(items)
    figures = report.as_dict()
    assert figures["flagged_pct"] >= 95, (figures, report.misses)
    assert figures["named_pct"] >= 85, (figures, report.wrong_name)
    assert report.good >= 30 and report.false_alarms <= 1, report.alarms
