"""Several bot instances over one database: every guided flow continues on any of them.

Two ``Application`` objects (each with its own ``Services`` and database engine, like
two ``coach run`` processes behind one webhook) talk to the same fake Telegram. Each
step of a flow goes to the other instance, so an instance that kept the flow in its
memory would answer from a stale state; a restart in the middle of each flow must
resume it too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import build_application
from bot.chat import LocalChat
from bot.fakebot import FakeRequest, FakeUser, SentMessage
from bot.services import Services
from bot.settings import Settings
from coach.clock import FixedClock
from storage.db import Database
from storage.models import (
    Briefing,
    Client,
    FollowUp,
    Interaction,
    PracticeSession,
    Referral,
    StateEntry,
    TeamScript,
)
from tests import factories
from tests.conftest import BotHarness

GOOD_ANSWER = ("刘阿姨，您是担心钱放出去不安全，对吧？这个担心很正常，您很稳健。大额存单有存款保险，"
               "50万以内都有保障，利率比普通定期高一点。您看周二还是周三来网点坐坐？")


@dataclass
class Relay:
    """One person's chat whose updates each reach the instance ``route`` picks."""

    instances: list[Any]  # Applications, started
    harness: BotHarness
    user: FakeUser
    route: Callable[[int], int] = lambda step: step % 2
    step: int = 0
    last_buttons: SentMessage | None = field(default=None)

    def _chat(self) -> LocalChat:
        app = self.instances[self.route(self.step) % len(self.instances)]
        self.step += 1
        return LocalChat(app, self.harness.telegram, self.user,
                         last_buttons_message=self.last_buttons)

    async def _run(self, call: Callable[[LocalChat], Awaitable[list[SentMessage]]]
                   ) -> list[SentMessage]:
        chat = self._chat()
        replies = await call(chat)
        self.last_buttons = chat.last_buttons_message
        return replies

    async def send(self, text: str) -> list[SentMessage]:
        return await self._run(lambda chat: chat.send(text))

    async def press(self, which: str) -> list[SentMessage]:
        return await self._run(lambda chat: chat.press(which))

    async def press_data(self, data: str) -> list[SentMessage]:
        return await self._run(lambda chat: chat.press_data(data))


def _instance(settings: Settings, clock: FixedClock, telegram: Any) -> Any:
    services = Services(settings=settings, db=Database(settings.database_url), clock=clock)
    return build_application(services, request=FakeRequest(telegram), rate_limit=False,
                             jobs=False)


@pytest.fixture
async def second(harness: BotHarness, settings: Settings) -> AsyncIterator[Any]:
    """Instance B beside the harness's instance A: own services, same database."""
    app = _instance(settings, harness.clock, harness.telegram)
    async with app:
        yield app
    app.bot_data["services"].db.dispose()


def _count(harness: BotHarness, model: Any, *where: Any) -> int:
    with harness.services.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _client(harness: BotHarness, owner: FakeUser, name: str = "王建国") -> int:
    from coach.services import people

    with harness.services.db.session() as s:
        user = people.find_user(s, owner.id)
        assert user is not None
        return factories.client(s, advisor_id=user.id, name=name, now=harness.clock.now()).id


# --- every guided flow as steps: (who, steps, check) ------------------------------------

Step = Callable[[Relay], Awaitable[list[SentMessage]]]


@dataclass
class Flow:
    role: str
    steps: list[Step]
    done: Callable[[BotHarness, FakeUser], bool]
    prepare: Callable[[BotHarness, FakeUser], object] = lambda harness, user: None


def _send(text: str) -> Step:
    return lambda relay: relay.send(text)


def _press(which: str) -> Step:
    return lambda relay: relay.press(which)


def _due_followup(harness: BotHarness, owner: FakeUser) -> None:
    from coach.services import people

    with harness.services.db.session() as s:
        user = people.find_user(s, owner.id)
        assert user is not None
        client = factories.client(s, advisor_id=user.id, name="王建国", now=harness.clock.now())
        s.add(FollowUp(client_id=client.id, advisor_id=user.id, kind="call", reason="manual",
                       due_at=harness.clock.now() + timedelta(hours=2), status="pending",
                       created_at=harness.clock.now()))


