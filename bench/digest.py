"""Build the morning checklist for 1,000 advisors × 300 clients on SQLite.

    python bench/digest.py [ADVISORS]

Synthetic data: 300,000 clients, 1,000,000 interactions, 100,000 holdings (bulk-inserted).
Prints a summary and, last, {"advisors", "clients", "seconds", "queries_per_digest"}.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert, select

from bot.guard import me_from_user
from bot.render import Renderer
from coach.cadence import CadenceConfig
from coach.services import digest
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Client, FollowUp, Holding, Interaction, Team, User

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
BATCH = 200


def populate(db: Database, advisors: int, per_advisor: int = 300) -> None:
    rng = random.Random(1)
    with db.engine.begin() as conn:
        conn.execute(insert(Team), [{"id": 1, "name": "Bench", "created_at": NOW}])
        conn.execute(insert(User), [
            {"id": i + 1, "telegram_id": 10_000 + i, "name": f"A{i}", "role": "advisor",
             "team_id": 1, "timezone": "Asia/Shanghai", "created_at": NOW}
            for i in range(advisors)])
        tiers = ["mass"] * 6 + ["wealth"] * 3 + ["premier"]
        clients = []
        for cid in range(1, advisors * per_advisor + 1):
            clients.append({
                "id": cid, "advisor_id": (cid - 1) // per_advisor + 1, "name": f"C{cid}",
                "tier": rng.choice(tiers), "aum": 100_000, "risk_tolerance": "C3",
                "risk_assessed_on": date(2026, 11, 25) - timedelta(days=rng.randint(0, 400)),
                "birthday": date(1960 + rng.randint(0, 40), rng.randint(1, 12),
                                 rng.randint(1, 28)),
                "opened_on": date(2026, 11, 25) - timedelta(days=rng.randint(0, 2000)),
                "last_contact_at": NOW - timedelta(days=rng.randint(0, 120)),
                "last_meeting_at": NOW - timedelta(days=rng.randint(0, 300)),
                "forgotten": False, "created_at": NOW})
        conn.execute(insert(Client), clients)
        total = len(clients)
        conn.execute(insert(Interaction), [
            {"client_id": (cid := rng.randint(1, total)),
             "advisor_id": (cid - 1) // per_advisor + 1, "channel": "phone",
             "outcome": rng.choice(["no_answer", "interested_thinking", "sale", "soft_decline"]),
             "occurred_at": NOW - timedelta(hours=rng.randint(1, 24 * 365)), "created_at": NOW}
            for _ in range(total * 10 // 3)])
        conn.execute(insert(Holding), [
            {"client_id": rng.randint(1, total), "product_name": "稳健增利", "risk_rating": "R2",
             "amount": 50_000,
             "maturity_date": date(2026, 11, 25) + timedelta(days=rng.randint(-30, 300))}
            for _ in range(total // 3)])
        conn.execute(insert(FollowUp), [
            {"client_id": (cid := rng.randint(1, total)),
             "advisor_id": (cid - 1) // per_advisor + 1, "kind": "call", "reason": "manual",
             "due_at": NOW + timedelta(hours=rng.randint(-200, 200)), "status": "pending",
             "attempts": 0, "created_at": NOW}
            for _ in range(total // 10)])


def main() -> None:
    advisors = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        db = Database(url)
        started = time.perf_counter()
        populate(db, advisors)
        print(f"populated in {time.perf_counter() - started:.1f} s")
        queries = 0

        def count(*_args: object) -> None:
            nonlocal queries
            queries += 1

        event.listen(db.engine, "before_cursor_execute", count)
        started, rendering = time.perf_counter(), 0.0
        items = chars = 0
        renderer = Renderer()
        with db.session() as s:
            users = list(s.scalars(select(User).order_by(User.id)))
            for start in range(0, len(users), BATCH):
                lists = digest.checklists(s, users[start:start + BATCH], now=NOW,
                                          config=CadenceConfig(), region="CN", call_target=10)
                items += sum(len(c.items) for c in lists.values())
                built = time.perf_counter()
                for user in users[start:start + BATCH]:  # the message each one receives
                    chars += len(renderer.text("digest", "zh-Hans", me=me_from_user(user),
                                               c=lists[user.id], page=0, morning=True))
                rendering += time.perf_counter() - built
        seconds = time.perf_counter() - started
        db.dispose()
    print(f"{advisors} checklists ({items} items) built and rendered in {seconds:.2f} s "
          f"({rendering:.2f} s of it rendering, {chars // advisors} characters each); "
          f"{queries} queries in total ({queries / advisors:.3f} per digest, batches of {BATCH})")
    print(json.dumps({"advisors": advisors, "clients": advisors * 300,
                      "seconds": round(seconds, 2),
                      "queries_per_digest": round(queries / advisors, 3)}))


if __name__ == "__main__":
    main()
