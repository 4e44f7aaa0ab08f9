"""Square and PayPal money paths over the clocked fakes: goodwill refunds, a fee charged once, PayPal's fixes (#20)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("square", reason="the square extra is not installed")
pytest.importorskip("paypalrestsdk")
pytest.importorskip("paypalserversdk")
pytest.importorskip("cryptography")

from square import Square

from payplan import InstallmentState, Money, PaymentReceived, Refund, plan_status
from payplan.providers import ChargeStatus, Payer, Provider, RefundStatus
from payplan.providers.paypal import PayPalProvider
from payplan.providers.square import SquareProvider
from payplan.store import MemoryStore, Store, receive_webhook
from payplan.store import refund as store_refund
from payplan.testing import SandboxCard
from payplan.testing.paypal import FakePayPal, PayPalSigner
from payplan.testing.server import Delivery, FakeServer
from payplan.testing.square import FakeSquare

from .contract import reference_plan
from .test_goodwill_refunds import FIFTY, check_stays_paid
from .test_paypal import rest_provider, server_provider

START = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
THIRTY_FIVE = Money.of("35.00", "USD")
YEAR_BEFORE = dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)


def deliver(store: Store, provider: Provider, deliveries: list[Delivery]) -> None:
    """Post each delivery to the store's webhook intake, as the site's endpoint would."""
    for d in deliveries:
        assert receive_webhook(store, provider, d.headers, d.body).status in (200, 202), d.type


# -- Square -----------------------------------------------------------------------------------


@pytest.fixture
def square_world(request: pytest.FixtureRequest) -> Iterator[tuple[FakeSquare, FakeServer, SquareProvider]]:
    """A fresh clocked FakeSquare on 127.0.0.1 (from START, or a year earlier for a busy location) and its adapter."""
    fake = FakeSquare(timezone="UTC", now=getattr(request, "param", START))
    with FakeServer(fake) as server:
        provider = SquareProvider(
            Square(token="t", base_url=server.url), location_id="L", invoices_plus=True,
            signature_key=fake.signature_key, notification_url=fake.notification_url,
        )
        yield fake, server, provider


class TestSquareGoodwill:
    """A goodwill refund through Square keeps installment 1 paid; a dashboard refund reopens it."""

    def _paid(self, fake: FakeSquare, provider: SquareProvider, store: Store, plan_id: str) -> tuple[Any, Any, str]:
        plan = reference_plan(plan_id)
        store.add_plan(plan)
        binding = provider.publish(plan, Payer(customer_id="C1", payment_method_id="ccof:visa"))
        store.save_binding(binding)
        fake.advance_to(dt.date(2026, 12, 1), deliver=lambda d: deliver(store, provider, [d]))
        (payment,) = [e for e in store.load(plan.id).ledger if isinstance(e, PaymentReceived)]
        return plan, binding, str(payment.reference)

    def test_goodwill_refund_is_a_price_reduction(self, square_world: Any) -> None:
        """store.refund(lowers_price=True) marks the refund's reason; Square's refund.updated brings it back as a price reduction."""
        fake, _, provider = square_world
        store = MemoryStore()
        plan, binding, payment = self._paid(fake, provider, store, "sq-goodwill")
        outcome = store_refund(store, provider, binding, payment, FIFTY, installment=1, reason="late photos",
                               lowers_price=True)
        assert (outcome.status, outcome.lowers_price) == (RefundStatus.PENDING, True)
        assert outcome.entry(dt.date(2026, 12, 1)) is None  # pending: the webhook records it
        refund = fake.refunds[str(outcome.reference)]
        assert refund["reason"] == "[payplan:goodwill] late photos"
        fake.advance_to(dt.date(2026, 12, 2), deliver=lambda d: deliver(store, provider, [d]))
        ledger = store.load(plan.id).ledger
        (entry,) = [e for e in ledger if isinstance(e, Refund)]
        assert entry.reason == "late photos"
        check_stays_paid(plan, ledger, dt.date(2026, 12, 2))

    def test_dashboard_refund_stays_a_reversal(self, square_world: Any) -> None:
        """A refund made in Square's dashboard (no mark) is a reversal: installment 1 is owed again."""
        fake, _, provider = square_world
        store = MemoryStore()
        plan, _, payment = self._paid(fake, provider, store, "sq-dashboard")
        fake.dashboard_refund(payment, 5000, reason="customer asked")
        fake.advance_to(dt.date(2026, 12, 2), deliver=lambda d: deliver(store, provider, [d]))
        ledger = store.load(plan.id).ledger
        (entry,) = [e for e in ledger if isinstance(e, Refund)]
        assert not entry.lowers_price
        assert plan_status(plan, ledger, dt.date(2026, 12, 2)).installment(1).status is not InstallmentState.PAID