async def _pick_date(relay: Relay) -> list[SentMessage]:
    with relay.harness.services.db.session() as s:
        followup_id = s.scalars(select(FollowUp.id)).one()
    return await relay.press_data(f"fu p {followup_id}")


def _due(harness: BotHarness) -> str:
    with harness.services.db.session() as s:
        return s.scalars(select(FollowUp.due_at)).one().isoformat()


def _scored_answers(harness: BotHarness, user: FakeUser) -> int:
    return sum("得分：" in m.text for m in harness.telegram.messages_to(user.id))


FLOWS: dict[str, Flow] = {
    "log": Flow("advisor", [
        _send("/log"), _send("王建国"), _press("lg ch meeting"), _press("lg o interested_thinking"),
        _press("lg nx ok"), _send("带了资料"), _press("lg ok"),
    ], lambda h, u: _count(h, Interaction, Interaction.notes == "带了资料") == 1,
        prepare=lambda h, u: _client(h, u)),
    "addclient": Flow("advisor", [
        _send("/addclient"), _send("赵六"), _press("ac salute -"), _send("139-1111-2222"),
        _press("跳过"), _press("理财客户"), _press("C2"), _send("2026-09-01"), _press("跳过"),
        _press("✅"),
    ], lambda h, u: _count(h, Client, Client.name == "赵六", Client.risk_tolerance == "C2") == 1),
    "pick_date": Flow("advisor", [
        _pick_date, _send("12/3 15:00"),
    ], lambda h, u: _due(h) == "2026-12-03T07:00:00+00:00", prepare=_due_followup),
    "briefing": Flow("lead", [
        _send("/briefing"), _send("团队今天目标：通话120通，成交5笔"), _press("bf skip per_advisor"),
        _send("稳健增利90天 R2：业绩比较基准2.8%-3.2%，到期自动赎回"), _press("bf skip market"),
        _send("一起加油！"), _press("bf skip photo"), _press("bf now"),
    ], lambda h, u: _count(h, Briefing) == 1),
    "refer": Flow("referrer", [
        _send("/refer"), _send("钱女士"), _send("13900001111"),
        _send("三年定期下周到期，想了解稳健一点的产品"), _press("rf u this_week"), _press("安娜"),
    ], lambda h, u: _count(h, Referral, Referral.client_name == "钱女士") == 1,
        prepare=lambda h, u: h.person("advisor", name="安娜")),
    "addscript": Flow("lead", [
        _send("/addscript"), _press("as c 20"), _send("稳妥收尾"), _send("怎么收尾"),
        _send("您看今天先办好，好吗？"), _press("as save"),
    ], lambda h, u: _count(h, TeamScript) == 1),
    "practice": Flow("advisor", [
        _send("/practice"), _press("pr s retiree_fixed_deposits"), _send(GOOD_ANSWER),
        _send(GOOD_ANSWER), _send(GOOD_ANSWER),
    ], lambda h, u: _scored_answers(h, u) == 3 and _count(h, PracticeSession) == 1),
}


async def _walk(relay: Relay, flow: Flow) -> None:
    for step in flow.steps:
        await step(relay)


def test_every_guided_flow_is_listed() -> None:
    """A new persistent flow must be added to FLOWS (and so be tested across instances)."""
    from telegram.ext import ConversationHandler

    from bot.app import handler_list

    names = {str(h.name) for _g, h in handler_list()
             if isinstance(h, ConversationHandler) and h.persistent}
    assert names == set(FLOWS)


@pytest.mark.parametrize("name", sorted(FLOWS))
async def test_flow_alternating_between_two_instances(harness: BotHarness, second: Any,
                                                      name: str) -> None:
    flow = FLOWS[name]
    user = harness.person(flow.role)
    flow.prepare(harness, user)
    relay = Relay([harness.app, second], harness, user)
    assert not flow.done(harness, user)
    await _walk(relay, flow)
    assert flow.done(harness, user), name


