"""``coach console``: try the bot in a terminal, no token and no network.

The same ``Application``, handlers and timed jobs as ``coach run`` answer through
the in-process fake Bot API. Buttons are shown numbered; while they are the last
thing shown, typing a number presses one. After every input line the scheduled
jobs run once against the console's virtual clock, and ``/time +2h`` or
``/time 2026-12-03 08:30`` moves that clock, running the jobs due on the way.
Messages to other people are shown with their recipient, files are saved to a
folder. With stdin not a terminal, lines are read and the replies printed, so a
whole day can be scripted.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from coach.digits import is_ascii_digits

__all__ = ["ConsoleClock", "parse_time_command", "register", "render_for_terminal"]

_TAGS = re.compile(r"<[^>]+>")
_DELTA = re.compile(r"([0-9]+)\s*([dhm])")
STEP = timedelta(minutes=30)  # /time walks the clock in steps so every job due on the way runs


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("console", help="chat with the bot in this terminal")
    parser.add_argument("--as", dest="role", default="advisor",
                        choices=["advisor", "advisor2", "lead", "admin", "referrer"])
    parser.add_argument("--db", default=None,
                        help="SQLite file or database URL (default: coach --db, else "
                             "DATABASE_URL, the database every coach command uses)")
    parser.add_argument("--empty", action="store_true", help="no demo team and clients")
    parser.add_argument("--files", type=Path, default=None,
                        help="folder for files the bot sends (default: a new temporary folder)")
    parser.add_argument("--start", default=None,
                        help="freeze the virtual clock at this local time, e.g. '2026-12-02 07:50'")
    parser.set_defaults(func=console)


def render_for_terminal(text: str, buttons: list[tuple[str, str]]) -> str:
    body = html.unescape(_TAGS.sub("", text))
    if buttons:
        body += "\n" + "  ".join(f"[{i}] {label}" for i, (label, _) in enumerate(buttons, 1))
    return body


@dataclass
class ConsoleClock:
    """The console's virtual clock: wall time plus an offset, or frozen (``--start``).

    It has the ``now()`` of every clock the services take, so the bot and its jobs
    all see the same virtual moment.
    """

    frozen: datetime | None = None
    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        if self.frozen is not None:
            return self.frozen + self.offset
        return datetime.now(UTC) + self.offset

    def move_to(self, when: datetime) -> None:
        self.offset += when - self.now()


def parse_time_command(arg: str, now: datetime, tz: str) -> datetime | None:
    """``+2h``, ``+1d 30m`` (relative) or ``2026-12-03 08:30`` (local) → the target moment."""
    arg = arg.strip()
    if arg.startswith("+"):
        parts = _DELTA.findall(arg[1:])
        if not parts or _DELTA.sub("", arg[1:]).strip():
            return None
        units = {"d": "days", "h": "hours", "m": "minutes"}
        delta = timedelta(**{units[u]: 0 for u in units})
        for number, unit in parts:
            delta += timedelta(**{units[unit]: int(number)})
        return now + delta
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d", "%H:%M"):
        try:
            parsed = datetime.strptime(arg, fmt)
        except ValueError:
            continue
        if fmt == "%H:%M":  # a time of day: today, or tomorrow if already past
            local_now = now.astimezone(ZoneInfo(tz))
            parsed = datetime.combine(local_now.date(), parsed.time())
            target = parsed.replace(tzinfo=ZoneInfo(tz))
            return target if target > now else target + timedelta(days=1)
        return parsed.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    return None


def console(args: argparse.Namespace) -> int:
    return asyncio.run(_console(args))


def _database_url(args: argparse.Namespace) -> str:
    """``--db``, else the global ``coach --db``, else DATABASE_URL: the one every command reads."""
    db = args.db or getattr(args, "global_db", None)
    if not db:
        from bot.settings import load_settings

        return load_settings().database_url
    return db if "://" in db else f"sqlite:///{db}"


def _own_people(services: Any) -> int:
    """How many people in the database are not the console's fictional ones."""
    from sqlalchemy import func, select

    from storage.demo import DEMO_PEOPLE
    from storage.models import User

    demo_ids = [p.telegram_id for p in DEMO_PEOPLE.values()]
    with services.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(User)
                            .where(User.telegram_id.not_in(demo_ids))) or 0)


