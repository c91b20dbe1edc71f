"""Fuzzy client-name matching (coach.names)."""

from __future__ import annotations

import random

import pytest

from coach.names import NameMatch, ambiguous, best_match, match_names, prepare_names

CLIENTS = [
    (1, "王建国"),
    (2, "王建华"),
    (3, "Chen Mei"),
    (4, "欧阳娜娜"),
    (5, "曾国华"),
    (6, "李娜"),
    (7, "单田芳"),
    (8, "Peter Zhang"),
]


@pytest.mark.parametrize(
    "query",
    ["王建国", "王建國", "wangjianguo", "Wang Jianguo", "WANG JIANGUO", "王健国", "Jianguo Wang",
     "wjg", "wangjiangguo"],
)  # fmt: skip
def test_all_ways_of_typing_find_wang_jianguo(query: str) -> None:
    found = best_match(query, CLIENTS)
    assert found is not None
    assert found.key == 1 and found.name == "王建国"


def test_scores_rank_exact_above_homophone_above_initials() -> None:
    assert match_names("王建国", CLIENTS)[0].score == 100
    assert match_names("王健国", CLIENTS)[0].score == 95
    assert match_names("wjg", CLIENTS)[0].score == 88


def test_results_unpack_as_key_name_score() -> None:
    key, name, score = match_names("李娜", CLIENTS)[0]
    assert (key, name, score) == (6, "李娜", 100.0)
    assert isinstance(match_names("李娜", CLIENTS)[0], NameMatch)


def test_exact_match_comes_first() -> None:
    results = match_names("王建华", CLIENTS)
    assert results[0] == NameMatch(2, "王建华", 100.0)
    assert results[1].key == 1
    assert not ambiguous(results)


@pytest.mark.parametrize(
    ("query", "key"),
    [("chen", 3), ("Chen Mei", 3), ("mei chen", 3), ("chenmei", 3), ("peter", 8),
     ("欧阳娜娜", 4), ("ouyang nana", 4), ("zengguohua", 5), ("cengguohua", 5),
     ("shantianfang", 7), ("娜娜", 4)],
)  # fmt: skip
def test_latin_names_parts_and_surname_readings(query: str, key: int) -> None:
    assert match_names(query, CLIENTS)[0].key == key


def test_surname_alone_is_ambiguous() -> None:
    results = match_names("王", CLIENTS)
    assert {r.key for r in results[:2]} == {1, 2}
    assert ambiguous(results)
    assert best_match("王", CLIENTS) is None


def test_two_clients_with_the_same_name_are_ambiguous() -> None:
    clients = [*CLIENTS, (99, "王建國")]
    results = match_names("王建国", clients)
    assert [r.key for r in results[:2]] == [1, 99]
    assert ambiguous(results)
    assert best_match("王建国", clients) is None


def test_ambiguous_edge_cases() -> None:
    assert not ambiguous([])
    assert not ambiguous([NameMatch(1, "a", 90.0)])
    assert ambiguous([NameMatch(1, "a", 90.0), NameMatch(2, "b", 86.0)])
    assert not ambiguous([NameMatch(1, "a", 90.0), NameMatch(2, "b", 80.0)])
    assert not ambiguous([NameMatch(1, "a", 100.0), NameMatch(2, "b", 96.0)])


def test_unknown_and_empty_queries() -> None:
    assert match_names("张三丰", CLIENTS) == []
    assert best_match("张三丰", CLIENTS) is None
    assert match_names("", CLIENTS) == []
    assert match_names("  ！ ", CLIENTS) == []
    assert match_names("王建国", []) == []
    assert match_names("王建国", [(1, "")]) == []


def test_limit_and_threshold() -> None:
    assert len(match_names("王", CLIENTS, limit=1)) == 1
    assert match_names("王", CLIENTS, limit=0) == []
    assert best_match("wangjiangguo", CLIENTS, threshold=90) is None


def _book(seed: int, size: int) -> list[tuple[int, str]]:
    rng = random.Random(seed)
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    given = "建国华明丽娜伟芳军秀英敏静强磊洋艳勇杰娟涛超"
    names = [
        rng.choice(surnames) + "".join(rng.sample(given, rng.randint(1, 2))) for _ in range(size)
    ]
    return list(enumerate(names))


def test_300_candidates_find_the_written_name() -> None:
    # speed over a 300-client book is measured in bench/, not here (no timed tests)
    book = _book(7, 300)
    prepare_names(name for _, name in book)
    for client_id, name in book[:50]:
        assert client_id in [m[0] for m in match_names(name, book)][:3] or any(
            other == name for _, other in book if _ != client_id)
