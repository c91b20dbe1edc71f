"""Typed model of one talk-track script, and how it renders for a reader.

The YAML files in ``content/`` are validated into :class:`Script` objects; the
Telegram handlers call :meth:`Script.render` to fill ``{{ client }}``-style
variables (plain substitution, see :mod:`scripts_library.placeholders`) and
pick the language. Traditional Chinese output is a separate step
(:func:`scripts_library.convert.to_traditional`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from scripts_library.placeholders import fill

__all__ = [
    "CATEGORIES",
    "OBJECTION_CATEGORIES",
    "STEP_KEYS",
    "PLACEHOLDERS",
    "RenderedScript",
    "SHORT_MAX",
    "Script",
    "Steps",
    "Translation",
    "is_objection",
]

CATEGORIES: tuple[str, ...] = (
    "objection.fee_too_high",
    "objection.return_too_low",
    "objection.fear_of_loss",
    "objection.past_loss",
    "objection.think_it_over",
    "objection.ask_family",
    "objection.no_money",
    "objection.other_bank_better",
    "objection.liquidity",
    "objection.no_time",
    "objection.distrust_sales",
    "objection.already_have",
    "objection.prefer_deposit",
    "objection.market_timing",
    "opening.phone_call",
    "opening.invitation",
    "discovery.spin",
    "pitch.fab",
    "pitch.numbers",
    "signals.buying",
    "closing",
    "followup.post_sale",
    "followup.new_account",
    "crosssell",
    "referral.handoff",
    "complaint",
    "greeting.holiday",
    "followup.meeting_prep",  # last, so the /library buttons of the others keep their index
)

OBJECTION_CATEGORIES: tuple[str, ...] = tuple(c for c in CATEGORIES if c.startswith("objection."))

# the five objection-handling steps, in the order they are spoken
STEP_KEYS: tuple[str, ...] = ("restate", "acknowledge", "compliment", "answer", "advance")

# what an unfilled variable renders as, per language; anything else becomes "…"
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "zh": {"client": "您"},
    "en": {"client": "you"},
}
_DEFAULT_PLACEHOLDER = "…"


def is_objection(category: str) -> bool:
    """True for the fourteen ``objection.*`` categories (they use five steps)."""
    return category.startswith("objection.")


# generous bounds (the longest shipped text is ~500 characters): a 1 MB "title" is a mistake
_Title = Annotated[str, Field(min_length=1, max_length=120)]
_Text = Annotated[str, Field(min_length=1, max_length=2000)]
_Short = Annotated[str, Field(max_length=200)]
SHORT_MAX = 60  # a one-breath line: what fits on a phone screen without scrolling
_ShortVersion = Annotated[str, Field(min_length=1, max_length=SHORT_MAX)]


SCRIPT_ID_MAX = 56  # 64-byte callback data minus the longest prefix ("sc up ") and slack

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Steps(_Strict):
    """The five steps of handling an objection, in speaking order.

    The compliment is optional: a specific compliment helps, generic flattery
    ("您真专业") hurts, so a script without an honest one leaves it out.
    """

    restate: _Text
    acknowledge: _Text
    compliment: _Text | None = None
    answer: _Text
    advance: _Text

    def items(self) -> list[tuple[str, str]]:
        """``(step_key, text)`` pairs in speaking order (a missing compliment is skipped)."""
        return [(key, text) for key in STEP_KEYS if (text := getattr(self, key)) is not None]



class Translation(_Strict):
    """The English version of a script (complete when every Chinese text has a match)."""

    title: _Title
    steps: Steps | None = None
    say: _Text | None = None
    short: _ShortVersion | None = None
    risk_note: _Text | None = None


class Script(_Strict):
    """One talk track: an objection answer (five steps) or a ``say`` text."""

    # the id rides in button data ("sc up <id>"): Telegram allows 64 bytes in all
    id: str = Field(pattern=r"^[a-z0-9_.]+$", max_length=SCRIPT_ID_MAX)
    category: str = Field(max_length=60)
    title: _Title
    triggers: list[_Short] = Field(default_factory=list, max_length=60)
    steps: Steps | None = None
    say: _Text | None = None
    variables: list[_Short] = Field(default_factory=list, max_length=10)
    tags: list[_Short] = Field(default_factory=list, max_length=20)
    risk_note: _Text | None = None
    # the one-breath answer shown first on a phone (objections); steps are one tap away
    short: _ShortVersion | None = None
    en: Translation | None = None
    team_id: int | None = None  # None: shared library; set: a team's own script (from the DB)
    source_file: str | None = None
    source_line: int | None = None

    @property
    def is_objection(self) -> bool:
        return is_objection(self.category)

    def missing_translation(self, lang: str = "en") -> list[str]:
        """Which texts the ``lang`` version still lacks (empty: a complete translation).

        ``zh-Hans`` is the source language, so only an empty source is incomplete.
        """
        if lang != "en":
            return []
        if self.en is None:
            return ["en"]
        missing = []
        if (self.steps is not None) != (self.en.steps is not None) or (
                self.say is not None) != (self.en.say is not None):
            missing.append("en body")
        if self.risk_note and not self.en.risk_note:
            missing.append("en.risk_note")
        if self.short and not self.en.short:
            missing.append("en.short")
        return missing

    def text_fields(self) -> list[tuple[str, str]]:
        """Every human-readable text as ``(path, text)``, e.g. ``("en.steps.answer", ...)``."""
        out: list[tuple[str, str]] = [("title", self.title)]
        out += [(f"triggers[{i}]", t) for i, t in enumerate(self.triggers)]
        out += _body_fields("", self.steps, self.say)
        if self.risk_note:
            out.append(("risk_note", self.risk_note))
        if self.short:
            out.append(("short", self.short))
        if self.en is not None:
            out.append(("en.title", self.en.title))
            out += _body_fields("en.", self.en.steps, self.en.say)
            if self.en.risk_note:
                out.append(("en.risk_note", self.en.risk_note))
            if self.en.short:
                out.append(("en.short", self.en.short))
        return out

    def render(self, lang: str = "zh", variables: dict[str, Any] | None = None,
               region: str | None = None) -> RenderedScript:
        """Fill the declared variables (plain substitution) and pick the language.

        ``lang == "en"`` uses the English version when there is one; any other
        value (or a missing translation) gives the Simplified Chinese text.
        Variables that are not supplied become a placeholder ("您"/"you" for
        ``client``, "…" otherwise), never an error. ``region`` (``"hk"``/``"tw"``)
        localises or drops mainland-only facts in the Chinese text
        (:mod:`scripts_library.regions`); character conversion is a later step.
        """
        use_en = lang == "en" and self.en is not None
        out_lang = "en" if use_en else "zh"
        context = _context(out_lang, variables or {})
        render = partial(_render, context=context, declared=self.variables)
        risk_note, short = self.risk_note, self.short
        if use_en:
            assert self.en is not None
            title, steps, say = self.en.title, self.en.steps, self.en.say
            if steps is None and say is None:  # title-only translation: body falls back
                steps, say = self.steps, self.say
            risk_note = self.en.risk_note or risk_note
            short = self.en.short
        else:
            title, steps, say = self.title, self.steps, self.say
        rendered = RenderedScript(
            script_id=self.id,
            lang=out_lang,
            title=render(title),
            steps=[(k, render(t)) for k, t in steps.items()] if steps else None,
            say=render(say) if say else None,
            risk_note=render(risk_note) if risk_note else None,
            short=render(short) if short else None,
        )
        if region and out_lang == "zh":
            from scripts_library.regions import localise_rendered  # avoids an import cycle

            rendered = localise_rendered(rendered, region)
        return rendered


@dataclass(frozen=True, slots=True)
class RenderedScript:
    """A script ready to show: either ``steps`` (objections) or ``say``."""

    script_id: str
    lang: str
    title: str
    steps: list[tuple[str, str]] | None
    say: str | None
    risk_note: str | None
    short: str | None = None

    def texts(self) -> list[str]:
        """All visible texts in reading order (handy for conversion and tests)."""
        body = [t for _, t in self.steps] if self.steps else [self.say or ""]
        return [self.title, *body, *([self.risk_note] if self.risk_note else [])]


def _body_fields(prefix: str, steps: Steps | None, say: str | None) -> list[tuple[str, str]]:
    if steps is not None:
        return [(f"{prefix}steps.{k}", t) for k, t in steps.items()]
    return [(f"{prefix}say", say)] if say else []


def _context(lang: str, variables: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = dict(PLACEHOLDERS.get(lang, {}))
    context.update({k: v for k, v in variables.items() if v is not None and v != ""})
    return context


# "{{ client }}，您是…" with no name would read "您，您是…": drop the vocative instead
_BARE_VOCATIVE = re.compile(r"(^|(?<=[。！？!?]))\s*\{\{\s*client\s*\}\}\s*[，,]\s*")


def _render(text: str, *, context: dict[str, Any], declared: list[str]) -> str:
    if "{" not in text:
        return text
    if context.get("client") in PLACEHOLDERS["zh"].values() or context.get("client") in (
            PLACEHOLDERS["en"].values()):
        dropped = _BARE_VOCATIVE.sub("", text)
        if dropped != text and dropped[:1].islower():
            dropped = dropped[0].upper() + dropped[1:]
        text = dropped
    # plain substitution, never a template engine: script texts are data (see placeholders)
    return fill(text, context, lambda _name: _DEFAULT_PLACEHOLDER, declared)
