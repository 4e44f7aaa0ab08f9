"""The smaller holes of issue 11, item 7, on the schedule side: each example, and a property per class."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import (
    AddAddOn,
    Cadence,
    DepositRule,
    InstallmentKind,
    InvalidPlanError,
    Money,
    PaymentPlan,
    RuleViolationError,
    ScheduleDoesNotFitError,
    amend,
)
from strategies import deposit_rules

D = dt.date
USD = "USD"


def _pack(**kwargs: object) -> PaymentPlan:
    """$2000: $500 deposit Dec 1, then three payments from Jan 1; session Apr 15."""
    args: dict[str, object] = {
        "booked": D(2026, 12, 1), "session": D(2027, 4, 15), "deposit": DepositRule.fixed(Money(50_000, USD)),
        "installments": 3, "dates": "monthly",
    }
    args.update(kwargs)
    return PaymentPlan.with_deposit("p", Money(200_000, USD), **args)  # type: ignore[arg-type]


class TestAddOnBeforeAPartlyPaidInstallment:
    def test_is_refused_rather_than_taking_its_paid_part(self) -> None:
        """$700 paid: the deposit and $200 of Jan 1. An add-on due Dec 20 would be paid from that $200."""
        with pytest.raises(RuleViolationError) as err:
            amend(_pack(), AddAddOn("Album", Money(10_000, USD), D(2026, 12, 20)), by="s", reason="album",
                  on=D(2026, 12, 10), consent=True, paid=Money(70_000, USD))
        assert str(err.value) == (
            "add-on 'Album' would be due 2026-12-20, before installment 2 (due 2027-01-01), which is partly "
            "paid (200.00 USD of 500.00 USD); the add-on would take over what was paid toward it: date it on "
            "or after 2027-01-01, or leave out its date to spread it over the payments not yet made"
        )

    def test_on_or_after_the_partly_paid_date_it_goes_after_it(self) -> None:
        """Dated Jan 1 (the partly paid line's date) it comes after that line, whose $200 stays on it."""
        new, _ = amend(_pack(), AddAddOn("Album", Money(10_000, USD), D(2027, 1, 1)), by="s", reason="album",
                       on=D(2026, 12, 10), consent=True, paid=Money(70_000, USD))
        assert [(i.due, i.amount.minor, i.label) for i in new.installments[:3]] == [
            (D(2026, 12, 1), 50_000, None), (D(2027, 1, 1), 50_000, None), (D(2027, 1, 1), 10_000, "Album"),
        ]


class TestCompressedFinancing:
    def test_a_compressed_financed_plan_is_refused(self) -> None:
        """6 monthly payments at 12% squeezed before Mar 1 would be charged six months' interest."""
        with pytest.raises(ScheduleDoesNotFitError) as err:
            _pack(installments=6, apr="12", compress=True, session=D(2027, 3, 15), final_due_days_before=14)
        assert err.value.latest_due == D(2027, 3, 1)
        assert "a financed plan (APR 12%) cannot be compressed" in str(err.value)
        assert "interest for periods that are not financed" in str(err.value)

    def test_a_financed_plan_that_fits_is_unchanged_by_compress(self) -> None:
        """compress=True changes nothing when the cadence's own dates fit."""
        fits = _pack(installments=6, apr="12", compress=True, session=D(2027, 9, 15))
        plain = _pack(installments=6, apr="12", session=D(2027, 9, 15))
        assert (fits.installments, fits.finance_charge) == (plain.installments, Money(5_293, USD))

    @settings(max_examples=100, deadline=None)
    @given(st.integers(1, 24), st.sampled_from(list(Cadence)), st.integers(0, 400),
           st.decimals("0.01", "36", places=2), st.booleans())
    def test_interest_is_only_ever_charged_for_whole_cadence_periods(
        self, count: int, cadence: Cadence, days: int, apr: Decimal, compress: bool
    ) -> None:
        """Any financed plan has its cadence's own dates and exactly amortize()'s charge, or is refused."""
        booked = D(2026, 12, 1)
        session = booked + dt.timedelta(days=days)
        # Worked out apart from the plan: the cadence's own last date against the cutoff (the session here).
        fits = cadence.series(booked, 1, count)[-1] <= session
        if not fits:
            # Compressing would charge interest for periods that are not financed: refused either way.
            with pytest.raises(ScheduleDoesNotFitError):
                _pack(installments=count, dates=cadence, apr=apr, compress=compress, session=session)
            return
        plan = _pack(installments=count, dates=cadence, apr=apr, compress=compress, session=session)
        lines = [i for i in plan.installments if i.kind is InstallmentKind.INSTALLMENT]
        assert tuple(i.due for i in lines) == cadence.series(booked, 1, count)
        # The oracle replays the loan itself, apart from amortize(): each period's interest is the
        # exact rate on the balance, rounded half up once; the payments must clear it exactly.
        rate = Fraction(apr) / 100 / cadence.periods_per_year
        balance = 150_000
        for line in lines:
            balance += math.floor(balance * rate + Fraction(1, 2)) - line.amount.minor
        assert balance == 0
        assert plan.finance_charge == Money(sum(i.amount.minor for i in lines) - 150_000, USD)
        # Equal payments, the last one absorbing the rounding: no two of the others differ.
        assert len({i.amount for i in lines[:-1]}) <= 1


class TestInstallmentsWithNoBalance:
    def test_the_example_is_said_not_dropped(self) -> None:
        """A $400 fee and a $500 minimum: 3 installments asked for, none possible; said plainly."""
        with pytest.raises(InvalidPlanError, match=r"takes the whole fee of 400\.00 USD, which leaves nothing "
                                                   r"for the 3 installment\(s\) asked for"):
            PaymentPlan.with_deposit(
                "c", Money(40_000, USD), booked=D(2026, 12, 1), session=D(2027, 4, 15), installments=3,
                deposit=DepositRule.percent_or_minimum(25, Money(50_000, USD)),
            )

    @settings(max_examples=150, deadline=None)
    @given(st.integers(1, 10**7), st.integers(0, 12), deposit_rules(USD))
    def test_a_plan_has_exactly_the_installments_asked_for_or_is_refused(
        self, fee: int, count: int, rule: DepositRule
    ) -> None:
        """Never fewer lines than asked: the count after the deposit is the count asked for, or an error says why.

        Refused exactly when the balance after the deposit cannot be split
        into *count* positive amounts: something left and no installment,
        nothing left and installments asked for, or fewer minor units left
        than installments; or a fixed deposit above the fee.
        """
        above = rule.kind == "fixed" and rule.amount is not None and rule.amount.minor > fee
        left = 0 if above else fee - rule.deposit_for(Money(fee, USD)).minor
        refused = above or (count == 0 and left > 0) or (count > 0 and left == 0) or count > left

        def build() -> PaymentPlan:
            return PaymentPlan.with_deposit(
                "c", Money(fee, USD), booked=D(2026, 12, 1), session=D(2028, 4, 15), installments=count,
                deposit=rule,
            )

        if refused:
            with pytest.raises(InvalidPlanError):
                build()
            return
        plan = build()
        rest = [i for i in plan.installments if i.kind is not InstallmentKind.DEPOSIT]
        assert len(rest) == count
