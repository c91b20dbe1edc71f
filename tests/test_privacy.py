"""Masking names and phone numbers (coach.privacy)."""

from __future__ import annotations

import pytest

from coach.privacy import mask_name, mask_phone, redact_for_log


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("王建国", "王**"),
        ("王五", "王*"),
        ("王", "王"),
        (" 李娜 ", "李*"),
        ("欧阳娜娜", "欧阳**"),
        ("司马光", "司马*"),
        ("诸葛亮", "诸葛*"),
        ("歐陽修", "歐陽*"),
        ("欧阳", "欧*"),  # only a compound surname: still hide something
        ("阿依·买买提", "阿*·***"),
        ("Chen Wei", "Chen***"),
        ("Mary Ann Lee", "Mary***"),
        ("Madonna", "M***"),
        ("", ""),
        ("   ", ""),
        (None, ""),
    ],
)
def test_mask_name(name: str | None, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800138000", "****8000"),
        ("+86 138-0013-8000", "****8000"),
        ("021 6123 4567", "****4567"),
        ("1234", "****"),
        ("12", "****"),
        ("", ""),
        (None, ""),
        ("n/a", ""),
    ],
)
def test_mask_phone(phone: str | None, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_redact_names_and_phones() -> None:
    text = "王建国(13800138000)约了明天，Chen Wei 的电话 +86 139-1234-5678。"
    out = redact_for_log(text, ["王建国", "Chen Wei"])
    assert out == "王**(****8000)约了明天，Chen*** 的电话 ****5678。"
    for secret in ("建国", "Wei", "13800138000", "1234-5678"):
        assert secret not in out


def test_redact_prefers_the_longest_known_name() -> None:
    out = redact_for_log("王建国和王建", ["王建", "王建国"])
    assert out == "王**和王*"


def test_redact_latin_names_whole_words_any_case() -> None:
    out = redact_for_log("chen wei called; Cheng is someone else", ["Chen Wei", "Li"])
    assert out == "chen*** called; Cheng is someone else"


def test_redact_phone_directly_after_chinese_text() -> None:
    assert redact_for_log("客户电话13800138000请回电") == "客户电话****8000请回电"


def test_redact_keeps_dates_times_and_short_numbers() -> None:
    text = "2026-11-25 10:30:00 called 3 times, R4 fund, 12345 points"
    assert redact_for_log(text) == text


def test_redact_masks_other_long_digit_runs_on_purpose() -> None:
    assert redact_for_log("account 6222020200112233") == "account ****2233"


def test_redact_empty_and_blank_names() -> None:
    assert redact_for_log(None) == ""
    assert redact_for_log("", ["王建国"]) == ""
    assert redact_for_log("王先生好", ["", "王", None]) == "王先生好"  # type: ignore[list-item]


def test_log_ids_stay_readable_while_phones_are_masked() -> None:
    line = "update=918273645 user=5550001234 handler=log ms=12.5 note 13800138000 chat_id: -100123456789"
    out = redact_for_log(line)
    assert "update=918273645" in out and "user=5550001234" in out
    assert "chat_id: -100123456789" in out
    assert "13800138000" not in out and "****8000" in out
    # a phone that merely follows a word is still masked
    assert "13800138000" not in redact_for_log("userphone 13800138000")
