"""What a script's ``{{ client }}`` and ``{{ advisor }}`` become for one advisor and client.

A script opened from a client says that client's name the way an advisor would:
陈先生 / 王女士 when the salutation is known, otherwise the full name (the
scripts go on with 您). Opened without a client, the variables become visible
placeholders in brackets (【客户称呼】, [client's name]) that are obviously to be
replaced before sending, never "…". The advisor's own name is always known.
"""

from __future__ import annotations

from coach.privacy import COMPOUND_SURNAMES

__all__ = ["PLACEHOLDERS", "SALUTATIONS", "form_of_address", "script_variables", "surname"]

SALUTATIONS = ("mr", "ms")
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "zh": {"client": "【客户称呼】", "advisor": "【您的姓名】", "product": "【产品名称】",
           "rate": "【收益率】"},
    "en": {"client": "[client's name]", "advisor": "[your name]", "product": "[product name]",
           "rate": "[rate]"},
}
_TITLES = {"zh": {"mr": "{}先生", "ms": "{}女士"}, "en": {"mr": "Mr {}", "ms": "Ms {}"}}


def _is_han(text: str) -> bool:
    return bool(text) and all("\u3400" <= ch <= "\u9fff" or ch in "·•・" for ch in text)


def surname(name: str) -> str:
    """The family name of a Chinese name (欧阳娜娜 → 欧阳); a Latin name is kept whole."""
    name = name.strip()
    if not _is_han(name):
        return name
    return name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]


def form_of_address(name: str, salutation: str | None, lang: str = "zh") -> str:
    """陈先生 / Mr Chen with a known salutation, else the full name."""
    name = " ".join(name.split())
    if salutation not in SALUTATIONS or not name:
        return name
    titles = _TITLES["en" if lang == "en" else "zh"]
    family = surname(name)
    if lang == "en" and _is_han(family):
        from pypinyin import lazy_pinyin  # loaded only when needed: it is large

        family = "".join(lazy_pinyin(family)).capitalize()
    return titles[salutation].format(family)


def script_variables(lang: str, *, advisor: str | None, client_name: str | None = None,
                     salutation: str | None = None) -> dict[str, str]:
    """Values for every script variable: real ones where known, placeholders elsewhere."""
    values = dict(PLACEHOLDERS["en" if lang == "en" else "zh"])
    if advisor:
        values["advisor"] = advisor
    if client_name:
        values["client"] = form_of_address(client_name, salutation, lang)
    return values
