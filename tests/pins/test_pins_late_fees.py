"""Pins for the late-fee ladder at its exact edges (#26 item 1: mutants of ``payplan._late_fees`` found alive).

Each test pins a fee to the day, the cent and the cap, or a refusal word for
word, and was checked to fail on the mutants it was written against (mutmut,
this session).

The plan: three lines of $100.00 due 2027-01-01 (the deposit, on the booking
day), 2027-02-01 and 2027-03-01; session 2027-06-01; nothing paid unless a test
says so.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from attrs import evolve

from payplan import (
    AddAddOn,
    DepositRule,
    FeeCollection,
    InvalidPlanError,
    LateFeeAssessed,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    LedgerError,
    Money,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    PlanDay,
    Refund,
    WriteOff,
    amend,
    assess_late_fees,
    waive_fee,
)

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def plan_with(fees: LateFeePolicy) -> PaymentPlan:
    plan = PaymentPlan.with_deposit(
        "p",
        usd("300.00"),
        deposit=DepositRule.fixed(usd("100.00")),
        installments=2,
        booked=D(2027, 1, 1),
        session=D(2027, 6, 1),
    )
    return evolve(plan, terms=evolve(plan.terms, late_fees=fees))


def fee(line: int, step: int, on: dt.date, amount: str, rule: str, capped: bool = False) -> LateFeeAssessed:
    """The fee the ladder charges: its stable id, its day, its amount and its reason in words."""
    due = {1: "2027-01-01", 2: "2027-02-01", 3: "2027-03-01"}[line]
    reason = f"late fee: {rule} (installment {line}, due {due})" + (" (capped)" if capped else "")
    return LateFeeAssessed(f"p:late-fee:{line}:{step}", on, usd(amount), line, step, reason)


def flat(days: int, amount: str) -> LateFeeStep:
    return LateFeeStep.flat(days, usd(amount))


def pct(days: int, percent: str) -> LateFeeStep:
    return LateFeeStep.percent_of_overdue(days, percent)


TEN_AT_1 = "10.00 USD once 1 day overdue"
TWENTY_AT_32 = "20.00 USD once 32 days overdue"


class TestRefusals:
    def test_a_date_that_is_not_a_date_is_refused_naming_as_of(self) -> None:
        plan = plan_with(LateFeePolicy((flat(1, "10"),)))
        message = "expected as_of as a datetime.date, got str '2027-02-05'"
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            assess_late_fees(plan, Ledger.empty(plan), "2027-02-05")  # type: ignore[arg-type]

    def test_the_day_of_another_date_is_refused(self) -> None:
        """A PlanDay worked out for 2027-02-04 is not the standing of 2027-02-05: refused, not read."""
        plan = plan_with(LateFeePolicy((flat(1, "10"),)))
        ledger = Ledger.empty(plan)
        message = "expected the day of plan 'p' on 2027-02-05 from the ledger given, got the day of plan 'p' on 2027-02-04"
        with pytest.raises(LedgerError, match=f"^{re.escape(message)}$"):
            assess_late_fees(plan, ledger, D(2027, 2, 5), day=PlanDay.of(plan, ledger, D(2027, 2, 4)))


class TestTheCapInDateOrder:
    """The plan-wide cap is spent in the order the fees apply: by day, then line, then step."""

    def test_fees_come_out_by_day_and_the_cap_cuts_the_later_one(self) -> None:
        """Line 1's second step (2027-02-10) applies after line 2's first (2027-02-02): it comes later, and is capped."""
        plan = plan_with(LateFeePolicy((flat(1, "10"), flat(40, "20")), cap=usd("35")))
        assert assess_late_fees(plan, Ledger.empty(plan), D(2027, 3, 5)) == (
            fee(1, 1, D(2027, 1, 2), "10.00", TEN_AT_1),
            fee(2, 1, D(2027, 2, 2), "10.00", TEN_AT_1),
            fee(1, 2, D(2027, 2, 10), "15.00", "20.00 USD once 40 days overdue", capped=True),
        )

    def test_on_one_day_the_earlier_line_comes_first(self) -> None:
        """2027-02-02: line 1's 32-day step and line 2's 1-day step; line 1's is charged first, up to the cap."""
        plan = plan_with(LateFeePolicy((flat(1, "10"), flat(32, "20")), cap=usd("25")))
        assert assess_late_fees(plan, Ledger.empty(plan), D(2027, 2, 2)) == (
            fee(1, 1, D(2027, 1, 2), "10.00", TEN_AT_1),
            fee(1, 2, D(2027, 2, 2), "15.00", TWENTY_AT_32, capped=True),
        )

    def test_a_single_cent_of_room_is_charged(self) -> None:
        """A cap of $10.01 leaves one cent after the first $10 fee: charged (capped), then nothing."""
        plan = plan_with(LateFeePolicy((flat(1, "10"),), cap=usd("10.01")))
        assert assess_late_fees(plan, Ledger.empty(plan), D(2027, 3, 5)) == (
            fee(1, 1, D(2027, 1, 2), "10.00", TEN_AT_1),
            fee(2, 1, D(2027, 2, 2), "0.01", TEN_AT_1, capped=True),
        )

    def test_a_fee_that_fills_the_cap_exactly_is_not_capped(self) -> None:
        """A cap of $20 and two $10 fees: the second is charged in full, with no "(capped)" in its reason."""
        plan = plan_with(LateFeePolicy((flat(1, "10"),), cap=usd("20")))
        assert assess_late_fees(plan, Ledger.empty(plan), D(2027, 3, 5)) == (
            fee(1, 1, D(2027, 1, 2), "10.00", TEN_AT_1),
            fee(2, 1, D(2027, 2, 2), "10.00", TEN_AT_1),
        )


