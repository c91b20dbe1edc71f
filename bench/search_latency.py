"""Latency of script search: build time, memory, per-query p50/p95/p99, incremental add.

Build times include training the category model (``scripts_library.category_model``) from
scratch: the model cache points at a fresh temporary folder. ``build_warm_ms`` is a second
build of the same library in the same process with the in-memory cache emptied, so the model
comes from the disk cache, as after a restart.

``cold_ready_ms`` and ``cold_model_ms`` are a first start after a content change as the bot
makes it (``ScriptIndex.build(..., background=True)``), in a fresh process with an empty model
cache (so scikit-learn is imported, as it is then): when the index can serve, and when the
model, trained in its background thread, is in place. ``*_cpu_ms`` figures are the process's
CPU time (every thread) up to the same moments.

Two libraries: the real one (queried with the tuning and held-out query files) and
synthetic ones (default 5,000 scripts; ``--synthetic 5000,20000``) made by recombining
real triggers, and answer texts from several real scripts with a unique suffix, so
that no text repeats and no cache can flatter the build time. Memory is the growth of
the process's resident set while building. The last line is JSON.
``--compare-bm25s`` also times the bm25s package's ``get_scores`` on the same
features, for the record (the hand-written index is what ships).

    .venv/bin/python bench/search_latency.py [--synthetic 5000,20000] [--rounds 5]
                                             [--compare-bm25s] [--no-model] [--no-cold]

``--no-model`` builds without the category model (``Weights(model_rank=0)``), to see its cost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from scripts_library import category_model  # noqa: E402
from scripts_library.analyze import get_analyzer, jieba_startup_seconds  # noqa: E402
from scripts_library.loader import load_library  # noqa: E402
from scripts_library.schema import Script  # noqa: E402
from scripts_library.search import ScriptIndex, Weights  # noqa: E402

DATA = ROOT / "tests" / "data"
QUERY_FILES = ("search_eval.yaml", "search_tuning.yaml", "search_heldout.yaml")


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def load_queries() -> list[str]:
    out: list[str] = []
    for name in QUERY_FILES:
        data = yaml.safe_load((DATA / name).read_text(encoding="utf-8")) or {}
        out += [q["q"] for q in data.get("queries") or []]
        out += [q["q"] for q in data.get("offtopic") or []]
    return out


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 3), "p95_ms": round(cuts[94], 3),
            "p99_ms": round(cuts[98], 3), "max_ms": round(max(samples_ms), 3)}


def time_queries(index: ScriptIndex, queries: list[str], rounds: int,
                 clock: Any = time.perf_counter) -> list[float]:
    samples: list[float] = []
    for _ in range(rounds):
        for q in queries:
            start = clock()
            index.search(q)
            samples.append((clock() - start) * 1000.0)
    return samples


def _join(words: list[str]) -> str:
    """Words back into a line: Chinese ones run together, English ones keep their spaces
    (joined bare, "fees"+"too"+"high" made words no dictionary knows, and every such word
    went through typo correction: unlike a real library)."""
    out = ""
    for word in words:
        if out and out[-1].isascii() and out[-1].isalnum() and word[:1].isascii() \
                and word[:1].isalnum():
            out += " "
        out += word
    return out


def synthetic_library(real: list[Script], size: int, seed: int = 7) -> list[Script]:
    """``size`` scripts whose triggers are new mixes of real trigger fragments."""
    rng = random.Random(seed)
    analyzer = get_analyzer()
    fragments = [analyzer.words(analyzer.clean(t)) for s in real for t in s.triggers]
    fragments = [f for f in fragments if f]
    out: list[Script] = []
    by_kind = {True: [s for s in real if s.steps], False: [s for s in real if s.say]}
    for i in range(size):
        base = rng.choice(real)
        triggers = []
        for _ in range(rng.randint(3, 6)):
            a, b = rng.choice(fragments), rng.choice(fragments)
            triggers.append(_join(a[: rng.randint(1, len(a))] + b[rng.randint(0, len(b) - 1):]))
        update: dict[str, Any] = {
            "id": f"synthetic.{i}", "title": f"{base.title}（{i}）", "triggers": triggers,
            "team_id": None if i % 10 else (i % 7), "en": None}
        donors = [rng.choice(by_kind[base.steps is not None]) for _ in range(3)]
        if base.steps is not None:
            fields = {k: f"{getattr(rng.choice(donors).steps, k)}（第{i}版）"
                      for k in ("restate", "acknowledge", "compliment", "answer", "advance")}
            update["steps"] = base.steps.model_copy(update=fields)
        else:
            update["say"] = f"{rng.choice(donors).say}（第{i}版）"
        out.append(base.model_copy(update=update))
    return out


WEIGHTS = Weights()


def bench(name: str, scripts: list[Script], queries: list[str], rounds: int) -> dict[str, Any]:
    before = rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    index = ScriptIndex.build(scripts, weights=WEIGHTS)
    build_s = time.perf_counter() - start
    build_cpu = time.process_time() - cpu  # the machine is shared: CPU time is steadier
    grown = rss_mb() - before
    category_model._MEMORY.clear()  # noqa: SLF001 - as a restart: only the disk cache is left
    start, cpu = time.perf_counter(), time.process_time()
    ScriptIndex.build(scripts, weights=WEIGHTS)
    warm_s, warm_cpu = time.perf_counter() - start, time.process_time() - cpu
    time_queries(index, queries, 1)  # warm caches (pinyin, numpy)
    stats = percentiles(time_queries(index, queries, rounds))
    cpu_stats = percentiles(time_queries(index, queries, rounds, time.thread_time))
    team = index.copy()
    adds: list[float] = []
    for i, script in enumerate(scripts[:50]):
        extra = script.model_copy(update={"id": f"added.{i}", "team_id": 1})
        start = time.perf_counter()
        team.add(extra)
        adds.append((time.perf_counter() - start) * 1000.0)
    add_ms = round(statistics.median(adds), 2)
    print(f"{name:>9}: {len(scripts):5d} scripts, build {build_s * 1000:7.1f} ms "
          f"(CPU {build_cpu * 1000:.0f} ms; model cached: {warm_s * 1000:.0f} ms, CPU "
          f"{warm_cpu * 1000:.0f} ms), "
          f"memory +{grown:.0f} MB, p50 {stats['p50_ms']:.2f} ms, p95 {stats['p95_ms']:.2f} ms, "
          f"p99 {stats['p99_ms']:.2f} ms ({len(queries) * rounds} queries; CPU p50 "
          f"{cpu_stats['p50_ms']:.2f} p95 {cpu_stats['p95_ms']:.2f} "
          f"p99 {cpu_stats['p99_ms']:.2f}), "
          f"add one script {add_ms} ms")
    return {"scripts": len(scripts), "build_ms": round(build_s * 1000, 1),
            "build_cpu_ms": round(build_cpu * 1000, 1),
            "build_warm_ms": round(warm_s * 1000, 1),
            "build_warm_cpu_ms": round(warm_cpu * 1000, 1),
            "memory_mb": round(grown, 1), **stats, "queries": len(queries) * rounds,
            "cpu": cpu_stats,
            "add_ms_p50": add_ms}


def cold_background(spec: str) -> dict[str, Any]:
    """In this (fresh) process: a background build with nothing cached; times in ms."""
    os.environ["COACH_MODEL_CACHE"] = tempfile.mkdtemp(prefix="coach-bench-cold-")
    get_analyzer()
    real = load_library().scripts
    scripts = real if spec == "real" else synthetic_library(real, int(spec))
    preloaded = "sklearn" in sys.modules
    start, cpu = time.perf_counter(), time.process_time()
    index = ScriptIndex.build(scripts, weights=WEIGHTS, background=True)
    ready_s, ready_cpu = time.perf_counter() - start, time.process_time() - cpu
    serving = index.model is None  # False: a model was cached after all (should not be)
    index.wait_for_model()
    model_s, model_cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"cold_ready_ms": round(ready_s * 1000, 1),
            "cold_ready_cpu_ms": round(ready_cpu * 1000, 1),
            "cold_model_ms": round(model_s * 1000, 1),
            "cold_model_cpu_ms": round(model_cpu * 1000, 1),
            "cold_served_before_model": serving, "sklearn_preloaded": preloaded}


def cold_in_child(spec: str) -> dict[str, Any]:
    """:func:`cold_background` in a new Python process (nothing imported or cached yet)."""
    args = [sys.executable, str(Path(__file__).resolve()), "--cold-child", spec]
    if WEIGHTS.model_rank <= 0:
        args.append("--no-model")
    out = subprocess.run(args, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    print(f"{'':>9}  first start, background: serving after {figures['cold_ready_ms']:.0f} ms "
          f"(CPU {figures['cold_ready_cpu_ms']:.0f} ms), model ready after "
          f"{figures['cold_model_ms']:.0f} ms (CPU {figures['cold_model_cpu_ms']:.0f} ms)")
    return figures


def compare_bm25s(scripts: list[Script], queries: list[str], rounds: int) -> dict[str, Any]:
    """Time bm25s ``get_scores`` against our sparse BM25 on identical feature tokens."""
    import bm25s

    index = ScriptIndex.build(scripts)
    snap = index._snap  # noqa: SLF001 - bench peeks inside on purpose
    feats = [index._analyze(s)[1] for s in scripts]  # noqa: SLF001
    corpus = [[t for t, c in f.items() for _ in range(max(1, round(c)))] for f in feats]
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
    parser.add_argument("--synthetic", default="5000",
                        help="synthetic library sizes, comma-separated (0 = none)")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the eval queries")
    parser.add_argument("--compare-bm25s", action="store_true")
    parser.add_argument("--no-model", action="store_true", help="build without the model")
    parser.add_argument("--no-cold", action="store_true",
                        help="skip the first-start background builds (one process each)")
    parser.add_argument("--cold-child", metavar="LIBRARY", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global WEIGHTS
    if args.no_model:
        WEIGHTS = Weights(model_rank=0.0)
    if args.cold_child:
        print(json.dumps(cold_background(args.cold_child)))
        return 0
    # every run trains the category model from scratch: no model cached by an earlier run
    os.environ["COACH_MODEL_CACHE"] = tempfile.mkdtemp(prefix="coach-bench-model-")

    start = time.perf_counter()
    get_analyzer()
    startup_s = time.perf_counter() - start
    print(f"analyzer start-up {startup_s * 1000:.0f} ms "
          f"(jieba {1000 * (jieba_startup_seconds() or 0):.0f} ms)")
    real = load_library().scripts
    queries = load_queries()
    result: dict[str, Any] = {"startup_ms": round(startup_s * 1000, 1),
                              "jieba_ms": round(1000 * (jieba_startup_seconds() or 0), 1)}
    result["real"] = bench("real", real, queries, args.rounds)
    if not args.no_cold:
        result["real"].update(cold_in_child("real"))
    sizes = [int(n) for n in str(args.synthetic).split(",") if n.strip() and int(n) > 0]
    synthetic: list[Script] = []
    for size in sizes:
        synthetic = synthetic_library(real, size)
        key = "synthetic" if size == 5000 else f"synthetic_{size}"
        result[key] = bench("synthetic", synthetic, queries, args.rounds)
        if not args.no_cold:
            result[key].update(cold_in_child(str(size)))
    if synthetic and args.compare_bm25s:
        for label, scripts in (("real", real), ("synthetic", synthetic)):
            cmp = compare_bm25s(scripts, queries, args.rounds)
            print(f"bm25 only, {label}: ours p50 {cmp['ours_p50_ms']} ms, "
                  f"bm25s p50 {cmp['bm25s_p50_ms']} ms")
            result[f"bm25_compare_{label}"] = cmp
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
