"""Issue 14, second round: dialect folding, erhua, real words kept as typed, evidence
overrides and the evidence-backed ranking, on examples written for this file."""

from __future__ import annotations

import pytest

from scripts_library.analyze import get_analyzer
from scripts_library.loader import load_library
from scripts_library.search import ScriptIndex, Weights
from tools.search_eval import DEV, evaluate, load, main


@pytest.fixture(scope="module")
def index():
    return ScriptIndex.build(load_library().scripts)


@pytest.mark.parametrize(("written", "folded"), [
    ("我而家開緊會", "我现在在开会"),  # progressive 紧 → 在
    ("佢揸緊車", "他在开车"),
    ("唔好催我", "不要催我"),  # 唔好 is "don't", not "not good"
    ("佢仲未決定", "他还没决定"),
    ("份人工淨係夠交租", "份工资只是够交房租"),
    ("我返屋企諗下", "我回家考虑下"),  # 諗 is "think over", never "want"
    ("遲啲話你知", "晚点告诉你"),
    ("隻股票升到咁高", "只股票涨到这么高"),
    ("人哋收費平啲", "人家收费便宜些"),
])
def test_cantonese_grammar_words_fold_to_mandarin(written, folded):
    assert get_analyzer().norm(written) == folded


@pytest.mark.parametrize(("written", "folded"), [
    ("未来三年", "未来三年"),  # 未 only folds inside phrases
    ("收益就这么丁点儿", "收益就这么丁点"),  # erhua suffix dropped
    ("这事儿得俺家那口子拍板", "这事得我家老伴拍板"),
    ("我儿子和女儿", "我儿子和女儿"),  # 儿 as "child" stays
    ("婴儿用品", "婴儿用品"),
    ("莫来哄我", "别来哄我"),  # Sichuan 莫 = 别
    ("以前买的基金遭套起了", "以前买的基金被套起了"),
])
def test_northern_and_sichuan_folding(written, folded):
    assert get_analyzer().norm(written) == folded


def test_a_real_word_is_not_heard_as_a_homophone(index):
    analyzer = index.analyzer
    sounds = index._snap.sounds  # noqa: SLF001
    assert "稳健" not in sounds.corrections("帮我把文件复印一下", analyzer.is_word)
    assert "手续费" in sounds.corrections("手需费怎么这么高", analyzer.is_word)


@pytest.mark.parametrize(("query", "category"), [
    ("人哋銀行收費平啲", "objection.other_bank_better"),  # fee compared with another bank
    ("我在别的银行买基金，手续费低一半", "objection.other_bank_better"),
    ("我而家開緊會，遲啲覆你", "objection.no_time"),  # busy now, not weighing it
    ("在开个call，晚点说", "objection.no_time"),
])
def test_overrides_and_evidence_backed_ranking(index, query, category):
    result = index.search(query)
    assert result.hits[0].script.category == category


def test_override_needs_the_busy_cue_not_just_later(index):
    result = index.search("材料你先留下，改天再给你答复")
    assert result.hits[0].script.category == "objection.think_it_over"


def test_adding_on_wechat_is_not_a_competing_platform(index):
    result = index.search("先加个微信吧，以后再说")
    assert result.hits[0].script.category != "objection.other_bank_better"


def test_rank_bonus_puts_the_backed_category_first(index):
    flat = ScriptIndex.build(load_library().scripts, weights=Weights(rank_bonus=0.0, model_rank=0.0))
    query = "我揸緊車，遲啲打返畀你"
    assert index.search(query).hits[0].script.category == "objection.no_time"
    assert flat.search(query).hits[0].script.category != "objection.no_time"


@pytest.mark.parametrize(("query", "intent"), [
    ("借记卡过期了要换新卡", "card"),
    ("你们周六上班吗", "branch"),
    ("怎么开一个二类户", "account"),
    ("How do I send money to my son in Canada?", "transfer"),
    ("张卡唔见咗点算", "lost_card"),
])
def test_more_service_wording(index, query, intent):
    result = index.search(query)
    assert result.service is not None and result.service.key == intent
    assert not result.confident


