"""The per-update context handlers receive: who is calling and the services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from coach.actor import Me

if TYPE_CHECKING:
    from bot.services import Services
    from coach.services.people import Profile

__all__ = ["CoachContext", "Me"]

class CoachContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """``CallbackContext`` plus ``me`` (set by the guard) and ``svc``."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.me: Me | None = None
        # the caller's whole row as the guard read it in this update (digest settings…):
        # handlers use it instead of reading the users row a second time
        self.profile: Profile | None = None
        self.locale: str = "zh-Hans"
        self.handler_name: str = "-"

    @property
    def svc(self) -> Services:
        return self.application.bot_data["services"]  # type: ignore[no-any-return]

    @property  # type: ignore[misc]  # read-only: PTB's setter refuses anyway
    def user_data(self) -> dict[Any, Any]:
        """The caller's drafts. Only an update without a user has none: an empty dict then."""
        data = super().user_data
        return data if data is not None else {}

    @property
    def caller(self) -> Me:
        """The registered caller; handlers behind the guard may rely on it."""
        if self.me is None:
            raise RuntimeError("handler reached without a registered caller")
        return self.me
