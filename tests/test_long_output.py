"""Over-long output and a fake Bot API as strict as Telegram (issue 11.6)."""

from __future__ import annotations

import pytest

from bot import botapi_rules, notifier
from bot.fakebot import FakeTelegram
from bot.jobs.briefings import broadcast_pending
from coach.actor import Me
from coach.services import briefing
from coach.textsplit import shorten, visible_len
from scripts_library.schema import Script
from tests.conftest import BotHarness

# --- the fake refuses what Telegram refuses ------------------------------------------------


@pytest.mark.parametrize("text", [
    "a < b", "fish & chips", "<blink>hi</blink>", "<b>open", "<b><i>x</b></i>", "</b>",
    "&nbsp;", "&#0;", "",
])
def test_html_telegram_cannot_parse_is_refused(text: str) -> None:
    assert botapi_rules.check("sendMessage", {"text": text, "parse_mode": "HTML"})


@pytest.mark.parametrize("text", [
    "a &lt; b &amp; c &quot;d&quot; &#128512; &#x1F600;", "<b>bold</b> <i>it</i> <u>u</u>",
    '<a href="https://example.com/?a=1&amp;b=2">link</a>', "<pre>x</pre><code>y</code>",
    "<tg-spoiler>s</tg-spoiler> <blockquote>q</blockquote>", "a > b",
])
def test_html_telegram_accepts_passes(text: str) -> None:
    assert botapi_rules.check("sendMessage", {"text": text, "parse_mode": "HTML"}) is None


def test_limits_are_measured_after_parsing_in_utf16() -> None:
    visible = "字" * 4096
    html = "<b>" + visible + "</b>"
    assert botapi_rules.check("sendMessage", {"text": html, "parse_mode": "HTML"}) is None
    assert botapi_rules.check("sendMessage", {"text": visible + "x", "parse_mode": "HTML"})
    assert botapi_rules.check("sendMessage", {"text": "😀" * 2049})  # 4,098 UTF-16 units
    assert botapi_rules.check("sendPhoto", {"caption": "x" * 1024, "photo": "p"}) is None
    assert botapi_rules.check("sendPhoto", {"caption": "x" * 1025, "photo": "p"})
    assert botapi_rules.check("sendDocument", {"caption": "&amp;" * 1024,
                                               "parse_mode": "HTML"}) is None


def test_buttons_answers_and_inline_results_have_telegram_limits() -> None:
    def keyboard(data: str) -> dict[str, object]:
        return {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "b",
                                                                    "callback_data": data}]]}}
    assert botapi_rules.check("sendMessage", keyboard("x" * 64)) is None
    assert botapi_rules.check("sendMessage", keyboard("x" * 65))
    assert botapi_rules.check("sendMessage", keyboard("字" * 22))  # 66 bytes
    assert botapi_rules.check("answerCallbackQuery", {"text": "x" * 200}) is None
    assert botapi_rules.check("answerCallbackQuery", {"text": "x" * 201})
    article = {"type": "article", "title": "t",
               "input_message_content": {"message_text": "m", "parse_mode": "HTML"}}
    many = [{**article, "id": str(i)} for i in range(51)]
    assert botapi_rules.check("answerInlineQuery", {"results": many})
    assert botapi_rules.check("answerInlineQuery", {"results": many[:50]}) is None
    long_text = {**article, "id": "1", "input_message_content": {"message_text": "x" * 4097}}
    assert botapi_rules.check("answerInlineQuery", {"results": [long_text]})


def test_the_fake_answers_400_and_sends_nothing() -> None:
    telegram = FakeTelegram()
    status, body = telegram.handle("sendMessage", {"chat_id": 5, "text": "x" * 4097})
    assert status == 400 and body["description"] == "Bad Request: message is too long"
    assert telegram.sent == [] and telegram.refused == [("sendMessage", body["description"])]


# --- every sender fits -------------------------------------------------------------------------


async def test_a_long_pushed_message_is_split_with_buttons_on_the_last_part(
        harness: BotHarness) -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    text = "\n\n".join(f"<b>第{i}段</b> " + "很长的内容。" * 60 for i in range(30))
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="dg p 0")]])
    delivery = await notifier.send_text(harness.app.bot, 4242, text, markup=markup)
    sent = harness.telegram.messages_to(4242)
    assert delivery.status == "sent" and len(sent) >= 3 and harness.telegram.refused == []
    assert [bool(m.buttons) for m in sent] == [False] * (len(sent) - 1) + [True]
    assert delivery.message_id == sent[-1].message_id


