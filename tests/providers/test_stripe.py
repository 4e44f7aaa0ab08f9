"""The Stripe adapter: the provider contract through the real SDK against a fake Stripe, plus mapping tests."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

stripe = pytest.importorskip("stripe", reason="the stripe extra is not installed")

from payplan import (  # noqa: E402
    Ledger,
    Money,
    PaymentPlan,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderRequestError,
    Resplit,
    UnsupportedByProviderError,
    amend,
    to_currency,
)
from payplan.providers import EventKind, Payer, apply_events, idempotency_key  # noqa: E402
from payplan.providers.stripe import StripeMode, StripeProvider  # noqa: E402
from payplan.providers.stripe._mapping import (  # noqa: E402
    from_stripe_amount,
    schedule_params,
    to_stripe_amount,
)
from payplan.providers.stripe._webhooks import normalize  # noqa: E402
from payplan.testing import stripe as fake  # noqa: E402
from payplan.testing.server import FakeServer  # noqa: E402

from . import stripe_fixtures as sf  # noqa: E402
from .contract import (  # noqa: E402
    Call,
    CardOutcome,
    Delivery,
    Fault,
    Harness,
    ProviderContract,
    Signature,
    WebhookSpec,
    reference_plan,
)

SECRET = "whsec_test_payplan"
API_KEY = "sk_test_payplan_5Ue1xQ"
NOW = int(dt.datetime(2026, 11, 22, tzinfo=dt.UTC).timestamp())
CUSTOMER = "cus_test_1"
_CARDS = {
    CardOutcome.SUCCESS: "pm_card_visa",
    CardOutcome.DECLINE: "pm_card_chargeDeclined",
    CardOutcome.EXPIRED: "pm_card_chargeDeclinedExpiredCard",
    CardOutcome.AUTHENTICATION: "pm_card_authenticationRequired",
}


@pytest.fixture(scope="session")
def stripe_fake() -> Iterator[tuple[fake.FakeStripe, FakeServer]]:
    """One fake Stripe on 127.0.0.1 for the whole session."""
    responder = fake.FakeStripe()
    with FakeServer(responder) as server:
        yield responder, server


def fake_stripe(server: FakeServer) -> fake.FakeStripe:
    """The fake Stripe behind *server*."""
    responder = server.responder
    assert isinstance(responder, fake.FakeStripe)
    return responder


def make_client(server: FakeServer) -> Any:
    """A real StripeClient pointed at the fake, with no SDK retries."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url}, max_network_retries=0)


class StripeHarness(Harness):
    """The contract's view of the fake Stripe."""

    def __init__(self, responder: fake.FakeStripe, server: FakeServer) -> None:
        self.responder = responder
        self.server = server

    def calls(self) -> list[Call]:
        return [
            Call(r.method, r.path, r.header("Idempotency-Key"), r.method == "POST", r.fault is not None)
            for r in self.server.requests()
        ]

    def clear(self) -> None:
        self.server.clear()

    def inject(self, fault: Fault, count: int = 1) -> None:
        self.server.inject(fault, count, when=lambda r: r.method == "POST")

    def created(self) -> int:
        return self.responder.created

    def secrets(self) -> list[str]:
        return [API_KEY, SECRET]

    def payer_for(self, outcome: CardOutcome) -> Payer:
        return Payer(customer_id=CUSTOMER, payment_method_id=_CARDS[outcome])

    def delivery(self, spec: WebhookSpec, signature: Signature = Signature.VALID) -> Delivery:
        body = fake.dump(stripe_payload(spec))
        stamp = NOW - (3600 if signature is Signature.STALE else 0)  # the adapter's clock reads NOW
        secret = "whsec_wrong" if signature is Signature.BAD else SECRET
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=stamp)
        return Delivery({} if signature is Signature.MISSING else {"Stripe-Signature": header}, body)


def stripe_payload(spec: WebhookSpec) -> dict[str, Any]:
    """The Stripe event a real account would send for *spec*, built from Stripe's own example objects."""
    plan, n = spec.plan, spec.installment
    meta = {"payplan_plan_id": plan.id, "payplan_plan_version": str(plan.version)}
    if n is not None:
        meta["payplan_installment"] = str(n)
    currency = plan.currency.lower()
    invoice_id = spec.binding.ids.get(f"invoice:{n}", f"in_{plan.id}_{n}")
    units = to_stripe_amount(spec.amount) if spec.amount is not None else 0
    paid = spec.kind is EventKind.PAYMENT_SUCCEEDED
    if spec.kind in (EventKind.PAYMENT_SUCCEEDED, EventKind.PAYMENT_FAILED, EventKind.PAYMENT_ACTION_REQUIRED):
        if not paid:
            units = to_stripe_amount(plan.installment(n or 1).amount)
        invoice = sf.invoice(invoice_id, units=units, currency=currency, metadata=meta, paid=paid)
        kind = {
            EventKind.PAYMENT_SUCCEEDED: "invoice.paid",
            EventKind.PAYMENT_FAILED: "invoice.payment_failed",
            EventKind.PAYMENT_ACTION_REQUIRED: "invoice.payment_action_required",
        }[spec.kind]
        return sf.event(spec.event_id, kind, invoice, spec.sequence)
    if spec.kind is EventKind.REFUNDED:
        refund = sf.refund(spec.reference or f"re_{spec.event_id}", units=units, currency=currency,
                           charge=f"ch_{plan.id}_{n}", payment_intent=f"pi_{plan.id}_{n}", metadata=meta,
                           created=spec.sequence)
        return sf.event(spec.event_id, "refund.created", refund, spec.sequence)
    if spec.kind is EventKind.PLAN_CANCELED:
        schedule = sf.schedule(spec.binding.ids.get("schedule", f"sub_sched_{plan.id}"), metadata={"payplan_plan_id": plan.id})
        return sf.event(spec.event_id, "subscription_schedule.canceled", schedule, spec.sequence)
    return sf.event(spec.event_id, "customer.created", sf.example("customer"), spec.sequence)


