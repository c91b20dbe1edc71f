"""Data retention: update ids, script events and audit rows pruned after their periods."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.jobs.housekeeping import prune_expired_rows
from bot.services import Services
from coach.services import retention
from coach.services.retention import Retention, count_expired, jsonl_archive, prune_expired
from storage.models import AccessAudit, ProcessedUpdate, ScriptEvent, StaffAudit
from tests import factories
from tests.conftest import BotHarness


def _fill(services: Services, now: datetime) -> None:
    """Rows of each kind at several ages (fixed clock)."""
    with services.db.session() as s:
        team = factories.team(s, "Alpha", now=now)
        lead = factories.user(s, role="lead", team_id=team.id, now=now)
        advisor = factories.user(s, team_id=team.id, now=now)
        client = factories.client(s, advisor_id=advisor.id, now=now)
        for i, hours in enumerate((1, 47, 49, 24 * 30)):
            s.add(ProcessedUpdate(update_id=20_000 + i, processed_at=now - timedelta(hours=hours)))
        for days in (10, 399, 401, 800):
            s.add(ScriptEvent(user_id=advisor.id, script_id="objection.fee.1", kind="shown",
                              created_at=now - timedelta(days=days)))
        for days in (30, 2556, 2558, 4000):
            s.add(AccessAudit(client_id=client.id, viewer_id=lead.id, action="view",
                              created_at=now - timedelta(days=days)))
            s.add(StaffAudit(actor_id=lead.id, target_id=advisor.id, team_id=team.id,
                             action="remove", details={"why": "moved"},
                             created_at=now - timedelta(days=days)))


def _left(services: Services) -> dict[str, int]:
    with services.db.session() as s:
        return {name: s.scalar(select(func.count()).select_from(model)) or 0
                for name, (model, _c, _a) in retention.KINDS.items()}


def test_defaults_and_counts(services: Services) -> None:
    now = services.clock.now()
    _fill(services, now)
    policy = Retention.from_settings(services.settings)
    assert policy == Retention(timedelta(hours=48), timedelta(days=400), timedelta(days=2557))
    assert count_expired(services.db, policy, now=now) == {
        "processed_updates": 2, "script_events": 2, "access_audit": 2, "staff_audit": 2}
    assert _left(services)["script_events"] == 4  # counting deletes nothing


def test_prune_archives_audit_rows_then_deletes(services: Services, tmp_path: Path) -> None:
    now = services.clock.now()
    _fill(services, now)
    deleted = prune_expired(services.db, Retention(), now=now,
                            archive=jsonl_archive(str(tmp_path / "archive")))
    assert deleted == {"processed_updates": 2, "script_events": 2, "access_audit": 2,
                       "staff_audit": 2}
    assert _left(services) == {"processed_updates": 2, "script_events": 2, "access_audit": 2,
                               "staff_audit": 2}
    lines = (tmp_path / "archive" / "staff_audit.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 2 and {r["action"] for r in rows} == {"remove"}
    assert rows[0]["details"] == {"why": "moved"} and "id" in rows[0]
    assert len((tmp_path / "archive" / "access_audit.jsonl").read_text().splitlines()) == 2
    # a second run finds nothing more and appends nothing
    assert sum(prune_expired(services.db, Retention(), now=now,
                             archive=jsonl_archive(str(tmp_path / "archive"))).values()) == 0
    assert len((tmp_path / "archive" / "staff_audit.jsonl").read_text().splitlines()) == 2


def test_prune_works_in_batches(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    now = services.clock.now()
    with services.db.session() as s:
        s.add_all([ProcessedUpdate(update_id=30_000 + i, processed_at=now - timedelta(days=3))
                   for i in range(25)])
    monkeypatch.setattr(retention, "BATCH", 10)
    assert prune_expired(services.db, Retention(), now=now,
                         kinds=("processed_updates",)) == {"processed_updates": 25}
    assert _left(services)["processed_updates"] == 0


async def test_the_scheduled_job_prunes_hourly(harness: BotHarness, tmp_path: Path) -> None:
    from bot.app import job_list

    assert prune_expired_rows in job_list()
    services = harness.services
    services.settings.audit_archive_dir = str(tmp_path)
    _fill(services, harness.clock.now())
    await prune_expired_rows(harness.app)
    assert _left(services) == {"processed_updates": 2, "script_events": 2, "access_audit": 2,
                               "staff_audit": 2}
    assert (tmp_path / "access_audit.jsonl").exists()
    # within the hour nothing runs again, even if more rows expire
    harness.clock.advance(minutes=30)
    services.settings.script_events_keep_days = 1
    await prune_expired_rows(harness.app)
    assert _left(services)["script_events"] == 2
    harness.clock.advance(minutes=31)
    await prune_expired_rows(harness.app)
    assert _left(services)["script_events"] == 0


def test_coach_prune_dry_run_prints_counts(services: Services, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    monkeypatch.delenv("AUDIT_ARCHIVE_DIR", raising=False)
    _fill(services, datetime.now(UTC))  # the command uses the real clock
    assert main(["prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "processed_updates: 2 would be deleted" in out
    assert "script_events: 2 would be deleted" in out and "staff_audit: 2 would be" in out
    assert _left(services)["processed_updates"] == 4
    assert main(["prune"]) == 0
    assert "access_audit: 2 deleted" in capsys.readouterr().out
    assert _left(services) == {"processed_updates": 2, "script_events": 2, "access_audit": 2,
                               "staff_audit": 2}
