"""The one callback-data parser (bot/callback.py) and typed-number checks (coach/digits.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import callback
from bot.callback import ID, INDEX, TOKEN, one_of
from coach.digits import ascii_int, is_ascii_digits
from tests.conftest import BotHarness


@pytest.mark.parametrize(("raw", "expected"), [
    ("cl 42", (42,)),
    (f"cl {2**63 - 1}", (2**63 - 1,)),
    (f"cl {2**63}", None),  # beyond BIGINT: never reaches the database
    ("cl 0", None), ("cl 007", None), ("cl -1", None), ("cl +1", None),
    ("cl ²", None), ("cl ٣", None), ("cl １", None), ("cl 1e3", None),
    ("cl", None), ("cl 1 2", None), ("cl  1", None), ("cl\t1", None), ("clx 1", None),
    ("", None), (None, None), ("cl " + "1" * 70, None),
])
def test_ids(raw: str | None, expected: tuple[int, ...] | None) -> None:
    assert callback.parse(raw, "cl", ID) == expected


def test_words_tokens_and_optional_fields() -> None:
    reasons = one_of("busy", "other")
    assert callback.parse("rf no 7 busy", "rf no", ID, reasons, optional=1) == (7, "busy")
    assert callback.parse("rf no 7", "rf no", ID, reasons, optional=1) == (7, None)
    assert callback.parse("rf no 7 bogus", "rf no", ID, reasons, optional=1) is None
    assert callback.parse("rf no 7 busy x", "rf no", ID, reasons, optional=1) is None
    assert callback.parse("lb s objection.fee", "lb s", TOKEN) == ("objection.fee",)
    assert callback.parse("lb s <b>", "lb s", TOKEN) is None
    assert callback.parse("dg p 3", "dg p", INDEX) == (3,)
    assert callback.parse("dg p 0", "dg p", INDEX) == (0,)
    assert callback.parse("dg p 99999", "dg p", INDEX) is None
    assert callback.matches("cl", ID)("cl 5") and not callback.matches("cl", ID)(None)


def test_building_data_refuses_what_would_not_fit() -> None:
    assert callback.data("cl", 42) == "cl 42"
    with pytest.raises(ValueError):
        callback.data("lb s", "x" * 70)
    with pytest.raises(ValueError):
        callback.data("lb s", "two words")


@given(st.text(max_size=80))
def test_parse_never_raises_and_ids_stay_in_range(raw: str) -> None:
    for result in (callback.parse(raw, "cl", ID), callback.parse(raw, "x y", ID, ID, optional=1)):
        assert result is None or all(v is None or 1 <= v <= 2**63 - 1 for v in result)


@given(st.text(max_size=30))
def test_ascii_int_only_reads_ascii_digits(text: str) -> None:
    value = ascii_int(text)
    if value is not None:
        assert is_ascii_digits(text.strip()) and 0 <= value <= 2**63 - 1
    assert not is_ascii_digits("²") and not is_ascii_digits("٣") and is_ascii_digits("42")


async def test_crafted_buttons_change_nothing_and_raise_nothing(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    lead_chat = harness.chat(harness.person("lead"))
    for data in (f"cl {2**63}", "cl ²", "rf ok 9" + "9" * 30, "rf to 1 ²", "fu d ٣",
                 "pr m 1 ²", "su 1 99999999999999999999", "ac tier", "ac tier\tmass",
                 "lb c ² 1", "bf ack -1", "fg ok 1e3", "ov to 1", "sc up", "st lang"):
        for who in (chat, lead_chat):
            replies = await who.press_data(data)
            assert all("出了点问题" not in m.text for m in replies), data
    answers = [p for m, p in harness.telegram.calls if m == "answerCallbackQuery"]
    assert answers and all(a.get("show_alert") for a in answers[-4:])


def test_typed_phone_numbers_are_ascii_digits_only() -> None:
    from coach.services.clients import normalize_phone
    from coach.services.errors import ServiceError

    assert normalize_phone("138 0000-1234") == "13800001234"
    for typed in ("١٣٨٠٠٠٠١٢٣٤", "１３８００００１２３４", "138²0001234"):
        with pytest.raises(ServiceError):
            normalize_phone(typed)