class TestStripe(ProviderContract):
    """Stripe in invoices mode passes the contract through the real SDK."""

    webhook_kinds = (
        EventKind.PAYMENT_SUCCEEDED,
        EventKind.PAYMENT_FAILED,
        EventKind.PAYMENT_ACTION_REQUIRED,
        EventKind.REFUNDED,
        EventKind.PLAN_CANCELED,
    )

    @pytest.fixture
    def provider(self, stripe_fake: tuple[fake.FakeStripe, FakeServer]) -> StripeProvider:
        return StripeProvider(
            make_client(stripe_fake[1]), webhook_secret=SECRET, mode=StripeMode.INVOICES, clock=lambda: NOW
        )

    @pytest.fixture
    def payer(self) -> Payer:
        return Payer(customer_id=CUSTOMER, payment_method_id="pm_card_visa")

    @pytest.fixture
    def harness(self, stripe_fake: tuple[fake.FakeStripe, FakeServer]) -> StripeHarness:
        return StripeHarness(*stripe_fake)


def ts(day: dt.date) -> int:
    """Midnight UTC of *day* as a Unix time."""
    return int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp())


def uneven_plan(plan_id: str) -> PaymentPlan:
    """Uneven cents on irregular dates: only invoices mode can carry it."""
    return PaymentPlan.custom(
        plan_id,
        [
            (dt.date(2026, 12, 1), Money.of("500.00", "USD")),
            (dt.date(2027, 1, 10), Money.of("700.01", "USD")),
            (dt.date(2027, 2, 3), Money.of("799.99", "USD")),
        ],
        booked=dt.date(2026, 12, 1),
        session=dt.date(2027, 4, 15),
    )


class TestStripeUnits:
    """Amounts convert to Stripe's units per currency, exactly or not at all."""

    @pytest.mark.parametrize(
        ("amount", "currency", "units"),
        [
            ("500.00", "USD", 50000),
            ("5000", "JPY", 5000),
            ("5000", "ISK", 500000),
            ("1.230", "KWD", 1230),
            ("1200.00", "MGA", 1200),
            ("99.99", "HUF", 9999),
        ],
    )
    def test_known_units(self, amount: str, currency: str, units: int) -> None:
        """USD counts cents, JPY yen, ISK hundredths (Stripe's exception), KWD fils, MGA whole ariary."""
        money = Money.of(amount, currency)
        assert to_stripe_amount(money) == units
        assert from_stripe_amount(units, currency.lower()) == money

    @pytest.mark.parametrize(("amount", "currency"), [("1.235", "KWD"), ("1200.50", "MGA")])
    def test_refuses_amounts_stripe_would_round(self, amount: str, currency: str) -> None:
        """A three-decimal amount not ending in 0, or MGA cents, is refused rather than rounded."""
        with pytest.raises(UnsupportedByProviderError, match=currency):
            to_stripe_amount(Money.of(amount, currency))

    @given(
        st.sampled_from(["USD", "EUR", "JPY", "KRW", "ISK", "KWD", "BHD", "MGA", "CLP", "HUF", "TND"]),
        st.integers(1, 10**10),
    )
    def test_round_trip_is_exact(self, code: str, minor: int) -> None:
        """Every amount Stripe accepts converts back to exactly the same Money."""
        money = Money(minor, to_currency(code))
        try:
            units = to_stripe_amount(money)
        except UnsupportedByProviderError:
            assert code in {"KWD", "BHD", "TND", "MGA"}
            return
        assert isinstance(units, int)
        assert from_stripe_amount(units, code.lower()) == money


