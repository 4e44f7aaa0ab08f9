"""``payplan demo``: the whole story of one booking, on the sandbox provider.

No network, no keys, no clock: the sandbox's date is advanced by the demo
itself, so every run prints the same thing.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from .._amendments import Resplit, amend
from .._catalog import REFERENCE_CATALOG_TOML, Catalog
from .._documents import render_statement
from .._late_fees import assess_late_fees
from .._ledger import Ledger, PaymentReceived
from .._money import Money
from .._plan import PaymentPlan
from .._reminders import reminders_due
from .._status import plan_status
from ..providers import Payer, ProviderBinding, ProviderEvent, apply_events
from ..testing import SandboxCard, SandboxProvider
from ._quote import plan_table

#: The reference catalog plus the collection terms the story needs.
DEMO_CATALOG_TOML = REFERENCE_CATALOG_TOML.replace(
    'remainder = "first"\n',
    'remainder = "first"\ngrace_days = 3\nlate_fee = "25.00"\nreminders = [-3, 0, 1, 7]\n',
)

BOOKED = dt.date(2026, 12, 1)
SESSION = dt.date(2027, 4, 15)
CARD = SandboxCard.SUCCESS.value


def register(subs: Any) -> None:
    """Add ``demo`` to the subcommands."""
    p = subs.add_parser(
        "demo",
        help="the whole story of one booking on the sandbox provider (no network, no keys)",
    )
    p.set_defaults(run=run)


def _money(m: Money) -> str:
    return m.format("en_US")


class _Story:
    """The booking site's side: one plan, its ledger, the sandbox, and what the client sees."""

    def __init__(self, plan: PaymentPlan) -> None:
        self.plan = plan
        self.ledger = Ledger.empty(plan)
        self.sandbox = SandboxProvider(today=plan.booked)
        self.binding: ProviderBinding | None = None
        self.deferred: tuple[ProviderEvent, ...] = ()

    def apply(self, events: tuple[ProviderEvent, ...]) -> None:
        for e in events:
            what = {
                "payment_succeeded": f"payment received: {_money(e.amount) if e.amount else ''}",
                "payment_failed": f"payment FAILED ({e.reason})",
                "payment_action_required": "payment needs the client to authenticate",
                "refunded": f"refund: {_money(e.amount) if e.amount else ''}",
                "plan_canceled": "plan cancelled at the provider",
                "plan_suspended": "plan suspended at the provider",
            }[e.kind.value]
            number = f"installment {e.installment}: " if e.installment else ""
            print(f"  [sandbox webhook {e.occurred_on}] {number}{what}")
        result = apply_events(self.ledger, (*self.deferred, *events))
        self.ledger, self.deferred = result.ledger, result.deferred

    def advance(self, day: dt.date, *, quiet_days: bool = True) -> None:
        """Move the sandbox day by day to *day*, printing what a booking site would act on."""
        current = self.sandbox.today
        while current < day:
            current += dt.timedelta(days=1)
            events = self.sandbox.advance_to(current)
            self.apply(events)
            fees = assess_late_fees(self.plan, self.ledger, current)
            for fee in fees:
                print(f"  [{current}] late fee assessed after the {self.plan.terms.late_fees.grace_days if self.plan.terms.late_fees else 0}-day grace: "
                      f"{_money(fee.amount)} on installment {fee.installment}")
            self.ledger = self.ledger.record_all(fees)
            for reminder in reminders_due(self.plan, self.ledger, current):
                print(f"  [{current}] reminder e-mailed ({reminder.kind.value}): {reminder.message}")

    def portal(self, title: str) -> None:
        """What the client sees on the booking site's "My booking" page."""
        status = plan_status(self.plan, self.ledger, self.sandbox.today)
        upcoming = [s for s in status.installments if s.outstanding.minor > 0]
        print(f"\n  +-- My booking: {self.plan.tier} ({self.plan.id}), plan v{self.plan.version} -- {title}")
        print(f"  |  as of {status.as_of}: status {status.status.value.replace('_', ' ')}")
        print(f"  |  paid {_money(status.paid)}, balance {_money(status.balance)}"
              + (f" (late fees {_money(status.fees_outstanding)})" if status.fees_outstanding.minor else ""))
        if upcoming:
            nxt = upcoming[0]
            print(f"  |  next: installment {nxt.number}, {_money(nxt.outstanding)} due {nxt.installment.due}"
                  + (f" -- OVERDUE {nxt.days_overdue} days" if nxt.days_overdue else ""))
        print(f"  |  deliverables: {'RELEASED' if status.deliverables_released else 'held until paid in full'}")
        print("  +--")


