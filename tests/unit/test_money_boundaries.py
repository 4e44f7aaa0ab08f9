"""The money core at its exact boundaries: the day, the cent, the cap (#26 item 2).

Each test pins one boundary that a small change to the code (a ``<`` for a
``<=``, a rounding mode, a dropped guard) would move, and was checked to fail
on that change. The expected values are worked out by hand in the docstrings,
not by the code under test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    DepositRule,
    Incentive,
    InstallmentState,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    LedgerError,
    Money,
    PaymentPlan,
    PaymentReceived,
    PlanStatus,
    Refund,
    ScheduleDoesNotFitError,
    Terms,
    WriteOff,
    assess_late_fees,
    earned_incentives,
    plan_status,
    refund_instructions,
    settle_cancellation,
    waive_fee,
)

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def pack_a(**terms: object) -> PaymentPlan:
    """$2000: $500 on 2026-12-01, then $500 on 2027-01-01, 02-01 and 03-01; session 2027-04-15."""
    return PaymentPlan.with_deposit(
        "pack-a",
        usd("2000.00"),
        terms=Terms(deposit=DepositRule.percent_or_minimum(25, usd("500.00")), installments=3, **terms),  # type: ignore[arg-type]
        booked=D(2026, 12, 1),
        session=D(2027, 4, 15),
    )


def deposit_paid(plan: PaymentPlan) -> Ledger:
    return Ledger.empty(plan).record(PaymentReceived("dep", D(2026, 12, 1), usd("500")))


class TestCutoffDay:
    def test_compressing_with_the_first_due_date_on_the_cutoff(self) -> None:
        """first_due on the cutoff (2027-03-01, 14 days before 03-15): all three fall on it, none earlier.

        Spreading them from the booking instead would ask for money before
        the first due date the business chose.
        """
        plan = PaymentPlan.with_deposit(
            "c", usd("1000"), installments=3, dates="monthly", booked=D(2027, 1, 1), session=D(2027, 3, 15),
            final_due_days_before=14, first_due=D(2027, 3, 1), compress=True, deposit=DepositRule.percent(25),
        )
        assert plan.cutoff == D(2027, 3, 1)
        assert [i.due for i in plan.installments] == [D(2027, 1, 1)] + [D(2027, 3, 1)] * 3
        assert [i.amount for i in plan.installments] == [usd("250")] * 4

    def test_compressing_with_the_first_due_date_a_day_past_the_cutoff(self) -> None:
        """first_due one day past the cutoff is ignored: the installments spread from the booking to the cutoff."""
        plan = PaymentPlan.with_deposit(
            "c", usd("1000"), installments=3, dates="monthly", booked=D(2027, 1, 1), session=D(2027, 3, 15),
            final_due_days_before=14, first_due=D(2027, 3, 2), compress=True, deposit=DepositRule.percent(25),
        )
        # 59 days from 01-01 to 03-01, in thirds: days 19, 39 and 59.
        assert [i.due for i in plan.installments[1:]] == [D(2027, 1, 20), D(2027, 2, 9), D(2027, 3, 1)]

    def test_booked_on_the_cutoff_day(self) -> None:
        """Booked on the cutoff itself, a pay-in-full deposit is due that day; a day later nothing fits."""
        plan = PaymentPlan.with_deposit(
            "b", usd("1000"), installments=0, booked=D(2027, 3, 1), session=D(2027, 3, 15),
            final_due_days_before=14, deposit=DepositRule.percent(100),
        )
        assert [(i.due, i.amount) for i in plan.installments] == [(D(2027, 3, 1), usd("1000"))]
        with pytest.raises(ScheduleDoesNotFitError, match="booked 2027-03-02, after the latest possible due date"):
            PaymentPlan.with_deposit(
                "b", usd("1000"), installments=0, booked=D(2027, 3, 2), session=D(2027, 3, 15),
                final_due_days_before=14, deposit=DepositRule.percent(100),
            )

    def test_booked_on_the_cutoff_day_compresses_onto_it(self) -> None:
        """Booked on the cutoff with compress on, every installment falls due that same day."""
        plan = PaymentPlan.with_deposit(
            "b", usd("1000"), installments=2, booked=D(2027, 3, 1), session=D(2027, 3, 15),
            final_due_days_before=14, deposit=DepositRule.percent(50), compress=True,
        )
        assert [i.due for i in plan.installments] == [D(2027, 3, 1)] * 3


class TestDefaultAfterDays:
    """Installment 2 is due 2027-01-01 and never paid; default_after_days=60."""

    def test_overdue_by_exactly_the_threshold_is_overdue(self) -> None:
        """On 2027-03-02 it is 60 days overdue: still OVERDUE, not DEFAULTED."""
        plan = pack_a()
        status = plan_status(plan, deposit_paid(plan), D(2027, 3, 2), default_after_days=60)
        assert status.installments[1].days_overdue == 60
        assert status.status is PlanStatus.OVERDUE

    def test_one_day_past_the_threshold_is_defaulted(self) -> None:
        """On 2027-03-03 it is 61 days overdue: DEFAULTED."""
        plan = pack_a()
        status = plan_status(plan, deposit_paid(plan), D(2027, 3, 3), default_after_days=60)
        assert status.installments[1].days_overdue == 61
        assert status.status is PlanStatus.DEFAULTED


class TestLateFeeCents:
    def test_a_percent_fee_on_a_half_cent_rounds_half_up(self) -> None:
        """2.5% of $100.20 is $2.505: $2.51 (half up), not $2.50 (half even or down)."""
        assert LateFeeStep.percent_of_overdue(1, "2.5").fee_for(usd("100.20")) == usd("2.51")

    def test_a_percent_fee_below_a_half_cent_rounds_down(self) -> None:
        """2.5% of $100.19 is $2.50475: $2.50 (not up)."""
        assert LateFeeStep.percent_of_overdue(1, "2.5").fee_for(usd("100.19")) == usd("2.50")

    def test_assessed_fee_on_a_half_cent(self) -> None:
        """The same half cent through the assessment: installment 2 owes $100.20 overdue, the fee is $2.51."""
        plan = PaymentPlan.with_deposit(
            "h", usd("200.40"), booked=D(2026, 12, 1), session=D(2027, 4, 15),
            terms=Terms(
                deposit=DepositRule.percent(50), installments=1,
                late_fees=LateFeePolicy((LateFeeStep.percent_of_overdue(1, "2.5"),), grace_days=0),
            ),
        )
        ledger = Ledger.empty(plan).record(PaymentReceived("dep", D(2026, 12, 1), usd("100.20")))
        (fee,) = assess_late_fees(plan, ledger, D(2027, 1, 2))
        assert fee.amount == usd("2.51")


class TestFeeCapWithWaivers:
    """A $35 fee per overdue installment, capped at $50 for the plan."""

    POLICY = LateFeePolicy((LateFeeStep.flat(1, usd("35")),), grace_days=0, cap=usd("50"))

    def test_a_waived_fee_still_counts_against_the_cap(self) -> None:
        """The cap counts fees before waivers (documented): after $35 assessed and waived, only $15 is left."""
        plan = pack_a(late_fees=self.POLICY)
        ledger = deposit_paid(plan)
        (first,) = assess_late_fees(plan, ledger, D(2027, 1, 2))
        assert first.amount == usd("35")
        ledger = ledger.record(first)
        ledger = ledger.record(waive_fee(ledger, first.id, D(2027, 1, 3), "goodwill"))
        (second,) = assess_late_fees(plan, ledger, D(2027, 2, 2))
        assert second.installment == 3
        assert second.amount == usd("15")

    def test_the_cap_reached_exactly_charges_nothing_more(self) -> None:
        """$35 + $15 = $50 reached: installment 4 overdue on 03-02 gets no fee at all."""
        plan = pack_a(late_fees=self.POLICY)
        ledger = deposit_paid(plan)
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 2, 2)))
        assert ledger.fees == usd("50")
        assert assess_late_fees(plan, ledger, D(2027, 3, 2)) == ()


class TestCancellationCents:
    def test_retention_on_a_half_cent_rounds_half_up(self) -> None:
        """50% of a $1,000.01 fee is $500.005: $500.01 retained, $100.00 of the $600.01 paid refunded."""
        policy = CancellationPolicy((CancellationWindow(30, 50),), deposit_refundable=True)
        plan = PaymentPlan.with_deposit(
            "h", usd("1000.01"), terms=Terms(deposit=DepositRule.percent(60), installments=1, cancellation=policy),
            booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )
        assert plan.installments[0].amount == usd("600.01")
        ledger = Ledger.empty(plan).record(PaymentReceived("dep", D(2026, 12, 1), usd("600.01")))
        settlement = settle_cancellation(plan, ledger, D(2027, 4, 1))
        assert (settlement.retained, settlement.refund, settlement.credit) == (usd("500.01"), usd("100.00"), usd("0"))

    def test_a_clawback_larger_than_what_can_be_retained(self) -> None:
        """A $50 referral credit to claw back, nothing paid and a $35 late fee unpaid: only $15 can be retained.

        The clawback reported is the part of the retained amount that takes
        back the incentive: $15, never the $50 that could not be retained.
        """
        plan = pack_a(
            cancellation=CancellationPolicy(deposit_refundable=True),
            incentives=(Incentive.referral(usd("50")),),
            late_fees=LateFeePolicy((LateFeeStep.flat(1, usd("35")),), grace_days=0),
        )
        ledger = Ledger.empty(plan)
        ledger = ledger.record_all(a.entry for a in earned_incentives(plan, ledger, D(2026, 12, 1)) if a.entry)
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2026, 12, 2)))
        assert (ledger.funds, ledger.fees) == (usd("50"), usd("35"))
        settlement = settle_cancellation(plan, ledger, D(2026, 12, 10))
        assert (settlement.retained, settlement.clawback) == (usd("15"), usd("15"))
        assert (settlement.refund, settlement.credit) == (usd("0"), usd("0"))


    def test_every_incentive_credit_is_clawed_back(self) -> None:
        """Two referral credits, $50 and $30: the cancellation claws back both, $80, not only the last one."""
        plan = pack_a(
            cancellation=CancellationPolicy(deposit_refundable=True),
            incentives=(Incentive.referral(usd("50")), Incentive.referral(usd("30"))),
        )
        ledger = deposit_paid(plan)
        ledger = ledger.record_all(a.entry for a in earned_incentives(plan, ledger, D(2026, 12, 1)) if a.entry)
        assert ledger.credits == usd("80")
        settlement = settle_cancellation(plan, ledger, D(2026, 12, 10))
        assert (settlement.retained, settlement.clawback) == (usd("80"), usd("80"))
        assert (settlement.refund, settlement.credit) == (usd("500"), usd("0"))


class TestRefundsAfterRefunds:
    def test_an_earlier_refund_is_taken_off_the_newest_payment_first(self) -> None:
        """$500 already refunded came off ch_2 (the newest): a further $50 goes back on ch_1, not ch_2.

        Sending it on ch_2 would ask the provider to refund a charge already
        refunded in full.
        """
        ledger = (
            Ledger.empty("USD")
            .record(PaymentReceived("p1", D(2026, 12, 1), usd("500"), reference="ch_1"))
            .record(PaymentReceived("p2", D(2027, 1, 1), usd("500"), reference="ch_2"))
            .record(Refund.reversal("r1", D(2027, 1, 2), usd("500")))
        )
        (instruction,) = refund_instructions("x", ledger, usd("50"))
        assert (instruction.payment_id, instruction.reference, instruction.amount) == ("p1", "ch_1", usd("50"))

    def test_a_partly_refunded_payment_gives_only_what_is_left(self) -> None:
        """ch_2 of $500 already refunded $480: a $50 refund takes $20 from ch_2 and $30 from ch_1."""
        ledger = (
            Ledger.empty("USD")
            .record(PaymentReceived("p1", D(2026, 12, 1), usd("500"), reference="ch_1"))
            .record(PaymentReceived("p2", D(2027, 1, 1), usd("500"), reference="ch_2"))
            .record(Refund.reversal("r1", D(2027, 1, 2), usd("480")))
        )
        parts = [(i.reference, i.amount) for i in refund_instructions("x", ledger, usd("50"))]
        assert parts == [("ch_2", usd("20")), ("ch_1", usd("30"))]

    def test_a_refund_of_one_cent_more_than_is_left_is_refused(self) -> None:
        """$1000 paid, $500 refunded: $500.01 more is refused, $500.00 is not."""
        ledger = (
            Ledger.empty("USD")
            .record(PaymentReceived("p1", D(2026, 12, 1), usd("500"), reference="ch_1"))
            .record(PaymentReceived("p2", D(2027, 1, 1), usd("500"), reference="ch_2"))
            .record(Refund.reversal("r1", D(2027, 1, 2), usd("500")))
        )
        with pytest.raises(LedgerError, match=r"at most the 500\.00 USD paid"):
            refund_instructions("x", ledger, usd("500.01"))
        assert sum(i.amount.minor for i in refund_instructions("x", ledger, usd("500"))) == 500_00


class TestWriteOffCents:
    def test_a_write_off_of_exactly_what_is_owed(self) -> None:
        """$1500 owed after the deposit: writing off $1500.00 leaves a balance of zero."""
        plan = pack_a()
        ledger = deposit_paid(plan).record(WriteOff("w", D(2027, 1, 5), usd("1500.00"), "gone"))
        assert ledger.balance == usd("0")
        assert plan_status(plan, ledger, D(2027, 1, 5)).status is PlanStatus.DEFAULTED

    def test_a_write_off_one_cent_above_what_is_owed_is_refused(self) -> None:
        """$1500.01 would forgive a cent never owed (a credit the client never paid for): refused."""
        plan = pack_a()
        ledger = deposit_paid(plan)
        with pytest.raises(LedgerError, match=r"1500\.01 USD is more than the 1500\.00 USD owed"):
            ledger.record(WriteOff("w", D(2027, 1, 5), usd("1500.01"), "gone"))
        assert ledger.balance == usd("1500")

    def test_an_installment_write_off_waives_it(self) -> None:
        """A write-off of installment 2's $500 shows it WAIVED, the others still owed."""
        plan = pack_a()
        ledger = deposit_paid(plan).record(WriteOff("w", D(2027, 1, 5), usd("500"), "gone", installment=2))
        status = plan_status(plan, ledger, D(2027, 1, 5))
        assert status.installments[1].status is InstallmentState.WAIVED
        assert ledger.balance == usd("1000")