class TestStripeRequests:
    """What the adapter sends, checked on the wire the fake recorded."""

    @pytest.fixture
    def server(self, stripe_fake: tuple[fake.FakeStripe, FakeServer]) -> FakeServer:
        stripe_fake[1].clear()
        return stripe_fake[1]

    def provider(self, server: FakeServer, mode: StripeMode = StripeMode.AUTO) -> StripeProvider:
        return StripeProvider(make_client(server), webhook_secret=SECRET, mode=mode, clock=lambda: NOW)

    def test_invoices_mode_sends_exact_amounts_dates_metadata_and_keys(self, server: FakeServer) -> None:
        """Pack A in invoices mode is four invoices finalizing at midnight of each due date, each with one 50000-cent line."""
        plan = reference_plan("wire-invoices")
        binding = self.provider(server, StripeMode.INVOICES).publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        posts = [r for r in server.requests() if r.method == "POST"]
        assert [r.path for r in posts] == ["/v1/invoices", "/v1/invoiceitems"] * 4
        for inst, (inv, item) in zip(plan.installments, zip(posts[::2], posts[1::2], strict=True), strict=True):
            body = inv.form()
            assert body["automatically_finalizes_at"] == str(ts(inst.due))
            assert body["collection_method"] == "charge_automatically"
            assert body["auto_advance"] == "true"
            assert body["default_payment_method"] == "pm_card_visa"
            assert body["metadata[payplan_plan_id]"] == "wire-invoices"
            assert body["metadata[payplan_installment]"] == str(inst.number)
            assert inv.header("Idempotency-Key") == f"payplan:wire-invoices:v1:invoice:i{inst.number}:a1"
            line = item.form()
            assert line["amount"] == "50000"
            assert line["currency"] == "usd"
            assert line["invoice"] == binding.id(f"invoice:{inst.number}")
            assert item.header("Idempotency-Key") == f"payplan:wire-invoices:v1:invoice-item:i{inst.number}:a1"
        assert [i.due for i in plan.installments] == [
            dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)
        ]

    def test_auto_mode_makes_a_subscription_schedule_for_pack_a(self, server: FakeServer) -> None:
        """Pack A becomes $500 a month for 3 months from the first installment, ending in cancel, and a deposit invoice.

        The deposit is not an ``add_invoice_items`` line of a ``trial`` phase:
        Stripe documents a trialing subscription's first invoice as $0, so
        it is its own invoice, finalized on its due date.
        """
        plan = reference_plan("wire-schedule")
        binding = self.provider(server).publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        posts = [r for r in server.requests() if r.method == "POST"]
        assert [r.path for r in posts] == ["/v1/products", "/v1/subscription_schedules", "/v1/invoices", "/v1/invoiceitems"]
        body = posts[1].form()
        assert not any("iterations" in k or "trial" in k or "add_invoice_items" in k for k in body)
        expected = {
            "customer": CUSTOMER,
            "start_date": str(ts(dt.date(2027, 1, 1))),
            "end_behavior": "cancel",
            "phases[0][items][0][price_data][unit_amount]": "50000",
            "phases[0][items][0][price_data][recurring][interval]": "month",
            "phases[0][items][0][price_data][recurring][interval_count]": "1",
            "phases[0][duration][interval]": "month",
            "phases[0][duration][interval_count]": "3",
            "phases[0][proration_behavior]": "none",
            "phases[0][metadata][payplan_plan_id]": "wire-schedule",
            "default_settings[default_payment_method]": "pm_card_visa",
        }
        assert {k: body.get(k) for k in expected} == expected
        assert not any(k.startswith("phases[1]") for k in body)
        assert body["phases[0][items][0][price_data][product]"] == binding.id("product")
        assert posts[1].header("Idempotency-Key") == "payplan:wire-schedule:v1:schedule:a1"
        deposit = posts[2].form()
        assert deposit["automatically_finalizes_at"] == str(ts(dt.date(2026, 12, 1)))
        assert deposit["metadata[payplan_installment]"] == "1"
        assert posts[3].form()["amount"] == "50000"
        assert set(binding.ids) == {"customer", "payment_method", "product", "schedule", "invoice:1"}

    def test_invoice_more_than_five_years_ahead_is_refused_before_any_request(self, server: FakeServer) -> None:
        """An installment Stripe could not finalize (more than 5 years ahead) is refused by check(); nothing is created."""
        plan = PaymentPlan.custom(
            "wire-far",
            [
                (dt.date(2026, 12, 1), Money.of("500.00", "USD")),
                (dt.date(2031, 11, 22), Money.of("500.00", "USD")),
                (dt.date(2031, 11, 23), Money.of("500.00", "USD")),
            ],
            booked=dt.date(2026, 12, 1),
            session=dt.date(2031, 12, 15),
        )
        provider = self.provider(server, StripeMode.INVOICES)
        with pytest.raises(UnsupportedByProviderError, match=r"5 years.*installment 3 due 2031-11-23"):
            provider.check(plan)
        with pytest.raises(UnsupportedByProviderError, match="5 years"):
            provider.publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        assert server.requests() == []
        near = PaymentPlan.custom(
            "wire-near",
            [(dt.date(2026, 12, 1), Money.of("500.00", "USD")), (dt.date(2031, 11, 22), Money.of("500.00", "USD"))],
            booked=dt.date(2026, 12, 1),
            session=dt.date(2031, 12, 15),
        )
        provider.check(near)

    def test_update_at_the_bindings_own_version_is_a_no_op(self, server: FakeServer) -> None:
        """An update already applied sends nothing: the invoices it made stay, and nothing replays deleted ones."""
        provider = self.provider(server, StripeMode.INVOICES)
        plan = reference_plan("wire-update-twice")
        binding = provider.publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        v2 = attrs.evolve(plan, version=2)
        updated = provider.update(binding, v2)
        server.clear()
        assert provider.update(updated, v2) == updated
        assert provider.update(binding, plan) == binding
        assert server.requests() == []
        for role, invoice_id in updated.ids.items():
            if role.startswith("invoice:"):
                assert fake_stripe(server).objects[invoice_id]["status"] == "draft"

    def test_charge_refunded_webhook_reads_refunds_once(self, server: FakeServer) -> None:
        """The charge.refunded Stripe sends (no refunds listed, no metadata) gives the same events as refund.created, read through the API."""
        provider = self.provider(server, StripeMode.INVOICES)
        plan = reference_plan("wire-charge-refunded")
        binding = provider.publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        charged = provider.charge(binding, plan, 3)
        assert charged.reference is not None
        provider.refund(binding, charged.reference, Money.of("80.00", "USD"))
        stripe_side = fake_stripe(server)
        created, refunded = stripe_side.events[-2:]
        assert (created["type"], refunded["type"]) == ("refund.created", "charge.refunded")
        assert "refunds" not in refunded["data"]["object"]

        def parse(event: dict[str, Any]) -> tuple[Any, ...]:
            body = fake.dump(event)
            header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET, timestamp=NOW)
            return provider.parse_webhook({"Stripe-Signature": header}, body)

        assert parse(refunded) == parse(created)
        (event,) = parse(created)
        assert (event.plan_id, event.installment, event.amount) == (plan.id, 3, Money.of("80.00", "USD"))

    def test_refunds_are_found_by_reconcile_including_dashboard_refunds(self, server: FakeServer) -> None:
        """Reconcile finds payplan's refund and one made in the dashboard (no metadata), each once, with webhook ids."""
        provider = self.provider(server, StripeMode.INVOICES)
        plan = reference_plan("wire-refund-reconcile")
        binding = provider.publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        charged = provider.charge(binding, plan, 2)
        assert charged.reference is not None
        made = provider.refund(binding, charged.reference, Money.of("100.00", "USD"))
        stripe_side = fake_stripe(server)
        (intent,) = [o["payment"]["payment_intent"] for o in stripe_side.objects.values()
                     if o.get("object") == "invoice_payment" and o["invoice"] == charged.reference]
        outside = stripe_side.dashboard_refund(intent, 5000)
        refunds = {e.reference: e for e in provider.reconcile(binding) if e.kind is EventKind.REFUNDED}
        assert set(refunds) == {made.reference, outside["id"]}
        assert refunds[made.reference].amount == Money.of("100.00", "USD")
        assert refunds[outside["id"]].amount == Money.of("50.00", "USD")
        assert {e.installment for e in refunds.values()} == {2}
        assert refunds[outside["id"]].id == f"stripe:{outside['id']}:refunded"
        ledger = apply_events(Ledger.empty(plan), provider.reconcile(binding)).ledger
        assert ledger.refunded == Money.of("150.00", "USD")

    def test_auto_mode_uses_invoices_for_uneven_plans(self, server: FakeServer) -> None:
        """Uneven cents on irregular dates become one invoice per installment, for exactly 70001 and 79999 cents."""
        binding = self.provider(server).publish(uneven_plan("wire-uneven"), Payer(CUSTOMER))
        items = [r.form()["amount"] for r in server.requests() if r.path == "/v1/invoiceitems"]
        assert items == ["50000", "70001", "79999"]
        assert "schedule" not in binding.ids

    def test_forced_schedule_refuses_uneven_plan_before_any_request(self, server: FakeServer) -> None:
        """A plan a subscription schedule cannot express is refused with the amounts named, and nothing is sent."""
        with pytest.raises(UnsupportedByProviderError, match=r"700\.01"):
            self.provider(server, StripeMode.SUBSCRIPTION_SCHEDULE).publish(uneven_plan("wire-refuse"), Payer(CUSTOMER))
        assert server.requests() == []

    def test_schedule_params_are_pure(self) -> None:
        """The schedule body is a pure function of the plan and its arguments."""
        plan = reference_plan("pure")
        kwargs: dict[str, Any] = {"customer": "cus_1", "payment_method": None, "product": "prod_1", "now": NOW}
        assert schedule_params(plan, **kwargs) == schedule_params(plan, **kwargs)

    def test_payer_without_customer_is_refused(self, server: FakeServer) -> None:
        """Publishing needs a Stripe customer id; without one the error says so and nothing is sent."""
        with pytest.raises(ProviderRequestError, match="customer id"):
            self.provider(server).publish(reference_plan("no-customer"), Payer())
        assert server.requests() == []

    def test_schedule_cancel_emits_canceled_event_on_reconcile(self, server: FakeServer) -> None:
        """Cancelling a schedule shows up as one PLAN_CANCELED event when reconciling."""
        provider = self.provider(server)
        plan = reference_plan("wire-cancel")
        binding = provider.publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        provider.cancel(binding)
        provider.cancel(binding)
        events = provider.reconcile(binding)
        assert [e.kind for e in events] == [EventKind.PLAN_CANCELED]
        assert events[0].id == f"stripe:{binding.id('schedule')}:canceled"

    def test_decline_shows_up_in_reconcile(self, server: FakeServer) -> None:
        """A declined charge is reported by reconcile as PAYMENT_FAILED for that installment and amount."""
        provider = self.provider(server, StripeMode.INVOICES)
        plan = reference_plan("wire-decline")
        binding = provider.publish(plan, Payer(CUSTOMER, "pm_card_chargeDeclined"))
        outcome = provider.charge(binding, plan, 2)
        assert outcome.decline_code == "card_declined"
        (event,) = provider.reconcile(binding)
        assert (event.kind, event.installment, event.amount) == (
            EventKind.PAYMENT_FAILED, 2, Money.of("500.00", "USD")
        )

    def test_charge_key_is_the_interface_key(self, server: FakeServer) -> None:
        """The pay request carries exactly idempotency_key(plan, "charge", installment, attempt)."""
        provider = self.provider(server, StripeMode.INVOICES)
        plan = reference_plan("wire-key")
        binding = provider.publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        provider.charge(binding, plan, 4, attempt=3)
        (pay,) = [r for r in server.requests() if r.path.endswith("/pay")]
        assert pay.header("Idempotency-Key") == idempotency_key(plan, "charge", installment=4, attempt=3)
        assert pay.form() == {"off_session": "true"}

    def test_refund_moves_exact_units_with_metadata(self, server: FakeServer) -> None:
        """A partial refund sends 12345 cents against the installment's payment intent, tagged with the plan."""
        provider = self.provider(server, StripeMode.INVOICES)
        plan = reference_plan("wire-refund")
        binding = provider.publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        charged = provider.charge(binding, plan, 2)
        assert charged.reference is not None
        server.clear()
        provider.refund(binding, charged.reference, Money.of("123.45", "USD"), reason="hardship")
        (refund,) = [r for r in server.requests() if r.path == "/v1/refunds"]
        body = refund.form()
        assert body["amount"] == "12345"
        assert body["payment_intent"].startswith("pi_")
        assert body["metadata[payplan_plan_id]"] == "wire-refund"
        assert body["metadata[payplan_installment]"] == "2"
        (event,) = [e for e in provider.reconcile(binding) if e.kind is EventKind.REFUNDED]
        assert event.amount == Money.of("123.45", "USD")
        assert event.installment == 2

    def test_schedule_mode_refunds_of_two_invoices_have_two_keys(self, server: FakeServer) -> None:
        """In subscription-schedule mode each refund's key names its invoice and amount; none is shared (#12 item 2)."""
        provider = self.provider(server, StripeMode.SUBSCRIPTION_SCHEDULE)
        plan = reference_plan("wire-schedule-refunds")
        binding = provider.publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        client = make_client(server)
        paid = []
        for _ in range(2):  # the invoices Stripe's schedule would have created and charged
            inv = client.v1.invoices.create({"customer": CUSTOMER, "currency": "usd", "auto_advance": False})
            client.v1.invoice_items.create({"customer": CUSTOMER, "invoice": inv.id, "amount": 50000, "currency": "usd"})
            client.v1.invoices.finalize_invoice(inv.id)
            client.v1.invoices.pay(inv.id, {"payment_method": "pm_card_visa"})
            paid.append(inv.id)
        server.clear()
        outcomes = [
            provider.refund(binding, paid[0], Money.of("50.00", "USD")),
            provider.refund(binding, paid[1], Money.of("50.00", "USD")),
            provider.refund(binding, paid[0], Money.of("75.00", "USD")),
        ]
        keys = [r.header("Idempotency-Key") for r in server.requests() if r.path == "/v1/refunds"]
        assert len(set(keys)) == 3
        assert len({o.reference for o in outcomes}) == 3
        assert all(o.status.value == "succeeded" for o in outcomes)

    def test_update_after_amendment_keeps_paid_invoices(self, server: FakeServer) -> None:
        """After a re-split, paid invoices stay, unpaid drafts are deleted, and new lines get v2 invoices for exact amounts."""
        provider = self.provider(server, StripeMode.INVOICES)
        plan = reference_plan("wire-update")
        binding = provider.publish(plan, Payer(CUSTOMER, "pm_card_visa"))
        for n in (1, 2):
            assert provider.charge(binding, plan, n).succeeded
        v2, _ = amend(
            plan, Resplit.into(4, first_due=dt.date(2027, 2, 1), cadence="semimonthly"),
            by="owner", reason="hardship", on=dt.date(2027, 1, 20), consent=True, paid=Money.of("1000.00", "USD"),
        )
        server.clear()
        updated = provider.update(binding, v2)
        assert updated.plan_version == 2
        assert updated.id("invoice:1") == binding.id("invoice:1")
        assert updated.id("invoice:2") == binding.id("invoice:2")
        deleted = sorted(r.path for r in server.requests() if r.method == "DELETE")
        assert deleted == sorted(f"/v1/invoices/{binding.id(f'invoice:{n}')}" for n in (3, 4))
        items = [r for r in server.requests() if r.path == "/v1/invoiceitems"]
        assert [r.form()["amount"] for r in items] == ["25000"] * 4
        assert [r.header("Idempotency-Key") for r in items] == [
            f"payplan:wire-update:v2:invoice-item:i{n}:a1" for n in (3, 4, 5, 6)
        ]
        assert provider.update(binding, v2).ids == updated.ids

    def test_auth_failure_is_translated(self, stripe_fake: tuple[fake.FakeStripe, FakeServer]) -> None:
        """A 401 from Stripe becomes ProviderAuthError with the SDK exception as its cause."""
        server = stripe_fake[1]
        original = server.responder
        server.responder = lambda r: fake.Reply.json(
            {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}, 401
        )
        try:
            with pytest.raises(ProviderAuthError) as info:
                self.provider(server).publish(reference_plan("wire-auth"), Payer(CUSTOMER))
        finally:
            server.responder = original
        assert isinstance(info.value.__cause__, stripe.AuthenticationError)
        assert not info.value.retryable

    def test_500_is_retryable_connection_error(self, server: FakeServer) -> None:
        """An injected 500 becomes a retryable ProviderConnectionError caused by the SDK's APIError."""
        server.inject(Fault.HTTP_500)
        with pytest.raises(ProviderConnectionError) as info:
            self.provider(server, StripeMode.INVOICES).publish(reference_plan("wire-500"), Payer(CUSTOMER))
        assert info.value.retryable
        assert isinstance(info.value.__cause__, stripe.APIError)

    def test_adapter_sets_no_module_globals(self, server: FakeServer) -> None:
        """Using the adapter leaves stripe.api_key and stripe.api_base untouched."""
        before = (stripe.api_key, stripe.api_base)
        self.provider(server, StripeMode.INVOICES).publish(reference_plan("wire-globals"), Payer(CUSTOMER))
        assert (stripe.api_key, stripe.api_base) == before


