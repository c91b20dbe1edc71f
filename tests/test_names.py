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


def test_batched_fuzzy_ratios_score_exactly_as_one_pair_at_a_time() -> None:
    """match_names computes the fuzzy ratios of the whole book in two rapidfuzz calls;
    every score must equal the one-pair-at-a-time rule (same rounding, same order)."""
    import random

    from coach.names import _forms, _query_forms, _score

    rng = random.Random(5)
    surnames = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林高罗曾单欧阳司马"
    given = "建国秀英志强丽华海燕春梅伟明静怡德胜玉兰健晓东文博雅琴"
    names = ["".join(rng.choice(surnames) + "".join(rng.sample(given, rng.randint(1, 2))))
             for _ in range(300)]
    names += ["Chen Mei", "Wang Jianguo", "Mary Lee", "O'Brien Kate", "李·阿布都", "欧阳晓梅"]
    book = [(i, n) for i, n in enumerate(names)]
    queries = [*rng.sample(names, 40), "王建国", "王健国", "wjg", "chen", "jianguo wang",
               "王", "建国", "wangjianguo", "Mary", "li", "欧阳", "xiaomei", "晓梅", "张三丰",
               *(n[:-1] for n in rng.sample(names, 20)), *(n + "子" for n in rng.sample(names, 10))]
    for query in queries:
        q_chars, q_pinyin = _query_forms(query)
        expected = sorted(((_score(q_chars, q_pinyin, _forms(n)), i, n) for i, n in book),
                          key=lambda t: (-t[0], t[1]))
        expected = [(i, n, s) for s, i, n in expected if s >= 70.0][:8]
        got = [(m.key, m.name, m.score) for m in match_names(query, book, limit=8)]
        assert got == expected, query