def test_dev_split_figures(index):
    """Regression floors a little under the dev figures measured after this round (README);
    the dev split only checks that rules chosen on the tuning lines carry over."""
    queries, offtopic = load(DEV)
    assert len(queries) >= 90 and len(offtopic) >= 30
    figures = evaluate(index, queries, offtopic)
    assert figures["top1"] >= 0.88 and figures["top3"] >= 0.92, figures
    assert figures["confident_wrong_rate"] <= 0.03, figures
    assert figures["offtopic_confident_rate"] <= 0.10, figures


def test_eval_tool_never_lists_dev_or_heldout_misses(capsys):
    assert main(["--dev", "--misses"]) == 2
    assert main(["--heldout", "--misses"]) == 2
    assert "not listed" in capsys.readouterr().err


def test_an_english_phrase_speaks_for_its_words():
    analyzer = get_analyzer()
    clean = analyzer.clean("Money is tight since I lost my job")
    found = analyzer.concepts(clean, analyzer.words(clean))
    assert "money" in found and "loss" not in found
    clean = analyzer.clean("I lost a lot on that fund")
    assert "loss" in analyzer.concepts(clean, analyzer.words(clean))


@pytest.mark.parametrize(("query", "category"), [
    ("存在银行里收益低一点也没关系，本金不能少", "objection.prefer_deposit"),  # concedes the rate
    ("我宁愿存定期，不想担这个风险", "objection.prefer_deposit"),  # preference over fear
    ("收益这么低，存银行都比这个强", "objection.return_too_low"),  # no concession: the rate
])
def test_concession_and_preference_overrides(index, query, category):
    assert index.search(query).hits[0].script.category == category


@pytest.mark.parametrize(("query", "confident"), [
    ("驾照过期了怎么换", False),  # a customer's everyday how-to, not the advisor's work
    ("孩子户口怎么迁", False),
    ("公积金能取出来交房租吗", False),  # a question about public services
    ("教育金的需求怎么问客户", True),  # the advisor asking how to do the job
])
def test_howto_needs_the_advisors_task_and_civic_questions_are_not_objections(
        index, query, confident):
    assert index.search(query).confident is confident


@pytest.mark.parametrize("query", ["这么多钱我一个人拿不定主意", "这事不是我一个人说了算的"])
def test_the_customer_who_cannot_decide_alone(index, query):
    result = index.search(query, limit=3)
    assert "objection.ask_family" in [h.script.category for h in result.hits]
    assert not result.confident or result.hits[0].script.category == "objection.ask_family"


def test_waiting_for_an_event_is_market_timing(index):
    result = index.search("等下个月议息会议开完再看看吧")
    assert result.hits[0].script.category == "objection.market_timing"


def test_interesting_is_not_interest():
    from scripts_library.analyze import stem
    assert stem("interesting") == "interesting" and stem("fees") == stem("fee")


def test_unsure_guesses_are_different_readings(index):
    result = index.search("我那点钱都在股市里打了水漂", limit=3)
    categories = [h.script.category for h in result.hits]
    assert not result.confident
    assert len(set(categories)) == len(categories)  # one script per category when unsure
    sure = index.search("手续费太贵了", limit=3)
    assert sure.confident and {h.script.category for h in sure.hits} == {
        "objection.fee_too_high"}


@pytest.mark.parametrize("query", ["有社保了还要买保险吗", "存款能不能省点个税"])
def test_pensions_social_insurance_and_tax_are_not_civic_paperwork(index, query):
    view = index.reader.view(index.analyzer.clean(query))
    assert "civic" not in index.reader.cues(view)
    assert index.search(query).hits[0].script.category.startswith("objection.")


def test_pinyin_reads_polyphones_as_words(index):
    from scripts_library.analyze import pinyin_key, spoken_key
    assert pinyin_key("银行") == "yin|xing" and spoken_key("银行") == "yin|hang"
    spelled = index.analyzer.from_pinyin("cun yinhang zui fangxin", index._snap.sounds)  # noqa: SLF001
    assert spelled is not None and "银行" in spelled
    result = index.search("bie de yinhang lixi geng gao")
    assert result.hits[0].script.category == "objection.other_bank_better"