class TestStripeWebhooks:
    """Verification and the explicit list of mapped and ignored types."""

    def provider(self, secret: str | None = SECRET) -> StripeProvider:
        return StripeProvider(stripe.StripeClient("sk_test_unused"), webhook_secret=secret)

    def signed(self, event: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        body = fake.dump(event)
        return {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET)}, body

    def test_invoice_without_payplan_metadata_is_ignored(self) -> None:
        """An invoice.paid for an invoice payplan did not create gives no events."""
        invoice = {"id": "in_x", "object": "invoice", "currency": "usd", "amount_paid": 100, "metadata": {}}
        headers, body = self.signed(fake.invoice_event("evt_1", "invoice.paid", invoice, 1))
        assert self.provider().parse_webhook(headers, body) == ()

    @pytest.mark.parametrize("kind", ["invoice.finalized", "customer.subscription.updated", "payment_intent.created"])
    def test_unmapped_types_are_ignored(self, kind: str) -> None:
        """Event types outside the mapped list give no events."""
        headers, body = self.signed(fake.stripe_event("evt_2", kind, {"id": "x", "object": "thing"}, 1))
        assert self.provider().parse_webhook(headers, body) == ()

    def test_no_secret_configured_is_an_auth_error(self) -> None:
        """Without a webhook secret the adapter refuses to trust any delivery."""
        headers, body = self.signed(fake.stripe_event("evt_3", "invoice.paid", {}, 1))
        with pytest.raises(ProviderAuthError, match="webhook_secret"):
            self.provider(None).parse_webhook(headers, body)

    def test_subscription_invoice_finds_plan_through_parent(self) -> None:
        """A schedule's invoice maps to the plan via parent.subscription_details.metadata and the deposit line."""
        invoice = {
            "id": "in_sub", "object": "invoice", "currency": "usd", "amount_paid": 50000, "metadata": {},
            "parent": {"subscription_details": {"metadata": {"payplan_plan_id": "p1"}}},
            "lines": {"data": [{"metadata": {"payplan_installment": "1"}}, {"metadata": {}}]},
        }
        headers, body = self.signed(fake.invoice_event("evt_4", "invoice.paid", invoice, 5))
        (event,) = self.provider().parse_webhook(headers, body)
        assert (event.plan_id, event.installment, event.amount) == ("p1", 1, Money.of("500.00", "USD"))

    def test_yen_amount_is_exact(self) -> None:
        """A yen invoice.paid of 5000 units is exactly JPY 5000."""
        invoice = {"id": "in_y", "object": "invoice", "currency": "jpy", "amount_paid": 5000,
                   "metadata": {"payplan_plan_id": "p2", "payplan_installment": "2"}}
        headers, body = self.signed(fake.invoice_event("evt_5", "invoice.paid", invoice, 5))
        (event,) = self.provider().parse_webhook(headers, body)
        assert event.amount == Money.of("5000", "JPY")


