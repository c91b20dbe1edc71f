"""Search quality on the real library: tests/data/search_eval.yaml must stay above the bar.

The eval phrasings are written independently of the script triggers (checked
below), cover every objection category, Traditional Chinese (HK/TW), typos,
English, "客户说…" framing and long rambles, plus nonsense that must not be
confident. Categories with no content yet are skipped, so the test works while
the library is being written.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from scripts_library.loader import load_library
from scripts_library.normalize import normalize
from scripts_library.schema import OBJECTION_CATEGORIES
from scripts_library.search import ScriptIndex

EVAL_FILE = Path(__file__).parent / "data" / "search_eval.yaml"
TOP1_MIN = 0.97  # reached: 0.984 on 188 queries (229 scripts); 1.000 on the first 132,
#                  0.946 on the 56 held-out phrasings added later (EN/HK/TW/typos)
TOP3_MIN = 0.99  # reached: 1.000


@pytest.fixture(scope="module")
def library():
    return load_library()


@pytest.fixture(scope="module")
def index(library):
    return ScriptIndex.build(library.scripts)


@pytest.fixture(scope="module")
def queries():
    return yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))["queries"]


def test_eval_set_shape(queries):
    assert len(queries) >= 120
    per_category = Counter(q["expect"] for q in queries)
    for category in OBJECTION_CATEGORIES:
        assert per_category[category] >= 6, category
    assert per_category[None] >= 5
    tags = Counter(t for q in queries for t in q.get("tags", []))
    assert tags["hk"] + tags["tw"] >= 0.12 * len(queries)
    assert tags["en"] >= 0.12 * len(queries)
    assert tags["typo"] >= 0.08 * len(queries)


def test_eval_queries_are_not_triggers(library, queries):
    triggers = {normalize(t) for s in library.scripts for t in s.triggers}
    copied = [q["q"] for q in queries if normalize(q["q"]) in triggers]
    assert copied == []


def test_accuracy(library, index, queries):
    present = {s.category for s in library.scripts}
    graded = [q for q in queries if q["expect"] in present]
    if len(graded) < 50:
        pytest.skip("library content not written yet")
    top1 = top3 = 0
    misses = []
    for q in graded:
        cats = [h.script.category for h in index.search(q["q"], limit=3).hits]
        top1 += cats[:1] == [q["expect"]]
        top3 += q["expect"] in cats
        if cats[:1] != [q["expect"]]:
            misses.append((q["q"], q["expect"], cats))
    n = len(graded)
    assert top1 / n >= TOP1_MIN, misses
    assert top3 / n >= TOP3_MIN, misses


def test_nonsense_is_not_confident(index, queries):
    confident = [q["q"] for q in queries if q["expect"] is None and index.search(q["q"]).confident]
    assert confident == []
