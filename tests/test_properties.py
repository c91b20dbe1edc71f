"""Property tests: the parsers of typed and imported text never raise and stay in bounds.

Date, amount and log-line parsers read whatever an advisor types; the CSV importers
read whatever file a lead hands over. For any input they return a value within sane
bounds (or None), and the importers raise nothing but their documented ``ServiceError``.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from coach import logline
from coach.dates import parse_date
from coach.services import client_import, products
from coach.services.clients import parse_amount as parse_client_amount
from coach.services.errors import ServiceError
from coach.tiers import TierThresholds
from storage.models import User
from tests import factories

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
# pieces advisors really type, so examples reach deep into the parsers, mixed with noise
PIECES = ["明天", "后天", "下周二", "周五", "下午3点", "上午10:30", "12/3", "3月5日", "2026-02-30",
          "tomorrow", "next friday", "3pm", "10am", "有兴趣", "成交", "没接通", "约了", "不需要",
          "王建国", "Chen Mei", "5万", "50w", "1.5万元", "¥200,000", "100万", "三十万", "两万",
          "每月", "1000/月", "20%", "3点半", "²", "٣", "１２", "1e999", "NaN", "inf", "-5",
          "9" * 30, ".", ",", "，", "。", " ", "\n", "稳健增利90天", "R2", "😀", "\u200d"]
TYPED = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=8).map(
    "".join)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@SETTINGS
@given(TYPED)
@example("999999999999999999999999999999.12/3")  # once read as the year 9999
def test_date_parser_never_raises_and_stays_near_today(text: str) -> None:
    parsed = parse_date(text, NOW, "Asia/Shanghai")
    if parsed is None or parsed.due is None:
        return
    assert parsed.due.tzinfo is not None
    assert NOW - timedelta(days=2 * 366) <= parsed.due <= NOW + timedelta(days=5 * 366)
    start, end = parsed.span
    assert 0 <= start <= end <= len(text.strip())


@SETTINGS
@given(TYPED)
def test_log_line_amounts_are_finite_and_not_negative(text: str) -> None:
    found = logline.parse_amount(text)
    if found is not None:
        amount, (start, end) = found
        assert amount.is_finite() and amount >= 0 and 0 <= start <= end <= len(text)


@SETTINGS
@given(TYPED)
def test_log_line_parser_never_raises(text: str) -> None:
    line = logline.parse_log_line(text, now=NOW, tz="Asia/Shanghai")
    assert line.amount is None or (line.amount.is_finite() and line.amount >= 0)
    assert line.client is None or 0 < len(line.client) <= len(text)
    assert line.due is None or line.due.tzinfo is not None
    assert len(line.notes) <= len(text) + 1


@SETTINGS
@given(TYPED)
def test_typed_amounts_raise_only_service_error(text: str) -> None:
    try:
        amount = parse_client_amount(text)
    except ServiceError:
        return
    assert isinstance(amount, Decimal) and amount.is_finite() and amount >= 0


CELL = st.one_of(st.sampled_from(PIECES + ["mass", "premier", "C3", "R9", "2026-01-01", "",
                                           '"', "a,b", "=1+1", "\x00", "\r"]),
                 st.text(max_size=12))
HEADERS = st.lists(st.sampled_from([*client_import.COLUMNS, "code", "risk_rating", "type",
                                    "term_days", "min_amount", "junk", ""]),
                   min_size=1, max_size=8, unique=True)


def _csv(header: list[str], rows: list[list[str]]) -> str:
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@SETTINGS
@given(HEADERS, st.lists(st.lists(CELL, max_size=9), max_size=6), st.booleans())
def test_csv_importers_raise_only_service_error(services, header: list[str],  # type: ignore[no-untyped-def]
                                                rows: list[list[str]], raw: bool) -> None:
    text = _csv(header, rows)
    if raw:  # not even valid CSV quoting
        text = text.replace('"', "") + '"unterminated,\n'
    with Session(services.db.engine) as s:
        team = factories.team(s, "Alpha", now=NOW)
        advisor: User = factories.user(s, role="advisor", team_id=team.id, now=NOW)
        try:
            parsed = client_import.read_rows(io.StringIO(text))
            report = client_import.import_clients(s, parsed, advisor=advisor, clock=services.clock,
                                                  thresholds=TierThresholds())
            assert all(isinstance(line, int) for line, _problem in report.problems)
        except ServiceError:
            pass
        try:
            product_rows = products.read_product_rows(io.StringIO(text))
            products.import_products(s, product_rows)
        except ServiceError:
            pass
        s.rollback()
