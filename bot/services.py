"""Long-lived things every handler and job needs, built once per application."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.render import Renderer
from bot.settings import Settings
from coach.clock import Clock, SystemClock
from coach.ratelimit import FloodLimiter
from storage.db import Database

if TYPE_CHECKING:
    from coach.services.library import ScriptCatalog

__all__ = ["Services"]


@dataclass
class Services:
    """Settings, database, clock, renderer and the search index, shared read-only."""

    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    renderer: Renderer = field(default_factory=Renderer)
    flood: FloodLimiter | None = None
    inline_flood: FloodLimiter | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    _catalog: ScriptCatalog | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.flood is None:
            self.flood = FloodLimiter(limit=self.settings.flood_limit_per_minute,
                                      per_seconds=60, clock=self.clock)
        if self.inline_flood is None:
            self.inline_flood = FloodLimiter(limit=self.settings.inline_limit_per_minute,
                                             per_seconds=60, clock=self.clock)

    @property
    def catalog(self) -> ScriptCatalog:
        """The script library with this deployment's team scripts (built on first use)."""
        if self._catalog is None:
            from coach.services.library import shared_catalog

            catalog = shared_catalog()
            with self.db.session() as s:
                catalog.load_team_scripts(s)
            self._catalog = catalog
        return self._catalog
