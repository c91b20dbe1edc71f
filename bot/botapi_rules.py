"""What Telegram's Bot API refuses, written once for the in-process fake and the HTTP emulator.

Telegram answers ``400 Bad Request`` to a message whose HTML it cannot parse (an
unknown tag, a tag closed out of order or never, a bare ``<`` or ``&``, a named entity
other than ``&lt; &gt; &amp; &quot;``), to text over 4,096 characters or a caption over
1,024 *after* entity parsing (counted in UTF-16 code units), to empty text, to callback
data outside 1–64 bytes, to a callback answer over 200 characters, and to inline answers
with more than 50 results or an unusable result. :func:`check` returns that description
(``None`` when Telegram would accept the call), so tests catch what production would hit.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["CAPTION_LIMIT", "TEXT_LIMIT", "check", "html_to_text", "visible_length"]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
INLINE_RESULTS_LIMIT = 50
# tags Telegram's HTML parse mode understands (https://core.telegram.org/bots/api#html-style)
_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
                   "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji"})
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class Refused(ValueError):
    """A call Telegram would answer with 400; the message is the description."""


def _entity(match: re.Match[str]) -> str:
    name = match[1]
    if name in _NAMED:
        return _NAMED[name]
    code = int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
    if code == 0 or code > 0x10FFFF:
        raise Refused("Bad Request: can't parse entities: invalid character reference")
    return chr(code)


def html_to_text(text: str) -> str:
    """The text a person sees after Telegram parses ``text`` as HTML; raises :class:`Refused`."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            tag = _TAG.match(text, i)
            if tag is None:
                raise Refused(f"Bad Request: can't parse entities: unexpected '<' at byte "
                              f"offset {len(text[:i].encode())}")
            closing, name = tag[1] == "/", tag[2].lower()
            if name not in _TAGS:
                raise Refused(f"Bad Request: can't parse entities: unsupported start tag "
                              f'"{name}" at byte offset {len(text[:i].encode())}')
            if closing:
                if not stack or stack[-1] != name:
                    raise Refused("Bad Request: can't parse entities: can't find end tag "
                                  f'corresponding to start tag "{stack[-1] if stack else name}"')
                stack.pop()
            else:
                stack.append(name)
            i = tag.end()
        elif ch == "&":
            entity = _ENTITY.match(text, i)
            if entity is None:
                raise Refused("Bad Request: can't parse entities: unsupported HTML entity or "
                              f"bare '&' at byte offset {len(text[:i].encode())}")
            out.append(_entity(entity))
            i = entity.end()
        else:
            out.append(ch)
            i += 1
    if stack:
        raise Refused("Bad Request: can't parse entities: can't find end tag corresponding "
                      f'to start tag "{stack[-1]}"')
    return "".join(out)


def visible_length(text: str, parse_mode: str | None) -> int:
    """UTF-16 length after parsing, as Telegram measures; raises :class:`Refused`."""
    shown = html_to_text(text) if (parse_mode or "").upper() == "HTML" else text
    return len(shown.encode("utf-16-le")) // 2


def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
    markup = params.get("reply_markup")
    return json.loads(markup) if isinstance(markup, str) else markup


def _check_markup(markup: dict[str, Any] | None) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text") or "").strip():
                raise Refused("Bad Request: text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise Refused("Bad Request: BUTTON_DATA_INVALID")


def _check_text(text: Any, parse_mode: str | None, limit: int, *, required: bool) -> None:
    if text is None or text == "":
        if required:
            raise Refused("Bad Request: message text is empty")
        return
    length = visible_length(str(text), parse_mode)
    if required and not (html_to_text(str(text)) if (parse_mode or "").upper() == "HTML"
                         else str(text)).strip():
        raise Refused("Bad Request: message text is empty")
    if length > limit:
        raise Refused("Bad Request: message is too long" if limit == TEXT_LIMIT
                      else "Bad Request: message caption is too long")


def _check_inline(params: dict[str, Any]) -> None:
    results = params.get("results") or []
    if isinstance(results, str):
        results = json.loads(results)
    if len(results) > INLINE_RESULTS_LIMIT:
        raise Refused("Bad Request: RESULTS_TOO_MUCH")
    ids = [str(r.get("id", "")) for r in results]
    if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode()) <= 64 for i in ids):
        raise Refused("Bad Request: RESULT_ID_INVALID")
    for result in results:
        content = result.get("input_message_content") or {}
        if "message_text" in content:
            _check_text(content["message_text"], content.get("parse_mode"), TEXT_LIMIT,
                        required=True)
        if not str(result.get("title") or "").strip() and result.get("type") == "article":
            raise Refused("Bad Request: RESULT_TITLE_EMPTY")
        _check_markup(result.get("reply_markup"))


def check(method: str, params: dict[str, Any]) -> str | None:
    """Why Telegram would refuse ``method`` with ``params`` (a 400 description), or None."""
    try:
        mode = params.get("parse_mode")
        if method in ("sendMessage", "editMessageText"):
            _check_text(params.get("text"), mode, TEXT_LIMIT, required=True)
        elif method in ("sendPhoto", "sendDocument", "editMessageCaption"):
            _check_text(params.get("caption"), mode, CAPTION_LIMIT, required=False)
        elif method == "answerCallbackQuery":
            if len(str(params.get("text") or "")) > CALLBACK_ANSWER_LIMIT:
                raise Refused("Bad Request: MESSAGE_TOO_LONG")
        elif method == "answerInlineQuery":
            _check_inline(params)
        _check_markup(_markup(params))
    except Refused as err:
        return str(err)
    return None
