"""One chat line about a call → client, outcome, amount (and period), product, next date, notes.

``parse_log_line("王建国 有兴趣 周五下午3点再打", now=…, tz="Asia/Shanghai")`` →
client 王建国, interested_thinking, due Friday 15:00 local. The client is the name
as typed without a title or form of address ("Mrs Chan" → "Chan", "陈先生" → "陈");
the caller fuzzy-matches it against the advisor's own clients. ``questions`` lists
what must be asked rather than guessed.

How a line is read (each step blanks what it recognised, the rest becomes notes):

1. fold: Traditional → Simplified, full-width → half-width, lower case, and the
   punctuation between fields (，、；, …) → spaces; every offset is kept, so notes and
   the client are cut from the line as typed;
2. client: the first word(s), a title stripped;
3. outcome: :func:`coach.outcomes.find_outcome` (data file, negation, priority);
4. date and time: :func:`coach.dates.find_date` (past, alternatives, contradictions
   and a date-like word it cannot read are questions, never silently dropped);
5. amount anywhere: digits or Chinese numerals (cn2an) with 万/w/k/千/亿/元/块/RMB/HKD,
   per period when 每月 / 年缴 / /月 / a year… is next to it; times, dates, phone
   numbers, percentages and risk levels (R3, C2) are never amounts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import cn2an

from coach.dates import DATE_PATTERNS, TIME_PATTERNS, all_matches, find_date
from coach.outcomes import Outcome, find_outcome, fold_separators, phrase_starts
from coach.privacy import COMPOUND_SURNAMES
from scripts_library.normalize import to_simplified

__all__ = ["LogLine", "parse_amount", "parse_log_line"]

_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
AMOUNT = re.compile(
    r"(?<![a-z0-9.])(?P<cur>[¥￥$]|rmb|hkd|cny|usd|hk\$)?\s*"
    r"(?:(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"|(?P<cn>[一二两三四五六七八九十][{_CN_DIGITS}]*))\s*"
    r"(?P<unit>万元|万|w|k|千|百万|亿元|亿|m(?![a-z]))?\s*"
    r"(?P<tail>元人民币|元|块钱|块|rmb|hkd|cny|港币|港元|人民币|美元)?")
# what may not follow an amount: it was a time, date, age, count, rate or duration
NOT_MONEY_AFTER = re.compile(r"\s*(?:[%％点号日天周岁次倍期个分秒:：]|月(?!缴|交|供)|年(?![缴交])|"
                             r"小时)|[a-z0-9]")
PERIOD_BEFORE = re.compile(r"(?P<p>每个?月|月缴|月交|月供|月付|每年|年缴|年交|年付|每季度?|季缴|"
                           r"monthly|"
                           r"annual(?:ly)?|yearly)\s*(?:缴|交|付|定投|存)?\s*$")
PERIOD_AFTER = re.compile(r"\s*(?:/|每|per\s+|a\s+|an\s+|一)\s*(?P<p>个月|月|month|mo|季度|季|"
                          r"quarter|年|year|yr|annum)(?![a-z])|\s*(?P<w>monthly|annually|yearly)\b")
PERIODS = {"月": "month", "个月": "month", "month": "month", "mo": "month", "monthly": "month",
           "年": "year", "year": "year", "yr": "year", "annum": "year", "annual": "year",
           "annually": "year", "yearly": "year", "季": "quarter", "季度": "quarter",
           "quarter": "quarter"}
UNITS = {"万元": 10_000, "万": 10_000, "w": 10_000, "k": 1_000, "千": 1_000, "百万": 1_000_000,
         "亿元": 100_000_000, "亿": 100_000_000, "m": 1_000_000}
MIN_BARE_AMOUNT = 1000
MAX_BARE_DIGITS = 7  # 8+ bare digits are a phone or an account number, not a sum

FILLERS = re.compile(r"再打|再联系|再电话|再约|再聊|再回访|回访|回电|跟进|打电话|"
                     r"\b(?:call back|callback|"
                     r"follow up|follow-up|call again|again|call|ring him|ring her|try|on)\b",
                     re.IGNORECASE)
# words that mean nothing once the parts around them are recognised
PARTICLES = frozenset({
    "了", "的", "说", "他说", "她说", "客户说", "再", "吧", "啊", "呢", "哦", "嘛",
    "呀", "已", "已经", "都", "也", "就", "还", "先", "和", "跟", "在", "于",
    "时", "左右", "大概", "约", "咗", "啦", "喔", "见",
    "and", "at", "in", "to", "the", "said", "him", "her", "then", "for", "of", "is", "was",
})
PARTICLE_EDGES = "了的说再吧啊呢哦嘛呀啦"
# a date-like word left over after the dates were read: asked about, not kept as a note
UNREAD_DATE = re.compile(r"\d{1,4}\s*[月号日]|\d{1,2}\s*[/-]\s*\d{1,2}|"
                         r"[一二三四五六七八九十]{1,3}[号]|"
                         r"(?:周|星期|礼拜)[一二三四五六日天]")

# where a booked meeting takes place: a venue word, with the name in front of it
PLACE = re.compile(
    r"(?P<cn>[^\s在到来去于的约见]{0,6}?(?:网点|支行|分行|营业部|营业厅|银行|办公室|公司|家里|家中|"
    r"咖啡厅|咖啡馆|星巴克|茶楼|茶馆|酒店|会所|餐厅|大厦))|"
    r"\bat (?:the |our |his |her )?(?P<en>(?:[a-z0-9'&-]+ ){0,3}?(?:branch|office|cafe|café|"
    r"starbucks|hotel|home|restaurant|centre|center|tower|plaza|mall|club))\b")
TITLE_WORDS = frozenset({"mr", "mrs", "ms", "miss", "mdm", "madam", "dr", "uncle", "auntie",
                         "aunty", "sir", "mister", "prof"})
CN_TITLE_SUFFIXES = (
    "先生", "太太", "女士", "小姐", "阿姨", "叔叔", "伯伯", "奶奶", "爷爷", "大爷",
    "老板", "老师", "经理", "总", "太", "姐", "哥", "叔", "伯", "姨", "生", "sir",
)
CN_TITLE_PREFIXES = ("老", "小", "阿")
NOT_NAMES = frozenset({"said", "says", "is", "was", "wants", "want", "will", "has", "had", "asked",
                       "very", "quite", "went", "called", "sent", "too", "the", "to", "and",
                       "again", "already", "just", "also", "client", "customer", "he", "she",
                       "they", "re", "about", "for", "on", "at", "in", "updated", "does", "did",
                       "may", "might", "would", "can", "cannot", "could", "wife", "husband",
                       "complaint", "risk", "non", "over", "take", "remove", "never", "stop",
                       "do", "no", "not", "follow", "call", "booked", "keen"})


@dataclass
class LogLine:
    client: str | None
    outcome: Outcome | None
    due: datetime | None
    has_time: bool
    amount: Decimal | None
    product: str | None
    notes: str
    questions: list[str] = field(default_factory=list)
    period: str | None = None  # month | quarter | year: the amount is paid per period
    place: str | None = None  # where a booked meeting takes place (not in as_json)

    def as_json(self) -> dict[str, object]:
        return {
            "client": self.client,
            "outcome": self.outcome.value if self.outcome else None,
            "due": self.due.isoformat() if self.due else None,
            "amount": float(self.amount) if self.amount is not None else None,
            "period": self.period,
            "product": self.product,
            "notes": self.notes,
            "questions": self.questions,
        }


def _fold(text: str) -> str:
    """Simplified, half-width, lower case, separators as spaces; same length as ``text``."""
    chars = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        chars.append(folded if len(folded) == 1 else ch)
    return fold_separators("".join(chars).lower())


def _money(m: re.Match[str], cn: str | None) -> Decimal | None:
    unit = m.group("unit") or ""
    tail = m.group("tail") or ""
    try:
        if cn:
            if not (unit or tail or any(c in cn for c in "百千万亿")):
                return None  # "三年", "十二点": a Chinese number without money words
            value = Decimal(str(cn2an.cn2an(cn, "smart")))
        else:
            value = Decimal(m.group("num").replace(",", ""))
    except (InvalidOperation, ValueError, KeyError):
        return None
    if unit:
        return value * UNITS[unit]
    if m.group("cur") or tail:
        return value
    digits = m.group("num").replace(",", "").split(".")[0] if m.group("num") else ""
    if cn:
        return value
    if value < MIN_BARE_AMOUNT or ("," not in m.group("num") and len(digits) > MAX_BARE_DIGITS):
        return None
    return value


def _find_amount(text: str) -> tuple[Decimal, tuple[int, int], str | None] | None:
    """The first sum in ``text`` (folded): value, span (with its period words), period."""
    return next(_amounts(text), None)


def _amounts(text: str) -> Iterator[tuple[Decimal, tuple[int, int], str | None]]:
    """Every sum in ``text`` (folded), in order."""
    for m in AMOUNT.finditer(text):
        if not (m.group("num") or m.group("cn")):
            continue
        end = m.end()
        while end > m.start() and text[end - 1] == " ":
            end -= 1
        after = text[end:]
        period_after = PERIOD_AFTER.match(after)
        cn = m.group("cn")
        if period_after is None and NOT_MONEY_AFTER.match(after):
            last_unit = max(cn.rfind("万"), cn.rfind("亿"), cn.rfind("千")) if cn else -1
            if not cn or m.group("unit") or m.group("tail") or last_unit < 0:
                continue
            # "二十万三年定期": the sum is 二十万, "三年" is the term
            cn = cn[:last_unit + 1]
            end = m.start("cn") + len(cn)
            period_after = PERIOD_AFTER.match(text[end:])
        if m.group("cur") is None and m.start() > 0 and text[m.start() - 1] in "rc":
            continue  # R3, C2: risk levels
        value = _money(m, cn)
        if value is None:
            continue
        start, period = m.start(), None
        while start < end and text[start] == " ":
            start += 1
        window_start = max(0, start - 8)
        before = PERIOD_BEFORE.search(text[window_start:start])
        if before:
            period = _period_word(before.group("p"))
            start = window_start + before.start()
        if period_after:
            period = PERIODS[period_after.group("p") or period_after.group("w")]
            end += period_after.end()
        yield value, (start, end), period


def _period_word(word: str) -> str | None:
    if "月" in word or word == "monthly":
        return "month"
    if "季" in word:
        return "quarter"
    if "年" in word or word.startswith(("annual", "year")):
        return "year"
    return None


def parse_amount(text: str) -> tuple[Decimal, tuple[int, int]] | None:
    """The first money amount in ``text``: 500k, 50万, 八十万, 1,000,000, 20w, 1.5m, ¥50000."""
    found = _find_amount(_fold(to_simplified(text)) if text else "")
    return (found[0], found[1]) if found else None


def _blank(text: str, span: tuple[int, int]) -> str:
    return text[: span[0]] + " " * (span[1] - span[0]) + text[span[1]:]


def _other_starts(folded: str, now: datetime) -> frozenset[int]:
    """Where an outcome phrase, a date or time, or a sum begins: a name stops there.

    Computed once per line (the name scan asks about every word of it).
    """
    starts = set(phrase_starts(folded))
    lowered = folded.lower()
    starts.update(m.start() for _, m in all_matches(DATE_PATTERNS, lowered))
    starts.update(m.start() for _, m in all_matches(TIME_PATTERNS, lowered))
    starts.update(span[0] for _, span, _ in _amounts(folded))
    return frozenset(starts)


def _strip_cn_title(name: str) -> tuple[int, int]:
    """Where the surname is: "陈先生" → 陈, "王阿姨" → 王, "老王" → 王, "欧阳女士" → 欧阳.

    Only a bare surname (one character, or a compound one) counts as titled, so a
    given name ending like a title ("王建生") stays whole.
    """
    for suffix in CN_TITLE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            surname = name[: -len(suffix)]
            if len(surname) == 1 or surname in COMPOUND_SURNAMES:
                return 0, len(surname)
    if len(name) == 2 and name[0] in CN_TITLE_PREFIXES:
        return 1, 2
    return 0, len(name)


def _split_client(folded: str, original: str, now: datetime
                  ) -> tuple[tuple[int, int] | None, int]:
    """Where the client's name is in the line (title stripped) and where the rest starts.

    Latin names: up to three words; after a capitalised first word ("Owen Ko deposit…")
    only capitalised words continue the name.
    """
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", folded)]
    if not words:
        return None, 0
    others = _other_starts(folded, now)
    first_start, first_end = words[0]
    first = folded[first_start:first_end]
    if first.isascii():
        index = 0
        if first.rstrip(".") in TITLE_WORDS and len(words) > 1:
            index = 1
        name_words: list[tuple[int, int]] = []
        for start, end in words[index:index + 3]:
            word = folded[start:end]
            if not (word.isascii() and word.isalpha()) or word in NOT_NAMES or (
                    start in others):
                break
            if name_words and original[name_words[0][0]].isupper() and (
                    not original[start].isupper()):
                break
            name_words.append((start, end))
        if not name_words:
            if index:  # "Mrs" alone, then something else: no client
                return None, words[0][1]
            if first_start in others:
                return None, first_start
            return (first_start, first_end), first_end  # "123", "A.": asked about later
        return (name_words[0][0], name_words[-1][1]), name_words[-1][1]
    # Chinese: the first word, cut where an outcome, a date or a sum glued to it begins
    cut = first_end
    for i in range(first_start + 1, first_end):
        if i in others:
            cut = i
            break
    if first_start in others:
        return None, first_start
    start, end = _strip_cn_title(folded[first_start:cut])
    return (first_start + start, first_start + end), cut


def _clean_notes(text: str) -> str:
    words = []
    for word in FILLERS.sub(" ", text).split():
        word = word.strip(" ,;:-")
        if word in PARTICLES:
            continue
        stripped = word.strip(PARTICLE_EDGES) if not word.isascii() else word
        if stripped and stripped not in PARTICLES:
            words.append(word if word.isascii() else _trim_particles(word))
    return " ".join(w for w in words if w)


def _trim_particles(word: str) -> str:
    """"了" at the end or "再" at the start of a leftover piece is no note of its own."""
    while word and word[-1] in "了吧啊呢哦嘛呀啦的" and len(word) > 1:
        word = word[:-1]
    while word and word[0] in "再就也都还说" and len(word) > 1:
        word = word[1:]
    return word


def parse_log_line(text: str, *, now: datetime, tz: str) -> LogLine:
    """Understand one line; never raises on bad input (questions say what is missing)."""
    original = (text or "").strip()[:500]
    simplified = to_simplified(original)
    if len(simplified) != len(original):  # conversion changed length: work on Simplified
        original = simplified
    folded = _fold(simplified)
    questions: list[str] = []
    client_span, rest_start = _split_client(folded, original, now)
    client = original[client_span[0]:client_span[1]] if client_span else None
    rest = " " * rest_start + folded[rest_start:]

    outcome = None
    found = find_outcome(rest)
    if found:
        outcome = found.outcome
        rest = _blank(rest, found.span)  # other phrases may carry a note ("想再看看收益")
    parsed = find_date(rest, now, tz)  # dates before amounts: "2026-12-03" is no sum
    due, has_time = None, False
    if parsed:
        due, has_time = parsed.due, parsed.has_time
        questions += parsed.questions
        for part in parsed.spans or [parsed.span]:
            rest = _blank(rest, part)
    unread = rest
    for part in parsed.known if parsed else []:
        unread = _blank(unread, part)  # a maturity date: read, kept in the notes
    amount = period = None
    money = _find_amount(rest)
    if money:
        amount, span, period = money
        rest = _blank(rest, span)
    place = None
    if outcome is Outcome.MEETING_BOOKED:
        where = PLACE.search(rest)
        if where:
            group = "cn" if where.group("cn") else "en"
            place = original[where.start(group):where.end(group)]
            rest = _blank(rest, where.span())
        elif "网点" in folded[found.span[0]:found.span[1]] if found else False:
            place = "网点"  # "来网点", "约到网点": the branch itself
    if UNREAD_DATE.search(unread) and not any(q in questions for q in (
            "invalid_date", "unclear_date", "alternative_dates")):
        questions.append("unclear_date")  # a date we could not read is asked, not noted

    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", rest)]
    product = None
    if outcome is Outcome.SALE and words:
        start, end = words[0]
        candidate = original[start:end]
        if not FILLERS.fullmatch(candidate) and candidate.strip(PARTICLE_EDGES) and (
                candidate not in PARTICLES):
            product = _trim_particles(candidate.lstrip("的"))
            rest = _blank(rest, (start, end))
    notes = _clean_notes(" ".join(original[m.start():m.end()] for m in re.finditer(r"\S+", rest)))
    if client is None:
        questions.insert(0, "missing_client")
    if outcome is None:
        questions.append("missing_outcome")
    return LogLine(client, outcome, due, has_time, amount, product, notes, questions,
                   period=period, place=place)
