"""Simplified → Traditional Chinese for output (Hong Kong or Taiwan wording).

Scripts are written in Simplified Chinese; advisors in Hong Kong or Taiwan see
them converted at display time. ``tw`` also swaps mainland vocabulary for
Taiwan usage (OpenCC ``s2twp``); ``hk`` uses Hong Kong glyphs (``s2hk``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Literal

import opencc

from scripts_library.regions import apply_vocabulary
from scripts_library.schema import RenderedScript

__all__ = ["Variant", "to_traditional", "convert_rendered"]

Variant = Literal["hk", "tw"]

_CONFIGS: dict[str, str] = {"hk": "s2hk", "tw": "s2twp"}


@lru_cache(maxsize=2)
def _converter(variant: str) -> opencc.OpenCC:
    return opencc.OpenCC(_CONFIGS[variant])


def to_traditional(text: str, variant: Variant = "hk") -> str:
    """Convert Simplified Chinese ``text`` to Traditional (``"hk"`` or ``"tw"``)."""
    if variant not in _CONFIGS:
        raise ValueError(f"unknown variant {variant!r}; expected 'hk' or 'tw'")
    # the regional vocabulary layer runs after character conversion (regions.yaml)
    return apply_vocabulary(_converter(variant).convert(text), variant) if text else text


def convert_rendered(rendered: RenderedScript, variant: Variant = "hk") -> RenderedScript:
    """A Traditional copy of a rendered Chinese script (English passes through unchanged)."""
    if rendered.lang == "en":
        return rendered

    def conv(text: str | None) -> str | None:
        return to_traditional(text, variant) if text else text

    return replace(
        rendered,
        title=to_traditional(rendered.title, variant),
        steps=[(k, to_traditional(t, variant)) for k, t in rendered.steps]
        if rendered.steps else None,
        say=conv(rendered.say),
        risk_note=conv(rendered.risk_note),
        short=conv(rendered.short),
    )
