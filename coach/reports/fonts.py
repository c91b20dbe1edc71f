"""Find a CJK font for matplotlib, or fall back to pinyin labels."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["cjk_font", "label"]

CANDIDATES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK", "WenQuanYi Zen Hei",
              "WenQuanYi Micro Hei", "Source Han Sans SC", "SimHei")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed CJK font (fonts-noto-cjk or fonts-wqy-zenhei), if any."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CANDIDATES if name in installed), None)


def label(text: str) -> str:
    """``text`` as is when a CJK font exists, otherwise in pinyin (never tofu boxes)."""
    if cjk_font() is not None or text.isascii():
        return text
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(text)).title()