class TestSquareFeeOnce:
    """charge_fee finds an earlier charge of the fee within the fee's time, whatever the attempt (#20 items 6, 7)."""

    def _busy_location(self, fake: FakeSquare, server: FakeServer, provider: SquareProvider) -> tuple[Any, Any]:
        """A location that took 240 payments over the year before the fee (half of them $35), then the plan."""
        client = Square(token="t", base_url=server.url)
        day = dt.datetime(2026, 1, 5, 15, tzinfo=dt.UTC)
        for n in range(240):
            fake.advance_to(day + dt.timedelta(days=n * 1.5))
            client.payments.create(source_id="ccof:other", idempotency_key=f"other-{n}",
                                   amount_money={"amount": 3500 if n % 2 else 12000, "currency": "USD"},
                                   customer_id="C9", location_id="L", reference_id=f"other-{n}")
        plan = reference_plan("sq-fee")
        binding = provider.publish(plan, Payer(customer_id="C1", payment_method_id="ccof:visa"))
        fake.advance_to(dt.date(2027, 1, 10))
        server.clear()
        return plan, binding

    @pytest.mark.parametrize("square_world", [YEAR_BEFORE], indirect=True)
    def test_a_retry_reads_one_short_page_not_a_year(self, square_world: Any) -> None:
        """A fee retry lists the location's payments from the line's due date at the fee's amount: one page of a few."""
        fake, server, provider = square_world
        plan, binding = self._busy_location(fake, server, provider)
        fee = f"{plan.id}:late-fee:2:0"
        fake.script("ccof:visa", SandboxCard.DECLINE)
        assert provider.charge_fee(binding, plan, fee, THIRTY_FIVE).status is ChargeStatus.DECLINED
        server.clear()
        fake.advance_to(dt.date(2027, 1, 15))
        retried = provider.charge_fee(binding, plan, fee, THIRTY_FIVE, attempt=2)
        assert retried.status is ChargeStatus.SUCCEEDED
        lists = [r for r in server.requests() if r.method == "GET" and r.path == "/v2/payments"]
        assert len(lists) == 1
        query = lists[0].query_params()
        assert query["begin_time"] == "2026-12-31T00:00:00Z"
        assert query["total"] == "3500"

    @pytest.mark.parametrize("square_world", [YEAR_BEFORE], indirect=True)
    def test_a_fee_is_charged_once_after_square_forgot_the_key(self, square_world: Any) -> None:
        """The same attempt run again after Square forgot its idempotency key finds the charge and charges nothing."""
        fake, server, provider = square_world
        plan, binding = self._busy_location(fake, server, provider)
        fee = f"{plan.id}:late-fee:2:0"
        first = provider.charge_fee(binding, plan, fee, THIRTY_FIVE)
        assert first.status is ChargeStatus.SUCCEEDED
        fake.forget_idempotency_keys()
        fake.advance_to(dt.date(2027, 2, 20))  # weeks later, a rerun after a lost outcome
        before = len(fake.payments)
        again = provider.charge_fee(binding, plan, fee, THIRTY_FIVE)
        assert again.status is ChargeStatus.SUCCEEDED
        assert again.reference == first.reference
        assert len(fake.payments) == before


# -- PayPal -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def money_signer() -> PayPalSigner:
    """One signing key for the module."""
    return PayPalSigner()


@pytest.fixture(params=["rest", "server"])
def paypal_world(
    request: pytest.FixtureRequest, money_signer: PayPalSigner
) -> Iterator[tuple[FakePayPal, FakeServer, PayPalProvider]]:
    """A fresh clocked FakePayPal and one of the two bindings reading its clock."""
    fake = FakePayPal(money_signer, now=START)
    sales: dict[str, str] = {}
    with FakeServer(fake) as server:
        make = rest_provider if request.param == "rest" else server_provider
        yield fake, server, make(server.url, money_signer, clock=fake.clock, plan_for_subscription=sales.get)


