"""Cadence rules and checklist ranking, on plain data (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.settings import Settings
from coach.cadence import (
    CadenceConfig,
    ClientFacts,
    client_gaps,
    contact_gap,
    parse_tier_cadence,
    question_overdue,
    risk_gap,
)
from coach.digest import AdvisorRows, build_checklist

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
TODAY = date(2026, 11, 25)
CFG = CadenceConfig()


def _client(cid: int = 1, tier: str = "premier", **kw: object) -> ClientFacts:
    recent = {"last_contact_at": NOW - timedelta(days=1), "last_meeting_at": NOW}
    return ClientFacts(cid, f"c{cid}", tier, **{**recent, **kw})  # type: ignore[arg-type]


def _kinds(c: ClientFacts, **kw: object) -> list[str]:
    return [g.kind for g in client_gaps(c, today=TODAY, now=NOW, config=CFG, **kw)]  # type: ignore[arg-type]


def test_premier_contacted_29_days_ago_is_fine_31_is_a_gap() -> None:
    assert contact_gap(_client(last_contact_at=NOW - timedelta(days=29)), now=NOW,
                       config=CFG) is None
    gap = contact_gap(_client(last_contact_at=NOW - timedelta(days=31)), now=NOW, config=CFG)
    assert gap is not None and gap.kind == "vip_contact" and gap.days == 31
    assert contact_gap(_client(tier="mass", last_contact_at=None), now=NOW, config=CFG) is None
    assert _kinds(_client(last_meeting_at=NOW - timedelta(days=91))) == ["vip_meeting"]


def test_per_tier_cadence_from_settings() -> None:
    st = Settings(_env_file=None, cadence_tiers="private:14/60,wealth:90/-,premier:-/-")  # type: ignore[call-arg]
    cfg = CadenceConfig.from_settings(st)
    assert cfg.cadence_tiers == ("private", "wealth")
    twenty = NOW - timedelta(days=20)
    assert contact_gap(_client(tier="private", last_contact_at=twenty), now=NOW, config=cfg)
    assert contact_gap(_client(tier="premier", last_contact_at=None), now=NOW, config=cfg) is None
    assert contact_gap(_client(tier="wealth", last_contact_at=NOW - timedelta(days=91)),
                       now=NOW, config=cfg)
    with pytest.raises(ValueError):
        parse_tier_cadence("private=14", contact_days=30, meeting_days=90)
    with pytest.raises(ValueError):
        Settings(_env_file=None, cadence_tiers="private:x/60")  # type: ignore[call-arg]
    default = CadenceConfig.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    assert default.tiers["premier"].contact_days == 30 and default.cadence_tiers == (
        "premier", "private")


def test_risk_assessment_expiring_and_expired() -> None:
    # six calendar months, last valid day inclusive (as the suitability check counts)
    assert risk_gap(date(2026, 7, 1), today=TODAY, config=CFG) is None  # valid to 2027-01-01
    expiring = risk_gap(date(2026, 6, 10), today=TODAY, config=CFG)  # valid to 2026-12-10
    assert expiring is not None and expiring.kind == "risk_expiring" and expiring.days == 15
    expired = risk_gap(date(2026, 5, 20), today=TODAY, config=CFG)  # valid to 2026-11-20
    assert expired is not None and expired.kind == "risk_expired" and expired.days == 5
    assert risk_gap(date(2026, 9, 1), today=TODAY, config=CFG) is None
    assert risk_gap(None, today=TODAY, config=CFG) is None


def test_new_account_and_post_sale_calls() -> None:
    opened = date(2026, 11, 21)
    assert _kinds(_client(tier="mass", opened_on=opened, last_contact_at=None)) == [
        "new_account"]
    assert _kinds(_client(tier="mass", opened_on=opened,
                          last_contact_at=NOW - timedelta(days=2))) == []  # called since
    assert _kinds(_client(tier="mass", opened_on=date(2026, 11, 23), last_contact_at=None)) == []
    sold = NOW - timedelta(days=8)
    assert _kinds(_client(tier="mass", last_contact_at=sold), last_sale=sold) == ["post_sale"]
    assert _kinds(_client(tier="mass", last_contact_at=NOW - timedelta(days=1)),
                  last_sale=sold) == []
    assert _kinds(_client(tier="mass", last_contact_at=None),
                  last_sale=NOW - timedelta(days=6)) == []


def test_question_unanswered_for_ten_days() -> None:
    assert question_overdue(NOW - timedelta(days=10), now=NOW, config=CFG)
    assert not question_overdue(NOW - timedelta(days=9, hours=23), now=NOW, config=CFG)


def test_ranking_tier_first_then_how_overdue() -> None:
    rows = AdvisorRows(has_clients=True)
    for cid, tier, days in [(1, "premier", 35), (2, "private", 31), (3, "premier", 60),
                            (4, "wealth", 400)]:
        rows.clients[cid] = _client(cid, tier, last_contact_at=NOW - timedelta(days=days))
    rows.maturities = [(1, "far", TODAY + timedelta(days=6)), (4, "near", TODAY),
                       (4, "mid", TODAY + timedelta(days=3))]
    rows.followups = [(10, 4, "manual", NOW - timedelta(days=5)),
                      (11, 1, "manual", NOW - timedelta(days=1)),
                      (12, 1, "manual", NOW - timedelta(days=4)),
                      (13, 1, "manual", NOW + timedelta(hours=3))]
    c = build_checklist(rows, today=TODAY, now=NOW, config=CFG, holidays=[], call_target=10)
    assert [(i.client_id, i.kind) for i in c.items if i.section == "cadence"] == [
        (2, "vip_contact"), (3, "vip_contact"), (1, "vip_contact")]
    assert [i.detail for i in c.items if i.section == "maturities"] == ["far", "near", "mid"]
    assert [(i.item_id, i.kind, i.days) for i in c.items if i.section == "followups"] == [
        (12, "overdue_flag", 4), (11, "overdue", 1), (13, "due", 0), (10, "overdue_flag", 5)]
    assert [i.section for i in c.items] == sorted(
        (i.section for i in c.items),
        key=("appointments", "followups", "maturities", "birthdays", "cadence").index)
    assert c.items[0].action == "lg c 1" and c.pages() == 1


def test_follow_up_lateness_counts_the_advisors_days() -> None:
    # due 23:30 yesterday in Shanghai (15:30 UTC) is one day late at 10:00 today,
    # though fewer than 24 hours have passed
    rows = AdvisorRows(clients={1: _client()}, has_clients=True)
    rows.followups = [(1, 1, "manual", datetime(2026, 11, 24, 15, 30, tzinfo=UTC))]
    c = build_checklist(rows, today=TODAY, now=NOW, config=CFG, holidays=[], call_target=10,
                        tz="Asia/Shanghai")
    assert (c.items[0].kind, c.items[0].days) == ("overdue", 1)
    c = build_checklist(rows, today=TODAY, now=NOW, config=CFG, holidays=[], call_target=10,
                        tz="Europe/London")
    assert (c.items[0].kind, c.items[0].days) == ("overdue", 1)
    rows.followups = [(1, 1, "manual", datetime(2026, 11, 24, 16, 30, tzinfo=UTC))]  # 00:30
    c = build_checklist(rows, today=TODAY, now=NOW, config=CFG, holidays=[], call_target=10,
                        tz="Asia/Shanghai")
    assert (c.items[0].kind, c.items[0].days) == ("due", 0)
