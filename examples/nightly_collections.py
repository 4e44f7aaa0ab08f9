"""A booking site's nightly collections run, from booking to cancellation, on the lifecycle API.

Run: python examples/nightly_collections.py

Books Session Pack A with a late-fee ladder, reminders and a cancellation
policy through :class:`payplan.bookings.Bookings` (a store, the sandbox
provider the daily run charges, a notifier); every night runs the day's
collections (late fees, charges and their retries, reminders and dunning
notices), twice, as a retried job would, and prints what went out; the
client's card is declined once and the client catches up from the client
portal; the client is flagged once late too often; then the booking is
cancelled, its refund sent through the provider. No network and no clock:
the "nights" are dates the script walks through, and running any night
twice changes nothing.
"""

from __future__ import annotations

import datetime as dt

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    DepositRule,
    EscalationPolicy,
    LateFeePolicy,
    LateFeeStep,
    Money,
    PaymentPlan,
    Terms,
    client_standing,
    plan_status,
)
from payplan.bookings import Bookings
from payplan.notify import Contact, InMemoryNotifier
from payplan.providers import Payer
from payplan.store import MemoryStore
from payplan.testing import OnDemandSandboxProvider, SandboxCard


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
    )
    plan = PaymentPlan.with_deposit(
        "booking-42", usd("2000.00"), terms=terms, booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15),
        client="client-7",
    )
    for line in (terms.late_fees.describe(), terms.reminders.describe(), terms.cancellation.describe()):  # type: ignore[union-attr]
        print(line)
    print()

    # The client's card: the deposit goes through, January's installment and its retries are declined.
    provider = OnDemandSandboxProvider(plan.booked)
    provider.script("pm_client_7", SandboxCard.SUCCESS, *[SandboxCard.DECLINE] * 4, SandboxCard.SUCCESS)
    notifier = InMemoryNotifier()
    bookings = Bookings(
        MemoryStore(), [provider], notifier, contacts={"client-7": Contact("Jo Client", email="jo@example.com")}
    )
    bookings.book(plan, Payer(customer_id="client-7", payment_method_id="pm_client_7"), provider="sandbox",
                  on=plan.booked)

    night = plan.booked
    while night <= dt.date(2027, 2, 20):
        before = len(notifier.sent)
        summary = bookings.collect(night)
        again = bookings.collect(night)  # a retried job: the second run adds nothing
        assert (again.fees, again.charges, again.reminders, again.notices) == (0, 0, 0, 0)
        if night == dt.date(2027, 1, 20):  # the client pays what is owed from the client portal
            for outcome in bookings.pay_now(plan.id, on=night):
                print(f"{night}  paid now: {outcome.amount} ({outcome.status.value})")
        for message in notifier.sent[before:]:
            print(f"{night}  sent {message.subject}")
        if summary.declined:
            print(f"{night}  charge declined")
        night += dt.timedelta(days=1)

    booking = bookings.booking(plan.id)
    statement = plan_status(booking.plan, booking.ledger, night)
    print(f"\n{night}: {statement.status.value}, balance {statement.balance}, fees {booking.ledger.fees}")
    for s in statement.installments:
        print(f"  #{s.number} due {s.installment.due}: {s.status.value}, paid {s.paid}, owed {s.outstanding}")

    standing = client_standing(
        "client-7", bookings.store.portfolio(), night, policy=EscalationPolicy(flag_after_late=2)
    )
    print(f"\nclient-7: {standing.late_installments} late installment(s), flagged: {standing.flagged}")

    preview = bookings.cancel_preview(plan.id, on=dt.date(2027, 3, 20))
    booking = bookings.cancel(plan.id, on=dt.date(2027, 3, 20), reason="the client moved away")
    assert booking.settlement == preview
    print(f"\nCancelled on 2027-03-20 ({preview.reason}):")
    print(f"  retained {preview.retained}, refund {preview.refund} sent through {booking.binding.provider}")  # type: ignore[union-attr]
    print(f"  status {plan_status(booking.plan, booking.ledger, dt.date(2027, 3, 20)).status.value}, "
          f"balance {booking.ledger.balance}, in the daily run: {booking.active}")


if __name__ == "__main__":
    main()
