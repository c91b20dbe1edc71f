"""Model answers for a category, taken from the script library when it is there.

The library (``scripts_library.loader``) is built separately and may be absent
or broken; role-play then simply runs without library model answers.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

__all__ = ["library_model_answers", "script_text"]

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _library() -> Any | None:
    try:
        from scripts_library.loader import load_library

        return load_library()
    except Exception as exc:  # noqa: BLE001 - any failure means "no library answers"
        log.info("script library unavailable for role-play model answers: %s", exc)
        return None


def script_text(script: Any, lang: str = "zh") -> str:
    """One script as a single spoken answer: its five steps joined (or its ``say``),
    followed by its risk note, because a model answer must disclose risk too."""
    render = getattr(script, "render", None)
    if callable(render):
        rendered = render(lang)
        body = " ".join(t for _, t in rendered.steps) if rendered.steps else rendered.say or ""
        return " ".join(t for t in (body, rendered.risk_note) if t)
    steps = getattr(script, "steps", None)
    if steps is not None:
        keys = ("restate", "acknowledge", "compliment", "answer", "advance")
        get = steps.get if isinstance(steps, dict) else lambda k: getattr(steps, k, "")
        return " ".join(str(get(k) or "") for k in keys).strip()
    return str(getattr(script, "say", "") or "")


def library_model_answers(category: str, lang: str = "zh", limit: int = 60) -> tuple[str, ...]:
    """Up to ``limit`` model answers for ``category``; empty when the library is unavailable."""
    library = _library()
    if library is None:
        return ()
    try:
        scripts = list(library.by_category(category))[:limit]
        return tuple(t for t in (script_text(s, lang) for s in scripts) if t)
    except Exception as exc:  # noqa: BLE001 - a half-built library must not break practice
        log.info("could not read model answers for %s: %s", category, exc)
        return ()
