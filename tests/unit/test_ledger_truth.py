"""The examples of issue #11 (ledger truth): no view of the ledger drops, doubles or misplaces money."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from attrs import evolve

from payplan import (
    Allocation,
    CancellationPolicy,
    CancellationWindow,
    DepositRule,
    FeeWaived,
    InstallmentState,
    LateFeeAssessed,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    LedgerError,
    Money,
    PaymentPlan,
    PaymentReceived,
    PlanStatus,
    Refund,
    WriteOff,
    aging,
    assess_late_fees,
    dumps_ledger,
    loads_ledger,
    plan_status,
    reminders_due,
    settle_cancellation,
    waive_fee,
)
from payplan._amendments import paid_toward
from payplan.providers import EventKind, ProviderEvent, apply_events

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def full_payment_plan() -> PaymentPlan:
    """A $300 pay-in-full plan due 2026-12-01, with a $25 late fee the day after the due date."""
    plan = PaymentPlan.pay_in_full("pif-300", usd("300"), booked=D(2026, 12, 1), session=D(2027, 3, 1))
    fees = LateFeePolicy((LateFeeStep.flat(1, usd("25")),))
    return evolve(plan, terms=evolve(plan.terms, late_fees=fees))


def pack_a() -> PaymentPlan:
    """$500 on 2026-12-01, 2027-01-01, 2027-02-01, 2027-03-01; 50% retained with 30 days' notice."""
    plan = PaymentPlan.with_deposit(
        "pack-a",
        usd("2000.00"),
        deposit=DepositRule.percent_or_minimum(25, usd("500.00")),
        installments=3,
        dates="monthly",
        booked=D(2026, 12, 1),
        session=D(2027, 4, 15),
    )
    policy = CancellationPolicy((CancellationWindow(30, 50),), deposit_refundable=True)
    return evolve(plan, terms=evolve(plan.terms, cancellation=policy))


def stripe_style(plan: PaymentPlan) -> Ledger:
    """The issue's ledger: a payment and a same-day refund whose id sorts first, then a later $10."""
    events = [
        ProviderEvent("stripe:in_1:paid", "stripe", EventKind.PAYMENT_SUCCEEDED, plan.id, D(2026, 12, 1), amount=usd("300")),
        ProviderEvent("stripe:evt_9", "stripe", EventKind.REFUNDED, plan.id, D(2026, 12, 1), amount=usd("50")),
    ]
    applied = apply_events(Ledger.empty(plan), events)
    assert applied.deferred == ()
    return applied.ledger.record(PaymentReceived("pay-10", D(2026, 12, 20), usd("10")))


class TestAsOfNeverDrops:
    def test_same_day_refund_sorting_first_is_owed(self) -> None:
        """A refund whose id sorts before its same-day payment still counts as of a date before a later entry."""
        plan = full_payment_plan()
        ledger = stripe_style(plan)
        st = plan_status(plan, ledger, D(2026, 12, 5))
        assert st.balance == usd("50")
        assert st.status is PlanStatus.OVERDUE
        assert not st.paid_in_full
        assert st.installment(1).outstanding == usd("50")

    def test_view_holds_exactly_the_entries_dated_by_then_in_recorded_order(self) -> None:
        """The view as of a date holds every entry dated on or before it, in the order recorded."""
        ledger = stripe_style(full_payment_plan())
        assert [e.id for e in ledger.as_of(D(2026, 12, 5))] == ["stripe:in_1:paid", "stripe:evt_9"]
        assert ledger.as_of(D(2026, 12, 20)) is ledger

    def test_late_fee_is_assessed_on_what_the_refund_left_owed(self) -> None:
        """The late fee applies to the $50 the same-day refund left unpaid."""
        plan = full_payment_plan()
        (fee,) = assess_late_fees(plan, stripe_style(plan), D(2026, 12, 20))
        assert (fee.on, fee.amount) == (D(2026, 12, 2), usd("25"))

    def test_reminder_and_aging_see_the_refund(self) -> None:
        """The day after, a reminder says $50 is owed, and the aging holds the $50."""
        plan = full_payment_plan()
        ledger = stripe_style(plan)
        (reminder,) = reminders_due(plan, ledger, D(2026, 12, 2))
        assert "1 day overdue: $50.00 is owed" in reminder.message
        assert aging([(plan, ledger)], D(2026, 12, 5)).past_due == usd("50")

    def test_amendment_counts_the_net_paid(self) -> None:
        """An amendment dated between the refund and a later entry counts $400 net paid, not $1000."""
        plan = pack_a()
        ledger = Ledger.empty(plan).record_all(
            [
                PaymentReceived("z-pay", D(2026, 12, 1), usd("1000")),
                Refund.reversal("a-ref", D(2026, 12, 1), usd("600")),
                PaymentReceived("later", D(2027, 2, 1), usd("10")),
            ]
        )
        assert paid_toward(plan, ledger, D(2026, 12, 5)) == usd("400")

    def test_same_day_write_off_does_not_vanish(self) -> None:
        """A write-off whose id sorts before the same-day payment it follows is in the view."""
        plan = full_payment_plan()
        ledger = Ledger.empty(plan).record_all(
            [
                PaymentReceived("z-pay", D(2026, 12, 1), usd("200")),
                WriteOff("a-wo", D(2026, 12, 1), usd("100"), "hardship"),
                PaymentReceived("later", D(2026, 12, 30), usd("5")),
            ]
        )
        view = ledger.as_of(D(2026, 12, 5))
        assert view.written_off == usd("100")
        assert plan_status(plan, ledger, D(2026, 12, 5)).status is PlanStatus.DEFAULTED


