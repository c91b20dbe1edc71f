"""Objection questions, the library menu, feedback, inline mode and team scripts."""

from __future__ import annotations

from sqlalchemy import select

from coach.services.library import usage_report
from storage.models import ScriptEvent
from tests.conftest import BotHarness


async def _five_steps(chat, card):  # type: ignore[no-untyped-def]
    """Press the card's "five steps" button and return the full card."""
    data = next(d for _, d in card.buttons if d.startswith("sc f "))
    return (await chat.press(data, message=card))[-1]


async def test_plain_text_gets_a_short_answer_then_five_steps(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    replies = await chat.send("客户说手续费太贵")
    card = replies[-1]
    assert "💬" in card.text and "① 复述顾虑" not in card.text  # one breath first
    assert "嫌手续费高" in card.text and "⚠️" in card.text
    datas = [d for _, d in card.buttons]
    assert "sc n 1" in datas and any(d.startswith("sc up ") for d in datas)
    assert "lb" in datas and any(d.startswith("sc pr ") for d in datas)
    assert ("📋 五步完整话术", f"sc f {datas[-3].split()[-1]}") in card.buttons
    full = await _five_steps(chat, card)
    for label in ("① 复述顾虑", "② 认同感受", "④ 用事实回应", "⑤ 推进下一步"):
        assert label in full.text
    assert "💬" not in full.text and not any(d.startswith("sc f ") for _, d in full.buttons)


async def test_traditional_user_gets_traditional_script(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor", language="zh-Hant-TW"))
    card = (await chat.send("手續費太貴了"))[-1]
    assert "嫌手續費高" in card.text
    assert "複述顧慮" in (await _five_steps(chat, card)).text


async def test_english_user_gets_english_labels(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor", language="en"))
    card = (await chat.send("/ask the fee is too high"))[-1]
    assert "Fees too high" in card.text and ("📋 Five steps", "sc f ") not in card.buttons
    full = await _five_steps(chat, card)
    assert "① Restate" in full.text and "Funds carry risk" in full.text


async def test_next_match_shows_another_script(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    first = (await chat.send("收益太低了吧"))[-1]
    second = (await chat.press("sc n 1"))[-1]
    assert first.text.splitlines()[0] != second.text.splitlines()[0]
    assert "嫌收益低" in second.text


async def test_low_confidence_offers_categories_and_logs_the_miss(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    for nonsense in ("阿斯顿发", "!!!???", "😀😀"):
        replies = await chat.send(nonsense)
        assert "不太确定" in replies[-1].text or "告诉我客户说了什么" in replies[-1].text
        assert ("📚 话术分类", "lb") in replies[-1].buttons
    report = _report(harness)
    assert ("阿斯顿发", 1) in report.not_found


def _report(harness: BotHarness):  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        return usage_report(s, clock=harness.clock)


async def test_feedback_is_stored(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    card = (await chat.send("我要回去跟老公商量"))[-1]
    script_id = next(d for _, d in card.buttons if d.startswith("sc up ")).split()[-1]
    await chat.press(f"sc dn {script_id}")
    await chat.press(f"sc dn {script_id}", message=card)  # a double tap counts once
    report = _report(harness)
    assert report.most_used[0] == (script_id, 1)
    assert report.most_disliked == [(script_id, 1, 0)]


async def test_library_menu_category_and_script(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    menu = (await chat.send("/library"))[-1]
    assert len(menu.buttons) == 28
    category = (await chat.press("lb c 0"))[-1]
    assert "嫌手续费高" in category.text
    assert ("更多 ▶️", "lb c 0 1") in category.buttons
    page2 = (await chat.press("lb c 0 1"))[-1]
    assert ("◀️ 上一页", "lb c 0 0") in page2.buttons
    script_data = next(d for _, d in category.buttons if d.startswith("lb s "))
    card = (await chat.press(script_data, message=category))[-1]
    assert "① 复述顾虑" in card.text


async def test_crafted_library_data_is_harmless(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    for data in ("lb c 999", "lb s nope.nope", "lb x"):
        replies = await chat.press_data(data)
        assert replies, data
    before = len(harness.telegram.calls)
    assert await chat.press_data("sc n abc") == []
    answers = [p for m, p in harness.telegram.calls[before:] if m == "answerCallbackQuery"]
    assert "不再有效" in answers[-1]["text"]


async def test_inline_mode_for_registered_users_only(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    answer = await chat.inline("手续费")
    assert answer is not None and answer["results"]
    first = answer["results"][0]
    text = first["input_message_content"]["message_text"]
    # ready to send to the customer: no coaching headings, no title, a visible placeholder
    assert "复述顾虑" not in text and "①" not in text and "<b>" not in text
    assert text.startswith("【客户称呼】") and "…" not in text
    stranger_answer = await chat.inline("手续费", user=harness.stranger())
    assert stranger_answer is not None and stranger_answer["results"] == []


async def test_team_script_is_found_only_by_its_team(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    own_advisor = harness.person("advisor", team="Alpha")
    other_advisor = harness.person("advisor", team="Beta")
    chat = harness.chat(lead)
    await chat.send("/addscript")
    await chat.press("as c 0")  # fees
    await chat.send("本行贵宾费率五折")
    await chat.send("贵宾费率能打折吗, 你们贵宾有优惠吗")
    steps = ("您是想知道贵宾有没有费率优惠？", "关心费用很正常。", "您问得很细。",
             "本行贵宾客户在手机银行申购，费率按规定享受五折。",
             "我帮您看看您是否已经是贵宾，好吗？")
    for step in steps:
        replies = await chat.send(step)
    assert "本行贵宾费率五折" in replies[-1].text
    replies = await chat.press("as save")
    assert "已为团队保存" in replies[-1].text
    found = (await harness.chat(own_advisor).send("贵宾费率能打折吗"))[-1]
    assert "本行贵宾费率五折" in found.text
    other = (await harness.chat(other_advisor).send("贵宾费率能打折吗"))[-1]
    assert "本行贵宾费率五折" not in other.text
    team_script = next(d for _, d in found.buttons if d.startswith("sc up ")).split()[-1]
    crafted = (await harness.chat(other_advisor).press_data(f"lb s {team_script}"))[-1]
    assert "本行贵宾费率五折" not in crafted.text


async def test_team_script_with_forbidden_phrase_is_refused(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("lead"))
    await chat.send("/addscript")
    await chat.press("as c 20")  # closing
    await chat.send("稳赚的产品")
    await chat.send("有什么好产品")
    await chat.send("这款产品稳赚不赔，您放心买。")
    replies = await chat.press("as save")
    assert "话术未保存" in replies[-1].text


async def test_advisor_cannot_add_team_scripts(harness: BotHarness) -> None:
    replies = await harness.chat(harness.person("advisor")).send("/addscript")
    assert "角色不能使用" in replies[-1].text


async def test_every_shown_script_is_recorded(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    await chat.send("没时间")
    with harness.services.db.session() as s:
        events = s.scalars(select(ScriptEvent)).all()
        assert [(e.kind, e.query) for e in events] == [("shown", "没时间")]


def test_cli_import_and_report(services, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from bot.cli import main
    from coach.services import people

    with services.db.session() as s:
        people.create_team(s, "Alpha", clock=services.clock)
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    data = Path(__file__).parent / "data" / "team_scripts.yaml"
    assert main(["scripts", "import", str(data), "--team", "Alpha"]) == 1
    out = capsys.readouterr().out
    assert f"{data}:12: script 'alpha.bad'" in out and "稳赚不赔" in out
    assert "saved" not in out  # one bad script: nothing from the file is written
    from storage.models import TeamScript

    with services.db.session() as s:
        assert s.scalars(select(TeamScript)).all() == []
    assert main(["scripts", "report"]) == 0
    assert "Queries that found nothing" in capsys.readouterr().out
