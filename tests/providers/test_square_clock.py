"""FakeSquare's clock: Square's autopay on due dates, scripted cards, refunds settling, signed deliveries queued."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("square", reason="the square extra is not installed")

from square import Square

from payplan import Money
from payplan.providers import EventKind, Payer, ProviderBinding, ProviderEvent
from payplan.providers.square import SquareProvider
from payplan.testing import SandboxCard
from payplan.testing.server import Delivery, FakeServer
from payplan.testing.square import FakeSquare

from .contract import reference_plan

START = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


@pytest.fixture
def world() -> Iterator[tuple[FakeSquare, FakeServer, SquareProvider]]:
    """A fresh clocked FakeSquare on 127.0.0.1 and an adapter verifying its deliveries."""
    fake = FakeSquare(timezone="UTC", now=START)
    with FakeServer(fake) as server:
        provider = SquareProvider(
            Square(token="t", base_url=server.url), location_id="L", invoices_plus=True,
            signature_key=fake.signature_key, notification_url=fake.notification_url,
        )
        yield fake, server, provider


def _publish(provider: SquareProvider, plan_id: str, card: str = "ccof:visa") -> ProviderBinding:
    return provider.publish(reference_plan(plan_id), Payer(customer_id="C1", payment_method_id=card))


def _events(provider: SquareProvider, deliveries: list[Delivery]) -> list[ProviderEvent]:
    """The events of *deliveries*, each id once (every invoice.payment_made repeats the requests paid so far)."""
    seen: dict[str, ProviderEvent] = {}
    for d in deliveries:
        for e in provider.parse_webhook(d.headers, d.body):
            seen.setdefault(e.id, e)
    return list(seen.values())


def _kinds(events: list[ProviderEvent]) -> list[tuple[EventKind, int | None, dt.date]]:
    return [(e.kind, e.installment, e.occurred_on) for e in events]


class TestAutopay:
    """Card-on-file payment requests are charged on their due dates, and only then."""

    def test_each_request_is_charged_on_its_due_date(self, world: Any) -> None:
        """Advancing day by day charges the deposit and each installment on its date, once, with Square's notifications."""
        fake, _, provider = world
        binding = _publish(provider, "clock-sq-1")
        plan = reference_plan("clock-sq-1")
        assert fake.deliveries() == []  # publishing sends nothing payplan reads
        deliveries: list[Delivery] = []
        day = START.date()
        while day <= dt.date(2027, 3, 5):
            deliveries += fake.advance_to(day)
            day += dt.timedelta(days=1)
        events = _events(provider, deliveries)
        paid = [e for e in events if e.kind is EventKind.PAYMENT_SUCCEEDED]
        assert [(e.installment, e.occurred_on, e.amount) for e in paid] == [
            (i.number, i.due, i.amount) for i in plan.installments
        ]
        assert all(e.reference in fake.payments for e in paid)  # refundable: the Square payment id
        assert fake.invoices[binding.id("invoice")]["status"] == "PAID"
        kinds = [d.type for d in deliveries]
        assert fake.deliveries() == []  # advance_to took them
        assert kinds.count("invoice.payment_made") == 4
        assert kinds.count("payment.created") == 4
        assert fake.advance_to(dt.date(2027, 6, 1)) == []  # nothing charged twice

    def test_a_jump_charges_everything_due_in_time_order(self, world: Any) -> None:
        """One advance over three due dates charges all three, each dated by its own day."""
        fake, _, provider = world
        _publish(provider, "clock-sq-2")
        events = _events(provider, fake.advance_to(dt.date(2027, 2, 1)))
        assert _kinds(events) == [
            (EventKind.PAYMENT_SUCCEEDED, 1, dt.date(2026, 12, 1)),
            (EventKind.PAYMENT_SUCCEEDED, 2, dt.date(2027, 1, 1)),
            (EventKind.PAYMENT_SUCCEEDED, 3, dt.date(2027, 2, 1)),
        ]
        assert fake.now == dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC)

    def test_the_clock_never_goes_back(self, world: Any) -> None:
        """advance_to an earlier time is refused, saying when the fake is."""
        fake, _, _ = world
        fake.advance_to(dt.date(2027, 1, 1))
        with pytest.raises(ValueError, match="on or after 2027-01-01"):
            fake.advance_to(dt.date(2026, 12, 31))