@dataclass
class _Screen:
    """What the console prints: replies, other people's messages, files and toasts."""

    telegram: Any
    me: int
    names: dict[int, str]
    files_dir: Path | None
    seen: int = 0
    calls_seen: int = 0
    buttons: Any = None  # the message whose buttons are the last thing shown, if any

    def folder(self) -> Path:
        if self.files_dir is None:
            self.files_dir = Path(tempfile.mkdtemp(prefix="coach-console-"))
        self.files_dir.mkdir(parents=True, exist_ok=True)
        return self.files_dir

    def flush(self) -> None:
        for method, params in self.telegram.calls[self.calls_seen:]:
            if method == "answerCallbackQuery" and params.get("text"):
                print(f"💬 {params['text']}")
        self.calls_seen = len(self.telegram.calls)
        for message in self.telegram.sent[self.seen:]:
            header = "" if message.chat_id == self.me else (
                f"→ {self.names.get(message.chat_id, message.chat_id)}:\n")
            if message.method in ("sendPhoto", "sendDocument"):
                print(header + self._save(message))
                header = ""
            body = render_for_terminal(message.text, message.buttons)
            if body or header:
                print(header + body)
            print()
            if message.chat_id == self.me:
                self.buttons = message if message.buttons else None
        self.seen = len(self.telegram.sent)

    def _save(self, message: Any) -> str:
        name = str(message.params.get("filename") or "")
        saved = []
        for field_name, content in message.files.items():
            filename = Path(name or f"{field_name}-{message.message_id}").name
            path = self.folder() / filename
            path.write_bytes(content)
            saved.append(f"[📎 {path} ({len(content):,} bytes)]")
        return "\n".join(saved) or f"[📎 {message.method[4:].lower()}]"


def _print_inline(answer: dict[str, Any] | None) -> None:
    results = (answer or {}).get("results") or []
    if isinstance(results, str):
        results = json.loads(results)
    if not results:
        print("(no inline results)\n")
        return
    for i, result in enumerate(results, 1):
        # what choosing it would insert, shortened: the console only previews the choices
        content = result.get("input_message_content") or {}
        text = render_for_terminal(str(content.get("message_text") or ""), []).split("\n")
        preview = next((t for t in text[1:] if t.strip() and t.strip() != result.get("title")
                        and not "①" <= t.strip()[0] <= "⑳"), "")
        print(f"<{i}> {result.get('title', '')}" + (f" — {preview[:40]}…" if preview else ""))
    print()


def _inline_query(line: str, username: str) -> str | None:
    """``@bot 手续费`` or ``@<the bot's username> 手续费`` → ``手续费`` (an inline query)."""
    first, _, rest = line.partition(" ")
    if first.lower() in ("@bot", f"@{username.lower()}"):
        return rest.strip()
    return None


async def _read_line(interactive: bool) -> str | None:
    """One input; a line ending in ``\\`` continues on the next (multi-line messages)."""
    parts: list[str] = []
    while True:
        try:
            line = await asyncio.to_thread(input, ("… " if parts else "> ") if interactive else "")
        except EOFError:
            return "\n".join(parts) if parts else None
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        return "\n".join(parts)


