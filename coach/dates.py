"""Dates and times as advisors type them, in Chinese or English, relative to *now*.

``find_date("周五下午3点再打", now, "Asia/Shanghai")`` finds the first date/time
expression in a sentence and returns an aware datetime in the advisor's time
zone, the span it covered (the rest becomes notes) and the questions that must
be asked instead of guessing: ``date_in_past``, ``ambiguous_time``,
``invalid_date``.

Conventions (documented for advisors in the README):
- ``12/3`` is month/day (Chinese and US order): 3 December.
- A weekday alone ("周五", "friday") is the next such day from today; today's own
  weekday means today. "下周二" / "next tuesday" is Tuesday of next week.
- An hour without 上午/下午/am/pm: 8-11 are mornings, 12 is noon, 1-7 are afternoons
  (bank hours); 13-23 are 24-hour times.
- A date with no time gets ``default_time`` (09:00) and ``has_time`` False.
- A date or time already past is returned as typed, with ``date_in_past``.
"""

from __future__ import annotations

import calendar as _cal
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["DATE_PATTERNS", "TIME_PATTERNS", "ParsedDate", "all_matches", "find_date",
           "parse_date"]

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9, "十": 10}
WEEKDAYS_CN = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
               "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
WEEKDAYS_EN = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MONTHS_EN = {m.lower(): i for i, m in enumerate(_cal.month_abbr) if m}

NUM = r"(?:\d{1,3}|[零〇一二两三四五六七八九十]{1,3})"
# whole words only: "money" is not Monday, "decided" is not December
WEEKDAY_WORDS = ("monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thu|friday|fri|"
                 "saturday|sat|sunday|sun")
MONTH_WORDS = ("january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug|"
               "september|sept|sep|october|oct|november|nov|december|dec")
_DAY_WORDS = {"今天": 0, "今日": 0, "今晚": 0, "明天": 1, "明日": 1, "明早": 1, "明晚": 1,
              "后天": 2, "大后天": 3, "听日": 1, "后日": 2,
              "昨天": -1, "昨日": -1, "琴日": -1, "前天": -2, "大前天": -3,
              "today": 0, "tonight": 0, "tomorrow": 1, "tmr": 1, "tmrw": 1, "tmw": 1,
              "day after tomorrow": 2, "yesterday": -1}
DAY_WORD = re.compile(r"大后天|后天|明天|明日|明早|明晚|今天|今日|今晚|听日|后日|"
                      r"大前天|前天|昨天|昨日|琴日|"
                      r"\b(?:day after tomorrow|tomorrow|today|tonight|tmrw|tmr|tmw|yesterday)\b")

DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?")),
    ("md_cn", re.compile(rf"(?P<m>{NUM})月(?P<d>{NUM})[日号]?")),
    ("md_slash", re.compile(r"(?<![\d/])(?P<m>\d{1,2})/(?P<d>\d{1,2})(?![\d/])")),
    # "12-03" and "12.3" (only when they are a real month and day, and no sum: "1.5万")
    ("md_dash", re.compile(r"(?<![\d-])(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d-])")),
    ("md_dot", re.compile(r"(?<![\d.])(?P<m>\d{1,2})\.(?P<d>\d{1,2})"
                          r"(?![\d.%])(?!\s*(?:万|w|k|千|亿|元|块|m\b|倍))")),
    ("month_day", re.compile(rf"(?P<rel>下下个?月|下个?月|本月|这个?月)(?P<d>{NUM})[日号]")),
    ("day_only", re.compile(r"(?<![\d月/.\-:])(?P<d>\d{1,2}|[一二三四五六七八九十]{1,3})\s*[号日]"
                            r"(?![码后内])")),
    ("md_en", re.compile(rf"\b(?P<mon>{MONTH_WORDS})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b")),
    ("dm_en", re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{MONTH_WORDS})\b")),
    ("rel_cn", re.compile(rf"(?P<n>{NUM})\s*(?P<unit>天|日|周|个星期|星期|礼拜|个礼拜|个月|月)"
                          r"(?:以)?后")),
    ("rel_en", re.compile(r"\bin\s+(?P<n>\d{1,3}|a|one|two|three|four|five|six|seven)\s+"
                          r"(?P<unit>days?|weeks?|months?)\b")),
    ("month_end", re.compile(r"(?P<next>下个?)?月底|月末|(?P<en>end of (?:the |this )?month)")),
    ("month_start", re.compile(r"下个?月初|(?<![本这])月初|(?:early|beginning of) next month")),
    ("weekend", re.compile(r"(?P<rel>下|这|本)?个?(?:周末|礼拜末|星期末)|"
                           r"\b(?P<en>this |next )?weekend\b")),
    ("weekday_past", re.compile(r"(?P<rel>上上|上)个?(?:周|星期|礼拜)"
                                r"(?P<wd>[一二三四五六日天1-7])")),
    ("weekday_last", re.compile(rf"\blast\s+(?P<wd>{WEEKDAY_WORDS})\b")),
    # a week with no day: not guessed, asked
    ("week_only", re.compile(r"(?:下下|下|这|本)个?(?:周|星期|礼拜)(?![一二三四五六日天1-7末])|"
                             r"\bnext week\b")),
    ("weekday_cn", re.compile(r"(?P<rel>下下|下|这|本)?(?:个)?(?:周|星期|礼拜)"
                              r"(?P<wd>[一二三四五六日天1-7])")),
    ("weekday_en", re.compile(rf"\b(?:(?P<rel>next|this|coming)\s+)?(?P<wd>{WEEKDAY_WORDS})\b")),
    ("day_word", DAY_WORD),
]

