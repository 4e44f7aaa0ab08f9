"""The schedule builder's fast paths give exactly what the straightforward code gives."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    localcontext,
)

import attrs
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from payplan import (
    Cadence,
    CancellationSettled,
    CreditApplied,
    DepositRule,
    ExplicitDates,
    Installment,
    InstallmentState,
    InvalidPlanError,
    Ledger,
    LedgerEntry,
    LedgerError,
    Money,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    Refund,
    Remainder,
    Terms,
    WriteOff,
    percent_of,
    plan_status,
    split,
)
from payplan._late_fees import _Statuses
from strategies import cadences, dates, deposit_rules, money, plans, remainders

ROUNDINGS = [ROUND_05UP, ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP]
percents = st.one_of(
    st.integers(0, 1000),
    st.decimals(-200, 1000, places=4, allow_nan=False, allow_infinity=False),
    st.decimals(0, 100, places=1, allow_nan=False, allow_infinity=False).map(str),
)


def _reference_percent(minor: int, percent: object, rounding: str) -> int:
    with localcontext() as ctx:
        ctx.prec = 200
        value = Decimal(minor) * Decimal(str(percent)) / 100
        return int(value.quantize(Decimal(1), rounding=rounding))


class TestPercentOf:
    @given(st.integers(-(10**15), 10**15), percents, st.sampled_from(ROUNDINGS))
    def test_integer_rounding_matches_decimal(self, minor: int, percent: int | Decimal | str, rounding: str) -> None:
        """percent_of rounds exactly as Decimal.quantize does, in every rounding mode."""
        got = percent_of(Money(minor, "USD"), percent, rounding=rounding)
        assert got.minor == _reference_percent(minor, percent, rounding)

    @given(st.integers(-(10**40), 10**40), st.sampled_from(ROUNDINGS))
    def test_repeated_percent_gives_same_answer(self, minor: int, rounding: str) -> None:
        """A percent seen before (and cached) gives the same result as a fresh one."""
        first = percent_of(Money(minor, "EUR"), Decimal("12.5"), rounding=rounding)
        again = percent_of(Money(minor, "EUR"), "12.5", rounding=rounding)
        assert first == again
        assert first.minor == _reference_percent(minor, "12.5", rounding)


class TestSplit:
    @given(st.integers(-(10**12), 10**12), st.integers(1, 50), st.sampled_from(list(Remainder)))
    def test_parts_add_up_and_differ_by_at_most_one(self, minor: int, n: int, remainder: Remainder) -> None:
        """Split parts sum to the total, and no two parts differ by more than one unit."""
        parts = split(Money(minor, "USD"), n, remainder=remainder)
        assert len(parts) == n
        assert sum(p.minor for p in parts) == minor
        assert max(p.minor for p in parts) - min(p.minor for p in parts) <= 1


def _relativedelta_nth(cadence: Cadence, anchor: dt.date, i: int) -> dt.date:
    if cadence is Cadence.MONTHLY:
        return anchor + relativedelta(months=i)
    if cadence is Cadence.BIMONTHLY:
        return anchor + relativedelta(months=2 * i)
    if cadence is Cadence.WEEKLY:
        return anchor + relativedelta(weeks=i)
    if cadence is Cadence.BIWEEKLY:
        return anchor + relativedelta(weeks=2 * i)
    months, odd = divmod(i, 2)
    if not odd:
        return anchor + relativedelta(months=months)
    if anchor.day <= 15:
        return anchor + relativedelta(months=months, day=anchor.day + 15)
    return anchor + relativedelta(months=months + 1, day=anchor.day - 15)


class TestCadenceSeries:
    @given(cadences, dates, st.integers(0, 3), st.integers(0, 30))
    def test_series_is_nth_for_each(self, cadence: Cadence, anchor: dt.date, start: int, count: int) -> None:
        """series() gives the same dates as nth() called one by one."""
        assert cadence.series(anchor, start, count) == tuple(cadence.nth(anchor, i) for i in range(start, start + count))

    @given(cadences, dates, st.integers(0, 60))
    def test_nth_matches_relativedelta(self, cadence: Cadence, anchor: dt.date, i: int) -> None:
        """Every cadence's n-th date is dateutil's, counted from the anchor (month ends clamped)."""
        assert cadence.nth(anchor, i) == _relativedelta_nth(cadence, anchor, i)


class TestDeposit:
    @given(st.data(), money(currency="USD", min_minor=-(10**12), max_minor=10**12))
    def test_deposit_is_the_rule_applied_with_percent_of(self, data: st.DataObject, fee: Money) -> None:
        """deposit_for (percent parsed once per rule) gives percent_of's half-up share, floored at the minimum."""
        rule: DepositRule = data.draw(deposit_rules("USD"))
        try:
            got: Money | Exception = rule.deposit_for(fee)
        except InvalidPlanError as exc:
            got = exc
        if rule.percent_ is None:
            want: Money | Exception = Money.zero("USD") if rule.amount is None else rule.amount
            if rule.amount is not None and rule.amount.minor > fee.minor:
                assert isinstance(got, InvalidPlanError)
                return
        else:
            want = percent_of(fee, rule.percent_, rounding=ROUND_HALF_UP)
            if rule.amount is not None and rule.amount > want:
                want = rule.amount if rule.amount <= fee else fee
        assert got == want


