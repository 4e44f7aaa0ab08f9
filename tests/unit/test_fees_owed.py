"""Money owed that is not an installment is shown wherever a person looks for money owed (issue #12, item 3)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from attrs import evolve

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    DepositRule,
    FeeWaived,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    Money,
    PaymentPlan,
    PaymentReceived,
    PlanStatus,
    aging,
    assess_late_fees,
    fees_due,
    overdue,
    plan_status,
    reminders_due,
    render_statement,
    settle_cancellation,
    tracking_csv,
)

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def plan_with_fee() -> PaymentPlan:
    """$500 on 2026-12-01, 2027-01-01, 2027-02-01, 2027-03-01; $25 late fee a day after the due date."""
    plan = PaymentPlan.with_deposit(
        "pack-a",
        usd("2000.00"),
        deposit=DepositRule.percent_or_minimum(25, usd("500.00")),
        installments=3,
        dates="monthly",
        booked=D(2026, 12, 1),
        session=D(2027, 4, 15),
    )
    fees = LateFeePolicy((LateFeeStep.flat(1, usd("25")),))
    policy = CancellationPolicy((CancellationWindow(30, 100),), no_show_fee=usd("75"), collect_shortfall=True)
    return evolve(plan, terms=evolve(plan.terms, late_fees=fees, cancellation=policy))


def paid_late() -> tuple[PaymentPlan, Ledger]:
    """Every installment paid, installment 2 three days late: its $25 fee is all that is owed."""
    plan = plan_with_fee()
    ledger = Ledger.empty(plan).record(PaymentReceived("dep", D(2026, 12, 1), usd("500")))
    ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 1, 4)))
    ledger = ledger.record_all(
        [
            PaymentReceived("p2", D(2027, 1, 4), usd("500")),
            PaymentReceived("p3", D(2027, 2, 1), usd("500")),
            PaymentReceived("p4", D(2027, 3, 1), usd("500")),
        ]
    )
    return plan, ledger


class TestOnlyFeesOwed:
    def test_fees_due_lists_the_fee_with_its_stable_id(self) -> None:
        """The fee is listed with the id a provider charge keys on, and its amount."""
        plan, ledger = paid_late()
        (fee,) = fees_due(plan, ledger, D(2027, 3, 5))
        assert fee.id == ledger.get(fee.id).id  # type: ignore[union-attr]
        assert (fee.kind, fee.on, fee.outstanding, fee.installment) == ("late_fee", D(2027, 1, 2), usd("25"), 2)

    def test_status_is_not_on_track(self) -> None:
        """A plan owing only a fee is overdue, with the fee outstanding, and keeps its deliverables."""
        plan, ledger = paid_late()
        st = plan_status(plan, ledger, D(2027, 3, 5))
        assert st.status is PlanStatus.OVERDUE
        assert (st.balance, st.fees_outstanding) == (usd("25"), usd("25"))
        assert st.overdue == ()
        assert not st.deliverables_released

    def test_reminders_mention_the_fee(self) -> None:
        """On the reminder offsets from the day the fee was charged, a reminder names it and what is owed."""
        plan, ledger = paid_late()
        (fee,) = fees_due(plan, ledger, D(2027, 3, 5))
        days = [D(2027, 1, 2) + dt.timedelta(days=k) for k in range(40)]
        sent = [r for day in days for r in reminders_due(plan, ledger, day) if r.installment == 2]
        # Installment 2's own reminder on Jan 2 (1 day overdue); the fee's own after it was paid on Jan 4.
        assert [(r.date, r.fee_id is None) for r in sent] == [
            (D(2027, 1, 2), True), (D(2027, 1, 9), False), (D(2027, 1, 16), False)
        ]
        # a fee the run charges when the terms say is never "overdue", nor a "final notice"
        assert {r.kind.value for r in sent[1:]} == {"fee_assessed"}
        for r in sent[1:]:
            assert r.fee_id == fee.id
            assert r.owed == usd("25")
            assert r.message.startswith(f"A late fee of $25.00 was assessed on installment 2 on {fee.on.isoformat()}.")

    def test_no_reminder_for_a_fee_waived_since(self) -> None:
        """The fee waived on 2027-01-20: the reminders for 01-09 and 01-16 (a catch-up run on the 21st) leave
        it out, as the run does not charge it; $10 of it waived leaves the $15 charged, so they name it."""
        plan, ledger = paid_late()
        (fee,) = fees_due(plan, ledger, D(2027, 3, 5))
        days = (D(2027, 1, 9), D(2027, 1, 16))
        whole = ledger.record(FeeWaived("w", D(2027, 1, 20), usd("25"), "goodwill", fee.id))
        assert [fees_due(plan, whole, day)[0].id for day in days] == [fee.id, fee.id]  # still owed on each day
        assert [r for day in days for r in reminders_due(plan, whole, day) if r.fee_id is not None] == []
        part = ledger.record(FeeWaived("w", D(2027, 1, 20), usd("10"), "goodwill", fee.id))
        assert [r.date for day in days for r in reminders_due(plan, part, day) if r.fee_id == fee.id] == list(days)

    def test_overdue_aging_csv_and_statement(self) -> None:
        """The overdue list, the aging, the tracking CSV and the statement's next payment all show the fee."""
        plan, ledger = paid_late()
        day = D(2027, 3, 5)
        (item,) = overdue([(plan, ledger)], day)
        assert (item.fee_id, item.outstanding, item.days_overdue) == (f"{plan.id}:late-fee:{plan.installments[1].line_id}:1", usd("25"), 62)
        assert aging([(plan, ledger)], day).past_due == usd("25")
        rows = list(csv.DictReader(io.StringIO(tracking_csv([(plan, ledger)], day))))
        assert [(r["kind"], r["outstanding"], r["status"]) for r in rows if r["kind"] == "late_fee"] == [
            ("late_fee", "25.00", "overdue")
        ]
        text = render_statement(plan, ledger, day)
        assert "| Next payment | $25.00 due January 2, 2027 |" in text
        assert "| Overdue now | $25.00 |" in text

    def test_paid_or_waived_fee_is_not_owed(self) -> None:
        """Paying or waiving the fee takes it off every list."""
        plan, ledger = paid_late()
        (fee,) = fees_due(plan, ledger, D(2027, 3, 5))
        for settled in (
            ledger.record(PaymentReceived("fee-paid", D(2027, 3, 6), usd("25"))),
            ledger.record(FeeWaived("fee-waived", D(2027, 3, 6), usd("25"), "first time", fee.id)),
        ):
            assert fees_due(plan, settled, D(2027, 3, 7)) == ()
            assert plan_status(plan, settled, D(2027, 3, 7)).status is PlanStatus.PAID_IN_FULL
            assert overdue([(plan, settled)], D(2027, 3, 7)) == ()


class TestCancellationLeftOwed:
    def test_no_show_fee_is_owed_under_the_settlement_id(self) -> None:
        """A no-show fee the policy collects is one amount owed, under the settlement's id."""
        plan = plan_with_fee()
        ledger = Ledger.empty(plan).record_all(
            [PaymentReceived(f"p{k}", i.due, i.amount) for k, i in enumerate(plan.installments)]
        )
        s = settle_cancellation(plan, ledger, D(2027, 4, 15), no_show=True)
        ledger = ledger.record_all(s.entries)
        (owed,) = fees_due(plan, ledger, D(2027, 4, 20))
        assert (owed.id, owed.kind, owed.outstanding) == (f"{plan.id}:cancellation", "cancellation", usd("75"))
        assert owed.outstanding == s.shortfall
        (item,) = overdue([(plan, ledger)], D(2027, 4, 20))
        assert item.fee_id == owed.id