TIME_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("en_ampm", re.compile(r"\b(?P<h>\d{1,2})(?::(?P<mi>\d{2}))?\s*(?P<ap>am|pm|a\.m\.|p\.m\.)")),
    ("cn", re.compile(r"(?:(?P<part>上午|早上|早晨|早|中午|下午|傍晚|晚上|晚|凌晨)\s*)?"
                      rf"(?P<h>{NUM})\s*"
                      rf"点(?:(?P<half>半)|(?P<quarter>一刻|三刻)|(?P<mi>{NUM})分?)?")),
    ("colon", re.compile(r"(?:(?P<part>上午|早上|中午|下午|晚上)\s*)?(?<![\d/])(?P<h>\d{1,2})[:：]"
                         r"(?P<mi>\d{2})(?!\d)")),
    ("part_only", re.compile(r"上午|早上|中午|下午|傍晚|晚上|morning|afternoon|evening|noon")),
]
ROLL_OVER_DAYS = 60
PART_DEFAULT = {"上午": time(10), "早上": time(9), "中午": time(12), "下午": time(15),
                "傍晚": time(18), "晚上": time(19), "morning": time(10), "afternoon": time(15),
                "evening": time(19), "noon": time(12)}


@dataclass
class ParsedDate:
    """A date found in text: ``due`` is aware, in the advisor's time zone."""

    due: datetime | None
    has_time: bool
    span: tuple[int, int]
    questions: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)  # the date and time parts
    known: list[tuple[int, int]] = field(default_factory=list)  # other dates (maturities)


def cn_number(text: str) -> int:
    """"3", "十二", "二十", "两" → int."""
    if text.isdigit():
        return int(text)
    if text in ("a", "one"):
        return 1
    words = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
    if text in words:
        return words[text]
    if "十" in text:
        tens, _, ones = text.partition("十")
        tens_value = CN_DIGITS.get(tens, 1) if tens else 1
        return tens_value * 10 + (CN_DIGITS.get(ones, 0) if ones else 0)
    value = 0
    for ch in text:
        value = value * 10 + CN_DIGITS[ch]
    return value


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


def _month_end(day: date) -> date:
    return date(day.year, day.month, _cal.monthrange(day.year, day.month)[1])


def _date_from(kind: str, m: re.Match[str], today: date) -> tuple[date | None, list[str]]:
    g = m.groupdict()
    if kind == "day_word":
        return today + timedelta(days=_DAY_WORDS[m.group(0)]), []
    if kind == "week_only":
        return None, ["unclear_date"]
    if kind == "month_day":
        rel = g["rel"]
        months = 2 if rel.startswith("下下") else 1 if rel.startswith("下") else 0
        first = _add_months(today.replace(day=1), months)
        try:
            return first.replace(day=cn_number(g["d"])), []
        except ValueError:
            return None, ["invalid_date"]
    if kind == "day_only":
        # "30号" is this month's 30th; a day already gone this month is next month's
        day_number = cn_number(g["d"])
        if not 1 <= day_number <= 31:
            return None, ["invalid_date"]
        for months in (0, 1, 2):
            first = _add_months(today.replace(day=1), months)
            if day_number <= _cal.monthrange(first.year, first.month)[1] and (
                    months or day_number >= today.day):
                return first.replace(day=day_number), []
        return None, ["invalid_date"]
    if kind == "weekend":
        saturday = today - timedelta(days=today.weekday()) + timedelta(days=5)
        nxt = (g.get("rel") == "下") or (g.get("en") or "").strip() == "next"
        return saturday + timedelta(days=7 if nxt else 0), []
    if kind in ("weekday_past", "weekday_last"):
        target = WEEKDAYS_CN[g["wd"]] if kind == "weekday_past" else WEEKDAYS_EN[g["wd"][:3]]
        monday = today - timedelta(days=today.weekday())
        weeks = 2 if g.get("rel") == "上上" else 1
        return monday - timedelta(days=7 * weeks) + timedelta(days=target), []
    if kind in ("iso", "md_cn", "md_slash", "md_en", "dm_en", "md_dash", "md_dot"):
        month = MONTHS_EN[g["mon"][:3]] if g.get("mon") else cn_number(g["m"])
        year = int(g["y"]) if g.get("y") else today.year
        if abs(year - today.year) > 1:  # a follow-up is never years away: a typo, not a date
            return None, ["invalid_date"]
        try:
            return date(year, month, cn_number(g["d"])), []
        except ValueError:
            return None, ["invalid_date"]
    if kind in ("rel_cn", "rel_en"):
        n, unit = cn_number(g["n"]), g["unit"]
        if unit.startswith(("月", "个月", "month")):
            return _add_months(today, n), []
        days = n * 7 if unit.startswith(("周", "星期", "礼拜", "个", "week")) else n
        return today + timedelta(days=days), []
    if kind == "month_end":
        base = _add_months(today.replace(day=1), 1) if g.get("next") else today
        return _month_end(base), []
    if kind == "month_start":
        return _add_months(today.replace(day=1), 1), []
    if kind in ("weekday_cn", "weekday_en"):
        target = WEEKDAYS_CN[g["wd"]] if kind == "weekday_cn" else WEEKDAYS_EN[g["wd"][:3]]
        rel = g.get("rel") or ""
        monday = today - timedelta(days=today.weekday())
        if rel in ("下", "next"):
            return monday + timedelta(days=7 + target), []
        if rel == "下下":
            return monday + timedelta(days=14 + target), []
        if rel in ("这", "本", "this"):
            return monday + timedelta(days=target), []
        ahead = (target - today.weekday()) % 7
        return today + timedelta(days=ahead), []
    raise AssertionError(kind)


