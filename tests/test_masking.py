"""The masking rule (``coach.privacy.reveals``) against every view that shows a client.

Table-driven: each view × chat type (private, group) × reader (the owning advisor, their
lead). Through the real Application: what the bot sends (texts and button labels) must
show the full name and phone exactly where the rule reveals them, and otherwise only the
masked forms (王**, ****5678), notes and free texts included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.chat import LocalChat
from bot.fakebot import SentMessage
from coach.privacy import Audience, Field, mask_phone, reveals
from coach.services import people
from storage.models import ClientQuestion, Complaint, FollowUp, Interaction, UnmetNeed
from tests import factories
from tests.conftest import BotHarness

NAME, PHONE = "王建国", "13912345678"
MASKED_NAME, MASKED_PHONE = "王**", "****5678"
GROUP = -1001
NOTE = f"{NAME}说下周再联系，手机{PHONE}"


def _setup(harness: BotHarness):  # type: ignore[no-untyped-def]
    """An advisor's client with a note, an overdue follow-up, a complaint, question, need."""
    advisor = harness.person("advisor", team="Alpha", name="林晓峰")
    lead = harness.person("lead", team="Alpha", name="周慧琳")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        owner = people.find_user(s, advisor.id)
        assert owner is not None
        client = factories.client(s, advisor_id=owner.id, name=NAME, phone=PHONE, now=now)
        s.add(Interaction(client_id=client.id, advisor_id=owner.id, outcome="interested_thinking",
                          notes=NOTE, occurred_at=now - timedelta(days=5), created_at=now,
                          amount=Decimal(0)))
        s.add(FollowUp(client_id=client.id, advisor_id=owner.id, kind="call",
                       reason="interested_thinking", due_at=now - timedelta(days=4),
                       status="pending", created_at=now, note=NOTE))
        s.add(FollowUp(client_id=client.id, advisor_id=owner.id, kind="call",  # for /week
                       reason="interested_thinking", due_at=now + timedelta(days=1),
                       status="pending", created_at=now, note=NOTE))
        s.add(Complaint(client_id=client.id, received_by_id=owner.id, category="fees",
                        text=f"{NAME}嫌手续费高，回电{PHONE}", created_at=now))
        s.add(ClientQuestion(client_id=client.id, advisor_id=owner.id,
                             text=f"{NAME}问定投能否暂停，回电{PHONE}",
                             created_at=now - timedelta(days=3)))
        s.add(UnmetNeed(client_id=client.id, advisor_id=owner.id, tag="usd",
                        text=f"{NAME}想要美元理财 {PHONE}", created_at=now))
    return advisor, lead


def _said(messages: list[SentMessage]) -> str:
    """Everything the reader sees: texts, captions and button labels."""
    parts = []
    for m in messages:
        parts.append(m.text or "")
        parts.extend(label for label, _ in m.buttons)
    return "\n".join(parts)


Send = Callable[[LocalChat, dict], Awaitable[list[SentMessage]]]  # type: ignore[type-arg]


def command(text: str) -> Send:
    async def run(chat: LocalChat, where: dict) -> list[SentMessage]:  # type: ignore[type-arg]
        return await chat.send(text, **where)
    return run


async def _log_and_confirm(chat: LocalChat, where: dict) -> list[SentMessage]:  # type: ignore[type-arg]
    """The one-line /log, its check screen and the confirmation after ✅."""
    shown = await chat.send(f"/log {NAME} 没接通", **where)
    step = next(m for m in reversed(shown) if m.buttons)
    return shown + await chat.press("lg ok", message=step)


@dataclass(frozen=True)
class View:
    name: str
    send: Send
    readers: tuple[str, ...]  # "owner" (the client's advisor) and/or "lead"
    phone: bool = False  # the view shows the phone itself (not only inside notes)


VIEWS = [
    View("/followups", command("/followups"), ("owner",)),
    View("/week", command("/week"), ("owner",)),
    View("/today", command("/today"), ("owner",)),
    View("/log confirmation", _log_and_confirm, ("owner",)),
    View("/questions", command("/questions"), ("owner", "lead")),
    View("/complaints", command("/complaints"), ("owner", "lead")),
    View("/needs", command("/needs"), ("owner", "lead")),
    View("/client card with notes", command(f"/client {NAME}"), ("owner", "lead"), phone=True),
    View("/complaint saved", command(f"/complaint {NAME} {NAME}又来电投诉"), ("owner",)),
    View("/question saved", command(f"/question {NAME} {NAME}问赎回到账时间"), ("owner",)),
    View("/audit", command(f"/audit {NAME}"), ("lead",)),
    View("/overdue", command("/overdue"), ("lead",)),
]
CASES = [pytest.param(view, reader, chat, id=f"{view.name}-{reader}-{chat}")
         for view in VIEWS for reader in view.readers for chat in ("private", "group")]


@pytest.mark.parametrize(("view", "reader", "chat_type"), CASES)
async def test_every_view_follows_the_masking_rule(harness: BotHarness, view: View, reader: str,
                                                   chat_type: str) -> None:
    advisor, lead = _setup(harness)
    who = advisor if reader == "owner" else lead
    where = {} if chat_type == "private" else {"chat_id": GROUP, "chat_type": "group"}
    said = _said(await view.send(harness.chat(who), where))
    own, private = reader == "owner", chat_type == "private"
    if reveals(Field.NAME, own=own, private=private):
        assert NAME in said, said  # the view does show this client
    else:
        assert NAME not in said and MASKED_NAME in said, said
    if reveals(Field.PHONE, own=own, private=private):
        assert not view.phone or PHONE in said, said
    else:
        assert PHONE not in said, said
        assert not view.phone or MASKED_PHONE in said, said


async def test_notices_to_the_lead_are_masked(harness: BotHarness) -> None:
    advisor, lead = _setup(harness)
    await harness.chat(advisor).send(f"/complaint {NAME} {NAME}说风险没讲清楚，电话{PHONE}")
    notice = harness.telegram.messages_to(lead.id)[-1].text
    assert "投诉" in notice and MASKED_NAME in notice
    assert NAME not in notice and PHONE not in notice


async def test_privacy_mode_off_shows_names_but_never_phones(harness: BotHarness) -> None:
    advisor, lead = _setup(harness)
    harness.services.settings.privacy_mode = False
    chat = harness.chat(lead)
    for text in ("/complaints", "/questions", f"/client {NAME}"):
        said = _said(await chat.send(text))
        assert NAME in said and PHONE not in said, said


@pytest.mark.parametrize(("own", "private", "privacy_mode", "name", "phone"), [
    (True, True, True, True, True),
    (True, False, True, False, False),
    (False, True, True, False, False),
    (False, False, True, False, False),
    (True, True, False, True, True),
    (True, False, False, True, False),
    (False, True, False, True, False),
    (False, False, False, True, False),
])
def test_the_rule_itself(own: bool, private: bool, privacy_mode: bool, name: bool,
                         phone: bool) -> None:
    assert reveals(Field.NAME, own=own, private=private, privacy_mode=privacy_mode) is name
    assert reveals(Field.TEXT, own=own, private=private, privacy_mode=privacy_mode) is name
    assert reveals(Field.PHONE, own=own, private=private, privacy_mode=privacy_mode) is phone
    audience = Audience(private=private, privacy_mode=privacy_mode)
    text = audience.text(NOTE, own=own, names=[NAME])
    assert (NAME in text) is name and (PHONE in text) is phone
    assert audience.phone(PHONE, own=own) == (PHONE if phone else MASKED_PHONE)
    assert mask_phone(MASKED_PHONE) == MASKED_PHONE  # masking twice keeps the last four
