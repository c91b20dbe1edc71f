"""Caches that must agree across instances: team scripts and client names, versioned.

Two ``Services`` objects over one database stand for two bot instances.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event

from bot import logfilter
from bot.jobs.caches import refresh_shared_caches
from bot.services import Services
from bot.settings import Settings
from coach import privacy
from coach.actor import Me
from coach.clock import FixedClock
from coach.privacy import NameMasker
from scripts_library.search import ScriptIndex
from storage.db import Database
from tests import factories

SCRIPT = {"category": "closing", "title": "周末理财小课堂邀约",
          "triggers": ["周末理财小课堂", "理财沙龙什么时候"],
          "say": "这周六上午十点在网点二楼有理财小课堂，给您留个位置好吗？"}
QUERY = "周末理财小课堂"


@pytest.fixture
def second(settings: Settings, clock: FixedClock) -> Iterator[Services]:
    svc = Services(settings=settings, db=Database(settings.database_url), clock=clock)
    yield svc
    svc.db.dispose()


def _lead(services: Services, team: str = "Alpha") -> Me:
    with services.db.session() as s:
        row = factories.team(s, team, now=services.clock.now())
        user = factories.user(s, role="lead", team_id=row.id, now=services.clock.now())
        return Me(user.id, user.telegram_id, user.name, "lead", row.id, "zh-Hans",
                  "Asia/Shanghai")


def _found(services: Services, team_id: int | None) -> list[str]:
    return [h.script.id for h in services.catalog.ask(QUERY, team_id=team_id).result.hits]


def _count_queries(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: seen.append(statement))
    return seen


async def _tick(services: Services) -> None:
    await refresh_shared_caches(SimpleNamespace(bot_data={"services": services}))  # type: ignore[arg-type]


async def test_team_script_saved_on_one_instance_is_searchable_on_the_other(
        services: Services, second: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    lead = _lead(services)
    other_team = _lead(services, "Beta")
    _ = services.catalog, second.catalog  # both instances have built their index
    size = len(second.catalog.index)
    with services.db.session() as s:
        script = services.catalog.save_team_script(s, lead, dict(SCRIPT), clock=services.clock)
    assert script.id in _found(services, lead.team_id)  # the saving instance: at once
    assert script.id not in _found(second, lead.team_id)  # the other: not yet
    # one tick later it is there, added to the index (never rebuilt)
    monkeypatch.setattr(ScriptIndex, "build", lambda *a, **k: pytest.fail("index rebuilt"))
    await _tick(second)
    assert script.id in _found(second, lead.team_id)
    assert script.id not in _found(second, other_team.team_id)  # still the team's own
    assert len(second.catalog.index) == size + 1
    # edited on the first instance: the second has the new text after a tick
    with services.db.session() as s:
        services.catalog.save_team_script(
            s, lead, {**SCRIPT, "id": script.id, "say": "周六上午十点的小课堂还有位置，给您留一个？"},
            clock=services.clock)
    await _tick(second)
    edited = second.catalog.get(script.id, team_id=lead.team_id)
    assert edited is not None and edited.say is not None and "还有位置" in edited.say
    assert len(second.catalog.index) == size + 1


async def test_an_unchanged_version_costs_one_small_query(services: Services,
                                                          second: Services) -> None:
    _lead(services)
    _ = second.catalog
    statements = _count_queries(second.db)
    assert second.refresh_team_scripts() == 0
    assert len(statements) == 1 and "cache_versions" in statements[0]


def test_client_added_on_one_instance_is_masked_by_the_other(services: Services,
                                                             second: Services) -> None:
    feed = logfilter.ClientNameFeed(second.db)
    first = feed.read()
    assert first is not None and first[2] == []
    feed.applied(first[0], first[1])
    assert feed.read() is None  # nothing changed: one query, no names read
    with services.db.session() as s:  # instance A adds two clients
        advisor = factories.user(s, now=services.clock.now())
        factories.client(s, advisor_id=advisor.id, name="欧阳晓梅", now=services.clock.now())
        factories.client(s, advisor_id=advisor.id, name="Chen Wei", now=services.clock.now())
    found = feed.read()
    assert found is not None and sorted(found[2]) == ["Chen Wei", "欧阳晓梅"]  # only these
    feed.applied(found[0], found[1])
    with services.db.session() as s:
        factories.client(s, advisor_id=advisor.id, name="司马光明", now=services.clock.now())
    again = feed.read()
    assert again is not None and again[2] == ["司马光明"]  # what changed, not the whole book


def test_refresh_through_the_log_filter(services: Services, second: Services) -> None:
    logfilter.attach_names(logfilter.client_names_from(second.db))
    try:
        with services.db.session() as s:
            advisor = factories.user(s, now=services.clock.now())
            factories.client(s, advisor_id=advisor.id, name="诸葛青云", now=services.clock.now())
        assert logfilter.refresh_names() == 1
        assert logfilter.refresh_names() == 0
        assert "诸葛青云" not in logfilter.redact("called 诸葛青云 today")
    finally:
        logfilter.attach_names(None)


def test_a_failed_refresh_keeps_the_names_masked(services: Services, second: Services,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with services.db.session() as s:
        advisor = factories.user(s, now=services.clock.now())
        factories.client(s, advisor_id=advisor.id, name="王建国", now=services.clock.now())
    logfilter.attach_names(logfilter.client_names_from(second.db))
    try:
        assert "王建国" not in logfilter.redact("王建国 called")
        with services.db.session() as s:
            factories.client(s, advisor_id=advisor.id, name="李秀英", now=services.clock.now())

        def broken(names: Any) -> Any:
            raise MemoryError

        monkeypatch.setattr(privacy, "_build", broken)
        assert logfilter.refresh_names() is None  # the build failed ...
        assert "王建国" not in logfilter.redact("王建国 called")  # ... the old automaton stays
        monkeypatch.undo()
        assert logfilter.refresh_names() == 1  # read again: the version was not taken
        assert "李秀英" not in logfilter.redact("李秀英 called")
        # the database down: nothing changes, nothing unmasked
        monkeypatch.setattr(logfilter.ClientNameFeed, "read",
                            lambda self: (_ for _ in ()).throw(OSError("down")))
        assert logfilter.refresh_names() is None
        assert "王建国" not in logfilter.redact("王建国 and 李秀英")
        assert "李秀英" not in logfilter.redact("王建国 and 李秀英")
    finally:
        monkeypatch.undo()
        logfilter.attach_names(None)


def test_masker_merges_recent_names_into_the_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NameMasker, "COMPACT_AT", 3)
    masker = NameMasker(["王建"])
    masker.extend(["王建国"])  # recent: the longer name still wins across both automata
    assert masker.mask("王建国来电") == "王**来电"
    masker.extend(["李秀英", "Chen Wei", "赵六"])  # past COMPACT_AT: one base again
    assert masker._recent is None and len(masker) == 5
    assert masker.mask("王建国, Chen Wei, 李秀英") == "王**, Chen***, 李**"
    builds: list[int] = []
    original = privacy._build

    def counting(names: Any) -> Any:
        builds.append(len(list(names)))
        return original(names)

    monkeypatch.setattr(privacy, "_build", counting)
    masker.add(["孙七"])  # lazily: only the small recent automaton is built
    assert masker.mask("孙七") == "孙*" and builds == [1]




def test_every_new_database_tracks_client_names(settings: Settings, clock: FixedClock) -> None:
    """A Database made where a freed one lived still bumps the version when a client is
    added. SQLAlchemy's event registry keys on id(): asked whether the listener was there,
    it said yes for a new factory at a freed one's address (6 times in 30 here), so its
    sessions added clients without a bump and other instances never masked those names
    (a flaky test found it)."""
    from storage import versions

    first = Database(settings.database_url)
    with first.session() as s:
        advisor_id = factories.user(s, now=clock.now()).id
    first.dispose()
    del first
    missed = 0
    for i in range(40):
        db = Database(settings.database_url)
        if i == 0:  # a second call on one factory: still one listener, one bump
            versions.track_client_names(db._factory)
        try:
            with db.session() as s:
                before = versions.current(s)[versions.CLIENT_NAMES]
                factories.client(s, advisor_id=advisor_id, name=f"上官婉清{i}", now=clock.now())
                missed += versions.current(s)[versions.CLIENT_NAMES] != before + 1
                s.rollback()
        finally:
            db.dispose()
        del db
        gc.collect()  # the freed factory's address is free for the next one
    assert missed == 0
