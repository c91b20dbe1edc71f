"""Whether a line typed in the middle of a guided flow is a customer's objection.

Mid-flow, a short reply ("later", "明天", "not a phone") is far more likely a slip than a
customer's objection, and the search is over-sure of short texts. So an objection must be
a clause (4+ Chinese characters or 4+ words) the search is sure of. Chosen on
tests/data/flow_objection_tuning.yaml (11/11, 0/16 false); held out: 9/12, 0/14 false.
"""

from __future__ import annotations

import re

from coach.services.library import ScriptCatalog
from scripts_library.search import SearchResult

__all__ = ["objection_search", "reads_like_objection"]

MIN_OBJECTION_SCORE = 0.6
MIN_HAN_CHARS = 4
MIN_WORDS = 4
_HAN = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[A-Za-z]+")


def objection_search(catalog: ScriptCatalog, text: str, *,
                     team_id: int | None) -> SearchResult | None:
    """The search for ``text`` if it reads like a customer's objection, else None.

    The caller answers with this very result, so a mid-flow objection is searched once,
    not once to decide and once to answer.
    """
    if len(_HAN.findall(text)) < MIN_HAN_CHARS and len(_WORD.findall(text)) < MIN_WORDS:
        return None
    found = catalog.ask(text, team_id=team_id)
    top = found.result.hits[0] if found.result.hits else None
    sure = (found.result.confident and top is not None and top.script.is_objection
            and top.score >= MIN_OBJECTION_SCORE)
    return found.result if sure else None


def reads_like_objection(catalog: ScriptCatalog, text: str, *, team_id: int | None) -> bool:
    """Whether ``text``, typed where it does not fit a step, is a customer's objection."""
    return objection_search(catalog, text, team_id=team_id) is not None
