"""Suitability rules (coach.suitability) and the ``coach suitability`` command."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from bot.cli import main
from coach.suitability import Product, Reason, check_suitability, suggest_products

TODAY = date(2026, 11, 25)
FRESH = TODAY - timedelta(days=30)


def check(**overrides: object):
    kwargs: dict[str, object] = {
        "client_risk": "C3",
        "product_risk": "R3",
        "assessed_on": FRESH,
        "today": TODAY,
    }
    kwargs.update(overrides)
    return check_suitability(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("c", range(1, 6))
@pytest.mark.parametrize("r", range(1, 6))
def test_every_client_and_product_risk_pair(c: int, r: int) -> None:
    result = check(client_risk=f"C{c}", product_risk=f"R{r}", seller_qualifications=["CFP"])
    assert result.suitable is (r <= c)
    expected = [] if r <= c else ["product_risk_above_tolerance"]
    assert result.reasons == expected
    assert result.details["max_product_risk"] == f"R{c}"


def test_codes_are_case_and_space_insensitive() -> None:
    assert check(client_risk=" c4 ", product_risk="r4").suitable


@pytest.mark.parametrize(
    ("assessed_on", "today", "expired"),
    [
        (date(2026, 6, 1), date(2026, 12, 1), False),  # the manuals' example: valid through
        (date(2026, 6, 1), date(2026, 12, 2), True),
        (date(2026, 6, 1), date(2026, 6, 1), False),
        (date(2026, 8, 31), date(2027, 2, 28), False),  # no 31 February: the month's end
        (date(2026, 8, 31), date(2027, 3, 1), True),
        (date(2027, 8, 31), date(2028, 2, 29), False),  # leap year
        (date(2026, 12, 15), date(2027, 6, 15), False),  # across the year
        (date(2026, 12, 15), date(2027, 6, 16), True),
    ],
)
def test_assessment_is_valid_six_calendar_months(assessed_on: date, today: date,
                                                 expired: bool) -> None:
    result = check(assessed_on=assessed_on, today=today)
    assert (Reason.ASSESSMENT_EXPIRED in result.reasons) is expired
    assert result.suitable is not expired


def test_six_months_is_not_180_days() -> None:
    # 1 June + 180 days is 28 November; the assessment is still valid on 1 December
    assert check(assessed_on=date(2026, 6, 1), today=date(2026, 12, 1)).suitable
    assert check(assessed_on=date(2026, 6, 1), today=date(2026, 12, 1),
                 assessment_valid_days=180).reasons == ["assessment_expired"]


def test_validity_is_configurable() -> None:
    old = TODAY - timedelta(days=91)
    assert check(assessed_on=old, assessment_valid_days=90).reasons == ["assessment_expired"]
    assert check(assessed_on=old, assessment_valid_days=91).suitable
    assert check(assessed_on=date(2026, 8, 24), assessment_valid_months=3).reasons == [
        "assessment_expired"]


def test_valid_until_is_reported() -> None:
    result = check(assessed_on=date(2026, 6, 1))
    assert result.details["assessment_valid_until"] == "2026-12-01"


def test_highest_risk_needs_any_planner_qualification_by_default() -> None:
    top = {"client_risk": "C5", "product_risk": "R5"}
    assert check(**top).reasons == ["seller_not_qualified"]
    assert check(**top).details["qualifications_accepted"] == ["AFP", "CFP", "EFP"]
    for qual in ("AFP", "cfp", " EFP "):
        assert check(**top, seller_qualifications=[qual]).suitable
    assert check(**top, seller_qualifications=["CFP"], top_risk_qualifications=["CFA"]).reasons \
        == ["seller_not_qualified"]
    assert check(client_risk="C5", product_risk="R4").suitable  # R4 needs nothing by default


def test_a_product_may_accept_several_qualifications() -> None:
    assert check(product_requires="AFP,CFP", seller_qualifications=["CFP"]).suitable
    assert check(product_requires=["AFP", "EFP"], seller_qualifications=["EFP"]).suitable
    assert check(product_requires="AFP, CFP", seller_qualifications=["EFP"]).reasons == [
        "seller_not_qualified"]
    # a product's own list replaces the R5 default
    assert check(client_risk="C5", product_risk="R5", product_requires="CFA",
                 seller_qualifications=["CFA"]).suitable


@pytest.mark.parametrize(
    ("overrides", "warnings"),
    [
        ({"birth_date": date(1961, 11, 25)}, ["elderly_client"]),  # 65 today
        ({"birth_date": date(1961, 11, 26)}, []),  # 65 tomorrow
        ({"birth_date": date(1961, 11, 26), "elderly_age": 60}, ["elderly_client"]),
        ({"first_purchase": True}, ["first_risk_purchase"]),
        ({"first_purchase": True, "product_risk": "R1"}, []),  # not a risk product
        ({"vulnerable": True}, ["vulnerable_client"]),
        ({"birth_date": date(1940, 1, 1), "first_purchase": True, "vulnerable": True},
         ["elderly_client", "first_risk_purchase", "vulnerable_client"]),
    ],
)
def test_clients_who_need_more_care(overrides: dict, warnings: list[str]) -> None:  # type: ignore[type-arg]
    result = check(**overrides)
    assert result.suitable  # a warning never blocks the sale by itself
    assert result.warnings == warnings
    assert result.extra_steps == (
        ["second_person_present", "recorded_explanation"] if warnings else [])


@pytest.mark.parametrize(
    ("client_risk", "assessed_on"), [(None, FRESH), ("C3", None), (None, None)]
)
def test_missing_assessment(client_risk: str | None, assessed_on: date | None) -> None:
    result = check(client_risk=client_risk, assessed_on=assessed_on)
    assert not result.suitable
    assert result.reasons == ["assessment_missing"]


def test_assessment_dated_in_the_future() -> None:
    result = check(assessed_on=TODAY + timedelta(days=1))
    assert result.reasons == ["assessment_in_future"]


def test_qualification_missing_and_present() -> None:
    missing = check(product_requires="AFP", seller_qualifications=["CFP"])
    assert missing.reasons == ["seller_not_qualified"]
    assert missing.details["qualification_required"] == "AFP"
    assert check(product_requires="AFP", seller_qualifications=["cfp", " afp "]).suitable
    assert check(product_requires=None, seller_qualifications=()).suitable
    assert check(product_requires="  ").suitable


@pytest.mark.parametrize(
    ("window", "inside"),
    [
        ((TODAY + timedelta(days=1), TODAY + timedelta(days=10)), False),  # not yet open
        ((TODAY - timedelta(days=10), TODAY - timedelta(days=1)), False),  # closed
        ((TODAY, TODAY), True),  # both ends inclusive
        ((None, TODAY), True),
        ((TODAY + timedelta(days=1), None), False),
        ((None, None), True),
    ],
)
def test_sale_window(window: tuple[date | None, date | None], inside: bool) -> None:
    result = check(sale_window=window)
    assert result.suitable is inside
    assert (Reason.OUTSIDE_SALE_WINDOW in result.reasons) is not inside


def test_all_failures_are_reported_in_a_stable_order() -> None:
    result = check(
        client_risk="C1",
        product_risk="R5",
        assessed_on=TODAY - timedelta(days=365),
        product_requires="CFP",
        sale_window=(TODAY + timedelta(days=3), None),
    )
    assert result.reasons == [
        "assessment_expired",
        "product_risk_above_tolerance",
        "seller_not_qualified",
        "outside_sale_window",
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"client_risk": "C9"}, "client_risk"),
        ({"client_risk": ""}, "client_risk"),
        ({"product_risk": "R0"}, "product_risk"),
        ({"product_risk": "C3"}, "product_risk"),
        ({"assessment_valid_days": 0}, "assessment_valid_days"),
        ({"sale_window": (TODAY, TODAY - timedelta(days=1))}, "sale_window"),
    ],
)
def test_invalid_input(overrides: dict[str, object], field: str) -> None:
    result = check(**overrides)
    assert not result.suitable
    assert result.reasons == ["invalid_input"]
    assert field in result.details["invalid"]


def test_suggest_products_filters_and_sorts() -> None:
    products = [
        Product("Money market", "R1"),
        Product("Bond fund B", "R2"),
        Product("Bond fund A", "R2"),
        Product("Equity fund", "R4"),
        Product("Balanced fund", "R3"),
        Product("Structured note", "R3", requires="AFP"),
        Product("Closed offer", "R2", sale_end=TODAY - timedelta(days=1)),
        Product("Broken", "R7"),
    ]
    found = suggest_products("C3", products, assessed_on=FRESH, today=TODAY)
    assert [p.name for p in found] == [
        "Balanced fund",
        "Bond fund A",
        "Bond fund B",
        "Money market",
    ]
    qualified = suggest_products(
        "C3", products, assessed_on=FRESH, today=TODAY, seller_qualifications={"AFP"}
    )
    assert [p.name for p in qualified][:2] == ["Balanced fund", "Structured note"]


def test_suggest_products_needs_a_current_assessment() -> None:
    products = [Product("Money market", "R1")]
    old = TODAY - timedelta(days=200)
    assert suggest_products("C5", products, assessed_on=old, today=TODAY) == []
    assert suggest_products(None, products, assessed_on=None, today=TODAY) == []


# --- CLI ---------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["suitability", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_not_suitable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys,
        "--client-risk", "C3", "--product-risk", "R4",
        "--assessed-on", "2026-06-01", "--today", "2026-11-25", "--json",
    )  # fmt: skip
    payload = json.loads(out)
    assert code == 0
    assert payload["suitable"] is False
    assert payload["reasons"] == ["product_risk_above_tolerance"]


def test_cli_json_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys,
        "--client-risk", "C5", "--product-risk", "R5", "--assessed-on", "2026-01-01",
        "--today", "2026-11-25", "--seller-qualifications", "AFP,CFP",
        "--product-requires", "CFP", "--sale-start", "2026-12-01", "--sale-end", "2026-12-31",
        "--json",
    )  # fmt: skip
    payload = json.loads(out)
    assert code == 0
    assert payload["reasons"] == ["assessment_expired", "outside_sale_window"]


def test_cli_suitable_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys,
        "--client-risk", "C2", "--product-risk", "R1",
        "--assessed-on", "2026-11-01", "--today", "2026-11-25", "--valid-days", "30",
    )  # fmt: skip
    assert code == 0
    assert out.strip() == "suitable"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--client-risk", "C9", "--product-risk", "R1"], "--client-risk"),
        (["--client-risk", "C1", "--product-risk", "X"], "--product-risk"),
        (["--client-risk", "C1", "--product-risk", "R1", "--assessed-on", "2026-13-01"],
         "--assessed-on"),
        (["--client-risk", "C1", "--product-risk", "R1", "--today", "tomorrow"], "--today"),
        (["--client-risk", "C1", "--product-risk", "R1", "--valid-days", "-5"], "--valid-days"),
        (["--client-risk", "C1", "--product-risk", "R1", "--sale-start", "2026-12-02",
          "--sale-end", "2026-12-01"], "--sale-start"),
    ],
)  # fmt: skip
def test_cli_bad_input_exits_2_with_one_sentence(
    capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 2
    assert out == ""
    assert needle in err
    assert len(err.strip().splitlines()) == 1


def test_cli_care_flags_return_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys,
        "--client-risk", "C3", "--product-risk", "R3", "--assessed-on", "2026-06-01",
        "--today", "2026-12-01", "--birth-date", "1955-03-02", "--first-purchase",
        "--vulnerable", "--json",
    )  # fmt: skip
    payload = json.loads(out)
    assert code == 0 and payload["suitable"] is True  # still valid on 1 December
    assert payload["warnings"] == ["elderly_client", "first_risk_purchase", "vulnerable_client"]
    assert payload["extra_steps"] == ["second_person_present", "recorded_explanation"]
    assert payload["details"]["client_age"] == 71


def test_cli_without_care_flags_has_no_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--client-risk", "C3", "--product-risk", "R3",
                           "--assessed-on", "2026-06-01", "--today", "2026-12-02", "--json")
    payload = json.loads(out)
    assert payload["warnings"] == [] and payload["reasons"] == ["assessment_expired"]
    code, _, err = run_cli(capsys, "--product-risk", "R3", "--birth-date", "1955-13-40")
    assert code == 2 and "--birth-date" in err
