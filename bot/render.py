"""Jinja2 rendering of every message the bot sends, keyboards included.

A template is the whole message: its text (HTML) and its inline buttons. Button
labels go through gettext like any other text; a template adds buttons by
calling ``kb.button(label, data)`` and starts a new row with ``kb.row()``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.ext import Extension
from markupsafe import Markup
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import i18n
from coach import textwidth
from coach.privacy import Audience
from coach.reports.table import compact_amount

__all__ = ["Rendered", "Renderer", "KeyboardBuilder", "TEMPLATE_DIR"]

TEMPLATE_DIR = Path(__file__).with_name("templates")
log = logging.getLogger(__name__)
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING = re.compile(r"[ \t]+\n")


_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}|\{\{\s*kb\.[^}]*\}\}")


class StandaloneLines(Extension):
    """Drop the line break after lines that hold only tags (or only buttons).

    Jinja's ``trim_blocks`` also eats the break after an inline ``{% endif %}`` at
    the end of a text line; this keeps those and removes only the lines that
    would otherwise print as empty.
    """

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        out = []
        for line in source.splitlines(keepends=True):
            body = line.rstrip("\n")
            if body.strip() and not _TAG.sub("", body).strip() and _TAG.search(body):
                out.append(body)
            else:
                out.append(line)
        return "".join(out)


def _plain(label: Any) -> str:
    return label.unescape() if isinstance(label, Markup) else str(label)


@dataclass
class KeyboardBuilder:
    """Collects the buttons a template asks for, row by row."""

    rows: list[list[InlineKeyboardButton]] = field(default_factory=lambda: [[]])

    def button(self, label: Any, data: str) -> str:
        if not 1 <= len(data.encode()) <= 64:
            # Telegram would refuse the whole message: drop the one button, keep the message
            log.warning("button dropped: callback data of %d bytes", len(data.encode()))
            return ""
        self.rows[-1].append(InlineKeyboardButton(_plain(label), callback_data=data))
        return ""

    def url(self, label: Any, url: str) -> str:
        self.rows[-1].append(InlineKeyboardButton(_plain(label), url=url))
        return ""

    def switch_inline(self, label: Any, query: str = "") -> str:
        self.rows[-1].append(
            InlineKeyboardButton(_plain(label), switch_inline_query_current_chat=query)
        )
        return ""

    def row(self) -> str:
        if self.rows[-1]:
            self.rows.append([])
        return ""

    def markup(self) -> InlineKeyboardMarkup | None:
        rows = [r for r in self.rows if r]
        return InlineKeyboardMarkup(rows) if rows else None


@dataclass(frozen=True)
class Rendered:
    text: str
    markup: InlineKeyboardMarkup | None = None


def _money(value: Decimal | float | int | None, locale: str = "zh-Hans") -> str:
    if value is None:
        return "-"
    amount = Decimal(value)
    if locale != "en" and abs(amount) >= 10000:
        wan = (amount / 10000).quantize(Decimal("0.01")).normalize()
        return f"{wan:f}万"
    return f"{amount:,.0f}"


def _local(value: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def _day(value: date | None, fmt: str = "%Y-%m-%d") -> str:
    return value.strftime(fmt) if value else "-"


def _audience(ctx: Any) -> Audience:
    value = ctx.get("audience")
    return value if isinstance(value, Audience) else Audience()  # unknown: mask everything


def _own(ctx: Any, own: bool | None) -> bool:
    return bool(ctx.get("own", False)) if own is None else bool(own)


@pass_context
def _client_name(ctx: Any, name: str | None, own: bool | None = None) -> str:
    """A client's name as the masking rule allows for this message's audience.

    ``own``: the line is about one of the reader's own clients (default: the template's
    ``own`` variable, else False).
    """
    return _audience(ctx).name(name, own=_own(ctx, own))


@pass_context
def _client_phone(ctx: Any, phone: str | None, own: bool | None = None) -> str:
    """A client's phone: in full for the owner in a private chat, else ``****1234``."""
    return _audience(ctx).phone(phone, own=_own(ctx, own))


@pass_context
def _client_text(ctx: Any, text: str | None, name: str | None = None,
                 own: bool | None = None) -> str:
    """Free text about client ``name`` (notes, complaint, question) under the same rule."""
    return _audience(ctx).text(text, own=_own(ctx, own), names=[name] if name else [])


def _mark(message: str) -> str:
    return message


class Renderer:
    """One Jinja2 environment per catalog, shared by every handler."""

    def __init__(self, template_dir: Path = TEMPLATE_DIR) -> None:
        self._envs = {folder: self._make_env(template_dir, folder) for folder in ("zh_Hans", "en")}

    @staticmethod
    def _make_env(template_dir: Path, folder: str) -> Environment:
        env = Environment(
            loader=FileSystemLoader(template_dir),
            autoescape=select_autoescape(["j2", "html"], default_for_string=True),
            extensions=["jinja2.ext.i18n", "jinja2.ext.do", StandaloneLines],
            undefined=StrictUndefined,
            trim_blocks=False,
            lstrip_blocks=True,
            # templates ship with the code: no stat() of the file on every message
            auto_reload=False,
        )
        env.install_gettext_translations(i18n.gettext_for(folder), newstyle=True)  # type: ignore[attr-defined]
        # client data only through the masking rule: no raw mask filters to bypass it
        env.filters.update(money=_money, local=_local, day=_day, client_name=_client_name,
                           client_phone=_client_phone, client_text=_client_text)
        # phone tables (<pre>): cells padded and cut by display width, amounts in 6 columns
        env.globals.update(fit=textwidth.fit, short_amount=compact_amount)
        # marks a msgid for the catalog without translating it (translated where shown)
        env.globals["N_"] = _mark
        return env

    def add_global(self, name: str, value: Any) -> None:
        """Make a helper (e.g. a display-name lookup) callable from every template."""
        for env in self._envs.values():
            env.globals[name] = value

    def environment(self, locale: str) -> Environment:
        return self._envs[i18n.catalog_locale(locale)]

    def render(self, name: str, locale: str, /, **context: Any) -> Rendered:
        """Render ``templates/<name>.j2`` for ``locale``; returns text and keyboard."""
        locale = i18n.normalize_locale(locale)
        kb = KeyboardBuilder()
        template = self.environment(locale).get_template(f"{name}.j2")
        text = template.render(kb=kb, locale=locale, **context)
        text = _BLANK_RUNS.sub("\n\n", _TRAILING.sub("\n", text)).strip()
        markup = kb.markup()
        if locale.startswith("zh-Hant"):
            text = i18n.to_traditional(text, locale)
            markup = _traditional_markup(markup, locale)
        return Rendered(text=text, markup=markup)

    def text(self, name: str, locale: str, /, **context: Any) -> str:
        return self.render(name, locale, **context).text


def _traditional_markup(
    markup: InlineKeyboardMarkup | None, locale: str
) -> InlineKeyboardMarkup | None:
    if markup is None:
        return None
    rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for b in row:
            data = b.to_dict()
            data["text"] = i18n.to_traditional(b.text, locale)
            new_row.append(InlineKeyboardButton(**data))
        rows.append(new_row)
    return InlineKeyboardMarkup(rows)
