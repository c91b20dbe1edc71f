"""Issue 14, "index build for 5,000 scripts under 5 s": the category model trains in the
background on a cold start, so the index serves as soon as its postings are compiled.

Training is held back by a gate each test opens itself (never a sleep or a timer): what is
asserted "before the model" is true for as long as the gate is shut.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import scripts_library.category_model as cm
from bot.app import build_application
from bot.fakebot import FakeRequest, FakeTelegram
from bot.services import Services
from bot.settings import Settings
from coach.clock import FixedClock
from coach.services import library as library_service
from scripts_library.loader import load_library
from scripts_library.search import ScriptIndex, Weights
from storage.db import Database

QUERIES = ("手续费太贵了", "回家还得过我媳妇那一关", "let me sleep on it", "今天天气真好")
WAIT = 120.0  # only bounds a broken test; a passing one never waits this long


@pytest.fixture(scope="module")
def library():
    return load_library()


@pytest.fixture(scope="module")
def synchronous(library):
    """The index as the CLI builds it: the model trained (or loaded) before it returns."""
    return ScriptIndex.build(library.scripts)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch) -> None:
    """A cold start: no model on disk or in memory."""
    monkeypatch.setenv("COACH_MODEL_CACHE", str(tmp_path / "models"))
    monkeypatch.setattr(cm, "_MEMORY", {})


@pytest.fixture
def gate(monkeypatch) -> Iterator[threading.Event]:
    """Training blocks until the test sets the event; opened at teardown whatever happens."""
    opened = threading.Event()
    real_fit = cm._fit  # noqa: SLF001

    def gated(*args: Any, **kwargs: Any) -> cm.CategoryModel | None:
        assert opened.wait(WAIT), "the test never opened the gate"
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(cm, "_fit", gated)
    yield opened
    opened.set()


def _trainers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "category-model"]


def _ranking(index: ScriptIndex, query: str, team_id: int | None = None) -> list[Any]:
    result = index.search(query, team_id=team_id)
    return [(h.script.id, h.score) for h in result.hits] + [result.confident, result.reason]


def test_a_cold_build_serves_at_once_and_every_twin_gets_the_model(
        library, synchronous, empty_cache, gate, caplog):
    caplog.set_level(logging.INFO, logger="scripts_library.search")
    index = ScriptIndex.build(library.scripts, background=True)
    # returned while training is held at the gate: no model yet, one training thread
    assert index.model is None and not index.wait_for_model(0)
    assert len(_trainers()) == 1 and _trainers()[0].daemon
    # meanwhile search ranks exactly as with the model turned off
    off = ScriptIndex.build(library.scripts, weights=Weights(model_rank=0.0))
    for query in QUERIES:
        assert _ranking(index, query) == _ranking(off, query)
    assert index.search("手续费太贵了").hits[0].script.category == "objection.fee_too_high"
    # a team's copy made before the model exists (as ScriptCatalog makes one)
    twin = index.copy()
    base = library.by_category("objection.other_bank_better")[0]
    twin.add(base.model_copy(update={"id": "team8.coop", "team_id": 8, "title": "信用社高息对比",
                                     "triggers": ["农村信用社三年定期给到三厘五"]}))
    assert twin.model is None

    gate.set()
    assert index.wait_for_model(WAIT) and twin.wait_for_model(0)
    assert index.model is not None and twin.model is index.model
    # the same model a synchronous build has (the same data, the same seed)
    assert synchronous.model is not None
    assert index.model.classes == synchronous.model.classes
    assert index.model.vocabulary == synchronous.model.vocabulary
    assert np.allclose(index.model.coef, synchronous.model.coef, atol=1e-6)
    for query in QUERIES:
        assert _ranking(index, query) == _ranking(synchronous, query)
    assert twin.search("信用社三年定期三厘五", team_id=8).hits[0].script.id == "team8.coop"
    ready = [r for r in caplog.records if r.getMessage().startswith("category model ready")]
    assert len(ready) == 1 and ready[0].levelno == logging.INFO
    assert "trained in the background in" in ready[0].getMessage()


def test_a_cached_model_is_there_at_once_without_a_thread(
        library, synchronous, empty_cache, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cm, "_fit", lambda *_a, **_k: synchronous.model)
    ScriptIndex.build(library.scripts)  # trains (instantly here) and writes the disk cache
    monkeypatch.setattr(cm, "_MEMORY", {})  # a restart: only the disk cache is left

    def no_training(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("trained although the model is cached")

    monkeypatch.setattr(cm, "_fit", no_training)
    before = len(_trainers())
    index = ScriptIndex.build(library.scripts, background=True)
    assert index.wait_for_model(0) and index.model is not None
    assert index.model.classes == synchronous.model.classes
    assert len(_trainers()) == before  # no thread was started
    assert _ranking(index, "回家还得过我媳妇那一关") == _ranking(synchronous, "回家还得过我媳妇那一关")


def test_a_failed_training_is_logged_and_search_goes_on_without_the_model(
        library, empty_cache, monkeypatch: pytest.MonkeyPatch, caplog):
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise MemoryError("no room for the model")

    monkeypatch.setattr(cm, "_fit", broken)
    caplog.set_level(logging.INFO, logger="scripts_library.search")
    index = ScriptIndex.build(library.scripts, background=True)
    assert index.wait_for_model(WAIT)  # nothing pending any more ...
    assert index.model is None  # ... and no model: ranked as with model_rank=0
    failed = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failed) == 1
    assert failed[0].getMessage().startswith("category model training failed (MemoryError)")
    assert not [r for r in caplog.records if r.getMessage().startswith("category model ready")]
    assert index.search("手续费太贵了").hits[0].script.category == "objection.fee_too_high"
    assert cm._MEMORY == {}  # noqa: SLF001 - nothing remembered: the next start tries again


def test_a_model_assigned_to_a_copy_stays_with_that_copy(synchronous):
    plain = synchronous.copy()
    plain.model = None
    assert plain.model is None and synchronous.model is not None
    assert plain.wait_for_model(0)


@pytest.fixture
def fresh_shared() -> Iterator[None]:
    """The process-wide shared index built anew for this test, and dropped after it (later
    tests must not see the model this test's gate produced)."""
    library_service._shared.cache_clear()  # noqa: SLF001
    yield
    library_service._shared.cache_clear()  # noqa: SLF001


async def _started(settings: Settings, clock: FixedClock,
                   check: Callable[[Services], None]) -> None:
    services = Services(settings=settings, db=Database(settings.database_url), clock=clock)
    app = build_application(services, request=FakeRequest(FakeTelegram()), rate_limit=False,
                            jobs=False)
    try:
        # bounded only so that a regression fails instead of hanging at the closed gate
        await asyncio.wait_for(app.initialize(), WAIT)
        await asyncio.to_thread(check, services)  # a search belongs off the event loop
    finally:
        await app.shutdown()
        services.db.dispose()


async def test_the_bot_starts_without_waiting_for_training(
        settings, clock, empty_cache, gate, fresh_shared):
    background = settings.model_copy(update={"search_model_background": True})

    def serving_without_the_model(services: Services) -> None:
        index = services.catalog.index
        assert index.model is None and not index.wait_for_model(0)
        assert len(_trainers()) == 1
        found = services.catalog.ask("手续费太贵了", team_id=None)
        assert found.script is not None and found.script.category == "objection.fee_too_high"

    await _started(background, clock, serving_without_the_model)
    gate.set()
    index = library_service.shared_catalog(wait_for_model=False).index
    assert await asyncio.to_thread(index.wait_for_model, WAIT)
    assert index.model is not None


async def test_the_test_settings_wait_for_the_model(settings, clock, empty_cache, gate,
                                                    monkeypatch, fresh_shared):
    assert settings.search_model_background is False  # tests/conftest.py
    real_wait = ScriptIndex.wait_for_model

    def waiting(index: ScriptIndex, timeout: float | None = None) -> bool:
        gate.set()  # training may finish only once start-up is waiting for it
        return real_wait(index, timeout)

    monkeypatch.setattr(ScriptIndex, "wait_for_model", waiting)

    def model_in_place(services: Services) -> None:
        assert gate.is_set()
        assert services.catalog.index.model is not None

    await _started(settings, clock, model_in_place)
