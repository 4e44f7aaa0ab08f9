"""Invariants that hold for every schedule payplan builds."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st

from payplan import (
    Cadence,
    DepositRule,
    InstallmentKind,
    PaymentPlan,
    Remainder,
    Terms,
    add_months,
    percent_of,
)
from payplan._money import Money
from payplan._schedule import amortize
from strategies import cadences, dates, plans, remainders


class TestScheduleInvariants:
    @given(plans())
    def test_amounts_sum_exactly_to_what_is_owed(self, plan: PaymentPlan) -> None:
        """The installments add up to the fee plus any finance charge, to the minor unit."""
        owed = plan.fee.minor + (plan.finance_charge.minor if plan.finance_charge else 0)
        assert sum(i.amount.minor for i in plan.installments) == owed == plan.total.minor

    @given(plans())
    def test_every_amount_is_positive_and_in_the_plan_currency(self, plan: PaymentPlan) -> None:
        """No zero or negative line, no foreign currency."""
        assert all(i.amount.minor > 0 and i.amount.currency == plan.fee.currency for i in plan.installments)

    @given(plans())
    def test_dates_never_go_backwards_and_the_deposit_is_first(self, plan: PaymentPlan) -> None:
        """Due dates are non-decreasing, start on or after booking, and only line 1 may be a deposit."""
        dues = [i.due for i in plan.installments]
        assert dues == sorted(dues)
        assert dues[0] >= plan.booked
        kinds = [i.kind for i in plan.installments]
        assert InstallmentKind.DEPOSIT not in kinds[1:]
        assert [i.number for i in plan.installments] == list(range(1, len(kinds) + 1))

    @given(plans())
    def test_last_due_is_on_or_before_the_cutoff(self, plan: PaymentPlan) -> None:
        """The rule that names the product: everything is due by the cutoff."""
        cutoff = plan.session - dt.timedelta(days=plan.terms.final_due_days_before)
        assert plan.installments[-1].due <= cutoff == plan.cutoff

    @given(plans())
    def test_deposit_obeys_its_rule(self, plan: PaymentPlan) -> None:
        """The deposit is the rule's percent (half up), at least its minimum, never above the fee."""
        rule = plan.terms.deposit
        deposit = plan.deposit.amount.minor if plan.deposit else 0
        if rule.kind == "fixed":
            assert rule.amount is not None
            assert deposit == rule.amount.minor
        elif rule.kind == "none":
            assert deposit == 0
        else:
            assert rule.percent_ is not None
            share = percent_of(plan.fee, rule.percent_, rounding=ROUND_HALF_UP).minor
            floor = rule.amount.minor if rule.amount is not None else 0
            assert deposit == min(max(share, floor), plan.fee.minor)
        assert deposit <= plan.fee.minor

    @given(plans(allow_apr=False))
    def test_remainder_goes_where_the_policy_says(self, plan: PaymentPlan) -> None:
        """Unfinanced installments are within one unit of their exact share, larger ones first or last."""
        parts = [i.amount.minor for i in plan.installments if i.kind is not InstallmentKind.DEPOSIT]
        if not parts:  # the deposit was the whole fee
            assert plan.deposit is not None
            assert plan.deposit.amount == plan.fee
            return
        exact = Fraction(sum(parts), len(parts))
        assert all(abs(p - exact) < 1 for p in parts)
        assert parts == sorted(parts, reverse=plan.terms.remainder is Remainder.FIRST)

    @given(dates, st.integers(1, 24), st.integers(0, 30), st.integers(0, 45), st.booleans(), remainders)
    def test_cadence_dates_are_computed_from_the_anchor(
        self, booked: dt.date, count: int, days_before: int, slack: int, compress: bool, remainder: Remainder
    ) -> None:
        """Monthly dates that fit keep the booking day, clamped to the month's end (compress changes nothing then)."""
        # The session leaves room for every monthly date before the cutoff, so no example is skipped
        # (drawing from plans() and returning early for other cadences checked fewer than 1 in 10).
        session = add_months(booked, count) + dt.timedelta(days=days_before + slack)
        terms = Terms(
            deposit=DepositRule.percent(25), installments=count, dates=Cadence.MONTHLY,
            final_due_days_before=days_before, compress=compress, remainder=remainder,
        )
        plan = PaymentPlan.with_deposit("p", Money(10**6, "USD"), booked=booked, session=session, terms=terms)
        lines = [i for i in plan.installments if i.kind is not InstallmentKind.DEPOSIT]
        assert len(lines) == count
        for n, line in enumerate(lines, 1):
            months = booked.year * 12 + booked.month - 1 + n
            year, month = divmod(months, 12)
            last = calendar.monthrange(year, month + 1)[1]
            assert line.due == dt.date(year, month + 1, min(booked.day, last))


class TestCadenceProperties:
    @given(dates, cadences, st.integers(1, 48))
    def test_dates_strictly_increase(self, anchor: dt.date, cadence: Cadence, n: int) -> None:
        """Each cadence yields strictly increasing dates from its anchor."""
        got = cadence.dates(anchor, n)
        assert got[0] == anchor
        assert all(a < b for a, b in itertools.pairwise(got))

    @given(dates, st.integers(-120, 120))
    def test_add_months_clamps_to_month_end(self, anchor: dt.date, k: int) -> None:
        """add_months keeps the day, or the month's last day when the month is shorter."""
        d = add_months(anchor, k)
        assert (d.year * 12 + d.month) - (anchor.year * 12 + anchor.month) == k
        assert d.day == min(anchor.day, calendar.monthrange(d.year, d.month)[1])

    @given(dates, st.integers(-240, 240))
    def test_add_months_agrees_with_dateutil(self, anchor: dt.date, k: int) -> None:
        """payplan's month step is dateutil's relativedelta(months=k) rule, computed from the anchor."""
        from dateutil.relativedelta import relativedelta

        assert add_months(anchor, k) == anchor + relativedelta(months=k)


class TestAmortizationProperties:
    @given(st.integers(100, 10**9), st.decimals("0.01", "36", places=2), st.integers(1, 60),
           st.sampled_from([52, 26, 24, 12, 6]))
    # 10% a week is 0.00192307...: a balance of 497900 owes exactly 957.5 of
    # interest, which a rate truncated to 50 digits rounded down to 957.
    @example(principal=676801, apr=Decimal("10.00"), n=26, per_year=52)
    def test_payments_clear_the_balance_exactly(self, principal: int, apr: Decimal, n: int, per_year: int) -> None:
        """Replaying the exact interest, rounded half up, over the payments leaves exactly zero owed."""
        payments = amortize(Money(principal, "USD"), apr, n, per_year)
        rate = Fraction(apr) / 100 / per_year
        balance = principal
        for p in payments:
            interest = math.floor(balance * rate + Fraction(1, 2))  # half up, from the exact value
            balance = balance + interest - p.minor
        assert balance == 0
        assert sum(p.minor for p in payments) >= principal
