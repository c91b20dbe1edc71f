""".env.example documents every setting, and a plain copy of it changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def _documented_names() -> set[str]:
    """Names set (``NAME=``) or shown commented out (``# NAME=``) in the example."""
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(), re.MULTILINE))


def test_every_setting_is_documented() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    documented = _documented_names()
    assert fields - documented == set(), "add these to .env.example"
    assert documented - fields == set(), "these are not settings (typo?)"


def test_a_copy_of_the_example_means_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    from_example = Settings(_env_file=EXAMPLE)  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_example.model_dump() == defaults.model_dump()
    assert defaults.telegram_base_url == "https://api.telegram.org/bot"
    assert defaults.database_url == "sqlite:///coach.db"
