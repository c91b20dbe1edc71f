"""One-line call logs, table-driven, plus the ``coach parse-log`` command."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.cli import main
from coach.logline import parse_amount, parse_log_line

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

CASES = [
    # line, client, outcome, due (local, or None), amount, product, questions
    ("王建国 有兴趣 周五下午3点再打", "王建国", "interested_thinking", "2026-11-27T15:00", None, None, []),
    ("Chen sale 500k 稳健理财 next tuesday", "Chen", "sale", "2026-12-01T09:00", 500000, "稳健理财",
     []),
    ("王建國 有興趣 明天再打", "王建國", "interested_thinking", "2026-11-26T09:00", None, None, []),
    ("王建国有兴趣", "王建国", "interested_thinking", None, None, None, []),
    ("李秀英 成交 50万 季季享 客户很满意", "李秀英", "sale", None, 500000, "季季享", []),
    ("张伟 没接", "张伟", "no_answer", None, None, None, []),
    ("张伟 关机 明天下午再打", "张伟", "no_answer", "2026-11-26T15:00", None, None, []),
    ("赵强 买了 1,000,000 大额存单", "赵强", "sale", None, 1000000, "大额存单", []),
    ("赵强 签了 5万元 定投", "赵强", "sale", None, 50000, "定投", []),
    ("赵强 成交 20w 纯债基金", "赵强", "sale", None, 200000, "纯债基金", []),
    ("赵强 成交 ¥50000 货币基金", "赵强", "sale", None, 50000, "货币基金", []),
    ("David sold 1.5m bond fund", "David", "sale", None, 1500000, "bond", []),
    ("刘桂兰 约了 12月3号下午2点 网点面谈", "刘桂兰", "meeting_booked", "2026-12-03T14:00", None, None,
     []),
    ("周建华 婉拒", "周建华", "soft_decline", None, None, None, []),
    ("周建华 不需要 下个月再说", "周建华", "soft_decline", None, None, None, []),
    ("吴晓燕 别再打了 很反感", "吴晓燕", "firm_decline", None, None, None, []),
    ("马俊杰 不适合 风险测评C1", "马俊杰", "not_suitable", None, None, None, []),
    ("Wong not interested", "Wong", "soft_decline", None, None, None, []),
    ("Wong no answer try tomorrow 3pm", "Wong", "no_answer", "2026-11-26T15:00", None, None, []),
    ("吴晓燕 11月1日 有兴趣", "吴晓燕", "interested_thinking", "2026-11-01T09:00", None, None,
     ["date_in_past"]),
    ("吴晓燕 有兴趣 2月30日", "吴晓燕", "interested_thinking", None, None, None, ["invalid_date"]),
    ("张伟", "张伟", None, None, None, None, ["missing_outcome"]),
    ("有兴趣 明天", None, "interested_thinking", "2026-11-26T09:00", None, None,
     ["missing_client"]),
    ("", None, None, None, None, None, ["missing_client", "missing_outcome"]),
    ("   ", None, None, None, None, None, ["missing_client", "missing_outcome"]),
    ("王建国 成交50万稳健理财", "王建国", "sale", None, 500000, "稳健理财", []),
    ("王建国 签了 2026-12-03 面谈", "王建国", "sale", "2026-12-03T09:00", None, None, []),
    ("王建国 没有兴趣", "王建国", "soft_decline", None, None, None, []),
    ("王建国明天再打 没接", "王建国", "no_answer", "2026-11-26T09:00", None, None, []),
    ("Chen Li sale 500k fund", "Chen Li", "sale", None, 500000, "fund", []),
    ("王建国 有兴趣 1月5日", "王建国", "interested_thinking", "2027-01-05T09:00", None, None,
     ["ambiguous_date"]),
    ("王建国 随便聊聊", "王建国", None, None, None, None, ["missing_outcome"]),
]


@pytest.mark.parametrize(("line", "client", "outcome", "due", "amount", "product", "questions"),
                         CASES)
def test_parse_log_line(line: str, client: str | None, outcome: str | None, due: str | None,
                        amount: int | None, product: str | None, questions: list[str]) -> None:
    result = parse_log_line(line, now=NOW, tz="Asia/Shanghai")
    assert result.client == client
    assert (result.outcome.value if result.outcome else None) == outcome
    assert (result.due.strftime("%Y-%m-%dT%H:%M") if result.due else None) == due
    assert (int(result.amount) if result.amount is not None else None) == amount
    if product is not None:
        assert result.product == product
    assert result.questions == questions


def test_notes_between_date_and_time_are_kept() -> None:
    result = parse_log_line("王建国 有兴趣 周五 客户说要和老公商量 下午3点", now=NOW, tz="Asia/Shanghai")
    assert "客户说要和老公" in result.notes
    assert parse_log_line("王 没接 will recall me", now=NOW, tz="Asia/Shanghai").notes == (
        "will recall me")
    assert parse_log_line("王 没接 联系人是他太太", now=NOW, tz="Asia/Shanghai").notes == (
        "联系人是他太太")


def test_notes_keep_the_rest() -> None:
    result = parse_log_line("李秀英 成交 50万 季季享 客户很满意", now=NOW, tz="Asia/Shanghai")
    assert result.notes == "客户很满意"


@pytest.mark.parametrize(("text", "value"), [
    ("500k", 500000), ("50万", 500000), ("5万元", 50000), ("1,000,000", 1000000),
    ("20w", 200000), ("1.5m", 1500000), ("300000元", 300000), ("¥50000", 50000),
    ("3点", None), ("12/3", None), ("3天后", None), ("C3", None),
])
def test_amounts(text: str, value: int | None) -> None:
    found = parse_amount(text)
    assert (int(found[0]) if found else None) == value


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse-log", "王建国 有兴趣 周五下午3点再打", "--now", "2026-11-25T10:00",
                 "--tz", "Asia/Shanghai", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {"client": "王建国", "outcome": "interested_thinking",
                    "due": "2026-11-27T15:00:00+08:00", "amount": None, "period": None, "product": None,
                    "notes": "", "questions": []}


def test_cli_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse-log", "x", "--tz", "Mars/Base"]) == 2
    assert main(["parse-log", "x", "--now", "yesterday"]) == 2
