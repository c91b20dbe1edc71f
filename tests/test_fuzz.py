"""Seeded fuzz: random updates through the real Application must never reach the error handler.

1,200 updates (random text, commands with random arguments, crafted and oversized
button data, huge ids, Unicode digits, edited messages, inline queries, group and
private chats) from a registered advisor, lead, referrer, admin, an advisor of another
team and a stranger. The fake Bot API is as strict as Telegram (HTML entities, message
and caption limits, callback data and answer sizes), so a reply Telegram would refuse
fails here too. Any ERROR log record (the error handler logs every exception) fails
the test, with the update that caused it.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler

from bot.app import handler_list
from bot.fakebot import FakeTelegram, FakeUser
from bot.settings import Settings
from tests import factories

SEED = int(os.environ.get("FUZZ_SEED", "20261125"))  # try other seeds locally
UPDATES = 1200

# Every button family the templates draw, with a plausible shape of its fields.
PREFIXES = [
    "st lang", "st tz", "st dt", "cl", "ac phone", "ac tier", "ac risk", "ac assessed",
    "ac birthday", "ac save", "lg c", "lg p", "lg new", "lg ch", "lg o", "lg nx", "lg nt",
    "lg e", "lg ok", "lg ins", "lg uns", "lg x", "fu d", "fu h", "fu t", "fu x", "fu p",
    "bf ack", "bf show", "bf skip", "bf tpl", "bf grp", "bf ng", "bf edit", "bf reset",
    "bf now", "bf at", "bf rep", "bf x", "rf skip", "rf u", "rf a", "rf ok", "rf no", "rf re",
    "rf to", "ov r", "ov to", "ov tc", "dg p", "dg x", "pr s", "pr m", "pr v", "sc pr", "sc up",
    "sc dn", "sc n", "lb", "lb c", "lb s", "as c", "as save", "pd", "su", "fg ok", "fg no",
    "", "zz", "cl cl",
]
FIELD_VALUES = [
    "1", "2", "3", "5", "0", "-1", "+1", "01", "²", "٣", "１", "1e3", "1.5", "abc", "rot",
    "today", "-", "standard", "busy", "08:15", "25:99", "08:15:00", "mass", "C3", "R9",
    str(2**63 - 1), str(2**63), str(2**64), "9" * 30, "9" * 200, "\u0000", "<b>", "&amp;",
    "objection.fee", "zh-Hans", "en", "Europe/London", "Mars/Olympus", "../../etc",
]
WORDS = [
    "王建国", "李娜", "有兴趣", "成交", "没接通", "手续费太高", "周五下午3点", "明天", "下周二上午10点",
    "12/3", "2026-02-30", "tomorrow 3pm", "13800001234", "138-0000-1234", "²³", "٣٤٥", "１２３",
    "<b>bold", "</i>", "a & b", "<script>", "&lt;", "😀", "👨‍👩‍👧", "\u200d", "\u202e", "x" * 300,
    "稳健增利90天", "R2", "C3", "@u10101", "@nobody", "#12", "#99999999999999999999", "status",
    "week", "month", "xlsx", "-", "万", "100万", "1e9", "NaN", "inf", "{{ 7*7 }}", "{% raw %}",
]


def _commands() -> list[str]:
    """Every command the Application knows, flows included."""
    names: set[str] = set()

    def collect(handler: Any) -> None:
        if isinstance(handler, CommandHandler):
            names.update(handler.commands)
        elif isinstance(handler, ConversationHandler):
            for inner in [*handler.entry_points, *handler.fallbacks,
                          *(h for hs in handler.states.values() for h in hs)]:
                collect(inner)

    for _group, handler in handler_list():
        collect(handler)
    return sorted(names | {"startx", "start"})


def _char(rng: random.Random, top: int) -> str:
    """A random code point Telegram could deliver (valid UTF-8: no lone surrogates)."""
    while 0xD800 <= (point := rng.randint(32, top)) <= 0xDFFF:
        pass
    return chr(point)


def _field(rng: random.Random) -> str:
    return rng.choice(FIELD_VALUES) if rng.random() < 0.85 else str(rng.randint(1, 10**6))


def _text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return "".join(_char(rng, 0x2FFFF) for _ in range(rng.randint(1, 60)))
    if roll < 0.08:
        return rng.choice(WORDS) * rng.randint(100, 900)  # long, sometimes over the input cap
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))


def _callback_data(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.04:
        return "x" * rng.randint(65, 300)  # over 64 bytes: Telegram would never send it
    if roll < 0.07:
        return "".join(_char(rng, 0x2FFF) for _ in range(rng.randint(1, 30)))
    prefix = rng.choice(PREFIXES)
    fields = [_field(rng) for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3, 4]))]
    sep = rng.choice([" ", " ", " ", " ", "  ", "\t"])
    return sep.join([prefix, *fields]).strip(" ") or "?"


class _Errors(logging.Handler):
    """Collects ERROR records from every logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors() -> Iterator[_Errors]:
    handler = _Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@pytest.fixture