class TestPayPalGoodwill:
    """Refunds through Payments v2: a goodwill refund's custom_id carries the word back; the dashboard's does not."""

    def _paid(self, fake: FakePayPal, provider: PayPalProvider, store: Store, plan_id: str) -> tuple[Any, Any, str]:
        plan = reference_plan(plan_id)
        store.add_plan(plan)
        binding = provider.publish(plan, Payer(email="client@example.com"))
        store.save_binding(binding)
        fake.approve(binding.id("subscription"))
        deliver(store, provider, fake.take_deliveries())
        (payment,) = [e for e in store.load(plan.id).ledger if isinstance(e, PaymentReceived)]
        return plan, binding, str(payment.reference)

    @pytest.mark.parametrize("answer_first", [True, False], ids=["answer-first", "webhook-first"])
    def test_goodwill_refund_is_a_price_reduction(self, paypal_world: Any, answer_first: bool) -> None:
        """store.refund(lowers_price=True) through PayPal keeps installment 1 paid whichever of answer and webhook lands first."""
        fake, _, provider = paypal_world
        store = MemoryStore()
        plan, binding, sale = self._paid(fake, provider, store, "pp-goodwill")
        outcome = store_refund(store, provider, binding, sale, FIFTY, installment=1, reason="late photos",
                               lowers_price=True)
        assert (outcome.status, outcome.lowers_price) == (RefundStatus.SUCCEEDED, True)
        assert fake.refunds[str(outcome.reference)]["custom_id"] == "payplan-refund:pp-goodwill:goodwill"
        entry = outcome.entry(fake.now.date(), "late photos")
        assert entry is not None

        def answer() -> None:
            store.record_entries(plan.id, [entry])

        def webhook() -> None:
            deliver(store, provider, fake.take_deliveries())

        for step in (answer, webhook) if answer_first else (webhook, answer):
            step()
        check_stays_paid(plan, store.load(plan.id).ledger, fake.now.date())

    def test_dashboard_refund_stays_a_reversal(self, paypal_world: Any) -> None:
        """A refund made in PayPal's dashboard carries no payplan custom_id: a reversal."""
        fake, _, provider = paypal_world
        store = MemoryStore()
        plan, _, sale = self._paid(fake, provider, store, "pp-dashboard")
        provider.plan_for_subscription = {sale: plan.id}.get
        fake.dashboard_refund(sale, "50.00")
        deliver(store, provider, fake.take_deliveries())
        ledger = store.load(plan.id).ledger
        (entry,) = [e for e in ledger if isinstance(e, Refund)]
        assert not entry.lowers_price
        assert plan_status(plan, ledger, fake.now.date()).installment(1).status is not InstallmentState.PAID

    def test_money_is_confirmed_without_deprecated_reads(self, paypal_world: Any) -> None:
        """Sales are confirmed through the subscription's transactions, refunds through /v2/payments; never /v1/payments (#20)."""
        fake, server, provider = paypal_world
        store = MemoryStore()
        plan, binding, sale = self._paid(fake, provider, store, "pp-reads")
        store_refund(store, provider, binding, sale, FIFTY)
        deliver(store, provider, fake.take_deliveries())
        paths = [r.path for r in server.requests()]
        assert not [p for p in paths if p.startswith("/v1/payments")]
        assert f"/v1/billing/subscriptions/{binding.id('subscription')}/transactions" in paths
        assert any(p.startswith("/v2/payments/refunds/") for p in paths)
        assert store.load(plan.id).ledger.refunded == FIFTY


class TestPayPalCancel:
    """cancel() stops what would charge (#20 item 7)."""

    def test_an_approved_subscription_is_cancelled(self, paypal_world: Any) -> None:
        """An APPROVED (not yet ACTIVE) subscription is cancelled itself, not only its billing plan deactivated."""
        fake, _, provider = paypal_world
        binding = provider.publish(reference_plan("pp-approved"), Payer(email="client@example.com"))
        fake.approve(binding.id("subscription"), activate=False)
        assert fake.subscriptions[binding.id("subscription")]["status"] == "APPROVED"
        provider.cancel(binding)
        assert fake.subscriptions[binding.id("subscription")]["status"] == "CANCELLED"
        provider.cancel(binding)  # twice is harmless
