"""Date and time expressions, table-driven. Now = Wednesday 2026-11-25 10:00 in Shanghai."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coach.dates import find_date

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SH = "Asia/Shanghai"

CASES = [
    # text, expected local ISO due (or None), has_time, questions
    ("今天", "2026-11-25T09:00", False, []),
    ("今日", "2026-11-25T09:00", False, []),
    ("明天", "2026-11-26T09:00", False, []),
    ("明天上午10点", "2026-11-26T10:00", True, []),
    ("明天下午两点", "2026-11-26T14:00", True, []),
    ("明早9点", "2026-11-26T09:00", True, []),
    ("今晚7点", "2026-11-25T19:00", True, []),
    ("后天", "2026-11-27T09:00", False, []),
    ("大后天", "2026-11-28T09:00", False, []),
    ("下周二", "2026-12-01T09:00", False, []),
    ("下星期一", "2026-11-30T09:00", False, []),
    ("下礼拜五", "2026-12-04T09:00", False, []),
    ("下下周一", "2026-12-07T09:00", False, []),
    ("周五", "2026-11-27T09:00", False, []),
    ("这周五", "2026-11-27T09:00", False, []),
    ("本周四", "2026-11-26T09:00", False, []),
    ("星期天", "2026-11-29T09:00", False, []),
    ("周一", "2026-11-30T09:00", False, []),
    ("周三", "2026-11-25T09:00", False, []),
    ("周五下午3点", "2026-11-27T15:00", True, []),
    ("周五下午3点半", "2026-11-27T15:30", True, []),
    ("周五上午十点一刻", "2026-11-27T10:15", True, []),
    ("3天后", "2026-11-28T09:00", False, []),
    ("三天后", "2026-11-28T09:00", False, []),
    ("10天以后", "2026-12-05T09:00", False, []),
    ("两周后", "2026-12-09T09:00", False, []),
    ("2周后", "2026-12-09T09:00", False, []),
    ("一个月后", "2026-12-25T09:00", False, []),
    ("月底", "2026-11-30T09:00", False, []),
    ("下个月底", "2026-12-31T09:00", False, []),
    ("下个月初", "2026-12-01T09:00", False, []),
    ("11月30日", "2026-11-30T09:00", False, []),
    ("11月30号", "2026-11-30T09:00", False, []),
    ("十二月三日", "2026-12-03T09:00", False, []),
    ("12月3号下午2点", "2026-12-03T14:00", True, []),
    ("12/3", "2026-12-03T09:00", False, []),
    ("12/24 10:30", "2026-12-24T10:30", True, []),
    ("2026-12-03", "2026-12-03T09:00", False, []),
    ("2027年1月5日", "2027-01-05T09:00", False, []),
    ("晚上8点", "2026-11-25T20:00", True, []),
    ("下午3点", "2026-11-25T15:00", True, []),
    ("3点", "2026-11-25T15:00", True, []),
    ("11点", "2026-11-25T11:00", True, []),
    ("中午", "2026-11-25T12:00", True, []),
    ("中午12点", "2026-11-25T12:00", True, []),
    ("下午", "2026-11-25T15:00", True, []),
    ("15:00", "2026-11-25T15:00", True, []),
    ("15：30", "2026-11-25T15:30", True, []),
    ("tomorrow", "2026-11-26T09:00", False, []),
    ("tomorrow 3pm", "2026-11-26T15:00", True, []),
    ("Tomorrow 10:30am", "2026-11-26T10:30", True, []),
    ("today 4pm", "2026-11-25T16:00", True, []),
    ("day after tomorrow", "2026-11-27T09:00", False, []),
    ("in 3 days", "2026-11-28T09:00", False, []),
    ("in 2 weeks", "2026-12-09T09:00", False, []),
    ("in a month", "2026-12-25T09:00", False, []),
    ("next tuesday", "2026-12-01T09:00", False, []),
    ("Next Monday 2pm", "2026-11-30T14:00", True, []),
    ("friday", "2026-11-27T09:00", False, []),
    ("this friday", "2026-11-27T09:00", False, []),
    ("fri 3:30pm", "2026-11-27T15:30", True, []),
    ("dec 3", "2026-12-03T09:00", False, []),
    ("3 Dec", "2026-12-03T09:00", False, []),
    ("December 24th", "2026-12-24T09:00", False, []),
    ("end of month", "2026-11-30T09:00", False, []),
    ("周五下午3点再打", "2026-11-27T15:00", True, []),
    ("客户说下周二上午再联系", "2026-12-01T10:00", True, []),
    # bad, ambiguous and past: asked about, never guessed silently
    ("11月1日", "2026-11-01T09:00", False, ["date_in_past"]),
    ("2026-10-01", "2026-10-01T09:00", False, ["date_in_past"]),
    ("今天上午9点", "2026-11-25T09:00", True, ["date_in_past"]),
    ("上午8点", "2026-11-25T08:00", True, ["date_in_past"]),
    ("yesterday", "2026-11-24T09:00", False, ["date_in_past"]),  # read, then asked
    ("2月30日", None, False, ["invalid_date"]),
    ("13/45", None, None, None),
    ("25点", None, True, ["invalid_date"]),
    ("明天25点", None, True, ["invalid_date"]),
    ("3点70分", None, True, ["invalid_date"]),
    ("14pm", None, True, ["invalid_date"]),
    ("2026-13-01", None, False, ["invalid_date"]),
    ("1月5日", "2027-01-05T09:00", False, ["ambiguous_date"]),
    ("money market fund", None, None, None),
    ("client satisfied", None, None, None),
    ("friendly wedding", None, None, None),
    ("decided 3 funds", None, None, None),
    ("有一点犹豫", None, None, None),
    ("一时冲动", None, None, None),
    ("下午一点", "2026-11-25T13:00", True, []),
    ("", None, None, None),
    ("有兴趣", None, None, None),
    ("😀😀", None, None, None),
]


@pytest.mark.parametrize(("text", "due", "has_time", "questions"), CASES)
def test_find_date(text: str, due: str | None, has_time: bool | None,
                   questions: list[str] | None) -> None:
    result = find_date(text, NOW, SH)
    if has_time is None:
        assert result is None or result.due is None
        return
    assert result is not None
    assert (result.due.strftime("%Y-%m-%dT%H:%M") if result.due else None) == due
    assert result.has_time == has_time
    assert result.questions == questions


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 70
    assert sum(1 for c in CASES if c[3] != []) >= 12


def test_results_are_aware_in_the_advisors_zone() -> None:
    hk = find_date("明天下午3点", NOW, "Asia/Hong_Kong")
    london = find_date("明天下午3点", NOW, "Europe/London")
    assert hk is not None and london is not None and hk.due is not None and london.due is not None
    assert hk.due.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
    assert london.due.isoformat() == "2026-11-26T15:00:00+00:00"
    # 02:00 UTC is still the 25th in London: "明天" is the 26th there too
    assert hk.due.date().isoformat() == "2026-11-26"


def test_london_evening_is_already_tomorrow_in_shanghai() -> None:
    late = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # 20:00 London = 04:00 26th Shanghai
    assert find_date("明天", late, "Europe/London").due.date().isoformat() == "2026-11-26"  # type: ignore[union-attr]
    assert find_date("明天", late, SH).due.date().isoformat() == "2026-11-27"  # type: ignore[union-attr]


def test_span_lets_the_rest_become_notes() -> None:
    text = "客户说下周二上午再联系"
    result = find_date(text, NOW, SH)
    assert result is not None
    assert text[result.span[0]:result.span[1]] == "下周二上午"
