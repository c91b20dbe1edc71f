"""Split long bot replies into Telegram-sized messages at natural boundaries.

Telegram counts message length in UTF-16 code units (an emoji outside the Basic
Multilingual Plane counts 2), so :func:`split_message` measures the same way and never
cuts a character, a surrogate pair, an emoji joiner sequence, an HTML tag or an HTML
entity.  Within each chunk's window it cuts at the best boundary available, in this
order of preference: blank line (paragraph), line break, end of sentence (``。！？.!?``),
Chinese clause punctuation (``，、；：``), whitespace, and only then between two
characters.  Among boundaries of the best kind it takes the latest one that fits.

Formatting tags (``<b>``, ``<i>``, ``<code>``, ``<a href=...>``, ...) stay balanced: a chunk
that ends inside a tag closes it, and the next chunk reopens it.  The added tags count
towards ``limit``.  Chunks are stripped of whitespace at the cut and are never empty.

Incoming text is bounded separately: :data:`MAX_INPUT_CHARS` and :func:`is_too_long`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from enum import IntEnum
from itertools import accumulate

__all__ = ["CAPTION_LIMIT", "MAX_INPUT_CHARS", "TELEGRAM_LIMIT", "fits_caption", "is_too_long",
           "shorten", "split_message", "utf16_len", "visible_len"]

TELEGRAM_LIMIT = 4096
CAPTION_LIMIT = 1024  # under a photo or a document
MAX_INPUT_CHARS = 4000

# One atom is a tag, an entity, or a single code point; cuts only fall between atoms.
_ATOM = re.compile(
    r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"
    r"|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);"
    r"|.",
    re.DOTALL,
)
_TAGS_ONLY = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")
_SENTENCE_END = frozenset("。！？!?")
_CLOSING_QUOTES = frozenset("”’\"'」』）)】")
_CLAUSE_END = frozenset("，、；：")
_ZWJ = "\u200d"

Stack = tuple[tuple[str, str], ...]  # (tag name, opening tag text), outermost first


class _Cut(IntEnum):
    """Boundary quality, best first."""

    PARAGRAPH = 0
    LINE = 1
    SENTENCE = 2
    CLAUSE = 3
    SPACE = 4
    CHAR = 5
    AWKWARD = 6  # after an opening tag or inside a joined emoji: only when nothing else fits


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def visible_len(text: str) -> int:
    """Length of HTML ``text`` as Telegram measures it after parsing (tags out, entities as one)."""
    return utf16_len(html.unescape(_TAGS_ONLY.sub("", text)))


def fits_caption(text: str) -> bool:
    """True when ``text`` (HTML) can go under a photo or document (1,024 after parsing)."""
    return visible_len(text) <= CAPTION_LIMIT


def shorten(text: str, limit: int = TELEGRAM_LIMIT, *, ellipsis: str = "…") -> str:
    """``text`` cut at a natural boundary to fit ``limit`` (tags kept balanced), with ``…``.

    For places where only one message can go (an inline answer): the first part
    :func:`split_message` would send, marked as cut.
    """
    parts = split_message(text, limit - utf16_len(ellipsis))
    if len(parts) <= 1:
        return parts[0] if parts else text
    return parts[0] + ellipsis


def is_too_long(text: str | None) -> bool:
    """True when incoming user text exceeds :data:`MAX_INPUT_CHARS` characters."""
    return text is not None and len(text) > MAX_INPUT_CHARS


def _is_tag(atom: str) -> bool:
    return len(atom) > 2 and atom[0] == "<"


def _is_opening(atom: str) -> bool:
    return _is_tag(atom) and atom[1] != "/" and not atom.endswith("/>")


def _is_closing(atom: str) -> bool:
    return _is_tag(atom) and atom[1] == "/"


def _stacks(atoms: list[str]) -> list[Stack]:
    """Open tags at every boundary: ``result[k]`` is the stack after ``atoms[:k]``."""
    stack: Stack = ()
    result = [stack]
    for atom in atoms:
        if _is_tag(atom):
            match = _TAG_NAME.match(atom)
            name = match.group(1).lower() if match else ""
            if _is_opening(atom):
                stack = (*stack, (name, atom))
            elif _is_closing(atom):
                for depth in range(len(stack) - 1, -1, -1):
                    if stack[depth][0] == name:
                        stack = stack[:depth]
                        break
        result.append(stack)
    return result


def _openers(stack: Stack) -> str:
    return "".join(text for _, text in stack)


def _closers(stack: Stack) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _cut_quality(atoms: list[str], k: int) -> _Cut:
    """How good a cut between ``atoms[k - 1]`` and ``atoms[k]`` is."""
    n = len(atoms)
    prev = atoms[k - 1]
    nxt = atoms[k] if k < n else "\n"
    if prev == "\n":
        return _Cut.PARAGRAPH if k >= 2 and atoms[k - 2] == "\n" else _Cut.LINE
    if prev in _SENTENCE_END:
        return _Cut.SENTENCE
    if prev == "." and (nxt.isspace() or _is_tag(nxt)):
        return _Cut.SENTENCE
    if prev in _CLOSING_QUOTES and k >= 2 and atoms[k - 2] in _SENTENCE_END | {"."}:
        return _Cut.SENTENCE
    if prev in _CLAUSE_END:
        return _Cut.CLAUSE
    if prev.isspace():
        return _Cut.SPACE
    if _is_opening(prev) or prev == _ZWJ or "\ud800" <= prev <= "\udbff":
        return _Cut.AWKWARD
    if len(nxt) == 1 and (nxt == _ZWJ or unicodedata.combining(nxt) or "\ufe00" <= nxt <= "\ufe0f"):
        return _Cut.AWKWARD
    return _Cut.CHAR


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 units each (see module doc).

    Text that already fits is one chunk (stripped); blank text gives ``[]``.  Progress is
    guaranteed, so when ``limit`` is smaller than one atom plus the tags that must be
    reopened and closed around it (a huge tag, or deep nesting with a tiny limit), that
    chunk goes over the limit.  Any realistic limit (Telegram's 4096) never hits this.
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    if not text or not text.strip():
        return []
    if utf16_len(text) <= limit:
        return [text.strip()]

    atoms = _ATOM.findall(text)
    n = len(atoms)
    cum = list(accumulate((utf16_len(a) for a in atoms), initial=0))
    stacks = _stacks(atoms)
    closer_len = [utf16_len(_closers(stack)) for stack in stacks]

    chunks: list[str] = []
    start = 0
    while True:
        while start < n and atoms[start].isspace():
            start += 1
        if start >= n:
            break
        prefix = _openers(stacks[start])
        base = utf16_len(prefix) - cum[start]  # chunk cost = base + cum[end] + closer_len[end]
        end = _choose_end(atoms, start, limit, base, cum, closer_len)
        chunk = _render(atoms, start, end, prefix, stacks)
        if chunk:
            chunks.append(chunk)
        start = end
    return chunks


def _choose_end(
    atoms: list[str], start: int, limit: int, base: int, cum: list[int], closer_len: list[int]
) -> int:
    n = len(atoms)
    if base + cum[n] + closer_len[n] <= limit:
        return n
    best: dict[_Cut, int] = {}
    k = start + 1
    while k <= n and base + cum[k] <= limit:
        if base + cum[k] + closer_len[k] <= limit:
            best[_cut_quality(atoms, k)] = k
        k += 1
    end = best[min(best)] if best else start + 1  # always make progress
    # Closing tags right after the cut belong to this chunk (usually cost-neutral).
    while (
        end < n and _is_closing(atoms[end]) and base + cum[end + 1] + closer_len[end + 1] <= limit
    ):
        end += 1
    return end


def _render(atoms: list[str], start: int, end: int, prefix: str, stacks: list[Stack]) -> str:
    """The chunk text for ``atoms[start:end]``, or ``""`` when it shows nothing."""
    stop = end
    while stop > start and atoms[stop - 1].isspace():
        stop -= 1
    body = atoms[start:stop]
    if all(_is_tag(a) or a.isspace() for a in body):
        return ""
    return prefix + "".join(body) + _closers(stacks[stop])