class TestNextDueSeesSameDayRefunds:
    def test_refund_sorting_before_its_payment(self) -> None:
        """NEXT_DUE shows the $50 a same-day refund took back, as the balance does."""
        plan = full_payment_plan()
        ledger = Ledger.empty(plan).record(PaymentReceived("z-pay", D(2026, 12, 1), usd("300")))
        ledger = ledger.record(Refund.reversal("a-ref", D(2026, 12, 1), usd("50")))
        st = plan_status(plan, ledger, D(2026, 12, 1), allocation=Allocation.NEXT_DUE)
        assert st.balance == usd("50")
        assert st.installment(1).status is InstallmentState.DUE
        assert st.installment(1).outstanding == usd("50")


class TestWriteOffIsNotPayment:
    def test_writing_off_the_rest_defaults(self) -> None:
        """$500 paid and $1500 written off: defaulted, not paid in full, deliverables held."""
        plan = pack_a()
        ledger = Ledger.empty(plan).record_all(
            [
                PaymentReceived("dep", D(2026, 12, 1), usd("500")),
                WriteOff("w", D(2027, 1, 5), usd("1500"), "hardship"),
            ]
        )
        st = plan_status(plan, ledger, D(2027, 1, 6))
        assert st.balance == usd("0")
        assert st.status is PlanStatus.DEFAULTED
        assert not st.deliverables_released
        assert not st.paid_in_full

    def test_paying_after_the_write_off_releases(self) -> None:
        """When money later covers everything after all, the plan is paid in full (the write-off is credit)."""
        plan = pack_a()
        ledger = Ledger.empty(plan).record_all(
            [
                PaymentReceived("dep", D(2026, 12, 1), usd("500")),
                WriteOff("w", D(2027, 1, 5), usd("1500"), "hardship"),
                PaymentReceived("rest", D(2027, 2, 1), usd("1500")),
            ]
        )
        st = plan_status(plan, ledger, D(2027, 2, 1))
        assert st.status is PlanStatus.PAID_IN_FULL
        assert st.credit == usd("1500")


