"""Hong Kong and Taiwan readers: mainland-only facts localised or hidden, regional words.

Two layers, both data in ``regions.yaml``:

* **facts** run on the Simplified source of a script, before character conversion: a
  mainland-only fact (deposit insurance of 500,000 yuan, personal pension accounts,
  savings bonds, R1–R5 / C1–C5 wording, the mainland product registry) is replaced by
  the regional fact or its sentence is dropped; a script whose whole subject is such a
  fact is hidden for that region (:func:`hidden_scripts`).
* **vocabulary** runs after OpenCC on any Traditional text (:func:`apply_vocabulary`):
  戶口 and 存款保障計劃 in Hong Kong, 帳戶 and 定期定額 in Taiwan, and so on.

:func:`fact_report` lists, per region, every place a mainland-only fact occurs and what
happens to it; ``coach scripts regions`` prints it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from scripts_library.loader import Library
    from scripts_library.schema import RenderedScript

__all__ = [
    "REGIONS", "Fact", "apply_vocabulary", "fact_report", "hidden_scripts", "localise",
    "localise_rendered", "region_of", "residual_facts",
]

REGIONS: tuple[str, ...] = ("hk", "tw")
REGIONS_FILE = Path(__file__).resolve().parent / "regions.yaml"
_LOCALE_REGION = {"zh-Hant-HK": "hk", "zh-Hant-TW": "tw"}
# a sentence ends after 。！？；; a dropped sentence takes its end mark with it
_SENTENCE = re.compile(r"[^。！？；]*[。！？；]?")


def region_of(locale: str | None) -> str | None:
    """``"hk"``/``"tw"`` for a Traditional locale, else ``None`` (mainland or English)."""
    return _LOCALE_REGION.get(locale or "")


@dataclass(frozen=True)
class Fact:
    """One mainland-only fact and what each region does with it."""

    id: str
    about: str
    match: re.Pattern[str]
    within: re.Pattern[str] | None
    rewrites: tuple[tuple[str, dict[str, str]], ...]
    actions: dict[str, dict[str, Any]]  # region -> {"replace": str} | {"hide": True}
    scripts: tuple[str, ...]

    def action(self, region: str) -> str:
        act = self.actions.get(region, {})
        return "localised" if "replace" in act else "hidden" if act.get("hide") else "kept"

    def applies(self, sentence: str) -> bool:
        return bool(self.match.search(sentence)) and (
            self.within is None or bool(self.within.search(sentence)))


@dataclass(frozen=True)
class _Data:
    facts: tuple[Fact, ...]
    vocabulary: dict[str, tuple[tuple[re.Pattern[str], str], ...]]


@lru_cache(maxsize=1)
def _data() -> _Data:
    raw = yaml.safe_load(REGIONS_FILE.read_text(encoding="utf-8"))
    facts = tuple(
        Fact(
            id=f["id"], about=f.get("about", ""), match=re.compile(f["match"]),
            within=re.compile(f["within"]) if f.get("within") else None,
            rewrites=tuple((r["text"], {k: v for k, v in r.items() if k in REGIONS})
                           for r in f.get("rewrites", [])),
            actions={r: dict(f[r]) for r in REGIONS if r in f},
            scripts=tuple(f.get("scripts", [])),
        )
        for f in raw.get("facts", [])
    )
    vocabulary = {
        region: tuple((re.compile(v["from"]), v["to"]) for v in raw.get("vocabulary", {})
                      .get(region, []))
        for region in REGIONS
    }
    return _Data(facts=facts, vocabulary=vocabulary)


def facts() -> tuple[Fact, ...]:
    return _data().facts


def hidden_scripts(region: str | None) -> frozenset[str]:
    """Ids of scripts whose whole subject only exists in the mainland."""
    if region not in REGIONS:
        return frozenset()
    return frozenset(s for f in facts() if f.action(region) == "hidden" for s in f.scripts)


def localise(text: str, region: str | None) -> str:
    """Simplified ``text`` with mainland-only facts localised or dropped for ``region``."""
    if not text or region not in REGIONS:
        return text
    for fact in facts():
        for original, regional in fact.rewrites:
            if region in regional and original in text:
                text = text.replace(original, regional[region])
        act = fact.actions.get(region, {})
        if "replace" in act:
            text = "".join(fact.match.sub(act["replace"], s) if fact.applies(s) else s
                           for s in _sentences(text))
        elif act.get("hide"):
            text = "".join(s for s in _sentences(text) if not fact.applies(s))
    return text.strip()


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.findall(text) if s]


def localise_rendered(rendered: RenderedScript, region: str | None) -> RenderedScript:
    """A copy of a rendered Chinese script with every text localised for ``region``."""
    if region not in REGIONS or rendered.lang != "zh":
        return rendered

    def loc(text: str | None) -> str | None:
        return localise(text, region) or None if text else text

    return replace(
        rendered,
        title=localise(rendered.title, region),
        steps=[(k, t) for k, t in ((k, localise(t, region)) for k, t in rendered.steps) if t]
        if rendered.steps else None,
        say=loc(rendered.say),
        risk_note=loc(rendered.risk_note),
        short=loc(rendered.short),
    )


def apply_vocabulary(text: str, region: str | None) -> str:
    """Regional words on already-converted Traditional ``text``."""
    if not text or region not in REGIONS:
        return text
    for pattern, word in _data().vocabulary[region]:
        text = pattern.sub(word, text)
    return text


def residual_facts(text: str, region: str) -> list[str]:
    """Ids of mainland-only facts still stated in ``text`` after localisation (should be none)."""
    out = localise(text, region)
    return [f.id for f in facts() if f.action(region) != "kept"
            and any(f.applies(s) for s in _sentences(out))]


def fact_report(library: Library) -> dict[str, list[dict[str, Any]]]:
    """Per region, every occurrence of a mainland-only fact in the library's Chinese texts.

    Each entry: ``fact``, ``action`` (localised / hidden / script hidden), ``script``,
    ``field``, ``where`` (``file:line``) and ``shown`` (the regional wording, or ``None``).
    """
    report: dict[str, list[dict[str, Any]]] = {region: [] for region in REGIONS}
    for region in REGIONS:
        hidden = hidden_scripts(region)
        for script in library.scripts:
            lines = library.field_lines.get(script.id, {})
            for path, text in script.text_fields():
                if path.startswith(("en.", "triggers")):
                    continue
                for fact in facts():
                    if not any(fact.applies(s) for s in _sentences(text)):
                        continue
                    whole = script.id in hidden
                    shown = None if whole else localise(text, region) or None
                    action = "script hidden" if whole else fact.action(region)
                    if not whole and fact.action(region) == "hidden" and shown and any(
                            original in text for original, _ in fact.rewrites):
                        action = "localised"
                    report[region].append({
                        "fact": fact.id, "action": action, "script": script.id,
                        "field": path,
                        "where": f"{script.source_file}:{lines.get(path, script.source_line)}",
                        "shown": shown,
                    })
    return report
