"""FakePayPal's clock: setup fee at approval, billing cycles on their dates, PayPal's retries, both bindings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("paypalrestsdk")
pytest.importorskip("paypalserversdk")
pytest.importorskip("cryptography")

from payplan import Money
from payplan.providers import EventKind, Payer, ProviderBinding, ProviderEvent
from payplan.providers.paypal import PayPalProvider
from payplan.testing import SandboxCard
from payplan.testing.paypal import FakePayPal, PayPalSigner
from payplan.testing.server import Delivery, FakeServer

from .contract import reference_plan
from .test_paypal import rest_provider, server_provider

START = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
USD = "USD"


@pytest.fixture(scope="module")
def clock_signer() -> PayPalSigner:
    """One signing key for the module."""
    return PayPalSigner()


@pytest.fixture(params=["rest", "server"])
def world(request: pytest.FixtureRequest, clock_signer: PayPalSigner) -> Iterator[tuple[FakePayPal, PayPalProvider]]:
    """A fresh clocked FakePayPal and one of the two bindings reading its clock."""
    fake = FakePayPal(clock_signer, now=START)
    with FakeServer(fake) as server:
        make = rest_provider if request.param == "rest" else server_provider
        yield fake, make(server.url, clock_signer, clock=fake.clock)


def _publish(provider: PayPalProvider, plan_id: str, email: str = "client@example.com") -> ProviderBinding:
    return provider.publish(reference_plan(plan_id), Payer(email=email))


def _events(provider: PayPalProvider, deliveries: list[Delivery]) -> list[ProviderEvent]:
    return [e for d in deliveries for e in provider.parse_webhook(d.headers, d.body)]


def _run(fake: FakePayPal, provider: PayPalProvider, when: dt.date) -> list[ProviderEvent]:
    """Advance to *when*, handing each delivery to the adapter as it happens (as PayPal would)."""
    events: list[ProviderEvent] = []
    left = fake.advance_to(when, deliver=lambda d: events.extend(provider.parse_webhook(d.headers, d.body)))
    assert left == []
    return events


def _money(events: list[ProviderEvent]) -> list[tuple[EventKind, dt.date, Money | None]]:
    return [(e.kind, e.occurred_on, e.amount) for e in events]


class TestCycles:
    """The setup fee at approval, then one payment per cycle on its date, then EXPIRED."""

    def test_the_deposit_and_each_cycle_are_charged_on_their_dates(self, world: Any) -> None:
        """Approval charges the deposit; advancing charges each monthly installment once, then the subscription expires."""
        fake, provider = world
        binding = _publish(provider, "clock-pp-1")
        assert fake.advance_to(dt.date(2026, 12, 20)) == []  # not approved: nothing billed
        fake.approve(binding.id("subscription"))
        events = _run(fake, provider, dt.date(2027, 6, 1))
        paid = [e for e in events if e.kind is EventKind.PAYMENT_SUCCEEDED]
        plan = reference_plan("clock-pp-1")
        assert [(e.occurred_on, e.amount) for e in paid] == [(dt.date(2026, 12, 20), plan.installment(1).amount)] + [
            (i.due, i.amount) for i in plan.installments[1:]
        ]
        assert all(e.plan_id == plan.id for e in paid)
        sub = fake.subscriptions[binding.id("subscription")]
        assert sub["status"] == "EXPIRED"
        assert [r["cycles_completed"] for r in sub["billing_info"]["cycle_executions"]] == [3]
        assert fake.advance_to(dt.date(2027, 9, 1)) == []

    def test_deliveries_are_signed_at_the_fakes_time(self, world: Any) -> None:
        """A delivery queued months ahead verifies under the adapter's clock set to the fake's, and is stale 20 minutes later."""
        from payplan import ProviderAuthError

        fake, provider = world
        binding = _publish(provider, "clock-pp-2")
        fake.approve(binding.id("subscription"))
        fake.take_deliveries()
        assert fake.advance_to(dt.datetime(2027, 1, 1, 11, 59, tzinfo=dt.UTC)) == []  # billed at start_time, noon
        (sale,) = fake.advance_to(dt.datetime(2027, 1, 1, 12, 5, tzinfo=dt.UTC))
        assert sale.type == "PAYMENT.SALE.COMPLETED"
        assert json.loads(sale.body)["create_time"] == "2027-01-01T12:00:00Z"
        (paid,) = provider.parse_webhook(sale.headers, sale.body)  # five minutes old by the fake's clock: fresh
        assert paid.occurred_on == dt.date(2027, 1, 1)
        fake.advance_to(dt.datetime(2027, 1, 1, 12, 20, tzinfo=dt.UTC))
        with pytest.raises(ProviderAuthError, match="within"):
            provider.parse_webhook(sale.headers, sale.body)


class TestFailures:
    """PayPal's documented retries: every 5 days, twice per cycle, then a failure counted; the threshold suspends."""

    def test_a_declined_cycle_is_retried_after_five_and_ten_days(self, world: Any) -> None:
        """One decline then success: PAYMENT.FAILED for installment 2 on its date, the payment five days later."""
        fake, provider = world
        binding = _publish(provider, "clock-pp-3")
        fake.script("client@example.com", SandboxCard.SUCCESS, SandboxCard.DECLINE)
        fake.approve(binding.id("subscription"))
        events = _run(fake, provider, dt.date(2027, 1, 20))
        assert [(e.kind, e.occurred_on, e.installment) for e in events] == [
            (EventKind.PAYMENT_SUCCEEDED, dt.date(2026, 12, 1), None),
            (EventKind.PAYMENT_FAILED, dt.date(2027, 1, 1), 2),
            (EventKind.PAYMENT_SUCCEEDED, dt.date(2027, 1, 6), None),
        ]

    def test_the_threshold_suspends_after_the_second_retry(self, world: Any) -> None:
        """With payment_failure_threshold=1, three failed attempts (day 0, 5, 10) suspend the subscription; nothing more is billed."""
        fake, provider = world
        binding = _publish(provider, "clock-pp-4")
        sid = binding.id("subscription")
        fake.script(sid, SandboxCard.SUCCESS, *[SandboxCard.DECLINE] * 3)
        fake.approve(sid)
        events = _run(fake, provider, dt.date(2027, 4, 1))
        assert [(e.kind, e.occurred_on) for e in events] == [
            (EventKind.PAYMENT_SUCCEEDED, dt.date(2026, 12, 1)),
            (EventKind.PAYMENT_FAILED, dt.date(2027, 1, 1)),
            (EventKind.PAYMENT_FAILED, dt.date(2027, 1, 6)),
            (EventKind.PAYMENT_FAILED, dt.date(2027, 1, 11)),
            (EventKind.PLAN_SUSPENDED, dt.date(2027, 1, 11)),
        ]
        info = fake.subscriptions[sid]["billing_info"]
        assert info["failed_payments_count"] == 1
        assert info["outstanding_balance"]["value"] == "500.00"

    def test_a_failed_setup_fee_cancels_by_default(self, world: Any) -> None:
        """setup_fee_failure_action CANCEL: a declined deposit cancels the subscription at approval."""
        fake, provider = world
        binding = _publish(provider, "clock-pp-5")
        fake.script(binding.id("subscription"), SandboxCard.EXPIRED)
        fake.approve(binding.id("subscription"))
        (canceled,) = _events(provider, fake.take_deliveries())
        assert canceled.kind is EventKind.PLAN_CANCELED
        assert fake.advance_to(dt.date(2027, 3, 1)) == []

