"""Issue 14, search round 4: the learned category model that search blends into its ranking.

It trains deterministically, is cached (memory and disk) under a hash of its data, its
probability only re-orders hits (the score the confidence rule reads is untouched), a team
script saved at run time is searchable without retraining or rebuilding, and it never
learns from a dev split.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace

import numpy as np
import pytest

import scripts_library.category_model as cm
from bot.cli import main
from scripts_library.analyze import get_analyzer
from scripts_library.loader import load_library
from scripts_library.search import Hit, ScriptIndex, Weights, decide
from tools import search_examples
from tools.search_eval import DEV, DEV_EN4, DEV_V3, DEV_V4, evaluate, load


@pytest.fixture(scope="module")
def library():
    return load_library()


@pytest.fixture(scope="module")
def index(library):
    return ScriptIndex.build(library.scripts)


def _examples(library):
    return cm.examples_from_scripts(library.scripts) + cm.load_examples()


def test_training_is_deterministic_and_cached_on_disk(library, tmp_path, monkeypatch):
    analyzer = get_analyzer()
    examples = _examples(library)
    monkeypatch.setenv("COACH_MODEL_CACHE", "off")
    first = cm._fit(analyzer, examples, 0.5, 4.0)  # noqa: SLF001
    second = cm._fit(analyzer, examples, 0.5, 4.0)  # noqa: SLF001
    assert first is not None and second is not None
    assert first.classes == second.classes and first.vocabulary == second.vocabulary
    assert np.array_equal(first.coef, second.coef)
    assert np.array_equal(first.intercept, second.intercept)

    monkeypatch.setenv("COACH_MODEL_CACHE", str(tmp_path))
    monkeypatch.setattr(cm, "_MEMORY", {})
    trained = cm.train(analyzer, examples)
    assert trained is not None and len(list(tmp_path.glob("category-model-*.npz"))) == 1

    def no_training(*_args, **_kwargs):
        raise AssertionError("trained again although a cached model exists")

    monkeypatch.setattr(cm, "_MEMORY", {})  # a new process: only the disk cache is left
    monkeypatch.setattr(cm, "_fit", no_training)
    loaded = cm.train(analyzer, examples)
    assert loaded is not None and loaded.classes == trained.classes
    toks = cm.tokens(analyzer, analyzer.clean("回家还得过我媳妇那一关"))
    a, b = trained.probabilities(toks), loaded.probabilities(toks)
    assert max(a, key=a.__getitem__) == max(b, key=b.__getitem__) == "objection.ask_family"
    assert all(abs(a[c] - b[c]) < 1e-4 for c in a)  # weights are stored as float32
    assert abs(sum(a.values()) - 1.0) < 1e-9


def test_a_changed_synonym_file_means_a_new_model(library, monkeypatch):
    analyzer = get_analyzer()
    examples = _examples(library)[:200]
    calls: list[int] = []
    real_fit = cm._fit  # noqa: SLF001

    def counting(*args, **kwargs):
        calls.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setenv("COACH_MODEL_CACHE", "off")
    monkeypatch.setattr(cm, "_MEMORY", {})
    monkeypatch.setattr(cm, "_fit", counting)
    cm.train(analyzer, examples)
    cm.train(analyzer, examples)
    assert len(calls) == 1  # the same data: trained once
    monkeypatch.setattr(analyzer, "fingerprint", analyzer.fingerprint + "x")
    cm.train(analyzer, examples)
    assert len(calls) == 2


class _Sure:
    """A stand-in model that is certain of one category."""

    def __init__(self, category: str) -> None:
        self.category = category

    def probabilities(self, _toks):
        return {self.category: 1.0}


def test_the_model_reorders_hits_but_not_their_scores(index):
    query = "手续费太贵了"
    plain = index.copy()
    plain.model = None
    before = plain.search(query)
    assert before.hits[0].script.category == "objection.fee_too_high"
    nudged = index.copy()
    nudged.model = _Sure("objection.return_too_low")  # type: ignore[assignment]
    after = nudged.search(query)
    top = after.hits[0]
    # the model's category goes first when it has a candidate ...
    assert top.script.category == "objection.return_too_low"
    # ... but its score is still the matching score, so the confidence rule is not fooled
    same = {h.script.id: h.score for h in before.hits}
    assert top.score < before.hits[0].score
    assert all(same.get(h.script.id, h.score) == h.score for h in after.hits)
    assert not after.confident
    off = ScriptIndex.build(load_library().scripts, weights=Weights(model_rank=0.0))
    assert off.model is None


def test_a_team_script_is_found_without_retraining_or_rebuilding(index, library, monkeypatch):
    twin = index.copy()

    def boom(*_args, **_kwargs):
        raise AssertionError("full build or training called")

    monkeypatch.setattr(ScriptIndex, "_compile", boom)
    monkeypatch.setattr(ScriptIndex, "build", boom)
    monkeypatch.setattr(cm, "_fit", boom)
    monkeypatch.setattr(cm, "train", boom)
    base = library.by_category("objection.other_bank_better")[0]
    team = base.model_copy(update={"id": "team8.coop", "team_id": 8, "title": "信用社高息对比",
                                   "triggers": ["农村信用社三年定期给到三厘五"]})
    twin.add(team)
    assert twin.model is index.model
    result = twin.search("信用社三年定期三厘五", team_id=8)
    assert result.hits[0].script.id == "team8.coop"
    assert all(h.script.id != "team8.coop" for h in twin.search("信用社三年定期三厘五").hits)


def test_cli_single_and_batch_still_carry_confident(capsys, monkeypatch):
    assert main(["scripts", "search", "回去得过我媳妇那一关", "--json"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert isinstance(single["confident"], bool)
    assert single["results"][0]["category"] == "objection.ask_family"
    monkeypatch.setattr("sys.stdin", io.StringIO("let me sleep on it\n今天天气真好\n"))
    assert main(["scripts", "search", "-", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [type(line["confident"]) for line in lines] == [bool, bool]
    assert lines[1]["confident"] is False
    assert lines[0]["results"][0]["category"] == "objection.think_it_over"


def test_examples_come_from_tuning_only_and_are_up_to_date():
    assert search_examples.main(["--check"]) == 0
    trained = {e.text for e in cm.load_examples()}
    assert len(trained) >= 900
    for files in (DEV, DEV_V3, DEV_EN4, DEV_V4):
        queries, offtopic = load(files)
        assert not trained & ({q["q"] for q in queries} | {o["q"] for o in offtopic})


def test_script_texts_are_capped_per_category(library):
    many = [s.model_copy(update={"id": f"copy{i}.{s.id}"}) for i in range(40)
            for s in library.by_category("objection.no_time")]
    texts = cm.examples_from_scripts(many, per_category=50)
    assert len(texts) == 50
    team = [replace(e) for e in cm.examples_from_scripts(
        [library.by_category("objection.no_time")[0].model_copy(update={"team_id": 2})])]
    assert team == []  # a team's wording never trains the shared model


def test_dev_v4_floor(index):
    """A regression floor a little under the dev v4 figures measured after round 4 (README);
    dev lines only ever measure, they never train or choose."""
    queries, offtopic = load(DEV_V4)
    figures = evaluate(index, queries, offtopic)
    assert figures["top1"] >= 0.86 and figures["top3"] >= 0.92, figures
    assert figures["confident_wrong_rate"] <= 0.03, figures
    assert figures["offtopic_confident_rate"] <= 0.10, figures


def test_an_off_topic_reading_withholds_confidence(index, library):
    script = library.by_category("objection.fee_too_high")[0]
    other = library.by_category("objection.return_too_low")[0]
    hits = [Hit(script, 0.9), Hit(other, 0.3)]
    backed = {"objection.fee_too_high"}
    assert decide(hits, backed, None, readings={cm.OFFTOPIC: 0.2,
                                                "objection.fee_too_high": 0.7}) == (True, "ok")
    assert decide(hits, backed, None, readings={cm.OFFTOPIC: 0.6,
                                                "objection.fee_too_high": 0.3}) == (
        False, "not_objection")
    # a strong reading of the category itself wins over a weaker off-topic one
    assert decide(hits, backed, None, readings={cm.OFFTOPIC: 0.35,
                                                "objection.fee_too_high": 0.5}) == (True, "ok")
    assert decide(hits, backed, None, Weights(model_offtopic=0.0),
                  readings={cm.OFFTOPIC: 0.9}) == (True, "ok")
    assert index.model is not None and cm.OFFTOPIC in index.model.classes


def test_customer_lines_weigh_more_than_script_texts(library, monkeypatch):
    seen: list[cm.Example] = []

    def capture(_analyzer, examples, **_kwargs):
        seen.extend(examples)

    monkeypatch.setattr("scripts_library.search.train", capture)
    ScriptIndex.build(library.scripts, weights=Weights(model_line_weight=3.0))
    texts = cm.examples_from_scripts(library.scripts)
    assert seen[: len(texts)] == texts and {e.weight for e in texts} == {1.0}
    lines = seen[len(texts):]
    assert len(lines) == len(cm.load_examples()) and {e.weight for e in lines} == {3.0}
    assert any(e.category == cm.OFFTOPIC for e in lines)


def test_the_disk_cache_keeps_only_the_newest_models(tmp_path, monkeypatch):
    """Each content change trains a new model file; older ones beyond DISK_KEEP are removed."""
    import os

    for n in range(6):
        old = tmp_path / f"category-model-old{n}.npz"
        old.write_bytes(b"x")
        os.utime(old, (1_000 + n, 1_000 + n))
    other = tmp_path / "notes.txt"  # not ours: never touched
    other.write_text("keep")
    model = cm.CategoryModel(("a", "b"), {"c:x": 0}, np.ones(1), np.ones((1, 2)),
                             np.zeros(2), 4.0)
    new = tmp_path / "category-model-new.npz"
    cm._save(model, new)  # noqa: SLF001
    left = sorted(p.name for p in tmp_path.glob("category-model-*.npz"))
    assert left == ["category-model-new.npz", "category-model-old3.npz",
                    "category-model-old4.npz", "category-model-old5.npz"]
    assert other.read_text() == "keep"
    assert cm._load(new) is not None  # noqa: SLF001
