"""Script library engine: normalisation, rendering, loader/validator, search, CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli import main
from scripts_library.convert import convert_rendered, to_traditional
from scripts_library.loader import Problem, load_library, validate_library
from scripts_library.normalize import normalize
from scripts_library.schema import CATEGORIES, OBJECTION_CATEGORIES, Script
from scripts_library.search import ScriptIndex

FIXTURE = Path(__file__).parent / "data" / "scripts_fixture"

STEPS = """    steps:
      restate: "您是觉得贵？"
      acknowledge: "可以理解。"
      compliment: "您很细心。"
      answer: "我们算一笔账。"
      advance: "您看放多久？"
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def objection_file(*scripts: str, category: str = "objection.fee_too_high") -> str:
    return f"category: {category}\nscripts:\n" + "".join(scripts)


def objection_script(sid: str, *, title: str = "标题", extra: str = "", steps: str = STEPS) -> str:
    return f"  - id: {sid}\n    title: {title}\n    triggers: [太贵了]\n{steps}{extra}"


@pytest.fixture(scope="module")
def library():
    return load_library(FIXTURE)


@pytest.fixture(scope="module")
def index(library):
    return ScriptIndex.build(library.scripts)


# ------------------------------------------------------------------ normalisation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("手續費太貴！！", "手续费太贵"),
        ("ＦＥＥ　太高", "fee 太高"),
        ("太贵了😡😡", "太贵了"),
        ("", ""),
        ("！？。，、", ""),
        (None, ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_caps_long_input():
    assert len(normalize("贵" * 10_000)) <= 4000


# ------------------------------------------------------------------ schema and render


def test_categories_constant():
    assert CATEGORIES[0] == "objection.fee_too_high"
    assert len(CATEGORIES) == 28 and len(OBJECTION_CATEGORIES) == 14
    assert all(c.startswith("objection.") for c in OBJECTION_CATEGORIES)


def test_render_chinese_with_and_without_variables(library):
    script = library.get("fx_fee.per_day")
    filled = script.render("zh", {"client": "王姐", "product": "稳健债基"})
    assert filled.steps[0] == ("restate", "王姐是觉得稳健债基的申购费偏高，对吗？")
    assert [k for k, _ in filled.steps] == ["restate", "acknowledge", "compliment", "answer",
                                            "advance"]
    assert filled.risk_note == "基金有风险，投资需谨慎。"
    bare = script.render("zh", {})
    assert bare.steps[0][1] == "您是觉得…的申购费偏高，对吗？"


def test_render_english_and_fallback(library):
    en = library.get("fx_fee.per_day").render("en", {"product": "the bond fund"})
    assert en.lang == "en" and en.title == "Turn the fee into a daily cost"
    assert en.steps[0][1] == "You feel the fee on the bond fund is high, right?"
    fallback = library.get("fx_fee.cheaper_share").render("en", {})
    assert fallback.lang == "zh" and fallback.title == "换一个费率更低的份额"
    say = library.get("fx_close.two_options").render("zh", {"client": "李先生"})
    assert say.steps is None and say.say.startswith("李先生，您看")


def test_traditional_conversion(library):
    rendered = library.get("fx_fee.per_day").render("zh", {"client": "陈生"})
    hk = convert_rendered(rendered, "hk")
    assert "申購費" in hk.steps[0][1]
    assert to_traditional("软件和信息", "tw") == "軟體和資訊"
    with pytest.raises(ValueError):
        to_traditional("你好", "cn")  # type: ignore[arg-type]


# ------------------------------------------------------------------ loader


def test_loader_reads_fixture_with_lines(library):
    assert len(library) == 5 and library.problems == []
    script = library.get("fx_fee.cheaper_share")
    assert script.category == "objection.fee_too_high"
    assert script.source_file == "objection/fee_too_high.yaml"
    text = (FIXTURE / "objection" / "fee_too_high.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[script.source_line - 1].strip() == "- id: fx_fee.cheaper_share"
    assert [s.id for s in library.by_category("objection.fee_too_high")] == [
        "fx_fee.per_day", "fx_fee.cheaper_share"]
    assert library.get("nope") is None
    stats = library.stats()
    assert stats["total"] == 5 and list(stats["by_category"]) == list(CATEGORIES)
    assert stats["by_category"]["closing"] == 1


def test_fixture_validates_clean():
    assert validate_library(FIXTURE) == []


def test_broken_yaml_reports_file_and_line(tmp_path, capsys):
    write(tmp_path, "objection/fee.yaml",
          "category: objection.fee_too_high\nscripts:\n  - id: a\n    title: [unclosed\n")
    problems = validate_library(tmp_path)
    assert len(problems) == 1
    assert str(problems[0]).startswith("objection/fee.yaml:")
    assert "YAML syntax error" in problems[0].message
    assert problems[0].line in (4, 5)
    assert main(["scripts", "validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"objection/fee.yaml:{problems[0].line}: YAML syntax error")


def test_duplicate_id(tmp_path):
    write(tmp_path, "a.yaml", objection_file(objection_script("dup.one")))
    write(tmp_path, "b.yaml", objection_file(objection_script("dup.one")))
    problems = validate_library(tmp_path)
    assert [str(p) for p in problems] == [
        "b.yaml:3: duplicate id 'dup.one' (first defined at a.yaml:3)"]


def test_unknown_category_and_field(tmp_path):
    write(tmp_path, "a.yaml", objection_file(objection_script("x.one"),
                                             category="objection.too_sunny"))
    write(tmp_path, "b.yaml", objection_file(objection_script("x.two", extra="    colour: red\n")))
    messages = [str(p) for p in validate_library(tmp_path)]
    assert "a.yaml:1: unknown category 'objection.too_sunny'" in messages
    assert "b.yaml:12: script 'x.two': unknown field 'colour'" in messages


def test_missing_step_and_missing_say(tmp_path):
    four = STEPS.replace('      advance: "您看放多久？"\n', "")
    write(tmp_path, "a.yaml", objection_file(objection_script("x.one", steps=four)))
    write(tmp_path, "b.yaml", "category: closing\nscripts:\n  - id: x.two\n    title: 促成\n"
                              "    triggers: [怎么促成]\n")
    messages = [str(p) for p in validate_library(tmp_path)]
    assert "a.yaml:6: script 'x.one': steps.advance: missing required field" in messages
    assert any(m.startswith("b.yaml:3: script 'x.two': closing scripts need a 'say'")
               for m in messages)


GUARANTEE = "mis-selling rule guaranteed_return (Promised principal or return (even indirectly))"


def test_forbidden_phrase_with_line(tmp_path):
    steps = STEPS.replace("我们算一笔账。", "这个产品稳赚不赔。")
    en = ('    en:\n      title: Fee\n      steps: {restate: a, acknowledge: b, compliment: c,'
          ' answer: "It is risk-free.", advance: e}\n')
    write(tmp_path, "objection/fee.yaml",
          objection_file(objection_script("x.bad", steps=steps, extra=en)))
    problems = validate_library(tmp_path)
    assert [str(p) for p in problems] == [
        f"objection/fee.yaml:10: script 'x.bad': steps.answer: {GUARANTEE}: '稳赚不赔'",
        f"objection/fee.yaml:14: script 'x.bad': en.steps.answer: {GUARANTEE}: 'risk free'",
    ]


def test_negated_phrase_and_deposit_tag_are_allowed(tmp_path):
    steps = STEPS.replace("我们算一笔账。", "任何投资都不是零风险，存款保本保息。")
    write(tmp_path, "a.yaml", objection_file(objection_script(
        "x.ok", steps=steps, extra="    tags: [deposit]\n")))
    assert validate_library(tmp_path) == []
    # said of deposits, the words are a fact even without the tag...
    write(tmp_path, "a.yaml", objection_file(objection_script("x.ok", steps=steps)))
    assert validate_library(tmp_path) == []
    # ...said of a wealth product they are a promise
    steps = STEPS.replace("我们算一笔账。", "这款理财保本保息。")
    write(tmp_path, "a.yaml", objection_file(objection_script("x.ok", steps=steps)))
    assert [p.message for p in validate_library(tmp_path)] == [
        f"script 'x.ok': steps.answer: {GUARANTEE}: '保本保息'"]


def test_pressure_and_competitor(tmp_path):
    steps = STEPS.replace("您看放多久？", "这是最后机会，招商银行都没有。")
    write(tmp_path, "a.yaml", objection_file(objection_script("x.push", steps=steps)))
    messages = [p.message for p in validate_library(tmp_path)]
    assert any("mis-selling rule pressure" in m and "最后机会" in m for m in messages)
    assert any("names a competitor bank '招商银行'" in m for m in messages)


def test_template_variables(tmp_path):
    steps = STEPS.replace("您是觉得贵？", "{{ client }}是觉得贵？")
    write(tmp_path, "a.yaml", objection_file(
        objection_script("x.undeclared", steps=steps),
        objection_script("x.unused", extra="    variables: [product]\n"),
    ))
    assert [str(p) for p in validate_library(tmp_path)] == [
        "a.yaml:7: script 'x.undeclared': steps.restate: variable 'client' is used but not "
        "listed in 'variables'",
        "a.yaml:21: script 'x.unused': variable 'product' is listed in 'variables' but never "
        "used",
    ]


def test_problem_str():
    assert str(Problem("a.yaml", 3, "boom")) == "a.yaml:3: boom"


# ------------------------------------------------------------------ search


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("申购费太贵了", "fx_fee.per_day"),
        ("客户说手續費太貴怎么办", "fx_fee.per_day"),
        ("手需费太贵", "fx_fee.per_day"),
        ("the fees are way too high", "fx_fee.per_day"),
        ("我得问问我老婆", "fx_family.bring_spouse"),
        ("my husband has to agree first", "fx_family.bring_spouse"),
        ("亏了本金怎么办", "fx_fear.rating_match"),
    ],
)
def test_search_ranks_expected_first(index, query, expected):
    result = index.search(query)
    assert result.hits and result.hits[0].script.id == expected
    assert result.confident
    assert all(0.0 <= h.score <= 1.0 for h in result.hits)
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


@pytest.mark.parametrize("query", ["", "   ", "！？。…", "😀😀👍", "asdfgh", "今天中午吃什么",
                                   "啊" * 5000, "你好" * 2500])
def test_search_low_confidence_and_junk(index, query):
    result = index.search(query)
    assert result.query == query
    assert not result.confident


def test_search_long_relevant_query_does_not_crash(index):
    result = index.search("说起来话长，" * 300 + "申购费收得太多了")
    assert isinstance(result.hits, list)
    assert index.search("申购费收得太多了" + "。" * 5000).hits[0].script.id == "fx_fee.per_day"


def test_search_limit(index):
    assert len(index.search("申购费", limit=1).hits) == 1
    assert index.search("申购费", limit=0).hits == []


def test_team_scripts_are_private(library):
    index = ScriptIndex.build(library.scripts)
    team_script = Script(
        id="team7.fee_waiver", category="objection.fee_too_high", title="本行费率活动",
        triggers=["申购费打折吗"], steps=library.get("fx_fee.cheaper_share").steps, team_id=7,
    )
    index.add(team_script)
    ids = lambda team: [h.script.id for h in index.search("申购费打折吗", team_id=team).hits]  # noqa: E731
    assert ids(7)[0] == "team7.fee_waiver"
    assert "team7.fee_waiver" not in ids(8)
    assert "team7.fee_waiver" not in ids(None)
    assert "fx_fee.per_day" in ids(8)  # shared scripts are always visible
    assert index.remove("team7.fee_waiver") and not index.remove("team7.fee_waiver")
    assert "team7.fee_waiver" not in ids(7)
    assert len(index) == len(library)


def test_empty_index():
    result = ScriptIndex.build([]).search("手续费太贵")
    assert result.hits == [] and not result.confident


# ------------------------------------------------------------------ CLI


def test_cli_validate_ok(capsys):
    assert main(["scripts", "validate", str(FIXTURE)]) == 0
    assert capsys.readouterr().out.strip() == "OK: 5 scripts"


def test_cli_stats_json(capsys):
    assert main(["scripts", "stats", "--json", "--dir", str(FIXTURE)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 5
    assert list(data["by_category"]) == list(CATEGORIES)


def test_cli_search_json(capsys):
    assert main(["scripts", "search", "申购费太贵", "--json", "--limit", "2",
                 "--dir", str(FIXTURE)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"query", "confident", "reason", "service", "results"}
    assert data["confident"] is True and data["service"] is None
    assert len(data["results"]) == 2
    assert set(data["results"][0]) == {"id", "category", "title", "score"}
    assert data["results"][0]["id"] == "fx_fee.per_day"


def test_cli_search_stdin(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("申购费太贵\n\n问问老婆\n"))
    assert main(["scripts", "search", "-", "--json", "--limit", "1", "--dir", str(FIXTURE)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == ["申购费太贵", "", "问问老婆"]
    assert [line["confident"] for line in lines] == [True, False, True]
    assert lines[0]["results"][0]["id"] == "fx_fee.per_day"
    assert lines[1]["results"] == []
    assert lines[2]["results"][0]["category"] == "objection.ask_family"