async def test_a_long_caption_becomes_file_then_text(harness: BotHarness) -> None:
    delivery = await notifier.send_attachment(harness.app.bot, 4243, photo="ph1",
                                              caption="说明" * 700)
    sent = harness.telegram.messages_to(4243)
    assert delivery.status == "sent" and [m.method for m in sent] == ["sendPhoto",
                                                                       "sendMessage"]
    assert harness.telegram.refused == []


def _lead_me(harness: BotHarness, lead: object) -> Me:
    row = harness.user_row(lead)  # type: ignore[arg-type]
    return Me(row.id, row.telegram_id, row.name, "lead", row.team_id, "zh-Hans",
              "Asia/Shanghai")


async def test_a_briefing_over_4096_characters_reaches_every_member(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    members = [harness.person("advisor", team="Alpha") for _ in range(2)]
    long = "\n".join(f"第{i}项：今天重点跟进到期客户，逐一电话确认续作意向。" for i in range(160))
    with harness.services.db.session() as s:
        row = briefing.create(s, _lead_me(harness, lead), {"targets": long, "motto": long},
                              now=harness.clock.now(), send_at=None, repeat_workdays=False,
                              include_group=False)
        briefing.start_sending(s, row.id, now=harness.clock.now())
    assert await broadcast_pending(harness.app) == 2
    assert harness.telegram.refused == []
    for member in members:
        got = harness.telegram.messages_to(member.id)
        assert len(got) >= 2 and sum(visible_len(m.text) for m in got) > 4096
        assert got[-1].buttons and got[-1].buttons[0][1].startswith("bf ack ")


async def test_a_refused_briefing_is_reported_to_the_lead(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha", name="退回者")
    harness.telegram.fail_next(member.id, 400, description="Bad Request: message is too long")
    with harness.services.db.session() as s:
        row = briefing.create(s, _lead_me(harness, lead), {"targets": "今天目标"},
                              now=harness.clock.now(), send_at=None, repeat_workdays=False,
                              include_group=False)
        briefing.start_sending(s, row.id, now=harness.clock.now())
    await broadcast_pending(harness.app)
    told = [m.text for m in harness.telegram.messages_to(lead.id)]
    assert any("Telegram 拒收" in t and "退回者" in t for t in told), told


async def test_long_inline_answers_are_cut_to_fit(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    svc = harness.services
    step = "请您放心，我们会一步一步把费用算清楚，再决定下一步。" * 54  # about 1,500 characters
    with svc.db.session() as s:
        svc.catalog.save_team_script(s, _lead_me(harness, lead), {
            "category": "objection.fee_too_high", "title": "超长的团队话术",
            "triggers": ["托管费到底怎么算的"],
            "steps": {k: step for k in ("restate", "acknowledge", "answer", "advance")}},
            clock=harness.clock)
    answer = await harness.chat(lead).inline("托管费到底怎么算的")
    assert answer is not None and harness.telegram.refused == []
    texts = [r["input_message_content"]["message_text"] for r in answer["results"]]
    long = [t for t in texts if "一步一步把费用算清楚" in t]  # the text to send: no title
    assert long and all(visible_len(t) <= 4096 for t in texts) and long[0].endswith("…")
    cut = shorten("<b>标题</b>\n" + "\n".join("这是一段很长的话术内容。" * 20 for _ in range(40)))
    assert visible_len(cut) <= 4096 and cut.startswith("<b>标题</b>")
    assert botapi_rules.html_to_text(cut)  # still valid HTML


def test_script_ids_fit_in_button_data() -> None:
    base = {"category": "objection.fees", "title": "t", "say": "s"}
    Script.model_validate({**base, "id": "a" * 56})
    with pytest.raises(ValueError):
        Script.model_validate({**base, "id": "a" * 57})


async def test_a_button_that_cannot_fit_is_dropped_not_fatal(harness: BotHarness) -> None:
    rendered = harness.services.renderer.render("client_choices", "zh-Hans", me=None,
                                                query="王", choices=[(10**70, "王建国"),
                                                                    (7, "王建华")])
    buttons = [b for row in rendered.markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    assert [b.callback_data for b in buttons] == ["cl 7"]
