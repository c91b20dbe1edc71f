"""Issue 11.9: after /forget, no spelling of the client's name or phone survives."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.fakebot import FakeUser
from coach.forget_variants import needles_for
from storage.models import (
    Appointment,
    Base,
    ClientQuestion,
    Complaint,
    FollowUp,
    Interaction,
    Referral,
    ScriptEvent,
    StateEntry,
    UnmetNeed,
)
from tests import factories
from tests.conftest import BotHarness

NAME, PHONE = "王建国", "13912345678"
# (label, how an advisor wrote it) -- each must be gone after /forget
VARIANTS = [
    ("traditional", "王建國"),
    ("pinyin", "wangjianguo"),
    ("pinyin spaced", "Wang Jianguo"),
    ("pinyin upper", "WANG JIAN GUO"),
    ("pinyin camel", "WangJianGuo"),
    ("given name first", "Jianguo Wang"),
    ("pinyin dashed", "wang-jian-guo"),
    ("pinyin tones", "Wáng Jiànguó"),
    ("phone spaces", "139 1234 5678"),
    ("phone dashes", "139-1234-5678"),
    ("phone +86", "+86 139 1234 5678"),
    ("phone +86 dashes", "+86-139-1234-5678"),
    ("phone 0086", "0086 13912345678"),
    ("phone brackets", "(+86) 139-1234-5678"),
    ("phone full width", "＋８６ １３９－１２３４－５６７８"),
    # the client lookup's rule (NFKC, OpenCC, case, spaces) applies to the sweep too
    ("spaced", "王 建国"),
    ("ideographic space", "王　建國"),
    ("every character spaced", "王 建 国"),
    ("pinyin full width", "ＷＡＮＧ　ＪＩＡＮＧＵＯ"),
    ("pinyin full width lower", "ｗａｎｇｊｉａｎｇｕｏ"),
    ("pinyin full width title", "Ｗａｎｇ Ｊｉａｎｇｕｏ"),
]
# look-alikes that belong to other people and must be kept
KEEP = ["wangjiang", "Wang Jian", "139 1234 5679", "王建", "wangjianguoji"]


def _team(harness: BotHarness) -> tuple[FakeUser, FakeUser, int, int]:
    """An advisor with the client to forget and another client whose notes mention them."""
    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    with harness.services.db.session() as s:
        uid = harness.user_row(advisor).id
        client = factories.client(s, advisor_id=uid, now=harness.clock.now(), name=NAME,
                                  phone=PHONE)
        other = factories.client(s, advisor_id=uid, now=harness.clock.now(), name="李娜",
                                 phone="13700000000")
        return advisor, lead, client.id, other.id


def _write_everywhere(harness: BotHarness, client_id: int, advisor: FakeUser, text: str) -> None:
    """``text`` in the free text of records of another client (not blanked by /forget)."""
    now = harness.clock.now()
    uid = harness.user_row(advisor).id
    with harness.services.db.session() as s:
        s.add_all([
            Interaction(client_id=client_id, advisor_id=uid, outcome="sale", amount=1000,
                        notes=f"见了{text}", occurred_at=now, created_at=now),
            FollowUp(client_id=client_id, advisor_id=uid, reason="manual",
                     note=f"回电 {text}", due_at=now + timedelta(days=1), created_at=now),
            Appointment(client_id=client_id, advisor_id=uid, starts_at=now,
                        note=f"{text} 来网点", created_at=now),
            Complaint(client_id=client_id, received_by_id=uid, text=f"{text}嫌费用高",
                      created_at=now),
            ClientQuestion(client_id=client_id, advisor_id=uid, text=f"{text}问到期",
                           answer="ok", created_at=now),
            UnmetNeed(client_id=client_id, advisor_id=uid, tag="usd", text=f"{text}要美元",
                      created_at=now),
            Referral(referrer_id=uid, client_name="x", need=f"{text}理财", created_at=now),
            ScriptEvent(user_id=uid, query=f"{text}说太贵", kind="miss", created_at=now),
            StateEntry(namespace="chat_data", key=f"k{abs(hash(text)) % 10**6}",
                       data={"note": f"call {text}"}, updated_at=now),
        ])


def _all_text(harness: BotHarness) -> str:
    parts = []
    with harness.services.db.session() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(table.select()).mappings():
                parts.append(json.dumps(dict(row), ensure_ascii=False, default=str))
    return "\n".join(parts)


async def _forget(harness: BotHarness, lead: FakeUser, client_id: int,
                  query: str = NAME) -> None:
    chat = harness.chat(lead)
    await chat.send(f"/forget {query}")
    await chat.press(f"fg ok {client_id}")


@pytest.mark.parametrize("label, written", VARIANTS, ids=[v[0] for v in VARIANTS])
async def test_variant_is_swept_from_every_record(harness: BotHarness, label: str,
                                                  written: str) -> None:
    advisor, lead, client_id, other_id = _team(harness)
    _write_everywhere(harness, other_id, advisor, written)
    assert _all_text(harness).count(written) >= 9
    await _forget(harness, lead, client_id)
    text = _all_text(harness)
    assert written not in text, label
    assert text.count("***") >= 9  # replaced, not deleted: the rest of each note stays
    with harness.services.db.session() as s:
        assert s.scalars(select(Interaction.notes)).one() == "见了***"


async def test_look_alikes_of_other_people_are_kept(harness: BotHarness) -> None:
    advisor, lead, client_id, other_id = _team(harness)
    for other in KEEP:
        _write_everywhere(harness, other_id, advisor, other)
    await _forget(harness, lead, client_id)
    text = _all_text(harness)
    for other in KEEP:
        assert other in text, other


def test_needles_cover_compound_surname_and_latin_names() -> None:
    needles = needles_for("欧阳晓梅", "+86 138-0013-8000")
    for written in ("歐陽曉梅", "ouyang xiaomei", "Xiaomei Ouyang", "OUYANGXIAOMEI",
                    "138 0013 8000", "8613800138000", "+86(138)00138000"):
        assert needles.scrub(f"a {written} b", "***") == "a *** b", written
    latin = needles_for("Chen Mei", None)
    assert latin.scrub("chen mei / MEI CHEN / ChenMei", "*") == "* / * / *"
    assert latin.scrub("Chen Meiling", "*") == "Chen Meiling"


@pytest.mark.parametrize("query", ["王建國", "  王建国  ", "ＷＡＮＧ ＪＩＡＮＧＵＯ", "Wang Jianguo"])
async def test_forget_finds_the_client_however_the_name_is_typed(harness: BotHarness,
                                                                 query: str) -> None:
    advisor, lead, client_id, other_id = _team(harness)
    _write_everywhere(harness, other_id, advisor, "王　建國")
    await _forget(harness, lead, client_id, query)
    text = _all_text(harness)
    assert NAME not in text and "王　建國" not in text and "李娜" in text


# (the name as stored, how a note wrote it)
OTHER_NAMES = [
    ("陈国华", "陈國華"),  # Simplified and Traditional mixed in one name
    ("陈国华", "陳国华"),
    ("陳國華", "陈国华"),  # stored Traditional, written Simplified
    ("Chen Mei", "ＣＨＥＮ　ＭＥＩ"),
    ("Chen Mei", "chen mei"),
    ("Ｃｈｅｎ Ｍｅｉ", "Chen Mei"),  # stored full width
    ("Amy", "AMY"),  # a short Latin name: any case, whole word
    ("Amy", "ａｍｙ"),
    (" 林美玲 ", "林美玲"),  # stored with spaces around it
]


@pytest.mark.parametrize("stored, written", OTHER_NAMES,
                         ids=[f"{a.strip()}-{b}" for a, b in OTHER_NAMES])
async def test_other_names_in_every_spelling(harness: BotHarness, stored: str,
                                             written: str) -> None:
    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    with harness.services.db.session() as s:
        uid = harness.user_row(advisor).id
        client = factories.client(s, advisor_id=uid, now=harness.clock.now(), name=stored,
                                  phone="13912345678")
        other = factories.client(s, advisor_id=uid, now=harness.clock.now(), name="李娜",
                                 phone="13700000000")
    _write_everywhere(harness, other.id, advisor, written)
    _write_everywhere(harness, other.id, advisor, "Amyra")  # someone else's name
    await _forget(harness, lead, client.id, stored.strip())
    text = _all_text(harness)
    assert written not in text and text.count("***") >= 9
    assert "Amyra" in text


def test_needles_fold_width_case_and_script() -> None:
    needles = needles_for("陈国华", None)
    for written in ("陳國華", "陈國華", "陳国华", "陈 国 华", "陈　國　华"):
        assert needles.scrub(f"[{written}]", "*") == "[*]", written
    assert needles.scrub("陈国", "*") == "陈国"  # part of a name is someone else's
    latin = needles_for("Ｃｈｅｎ Ｍｅｉ", "＋８６ １３８ ００１３ ８０００")
    assert latin.scrub("CHEN MEI, Ｍｅｉ Ｃｈｅｎ, 13800138000", "*") == "*, *, *"
    # the SQL pre-filter finds full-width text on SQLite too (its lower() is ASCII-only)
    hints = {h for p in latin.patterns for h in p.hints}
    assert {"mei", "ｅｉ", "ＥＩ"} <= hints  # "Ｍｅｉ" and "ＭＥＩ" contain one of them
