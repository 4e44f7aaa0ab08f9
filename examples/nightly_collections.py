"""A booking site's nightly collections run, from booking to cancellation.

Run: python examples/nightly_collections.py

Books Session Pack A with a late-fee ladder, reminders, a cancellation policy
and a referral credit; records what the client pays; every night assesses
the late fees due and prints the reminders to send; flags the client once
they are late too often; then settles a cancellation. No clock, no I/O: the
"nights" are dates the script walks through, and running any night twice
changes nothing.
"""

from __future__ import annotations

import datetime as dt

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    DepositRule,
    EscalationPolicy,
    Incentive,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    Money,
    PaymentPlan,
    PaymentReceived,
    Terms,
    assess_late_fees,
    client_standing,
    earned_incentives,
    plan_status,
    reminders_due,
    settle_cancellation,
)


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def main() -> None:
    terms = Terms(
        deposit=DepositRule.percent_or_minimum(25, usd("500.00")),
        installments=3,
        late_fees=LateFeePolicy(
            (LateFeeStep.flat(1, usd("25.00")), LateFeeStep.percent_of_overdue(15, 5)), grace_days=5, cap=usd("75.00")
        ),
        cancellation=CancellationPolicy((CancellationWindow(30, 50), CancellationWindow(7, 100))),
        incentives=(Incentive.referral(usd("50.00"), referrer="a past client"),),
    )
    plan = PaymentPlan.with_deposit(
        "booking-42", usd("2000.00"), terms=terms, booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15),
        client="client-7",
    )
    for line in (terms.late_fees.describe(), terms.reminders.describe(), terms.cancellation.describe()):  # type: ignore[union-attr]
        print(line)
    print()

    # What the client pays (in a real site: normalized provider webhooks).
    arriving = {
        dt.date(2026, 12, 1): PaymentReceived("ch_1", dt.date(2026, 12, 1), usd("500.00"), "card"),
        dt.date(2027, 1, 12): PaymentReceived("ch_2", dt.date(2027, 1, 12), usd("300.00"), "card"),
        dt.date(2027, 1, 20): PaymentReceived("ch_3", dt.date(2027, 1, 20), usd("225.00"), "card"),
    }
    ledger = Ledger.empty(plan)
    night = plan.booked
    while night <= dt.date(2027, 2, 20):
        if night in arriving:
            ledger = ledger.record(arriving[night])
        for _ in range(2):  # a retried job: the second run adds nothing
            ledger = ledger.record_all(assess_late_fees(plan, ledger, night))
            ledger = ledger.record_all(a.entry for a in earned_incentives(plan, ledger, night) if a.entry)
        for reminder in reminders_due(plan, ledger, night):
            print(f"{night}  send {reminder.id}: {reminder.message}")
        night += dt.timedelta(days=1)

    statement = plan_status(plan, ledger, night)
    print(f"\n{night}: {statement.status.value}, balance {statement.balance}, fees {ledger.fees}, credits {ledger.credits}")
    for s in statement.installments:
        print(f"  #{s.number} due {s.installment.due}: {s.status.value}, paid {s.paid}, owed {s.outstanding}")

    standing = client_standing("client-7", [(plan, ledger)], night, policy=EscalationPolicy(flag_after_late=2))
    print(f"\nclient-7: {standing.late_installments} late installment(s), flagged: {standing.flagged}")

    settlement = settle_cancellation(plan, ledger, dt.date(2027, 3, 20))
    ledger = ledger.record_all(settlement.entries)
    print(f"\nCancelled on 2027-03-20 ({settlement.reason}):")
    print(f"  retained {settlement.retained} (clawback {settlement.clawback}), refund {settlement.refund}")
    print(f"  status {plan_status(plan, ledger, dt.date(2027, 3, 20)).status.value}, balance {ledger.balance}")


if __name__ == "__main__":
    main()
