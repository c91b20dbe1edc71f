"""Which scenario a lead means in ``/assign``: its number in ``/practice`` or its title.

Numbers follow one fixed order (difficulty, then id), whatever order a reader's own
``/practice`` list shows first, so the number a lead reads is the number they type.
Titles are compared in a folded form (Traditional to Simplified, case, punctuation and
spaces ignored): an exact title (or id) wins; otherwise a piece of a title that only one
scenario contains. Anything else is not guessed: the caller lists the candidates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from coach.roleplay.scenario import Scenario
from scripts_library.normalize import normalize

__all__ = ["Pick", "numbered", "pick"]


def numbered(scenarios: Iterable[Scenario]) -> list[Scenario]:
    """Scenarios in the order ``/practice`` numbers them (1-based)."""
    return sorted(scenarios, key=lambda s: (s.difficulty, s.id))


@dataclass(frozen=True)
class Pick:
    """``scenario`` when the query names exactly one; else the ``candidates`` to offer
    (1-based number, scenario): the partial matches, or every scenario when none matched."""

    scenario: Scenario | None
    candidates: tuple[tuple[int, Scenario], ...] = ()


def _fold(text: str) -> str:
    return normalize(text).replace(" ", "")


def _keys(scenario: Scenario) -> set[str]:
    return {k for k in (_fold(scenario.title.zh), _fold(scenario.title.en or ""),
                        _fold(scenario.id)) if k}


def pick(query: str, catalogue: list[Scenario]) -> Pick:
    """The scenario ``query`` names in ``catalogue`` (as returned by :func:`numbered`)."""
    everything = tuple(enumerate(catalogue, start=1))
    wanted = _fold(query)
    if not wanted:
        return Pick(None, everything)
    if wanted.isascii() and wanted.isdigit():
        n = int(wanted)
        return Pick(catalogue[n - 1]) if 1 <= n <= len(catalogue) else Pick(None, everything)
    exact = [(n, s) for n, s in everything if wanted in _keys(s)]
    if len(exact) == 1:
        return Pick(exact[0][1])
    partial = exact or [(n, s) for n, s in everything if any(wanted in k for k in _keys(s))]
    if len(partial) == 1:
        return Pick(partial[0][1])
    return Pick(None, tuple(partial) or everything)