def settings(db_url: str) -> Settings:
    # no flood limit: the fixed clock would otherwise turn most updates away unseen
    return Settings(_env_file=None, database_url=db_url, telegram_bot_token="",  # type: ignore[call-arg]
                    admin_telegram_ids="1", flood_limit_per_minute=1_000_000,
                    search_model_background=False)


def _people(harness: Any) -> list[tuple[FakeUser, str]]:
    advisor = harness.person("advisor", name="张顾问")
    lead = harness.person("lead", name="陈主管")
    referrer = harness.person("referrer", name="大堂刘")
    outsider = harness.person("advisor", team="Beta", name="别队")
    with harness.services.db.session() as s:
        owner = harness.user_row(advisor).id
        for name in ("王建国", "王建华", "李娜"):
            factories.client(s, advisor_id=owner, name=name, now=harness.clock.now())
    admin = FakeUser(1, first_name="Admin")
    return [(advisor, "private"), (advisor, "private"), (lead, "private"), (referrer, "private"),
            (outsider, "private"), (admin, "private"), (harness.stranger(), "private"),
            (advisor, "group"), (lead, "group")]


def _update(rng: random.Random, telegram: FakeTelegram, user: FakeUser, chat: str,
            commands: list[str]) -> dict[str, Any]:
    chat_id = -100200300 if chat == "group" else None
    kind = rng.random()
    if kind < 0.35:
        command = rng.choice(commands)
        suffix = rng.choice(["", "", "", "@AdvisorCoachBot", "@OtherBot"])
        args = [rng.choice(WORDS + FIELD_VALUES) for _ in range(rng.choice([0, 1, 1, 2, 3, 5]))]
        text = " ".join([f"/{command}{suffix}", *args])
        payload = telegram.message_update(user, text, chat_id=chat_id, chat_type=chat)
    elif kind < 0.60:
        payload = telegram.message_update(user, _text(rng), chat_id=chat_id, chat_type=chat)
    elif kind < 0.72 and (pressable := [m for m in telegram.sent[-40:]
                                         if m.chat_id == (chat_id or user.id) and m.buttons]):
        # a real button of a recent message, pressed as is, twice, or with one field mangled
        message = rng.choice(pressable)
        data = rng.choice(message.buttons)[1]
        if rng.random() < 0.4:
            words = data.split(" ")
            words[rng.randrange(len(words))] = _field(rng)
            data = " ".join(words)
        return telegram.callback_update(user, message, data or "?")
    elif kind < 0.85:
        target = {"message_id": rng.randint(1, 10**6), "chat": {"id": chat_id or user.id,
                                                              "type": chat}, "date": 0}
        return {"callback_query": {"id": str(rng.randint(1, 10**9)), "from": user.as_dict(),
                                   "chat_instance": "1", "data": _callback_data(rng),
                                   "message": target}}
    elif kind < 0.93:
        payload = telegram.message_update(user, rng.choice([_text(rng), f"/{rng.choice(commands)} "
                                                            + _text(rng)]),
                                          chat_id=chat_id, chat_type=chat)
        payload = {"edited_message": {**payload["message"], "edit_date": 1}}
    else:
        payload = telegram.inline_update(user, _text(rng)[:rng.choice([10, 64, 256, 300])])
    return payload


async def test_random_updates_never_reach_the_error_handler(harness: Any,
                                                            errors: _Errors) -> None:
    rng = random.Random(SEED)
    commands = _commands()
    people = _people(harness)
    telegram = harness.telegram
    failures: list[str] = []
    for _ in range(UPDATES):
        user, chat = rng.choice(people)
        payload = telegram.push_update(_update(rng, telegram, user, chat, commands))
        telegram.wait_for_updates(payload["update_id"] + 1, 0)
        before = len(errors.records)
        await harness.app.process_update(Update.de_json(payload, harness.app.bot))
        if len(errors.records) > before:
            record = errors.records[before]
            failures.append(f"{record.getMessage()} {record.exc_info and record.exc_info[1]!r}"
                            f" <- {str(payload)[:300]}")
    assert not failures, f"{len(failures)} of {UPDATES} updates failed:\n" + "\n".join(failures[:25])
    # and nothing the bot sent would have been refused by Telegram (bad HTML, too long, …)
    assert telegram.refused == []
    # the run really exercised the bot: most updates got an answer of some kind
    assert len(telegram.calls) > UPDATES // 2


def test_the_fuzz_covers_every_command() -> None:
    commands = _commands()
    for name in ("addclient", "log", "briefing", "refer", "complaint", "forget", "cancel"):
        assert name in commands
