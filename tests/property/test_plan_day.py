"""One view of a plan on a day: every rule gives the same answer with a precomputed PlanDay as without."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from attrs import evolve
from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import (
    Allocation,
    CreditApplied,
    FeeCollection,
    FeeWaived,
    Incentive,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    LedgerEntry,
    LedgerError,
    Money,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    PlanDay,
    Refund,
    WriteOff,
    assess_late_fees,
    charges_due,
    dunning_notices,
    earned_incentives,
    fee_charges_due,
    fees_due,
    fees_held,
    plan_status,
    reminders_due,
    settle_cancellation,
)
from payplan._dunning import charge_entry_id
from payplan.engine import finished, stale
from strategies import plans


@st.composite
def days_of_plans(draw: st.DrawFn) -> tuple[PaymentPlan, Ledger, dt.date]:
    """A plan with late fees, retries and incentives; a ledger of most kinds of entries; a day to look at it."""
    plan = draw(plans(max_installments=6, allow_apr=False))
    cur = plan.fee.currency
    flat = draw(st.integers(1, max(1, plan.total.minor // 10)))
    ladder = LateFeePolicy(
        (LateFeeStep(1, amount=Money(flat, cur)), LateFeeStep(draw(st.integers(2, 30)), percent=draw(st.integers(1, 25)))),
        grace_days=draw(st.integers(0, 5)),
        fee_on_fee=draw(st.booleans()),
        collect=draw(st.sampled_from(list(FeeCollection))),
    )
    incentives = (
        Incentive.referral(Money(draw(st.integers(1, flat)), cur)),
        Incentive.early_payment(draw(st.integers(0, 10)), amount=Money(draw(st.integers(1, flat)), cur)),
    )
    plan = evolve(plan, terms=evolve(plan.terms, late_fees=ladder, incentives=incentives))
    ledger = Ledger.empty(plan)
    on = st.integers(0, 400).map(lambda d: plan.booked + dt.timedelta(days=d))
    amounts = st.integers(1, max(1, plan.total.minor // 2)).map(lambda m: Money(m, cur))
    numbers = st.integers(1, len(plan.installments))
    as_of = draw(on)
    lately = st.integers(0, 8).map(lambda d: as_of - dt.timedelta(days=d))  # failures a notice still tells of
    kinds = st.sampled_from(["pay", "pay", "charge", "fail", "fees", "fee_pay", "waive", "refund", "credit", "write_off"])
    for n, kind in enumerate(draw(st.lists(kinds, max_size=12))):
        entries: list[LedgerEntry] = []
        if kind == "pay":
            entries = [PaymentReceived(f"p{n}", draw(on), draw(amounts))]
        elif kind == "charge":  # a payment the daily run brought in (it counts as an attempt)
            entries = [PaymentReceived(charge_entry_id(plan.id, draw(numbers), n), draw(on), draw(amounts))]
        elif kind == "fail":
            number = draw(numbers)
            when = draw(st.one_of(on, lately))
            entries = [PaymentFailed(f"{charge_entry_id(plan.id, number, n)}:failed", when, "card_declined", number)]
        elif kind == "fees":
            entries = list(assess_late_fees(plan, ledger, draw(on)))
        elif kind == "fee_pay" and ledger.fees.minor:
            fee = draw(st.sampled_from([e for e in ledger if type(e) is not PaymentFailed and e.id.count(":late-fee:")]))
            entries = [PaymentReceived(f"fp{n}", draw(on), draw(amounts), fee_id=fee.id)]
        elif kind == "waive" and ledger.fees.minor:
            fee = draw(st.sampled_from([e for e in ledger if e.id.count(":late-fee:")]))
            entries = [FeeWaived(f"w{n}", draw(on), Money(1, cur), "goodwill", fee.id)]
        elif kind == "refund":
            entries = [Refund.reversal(f"r{n}", draw(on), draw(amounts))]
        elif kind == "credit":
            entries = [CreditApplied(f"c{n}", draw(on), draw(amounts))]
        elif kind == "write_off":
            entries = [WriteOff(f"wo{n}", draw(on), draw(amounts), installment=draw(st.none() | numbers))]
        with contextlib.suppress(LedgerError):
            ledger = ledger.record_all(entries)
    if draw(st.integers(0, 9)) == 7:  # one in ten, not hypothesis's favourite 0
        with contextlib.suppress(LedgerError):
            ledger = ledger.record_all(settle_cancellation(plan, ledger, draw(on)).entries)
    return plan, ledger, as_of


class TestPlanDay:
    @settings(max_examples=200, deadline=None)
    @given(days_of_plans())
    def test_every_rule_reads_the_same_with_and_without_a_day(self, case: tuple[PaymentPlan, Ledger, dt.date]) -> None:
        """Late fees, charges, fee charges, notices, reminders, incentives, fees owed and the run's checks agree."""
        plan, ledger, as_of = case
        day = PlanDay.of(plan, ledger, as_of)
        assert day.statement == plan_status(plan, ledger, as_of)
        assert day.fees == fees_due(plan, ledger, as_of) == fees_due(plan, ledger, as_of, day=day)
        assert assess_late_fees(plan, ledger, as_of, day=day) == assess_late_fees(plan, ledger, as_of)
        assert charges_due(plan, ledger, as_of, day=day) == charges_due(plan, ledger, as_of)
        assert fee_charges_due(plan, ledger, as_of, day=day) == fee_charges_due(plan, ledger, as_of)
        assert fees_held(plan, ledger, as_of, day=day) == fees_held(plan, ledger, as_of)
        expires = as_of + dt.timedelta(days=20)
        assert dunning_notices(plan, ledger, as_of, card_expires=expires, day=day) == dunning_notices(
            plan, ledger, as_of, card_expires=expires
        )
        for charges_fees in (True, False):
            reminders = reminders_due(plan, ledger, as_of, charges_fees=charges_fees)
            assert reminders_due(plan, ledger, as_of, charges_fees=charges_fees, day=day) == reminders
        assert earned_incentives(plan, ledger, as_of, day=day) == earned_incentives(plan, ledger, as_of)
        assert finished(plan, ledger, as_of, day=day) == finished(plan, ledger, as_of)
        earlier = as_of - dt.timedelta(days=3)
        for item in (*reminders_due(plan, ledger, earlier), *dunning_notices(plan, ledger, earlier)):
            assert stale(item, plan, ledger, as_of, day=day) == stale(item, plan, ledger, as_of)

    @settings(max_examples=50, deadline=None)
    @given(days_of_plans())
    def test_a_day_of_another_date_ledger_or_allocation_is_refused(self, case: tuple[PaymentPlan, Ledger, dt.date]) -> None:
        """A day worked out for another date, another ledger or another allocation is refused, never read."""
        plan, ledger, as_of = case
        day = PlanDay.of(plan, ledger, as_of)
        other = ledger.record(PaymentReceived("another", as_of, Money(1, plan.fee.currency)))
        for wrong in (
            lambda: charges_due(plan, ledger, as_of + dt.timedelta(days=1), day=day),
            lambda: fees_due(plan, other, as_of, day=day),
            lambda: reminders_due(plan, ledger, as_of, day=PlanDay.of(plan, ledger, as_of, allocation=Allocation.NEXT_DUE)),
        ):
            with pytest.raises(LedgerError, match="expected"):
                wrong()