def run(args: argparse.Namespace) -> int:
    """Tell the story of Session Pack A from booking to final statement."""
    print("payplan demo: one booking from the catalog to the final statement, on the sandbox provider")
    print("(in memory, no network, no keys; the sandbox's clock is advanced by the demo)\n")

    print("1. The catalog")
    catalog = Catalog.from_toml(DEMO_CATALOG_TOML)
    for tier in catalog:
        fee = _money(tier.fee) if tier.fee else "agreed fee"
        print(f"   - {tier.name}: {fee}, installments {list(tier.installment_counts)}"
              + (f" ({tier.description})" if tier.description else ""))
    print("   deposit 25% or $500, monthly, paid in full 14 days before the session;"
          " 3-day grace, then a $25 late fee\n")

    print(f"2. A client books Session Pack A on {BOOKED} for a session on {SESSION}")
    plan = catalog["Session Pack A"].quote("booking-1001", booked=BOOKED, session=SESSION, client="Ada Lovelace")
    print(plan_table(plan))
    story = _Story(plan)
    story.binding = story.sandbox.publish(plan, Payer(customer_id="cus_ada", payment_method_id=CARD))
    print(f"   published to the sandbox: {dict(story.binding.ids)}")

    print("\n3. The deposit is charged at booking")
    story.apply(story.sandbox.advance_to(BOOKED))
    story.portal("deposit paid")

    print("\n4. Time passes; the January installment is declined")
    story.sandbox.script(CARD, SandboxCard.DECLINE)
    story.advance(dt.date(2027, 1, 6))
    story.portal("payment overdue")

    print("\n5. The client updates the card and pays the overdue installment")
    outcome = story.sandbox.charge(story.binding, plan, 2, attempt=2)
    print(f"   retry of installment 2 (attempt 2, a new idempotency key): {outcome.status.value}")
    story.apply(story.sandbox.events[-1:])
    story.portal("installment paid; the late fee stays on the account")

    print("\n6. Hardship: the client asks for smaller payments; the rest is re-split twice a month")
    on = dt.date(2027, 1, 20)
    story.advance(on)
    new, record = amend(
        plan,
        Resplit.into(4, first_due=dt.date(2027, 2, 1), cadence="semimonthly"),
        by="studio owner",
        reason="client hardship (reduced hours)",
        on=on,
        consent=True,
        paid=story.ledger,
    )
    print(f"   {record.describe()}")
    print(plan_table(new))
    story.binding = story.sandbox.update(story.binding, new)
    story.plan, story.ledger = new, story.ledger.for_plan(new)
    print(f"   the sandbox now holds plan v{story.binding.plan_version}; paid installments stay as they were")
    story.portal("amended")

    print("\n7. The remaining installments are charged on their dates; the late fee is settled at the end")
    story.advance(new.installments[-1].due)
    fee_due = story.ledger.balance
    if fee_due.minor > 0:
        story.ledger = story.ledger.record(
            PaymentReceived("booking-1001:late-fee", story.sandbox.today, fee_due, "card", "site checkout")
        )
        print(f"   the client pays the remaining {_money(fee_due)} (the late fee) at checkout")
    status = plan_status(story.plan, story.ledger, story.sandbox.today)
    story.portal("paid in full" if status.paid_in_full else "still owing")
    if status.deliverables_released:
        print("   -> paid in full: the gallery and prints are released to the client")

    print("\n8. The final statement")
    print(render_statement(story.plan, story.ledger, story.sandbox.today, format="txt"))

    from ._demo_ops import operations_story

    operations_story(catalog)
    return 0
