"""Worked examples for the ledger, payment allocation and plan status."""

from __future__ import annotations

import datetime as dt
import json

import attrs
import pytest

from payplan import (
    Allocation,
    CancellationSettled,
    CreditApplied,
    CurrencyMismatchError,
    DepositRule,
    FeeWaived,
    InstallmentState,
    LateFeeAssessed,
    Ledger,
    LedgerError,
    Money,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    PlanStatus,
    Refund,
    SerializationError,
    WriteOff,
    dump_ledger,
    dumps_ledger,
    load_ledger,
    loads_ledger,
    plan_status,
)

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


@pytest.fixture
def plan() -> PaymentPlan:
    """Pack A: $500 on 2026-12-01, 2027-01-01, 2027-02-01, 2027-03-01."""
    return PaymentPlan.with_deposit(
        "pack-a",
        usd("2000.00"),
        deposit=DepositRule.percent_or_minimum(25, usd("500.00")),
        installments=3,
        dates="monthly",
        booked=D(2026, 12, 1),
        session=D(2027, 4, 15),
    )


def pay(entry_id: str, on: dt.date, amount: str) -> PaymentReceived:
    return PaymentReceived(entry_id, on, usd(amount))


class TestRecording:
    def test_record_returns_a_new_ledger(self, plan: PaymentPlan) -> None:
        """Recording returns a new ledger and leaves the old one as it was."""
        empty = Ledger.empty(plan)
        one = empty.record(pay("p1", D(2026, 12, 1), "500"))
        assert len(empty) == 0
        assert empty.entries == ()
        assert len(one) == 1
        assert one.paid == usd("500")
        assert empty.balance == usd("2000")
        assert one.balance == usd("1500")

    def test_identical_entry_again_changes_nothing(self, plan: PaymentPlan) -> None:
        """Recording an identical entry under the same id returns the same ledger."""
        ledger = Ledger.empty(plan).record(pay("p1", D(2026, 12, 1), "500"))
        assert ledger.record(pay("p1", D(2026, 12, 1), "500")) is ledger

    def test_different_entry_under_used_id_is_refused(self, plan: PaymentPlan) -> None:
        """A different entry under a used id raises LedgerError naming the id."""
        ledger = Ledger.empty(plan).record(pay("p1", D(2026, 12, 1), "500"))
        with pytest.raises(LedgerError, match="'p1' is already used"):
            ledger.record(pay("p1", D(2026, 12, 1), "501"))
        with pytest.raises(LedgerError, match="already used"):
            ledger.record(Refund.reversal("p1", D(2026, 12, 2), usd("1")))
        assert ledger.paid == usd("500")
        assert len(ledger) == 1

    def test_refund_above_what_was_paid_is_refused(self, plan: PaymentPlan) -> None:
        """A refund can never exceed what was paid, net of earlier refunds."""
        ledger = Ledger.empty(plan).record(pay("p1", D(2026, 12, 1), "500"))
        ledger = ledger.record(Refund.reversal("r1", D(2026, 12, 2), usd("300")))
        with pytest.raises(LedgerError, match=r"more than the 200.00 USD paid"):
            ledger.record(Refund.reversal("r2", D(2026, 12, 3), usd("200.01")))
        assert ledger.record(Refund.reversal("r2", D(2026, 12, 3), usd("200"))).net_paid == usd("0")

    def test_payment_in_another_currency_is_refused(self, plan: PaymentPlan) -> None:
        """A payment in another currency is refused with both currencies named."""
        with pytest.raises(LedgerError, match=r"currency USD, got 500.00 EUR"):
            Ledger.empty(plan).record(PaymentReceived("p1", D(2026, 12, 1), Money.of("500", "EUR")))

    def test_entries_refuse_bad_values(self) -> None:
        """Entries refuse an empty id, a datetime, and amounts of zero or less."""
        with pytest.raises(LedgerError, match="entry id"):
            pay("", D(2026, 1, 1), "1")
        with pytest.raises(LedgerError, match=r"datetime.date"):
            PaymentReceived("p", dt.datetime(2026, 1, 1), usd("1"))  # type: ignore[arg-type]
        with pytest.raises(LedgerError, match="above zero"):
            pay("p", D(2026, 1, 1), "0")
        with pytest.raises(LedgerError, match="above zero"):
            Refund.reversal("r", D(2026, 1, 1), usd("-1"))

    def test_waiver_above_fees_is_refused(self, plan: PaymentPlan) -> None:
        """A waiver cannot exceed the fees still standing."""
        ledger = Ledger.empty(plan).record(LateFeeAssessed("f1", D(2027, 1, 7), usd("25"), 2))
        with pytest.raises(LedgerError, match=r"25.00 USD of fees standing"):
            ledger.record(FeeWaived("w1", D(2027, 1, 8), usd("26"), "goodwill", "f1"))
        waived = ledger.record(FeeWaived("w1", D(2027, 1, 8), usd("25"), "goodwill", "f1"))
        assert waived.fees == usd("25")
        assert waived.waived == usd("25")
        assert waived.balance == usd("2000")

    def test_waiver_of_one_fee_is_at_most_that_fee(self, plan: PaymentPlan) -> None:
        """A waiver naming a fee cannot be more than that fee, nor name something else."""
        ledger = Ledger.empty(plan).record_all(
            [
                LateFeeAssessed("f1", D(2027, 1, 7), usd("25"), 2),
                LateFeeAssessed("f2", D(2027, 2, 7), usd("25"), 3),
                pay("p1", D(2026, 12, 1), "500"),
            ]
        )
        with pytest.raises(LedgerError, match="expected a late fee of at least that under 'f1'"):
            ledger.record(FeeWaived("w1", D(2027, 2, 8), usd("30"), "goodwill", "f1"))
        with pytest.raises(LedgerError, match="under 'p1'"):
            ledger.record(FeeWaived("w1", D(2027, 2, 8), usd("5"), "goodwill", "p1"))
        assert ledger.record(FeeWaived("w1", D(2027, 2, 8), usd("25"), "goodwill", "f1")).waived == usd("25")

    def test_second_cancellation_is_refused(self, plan: PaymentPlan) -> None:
        """A plan is cancelled once."""
        zero = usd("0")
        ledger = Ledger.empty(plan).record(CancellationSettled("c1", D(2027, 1, 1), zero, zero, zero))
        with pytest.raises(LedgerError, match="already cancelled"):
            ledger.record(CancellationSettled("c2", D(2027, 1, 2), zero, zero, zero))

    def test_not_an_entry_is_refused(self, plan: PaymentPlan) -> None:
        """Recording something that is not a ledger entry raises LedgerError."""
        with pytest.raises(LedgerError, match="expected a ledger entry"):
            Ledger.empty(plan).record("p1")  # type: ignore[arg-type]

    def test_failed_payments_move_no_money(self, plan: PaymentPlan) -> None:
        """A failed attempt is counted but changes no balance."""
        ledger = Ledger.empty(plan).record(PaymentFailed("f1", D(2026, 12, 1), "card_declined", 1, usd("500")))
        assert ledger.failed_attempts == 1
        assert ledger.balance == usd("2000")

    def test_entries_are_frozen(self) -> None:
        """Entries are immutable values."""
        entry = pay("p1", D(2026, 12, 1), "500")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            entry.amount = usd("1")  # type: ignore[misc]


