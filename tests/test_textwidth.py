"""Phone tables: display width (CJK = 2 columns), cells cut with "…", 32 columns at most."""

from __future__ import annotations

import html
from datetime import timedelta
from decimal import Decimal

from coach.services import people
from coach.textwidth import PHONE_COLUMNS, fit, truncate, width
from storage.models import Interaction
from tests import factories
from tests.conftest import BotHarness


def test_width_counts_chinese_as_two_columns() -> None:
    assert width("安娜") == 4
    assert width("Ann") == 3
    assert width("陈Li") == 4
    assert width("e\u0301") == 1  # a combining accent takes no column


def test_truncate_cuts_by_width_and_ends_with_an_ellipsis() -> None:
    assert truncate("欧阳娜娜", 8) == "欧阳娜娜"  # fits exactly: untouched
    assert truncate("欧阳娜娜娜", 8) == "欧阳娜…"  # 6 + 1 columns, never half a character
    assert width(truncate("欧阳娜娜娜", 8)) <= 8
    assert truncate("Alexandra", 6) == "Alexa…"


def test_fit_pads_to_exactly_the_width_either_side() -> None:
    assert fit("安娜", 6) == "安娜  "
    assert fit(12, 4, ">") == "  12"
    assert width(fit("司马相如长卿", 7)) == 7  # cut to 5 columns + "…" + one space


def _table(text: str) -> list[str]:
    return html.unescape(text.split("<pre>")[1].split("</pre>")[0]).split("\n")


def _activity(harness: BotHarness, fake, calls: int, amount: int) -> None:  # type: ignore[no-untyped-def]
    now = harness.clock.now()
    with harness.services.db.session() as s:
        uid = people.find_user(s, fake.id).id  # type: ignore[union-attr]
        client = factories.client(s, advisor_id=uid, now=now, name=f"客{uid}")
        for i in range(calls):
            s.add(Interaction(client_id=client.id, advisor_id=uid, channel="phone",
                              outcome="sale" if i == 0 else "no_answer",
                              amount=Decimal(amount) if i == 0 else None,
                              occurred_at=now - timedelta(minutes=5), created_at=now))


async def test_team_work_log_lines_up_in_32_columns(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    long_cn = harness.person("advisor", team="Alpha", name="欧阳娜娜娜娜")
    latin = harness.person("advisor", team="Alpha", name="Alexandra Wong")
    short = harness.person("advisor", team="Alpha", name="安娜")
    _activity(harness, long_cn, 12, 1_250_000)
    _activity(harness, latin, 3, 8_000)
    _activity(harness, short, 1, 50_000)
    text = (await harness.chat(lead).send("/log_today"))[-1].text
    rows = _table(text)
    assert len(rows) == 5  # header, three advisors, total
    widths = {width(row) for row in rows}
    assert len(widths) == 1 and widths.pop() <= PHONE_COLUMNS  # every column lines up
    assert any(row.startswith("欧阳娜…") for row in rows)
    assert any(row.startswith("Alexand…") for row in rows)
    assert any(row.startswith("安娜 ") and "12/10" not in row for row in rows)
    assert "125万" in text and "通=通话" not in text and "通话=已打/目标" in text


async def test_team_table_cuts_long_names_with_an_ellipsis(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    harness.person("advisor", team="Alpha", name="司马相如长卿")
    harness.person("advisor", team="Alpha", name="Bo")
    rows = _table((await harness.chat(lead).send("/team"))[-1].text)
    assert {width(row) for row in rows} == {PHONE_COLUMNS}
    assert any(row.startswith("司马… ") for row in rows)


async def test_english_team_work_log_fits_too(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha", language="en")
    harness.person("advisor", team="Alpha", name="Maximilian")
    rows = _table((await harness.chat(lead).send("/log_today"))[-1].text)
    assert len({width(row) for row in rows}) == 1 and width(rows[0]) <= PHONE_COLUMNS
    assert rows[1].startswith("Maximil…")
