"""``coach console``: try the bot in a terminal, no token and no network.

The same ``Application`` and handlers as ``coach run`` answer through the
in-process fake Bot API. Buttons are shown numbered; type the number to press
one. With stdin not a terminal, one message per line is read and the replies
printed, so the console can be scripted.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys

from coach.digits import is_ascii_digits

__all__ = ["register", "render_for_terminal"]

_TAGS = re.compile(r"<[^>]+>")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("console", help="chat with the bot in this terminal")
    parser.add_argument("--as", dest="role", default="advisor",
                        choices=["advisor", "advisor2", "lead", "admin", "referrer"])
    parser.add_argument("--db", default="coach-demo.db", help="SQLite file or database URL")
    parser.add_argument("--empty", action="store_true", help="no demo team and clients")
    parser.set_defaults(func=console)


def render_for_terminal(text: str, buttons: list[tuple[str, str]]) -> str:
    body = html.unescape(_TAGS.sub("", text))
    if buttons:
        body += "\n" + "  ".join(f"[{i}] {label}" for i, (label, _) in enumerate(buttons, 1))
    return body


def console(args: argparse.Namespace) -> int:
    return asyncio.run(_console(args))


async def _console(args: argparse.Namespace) -> int:
    from bot.app import build_application
    from bot.chat import LocalChat
    from bot.fakebot import FakeRequest, FakeTelegram, FakeUser
    from bot.runtime import configure_logging, make_services
    from bot.settings import load_settings
    from storage.demo import DEMO_PEOPLE, seed_demo

    configure_logging("WARNING")
    url = args.db if "://" in args.db else f"sqlite:///{args.db}"
    settings = load_settings(database_url=url, telegram_bot_token="",
                             admin_telegram_ids=[DEMO_PEOPLE["admin"].telegram_id])
    services = make_services(settings)
    person = DEMO_PEOPLE[args.role]
    with services.db.session() as s:
        if not args.empty:
            seed_demo(s, now=services.clock.now(), tz=settings.default_timezone)
        else:
            from coach.services import people

            if people.find_user(s, person.telegram_id) is None and person.role != "admin":
                team = people.get_or_create_team(s, "Console", clock=services.clock)
                people.add_user(s, telegram_id=person.telegram_id, role=person.role,
                                team_name=team.name, name=person.name, clock=services.clock)
    # update ids must keep growing across console runs on one database, as Telegram's do,
    # or the guard would drop them as already handled
    with services.db.session() as s:
        from sqlalchemy import func, select

        from storage.models import ProcessedUpdate

        last_update = s.scalar(select(func.max(ProcessedUpdate.update_id))) or 0
    telegram = FakeTelegram(username=settings.bot_username, first_update_id=last_update + 1)
    app = build_application(services, request=FakeRequest(telegram), rate_limit=False)
    user = FakeUser(person.telegram_id, first_name=person.name, username=person.username,
                    language_code="zh-hans")
    chat = LocalChat(app, telegram, user)
    interactive = sys.stdin.isatty()
    async with app:
        await app.start()
        if interactive:
            print(f"coach console — you are {person.name} ({person.role}). "
                  "Type /help; a number presses a button; Ctrl-D quits.")
        seen = len(telegram.sent)
        while True:
            try:
                line = await asyncio.to_thread(input, "> " if interactive else "")
            except EOFError:
                break
            line = line.strip()
            if not line:
                continue
            if (is_ascii_digits(line) and len(line) < 4 and chat.last_buttons_message is not None
                    and 0 < int(line) <= len(chat.last_buttons_message.buttons)):
                try:
                    await chat.press(int(line))
                except (IndexError, LookupError):
                    print("(no such button)")
            else:
                await chat.send(line)
            await asyncio.sleep(0)
            for message in telegram.sent[seen:]:
                if message.chat_id == user.id:
                    if message.method in ("sendPhoto", "sendDocument"):
                        name = str(message.params.get("filename") or message.method[4:].lower())
                        size = sum(len(f) for f in message.files.values())
                        print(f"[📎 {name}, {size:,} bytes]")
                    print(render_for_terminal(message.text, message.buttons))
                    print()
            seen = len(telegram.sent)
        await app.stop()
    services.db.dispose()
    return 0
