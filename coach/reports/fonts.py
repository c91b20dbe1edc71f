"""The font of the charts: the bundled CJK subset first, then installed CJK fonts.

``bot/fonts/CoachSansCJK.otf`` (a subset of Noto Sans CJK SC under the SIL Open Font
License, built by ``tools/build_font.py``) ships with the code, so Chinese labels
show on a fresh machine without any system font package. It is registered with
matplotlib's font manager the first time a chart is drawn and listed first; installed
CJK fonts follow for the rare character outside the subset (matplotlib falls back
glyph by glyph along the list). Only if the bundled file is missing and no CJK font is
installed are labels written in pinyin, never as tofu boxes.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

__all__ = ["BUNDLED", "BUNDLED_FAMILY", "cjk_font", "font_families", "label"]

BUNDLED = Path(__file__).resolve().parents[2] / "bot" / "fonts" / "CoachSansCJK.otf"
BUNDLED_FAMILY = "Coach Sans CJK"
CANDIDATES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK", "WenQuanYi Zen Hei",
              "WenQuanYi Micro Hei", "Source Han Sans SC", "SimHei")


def _installed() -> list[str]:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in CANDIDATES if name in names]


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The CJK font charts use: the bundled one (registered here), else an installed one."""
    from matplotlib import font_manager

    if BUNDLED.is_file():
        font_manager.fontManager.addfont(str(BUNDLED))
        return BUNDLED_FAMILY
    installed = _installed()
    return installed[0] if installed else None


def font_families() -> list[str]:
    """``font.sans-serif`` for a chart: the chosen CJK font, other CJK fonts, DejaVu Sans."""
    first = cjk_font()
    rest = [name for name in _installed() if name != first]
    return [*([first] if first else []), *rest, "DejaVu Sans"]


def label(text: str) -> str:
    """``text`` as is when a CJK font exists, otherwise in pinyin (never tofu boxes).

    Control characters (a name typed with a line break) become spaces: no font draws them.
    """
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    if cjk_font() is not None or text.isascii():
        return text
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(text)).title()
