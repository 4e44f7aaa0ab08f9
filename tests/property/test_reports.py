"""Properties of reports and documents: every unpaid minor unit counted once; the wording matches the rules."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import (
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    Money,
    PaymentPlan,
    PaymentReceived,
    Terms,
    aging,
    assess_late_fees,
    forecast,
    overdue,
    plan_status,
    render_agreement,
)
from strategies import plans


@st.composite
def books(draw: st.DrawFn) -> list[tuple[PaymentPlan, Ledger]]:
    """One to four plans in one currency, each with up to three payments."""
    first = draw(plans(max_installments=6))
    others = draw(st.lists(plans(max_installments=6), max_size=3))
    out = []
    # Plans in another currency are left out: a report is in one currency.
    for k, plan in enumerate([first, *(p for p in others if p.fee.currency == first.fee.currency)]):
        ledger = Ledger.empty(plan)
        left = plan.total.minor
        for n in range(draw(st.integers(0, 3))):
            if left <= 0:
                break
            amount = draw(st.integers(1, left))
            left -= amount
            on = plan.booked + dt.timedelta(days=draw(st.integers(0, 400)))
            ledger = ledger.record(PaymentReceived(f"{plan.id}-{k}-{n}", on, Money(amount, plan.fee.currency)))
        out.append((plan, ledger))
    return out


@settings(max_examples=100)
@given(books(), st.dates(dt.date(2024, 1, 1), dt.date(2034, 12, 31)), st.sampled_from(["week", "month"]))
def test_aging_forecast_and_status_agree(
    book: list[tuple[PaymentPlan, Ledger]], as_of: dt.date, by: str
) -> None:
    """Aging total = forecast expected + overdue + beyond = the sum of outstanding installments."""
    report = aging(book, as_of)
    outstanding = sum(
        s.outstanding.minor for p, led in book for s in plan_status(p, led, as_of).installments
    )
    assert report.total.minor == outstanding
    assert sum(b.count for b in report.buckets) == sum(
        1 for p, led in book for s in plan_status(p, led, as_of).installments if s.outstanding.minor
    )
    f = forecast(book, as_of, by=by, periods=12)  # type: ignore[arg-type]
    assert f.expected.minor + f.overdue.minor + f.beyond.minor == outstanding
    assert f.overdue == report.past_due
    assert sum(i.outstanding.minor for i in overdue(book, as_of)) == report.past_due.minor
    for period in f.periods:
        assert period.start <= period.end
    for a, b in zip(f.periods, f.periods[1:], strict=False):
        assert b.start == a.end + dt.timedelta(days=1)


@settings(max_examples=50)
@given(plans(max_installments=12))
def test_agreement_lists_every_installment(plan: PaymentPlan) -> None:
    """The agreement's schedule has one row per installment, with the plan's own amounts."""
    text = render_agreement(plan, format="md")
    for inst in plan.installments:
        assert f"| {inst.number} | " in text
    assert f"| {plan.total.format('en_US')} |" in text


@st.composite
def ladders(draw: st.DrawFn) -> LateFeePolicy:
    """A late-fee ladder of one to three flat steps after a grace period."""
    days = sorted(draw(st.sets(st.integers(1, 60), min_size=1, max_size=3)))
    steps = [LateFeeStep.flat(d, Money(draw(st.integers(1, 5000)), "USD")) for d in days]
    return LateFeePolicy(steps, grace_days=draw(st.integers(0, 10)))


@settings(max_examples=100)
@given(ladders())
def test_agreement_late_fee_days_are_the_days_fees_are_charged(policy: LateFeePolicy) -> None:
    """Each 'N days overdue' in the agreement is the day assess_late_fees first charges that step."""
    terms = Terms(installments=1, late_fees=policy)
    plan = PaymentPlan.with_deposit(
        "ladder", Money.of("1000", "USD"), terms=terms, booked=dt.date(2027, 1, 1), session=dt.date(2027, 12, 1),
    )
    text = render_agreement(plan)
    stated = [
        (int(days), amount)
        for amount, days in re.findall(r"^- (\$[\d,.]+) once a payment is (\d+) days? overdue$", text, re.MULTILINE)
    ]
    assert len(stated) == len(policy.steps)
    due = plan.installments[0].due
    ledger = Ledger.empty(plan)
    for days in sorted({d for d, _ in stated}):
        before = {f.id for f in assess_late_fees(plan, ledger, due + dt.timedelta(days=days - 1))}
        new = [f for f in assess_late_fees(plan, ledger, due + dt.timedelta(days=days)) if f.id not in before]
        # Steps stated for the same day (after a grace period) are all charged that day.
        assert sorted(f.amount.format("en_US") for f in new) == sorted(a for d, a in stated if d == days)
