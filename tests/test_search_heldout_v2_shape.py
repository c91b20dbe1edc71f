"""The v2 held-out search sets parse as tools.search_eval reads them and keep their shape.

Shape only (counts, categories, tags, service intents): no search is run here, and no
line is printed, so the suite never turns the held-out set into a tuning signal.
"""

from __future__ import annotations

from collections import Counter

import yaml

from scripts_library.intents import SERVICES_FILE
from scripts_library.schema import OBJECTION_CATEGORIES
from tools import search_eval

KINDS = {"smalltalk", "knowledge", "market", "errand", "service"}


def test_v2_files_load_with_the_eval_loader():
    queries, offtopic = search_eval.load(search_eval.HELDOUT_V2)
    assert len(queries) >= 220
    assert len(offtopic) >= 110
    per_category = Counter(q["expect"] for q in queries)
    assert set(per_category) == set(OBJECTION_CATEGORIES)
    assert min(per_category.values()) >= 12
    tags = Counter(t for q in queries for t in q["tags"])
    assert tags["indirect"] >= 25
    assert tags["yue"] + tags["hk"] >= 20
    for kind in ("plain", "tw", "north", "sichuan", "pinyin", "typo", "en", "mixed"):
        assert tags[kind] >= 10, kind
    kinds = Counter(o["kind"] for o in offtopic)
    assert set(kinds) == KINDS
    intents = set(yaml.safe_load(SERVICES_FILE.read_text(encoding="utf-8"))["intents"])
    service_intents = {o.get("intent") for o in offtopic if o["kind"] == "service"}
    assert service_intents == intents  # every service intent, and only known ones


def test_v2_lines_are_unique_and_apart_from_v1():
    queries, offtopic = search_eval.load(search_eval.HELDOUT_V2)
    lines = [q["q"] for q in queries] + [o["q"] for o in offtopic]
    assert len(lines) == len(set(lines))
    v1_queries, v1_offtopic = search_eval.load(search_eval.HELDOUT)
    v1 = {q["q"] for q in v1_queries} | {o["q"] for o in v1_offtopic}
    assert not v1 & set(lines)


def test_held_out_misses_are_never_listed(capsys):
    assert search_eval.main(["--heldout-v2", "--misses"]) == 2
    assert "must not steer tuning" in capsys.readouterr().err
