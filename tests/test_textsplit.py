"""Splitting long replies for Telegram (coach.textsplit)."""

from __future__ import annotations

import random
import re

import pytest

from coach.textsplit import (
    MAX_INPUT_CHARS,
    TELEGRAM_LIMIT,
    is_too_long,
    split_message,
    utf16_len,
)

TAG = re.compile(r"</?(b|i|code|a)\b[^>]*>")


def squash(text: str) -> str:
    """Text without tags or whitespace, to compare content across chunks."""
    return re.sub(r"\s+", "", TAG.sub("", text))


def assert_well_formed(chunks: list[str], limit: int) -> None:
    for chunk in chunks:
        assert chunk.strip(), "no empty chunks"
        assert utf16_len(chunk) <= limit
        assert chunk == chunk.strip()
        assert_balanced(chunk)


def assert_balanced(chunk: str) -> None:
    stack: list[str] = []
    for match in TAG.finditer(chunk):
        name = match.group(1)
        if match.group(0).startswith("</"):
            assert stack and stack[-1] == name, chunk
            stack.pop()
        else:
            stack.append(name)
    assert not stack, chunk


def test_short_text_is_one_chunk_unchanged() -> None:
    assert split_message("你好") == ["你好"]
    assert split_message("  hello \n") == ["hello"]


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_blank_text_gives_nothing(text: str) -> None:
    assert split_message(text) == []


def test_exactly_4096_is_one_chunk_4097_is_two() -> None:
    assert split_message("a" * TELEGRAM_LIMIT) == ["a" * TELEGRAM_LIMIT]
    chunks = split_message("a" * (TELEGRAM_LIMIT + 1))
    assert [len(c) for c in chunks] == [TELEGRAM_LIMIT, 1]


def test_prefers_paragraph_then_line_then_sentence() -> None:
    para = "第一段第一句。第一段第二句。\n第一段第二行。"
    text = para + "\n\n" + "第二段。" * 5
    assert split_message(text, limit=30)[0] == para
    lines = "一行一行的内容。\n" * 3 + "最后一行"
    assert split_message(lines, limit=20) == [
        "一行一行的内容。\n一行一行的内容。",
        "一行一行的内容。\n最后一行",
    ]
    sentences = "This is one. This is two! Is this three? " * 2
    chunks = split_message(sentences, limit=30)
    assert chunks[0] == "This is one. This is two!"
    assert_well_formed(chunks, 30)


def test_decimal_point_is_not_a_sentence_end() -> None:
    chunks = split_message("Rate is 3.5 percent now ok", limit=14)
    assert "3.5" in "".join(chunks)
    assert all(not c.endswith("3.") for c in chunks)


def test_long_single_line_splits_at_spaces() -> None:
    words = " ".join(f"word{i}" for i in range(2000))
    chunks = split_message(words)
    assert len(chunks) > 1
    assert_well_formed(chunks, TELEGRAM_LIMIT)
    assert " ".join(chunks) == words


def test_cjk_without_spaces_or_punctuation() -> None:
    text = "理财经理每天都要给客户打电话" * 700
    chunks = split_message(text)
    assert_well_formed(chunks, TELEGRAM_LIMIT)
    assert "".join(chunks) == text
    assert len(chunks[0]) == TELEGRAM_LIMIT


def test_cjk_prefers_sentence_then_clause() -> None:
    text = "我们先看看收益，再谈费用。" * 3
    assert split_message(text, limit=15)[0] == "我们先看看收益，再谈费用。"
    assert split_message("先看收益，再谈费用再谈费用", limit=8)[0] == "先看收益，"


def test_never_splits_a_surrogate_pair_or_emoji_sequence() -> None:
    text = "👍" * 3000  # 6000 UTF-16 units
    chunks = split_message(text)
    assert [utf16_len(c) for c in chunks] == [4096, 1904]
    assert "".join(chunks) == text
    family = "👨\u200d👩\u200d👧"  # 8 UTF-16 units joined by ZWJ
    chunks = split_message(("x" + family) * 3, limit=12)
    assert "".join(chunks) == ("x" + family) * 3
    for chunk in chunks:
        assert chunk.count("👨") == chunk.count("👧"), chunks


def test_odd_limit_with_astral_characters() -> None:
    chunks = split_message("a" + "😀" * 5, limit=4)
    assert chunks == ["a😀", "😀😀", "😀😀"]


def test_tags_are_closed_and_reopened() -> None:
    body = "<b>重点：" + "这只基金的费用摊到每天不到一块钱。" * 30 + "</b>结束。"
    chunks = split_message(body, limit=100)
    assert len(chunks) > 3
    assert_well_formed(chunks, 100)
    assert chunks[0].startswith("<b>") and chunks[0].endswith("</b>")
    assert chunks[1].startswith("<b>")
    assert squash("".join(chunks)) == squash(body)


def test_nested_tags_and_links() -> None:
    body = '<i>注意 <a href="https://example.com/x">' + "链接文字很长。" * 20 + "</a></i> 完"
    chunks = split_message(body, limit=80)
    assert_well_formed(chunks, 80)
    assert all(c.count('<a href="https://example.com/x">') <= 1 for c in chunks)
    assert squash("".join(chunks)) == squash(body)


def test_never_cuts_inside_a_tag_or_entity() -> None:
    body = ("x &amp; <code>y</code> " * 50).strip()
    for limit in range(20, 40):
        chunks = split_message(body, limit=limit)
        assert_well_formed(chunks, limit)
        for chunk in chunks:
            assert not re.search(r"&[a-z]*$|<[^>]*$", chunk)
            assert not re.search(r"^[a-z]*;", chunk)


def test_plain_angle_brackets_are_text() -> None:
    text = "a < b and c > d. " * 10
    chunks = split_message(text, limit=40)
    assert_well_formed(chunks, 40)
    assert squash("".join(chunks)) == squash(text)


def test_bad_limit() -> None:
    with pytest.raises(ValueError):
        split_message("abc", limit=0)


def test_input_length_guard() -> None:
    assert MAX_INPUT_CHARS == 4000
    assert not is_too_long("字" * 4000)
    assert is_too_long("字" * 4001)
    assert not is_too_long("")
    assert not is_too_long(None)


def _random_html(rng: random.Random) -> str:
    pieces = [
        "理财",
        "客户",
        "word",
        "费用。",
        "fine.",
        " ",
        "\n",
        "\n\n",
        "👍",
        "&amp;",
        "，",
        "!",
    ]
    out: list[str] = []
    open_tags: list[str] = []
    for _ in range(rng.randint(20, 300)):
        roll = rng.random()
        if roll < 0.08 and len(open_tags) < 3:
            tag = rng.choice(["b", "i", "code"])
            open_tags.append(tag)
            out.append(f"<{tag}>")
        elif roll < 0.16 and open_tags:
            out.append(f"</{open_tags.pop()}>")
        else:
            out.append(rng.choice(pieces))
    out.extend(f"</{t}>" for t in reversed(open_tags))
    return "".join(out)


@pytest.mark.parametrize("seed", range(40))
def test_random_texts_keep_every_invariant(seed: int) -> None:
    rng = random.Random(seed)
    text = _random_html(rng)
    limit = rng.randint(45, 160)  # above the worst tag overhead (3 nested <code>)
    chunks = split_message(text, limit=limit)
    assert_well_formed(chunks, limit)
    assert squash("".join(chunks)) == squash(text)
