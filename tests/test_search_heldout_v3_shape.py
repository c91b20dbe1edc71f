"""The v3 held-out search sets parse as tools.search_eval reads them and keep their shape.

Shape only (counts, categories, tags, service intents): no search is run here, and no
line is printed (overlaps are asserted as counts), so the suite never turns the held-out
set into a tuning signal.
"""

from __future__ import annotations

from collections import Counter

import yaml

from scripts_library.intents import SERVICES_FILE
from scripts_library.schema import OBJECTION_CATEGORIES
from tools import search_eval

KINDS = {"smalltalk", "knowledge", "market", "errand", "service"}


def _lines(files: tuple) -> set[str]:
    queries, offtopic = search_eval.load(files)
    return {q["q"] for q in queries} | {o["q"] for o in offtopic}


def test_v3_files_load_with_the_eval_loader():
    queries, offtopic = search_eval.load(search_eval.HELDOUT_V3)
    assert len(queries) >= 250
    assert len(offtopic) >= 120
    per_category = Counter(q["expect"] for q in queries)
    assert set(per_category) == set(OBJECTION_CATEGORIES)
    assert min(per_category.values()) >= 12
    tags = Counter(t for q in queries for t in q["tags"])
    assert tags["indirect"] >= 40
    assert tags["en"] >= 35
    assert tags["yue"] + tags["hk"] >= 20
    for kind in ("plain", "tw", "north", "sichuan", "pinyin", "typo", "mixed"):
        assert tags[kind] >= 10, kind
    kinds = Counter(o["kind"] for o in offtopic)
    assert set(kinds) == KINDS
    intents = set(yaml.safe_load(SERVICES_FILE.read_text(encoding="utf-8"))["intents"])
    service_intents = {o.get("intent") for o in offtopic if o["kind"] == "service"}
    assert service_intents == intents  # every service intent, and only known ones


def test_v3_lines_are_unique_and_apart_from_earlier_sets():
    queries, offtopic = search_eval.load(search_eval.HELDOUT_V3)
    lines = [q["q"] for q in queries] + [o["q"] for o in offtopic]
    duplicates = len(lines) - len(set(lines))
    assert duplicates == 0
    for files in (search_eval.HELDOUT, search_eval.HELDOUT_V2, search_eval.TUNING,
                  search_eval.DEV):
        shared = len(_lines(files) & set(lines))
        assert shared == 0, files[0].name


def test_held_out_v3_misses_are_never_listed(capsys):
    assert search_eval.main(["--heldout-v3", "--misses"]) == 2
    assert "must not steer tuning" in capsys.readouterr().err