def _time_from(kind: str, m: re.Match[str]) -> tuple[time | None, list[str]]:
    g = m.groupdict()
    if kind == "part_only":
        return PART_DEFAULT[m.group(0)], []
    if kind == "cn" and g["h"] == "一" and not (g.get("part") or g.get("mi") or g.get("half")):
        return None, ["not_a_time"]
    hour = cn_number(g["h"])
    minute = 0
    if g.get("half"):
        minute = 30
    elif g.get("quarter"):
        minute = 15 if g["quarter"] == "一刻" else 45
    elif g.get("mi"):
        minute = cn_number(g["mi"])
    part = g.get("part") or ""
    ap = (g.get("ap") or "").replace(".", "")
    if hour > 24 or minute > 59 or (ap and hour > 12):
        return None, ["invalid_date"]
    if ap == "pm" or part in ("下午", "傍晚", "晚上", "晚"):
        if hour < 12:
            hour += 12
    elif ap == "am" or part in ("上午", "早上", "早晨", "早", "凌晨"):
        if hour == 12:
            hour = 0
    elif part == "中午":
        if hour < 6:
            hour += 12
    elif 1 <= hour <= 7 and kind != "colon":
        hour += 12  # "3点" in bank hours is 15:00
    if hour == 24:
        hour = 0
    return time(hour, minute), []


EXPLICIT = ("iso", "md_cn", "md_slash", "md_en", "dm_en", "md_dash", "md_dot")
WEEKDAY_KINDS = ("weekday_cn", "weekday_en")
ALTERNATIVE = re.compile(r"\s*(?:还是|或者|或是|或|要么|or|/)\s*")
MATURITY = re.compile(r"\s*(?:的|有|那笔|那份|定期|存款|理财|资金){0,3}\s*(?:到期|满期)|"
                      r"\s*(?:maturity|matures|maturing|expires)")
MATURITY_BEFORE = re.compile(r"(?:matures|maturity|maturing|expires|due)\s*(?:on\s*)?$|"
                             r"到期日\s*$")
ADJACENT = re.compile(r"[\s的,，]*")


def _valid_md(kind: str, m: re.Match[str]) -> bool:
    """"12-03" / "12.3" are dates only when they read as a real month and day."""
    if kind not in ("md_dash", "md_dot"):
        return True
    month, day = int(m.group("m")), int(m.group("d"))
    return 1 <= month <= 12 and 1 <= day <= 31


def all_matches(patterns: list[tuple[str, re.Pattern[str]]], text: str
         ) -> list[tuple[str, re.Match[str]]]:
    """Every non-overlapping match, earliest first (at one place the longest wins)."""
    found = [(kind, m) for kind, pattern in patterns for m in pattern.finditer(text)
             if m.end() > m.start() and _valid_md(kind, m)]
    found.sort(key=lambda f: (f[1].start(), -(f[1].end() - f[1].start())))
    chosen: list[tuple[str, re.Match[str]]] = []
    for kind, m in found:
        if not chosen or m.start() >= chosen[-1][1].end():
            chosen.append((kind, m))
    return chosen