class TestSmallerHoles:
    def test_two_waivers_of_one_fee_are_refused(self) -> None:
        """A second waiver of a fee already waived in full is refused, though another fee stands."""
        plan = pack_a()
        ledger = Ledger.empty(plan).record_all(
            [
                LateFeeAssessed("f1", D(2027, 1, 7), usd("25"), 2),
                LateFeeAssessed("f2", D(2027, 2, 7), usd("25"), 3),
                FeeWaived("w1", D(2027, 2, 8), usd("25"), "goodwill", "f1"),
            ]
        )
        with pytest.raises(LedgerError, match=r"beyond the 25\.00 USD already waived on it"):
            ledger.record(FeeWaived("w2", D(2027, 2, 9), usd("25"), "again", "f1"))
        assert ledger.waived == usd("25")
        partial = Ledger.empty(plan).record_all(
            [
                LateFeeAssessed("f1", D(2027, 1, 7), usd("25"), 2),
                FeeWaived("w1", D(2027, 1, 8), usd("10"), "goodwill", "f1"),
                FeeWaived("w2", D(2027, 1, 9), usd("15"), "more goodwill", "f1"),
            ]
        )
        assert partial.waived == usd("25")

    def test_write_off_before_a_later_payment_in_either_order(self) -> None:
        """A write-off dated before a payment gives the same ledger whichever was recorded first."""
        plan = pack_a()
        deposit = PaymentReceived("dep", D(2026, 12, 1), usd("500"))
        write_off = WriteOff("w", D(2027, 1, 5), usd("1500"), "hardship")
        payment = PaymentReceived("rest", D(2027, 2, 1), usd("1500"))
        one = Ledger.empty(plan).record_all([deposit, write_off, payment])
        other = Ledger.empty(plan).record_all([deposit, payment, write_off])
        assert one == other
        assert plan_status(plan, one, D(2027, 2, 2)) == plan_status(plan, other, D(2027, 2, 2))

    def test_write_off_above_what_was_owed_on_its_date_is_refused(self) -> None:
        """What a write-off may forgive is what was owed on its own date."""
        plan = pack_a()
        ledger = Ledger.empty(plan).record(PaymentReceived("all", D(2026, 12, 1), usd("2000")))
        with pytest.raises(LedgerError, match=r"more than the 0\.00 USD owed on 2027-01-05"):
            ledger.record(WriteOff("w", D(2027, 1, 5), usd("1"), "hardship"))

    def test_refund_dated_before_its_payment_is_refused(self) -> None:
        """A refund may not return money that arrived after the refund's date."""
        plan = pack_a()
        ledger = Ledger.empty(plan).record(PaymentReceived("p", D(2026, 12, 20), usd("500")))
        with pytest.raises(LedgerError, match=r"0\.00 USD paid by then"):
            ledger.record(Refund.reversal("r", D(2026, 12, 1), usd("50")))
        # Nor one that would leave a later refund returning money already returned.
        ledger = ledger.record(Refund.reversal("r2", D(2027, 1, 20), usd("500")))
        with pytest.raises(LedgerError, match=r"refund 'r3'"):
            ledger.record(Refund.reversal("r3", D(2027, 1, 1), usd("100")))
        assert ledger.refunded == usd("500")

    def test_cancellation_before_a_recorded_payment(self) -> None:
        """A cancellation dated before a recorded payment refunds it too, and dates no refund before it (#21)."""
        plan = pack_a()
        ledger = Ledger.empty(plan).record_all(
            [
                PaymentReceived("dep", D(2026, 12, 1), usd("500")),
                PaymentReceived("march", D(2027, 3, 1), usd("500")),
            ]
        )
        s = settle_cancellation(plan, ledger, D(2027, 1, 5))
        # 100 days' notice: nothing retained; the $500 paid by then and the March
        # payment (taken after the client had cancelled) are both returned.
        assert (s.refund, s.received_after) == (usd("1000"), usd("500"))
        after = ledger.record_all(s.entries)
        (refund,) = [e for e in after if e.id == f"{plan.id}:cancellation:refund"]
        assert refund.on == D(2027, 3, 1)  # never dated before the money it returns
        st = plan_status(plan, after, D(2027, 3, 2))
        assert (st.status, st.credit, st.balance) == (PlanStatus.CANCELLED, usd("0"), usd("0"))


def fee_on_fee_plan() -> PaymentPlan:
    """Pack A with $25 a day after the due date, then 10% on day 15, fees counted in the basis."""
    plan = pack_a()
    ladder = LateFeePolicy(
        (LateFeeStep.flat(1, usd("25")), LateFeeStep.percent_of_overdue(15, 10)), fee_on_fee=True
    )
    return evolve(plan, terms=evolve(plan.terms, late_fees=ladder))


class TestAnnouncedFeeIsCharged:
    def test_fee_on_fee_ladder(self) -> None:
        """The reminder announces the $52.50 the 10% step will charge on $500 plus the $25 fee, not $50."""
        plan = fee_on_fee_plan()
        ledger = Ledger.empty(plan).record(PaymentReceived("dep", D(2026, 12, 1), usd("500")))
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 1, 8)))
        (reminder,) = reminders_due(plan, ledger, D(2027, 1, 8))
        assert (reminder.late_fee, reminder.late_fee_from) == (usd("52.50"), D(2027, 1, 16))
        assert "A late fee of $52.50 applies from 2027-01-16" in reminder.message
        (charged,) = assess_late_fees(plan, ledger, D(2027, 1, 16))
        assert charged.amount == usd("52.50")

    def test_fees_not_yet_recorded_count_too(self) -> None:
        """Announced before the night's fees are recorded, the next fee is still the one charged."""
        plan = fee_on_fee_plan()
        ledger = Ledger.empty(plan).record(PaymentReceived("dep", D(2026, 12, 1), usd("500")))
        (reminder,) = reminders_due(plan, ledger, D(2027, 1, 8))
        assert reminder.late_fee == usd("52.50")

    def test_waived_fee_is_not_described_as_charged(self) -> None:
        """Once the $25 fee is waived, later reminders do not say it was charged."""
        plan = fee_on_fee_plan()
        ledger = Ledger.empty(plan).record(PaymentReceived("dep", D(2026, 12, 1), usd("500")))
        (fee,) = ledger_fees = assess_late_fees(plan, ledger, D(2027, 1, 2))
        ledger = ledger.record_all(ledger_fees)
        (before,) = reminders_due(plan, ledger, D(2027, 1, 8))
        assert "Late fees of $25.00 have been assessed" in before.message
        ledger = ledger.record(waive_fee(ledger, fee.id, D(2027, 1, 3), "first time"))
        (after,) = reminders_due(plan, ledger, D(2027, 1, 8))
        assert "assessed on it" not in after.message


