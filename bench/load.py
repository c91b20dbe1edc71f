"""Mixed traffic through the real Application: sustained updates/s and p95 latency per kind.

    python bench/load.py [--clients 300000] [--advisors 1000] [--db URL]
                         [--instances 1|2|1,2] [--seconds 20] [--concurrency 16]

1,000 advisors with 300,000 clients between them (bulk-inserted; ``--clients 30000``
for a quick run) send a mix of updates: objection queries 60 % (plain text, the
script search), ``/log`` one-liners 20 % (parsed, client matched, confirmation
shown), buttons 15 % (``cl <id>``: a client card) and ``/today`` 5 % (the checklist).
Each instance is its own process with the real PTB ``Application`` (every handler,
the guard, per-chat ordering, database persistence) talking to the in-process fake
Bot API (``bot/fakebot.py``, no network, no rate limit); with ``--instances 2`` the
chats are split between two processes over the one database, as two instances
behind a load balancer would be. Each instance keeps ``--concurrency`` updates in
flight (a closed loop: the next is sent when one is answered), so the rate shown is
what the bot sustains, and latency is from the update entering the queue to its
handler finishing. Database pool, worker threads and ``CONCURRENT_UPDATES`` are those
of ``coach run`` (``bot.runtime.make_services``). Logging is set up as ``coach run``
does (a line per update, client names masked), into a temporary file. The emulator's
own checks of outgoing messages (``strict``) are off: the bench measures the bot.

``--instances 1,2`` runs one instance, then two, on the same data and prints how the
rate scales. The machine's load average is printed at the start and the end of each
run: other work on the machine shows there (the figures are only comparable between
runs with similar load).

``--db`` takes a database URL (PostgreSQL: ``postgresql+psycopg://…``); it must be
empty, or hold exactly this bench's data from an earlier run (then it is reused).
Without ``--db`` a temporary SQLite file is used. When that PostgreSQL server runs on
this machine (its processes readable in ``/proc``), the server's own CPU time over the
measured window is shown per update too: the bot's CPU plus the server's is what one
update costs the machine. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.fakebot import FakeRequest, FakeTelegram, FakeUser, SentMessage  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Client, FollowUp, ProcessedUpdate, Team, User  # noqa: E402

KINDS = (("objection", 60), ("log", 20), ("button", 15), ("today", 5))
ADVISOR_BASE = 880_000_000  # Telegram ids of the bench's advisors
WARMUP_S = 3.0
# what customers say, in the bench's own words (not the search evaluation's lines)
OBJECTIONS = ("收益太低了，还不如存定期", "你们的手续费太贵", "我再考虑考虑吧", "万一亏本怎么办",
              "现在理财都不保本了吧", "我要回家跟老婆商量一下", "别的银行利率比你们高",
              "最近行情不好，不想买", "钱放进去取不出来不方便", "我已经买过基金了，亏了不少")
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林高罗"
GIVEN = "建国秀英志强丽华海燕春梅伟明静怡德胜玉兰国庆晓东文博雅琴"


def client_name(index: int) -> str:
    """A person-like name, unique within one advisor's book (digits never parse as names)."""
    a, b = divmod(index, len(GIVEN))
    c, d = divmod(a, len(GIVEN))
    return SURNAMES[c % len(SURNAMES)] + GIVEN[d] + GIVEN[b]


# --- seeding -----------------------------------------------------------------------