class TestBranches:
    def test_recording_on_an_older_ledger_leaves_the_newer_alone(self, plan: PaymentPlan) -> None:
        """Two ledgers recorded from the same ancestor do not see each other's entries."""
        base = Ledger.empty(plan).record(pay("p1", D(2026, 12, 1), "500"))
        left = base.record(pay("p2", D(2027, 1, 1), "100"))
        right = base.record(pay("p3", D(2027, 1, 1), "200"))
        assert [e.id for e in left] == ["p1", "p2"]
        assert [e.id for e in right] == ["p1", "p3"]
        assert "p3" not in left
        assert "p2" not in right
        assert left.get("p3") is None
        assert base.get("p2") is None
        assert right.record(pay("p2", D(2027, 1, 1), "999")).get("p2") == pay("p2", D(2027, 1, 1), "999")
        assert left.paid == usd("600")
        assert right.paid == usd("700")
        assert base.paid == usd("500")


class TestEquality:
    def test_order_of_recording_does_not_matter(self, plan: PaymentPlan) -> None:
        """The same entries recorded in any order give equal ledgers and balances."""
        entries = [
            pay("p1", D(2026, 12, 1), "500"),
            LateFeeAssessed("f1", D(2027, 1, 7), usd("25"), 2),
            pay("p2", D(2027, 1, 9), "525"),
            CreditApplied("c1", D(2027, 1, 10), usd("10"), "referral"),
        ]
        forward = Ledger.empty(plan).record_all(entries)
        backward = Ledger.empty(plan).record_all(reversed(entries))
        assert forward == backward
        assert forward.canonical() == backward.canonical()
        assert forward.balance == backward.balance == usd("990")

    def test_different_entries_are_not_equal(self, plan: PaymentPlan) -> None:
        """Ledgers with different entries, or of different plans, differ."""
        a = Ledger.empty(plan).record(pay("p1", D(2026, 12, 1), "500"))
        b = Ledger.empty(plan).record(pay("p1", D(2026, 12, 2), "500"))
        assert a != b
        assert Ledger.empty(plan) != Ledger.empty("USD")
        # "of different plans": the same entries on another plan's ledger (same currency) differ too.
        other = attrs.evolve(plan, id="other")
        assert a != Ledger.empty(other).record(pay("p1", D(2026, 12, 1), "500"))