class TestTheBasis:
    """A percent step's basis to the cent: what is overdue, plus the fees already charged when fee-on-fee."""

    @pytest.mark.parametrize(("fee_on_fee", "words"), [(False, "No late fee"), (True, "Percentage fees")])
    def test_half_of_exactly_what_is_overdue(self, fee_on_fee: bool, words: str) -> None:
        """50% of $100.00 is $50.00: not a cent of basis more (which would round $50.005 up to $50.01)."""
        policy = LateFeePolicy((pct(1, "50"),), fee_on_fee=fee_on_fee)
        assert words in policy.describe()
        plan = plan_with(policy)
        assert assess_late_fees(plan, Ledger.empty(plan), D(2027, 1, 2)) == (
            fee(1, 1, D(2027, 1, 2), "50.00", "50% of the overdue amount once 1 day overdue"),
        )

    def test_fee_on_fee_counts_every_earlier_fee_of_the_line(self) -> None:
        """10% steps on days 1, 2, 3: $10.00, then 10% of $110.00, then 10% of $121.00 (both earlier fees)."""
        plan = plan_with(LateFeePolicy((pct(1, "10"), pct(2, "10"), pct(3, "10")), fee_on_fee=True))
        words = "10% of the overdue amount once {} overdue"
        expected = (
            fee(1, 1, D(2027, 1, 2), "10.00", words.format("1 day")),
            fee(1, 2, D(2027, 1, 3), "11.00", words.format("2 days")),
            fee(1, 3, D(2027, 1, 4), "12.10", words.format("3 days")),
        )
        ledger = Ledger.empty(plan)
        # All at once (a weekly run), and step by step (nightly): the same three fees.
        assert assess_late_fees(plan, ledger, D(2027, 1, 4)) == expected
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 1, 3)))
        assert assess_late_fees(plan, ledger, D(2027, 1, 4)) == expected[2:]

    def test_an_entry_of_another_kind_under_a_fees_id_is_no_fee_charged(self) -> None:
        """A declined charge recorded under step 1's id holds that step, but adds nothing to step 2's basis."""
        plan = plan_with(LateFeePolicy((pct(1, "50"), pct(2, "50")), fee_on_fee=True))
        ledger = Ledger.empty(plan).record(
            PaymentFailed("p:late-fee:1:1", D(2027, 1, 2), "declined", amount=usd("7.00"))
        )
        assert assess_late_fees(plan, ledger, D(2027, 1, 3)) == (
            fee(1, 2, D(2027, 1, 3), "50.00", "50% of the overdue amount once 2 days overdue"),
        )

    def test_a_step_that_charges_nothing_does_not_stop_the_ladder(self) -> None:
        """A $0 first step charges nothing; the $10 step after it is still charged."""
        plan = plan_with(LateFeePolicy((flat(1, "0"), flat(5, "10"))))
        assert assess_late_fees(plan, Ledger.empty(plan), D(2027, 1, 6)) == (
            fee(1, 2, D(2027, 1, 6), "10.00", "10.00 USD once 5 days overdue"),
        )


class TestWaivers:
    def test_a_partial_waiver_waives_what_it_says(self) -> None:
        plan = plan_with(LateFeePolicy((flat(1, "10"),)))
        ledger = Ledger.empty(plan).record_all(assess_late_fees(plan, Ledger.empty(plan), D(2027, 1, 2)))
        waiver = waive_fee(ledger, "p:late-fee:1:1", D(2027, 1, 3), "goodwill", usd("4.00"))
        assert (waiver.id, waiver.on, waiver.amount, waiver.reason, waiver.fee_id) == (
            "p:late-fee:1:1:waived",
            D(2027, 1, 3),
            usd("4.00"),
            "goodwill",
            "p:late-fee:1:1",
        )

    def test_a_waiver_above_the_fee_is_refused_naming_both(self) -> None:
        plan = plan_with(LateFeePolicy((flat(1, "10"),)))
        ledger = Ledger.empty(plan).record_all(assess_late_fees(plan, Ledger.empty(plan), D(2027, 1, 2)))
        message = "expected a waiver of at most the fee 10.00 USD, got 10.01 USD"
        with pytest.raises(LedgerError, match=f"^{re.escape(message)}$"):
            waive_fee(ledger, "p:late-fee:1:1", D(2027, 1, 3), "goodwill", usd("10.01"))