META = {"payplan_plan_id": "p-real", "payplan_plan_version": "1", "payplan_installment": "2"}


class TestStripeAsStripeSendsIt:
    """Events built from Stripe's own example objects, as a real account sends them."""

    def provider(self) -> StripeProvider:
        return StripeProvider(stripe.StripeClient("sk_test_unused"), webhook_secret=SECRET)

    def parse(self, event: dict[str, Any]) -> tuple[Any, ...]:
        body = fake.dump(event)
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET)
        return self.provider().parse_webhook({"Stripe-Signature": header}, body)

    def refund_event(self, kind: str, status: str = "succeeded", event_id: str = "evt_r1", created: int = 1_800_000_100) -> dict[str, Any]:
        refund = sf.refund("re_real_1", units=12345, currency="usd", charge="ch_real_1", payment_intent="pi_real_1",
                           metadata=dict(META), status=status)
        return sf.event(event_id, kind, refund, created)

    def test_refund_created_and_updated_are_one_refund(self) -> None:
        """refund.created and refund.updated of the same refund give one REFUNDED event, for the exact amount."""
        (created,) = self.parse(self.refund_event("refund.created", "pending", "evt_a", 1_800_000_100))
        (updated,) = self.parse(self.refund_event("refund.updated", "succeeded", "evt_b", 1_800_000_900))
        assert created == updated
        assert (created.kind, created.plan_id, created.installment, created.amount, created.reference) == (
            EventKind.REFUNDED, "p-real", 2, Money.of("123.45", "USD"), "re_real_1"
        )

    def test_refund_failed_nets_to_nothing_whatever_arrived_before(self) -> None:
        """A failed refund gives the refund and its reversal: the ledger ends where it was, with or without refund.created."""
        plan = PaymentPlan.custom(
            "p-real",
            [(dt.date(2026, 12, 1), Money.of("500.00", "USD")), (dt.date(2027, 1, 1), Money.of("500.00", "USD"))],
            booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15),
        )
        paid = self.parse(sf.event("evt_p", "invoice.paid", sf.invoice("in_real_2", units=50000, currency="usd",
                                                                       metadata=dict(META), paid=True), 1_800_000_000))
        created = self.parse(self.refund_event("refund.created", "pending", "evt_c"))
        failed = self.parse(self.refund_event("refund.failed", "failed", "evt_f", 1_800_000_500))
        assert [e.kind for e in failed] == [EventKind.REFUNDED, EventKind.PAYMENT_SUCCEEDED]
        assert failed[1].reason is not None
        assert failed[1].reason.startswith("refund_failed")
        base = apply_events(Ledger.empty(plan), paid).ledger
        for events in (failed, created + failed, failed + created):
            ledger = apply_events(Ledger.empty(plan), paid + events).ledger
            assert ledger.net_paid == base.net_paid == Money.of("500.00", "USD")

    @pytest.mark.parametrize("status", ["requires_action", "canceled"])
    def test_refund_that_moved_no_money_gives_nothing(self, status: str) -> None:
        """A refund still requiring action, or canceled, has not left the balance: no event."""
        assert self.parse(self.refund_event("refund.updated", status)) == ()

    def test_charge_refunded_without_refund_list_is_not_counted_twice(self) -> None:
        """A charge.refunded as sent since 2022-11-15 (no refunds listed, no metadata), with nothing to read its refunds, adds nothing."""
        charge = sf.charge("ch_real_1", units=50000, refunded=12345, currency="usd", payment_intent="pi_real_1")
        assert charge["refunds"]["data"] == []
        assert normalize(sf.event("evt_ch", "charge.refunded", charge, 1_800_000_200, {"amount_refunded": 0})) == ()

    def test_charge_refunded_reads_the_charges_refunds_and_their_plan(self) -> None:
        """Where only the charge is known, its refunds are read; a dashboard refund finds its plan through its payment."""
        charge = sf.charge("ch_real_1", units=50000, refunded=17345, currency="usd", payment_intent="pi_real_1")
        ours = sf.refund("re_ours", units=12345, currency="usd", charge="ch_real_1", payment_intent="pi_real_1",
                         metadata=dict(META))
        dashboard = sf.refund("re_dash", units=5000, currency="usd", charge="ch_real_1", payment_intent="pi_real_1",
                              metadata={})
        asked: list[tuple[str | None, str | None]] = []

        def plan_of_payment(intent: str | None, charge_id: str | None) -> tuple[str, int | None] | None:
            asked.append((intent, charge_id))
            return ("p-real", 2) if intent == "pi_real_1" else None

        events = normalize(
            sf.event("evt_ch", "charge.refunded", charge, 1_800_000_200, {"amount_refunded": 12345}),
            plan_of_payment=plan_of_payment,
            refunds_of_charge=lambda charge_id: [ours, dashboard] if charge_id == "ch_real_1" else [],
        )
        assert {(e.id, e.amount) for e in events} == {
            ("stripe:re_ours:refunded", Money.of("123.45", "USD")),
            ("stripe:re_dash:refunded", Money.of("50.00", "USD")),
        }
        assert asked == [("pi_real_1", "ch_real_1")]
        same = normalize(sf.event("evt_r", "refund.created", dashboard, 1), plan_of_payment=plan_of_payment)
        assert same == tuple(e for e in events if e.reference == "re_dash")

    def test_dashboard_refund_without_lookup_gives_nothing(self) -> None:
        """A refund with no payplan metadata and no way to find its payment's plan is not guessed at."""
        refund = sf.refund("re_x", units=100, currency="usd", charge="ch_x", payment_intent=None, metadata={})
        assert normalize(sf.event("evt_x", "refund.created", refund, 1)) == ()

    def test_invoice_paid_from_stripes_example_invoice(self) -> None:
        """Stripe's example invoice, paid, maps to its plan, installment and exact amount."""
        invoice = sf.invoice("in_real_9", units=70001, currency="usd", metadata=dict(META), paid=True)
        (event,) = self.parse(sf.event("evt_9", "invoice.paid", invoice, 1_800_000_000))
        assert (event.id, event.amount, event.installment) == ("stripe:in_real_9:paid", Money.of("700.01", "USD"), 2)

    def test_payment_failed_with_stripes_finalization_error_shape(self) -> None:
        """Stripe's example last_finalization_error has a type and no code: the failure still maps."""
        invoice = sf.invoice("in_real_8", units=50000, currency="usd", metadata=dict(META), paid=False)
        assert "code" not in invoice["last_finalization_error"]
        (event,) = self.parse(sf.event("evt_8", "invoice.payment_failed", invoice, 1_800_000_000))
        assert (event.kind, event.reason, event.amount) == (EventKind.PAYMENT_FAILED, "payment_failed", Money.of("500.00", "USD"))