def goodwill_plan() -> PaymentPlan:
    """Pack A with a $25 late fee from the third day after a due date."""
    plan = pack_a()
    ladder = LateFeePolicy((LateFeeStep.flat(3, usd("25")),))
    return evolve(plan, terms=evolve(plan.terms, late_fees=ladder))


class TestGoodwillRefund:
    """Issue #12 item 4: a goodwill refund is not a reversal."""

    def ledger(self, plan: PaymentPlan, refund: Refund) -> Ledger:
        return Ledger.empty(plan).record_all([PaymentReceived("dep", D(2026, 12, 1), usd("500")), refund])

    def test_price_reduction_reopens_nothing(self) -> None:
        """$50 back on the paid deposit as goodwill: nothing overdue, no reminder, no late fee; the cash went back."""
        plan = goodwill_plan()
        ledger = self.ledger(plan, Refund.price_reduction("gw", D(2026, 12, 1), usd("50"), "goodwill"))
        st = plan_status(plan, ledger, D(2026, 12, 2))
        assert st.status is PlanStatus.ON_TRACK
        assert st.installment(1).status is InstallmentState.PAID
        assert st.balance == usd("1500")  # the price is $50 lower and $50 less is held: the same still owed
        assert st.paid == usd("450")
        assert reminders_due(plan, ledger, D(2026, 12, 2)) == ()
        assert assess_late_fees(plan, ledger, D(2026, 12, 5)) == ()

    def test_reversal_is_owed_again(self) -> None:
        """The same $50 as a reversal reopens the deposit: overdue, reminded, and late-fee'd on day 3."""
        plan = goodwill_plan()
        ledger = self.ledger(plan, Refund.reversal("rv", D(2026, 12, 1), usd("50"), "chargeback"))
        st = plan_status(plan, ledger, D(2026, 12, 2))
        assert st.status is PlanStatus.OVERDUE
        assert st.installment(1).outstanding == usd("50")
        (reminder,) = reminders_due(plan, ledger, D(2026, 12, 2))
        assert "1 day overdue: $50.00 is owed" in reminder.message
        (fee,) = assess_late_fees(plan, ledger, D(2026, 12, 5))
        assert fee.amount == usd("25")

    def test_the_caller_must_say_which_refund_and_both_round_trip(self) -> None:
        """Refund(...) without lowers_price= is refused; both kinds survive JSON."""
        with pytest.raises(TypeError, match="lowers_price"):
            Refund("r", D(2026, 12, 1), usd("1"))  # type: ignore[call-arg]
        assert not Refund.reversal("r", D(2026, 12, 1), usd("1")).lowers_price
        plan = goodwill_plan()
        ledger = self.ledger(plan, Refund.price_reduction("gw", D(2026, 12, 1), usd("50"), "goodwill"))
        again = loads_ledger(dumps_ledger(ledger), plan)
        assert again == ledger
        assert again.get("gw") == Refund("gw", D(2026, 12, 1), usd("50"), "goodwill", None, lowers_price=True)

    def test_a_ledger_written_before_lowers_price_loads_its_refunds_as_reversals(self) -> None:
        """Ledger documents of 0.1.0 have no lowers_price: their refunds undo payments, as they did then."""
        plan = goodwill_plan()
        ledger = self.ledger(plan, Refund.reversal("r", D(2026, 12, 1), usd("50"), "returned"))
        doc = json.loads(dumps_ledger(ledger))
        for entry in doc["ledger"]["entries"]:
            entry.pop("lowers_price", None)
        again = loads_ledger(json.dumps(doc), plan)
        assert again == ledger

    def test_cancellation_after_a_price_reduction_refunds_only_the_cash_held(self) -> None:
        """Cancelled after a $50 goodwill refund on $500 paid, nothing retained: $450 back, nothing credited, balance 0."""
        plan = goodwill_plan()
        ledger = self.ledger(plan, Refund.price_reduction("gw", D(2026, 12, 1), usd("50"), "goodwill"))
        s = settle_cancellation(plan, ledger, D(2027, 1, 5))
        assert (s.refund, s.credit) == (usd("450"), usd("0"))
        assert ledger.record_all(s.entries).balance == usd("0")
