"""Latency of a one-line /log: parse the line and find the client among 300 of one advisor.

Per line: :func:`coach.logline.parse_log_line`, then :func:`coach.names.match_names`
of the typed client against the advisor's 300 clients (what ``/log LINE`` does before
the confirmation; the names are indexed once, as when a client list loads). Lines are
the tuning table's (tests/data/logline_tuning.yaml). Prints p50/p95/p99 per line in
milliseconds, parse alone and parse + match, as wall time and as this thread's CPU
time (on a shared, loaded machine the wall figures include time the process was not
running; the CPU figures are the parser's own cost). The last line is JSON.
Goal: p95 < 2 ms.

    .venv/bin/python bench/parse_log.py [--clients 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from coach.logline import parse_log_line  # noqa: E402
from coach.names import match_names, prepare_names  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程"
GIVEN = "建国秀英伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬燕"
LATIN = ["Chan", "Wong", "Lee", "Ho", "Lam", "Cheung", "Ng", "Leung", "Yip", "Tsang"]


def clients(n: int, rng: random.Random) -> list[tuple[int, str]]:
    names = []
    for i in range(n):
        if i % 10 == 0:
            names.append((i, f"{rng.choice(['Mary', 'Peter', 'Grace', 'Tony'])} "
                             f"{rng.choice(LATIN)}"))
        else:
            names.append((i, rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))))
    return names


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 3), "p95_ms": round(cuts[94], 3),
            "p99_ms": round(cuts[98], 3), "max_ms": round(max(samples_ms), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = yaml.safe_load((ROOT / "tests" / "data" / "logline_tuning.yaml").read_text("utf-8"))
    now, tz = datetime.fromisoformat(data["now"]), data["tz"]
    lines = [case["line"] for case in data["lines"]]
    book = clients(args.clients, random.Random(12))
    prepare_names(name for _, name in book)
    parse_log_line(lines[0], now=now, tz=tz)  # load data files and OpenCC once
    samples: dict[str, list[float]] = {k: [] for k in (
        "parse", "parse_and_match", "parse_cpu", "parse_and_match_cpu")}
    for _ in range(args.rounds):
        for line in lines:
            start, start_cpu = time.perf_counter(), time.thread_time()
            parsed = parse_log_line(line, now=now, tz=tz)
            middle, middle_cpu = time.perf_counter(), time.thread_time()
            if parsed.client:
                match_names(parsed.client, book, limit=6)
            end, end_cpu = time.perf_counter(), time.thread_time()
            samples["parse"].append((middle - start) * 1000)
            samples["parse_and_match"].append((end - start) * 1000)
            samples["parse_cpu"].append((middle_cpu - start_cpu) * 1000)
            samples["parse_and_match_cpu"].append((end_cpu - start_cpu) * 1000)
    result: dict[str, object] = {"lines": len(lines), "rounds": args.rounds,
                                 "clients": args.clients}
    result |= {key: percentiles(values) for key, values in samples.items()}
    print(f"{len(lines)} lines x {args.rounds} rounds, {args.clients} clients per advisor")
    for key in samples:
        p = percentiles(samples[key])
        print(f"{key:20s} p50 {p['p50_ms']:.3f} ms  p95 {p['p95_ms']:.3f} ms  "
              f"p99 {p['p99_ms']:.3f} ms  max {p['max_ms']:.3f} ms")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
