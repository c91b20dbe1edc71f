"""Compliance: mis-selling rules (``rules.yaml``) and a small text classifier.

- :func:`check` runs the rules over a text and returns :class:`Finding` objects
  (rule id, severity, the words that triggered it);
- :mod:`coach.compliance.model` adds the classifier's second opinion (it may add a
  flag, it never removes one).
"""

from __future__ import annotations

from coach.compliance.engine import Finding, Rule, RuleSet, check, load_rules, sentences

__all__ = ["Finding", "Rule", "RuleSet", "check", "load_rules", "sentences"]
