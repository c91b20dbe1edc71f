"""Broadcast a briefing to 1,000 members through the HTTP Bot API emulator at 30 msg/s.

    python bench/broadcast.py [MEMBERS]

The real Application (HTTP request class, AIORateLimiter), the real broadcast
service and notifier talk to ``bot/fakeserver.py`` on 127.0.0.1, which answers 429
with retry_after beyond 30 messages per second. Last line:
{"members", "delivered", "duplicates", "errors", "seconds", "limit_seconds"}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.app import build_application
from bot.fakebot import FakeTelegram
from bot.fakeserver import serve
from bot.jobs.briefings import broadcast_pending
from bot.services import Services
from bot.settings import Settings
from coach.actor import Me
from coach.clock import SystemClock
from coach.services import briefing
from storage.db import Database
from storage.migrate import upgrade
from storage.models import BriefingDelivery, Team, User

TOKEN = "1000:bench"
RATE = 30


def seed(db: Database, members: int) -> None:
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(insert(Team), [{"id": 1, "name": "Bench", "created_at": now}])
        conn.execute(insert(User), [{"id": 1, "telegram_id": 1, "name": "Lead", "role": "lead",
                                     "team_id": 1, "created_at": now}] + [
            {"id": i + 2, "telegram_id": 100_000 + i, "name": f"A{i}", "role": "advisor",
             "team_id": 1, "created_at": now} for i in range(members)])


async def run(members: int, url: str) -> dict[str, float | int]:
    telegram = FakeTelegram(messages_per_second=RATE)
    with serve(telegram, TOKEN) as base_url:
        settings = Settings(_env_file=None, database_url=url, telegram_bot_token=TOKEN,  # type: ignore[call-arg]
                            telegram_base_url=base_url)
        services = Services(settings=settings, db=Database(url), clock=SystemClock())
        app = build_application(services, jobs=False)
        async with app:
            with services.db.session() as s:
                lead = Me(1, 1, "Lead", "lead", 1, "zh-Hans", "Asia/Shanghai")
                row = briefing.create(s, lead, {"targets": "120 calls", "style": "short"},
                                      now=services.clock.now(), send_at=None,
                                      repeat_workdays=False, include_group=False)
                briefing.start_sending(s, row.id, now=services.clock.now())
            started = time.perf_counter()
            await broadcast_pending(app)
            seconds = time.perf_counter() - started
        with services.db.session() as s:
            errors = s.scalar(select(func.count()).select_from(BriefingDelivery).where(
                BriefingDelivery.status != "sent")) or 0
        services.db.dispose()
    per_chat = Counter(m.chat_id for m in telegram.sent)
    print(f"throttled by the emulator (429 answers): {telegram.throttled}")
    return {"members": members, "delivered": len(per_chat),
            "duplicates": sum(n - 1 for n in per_chat.values()), "errors": int(errors),
            "seconds": round(seconds, 2), "limit_seconds": round(members / RATE, 1)}


def main() -> None:
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        db = Database(url)
        seed(db, members)
        db.dispose()
        result = asyncio.run(run(members, url))
    print(f"{result['delivered']} of {members} delivered in {result['seconds']} s "
          f"(Telegram's limit allows {result['limit_seconds']} s at best)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
