"""Latency of script search: per-query p50/p95/p99 and build time; last line is JSON.

Two libraries: the real one (queried with tests/data/search_eval.yaml) and a
synthetic one of 5,000 scripts made by recombining real triggers and titles.
``--compare-bm25s`` also times the bm25s package's ``get_scores`` on the same
features, for the record (the hand-written index is what ships).

    .venv/bin/python bench/search_latency.py [--synthetic 5000] [--rounds 5] [--compare-bm25s]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from scripts_library.analyze import get_analyzer, jieba_startup_seconds  # noqa: E402
from scripts_library.loader import load_library  # noqa: E402
from scripts_library.schema import Script  # noqa: E402
from scripts_library.search import ScriptIndex  # noqa: E402

EVAL_FILE = ROOT / "tests" / "data" / "search_eval.yaml"


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 3), "p95_ms": round(cuts[94], 3),
            "p99_ms": round(cuts[98], 3), "max_ms": round(max(samples_ms), 3)}


def time_queries(index: ScriptIndex, queries: list[str], rounds: int) -> list[float]:
    samples: list[float] = []
    for _ in range(rounds):
        for q in queries:
            start = time.perf_counter()
            index.search(q)
            samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def synthetic_library(real: list[Script], size: int, seed: int = 7) -> list[Script]:
    """``size`` scripts whose triggers are new mixes of real trigger fragments."""
    rng = random.Random(seed)
    analyzer = get_analyzer()
    fragments = [analyzer.words(analyzer.clean(t)) for s in real for t in s.triggers]
    fragments = [f for f in fragments if f]
    out: list[Script] = []
    for i in range(size):
        base = rng.choice(real)
        triggers = []
        for _ in range(rng.randint(3, 6)):
            a, b = rng.choice(fragments), rng.choice(fragments)
            triggers.append("".join(a[: rng.randint(1, len(a))] + b[rng.randint(0, len(b) - 1):]))
        out.append(base.model_copy(update={
            "id": f"synthetic.{i}", "title": f"{base.title}（{i}）", "triggers": triggers,
            "team_id": None if i % 10 else (i % 7),
        }))
    return out


def bench(name: str, scripts: list[Script], queries: list[str], rounds: int) -> dict[str, Any]:
    start = time.perf_counter()
    index = ScriptIndex.build(scripts)
    build_s = time.perf_counter() - start
    time_queries(index, queries, 1)  # warm caches (pinyin, numpy)
    stats = percentiles(time_queries(index, queries, rounds))
    print(f"{name:>9}: {len(scripts):5d} scripts, build {build_s * 1000:7.1f} ms, "
          f"p50 {stats['p50_ms']:.2f} ms, p95 {stats['p95_ms']:.2f} ms, "
          f"p99 {stats['p99_ms']:.2f} ms ({len(queries) * rounds} queries)")
    return {"scripts": len(scripts), "build_ms": round(build_s * 1000, 1), **stats,
            "queries": len(queries) * rounds}


def compare_bm25s(scripts: list[Script], queries: list[str], rounds: int) -> dict[str, Any]:
    """Time bm25s ``get_scores`` against our sparse BM25 on identical feature tokens."""
    import bm25s

    index = ScriptIndex.build(scripts)
    snap = index._snap  # noqa: SLF001 - bench peeks inside on purpose
    corpus = [[t for t, c in d.features.items() for _ in range(max(1, round(c)))]
              for d in snap.docs]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    feats = [list(index._query_features(index.analyzer.clean(q), snap)) for q in queries]
    feats = [f for f in feats if f]
    ours, theirs = [], []
    for _ in range(rounds):
        for q in feats:
            qf = dict.fromkeys(q, 1.0)
            start = time.perf_counter()
            index._bm25(qf, snap)
            ours.append((time.perf_counter() - start) * 1000.0)
            start = time.perf_counter()
            retriever.get_scores(q)
            theirs.append((time.perf_counter() - start) * 1000.0)
    return {"ours_p50_ms": round(statistics.median(ours), 3),
            "bm25s_p50_ms": round(statistics.median(theirs), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=5000, help="synthetic library size")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the eval queries")
    parser.add_argument("--compare-bm25s", action="store_true")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    get_analyzer()
    startup_s = time.perf_counter() - start
    print(f"analyzer start-up {startup_s * 1000:.0f} ms "
          f"(jieba {1000 * (jieba_startup_seconds() or 0):.0f} ms)")
    real = load_library().scripts
    queries = [q["q"] for q in yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))["queries"]]
    result: dict[str, Any] = {"startup_ms": round(startup_s * 1000, 1),
                              "jieba_ms": round(1000 * (jieba_startup_seconds() or 0), 1)}
    result["real"] = bench("real", real, queries, args.rounds)
    if args.synthetic:
        synthetic = synthetic_library(real, args.synthetic)
        result["synthetic"] = bench("synthetic", synthetic, queries, args.rounds)
        if args.compare_bm25s:
            for label, scripts in (("real", real), ("synthetic", synthetic)):
                cmp = compare_bm25s(scripts, queries, args.rounds)
                print(f"bm25 only, {label}: ours p50 {cmp['ours_p50_ms']} ms, "
                      f"bm25s p50 {cmp['bm25s_p50_ms']} ms")
                result[f"bm25_compare_{label}"] = cmp
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