@pytest.mark.parametrize("name", sorted(FLOWS))
async def test_half_finished_flow_survives_a_restart(harness: BotHarness, settings: Settings,
                                                     name: str) -> None:
    flow = FLOWS[name]
    user = harness.person(flow.role)
    flow.prepare(harness, user)
    half = len(flow.steps) // 2
    async with AsyncExitStack() as stack:
        first = _instance(settings, harness.clock, harness.telegram)
        await stack.enter_async_context(first)
        relay = Relay([first], harness, user, route=lambda step: 0)
        for step in flow.steps[:half]:
            await step(relay)
    # the first process is gone (shut down); a new one picks the flow up where it was
    restarted = _instance(settings, harness.clock, harness.telegram)
    async with restarted:
        relay.instances = [restarted]
        for step in flow.steps[half:]:
            await step(relay)
    assert flow.done(harness, user), name


async def test_log_started_on_one_instance_saved_on_the_other(harness: BotHarness,
                                                              second: Any) -> None:
    """The fault behind "8 of 20 logs lost": every step on A, only ✅ Save on B."""
    advisor = harness.person("advisor")
    _client(harness, advisor)
    relay = Relay([harness.app, second], harness, advisor,
                  route=lambda step: 1 if step == 6 else 0)
    for step in FLOWS["log"].steps:
        await step(relay)
    assert _count(harness, Interaction) == 1
    with harness.services.db.session() as s:  # the flow is over everywhere
        assert s.scalars(select(StateEntry).where(StateEntry.namespace == "conversation")
                         ).all() == []


async def test_cancel_on_one_instance_ends_the_flow_on_the_other(harness: BotHarness,
                                                                 second: Any) -> None:
    """A stale copy of the flow on A must not swallow text after /cancel on B."""
    advisor = harness.person("advisor")
    relay = Relay([harness.app, second], harness, advisor)
    await relay.send("/addclient")  # A
    await relay.send("赵六")  # B
    cancelled = await relay.send("/cancel")  # A
    assert "没有保存" in cancelled[-1].text
    await relay.send("孙七")  # B: not a client name any more
    again = await relay.send("/cancel")  # A: nothing is open
    assert "没有保存" not in again[-1].text
    assert _count(harness, Client) == 0


async def test_drafts_are_written_right_after_each_update(harness: BotHarness) -> None:
    """No timer: the draft is in the database as soon as the reply is out."""
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.send("/addclient")
    await chat.send("赵六")
    with harness.services.db.session() as s:
        row = s.get(StateEntry, ("user_data", str(advisor.id)))
        assert row is not None and row.data["addclient"]["name"] == "赵六"
        states = s.scalars(select(StateEntry).where(StateEntry.namespace == "conversation"))
        assert [r.key.split("|")[0] for r in states] == ["addclient"]


async def test_unreadable_state_stops_the_update(harness: BotHarness,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A database error while loading the flow: one apology, no feature runs."""
    from sqlalchemy.exc import OperationalError

    advisor = harness.person("advisor")
    chat = harness.chat(advisor)

    def broken(*_args: Any) -> Any:
        raise OperationalError("select", {}, Exception("database is down"))

    monkeypatch.setattr(harness.app.persistence, "read_flow_state", broken)
    replies = await chat.send("/addclient")
    assert len(replies) == 1 and "客户姓名" not in replies[0].text
    monkeypatch.undo()
    assert "没有保存" not in (await chat.send("/cancel"))[-1].text  # no flow was opened


async def test_one_update_per_person_at_a_time() -> None:
    """Drafts are per person: two chats of one person never load/save them at once."""
    import asyncio

    from bot.flowstate import KeyedLocks

    locks = KeyedLocks()
    order: list[str] = []

    async def update(key: int, name: str, pause: float) -> None:
        async with locks.hold(key):
            order.append(f"{name} in")
            await asyncio.sleep(pause)
            order.append(f"{name} out")

    await asyncio.gather(update(7, "private", 0.05), update(7, "group", 0),
                         update(8, "other", 0))
    assert order.index("private out") < order.index("group in")  # same person: in turn
    assert order.index("other in") < order.index("private out")  # someone else: at once
    assert len(locks) == 0  # nothing left behind
