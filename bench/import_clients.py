"""Time and peak memory of ``coach clients import`` on a synthetic CSV (SQLite by default).

    python bench/import_clients.py [ROWS]        # default 100,000 rows

The import runs as its own process; its peak resident memory is read with
``resource.getrusage(RUSAGE_CHILDREN)`` (the target is under 300 MB for 100,000
rows). A second run of the same file checks that re-importing adds nothing.
Prints a summary and, last, a JSON line:
{"rows": N, "clients": C, "seconds": S, "peak_rss_mb": M, "reimport_seconds": R,
"peak_rss_both_mb": M2}.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
PRODUCTS = [("稳健增利90天", "R2"), ("大额存单3年", "R1"), ("纯债增强基金", "R3"),
            ("沪深300指数基金", "R4"), ("货币基金", "R1")]


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "phone", "tier", "aum", "risk_tolerance", "risk_assessed_on",
                         "birthday", "product", "risk_rating", "amount", "maturity_date"])
        for i in range(rows):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            product, rating = rng.choice(PRODUCTS)
            writer.writerow([name, f"139{i:08d}", "", rng.randint(5_000, 3_000_000),
                             f"C{rng.randint(1, 5)}", "2026-06-15", "1975-05-20", product, rating,
                             rng.randint(1, 50) * 10_000, "2027-03-31"])


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "clients.csv"
        write_csv(csv_path, rows)
        env = {**os.environ, "DATABASE_URL": os.environ.get(
            "DATABASE_URL", f"sqlite:///{Path(tmp) / 'bench.db'}")}
        coach = [sys.executable, "-m", "bot.cli"]
        subprocess.run([*coach, "teams", "add", "Bench"], env=env, check=True,
                       capture_output=True)
        subprocess.run([*coach, "users", "add", "424242", "--role", "advisor", "--team", "Bench"],
                       env=env, check=True, capture_output=True)
        before_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        result = subprocess.run([*coach, "clients", "import", str(csv_path), "--advisor",
                                 "424242"], env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        # ru_maxrss of children is the largest child so far (KiB on Linux); the set-up
        # commands above are far smaller than the import
        peak_mb = max(before_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        started = time.perf_counter()
        again = subprocess.run([*coach, "clients", "import", str(csv_path), "--advisor",
                                "424242"], env=env, capture_output=True, text=True)
        reimport = time.perf_counter() - started
        peak_all_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if result.returncode != 0:
        sys.exit(f"import failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    print(result.stdout.strip().splitlines()[-1])
    print(again.stdout.strip().splitlines()[-1])
    print(f"{rows} rows imported in {seconds:.2f} s (whole command, including start-up), "
          f"peak RSS {peak_mb:.0f} MB; re-import of the same file {reimport:.2f} s "
          f"(peak RSS over both runs {peak_all_mb:.0f} MB)")
    clients = int(result.stdout.split("imported ")[1].split()[0])
    print(json.dumps({"rows": rows, "clients": clients, "seconds": round(seconds, 2),
                      "peak_rss_mb": round(peak_mb), "reimport_seconds": round(reimport, 2),
                      "peak_rss_both_mb": round(peak_all_mb)}))


if __name__ == "__main__":
    main()
