"""Handlers and jobs get dataclasses from coach/services, never ORM rows.

Two checks keep the boundary: no module under ``handlers/`` or ``bot/jobs/``
imports ``storage.models``, and every coach/services function those modules
call is annotated to return only plain values or frozen dataclasses (looked
into lists, tuples, unions and dataclass fields), never a model class. A row
read by a template after its session closed would lazy-load and raise
``DetachedInstanceError``; a frozen dataclass built inside the session cannot.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib
import inspect
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.models import Base, Client, FollowUp

ROOT = Path(__file__).resolve().parents[1]
CALLER_DIRS = ("handlers", "bot/jobs")

# (module, function) -> why it may still hand back an ORM row or a mutable dataclass.
# Each entry must still be needed (the test fails once the function is converted). Empty.
ALLOWED: dict[tuple[str, str], str] = {}
# Caller modules that may still import storage.models, with the reason. Empty.
IMPORTS_ALLOWED: dict[str, str] = {}


def _caller_files() -> list[Path]:
    return sorted(p for d in CALLER_DIRS for p in (ROOT / d).glob("*.py"))


def _imports(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


def _service_calls(tree: ast.Module) -> set[tuple[str, str]]:
    """(service module, name) for every service function the file names."""
    aliases: dict[str, str] = {}   # local name -> coach.services.x
    direct: dict[str, tuple[str, str]] = {}  # local name -> (module, function)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "coach.services":
            for a in node.names:
                aliases[a.asname or a.name] = f"coach.services.{a.name}"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("coach.services."):
            for a in node.names:
                direct[a.asname or a.name] = (node.module or "", a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("coach.services.") and a.asname:
                    aliases[a.asname] = a.name
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases):
            found.add((aliases[node.value.id], node.attr))
        elif isinstance(node, ast.Name) and node.id in direct:
            found.add(direct[node.id])
    return found


def _orm_types(tp: Any, seen: set[int]) -> Iterator[str]:
    """Names of ORM model classes reachable from annotation ``tp``."""
    if id(tp) in seen:
        return
    seen.add(id(tp))
    if inspect.isclass(tp) and issubclass(tp, Base):
        yield tp.__name__
        return
    for arg in typing.get_args(tp):
        yield from _orm_types(arg, seen)
    if inspect.isclass(tp) and dataclasses.is_dataclass(tp):
        for field_type in _field_types(tp):
            if isinstance(field_type, str):  # a name imported only for type checking
                yield from sorted(_MODEL_NAMES & set(re.findall(r"\w+", field_type)))
            else:
                yield from _orm_types(field_type, seen)


_MODEL_NAMES = {m.class_.__name__ for m in Base.registry.mappers}


def _field_types(tp: type) -> list[Any]:
    """Each field's resolved type; the annotation text when it cannot be resolved."""
    namespace = vars(importlib.import_module(tp.__module__))
    out: list[Any] = []
    for field in dataclasses.fields(tp):
        annotation = field.type
        if isinstance(annotation, str):
            with contextlib.suppress(NameError):
                annotation = eval(annotation, dict(namespace))  # noqa: S307 - our own source
        out.append(annotation)
    return out


def _returns_dataclass_not_frozen(tp: Any, seen: set[int]) -> Iterator[str]:
    if id(tp) in seen:
        return
    seen.add(id(tp))
    for arg in typing.get_args(tp):
        yield from _returns_dataclass_not_frozen(arg, seen)
    if inspect.isclass(tp) and dataclasses.is_dataclass(tp):
        params = getattr(tp, "__dataclass_params__", None)
        if params is not None and not params.frozen:
            yield tp.__name__


def _used_service_functions() -> list[tuple[str, str]]:
    used: set[tuple[str, str]] = set()
    for path in _caller_files():
        used |= _service_calls(ast.parse(path.read_text(encoding="utf-8")))
    out: set[tuple[str, str]] = set()
    for module, name in used:
        obj = getattr(importlib.import_module(module), name, None)
        # a function re-exported by another service module is checked where it lives
        if inspect.isfunction(obj) and obj.__module__.startswith("coach.services."):
            out.add((obj.__module__, obj.__name__))
    return sorted(out)


def _models_importers() -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for path in _caller_files()
        for name in _imports(ast.parse(path.read_text(encoding="utf-8")))
        if name == "storage.models" or name.startswith("storage.models.")
    }


def test_handlers_and_jobs_do_not_import_storage_models() -> None:
    importers = _models_importers()
    assert sorted(importers - set(IMPORTS_ALLOWED)) == []
    assert sorted(set(IMPORTS_ALLOWED) - importers) == [], "stale IMPORTS_ALLOWED entries"


def test_the_import_scan_sees_an_import() -> None:
    tree = ast.parse("from storage.models import Client\nimport storage.models as m\n")
    assert "storage.models" in set(_imports(tree))


def test_the_scan_finds_the_service_calls() -> None:
    # Guards the test itself: if the AST walk broke, the check below would pass on nothing.
    used = _used_service_functions()
    assert ("coach.services.clients", "load_card") in used
    assert ("coach.services.followups", "complete") in used
    assert len(used) > 40


@pytest.mark.parametrize(("module", "name"), _used_service_functions(),
                         ids=lambda v: str(v).removeprefix("coach.services."))
def test_service_functions_used_by_handlers_return_no_orm_rows(module: str, name: str) -> None:
    func = getattr(importlib.import_module(module), name)
    hints = typing.get_type_hints(func)
    assert "return" in hints, f"{module}.{name} has no return annotation"
    ret = hints["return"]
    orm = sorted(set(_orm_types(ret, set())))
    loose = sorted(set(_returns_dataclass_not_frozen(ret, set())))
    if (module, name) in ALLOWED:
        assert orm or loose, f"{module}.{name} is converted: drop it from ALLOWED"
        return
    assert orm == [], f"{module}.{name} hands ORM rows {orm} to its caller"
    assert loose == [], f"{module}.{name} returns mutable dataclasses {loose}"


@dataclasses.dataclass(frozen=True)
class _Wraps:
    rows: list[Client]


def test_detection_sees_orm_rows_inside_containers() -> None:
    assert list(_orm_types(list[tuple[FollowUp, str]], set())) == ["FollowUp"]
    assert list(_orm_types(Client | None, set())) == ["Client"]
    assert list(_orm_types(_Wraps, set())) == ["Client"]
    assert list(_orm_types(dict[int, str] | types.NoneType, set())) == []
