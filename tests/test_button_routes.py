"""Every button a template builds reaches a registered handler (no dead buttons).

The callback data of each ``kb.button(label, data)`` in ``bot/templates`` is read from the
template's syntax tree: literal parts kept, each expression part tried with the values
a pattern of ``handler_list()`` accepts there (a number, or one of its alternatives).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from jinja2 import Environment, nodes
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot.app import handler_list
from bot.render import TEMPLATE_DIR, StandaloneLines


def _callback_patterns() -> list[re.Pattern[str]]:
    found: list[re.Pattern[str]] = []

    def visit(handler: Any) -> None:
        if isinstance(handler, ConversationHandler):
            for inner in [*handler.entry_points, *handler.fallbacks,
                          *itertools.chain.from_iterable(handler.states.values())]:
                visit(inner)
        elif isinstance(handler, CallbackQueryHandler) and isinstance(handler.pattern, re.Pattern):
            found.append(handler.pattern)

    for _group, handler in handler_list():
        visit(handler)
    return found


Shape = list[str | None]  # literal pieces, None for each computed piece


def _shapes(node: nodes.Node, sets: dict[str, nodes.Node]) -> list[Shape]:
    """Every form the data can take: literals kept, ``{% set %}`` names and ifs expanded."""
    if isinstance(node, nodes.Const):
        return [[str(node.value)]]
    if isinstance(node, nodes.Concat):
        shapes: list[Shape] = [[]]
        for child in node.nodes:
            shapes = [a + b for a in shapes for b in _shapes(child, sets)]
        return shapes
    if isinstance(node, nodes.CondExpr) and node.expr2 is not None:
        return _shapes(node.expr1, sets) + _shapes(node.expr2, sets)
    if isinstance(node, nodes.Filter) and node.name == "format" and isinstance(
            node.node, nodes.Const):
        pieces = re.split(r"%[ds]", str(node.node.value))
        return [[x for piece in pieces[:-1] for x in (piece, None)] + [pieces[-1]]]
    if isinstance(node, nodes.Name) and node.name in sets:
        return _shapes(sets[node.name], sets)
    return [[None]]


def _buttons() -> Iterator[tuple[str, list[Shape]]]:
    env = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do", StandaloneLines])
    for path in sorted(TEMPLATE_DIR.glob("*.j2")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        sets = {a.target.name: a.node for a in tree.find_all(nodes.Assign)
                if isinstance(a.target, nodes.Name)}
        for call in tree.find_all(nodes.Call):
            target = call.node
            if (isinstance(target, nodes.Getattr) and target.attr == "button"
                    and isinstance(target.node, nodes.Name) and target.node.name == "kb"
                    and len(call.args) >= 2):
                yield path.name, _shapes(call.args[1], sets)


def _routed(shape: Shape, patterns: list[re.Pattern[str]]) -> bool:
    slots = shape.count(None)
    for pattern in patterns:
        words = set(re.findall(r"[A-Za-z_]\w*", pattern.pattern)) | {"1", "12"}
        for fill in itertools.product(sorted(words), repeat=slots) if slots <= 3 else [()]:
            values = iter(fill)
            data = "".join(part if part is not None else next(values) for part in shape)
            if pattern.match(data):
                return True
    return False


def test_every_template_button_has_a_handler() -> None:
    patterns = _callback_patterns()
    buttons = list(_buttons())
    assert len(buttons) > 50  # the tree walk finds the buttons at all
    dead = [(name, shape) for name, shapes in buttons for shape in shapes
            if not _routed(shape, patterns)]
    assert dead == []
