"""The library in every language: English coverage, short versions, typography, compliance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import main
from scripts_library.loader import (
    coverage_problems,
    load_library,
    typography_problems,
    validate_library,
)
from scripts_library.schema import SHORT_MAX

FIXTURE = Path(__file__).parent / "data" / "scripts_fixture"

ONE = """category: objection.fee_too_high
scripts:
  - id: x.one
    title: 费用
    triggers: [太贵]
    steps:
      restate: "您是觉得贵？"
      acknowledge: "理解。"
      answer: "我们算一笔账。"
      advance: "您看放多久？"
{extra}"""


@pytest.fixture(scope="module")
def library():
    return load_library()


def write(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "a.yaml").write_text(ONE.format(extra=extra), encoding="utf-8")
    return tmp_path


def test_english_coverage_is_complete(library, capsys):
    assert main(["scripts", "stats", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    total = data["total"]
    assert data["by_language"]["zh-Hans"]["scripts"] == total
    assert data["by_language"]["en"]["scripts"] == total
    assert data["by_language"]["en"]["risk_notes"] == data["by_language"]["zh-Hans"]["risk_notes"]
    assert coverage_problems(library) == []
    assert main(["scripts", "validate"]) == 0  # the default run includes the coverage bar


def test_english_texts_are_english(library):
    """No Chinese left in an English version (a half-done translation shows as mixed text)."""
    han = re.compile(r"[\u4e00-\u9fff]")
    for script in library:
        for path, text in script.text_fields():
            if path.startswith("en."):
                assert not han.search(text), (script.id, path)


def test_every_objection_has_a_one_breath_short_version(library):
    objections = [s for s in library if s.is_objection]
    assert len(objections) >= 150
    for script in objections:
        assert script.short and len(script.short) <= SHORT_MAX, script.id
        assert script.en is not None and script.en.short, script.id
        assert len(script.en.short) <= SHORT_MAX, script.id


def test_short_version_over_limit_is_reported_with_line(tmp_path):
    write(tmp_path, '    short: "' + "很" * (SHORT_MAX + 1) + '"\n')
    problems = [str(p) for p in validate_library(tmp_path)]
    assert problems == [f"a.yaml:11: script 'x.one': short: string should have at most "
                        f"{SHORT_MAX} characters"]


def test_compliment_is_optional_and_skipped_when_absent(tmp_path):
    write(tmp_path, '    short: "算一笔账就清楚了。"\n')
    assert validate_library(tmp_path) == []
    script = load_library(tmp_path).get("x.one")
    assert [k for k, _ in script.render().steps] == ["restate", "acknowledge", "answer",
                                                     "advance"]


@pytest.mark.parametrize("text, message", [
    ("第一句\\n第二句", "literal \\n would show in the message"),
    ('他说\\"好\\"', 'literal \\" would show in the message'),
    ("“好的，我们再谈", "unmatched “” quotes"),
    ('He said "fine and left', 'unmatched " quote'),
    ("路径C:\\data", "stray backslash would show in the message"),
    ("（括号没有闭合", "unmatched （） quotes"),
])
def test_typography_problems(text, message):
    assert message in typography_problems(text)


def test_typography_clean_text_passes():
    assert typography_problems("“双十原则”：保额约为年收入的10倍（参考）。It's fine.") == []


def test_stray_escape_reported_with_file_and_line(tmp_path):
    write(tmp_path, '    risk_note: \\"基金有风险。"\n    short: "好。"\n')
    problems = [str(p) for p in validate_library(tmp_path)]
    assert "a.yaml:11: script 'x.one': risk_note: literal \\\" would show in the message" \
        in problems
    assert main(["scripts", "validate", str(tmp_path)]) == 1


def test_english_risk_note_and_short_render_for_english(library):
    script = library.get("fee_too_high.holding_period")
    en = script.render("en")
    assert en.lang == "en" and en.risk_note.startswith("Funds carry risk")
    assert en.short == script.en.short
    zh = script.render("zh")
    assert zh.risk_note == script.risk_note and zh.short == script.short


def test_stats_by_language_counts_complete_translations(capsys):
    assert main(["scripts", "stats", "--json", "--dir", str(FIXTURE)]) == 0
    data = json.loads(capsys.readouterr().out)
    # fixture: 5 scripts, 2 risk notes; fx_fee.per_day and fx_close.two_options are complete
    assert data["by_language"] == {"zh-Hans": {"scripts": 5, "risk_notes": 2},
                                   "en": {"scripts": 2, "risk_notes": 1}}


def test_coverage_problems_name_what_is_missing():
    messages = [p.message for p in coverage_problems(load_library(FIXTURE))]
    assert "script 'fx_fear.rating_match': incomplete English version: en missing" in messages
    assert all("short" not in m for m in messages)  # every fixture objection has one


# What a bank's compliance team sends back (issue 14): each pattern names the rejected idea.
REJECTED = {
    "benchmark as a multiple of the demand-deposit rate":
        re.compile(r"活期.{0,30}\d*[几二三十百]+倍|活期的[几二三十百]+倍|times the (?:current|demand)"),
    "belittling a loss to pivot into selling the rest":
        re.compile(r"剩下的98万|占的是2%"),
    "'no other charges' when share classes differ":
        re.compile(r"除此之外没有其他收费|no other charges", re.I),
    "moving savings into relatives' names for more deposit-insurance cover":
        re.compile(r"家里不同成员的名下|家人名下|in (?:a )?relatives?'? names?", re.I),
}


@pytest.mark.parametrize("reason", list(REJECTED))
def test_library_has_no_script_compliance_would_reject(library, reason):
    pattern = REJECTED[reason]
    hits = [(s.id, path) for s in library for path, text in s.text_fields()
            if not path.startswith("triggers") and pattern.search(text)]
    assert hits == [], reason