class TestScriptedCards:
    """Cards decline as their scripts say; Square does not retry a failed automatic payment."""

    def test_a_declined_scheduled_charge_fails_once_and_stays_unpaid(self, world: Any) -> None:
        """A scripted decline on installment 2 sends scheduled_charge_failed once; installment 3 is still charged."""
        fake, _, provider = world
        binding = _publish(provider, "clock-sq-3")
        fake.script("ccof:visa", SandboxCard.SUCCESS, SandboxCard.DECLINE)
        events = _events(provider, fake.advance_to(dt.date(2027, 2, 20)))
        assert _kinds(events) == [
            (EventKind.PAYMENT_SUCCEEDED, 1, dt.date(2026, 12, 1)),
            (EventKind.PAYMENT_FAILED, 2, dt.date(2027, 1, 1)),
            (EventKind.PAYMENT_SUCCEEDED, 3, dt.date(2027, 2, 1)),
        ]
        invoice = fake.invoices[binding.id("invoice")]
        assert invoice["status"] == "PARTIALLY_PAID"
        assert invoice["payment_requests"][1]["total_completed_amount_money"]["amount"] == 0
        failed = [p for p in fake.payments.values() if p["status"] == "FAILED"]
        assert len(failed) == 1
        assert failed[0]["card_details"]["status"] == "FAILED"

    def test_a_second_decline_names_its_own_installment(self, world: Any) -> None:
        """Installments 2 and 3 both declined: each scheduled_charge_failed names its own installment, not the first unpaid."""
        fake, _, provider = world
        _publish(provider, "clock-sq-3b")
        fake.script("ccof:visa", SandboxCard.SUCCESS, SandboxCard.DECLINE, SandboxCard.DECLINE)
        events = _events(provider, fake.advance_to(dt.date(2027, 2, 20)))
        assert _kinds(events) == [
            (EventKind.PAYMENT_SUCCEEDED, 1, dt.date(2026, 12, 1)),
            (EventKind.PAYMENT_FAILED, 2, dt.date(2027, 1, 1)),
            (EventKind.PAYMENT_FAILED, 3, dt.date(2027, 2, 1)),
        ]

    def test_the_buyer_pays_a_declined_request_on_the_invoice_page(self, world: Any) -> None:
        """After a decline, FakeSquare.pay is the buyer paying through the link, and its notification is queued."""
        fake, _, provider = world
        binding = _publish(provider, "clock-sq-4", card="ccof:expired")
        failed = _events(provider, fake.advance_to(dt.date(2026, 12, 2)))
        assert [(e.kind, e.reason) for e in failed] == [(EventKind.PAYMENT_FAILED, "scheduled_charge_failed")]
        fake.pay(binding.id("invoice"), 1)
        (paid,) = _events(provider, fake.take_deliveries())
        assert (paid.kind, paid.installment, paid.amount) == (
            EventKind.PAYMENT_SUCCEEDED, 1, Money.of("500.00", "USD"))

    def test_an_on_demand_fee_follows_the_script(self, world: Any) -> None:
        """charge_fee takes the card's next scripted outcome, as the sandbox does."""
        fake, _, provider = world
        binding = _publish(provider, "clock-sq-5")
        plan = reference_plan("clock-sq-5")
        fake.script("ccof:visa", SandboxCard.EXPIRED)
        outcome = provider.charge_fee(binding, plan, "fee-1", Money.of("35.00", "USD"))
        assert (outcome.status.value, outcome.decline_code) == ("declined", "card_expired")


class TestRefundsAndCancel:
    """Refunds settle a minute later; a cancel is notified."""

    def test_a_refund_completes_on_the_next_advance(self, world: Any) -> None:
        """refund.created is queued at once; refund.updated COMPLETED after the clock moves, and it becomes REFUNDED."""
        fake, _, provider = world
        binding = _publish(provider, "clock-sq-6")
        (paid,) = _events(provider, fake.advance_to(dt.date(2026, 12, 1)))
        outcome = provider.refund(binding, paid.reference, Money.of("50.00", "USD"))
        assert outcome.status.value == "pending"
        assert _events(provider, fake.take_deliveries()) == []  # PENDING: nothing yet
        (refunded,) = _events(provider, fake.advance_to(dt.date(2026, 12, 2)))
        assert (refunded.kind, refunded.amount, refunded.reference) == (
            EventKind.REFUNDED, Money.of("50.00", "USD"), paid.reference)

    def test_cancel_sends_invoice_canceled_and_stops_autopay(self, world: Any) -> None:
        """After cancel, invoice.canceled is queued and no later due date is charged."""
        fake, _, provider = world
        binding = _publish(provider, "clock-sq-7")
        fake.advance_to(dt.date(2026, 12, 15))
        fake.take_deliveries()
        provider.cancel(binding)
        (canceled,) = _events(provider, fake.take_deliveries())
        assert canceled.kind is EventKind.PLAN_CANCELED
        assert fake.advance_to(dt.date(2027, 4, 1)) == []