def _first(patterns: list[tuple[str, re.Pattern[str]]], text: str
           ) -> tuple[str, re.Match[str]] | None:
    found = all_matches(patterns, text)
    return found[0] if found else None


def _weekday_of(kind: str, m: re.Match[str]) -> int:
    wd = m.group("wd")
    return WEEKDAYS_CN[wd] if kind == "weekday_cn" else WEEKDAYS_EN[wd[:3]]


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def find_date(text: str, now: datetime, tz: str, *,
              default_time: time = time(9, 0)) -> ParsedDate | None:
    """The first date and/or time expression in ``text`` (lower-case it first for English).

    Two dates joined by "还是 / 或 / or" ask ``alternative_dates``; a weekday next to a
    date it contradicts ("周五12月3日" when the 3rd is a Thursday) asks ``weekday_mismatch``;
    a week without a day ("下周") asks ``unclear_date``.
    """
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    lowered = text.lower()
    dates = all_matches(DATE_PATTERNS, lowered)
    if len(dates) > 1:
        # "12月20日到期，明天再打": a maturity date is what the client has, not the next step
        kept = [d for d in dates if not (MATURITY.match(lowered, d[1].end())
                                         or MATURITY_BEFORE.search(lowered, 0, d[1].start()))]
        known = [d[1].span() for d in dates if d not in kept] if kept else []
        dates = kept or dates
    else:
        known = []
    # "12/3" is not 12:03, "3天后" has no time: dates win an overlap
    found_time = _first(TIME_PATTERNS, _blank(lowered, [m.span() for _, m in dates]))
    found_date = dates[0] if dates else None
    if not found_date and not found_time:
        return None
    questions: list[str] = []
    day, when = local_now.date(), None
    spans = []
    if found_date:
        parsed_day, problems = _date_from(found_date[0], found_date[1], local_now.date())
        questions += problems
        spans.append(found_date[1].span())
        if parsed_day is not None:
            day = parsed_day
        if len(dates) > 1:
            second = dates[1]
            between = lowered[found_date[1].end():second[1].start()]
            kinds = {found_date[0], second[0]}
            if ALTERNATIVE.fullmatch(between):
                questions.append("alternative_dates")
                spans.append(second[1].span())
            elif (ADJACENT.fullmatch(between) and kinds & set(WEEKDAY_KINDS)
                  and kinds & set(EXPLICIT)):
                weekday, explicit = ((found_date, second) if found_date[0] in WEEKDAY_KINDS
                                     else (second, found_date))
                exact, problems = _date_from(explicit[0], explicit[1], local_now.date())
                questions += problems
                spans.append(second[1].span())
                if exact is not None:
                    by_weekday, _ = _date_from(weekday[0], weekday[1], local_now.date())
                    if exact.weekday() != _weekday_of(*weekday) or (
                            weekday[1].group("rel") and by_weekday != exact):
                        questions.append("weekday_mismatch")
                    day, found_date = exact, explicit
            elif ADJACENT.fullmatch(between):
                # "明天 后天", "周四周五": two days side by side are a choice, not a date
                other, _ = _date_from(second[0], second[1], local_now.date())
                if other is not None and parsed_day is not None and other != parsed_day:
                    questions.append("alternative_dates")
                    spans.append(second[1].span())
    if found_time:
        when, problems = _time_from(found_time[0], found_time[1])
        if problems == ["not_a_time"]:
            found_time, when, problems = None, None, []
            if not found_date:
                return None
        else:
            spans.append(found_time[1].span())
        questions += problems
    span = (min(s for s, _ in spans), max(e for _, e in spans))
    if "invalid_date" in questions or "unclear_date" in questions:
        return ParsedDate(None, found_time is not None, span, sorted(set(questions)), spans,
                          known)
    if (found_date and found_date[0] in ("md_cn", "md_slash", "md_en", "dm_en", "md_dash",
                                         "md_dot")
            and (local_now.date() - day).days > ROLL_OVER_DAYS):
        # "1月5日" typed in November most likely means next January: take it, but ask
        last = _cal.monthrange(day.year + 1, day.month)[1]
        day = date(day.year + 1, day.month, min(day.day, last))
        questions.append("ambiguous_date")
    due = datetime.combine(day, when or default_time, zone)
    if found_date and day < local_now.date() or when is not None and due <= local_now:
        questions.append("date_in_past")
    return ParsedDate(due, when is not None, span, questions, spans, known)


def _overlap(a: re.Match[str], b: re.Match[str]) -> bool:
    return a.start() < b.end() and b.start() < a.end()


def parse_date(text: str, now: datetime, tz: str, *,
               default_time: time = time(9, 0)) -> ParsedDate | None:
    """Like :func:`find_date`, for a whole answer such as a typed "pick a date"."""
    return find_date(text.strip(), now, tz, default_time=default_time)