def seed(url: str, advisors: int, clients: int) -> str:
    """Bulk-insert the bench's data (or find it there already); returns what was done."""
    upgrade(url)
    db = Database(url)
    try:
        with db.session() as s:
            users = s.scalar(select(func.count()).select_from(User)) or 0
            have = s.scalar(select(func.count()).select_from(Client)) or 0
        if users == advisors and have == clients:
            return "reused"
        if users or have:
            raise SystemExit(f"bench/load.py: {url} already holds other data "
                             f"({users} users, {have} clients); give an empty database")
        now = datetime.now(UTC)
        per = clients // advisors
        rng = random.Random(7)
        with db.engine.begin() as conn:
            conn.execute(insert(Team), [{"id": 1, "name": "Load", "created_at": now}])
            conn.execute(insert(User), [
                {"id": a + 1, "telegram_id": ADVISOR_BASE + a, "name": f"顾问{a}",
                 "role": "advisor", "team_id": 1, "language": "zh-Hans",
                 "timezone": "Asia/Shanghai", "digest_paused": True, "created_at": now}
                for a in range(advisors)])
            chunk: list[dict[str, Any]] = []
            for cid in range(1, advisors * per + 1):
                chunk.append({"id": cid, "advisor_id": (cid - 1) // per + 1,
                              "name": client_name((cid - 1) % per), "tier": "wealth",
                              "aum": 100_000, "risk_tolerance": "C3",
                              "last_contact_at": now - timedelta(days=rng.randint(0, 120)),
                              "forgotten": False, "created_at": now})
                if len(chunk) == 20_000:
                    conn.execute(insert(Client), chunk)
                    chunk = []
            if chunk:
                conn.execute(insert(Client), chunk)
            conn.execute(insert(FollowUp), [
                {"client_id": (cid := rng.randint(1, advisors * per)),
                 "advisor_id": (cid - 1) // per + 1, "kind": "call", "reason": "manual",
                 "due_at": now + timedelta(hours=rng.randint(-48, 200)), "status": "pending",
                 "attempts": 0, "created_at": now}
                for _ in range(advisors * per // 10)])
        return "seeded"
    finally:
        db.dispose()


def first_update_id(url: str) -> int:
    """Above every update id already recorded: a reused database must not see duplicates.

    (The guard drops an update id it has seen; reusing ids from an earlier run would
    measure the duplicate check instead of the handlers.)
    """
    db = Database(url)
    try:
        with db.session() as s:
            seen = s.scalar(select(func.max(ProcessedUpdate.update_id))) or 0
    finally:
        db.dispose()
    return (seen // 10**9 + 1) * 10**9


# --- one instance -------------------------------------------------------------------


class _ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _server_pid(db: Any) -> int | None:
    """The PostgreSQL postmaster's pid if the server runs here (its processes readable)."""
    if not db.is_postgres:
        return None
    with db.session() as s:
        backend = int(s.scalar(text("SELECT pg_backend_pid()")) or 0)
    try:
        parent = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        return parent if Path(f"/proc/{parent}/stat").exists() else None
    except (OSError, IndexError, ValueError):
        return None  # another machine, or another PID namespace


def _server_cpu(postmaster: int | None) -> float | None:
    """CPU seconds of the PostgreSQL server so far: the postmaster, its live backends and
    the backends that already exited (the postmaster reaped them: its children's time)."""
    if postmaster is None:
        return None
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited meanwhile
        if int(entry.name) == postmaster:
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        elif int(fields[1]) == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class _RoundTrips:
    """Statements, transactions and connection pings on one engine (what an update costs
    the database in round trips; a ping bypasses the statement events, so it is counted
    where the dialect sends it)."""

    def __init__(self, engine: Any) -> None:
        self.statements = self.transactions = self.pings = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        dialect, ping = engine.dialect, engine.dialect.do_ping

        def counted_ping(dbapi_connection: Any) -> Any:
            self.pings += 1
            return ping(dbapi_connection)

        dialect.do_ping = counted_ping

    def _statement(self, *_args: Any) -> None:
        self.statements += 1

    def _begin(self, *_args: Any) -> None:
        self.transactions += 1

    def snapshot(self) -> tuple[int, int, int]:
        # the chat lock talks to the driver directly (bot.chatlock): its statements count
        # too, each its own autocommit transaction
        locks = self.lock_statements()
        return self.statements + locks, self.transactions + locks, self.pings

    lock_statements: Any = staticmethod(lambda: 0)


def _update_payload(telegram: FakeTelegram, kind: str, advisor: int, per: int,
                    rng: random.Random) -> dict[str, Any]:
    user = FakeUser(ADVISOR_BASE + advisor, f"顾问{advisor}")
    own = rng.randrange(per)
    if kind == "objection":
        return telegram.message_update(user, rng.choice(OBJECTIONS))
    if kind == "log":
        return telegram.message_update(user, f"/log {client_name(own)} 有兴趣 周五下午3点再打")
    if kind == "today":
        return telegram.message_update(user, "/today")
    card = SentMessage("sendMessage", user.id, 1, "·", None, {})
    return telegram.callback_update(user, card, f"cl {advisor * per + own + 1}")


async def _drive(index: int, instances: int, url: str, advisors: int, per: int,
                 seconds: float, concurrency: int, log_path: str,
                 first_id: int = 10**9) -> dict[str, Any]:
    from telegram import Update

    from bot.app import build_application
    from bot.runtime import configure_logging, make_services, settle_heap
    from bot.settings import Settings

    # logging as coach run does it (a line per update, client names masked), to a file
    configure_logging("INFO")
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(log_path, "a", encoding="utf-8"))  # noqa: SIM115
    errors = _ErrorCount()
    logging.getLogger().addHandler(errors)
    settings = Settings(_env_file=None, database_url=url, telegram_bot_token="",  # type: ignore[call-arg]
                        flood_limit_per_minute=1_000_000)  # throughput, not flood control
    # pool, timeouts and client-name redaction as coach run sets them up
    services = make_services(settings, migrate=False)
    _ = services.catalog  # built before the clock starts, as coach run does at start-up
    # the first instance also clocks the database server (the others would count it twice)
    postmaster = _server_pid(services.db) if index == 0 else None
    trips = _RoundTrips(services.db.engine)
    telegram = FakeTelegram(first_update_id=first_id + index * 10**8, strict=False)
    app = build_application(services, request=FakeRequest(telegram), rate_limit=False,
                            jobs=False)
    processor = app.update_processor
    trips.lock_statements = lambda: getattr(processor, "lock_statements", 0)
    mine = [a for a in range(advisors) if a % instances == index]  # chats split by id
    rng = random.Random(index)
    names, weights = zip(*KINDS, strict=True)
    waiting: dict[int, asyncio.Future[float]] = {}
    original = app.process_update

    async def timed(update: object) -> None:
        try:
            await original(update)
        finally:
            done = waiting.pop(getattr(update, "update_id", -1), None)
            if done is not None and not done.done():
                done.set_result(time.perf_counter())

    app.process_update = timed  # type: ignore[method-assign]
    latencies: dict[str, list[float]] = defaultdict(list)
    counted = 0
    async with app:
        await app.start()
        settle_heap()  # as coach run does once it has started
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        measure_from, stop_at = start + WARMUP_S, start + WARMUP_S + seconds

        async def user_loop() -> None:
            nonlocal counted
            while time.perf_counter() < stop_at:
                kind = rng.choices(names, weights)[0]
                payload = telegram.push_update(_update_payload(telegram, kind, rng.choice(mine),
                                                               per, rng))
                update = Update.de_json(payload, app.bot)
                done: asyncio.Future[float] = loop.create_future()
                waiting[update.update_id] = done
                sent = time.perf_counter()
                await app.update_queue.put(update)
                finished = await done
                if sent >= measure_from and finished <= stop_at:
                    latencies[kind].append((finished - sent) * 1000)
                    counted += 1

        trips_seen: list[int] = []  # statements, transactions, pings in the window

        async def cpu_clock() -> tuple[float, float | None]:
            # this process's CPU time (every thread) over the measured window: a figure
            # that other work on the machine disturbs far less than the wall-clock rate
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            begin, server_begin = time.process_time(), _server_cpu(postmaster)
            trips_begin = trips.snapshot()
            await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
            server_end = _server_cpu(postmaster)
            trips_seen.extend(b - a for a, b in zip(trips_begin, trips.snapshot(),
                                                     strict=True))
            server = (None if server_begin is None or server_end is None
                      else server_end - server_begin)
            return time.process_time() - begin, server

        (cpu, server_cpu), *_ = await asyncio.gather(
            cpu_clock(), *(user_loop() for _ in range(concurrency)))
        await app.stop()
    services.db.dispose()
    return {"latencies": dict(latencies), "counted": counted, "seconds": seconds,
            "errors": errors.count, "cpu_seconds": cpu, "server_cpu_seconds": server_cpu,
            "round_trips": trips_seen}


def _instance(index: int, instances: int, url: str, advisors: int, per: int,
              seconds: float, concurrency: int, log_path: str, first_id: int,
              out: Any) -> None:
    out.put((index, asyncio.run(_drive(index, instances, url, advisors, per, seconds,
                                       concurrency, log_path, first_id))))


# --- the run --------------------------------------------------------------------------


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(url: str, *, advisors: int, clients: int, instances: int, seconds: float,
        concurrency: int, log_dir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    seeded = seed(url, advisors, clients)
    seed_s = time.perf_counter() - started
    from coach.services.library import shared_catalog

    shared_catalog()  # once, before the instances fork: they share it
    first_id = first_update_id(url)
    load_start = _load()
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    workers = [context.Process(target=_instance, args=(i, instances, url, advisors,
                                                       clients // advisors, seconds,
                                                       concurrency,
                                                       str(log_dir / f"bot{i}.log"),
                                                       first_id, out))
               for i in range(instances)]
    for worker in workers:
        worker.start()
    results = [out.get() for _ in workers]
    for worker in workers:
        worker.join()
    load_end = _load()
    merged: dict[str, list[float]] = defaultdict(list)
    for _, result in results:
        for kind, values in result["latencies"].items():
            merged[kind].extend(values)
    total = sum(r["counted"] for _, r in results)
    every = [v for values in merged.values() for v in values]
    server = [r["server_cpu_seconds"] for _, r in results
              if r.get("server_cpu_seconds") is not None]
    return {
        "db": url.split(":", 1)[0], "instances": instances, "advisors": advisors,
        "clients": clients, "seed": seeded, "seed_seconds": round(seed_s, 1),
        "concurrency_per_instance": concurrency, "seconds": seconds,
        "cpus": os.cpu_count(), "load_start": load_start, "load_end": load_end,
        "updates_per_second": round(total / seconds, 1),
        # the bot's own CPU per update (the database server's not included)
        "cpu_ms_per_update": round(1000 * sum(r["cpu_seconds"] for _, r in results)
                                   / max(1, total), 1),
        # the PostgreSQL server's CPU per update, when it runs on this machine (else None)
        "db_cpu_ms_per_update": (round(1000 * sum(server) / max(1, total), 1) if server
                                 else None),
        # what one update costs the database, on average over the mix (the chat lock's
        # statements included; a transaction adds a BEGIN and a COMMIT round trip)
        **{f"{name}_per_update": round(sum(r["round_trips"][i] for _, r in results
                                           if r["round_trips"]) / max(1, total), 2)
           for i, name in enumerate(("statements", "transactions", "pings"))},
        "p50_ms": round(_p(every, 0.5), 1), "p95_ms": round(_p(every, 0.95), 1),
        "errors": sum(r["errors"] for _, r in results),
        "kinds": {kind: {"n": len(v), "per_second": round(len(v) / seconds, 1),
                         "p50_ms": round(_p(v, 0.5), 1), "p95_ms": round(_p(v, 0.95), 1)}
                  for kind, v in sorted(merged.items())},
    }


def _print(result: dict[str, Any]) -> None:
    print(f"{result['db']}, {result['instances']} instance(s), {result['advisors']} advisors, "
          f"{result['clients']} clients ({result['seed']} in {result['seed_seconds']} s), "
          f"{result['concurrency_per_instance']} in flight per instance, "
          f"{result['cpus']} CPUs, load average {result['load_start']} -> "
          f"{result['load_end']}")
    print(f"  all        {result['updates_per_second']:>6} upd/s   p50 {result['p50_ms']:>7} ms"
          f"   p95 {result['p95_ms']:>7} ms   ({result['errors']} errors, "
          f"{result['cpu_ms_per_update']} ms of bot CPU per update"
          + (f", {result['db_cpu_ms_per_update']} ms of database server CPU"
             if result.get("db_cpu_ms_per_update") is not None else "") + ")")
    print(f"  database   {result['statements_per_update']} statements, "
          f"{result['transactions_per_update']} transactions, {result['pings_per_update']} "
          "connection pings per update (the mix's average)")
    for kind, row in result["kinds"].items():
        print(f"  {kind:<10} {row['per_second']:>6} upd/s   p50 {row['p50_ms']:>7} ms   "
              f"p95 {row['p95_ms']:>7} ms   n={row['n']}")


def _instance_counts(value: str) -> list[int]:
    counts = [int(part) for part in value.split(",") if part.strip()]
    if not counts or any(n not in (1, 2) for n in counts):
        raise argparse.ArgumentTypeError("1, 2 or 1,2")
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=300_000)
    parser.add_argument("--advisors", type=int, default=1000)
    parser.add_argument("--db", default=None, help="database URL (default: temporary SQLite)")
    parser.add_argument("--instances", type=_instance_counts, default=[1],
                        help="1, 2, or 1,2 (one then two, and how the rate scales)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured, after warm-up")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="updates in flight per instance")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'load.db'}"
        for instances in args.instances:
            result = run(url, advisors=args.advisors, clients=args.clients,
                         instances=instances, seconds=args.seconds,
                         concurrency=args.concurrency, log_dir=Path(tmp))
            _print(result)
            results.append(result)
    if len(results) == 2 and results[0]["updates_per_second"]:
        scaling = results[1]["updates_per_second"] / results[0]["updates_per_second"]
        print(f"  scaling 1 -> 2 instances: x{scaling:.2f} "
              f"({results[0]['updates_per_second']} -> {results[1]['updates_per_second']} upd/s)")
    for result in results:
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