class TestAsOf:
    def test_view_leaves_out_later_entries(self, plan: PaymentPlan) -> None:
        """as_of keeps only the entries dated on or before the day."""
        ledger = Ledger.empty(plan).record_all(
            [pay("p1", D(2026, 12, 1), "500"), pay("p2", D(2027, 1, 1), "500")]
        )
        assert ledger.as_of(D(2026, 12, 31)).paid == usd("500")
        assert ledger.as_of(D(2027, 1, 1)) is ledger


class TestStatus:
    def test_reference_plan_on_track(self, plan: PaymentPlan) -> None:
        """With the deposit paid, the plan is on track and the rest upcoming."""
        ledger = Ledger.empty(plan).record(pay("p1", D(2026, 12, 1), "500"))
        st = plan_status(plan, ledger, D(2026, 12, 15))
        assert st.status is PlanStatus.ON_TRACK
        assert [s.status for s in st.installments] == [
            InstallmentState.PAID,
            InstallmentState.UPCOMING,
            InstallmentState.UPCOMING,
            InstallmentState.UPCOMING,
        ]
        assert st.balance == usd("1500")
        assert not st.paid_in_full
        assert not st.deliverables_released

    def test_partial_then_overdue(self, plan: PaymentPlan) -> None:
        """A partial payment shows as partial before the due date, overdue by N days after it."""
        ledger = Ledger.empty(plan).record_all([pay("p1", D(2026, 12, 1), "500"), pay("p2", D(2026, 12, 20), "200")])
        before = plan_status(plan, ledger, D(2026, 12, 25)).installment(2)
        on_day = plan_status(plan, ledger, D(2027, 1, 1)).installment(2)
        after = plan_status(plan, ledger, D(2027, 1, 11))
        assert before.status is InstallmentState.PARTIAL
        assert before.paid == usd("200")
        assert on_day.status is InstallmentState.DUE
        assert after.installment(2).status is InstallmentState.OVERDUE
        assert after.installment(2).days_overdue == 10
        assert after.installment(2).outstanding == usd("300")
        assert after.status is PlanStatus.OVERDUE

    def test_overpayment_becomes_credit(self, plan: PaymentPlan) -> None:
        """Money beyond everything owed is the client's credit; the plan is paid in full."""
        ledger = Ledger.empty(plan).record(pay("p1", D(2026, 12, 1), "2100"))
        st = plan_status(plan, ledger, D(2026, 12, 1))
        assert st.status is PlanStatus.PAID_IN_FULL
        assert st.paid_in_full
        assert st.deliverables_released
        assert st.credit == usd("100")
        assert st.balance == usd("-100")
        assert all(s.paid == s.installment.amount for s in st.installments)

    def test_fees_must_be_paid_before_release(self, plan: PaymentPlan) -> None:
        """Deliverables are released only when fees are paid too."""
        ledger = Ledger.empty(plan).record_all(
            [pay("p1", D(2026, 12, 1), "2000"), LateFeeAssessed("f1", D(2027, 1, 7), usd("25"), 2)]
        )
        st = plan_status(plan, ledger, D(2027, 1, 8))
        assert all(s.status is InstallmentState.PAID for s in st.installments)
        assert st.fees_outstanding == usd("25")
        assert not st.deliverables_released
        assert st.status is not PlanStatus.PAID_IN_FULL
        paid = ledger.record(pay("p2", D(2027, 1, 9), "25"))
        assert plan_status(plan, paid, D(2027, 1, 9)).deliverables_released

    def test_next_due_allocation(self, plan: PaymentPlan) -> None:
        """NEXT_DUE gives a payment to the next installment due after it arrived."""
        ledger = Ledger.empty(plan).record_all([pay("p1", D(2026, 12, 1), "500"), pay("p2", D(2027, 1, 3), "300")])
        oldest = plan_status(plan, ledger, D(2027, 1, 5))
        nxt = plan_status(plan, ledger, D(2027, 1, 5), allocation=Allocation.NEXT_DUE)
        assert [s.paid.minor for s in oldest.installments] == [50000, 30000, 0, 0]
        assert [s.paid.minor for s in nxt.installments] == [50000, 0, 30000, 0]
        assert nxt.installment(3).status is InstallmentState.PARTIAL
        assert nxt.balance == oldest.balance == usd("1200")

    def test_write_off_of_an_installment_is_waived(self, plan: PaymentPlan) -> None:
        """An installment written off shows as waived and is no longer owed."""
        ledger = Ledger.empty(plan).record_all(
            [pay("p1", D(2026, 12, 1), "500"), WriteOff("w1", D(2027, 1, 5), usd("500"), "hardship", 2)]
        )
        st = plan_status(plan, ledger, D(2027, 1, 10))
        assert st.installment(2).status is InstallmentState.WAIVED
        assert st.status is PlanStatus.ON_TRACK
        assert st.balance == usd("1000")

    def test_general_write_off_defaults(self, plan: PaymentPlan) -> None:
        """Writing off debt on the plan as a whole marks it defaulted."""
        ledger = Ledger.empty(plan).record_all(
            [pay("p1", D(2026, 12, 1), "500"), WriteOff("w1", D(2027, 3, 20), usd("100"), "uncollectable")]
        )
        assert plan_status(plan, ledger, D(2027, 3, 20)).status is PlanStatus.DEFAULTED

    def test_overdue_past_threshold_defaults(self, plan: PaymentPlan) -> None:
        """With default_after_days, a long-overdue plan is defaulted."""
        ledger = Ledger.empty(plan).record(pay("p1", D(2026, 12, 1), "500"))
        assert plan_status(plan, ledger, D(2027, 3, 5), default_after_days=60).status is PlanStatus.DEFAULTED
        assert plan_status(plan, ledger, D(2027, 3, 5)).status is PlanStatus.OVERDUE

    def test_cancelled(self, plan: PaymentPlan) -> None:
        """After a cancellation the plan and its unpaid installments are cancelled."""
        zero = usd("0")
        ledger = Ledger.empty(plan).record_all(
            [pay("p1", D(2026, 12, 1), "500"), CancellationSettled("c", D(2026, 12, 5), usd("500"), zero, zero)]
        )
        st = plan_status(plan, ledger, D(2026, 12, 6))
        assert st.status is PlanStatus.CANCELLED
        assert st.balance == zero
        assert st.installment(2).status is InstallmentState.CANCELLED
        assert not st.deliverables_released

    def test_status_as_of_an_earlier_day(self, plan: PaymentPlan) -> None:
        """Status as of a day ignores entries dated after it."""
        ledger = Ledger.empty(plan).record_all([pay("p1", D(2026, 12, 1), "500"), pay("p2", D(2027, 1, 20), "500")])
        assert plan_status(plan, ledger, D(2027, 1, 10)).installment(2).days_overdue == 9
        assert plan_status(plan, ledger, D(2027, 1, 20)).installment(2).status is InstallmentState.PAID

    def test_ledger_of_another_plan_is_refused(self, plan: PaymentPlan) -> None:
        """A ledger of another plan is refused."""
        other = attrs.evolve(plan, id="other")
        with pytest.raises(LedgerError, match="expected the ledger of plan 'other'"):
            plan_status(other, Ledger.empty(plan), D(2027, 1, 1))

    def test_mixing_currencies_in_money_still_raises(self) -> None:
        """The ledger's currency check sits on top of Money's own."""
        with pytest.raises(CurrencyMismatchError):
            _ = usd("1") + Money.of("1", "EUR")