class TestStripeMalformed:
    """A validly signed but malformed event is a ProviderRequestError naming the field (item 8)."""

    def parse(self, event: dict[str, Any]) -> tuple[Any, ...]:
        body = fake.dump(event)
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET)
        provider = StripeProvider(stripe.StripeClient("sk_test_unused"), webhook_secret=SECRET)
        return provider.parse_webhook({"Stripe-Signature": header}, body)

    def paid(self, **changes: Any) -> dict[str, Any]:
        invoice = sf.invoice("in_bad", units=50000, currency="usd", metadata=dict(META), paid=True)
        invoice.update(changes)
        return sf.event("evt_bad", "invoice.paid", invoice, 1_800_000_000)

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"amount_paid": 500.5}, "data.object.amount_paid"),
            ({"amount_paid": "50000"}, "data.object.amount_paid"),
            ({"amount_paid": True}, "data.object.amount_paid"),
            ({"amount_paid": -50000}, "data.object.amount_paid"),
            ({"amount_paid": 0}, "data.object.amount_paid"),
            ({"metadata": [["payplan_plan_id", "p-real"]]}, "data.object.metadata"),
            ({"metadata": {"payplan_plan_id": ["p-real"]}}, "data.object.metadata.payplan_plan_id"),
            ({"metadata": {**META, "payplan_installment": "2.5"}}, "data.object.metadata.payplan_installment"),
            ({"currency": 840}, "data.object.currency"),
            ({"id": None}, "data.object.id"),
            ({"lines": "none"}, "data.object.lines"),
        ],
    )
    def test_malformed_invoice_names_the_field(self, changes: dict[str, Any], field: str) -> None:
        """A float, string, bool, negative or zero amount, list metadata, a bad currency or id is refused, naming the field."""
        event = self.paid(**changes)
        if field == "data.object.lines":
            event["data"]["object"]["metadata"] = {"payplan_plan_id": "p-real"}
        with pytest.raises(ProviderRequestError, match=re.escape(field)):
            self.parse(event)

    @pytest.mark.parametrize(
        ("path", "value", "field"),
        [
            (("data",), "a string", "data"),
            (("data", "object"), ["x"], "data.object"),
            (("created",), 10**20, "created"),
            (("created",), 1.5, "created"),
        ],
    )
    def test_malformed_envelope_names_the_field(self, path: tuple[str, ...], value: Any, field: str) -> None:
        """A data that is not an object, or a creation time outside what a date can hold, is refused, naming the field."""
        event = self.paid()
        node = event
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(ProviderRequestError, match=rf"expected {re.escape(field)} as"):
            self.parse(event)

    def test_unknown_currency_is_refused(self) -> None:
        """An amount in a currency that is not ISO 4217 is refused with a reason."""
        with pytest.raises(ProviderRequestError, match=r"(?i)xyz"):
            self.parse(self.paid(currency="xyz"))
