"""The script library at runtime: search, browse, feedback, usage and team scripts.

The shared library and its index are loaded once per process (the YAML never
changes while the bot runs). Team scripts live in the database; the first time a
process needs them, it takes a copy of the shared index and adds them one by one
(incrementally), so one team's scripts are only ever returned for that team.

Several instances: saving a team script bumps the ``team_scripts`` version
(:mod:`storage.versions`) in the same transaction; every instance checks it each
tick (:meth:`ScriptCatalog.refresh_team_scripts`) and adds only the scripts written
since the version it had, to its index: no rebuild.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import lru_cache
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.clock import Clock
from coach.services.errors import ServiceError
from scripts_library import placeholders
from scripts_library.loader import Library, check_script, load_library
from scripts_library.placeholders import KNOWN_VARIABLES
from scripts_library.regions import hidden_scripts
from scripts_library.schema import CATEGORIES, Script
from scripts_library.search import ScriptIndex, SearchResult
from storage import versions
from storage.db import check_off_loop
from storage.models import ScriptEvent, TeamScript

__all__ = [
    "AskResult",
    "ScriptCatalog",
    "UsageReport",
    "record_event",
    "shared_catalog",
    "usage_report",
]

MAX_LOGGED_QUERY = 300


@lru_cache(maxsize=1)
def _shared() -> tuple[Library, ScriptIndex]:
    library = load_library()
    # the first start after a content change trains the category model (about 2.5 s): in
    # a thread of its own, so the index serves as soon as its postings are ready
    return library, ScriptIndex.build(library.scripts, background=True)


def shared_catalog(wait_for_model: bool = True) -> ScriptCatalog:
    """A catalog over the shared library (index built once per process).

    ``wait_for_model``: return only once the category model is in place (answers exactly
    as they will stay; what tests, the CLI and a process about to fork need). False: a
    running bot serves at once, ranking without the model for the seconds it trains; its
    team-script copies receive it when it is ready.
    """
    library, index = _shared()
    if wait_for_model:
        index.wait_for_model()
    return ScriptCatalog(library, index)


@dataclass(frozen=True)
class AskResult:
    result: SearchResult
    position: int = 0

    @property
    def script(self) -> Script | None:
        hits = self.result.hits
        return hits[self.position].script if self.position < len(hits) else None

    @property
    def has_next(self) -> bool:
        return self.position + 1 < len(self.result.hits)


class ScriptCatalog:
    """Shared scripts plus the teams' own, searchable as one library."""

    def __init__(self, library: Library, index: ScriptIndex) -> None:
        self.library = library
        self._shared_index = index
        self.index = index
        self.team_scripts: dict[str, Script] = {}
        self.team_scripts_version = -1  # the cache_versions value the index reflects

    # --- reading -------------------------------------------------------------------

    def get(self, script_id: str, *, team_id: int | None) -> Script | None:
        script = self.library.get(script_id) or self.team_scripts.get(script_id)
        if script is None or (script.team_id is not None and script.team_id != team_id):
            return None
        return script

    def by_category(self, category: str, *, team_id: int | None,
                    region: str | None = None) -> list[Script]:
        """A category's scripts (the team's own first); ``region`` leaves out scripts whose
        whole subject only exists in the mainland (see :mod:`scripts_library.regions`)."""
        own = [s for s in self.team_scripts.values()
               if s.category == category and s.team_id == team_id]
        hidden = hidden_scripts(region)
        return [s for s in own + self.library.by_category(category) if s.id not in hidden]

    def ask(self, query: str, *, team_id: int | None, position: int = 0,
            limit: int = 5, region: str | None = None,
            searched: SearchResult | None = None) -> AskResult:
        """The best scripts for ``query`` as this region may see them.

        ``searched``: what ``index.search(query, team_id=team_id, limit=limit)`` already
        returned for this very query in this update (a step checking whether text reads
        like an objection): not searched a second time.
        """
        if searched is not None:
            result = searched
        else:
            # a search is tens of milliseconds of CPU: on the event loop it stalls every
            # chat (reported like a database session there; raises in the test suite)
            check_off_loop("script search")
            result = self.index.search(query, team_id=team_id, limit=limit)
        hidden = hidden_scripts(region)
        if hidden and any(h.script.id in hidden for h in result.hits):
            # the best match is about a mainland-only product: not a sure answer here
            sure = result.confident and result.hits[0].script.id not in hidden
            result = replace(result, hits=[h for h in result.hits if h.script.id not in hidden],
                             confident=sure)
        return AskResult(result, position)

    # --- team scripts -------------------------------------------------------------------

    def load_team_scripts(self, session: Session) -> int:
        """Every team script (at start); how many."""
        # the version first: a script saved between the two reads is read again next
        # tick (added twice = replaced), never missed
        version = versions.current(session)[versions.TEAM_SCRIPTS]
        count = self._read_team_scripts(session, newer_than=None)
        self.team_scripts_version = version
        return count

    def refresh_team_scripts(self, session: Session, version: int | None = None) -> int:
        """Scripts saved (on any instance) since the version this index has; how many.

        ``version``: the current counter when the caller read it already (one query
        per tick for every cache).
        """
        if version is None:
            version = versions.current(session)[versions.TEAM_SCRIPTS]
        if version == self.team_scripts_version:
            return 0
        count = self._read_team_scripts(session, newer_than=self.team_scripts_version)
        self.team_scripts_version = version
        return count

    def _read_team_scripts(self, session: Session, *, newer_than: int | None) -> int:
        query = select(TeamScript).order_by(TeamScript.version, TeamScript.id)
        if newer_than is not None:
            query = query.where(TeamScript.version > newer_than)
        scripts = [Script.model_validate({**row.data, "id": row.script_id,
                                          "team_id": row.team_id})
                   for row in session.scalars(query)]
        if scripts:
            self._add(scripts)
        return len(scripts)

    def _add(self, scripts: Iterable[Script]) -> None:
        scripts = list(scripts)
        for script in scripts:
            self.team_scripts[script.id] = script
        if self.index is self._shared_index:
            # never mutate the process-wide shared index: a copy shares its data, and adding
            # to the copy touches only the new script's postings (no full rebuild)
            self.index = self._shared_index.copy()
        for script in scripts:
            self.index.add(script)

    def save_team_script(self, session: Session, me: Me, data: dict[str, Any], *,
                         clock: Clock, team_id: int | None = None) -> Script:
        """Validate and store a team script (leads: own team; admins: any team)."""
        script = self.check_team_script(session, me, data, team_id=team_id)
        self.store_team_scripts(session, me, [script], clock=clock)
        return script

    def save_team_draft(self, session: Session, me: Me, data: dict[str, Any], *,
                        clock: Clock) -> Script:
        """/addscript's save: a refused draft raises ``DraftRefused`` naming the failed steps.

        Who may save and where are checked first (``ServiceError``), then the content step
        by step, then everything :meth:`save_team_script` checks.
        """
        from coach.services.script_drafts import DraftRefused, draft_problems

        if me.role not in ("lead", "admin"):
            raise ServiceError("role_forbidden")
        if me.team_id is None:
            raise ServiceError("team_required", role=me.role)
        problems = draft_problems(data, script_id=self._new_id(session, me.team_id),
                                  team_id=me.team_id)
        if problems:
            raise DraftRefused(problems)
        return self.save_team_script(session, me, data, clock=clock)

    def check_team_script(self, session: Session, me: Me, data: dict[str, Any], *,
                          team_id: int | None = None) -> Script:
        """Everything :meth:`save_team_script` checks, without writing (raises ServiceError)."""
        if me.role not in ("lead", "admin"):
            raise ServiceError("role_forbidden")
        team_id = team_id if me.role == "admin" and team_id is not None else me.team_id
        if team_id is None:
            raise ServiceError("team_required", role=me.role)
        script_id = data.get("id") or self._new_id(session, team_id)
        if self.library.get(script_id) is not None:
            raise ServiceError("script_invalid", problems=f"id {script_id} is a shared script")
        payload = {k: v for k, v in data.items() if k not in ("id", "team_id")}
        if payload.get("variables") is None:
            # /addscript cannot declare variables: the known ones it uses count as declared
            payload["variables"] = _known_variables_used(payload)
        try:
            script = Script.model_validate({**payload, "id": script_id, "team_id": team_id})
        except ValidationError as err:
            raise ServiceError("script_invalid", problems="; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())) from None
        template = [f"{path}: {message}" for path, text in script.text_fields()
                    for message in placeholders.problems(
                        text, script.variables if not path.startswith("triggers") else ())]
        template += [f"variables: {name!r} is not one of the known placeholders"
                     for name in script.variables if name not in KNOWN_VARIABLES]
        if template:
            # code-looking content is refused before anything else, with its own message
            raise ServiceError("script_template", problems="; ".join(template),
                               allowed=", ".join(f"{{{{ {v} }}}}" for v in KNOWN_VARIABLES))
        problems = check_script(script)
        if script.category not in CATEGORIES:
            raise ServiceError("script_invalid", problems=f"unknown category {script.category}")
        if problems:
            raise ServiceError("script_invalid",
                               problems="; ".join(p.message for p in problems))
        row = session.scalar(select(TeamScript).where(TeamScript.script_id == script_id))
        if row is not None and row.team_id != team_id:
            raise ServiceError("script_invalid", problems=f"id {script_id} belongs to another team")
        return script

    def store_team_scripts(self, session: Session, me: Me, scripts: list[Script], *,
                           clock: Clock) -> None:
        """Write scripts that :meth:`check_team_script` accepted (insert or update by id)."""
        version = versions.bump(session, versions.TEAM_SCRIPTS)  # other instances: re-read
        for script in scripts:
            row = session.scalar(select(TeamScript).where(TeamScript.script_id == script.id))
            stored = script.model_dump(exclude={"id", "team_id", "source_file", "source_line"},
                                       exclude_none=True)
            if row is None:
                session.add(TeamScript(team_id=script.team_id, script_id=script.id, data=stored,
                                       created_by_id=me.user_id or None, created_at=clock.now(),
                                       updated_at=clock.now(), version=version))
            else:
                row.data = stored
                row.updated_at = clock.now()
                row.version = version
        session.flush()
        self._add(scripts)

    @staticmethod
    def _new_id(session: Session, team_id: int) -> str:
        count = session.scalar(select(func.count()).select_from(TeamScript)
                               .where(TeamScript.team_id == team_id)) or 0
        return f"team{team_id}.s{count + 1}"


def _known_variables_used(payload: dict[str, Any]) -> list[str]:
    """The known placeholders (``{{ client }}`` …) that a draft's texts use."""
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk({k: v for k, v in payload.items() if k != "triggers"})
    used = {name for text in texts for name in placeholders.used_variables(text)}
    return [name for name in KNOWN_VARIABLES if name in used]


def record_event(session: Session, *, user_id: int | None, kind: str, clock: Clock,
                 script_id: str | None = None, query: str | None = None) -> None:
    """Store a shown script, a 👍/👎, or a query that found nothing."""
    if kind not in ("shown", "up", "down", "miss"):
        raise ValueError(kind)
    # a Core insert (one per objection query): no ORM object, no RETURNING of its id
    session.execute(insert(cast(Table, ScriptEvent.__table__)).values(
        user_id=user_id, script_id=script_id, kind=kind,
        query=(query or "")[:MAX_LOGGED_QUERY] or None, created_at=clock.now()))


@dataclass
class UsageReport:
    most_used: list[tuple[str, int]] = field(default_factory=list)
    most_disliked: list[tuple[str, int, int]] = field(default_factory=list)
    not_found: list[tuple[str, int]] = field(default_factory=list)


_SPACES = re.compile(r"\s+")


def usage_report(session: Session, *, clock: Clock, days: int = 30, limit: int = 10) -> UsageReport:
    """Most shown scripts, most disliked (downs, ups) and queries that found nothing."""
    since = clock.now() - timedelta(days=days)
    recent = ScriptEvent.created_at >= since

    def counts(kind: str, column: Any) -> list[tuple[str, int]]:
        rows = session.execute(
            select(column, func.count()).where(recent, ScriptEvent.kind == kind,
                                               column.is_not(None))
            .group_by(column).order_by(func.count().desc(), column).limit(limit))
        return [(str(key), int(n)) for key, n in rows]

    ups = dict(counts("up", ScriptEvent.script_id))
    downs = counts("down", ScriptEvent.script_id)
    return UsageReport(
        most_used=counts("shown", ScriptEvent.script_id),
        most_disliked=[(sid, n, ups.get(sid, 0)) for sid, n in downs],
        not_found=counts("miss", ScriptEvent.query),
    )


def script_for_reason(catalog: ScriptCatalog, reason: str,
                      kind: str | None = None) -> Script | None:
    """The script for a follow-up's reason: the one made for it, else its category's first.

    None when the library cannot be loaded: a reminder without a script beats no reminder.
    """
    from coach.services import followups

    try:
        preferred = followups.preferred_script(reason, kind)
        script = catalog.library.get(preferred) if preferred else None
        if script is not None:
            return script
        scripts = catalog.library.by_category(followups.script_category(reason, kind))
    except Exception:  # noqa: BLE001 - the caller goes on without a script
        logging.getLogger(__name__).exception("script library unavailable for reminders")
        return None
    return scripts[0] if scripts else None