class TestSerialization:
    def test_round_trip_every_entry_kind(self, plan: PaymentPlan) -> None:
        """Every kind of entry survives dumps_ledger and loads_ledger, in order."""
        zero = usd("0")
        ledger = Ledger.empty(plan).record_all(
            [
                PaymentReceived("p", D(2026, 12, 1), usd("500"), "card", "ch_1"),
                PaymentFailed("f", D(2027, 1, 1), "card_declined", 2, usd("500")),
                PaymentFailed("f2", D(2027, 1, 2), "expired"),
                LateFeeAssessed("lf", D(2027, 1, 7), usd("25"), 2, 1, "late"),
                FeeWaived("w", D(2027, 1, 8), usd("5"), "goodwill", "lf"),
                CreditApplied("c", D(2027, 1, 9), usd("10"), "referral", "incentive:referral"),
                WriteOff("wo", D(2027, 1, 10), usd("1"), "rounding", 3),
                Refund.reversal("r", D(2027, 1, 11), usd("100"), "partial", "re_1"),
                CancellationSettled("cs", D(2027, 2, 1), usd("300"), zero, usd("1"), "26 days", True),
            ]
        )
        text = dumps_ledger(ledger)
        assert json.loads(text)["ledger"]["entries"][0] == {
            "kind": "payment", "id": "p", "on": "2026-12-01", "amount_minor": 50000, "method": "card",
            "reference": "ch_1",
        }
        again = loads_ledger(text, plan)
        assert again == ledger
        assert again.entries == ledger.entries
        assert loads_ledger(text) == ledger

    def test_load_checks_entries(self, plan: PaymentPlan) -> None:
        """Loading records every entry again, so a refund above the payments is refused with its path."""
        document = dump_ledger(Ledger.empty(plan).record(pay("p", D(2026, 12, 1), "500")))
        document["ledger"]["entries"].append(
            {"kind": "refund", "id": "r", "on": "2026-12-02", "amount_minor": 60000, "reason": "", "reference": None}
        )
        with pytest.raises(SerializationError, match=r"ledger\.entries\[1\]: refund 'r'"):
            load_ledger(document)
        document["ledger"]["entries"][1]["kind"] = "gift"
        with pytest.raises(SerializationError, match=r"entries\[1\]\.kind: expected one of"):
            load_ledger(document)

    def test_load_refuses_another_plan(self, plan: PaymentPlan) -> None:
        """A ledger document of another plan is refused."""
        text = dumps_ledger(Ledger.empty(plan))
        with pytest.raises(SerializationError, match="expected the ledger of plan 'other'"):
            loads_ledger(text, attrs.evolve(plan, id="other"))