def _outcome(build: Callable[[], PaymentPlan]) -> tuple[object, ...]:
    try:
        plan = build()
    except Exception as exc:
        return (type(exc), str(exc))
    return (*plan.installments, plan.finance_charge)


class TestBuilder:
    @given(
        st.data(), cadences, st.integers(0, 8), remainders, dates, st.integers(0, 400), st.integers(0, 30),
        st.booleans(), st.sampled_from([0, 0, 12]),
    )
    def test_cadence_schedule_is_the_general_one(
        self, data: st.DataObject, cadence: Cadence, count: int, remainder: Remainder, booked: dt.date,
        span: int, days_before: int, compress: bool, apr: int,
    ) -> None:
        """A cadence's plan (the builder's fast path) is the plan built from the same dates given explicitly.

        Same installments, same finance charge, or the same error; and the
        validating ``PaymentPlan(...)`` accepts the result unchanged.
        """
        fee = data.draw(money(currency="USD", max_minor=10**7))
        rule = data.draw(deposit_rules("USD"))
        session = booked + dt.timedelta(days=span)
        terms = Terms(deposit=rule, installments=count, dates=cadence, final_due_days_before=days_before,
                      remainder=remainder, compress=compress, apr=apr)
        fast = _outcome(lambda: PaymentPlan.with_deposit("p", fee, booked=booked, session=session, terms=terms))
        with contextlib.suppress(InvalidPlanError):
            if rule.deposit_for(fee) == fee:
                count = 0  # nothing left to date: explicit dates would be one too many
        if count:
            # A financed plan needs a cadence: its dates are compared with the unfinanced plan's.
            explicit = attrs.evolve(terms, dates=ExplicitDates(cadence.series(booked, 1, count)), apr=0)
            general = _outcome(lambda: PaymentPlan.with_deposit("p", fee, booked=booked, session=session, terms=explicit))
            if not apr:
                assert fast == general
            elif isinstance(fast[0], Installment) and isinstance(general[0], Installment):
                assert [i.due for i in fast[:-1]] == [i.due for i in general[:-1]]  # type: ignore[union-attr]
        if isinstance(fast[0], Installment):
            plan = PaymentPlan.with_deposit("p", fee, booked=booked, session=session, terms=terms)
            again = PaymentPlan(plan.id, plan.fee, list(plan.installments), plan.booked, plan.session, plan.terms,
                                finance_charge=plan.finance_charge)
            assert again == plan


@st.composite
def plans_with_ledgers(draw: st.DrawFn) -> tuple[PaymentPlan, Ledger]:
    """A plan and a ledger of payments, refunds, credits, write-offs and maybe a cancellation."""
    plan = draw(plans(max_installments=8, relative=False))
    cur = plan.fee.currency
    total = plan.total.minor
    ledger = Ledger.empty(plan)
    days = st.integers(0, 500).map(lambda d: plan.booked + dt.timedelta(days=d))
    amounts = st.integers(1, max(1, total // 2)).map(lambda m: Money(m, cur))
    kinds = st.sampled_from(["pay", "pay", "pay", "refund", "credit", "write_off", "write_off_one", "cancel", "fail"])
    for n, kind in enumerate(draw(st.lists(kinds, max_size=12))):
        eid = f"e{n}"
        on = draw(days)
        entry: LedgerEntry
        if kind == "pay":
            entry = PaymentReceived(eid, on, draw(amounts))
        elif kind == "refund":
            entry = Refund.reversal(eid, on, draw(amounts))
        elif kind == "credit":
            entry = CreditApplied(eid, on, draw(amounts))
        elif kind == "write_off":
            entry = WriteOff(eid, on, draw(amounts))
        elif kind == "write_off_one":
            entry = WriteOff(eid, on, draw(amounts), installment=draw(st.integers(1, len(plan.installments))))
        elif kind == "cancel":
            entry = CancellationSettled(eid, on, draw(amounts), Money(0, cur), Money(0, cur))
        else:
            entry = PaymentFailed(eid, on, "card_declined")
        with contextlib.suppress(LedgerError):
            ledger = ledger.record(entry)
    return plan, ledger


class TestLateFeeStanding:
    @given(plans_with_ledgers(), st.integers(0, 600))
    def test_overdue_on_matches_plan_status(self, case: tuple[PaymentPlan, Ledger], offset: int) -> None:
        """What the late-fee assessment reads for an installment on a day is what plan_status says."""
        plan, ledger = case
        day = plan.booked + dt.timedelta(days=offset)
        standings = _Statuses(plan, ledger)
        statement = plan_status(plan, ledger, day)
        for inst in plan.installments:
            status = statement.installment(inst.number)
            expected = status.outstanding.minor if status.status is InstallmentState.OVERDUE else None
            assert standings.overdue_on(day, inst.number) == expected

    @given(plans_with_ledgers(), st.lists(st.integers(0, 600), min_size=2, max_size=6))
    def test_views_built_in_any_order_match(self, case: tuple[PaymentPlan, Ledger], offsets: list[int]) -> None:
        """Asking about dates in any order gives the same answers as asking about each alone."""
        plan, ledger = case
        shared = _Statuses(plan, ledger)
        for offset in offsets:
            day = plan.booked + dt.timedelta(days=offset)
            for inst in plan.installments:
                assert shared.overdue_on(day, inst.number) == _Statuses(plan, ledger).overdue_on(day, inst.number)
