"""Pins for the daily run's charge guard (``charges_due``) at its exact edges (#26).

Each test is written against a mutant of ``_dunning.charges_due`` that the
suite let live (mutmut, this session): the booking day itself, a single
cent owed, a retry not due yet in front of an installment due today, the
attempt count after the engine's own successful charge, an explicit retry
policy, and the day a caller hands in.

Pack A (tests/unit/test_dunning.py): $500 on 2026-12-01 (the deposit),
2027-01-01, 2027-02-01 and 2027-03-01; session 2027-04-15.
"""

from __future__ import annotations

import pytest

from payplan import (
    FeeCollection,
    InvalidPlanError,
    Ledger,
    LedgerError,
    Money,
    PaymentReceived,
    PlanDay,
    RetryPolicy,
    charges_due,
    fee_charges_due,
)
from payplan._dunning import ChargeDue
from unit.test_dunning import D, fail, pack_a, paid_deposit, usd


def due(installment: int, amount: str, attempt: int, on: tuple[int, int, int], retry: bool = False) -> ChargeDue:
    return ChargeDue("pack-a", installment, Money.of(amount, "USD"), attempt, D(*on), retry)


class TestChargesDue:
    def test_the_deposit_is_charged_on_the_booking_day_itself(self) -> None:
        """as_of == booked: the deposit due that day is charged (not only from the next day)."""
        plan = pack_a()
        assert charges_due(plan, Ledger.empty(plan), D(2026, 12, 1)) == (due(1, "500.00", 1, (2026, 12, 1)),)
        assert charges_due(plan, Ledger.empty(plan), D(2026, 11, 30)) == ()

    def test_a_single_cent_owed_is_charged(self) -> None:
        """$499.99 of $500 paid: the last cent is charged, neither dropped nor rounded away."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(PaymentReceived("p2", D(2027, 1, 1), usd("499.99")))
        assert charges_due(plan, ledger, D(2027, 1, 5)) == (due(2, "0.01", 1, (2027, 1, 1)),)

    def test_a_retry_not_due_yet_does_not_hold_back_the_next_installment(self) -> None:
        """Installment 2 declined on 2027-01-30, its retry is on 2027-02-04; installment 3, due today, is charged."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 30)))
        assert charges_due(plan, ledger, D(2027, 2, 1), policy=RetryPolicy(days=(5,))) == (
            due(3, "500.00", 1, (2027, 2, 1)),
        )

    def test_the_charge_names_the_plan_and_the_day_it_became_due(self) -> None:
        """A first attempt carries the plan's id and the installment's due date, not today's."""
        plan = pack_a()
        (charge,) = charges_due(plan, paid_deposit(plan), D(2027, 1, 20))
        assert (charge.plan_id, charge.on, charge.retry) == ("pack-a", D(2027, 1, 1), False)

    def test_attempts_count_the_engines_successful_charge_and_the_failures(self) -> None:
        """$400 of installment 2 charged by the engine (attempt 1), then attempt 2 declined: the retry is attempt 3.

        The attempt number is the provider's idempotency key: counting one
        short would replay the declined attempt's key instead of charging.
        """
        plan = pack_a()
        ledger = paid_deposit(plan).record(PaymentReceived("pack-a:charge:2:a1", D(2027, 1, 1), usd("400")))
        assert charges_due(plan, ledger, D(2027, 1, 2)) == (due(2, "100.00", 2, (2027, 1, 1)),)
        ledger = ledger.record(fail(plan, 2, 2, D(2027, 1, 2)))
        assert charges_due(plan, ledger, D(2027, 1, 3)) == (due(2, "100.00", 3, (2027, 1, 3), retry=True),)

    def test_an_explicit_retry_policy_is_the_one_followed(self) -> None:
        """The plan's ladder retries a day after the failure; RetryPolicy(days=(5,)) passed in waits five."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 1)))
        assert charges_due(plan, ledger, D(2027, 1, 2)) == (due(2, "500.00", 2, (2027, 1, 2), retry=True),)
        assert charges_due(plan, ledger, D(2027, 1, 2), policy=RetryPolicy(days=(5,))) == ()
        assert charges_due(plan, ledger, D(2027, 1, 6), policy=RetryPolicy(days=(5,))) == (
            due(2, "500.00", 2, (2027, 1, 6), retry=True),
        )

    def test_the_day_handed_in_is_checked_and_read(self) -> None:
        """A PlanDay of another date is refused; the plan's own day gives what no day gives."""
        plan = pack_a()
        ledger = paid_deposit(plan)
        with pytest.raises(LedgerError, match="on 2027-01-01 from the ledger given, got the day of plan 'pack-a' on 2027-01-02"):
            charges_due(plan, ledger, D(2027, 1, 1), day=PlanDay.of(plan, ledger, D(2027, 1, 2)))
        assert charges_due(plan, ledger, D(2027, 1, 1), day=PlanDay.of(plan, ledger, D(2027, 1, 1))) == charges_due(
            plan, ledger, D(2027, 1, 1)
        )

    def test_each_installment_is_charged_what_it_owes_not_what_the_one_before_owed(self) -> None:
        """Installment 2 owes its last cent and installment 3 its whole $500: two charges, $0.01 and $500."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(PaymentReceived("p2", D(2027, 1, 1), usd("499.99")))
        assert charges_due(plan, ledger, D(2027, 2, 1)) == (
            due(2, "0.01", 1, (2027, 1, 1)),
            due(3, "500.00", 1, (2027, 2, 1)),
        )

    def test_two_partial_charges_by_the_engine_make_the_next_attempt_the_third(self) -> None:
        """$100 taken on attempt 1 and $100 on attempt 2: the rest of installment 2 is attempt 3, not a replayed key."""
        plan = pack_a()
        ledger = paid_deposit(plan).record_all([
            PaymentReceived("pack-a:charge:2:a1", D(2027, 1, 1), usd("100")),
            PaymentReceived("pack-a:charge:2:a2", D(2027, 1, 2), usd("100")),
        ])
        assert charges_due(plan, ledger, D(2027, 1, 3)) == (due(2, "300.00", 3, (2027, 1, 1)),)

    def test_a_payment_under_a_charge_id_with_a_note_counts_for_its_installment(self) -> None:
        """A payment recorded as ``pack-a:charge:2:a1:manual`` is attempt 1 of installment 2 (read up to the first colon)."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(PaymentReceived("pack-a:charge:2:a1:manual", D(2027, 1, 1), usd("100")))
        assert charges_due(plan, ledger, D(2027, 1, 2)) == (due(2, "400.00", 2, (2027, 1, 1)),)

    def test_a_balance_of_one_cent_is_charged(self) -> None:
        """Everything paid but the last cent of the plan: that cent is charged when the last installment falls due."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(PaymentReceived("rest", D(2027, 1, 1), usd("1499.99")))
        assert charges_due(plan, ledger, D(2027, 2, 15)) == ()
        assert charges_due(plan, ledger, D(2027, 3, 1)) == (due(4, "0.01", 1, (2027, 3, 1)),)


class TestRefusals:
    """What the caller reads when the daily run's rules are handed the wrong thing (shared by every rule of _dunning)."""

    def test_a_day_that_is_not_a_date_is_refused_by_its_name(self) -> None:
        plan = pack_a()
        with pytest.raises(InvalidPlanError) as caught:
            charges_due(plan, Ledger.empty(plan), "2027-01-01")  # type: ignore[arg-type]
        assert str(caught.value) == "expected as_of as a datetime.date, got str '2027-01-01'"

    def test_something_that_is_not_a_plan_is_refused_naming_what_arrived(self) -> None:
        plan = pack_a()
        with pytest.raises(InvalidPlanError) as caught:
            charges_due("pack-a", Ledger.empty(plan), D(2027, 1, 1))  # type: ignore[arg-type]
        assert str(caught.value) == "expected a PaymentPlan, got str 'pack-a'"

    def test_a_ladder_that_is_not_a_retry_policy_is_refused_naming_what_arrived(self) -> None:
        plan = pack_a()
        with pytest.raises(InvalidPlanError) as caught:
            charges_due(plan, Ledger.empty(plan), D(2027, 1, 1), policy=(1, 3, 7))  # type: ignore[arg-type]
        assert str(caught.value) == "expected a RetryPolicy, got tuple (1, 3, 7)"


class TestFeeChargesDue:
    def test_the_day_handed_in_is_checked_and_read(self) -> None:
        """fee_charges_due refuses a PlanDay of another date and reads the plan's own as if none were given."""
        from unit.test_fee_collection import late
        from unit.test_fee_collection import pack_a as fee_plan

        plan = fee_plan(FeeCollection.AT_ONCE)
        ledger = late(plan)
        with pytest.raises(LedgerError, match="got the day of plan 'pack-a' on 2027-01-04"):
            fee_charges_due(plan, ledger, D(2027, 1, 3), day=PlanDay.of(plan, ledger, D(2027, 1, 4)))
        given = fee_charges_due(plan, ledger, D(2027, 1, 3), day=PlanDay.of(plan, ledger, D(2027, 1, 3)))
        assert given == fee_charges_due(plan, ledger, D(2027, 1, 3))
        assert [(c.fee_id, str(c.amount)) for c in given] == [("pack-a:late-fee:2:1", "25.00 USD")]
