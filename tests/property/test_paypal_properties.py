"""Property tests for the PayPal mapping: exact money, dates PayPal will charge, PayPal's limits."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from payplan import DepositRule, Money, PaymentPlan, UnsupportedByProviderError, add_months
from payplan.providers.paypal import (
    PAYPAL_CURRENCIES,
    PayPalOptions,
    from_paypal_amount,
    map_plan,
    to_paypal_amount,
)
from strategies import plans, remainders

OPTIONS = PayPalOptions(return_url="https://booking.example/ok", cancel_url="https://booking.example/no")
_VALUE = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")  # the spec's money.value pattern


def _charges(body: dict[str, Any], start: dt.date) -> list[tuple[dt.date, Money]]:
    """Every cycle charge PayPal would make, simulated from the plan body and the start date."""
    out: list[tuple[dt.date, Money]] = []
    n = 0
    for cycle in sorted(body["billing_cycles"], key=lambda c: c["sequence"]):
        unit, count = cycle["frequency"]["interval_unit"], cycle["frequency"]["interval_count"]
        price = cycle["pricing_scheme"]["fixed_price"]
        for _ in range(cycle["total_cycles"]):
            if unit == "MONTH":
                day = add_months(start, count * n)
            else:
                day = start + dt.timedelta(days=(7 if unit == "WEEK" else 1) * count * n)
            out.append((day, from_paypal_amount(price["value"], price["currency_code"])))
            n += 1
    return out


@given(st.one_of(plans(max_installments=12), st.deferred(lambda: usd_monthly())))
@settings(max_examples=250)
def test_every_accepted_plan_is_charged_exactly_as_agreed(plan: PaymentPlan) -> None:
    """A plan the mapping accepts is charged by PayPal on exactly its dates, for exactly its amounts, by the cutoff."""
    try:
        bodies = map_plan(plan, OPTIONS)
    except UnsupportedByProviderError as refused:
        # Random plans are mostly refused (relative dates, unequal parts, foreign currencies); the
        # usd_monthly() half of the draws is always accepted, so the exact checks below run too.
        reason = str(refused)
        event("refused")
        assert reason.strip()
        return
    event("accepted")
    body = bodies.billing_plan("PROD-1")
    tenures = [c["tenure_type"] for c in body["billing_cycles"]]
    assert tenures.count("REGULAR") == 1
    assert tenures[-1] == "REGULAR"
    assert tenures.count("TRIAL") <= 2
    assert [c["sequence"] for c in body["billing_cycles"]] == list(range(1, len(tenures) + 1))
    assert all(1 <= c["total_cycles"] <= 999 for c in body["billing_cycles"])
    charges = _charges(body, bodies.first_charge)
    setup = body["payment_preferences"].get("setup_fee")
    expected = [(i.due, i.amount) for i in plan.installments]
    if setup is not None:
        assert expected[0] == (plan.booked, from_paypal_amount(setup["value"], setup["currency_code"]))
        expected = expected[1:]
    assert charges == expected
    assert bodies.last_charge == charges[-1][0] <= plan.cutoff
    assert sum(m.minor for _, m in charges) + (plan.installments[0].amount.minor if setup else 0) == plan.total.minor


@st.composite
def usd_monthly(draw: st.DrawFn) -> PaymentPlan:
    """A deposit + equal monthly installments plan in a PayPal currency, booked on day 1 to 28."""
    code = draw(st.sampled_from(["USD", "EUR", "GBP", "JPY"]))
    booked = dt.date(draw(st.integers(2025, 2030)), draw(st.integers(1, 12)), draw(st.integers(1, 28)))
    count = draw(st.integers(1, 12))
    fee = Money(draw(st.integers(1000, 10**8)), code)
    deposit = draw(st.sampled_from([DepositRule.none(), DepositRule.percent(25)]))
    return PaymentPlan.with_deposit(
        "p", fee, deposit=deposit, installments=count, dates="monthly", booked=booked,
        session=add_months(booked, count + 1), remainder=draw(remainders),
    )


@given(usd_monthly())
def test_common_monthly_plans_are_never_refused(plan: PaymentPlan) -> None:
    """Deposit + equal monthly installments in a PayPal currency always map, whatever the remainder policy."""
    bodies = map_plan(plan, OPTIONS)
    assert len(bodies.billing_plan("P")["billing_cycles"]) <= 2


@given(st.sampled_from(sorted(PAYPAL_CURRENCIES)), st.integers(-(10**12), 10**12))
def test_paypal_amounts_round_trip(code: str, minor: int) -> None:
    """Every amount PayPal can express is sent as a spec-valid string with PayPal's decimals and parses back exactly."""
    money = Money(minor, code)
    try:
        sent = to_paypal_amount(money)
    except UnsupportedByProviderError:
        assert PAYPAL_CURRENCIES[code] < money.currency.exponent
        assert minor % 10 ** (money.currency.exponent - PAYPAL_CURRENCIES[code])
        return
    assert _VALUE.match(sent["value"])
    decimals = PAYPAL_CURRENCIES[code]
    assert ("." in sent["value"]) == (decimals > 0)
    if decimals:
        assert len(sent["value"].split(".")[1]) == decimals
    assert from_paypal_amount(sent["value"], sent["currency_code"]) == money