TEN_PCT_AT_1 = "10% of the overdue amount once 1 day overdue"


class TestCatchingUp:
    """An assessment run days late (entries dated after a fee's day) charges what the nightly run would have.

    The fee is worked out on what the line owed on the day it applies, read from the entries dated up to
    then: by running sums when only money moved, by a view of those entries otherwise (write-offs aimed at
    a line, money taken for a fee, an amended plan).
    """

    def test_each_line_owes_what_the_money_up_to_then_leaves_it(self) -> None:
        """$150 on the booking day: on its fee day line 2 owes $50.00, line 3 all of its $100.00."""
        plan = plan_with(LateFeePolicy((pct(1, "10"),)))
        ledger = Ledger.empty(plan).record_all(
            [
                PaymentReceived("pay-1", D(2027, 1, 1), usd("150.00")),
                PaymentReceived("pay-2", D(2027, 3, 10), usd("1.00")),
            ]
        )
        assert assess_late_fees(plan, ledger, D(2027, 3, 10)) == (
            fee(2, 1, D(2027, 2, 2), "5.00", TEN_PCT_AT_1),
            fee(3, 1, D(2027, 3, 2), "10.00", TEN_PCT_AT_1),
        )

    @pytest.mark.parametrize("aimed", [False, True], ids=["money-only", "write-off-aimed-at-line-3"])
    def test_a_single_cent_owed_on_the_day_is_overdue(self, aimed: bool) -> None:
        """$199.99 paid: line 2 is one cent short on 2027-02-02 and its $10 fee is charged."""
        plan = plan_with(LateFeePolicy((flat(1, "10"),)))
        later = (
            WriteOff("wo-3", D(2027, 2, 10), usd("1.00"), "goodwill", installment=3)
            if aimed
            else (PaymentReceived("pay-2", D(2027, 2, 10), usd("1.00")))
        )
        ledger = Ledger.empty(plan).record_all(
            [PaymentReceived("pay-1", D(2027, 1, 1), usd("199.99")), later]
        )
        assert assess_late_fees(plan, ledger, D(2027, 2, 10)) == (
            fee(2, 1, D(2027, 2, 2), "10.00", TEN_AT_1),
        )

    def test_a_write_off_dated_after_the_fee_day_does_not_undo_the_fee(self) -> None:
        """Line 1 written off on 2027-01-05: on 2027-01-02, with nothing recorded yet, its fee was due."""
        plan = plan_with(LateFeePolicy((flat(1, "10"),)))
        ledger = Ledger.empty(plan).record(
            WriteOff("wo-1", D(2027, 1, 5), usd("100.00"), "hardship", installment=1)
        )
        assert assess_late_fees(plan, ledger, D(2027, 1, 5)) == (fee(1, 1, D(2027, 1, 2), "10.00", TEN_AT_1),)

    def test_the_days_standing_is_read_only_for_the_day_itself(self) -> None:
        """Given the PlanDay of 2027-03-05, line 2's fee (2027-02-02) still counts only the $100 paid by then."""
        plan = plan_with(LateFeePolicy((pct(1, "10"),)))
        ledger = Ledger.empty(plan).record_all(
            [
                PaymentReceived("pay-1", D(2027, 1, 1), usd("100.00")),
                PaymentReceived("pay-2", D(2027, 2, 20), usd("50.00")),
                WriteOff("wo-3", D(2027, 2, 25), usd("10.00"), "goodwill", installment=3),
            ]
        )
        expected = (fee(2, 1, D(2027, 2, 2), "10.00", TEN_PCT_AT_1),)
        today = D(2027, 3, 5)
        assert assess_late_fees(plan, ledger, today) == expected
        assert assess_late_fees(plan, ledger, today, day=PlanDay.of(plan, ledger, today)) == expected

    def test_a_same_day_refund_whose_id_sorts_first_is_read_as_recorded(self) -> None:
        """$150 paid and $50 of it reversed on 2027-01-01 ("a-ref" sorts before "z-pay"): line 2 owes $100.00."""
        plan = plan_with(LateFeePolicy((pct(1, "10"),)))
        ledger = Ledger.empty(plan).record_all(
            [
                PaymentReceived("z-pay", D(2027, 1, 1), usd("150.00")),
                Refund.reversal("a-ref", D(2027, 1, 1), usd("50.00")),
                WriteOff("wo-3", D(2027, 3, 10), usd("1.00"), "goodwill", installment=3),
            ]
        )
        assert assess_late_fees(plan, ledger, D(2027, 3, 10)) == (
            fee(2, 1, D(2027, 2, 2), "10.00", TEN_PCT_AT_1),
            fee(3, 1, D(2027, 3, 2), "10.00", TEN_PCT_AT_1),
        )

    def test_money_taken_for_a_fee_is_not_money_for_the_line(self) -> None:
        """Regression: $10 taken on 2027-02-03 for line 2's first fee left line 2 owing $100.00 on 2027-02-11.

        Its 10% second step is $10.00, whether assessed that night or a week later (entries dated after
        it); the late assessment counted the fee's money as paid on the line and charged $9.00.
        """
        plan = plan_with(LateFeePolicy((flat(1, "10"), pct(10, "10")), collect=FeeCollection.AT_ONCE))
        ledger = Ledger.empty(plan).record(PaymentReceived("dep", D(2027, 1, 1), usd("100.00")))
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 2, 2)))
        ledger = ledger.record_all(
            [
                PaymentReceived("fee-1", D(2027, 2, 3), usd("10.00"), fee_id="p:late-fee:2:1"),
                PaymentReceived("pay-2", D(2027, 2, 20), usd("5.00")),
            ]
        )
        step_2 = fee(2, 2, D(2027, 2, 11), "10.00", "10% of the overdue amount once 10 days overdue")
        assert assess_late_fees(plan, ledger.as_of(D(2027, 2, 11)), D(2027, 2, 11)) == (step_2,)
        assert assess_late_fees(plan, ledger, D(2027, 2, 25)) == (step_2,)

    @pytest.mark.parametrize("aimed", [False, True], ids=["money-only", "write-off-aimed-at-line-3"])
    def test_a_ledger_of_the_plan_before_an_amendment_is_read_against_the_new_version(
        self, aimed: bool
    ) -> None:
        """An add-on of $30 due 2027-01-20, then $50 paid on 2027-01-25: the ledger still counts the old total.

        On its fee day the add-on owes all of its $30.00; line 2 (now 3) owes $80.00, line 3 (now 4) $100.00.
        """
        v1 = plan_with(LateFeePolicy((pct(1, "10"),)))
        ledger = Ledger.empty(v1).record(PaymentReceived("pay-1", D(2027, 1, 1), usd("100.00")))
        v2, _ = amend(
            v1,
            AddAddOn("Album", usd("30.00"), D(2027, 1, 20)),
            by="staff",
            reason="album",
            on=D(2027, 1, 10),
            consent=True,
            paid=ledger,
        )
        later = (
            WriteOff("wo-4", D(2027, 3, 10), usd("1.00"), "goodwill", installment=4)
            if aimed
            else (PaymentReceived("pay-3", D(2027, 3, 10), usd("1.00")))
        )
        ledger = ledger.record_all([PaymentReceived("pay-2", D(2027, 1, 25), usd("50.00")), later])
        assert ledger.total != v2.total.minor
        rule = "10% of the overdue amount once 1 day overdue (installment {}, due {})"
        assert [(f.id, f.on, f.amount, f.reason) for f in assess_late_fees(v2, ledger, D(2027, 3, 10))] == [
            ("p:late-fee:v2.1:1", D(2027, 1, 21), usd("3.00"), "late fee: " + rule.format(2, "2027-01-20")),
            ("p:late-fee:2:1", D(2027, 2, 2), usd("8.00"), "late fee: " + rule.format(3, "2027-02-01")),
            ("p:late-fee:3:1", D(2027, 3, 2), usd("10.00"), "late fee: " + rule.format(4, "2027-03-01")),
        ]


def test_a_fee_on_the_last_day_of_the_calendar_is_charged() -> None:
    """Due 9999-12-30: the 1-day step applies on 9999-12-31 and is charged; the 2-day step would fall after it."""
    plan = PaymentPlan.pay_in_full("p", usd("100.00"), booked=D(9999, 12, 30), session=D(9999, 12, 31))
    plan = evolve(plan, terms=evolve(plan.terms, late_fees=LateFeePolicy((flat(1, "10"), flat(2, "20")))))
    assert assess_late_fees(plan, Ledger.empty(plan), D(9999, 12, 31)) == (
        LateFeeAssessed(
            "p:late-fee:1:1",
            D(9999, 12, 31),
            usd("10.00"),
            1,
            1,
            "late fee: 10.00 USD once 1 day overdue (installment 1, due 9999-12-30)",
        ),
    )
