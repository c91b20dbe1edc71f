"""docs/deploy: the example files parse and name only settings the bot has.

They cannot be run here (no Docker engine, no systemd), so this is what keeps them
honest: a renamed setting or a broken YAML fails CI.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy"
SETTINGS = {name.upper() for name in Settings.model_fields}


def _env_lines(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.MULTILINE))


def test_compose_starts_postgres_and_two_instances() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "coach-1", "coach-2"} <= set(services)
    for name in ("coach-1", "coach-2"):
        coach = services[name]  # the YAML merge key gave both the shared definition
        assert coach["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "ports" not in coach  # reachable through the proxy only
        assert set(coach["environment"]) <= SETTINGS
        assert coach["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "/healthz" in " ".join(coach["healthcheck"]["test"])
    assert (DEPLOY / "Dockerfile").read_text(encoding="utf-8").count("coach\", \"run\"") == 1


def test_example_settings_are_real_settings() -> None:
    env = _env_lines((DEPLOY / "coach.env.example").read_text(encoding="utf-8"))
    assert set(env) <= SETTINGS
    # the webhook path nginx forwards is the path of the example WEBHOOK_URL
    path = urlsplit(env["WEBHOOK_URL"]).path
    assert f"location = {path} " in (DEPLOY / "nginx.conf").read_text(encoding="utf-8")


def test_systemd_units_run_the_bot() -> None:
    single = (DEPLOY / "coach.service").read_text(encoding="utf-8")
    many = (DEPLOY / "coach@.service").read_text(encoding="utf-8")
    assert re.search(r"^ExecStart=\S+/coach run$", single, re.MULTILINE)
    assert re.search(r"^ExecStart=\S+/coach run --webhook$", many, re.MULTILINE)
    for unit in (single, many):
        assert "[Service]" in unit and "[Install]" in unit
        assert "RestartPreventExitStatus=2" in unit  # a settings error is not retried


def test_deploy_guide_names_only_real_settings() -> None:
    guide = (DEPLOY.parent / "deploy.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([A-Z][A-Z0-9_]{3,})`", guide))
    assert named - {"POSTGRES_PASSWORD"} <= SETTINGS, named - SETTINGS
    for link in re.findall(r"\]\((deploy/[^)]+)\)", guide):
        assert (DEPLOY.parent / link).exists(), link
