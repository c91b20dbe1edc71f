"""Unknown commands and quiet buttons: never a dead end, never silence."""

from __future__ import annotations

from tests.conftest import BotHarness


def _last_toast(harness: BotHarness) -> str | None:
    answers = [p for m, p in harness.telegram.calls if m == "answerCallbackQuery"]
    return answers[-1].get("text") if answers else None


async def test_unknown_command_suggests_the_nearest_by_spelling(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    replies = await chat.send("/folowups")
    assert len(replies) == 1
    assert "/folowups" in replies[0].text and "/followups" in replies[0].text
    assert "/help" in replies[0].text


async def test_unknown_command_without_a_near_one_points_to_help(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor", language="en"))
    replies = await chat.send("/zzzzzzzz")
    assert len(replies) == 1
    assert replies[0].text == ("There is no /zzzzzzzz command. Send /help for the full list.")


async def test_unknown_command_text_is_escaped(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    replies = await chat.send("/<b>x</b>")
    assert "<b>" not in replies[0].params["text"] or "&lt;b&gt;" in replies[0].params["text"]


async def test_thumbs_buttons_confirm_with_a_toast(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    card = (await chat.send("手续费太贵了"))[-1]
    script_id = next(d for _, d in card.buttons if d.startswith("sc up ")).split()[-1]
    replies = await chat.press(f"sc up {script_id}", message=card)
    assert replies == [] and _last_toast(harness)
    replies = await chat.press_data("sc dn no.such.script", message=card)
    assert replies == [] and _last_toast(harness)
