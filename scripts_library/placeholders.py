"""Script texts are data: ``{{ name }}`` placeholders are the only template syntax.

Script texts come from content writers and from team leads (``/addscript``,
``coach scripts import``), and reach every advisor and inline mode. They are
therefore never handed to a template engine: :func:`fill` replaces
``{{ name }}`` by a value with a regular expression and leaves every other
character as it is, so ``{{ config }}``, ``{{ ''.__class__ }}`` or
``{% include %}`` can never run, even if such a text got into the database
before validation refused it. :func:`problems` is the validation side: it
refuses anything that looks like template syntax other than a declared
variable, so the writer hears about it instead of seeing braces in a card.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["KNOWN_VARIABLES", "NAME", "fill", "problems", "used_variables"]

# the variables a script may use; what each renders as is decided by the caller
KNOWN_VARIABLES: tuple[str, ...] = ("client", "advisor", "product", "rate")

# a variable name: lower-case identifier, never dunder/private
NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")

# exactly "{{ name }}" (spaces optional): nothing else is a placeholder
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_]{0,30})\s*\}\}")

# what is left after removing real placeholders must not look like template syntax
_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


def used_variables(text: str) -> list[str]:
    """Names of the ``{{ name }}`` placeholders in ``text``, in order, without repeats."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))


def problems(text: str, declared: Iterable[str]) -> list[str]:
    """What is wrong with the template side of ``text`` (empty list: fine).

    Declared variables are the only allowed syntax; an undeclared name and any
    other ``{{``/``{%``/``{#`` construct are refused, each reported once.
    """
    allowed = set(declared)
    out: list[str] = []
    for name in used_variables(text):
        if name not in allowed:
            out.append(f"variable {name!r} is used but not listed in 'variables'")
    rest = _PLACEHOLDER.sub("", text)
    found = _SYNTAX.search(rest)
    if found is not None:
        snippet = rest[max(found.start() - 10, 0):found.end() + 20].replace("\n", " ")
        out.append("template syntax is not allowed (only {{ name }} placeholders of the "
                   f"declared variables): {snippet.strip()!r}")
    return out


def fill(text: str, values: Mapping[str, Any], default: Callable[[str], str],
         declared: Iterable[str]) -> str:
    """Replace each declared ``{{ name }}`` by ``values[name]`` (or ``default(name)``).

    Nothing else changes: undeclared names and any other brace construct stay
    literally in the text, shown and never run.
    """
    if "{{" not in text:
        return text
    allowed = frozenset(declared)

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in allowed:
            return match.group(0)
        value = values.get(name)
        return default(name) if value is None or value == "" else str(value)

    return _PLACEHOLDER.sub(one, text)
