"""Languages: gettext catalogs (Babel ``.po``) plus OpenCC for Traditional Chinese.

Message ids are English. ``zh-Hans`` (the default) and ``en`` have catalogs in
``bot/locale/<locale>/LC_MESSAGES/*.po`` (one file per feature, merged at load
time so features never edit the same file). Traditional Chinese is rendered in
Simplified and converted with OpenCC: ``s2hk`` for Hong Kong, ``s2twp`` for
Taiwan, unless a hand translation catalog exists for that variant.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

import opencc
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from scripts_library.regions import apply_vocabulary, region_of

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "LOCALE_DIR",
    "catalog_locale",
    "from_telegram",
    "gettext_for",
    "load_catalog",
    "normalize_locale",
    "to_traditional",
]

LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT_LOCALE = "zh-Hans"
LOCALES = ("zh-Hans", "zh-Hant-HK", "zh-Hant-TW", "en")
_OPENCC_CONFIG = {"zh-Hant-HK": "s2hk", "zh-Hant-TW": "s2twp"}


def normalize_locale(value: str | None) -> str:
    """Map any stored or user-given language value onto one of :data:`LOCALES`."""
    if not value:
        return DEFAULT_LOCALE
    v = value.replace("_", "-").lower()
    if v.startswith("en"):
        return "en"
    if v in ("zh-hant", "zh-hant-hk", "zh-hk", "zh-mo"):
        return "zh-Hant-HK"
    if v in ("zh-hant-tw", "zh-tw"):
        return "zh-Hant-TW"
    return DEFAULT_LOCALE


def from_telegram(language_code: str | None) -> str:
    """The locale to answer an unregistered person in, from their Telegram app."""
    if language_code and not language_code.lower().startswith(("zh", "en")):
        return "en"
    return normalize_locale(language_code)


def catalog_locale(locale: str) -> str:
    """Which catalog folder serves ``locale`` (Traditional renders via Simplified)."""
    return "en" if normalize_locale(locale) == "en" else "zh_Hans"


@lru_cache(maxsize=8)
def load_catalog(folder: str) -> Catalog:
    """Merge every ``.po`` file of one locale folder into a single catalog."""
    merged = Catalog(locale="en" if folder == "en" else "zh_Hans_CN", fuzzy=False)
    for po in sorted((LOCALE_DIR / folder / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh):
                if message.id:
                    merged[message.id] = message
    return merged


@lru_cache(maxsize=8)
def gettext_for(folder: str) -> gettext.GNUTranslations:
    """A compiled ``GNUTranslations`` for a catalog folder (no ``.mo`` build step)."""
    buffer = io.BytesIO()
    write_mo(buffer, load_catalog(folder))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@lru_cache(maxsize=2)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_traditional(text: str, locale: str) -> str:
    """Convert Simplified text for a Traditional locale; other locales unchanged.

    After OpenCC, the region's vocabulary layer (``scripts_library/regions.yaml``) swaps
    in the words a Hong Kong or Taiwan banker uses (戶口, 存款保障計劃; 帳戶, 定期定額).
    """
    locale = normalize_locale(locale)
    config = _OPENCC_CONFIG.get(locale)
    if not config or not text:
        return text
    return apply_vocabulary(_converter(config).convert(text), region_of(locale))
