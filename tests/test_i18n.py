"""Every message id in the templates has a translation; Traditional is derived."""

from __future__ import annotations

from bot.i18n import from_telegram, normalize_locale, to_traditional
from bot.render import Renderer
from tools.i18n import missing, template_msgids


def test_every_template_msgid_is_translated() -> None:
    assert template_msgids(), "no message ids found: extraction is broken"
    gaps = missing()
    assert gaps == {"zh_Hans": [], "en": []}


def test_traditional_variants_are_derived_with_opencc() -> None:
    assert to_traditional("客户说手续费太贵", "zh-Hant-TW") == "客戶說手續費太貴"
    assert to_traditional("客户说手续费太贵", "zh-Hant-HK").startswith("客")
    assert to_traditional("客户", "en") == "客户"


def test_locale_mapping() -> None:
    assert from_telegram("zh-hans") == "zh-Hans"
    assert from_telegram("zh-tw") == "zh-Hant-TW"
    assert from_telegram("zh-hk") == "zh-Hant-HK"
    assert from_telegram("ru") == "en"
    assert from_telegram(None) == "zh-Hans"
    assert normalize_locale("zh-Hant") == "zh-Hant-HK"


def test_render_in_each_locale() -> None:
    renderer = Renderer()
    assert "registered bank staff" in renderer.text("not_registered", "en")
    assert "银行员工" in renderer.text("not_registered", "zh-Hans")
    assert "銀行員工" in renderer.text("not_registered", "zh-Hant-TW")
