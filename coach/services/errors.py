"""The one exception services raise for expected, user-facing failures."""

from __future__ import annotations

from typing import Any

__all__ = ["ServiceError"]


class ServiceError(Exception):
    """A refusal with a stable ``code`` (the handler renders ``errors.j2`` with it)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