async def _console(args: argparse.Namespace) -> int:
    from bot.app import build_application
    from bot.chat import LocalChat
    from bot.fakebot import FakeRequest, FakeTelegram, FakeUser
    from bot.runtime import configure_logging, make_services
    from bot.scheduler import run_ticks
    from bot.settings import load_settings
    from storage.demo import DEMO_PEOPLE, seed_demo

    configure_logging("WARNING")
    # one message at a time: the transcript shows them in the order they were queued
    settings = load_settings(database_url=_database_url(args), telegram_bot_token="",
                             admin_telegram_ids=[DEMO_PEOPLE["admin"].telegram_id],
                             outbox_concurrency=1)
    tz = settings.default_timezone
    clock = ConsoleClock()
    if args.start:
        start = parse_time_command(args.start, clock.now(), tz)
        if start is None:
            print(f"coach: --start {args.start!r} is not a time like 2026-12-02 07:50",
                  file=sys.stderr)
            return 2
        clock = ConsoleClock(frozen=start)
    services = make_services(settings, clock=clock)
    if (own := _own_people(services)) > 0:
        # the console writes fictional people and clients: never into a real team's book
        services.db.dispose()
        from sqlalchemy.engine import make_url

        where = make_url(settings.database_url).render_as_string(hide_password=True)
        print(f"coach: {where} has {own} real people; the console would add its fictional "
              "team to it. Try the console on its own file: coach --db coach-demo.db console",
              file=sys.stderr)
        return 2
    person = DEMO_PEOPLE[args.role]
    with services.db.session() as s:
        if not args.empty:
            seed_demo(s, now=services.clock.now(), tz=tz)
        else:
            from coach.services import people

            if people.find_user(s, person.telegram_id) is None and person.role != "admin":
                team = people.get_or_create_team(s, "Console", clock=services.clock)
                people.add_user(s, telegram_id=person.telegram_id, role=person.role,
                                team_name=team.name, name=person.name, clock=services.clock)
    # update ids must keep growing across console runs on one database, as Telegram's do,
    # or the guard would drop them as already handled
    from sqlalchemy import func, select

    from storage.models import ProcessedUpdate, User

    with services.db.session() as s:
        last_update = s.scalar(select(func.max(ProcessedUpdate.update_id))) or 0
        names = {u.telegram_id: u.name for u in s.scalars(select(User))}
    telegram = FakeTelegram(username=settings.bot_username, first_update_id=last_update + 1)
    app = build_application(services, request=FakeRequest(telegram), rate_limit=False)
    user = FakeUser(person.telegram_id, first_name=person.name, username=person.username,
                    language_code="zh-hans")
    chat = LocalChat(app, telegram, user)
    screen = _Screen(telegram, user.id, names, args.files)
    interactive = sys.stdin.isatty()

    def show_time() -> None:
        local = clock.now().astimezone(ZoneInfo(tz))
        print(f"🕒 {local:%Y-%m-%d %H:%M} ({tz})\n")

    async with app:
        await app.start()
        if interactive:
            print(f"coach console — you are {person.name} ({person.role}). Type /help; "
                  "a number presses a button; /time +2h moves the clock; Ctrl-D quits.")
        await run_ticks(app)
        screen.flush()
        while True:
            line = await _read_line(interactive)
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            if line == "/time" or line.startswith("/time "):
                target = parse_time_command(line[5:], clock.now(), tz) if line[5:].strip() else None
                if line[5:].strip() and target is None:
                    print("(/time +2h, /time +1d 30m, /time 08:30 or /time 2026-12-03 08:30)\n")
                    continue
                if target is not None:
                    if target < clock.now():
                        print("(the clock only moves forward)\n")
                        continue
                    while clock.now() + STEP < target:
                        clock.move_to(clock.now() + STEP)
                        await run_ticks(app)
                        screen.flush()
                    clock.move_to(target)
                    await run_ticks(app)
                    screen.flush()
                show_time()
                continue
            elif (query := _inline_query(line, settings.bot_username)) is not None:
                _print_inline(await chat.inline(query))
            elif (is_ascii_digits(line) and len(line) < 4 and screen.buttons is not None
                    and 0 < int(line) <= len(screen.buttons.buttons)):
                await chat.press(int(line), message=screen.buttons)
            else:
                await chat.send(line)
            await asyncio.sleep(0)
            await run_ticks(app)
            screen.flush()
        await app.stop()
    services.db.dispose()
    return 0
