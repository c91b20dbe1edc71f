"""Charts show Chinese with the bundled font, on a machine without any CJK font (issue 15)."""

from __future__ import annotations

import warnings
from datetime import date
from typing import Any

import pytest

from coach.reports import fonts, team
from coach.services.reports import AdvisorNumbers, PeriodReport

SYSTEM_CJK = ("CJK", "WenQuanYi", "Source Han", "SimHei")
TITLES = {"calls": "通话", "sales": "成交", "per_advisor": "每位理财经理", "per_day": "每天"}


@pytest.fixture
def fresh_machine(monkeypatch: pytest.MonkeyPatch) -> Any:
    """matplotlib's font list without any installed CJK font, as after a bare pip install."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    kept = [f for f in manager.ttflist if not any(k in f.name for k in SYSTEM_CJK)]
    monkeypatch.setattr(manager, "ttflist", kept)
    fonts.cjk_font.cache_clear()
    manager._findfont_cached.cache_clear()
    yield manager
    fonts.cjk_font.cache_clear()
    manager._findfont_cached.cache_clear()


def test_bundled_font_is_chosen_and_has_every_glyph(fresh_machine: Any) -> None:
    from matplotlib.font_manager import FontProperties

    assert fonts.cjk_font() == fonts.BUNDLED_FAMILY
    assert fonts.font_families()[0] == fonts.BUNDLED_FAMILY
    found = fresh_machine.findfont(FontProperties(family=fonts.font_families()),
                                   fallback_to_default=False)
    assert found == str(fonts.BUNDLED)
    assert fonts.label("安娜") == "安娜"  # no pinyin any more
    report = PeriodReport("week", date(2026, 11, 19), date(2026, 11, 25),
                          [AdvisorNumbers(1, "安娜", calls=3, sales=1),
                           AdvisorNumbers(2, "欧阳晓峰", calls=5, sales=2),
                           AdvisorNumbers(3, "陳思雨", calls=2, sales=0),
                           AdvisorNumbers(4, "张\r\n伟", calls=1, sales=0)],
                          [(date(2026, 11, 25), 3, 1)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = team.team_chart_png(report, titles=TITLES)
    assert png[:4] == b"\x89PNG"
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []


def test_without_the_bundled_font_a_missing_glyph_would_show(
        fresh_machine: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """The check above can fail: without the bundle, DejaVu Sans lacks the glyphs."""
    from matplotlib.figure import Figure

    monkeypatch.setattr(fonts, "BUNDLED", tmp_path / "absent.otf")
    kept = [f for f in fresh_machine.ttflist if f.name != fonts.BUNDLED_FAMILY]
    monkeypatch.setattr(fresh_machine, "ttflist", kept)
    fresh_machine._findfont_cached.cache_clear()
    assert fonts.cjk_font() is None and fonts.label("安娜") == "An Na"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = Figure()
        fig.subplots().set_title("通话")
        fig.savefig(tmp_path / "x.png")
    assert any("missing from font" in str(w.message) for w in caught)


def test_the_subset_covers_what_charts_label() -> None:
    """Every category, outcome and team-report title, and the common hanzi, are in it."""
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(fonts.BUNDLED), lazy=True).getBestCmap()
    sample = "通话成交每位理财经理每天手续费太贵王建国李秀英陳思雨廣東匯豐銀行" + "".join(TITLES.values())
    assert [ch for ch in sample if ord(ch) not in cmap] == []
    assert fonts.BUNDLED.stat().st_size < 4_000_000
    assert (fonts.BUNDLED.parent / "OFL.txt").read_text().count("SIL OPEN FONT LICENSE") == 1
