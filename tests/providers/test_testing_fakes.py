"""payplan.testing's provider fakes and webhook builders: real-shaped, correctly signed, no SDK until used."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import SPECS
from payplan import Money
from payplan.providers import EventKind

from .contract import reference_plan

NOW = int(dt.datetime(2027, 1, 1, 15, tzinfo=dt.UTC).timestamp())


def _stripe_examples() -> dict[str, Any]:
    path = SPECS / "stripe-fixtures3.json"
    if not path.exists():
        pytest.skip(f"Stripe's example objects are not at {path}; shapes not compared")
    resources: dict[str, Any] = json.loads(path.read_text())["resources"]
    return resources


def _schema(file: str, name: str) -> Any:
    """A validator for the schema *name* of the provider spec *file* (skips when the spec is absent)."""
    path = SPECS / file
    if not path.exists():
        pytest.skip(f"{file} is not at {SPECS}; payload not validated against it")
    from openapi_schema_validator import OAS30Validator

    spec = json.loads(path.read_text())
    # The schema as a root document holding the spec's components, so its local $refs resolve.
    return OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]})


def _all_keys(obj: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value (``a.b``), lists walked through their items."""
    keys: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            keys.add(prefix + k)
            keys |= _all_keys(v, prefix + k + ".")
    elif isinstance(obj, list):
        for item in obj:
            keys |= _all_keys(item, prefix)
    return keys


def test_importing_the_fakes_loads_no_sdk() -> None:
    """payplan.testing and every fake module import without loading stripe, square, paypal SDKs or cryptography."""
    code = (
        "import sys\n"
        "import payplan.testing, payplan.testing.server, payplan.testing.stripe, payplan.testing.square, "
        "payplan.testing.paypal\n"
        "bad = [m for m in ('stripe', 'square', 'paypalrestsdk', 'paypalserversdk', 'cryptography') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


class TestStripeBuilders:
    """Stripe objects and deliveries built by payplan.testing.stripe."""

    stripe = pytest.importorskip("stripe", reason="the stripe extra is not installed")

    @pytest.mark.parametrize(
        ("name", "missing_ok"),
        [
            ("invoice", set()),
            ("charge", {"refunds"}),  # not sent since API 2022-11-15 unless expanded
            ("refund", set()),
            ("event", set()),
        ],
    )
    def test_objects_carry_every_field_of_stripes_own_example(self, name: str, missing_ok: set[str]) -> None:
        """Each built object has exactly the top-level keys of Stripe's published example object of that type."""
        from payplan.testing import stripe as fake

        example = _stripe_examples()[name]
        built = {
            "invoice": lambda: fake.invoice_object("in_1", amount=50000, currency="usd"),
            "charge": lambda: fake.charge_object("ch_1", amount=50000, currency="usd"),
            "refund": lambda: fake.refund_object("re_1", amount=100, currency="usd", charge="ch_1"),
            "event": lambda: fake.event_object("evt_1", "invoice.paid", {"object": "invoice"}, created=NOW),
        }[name]()
        assert set(example) - set(built) == missing_ok
        assert set(built) - set(example) == set()  # no kinder than Stripe: no key its example lacks
        assert built["object"] == example["object"]

    def test_nested_fields_match_the_example_where_built(self) -> None:
        """Where the invoice builder fills a nested object, its keys are Stripe's (status_transitions, lines)."""
        from payplan.testing import stripe as fake

        example = _stripe_examples()["invoice"]
        built = fake.invoice_object("in_1", amount=50000, currency="usd")
        assert set(built["status_transitions"]) == set(example["status_transitions"])
        assert set(built["lines"]) == set(example["lines"])
        assert set(built["lines"]["data"][0]) <= set(example["lines"]["data"][0])

    def test_signed_delivery_verifies_with_stripes_sdk_and_normalizes(self) -> None:
        """A built invoice.paid delivery passes the SDK's signature check and becomes one exact payment event."""
        from payplan.providers.stripe import StripeProvider
        from payplan.testing import stripe as fake

        secret = "whsec_builder"
        invoice = fake.invoice_object(
            "in_b1", amount=50001, currency="usd",
            metadata={"payplan_plan_id": "pack-a", "payplan_installment": "2"},
        )
        headers, body = fake.signed_delivery(fake.event_object("evt_b1", "invoice.paid", invoice, created=NOW), secret)
        self.stripe.WebhookSignature.verify_header(body.decode(), headers["Stripe-Signature"], secret)
        provider = StripeProvider(self.stripe.StripeClient("sk_test_x"), webhook_secret=secret, clock=lambda: NOW)
        (event,) = provider.parse_webhook(headers, body)
        assert event.kind is EventKind.PAYMENT_SUCCEEDED
        assert event.amount == Money(50001, "USD")
        assert event.installment == 2

    def test_tampered_body_fails_the_signature(self) -> None:
        """Changing one byte after signing makes Stripe's SDK refuse the delivery."""
        from payplan.testing import stripe as fake

        headers, body = fake.signed_delivery(fake.event_object("evt_t", "ping", {}, created=NOW), "whsec_x")
        with pytest.raises(self.stripe.SignatureVerificationError):
            self.stripe.WebhookSignature.verify_header(
                body.replace(b"ping", b"pong").decode(), headers["Stripe-Signature"], "whsec_x"
            )


class TestSquareBuilders:
    """Square notifications built by payplan.testing.square."""

    square = pytest.importorskip("square", reason="the square extra is not installed")

    def _paid_invoice(self) -> tuple[Any, str, str]:
        from payplan.providers import Payer
        from payplan.providers.square import SquareProvider
        from payplan.testing.server import FakeServer
        from payplan.testing.square import FakeSquare

        fake = FakeSquare(timezone="UTC")
        server = FakeServer(fake).start()
        try:
            provider = SquareProvider(
                self.square.Square(token="t", base_url=server.url), location_id="L", invoices_plus=True,
                signature_key="key", notification_url="https://site.example/hooks/square",
            )
            binding = provider.publish(reference_plan("sq-builders"), Payer(customer_id="C1", payment_method_id="ccof:1"))
        finally:
            server.stop()
        invoice = binding.id("invoice")
        payment = fake.pay(invoice, 1)
        return fake, invoice, payment

    def test_invoice_notification_matches_squares_schema(self) -> None:
        """FakeSquare.event gives an invoice.payment_made notification that Square's own schema accepts."""
        fake, invoice, _ = self._paid_invoice()
        event = fake.event("invoice.payment_made", invoice)
        _schema("square-api.json", "InvoicePaymentMadeEvent").validate(event)
        assert event["data"]["object"]["invoice"]["id"] == invoice

    def test_signed_delivery_verifies_with_squares_sdk(self) -> None:
        """A built delivery passes the SDK's verify_signature for the same key and URL, and fails for another URL."""
        from square.utils.webhooks_helper import verify_signature

        from payplan.testing.square import SIGNATURE_HEADER, signed_delivery

        fake, invoice, _ = self._paid_invoice()
        url = "https://site.example/hooks/square"
        headers, body = signed_delivery(fake.event("invoice.payment_made", invoice), signature_key="key", notification_url=url)
        args = {"request_body": body.decode(), "signature_header": headers[SIGNATURE_HEADER], "signature_key": "key"}
        assert verify_signature(**args, notification_url=url)
        assert not verify_signature(**args, notification_url=url + "/other")


class TestPayPalBuilders:
    """PayPal events built by payplan.testing.paypal."""

    pytest.importorskip("cryptography", reason="the paypal extra is not installed")

    @pytest.mark.parametrize("kind", ["PAYMENT.SALE.COMPLETED", "PAYMENT.SALE.REFUNDED"])
    def test_events_match_paypals_event_schema(self, kind: str) -> None:
        """A built sale or refund event is an `event` as PayPal's Webhooks API spec describes it."""
        from payplan.testing.paypal import sale_refund_resource, sale_resource, webhook_event

        resource = (
            sale_resource("SALE-1", "500.00", "USD", billing_agreement_id="I-1", custom="payplan:x")
            if kind.endswith("COMPLETED") else sale_refund_resource("REF-1", "SALE-1", "100.00", "USD")
        )
        event = webhook_event("WH-1", kind, resource)
        _schema("paypal-notifications_webhooks_v1.json", "event").validate(event)
        assert event["resource_type"] == ("sale" if kind.endswith("COMPLETED") else "refund")

    def test_signed_delivery_is_accepted_by_the_adapter(self) -> None:
        """A built PAYMENT.SALE.COMPLETED delivery, signed by PayPalSigner and confirmed from the fake's sale, is one exact payment."""
        from payplan.providers import Payer
        from payplan.providers.paypal import PayPalOptions, PayPalRestProvider, map_plan
        from payplan.testing.paypal import FakePayPal, PayPalSigner, sale_resource, webhook_event
        from payplan.testing.server import FakeServer

        pytest.importorskip("paypalrestsdk", reason="the paypal extra is not installed")
        import paypalrestsdk

        signer = PayPalSigner()
        paypal = FakePayPal(signer)
        options = PayPalOptions(return_url="https://site.example/r", cancel_url="https://site.example/c")
        plan = reference_plan("pp-builders")
        with FakeServer(paypal) as server:
            provider = PayPalRestProvider(
                paypalrestsdk.Api(mode="sandbox", client_id="i", client_secret="s", endpoint=server.url),
                options, webhook_id="WH-ID", certificates=signer.certificates(),
            )
            binding = provider.publish(plan, Payer(email="client@example.com"))
            sale = paypal.record_payment(sale_resource(
                "SALE-2", "500.00", "USD", billing_agreement_id=binding.id("subscription"),
                custom=map_plan(plan, options).custom_id,
            ))
            headers, body = signer.signed_delivery(webhook_event("WH-2", "PAYMENT.SALE.COMPLETED", sale), "WH-ID")
            (paid,) = provider.parse_webhook(headers, body)
        assert paid.kind is EventKind.PAYMENT_SUCCEEDED
        assert paid.amount == Money.of("500.00", "USD")
        assert paid.plan_id == plan.id


def test_examples_import_the_fakes_from_the_library() -> None:
    """No example reaches into tests/ for a fake."""
    root = Path(__file__).resolve().parents[2] / "examples"
    for path in root.glob("*.py"):
        text = path.read_text()
        assert "sys.path" not in text, path.name
        assert "providers.fakes" not in text, path.name


class TestClockedFakeShapes:
    """What the clocked fakes send has the keys of the providers' own examples and schemas (#20)."""

    def _square(self) -> dict[str, Any]:
        pytest.importorskip("square", reason="the square extra is not installed")
        from square import Square

        from payplan.providers import Payer
        from payplan.providers.square import SquareProvider
        from payplan.testing import SandboxCard
        from payplan.testing.server import FakeServer
        from payplan.testing.square import FakeSquare

        fake = FakeSquare(timezone="UTC", now=dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC))
        with FakeServer(fake) as server:
            provider = SquareProvider(
                Square(token="t", base_url=server.url), location_id="L", invoices_plus=True,
                location_timezone="UTC", signature_key=fake.signature_key, notification_url=fake.notification_url,
            )
            binding = provider.publish(reference_plan("shapes-sq"), Payer(customer_id="C1", payment_method_id="ccof:k"))
            fake.script("ccof:k", SandboxCard.SUCCESS, SandboxCard.DECLINE)
            made: dict[str, Any] = {}
            for d in fake.advance_to(dt.date(2027, 1, 2)):
                made.setdefault(d.type, d.event)  # the first of each: the deposit's payment, its notification
            payment = made["payment.created"]["data"]["object"]["payment"]
            provider.refund(binding, payment["id"], Money.of("1.00", "USD"))
            made |= {d.type: d.event for d in fake.advance_to(dt.date(2027, 1, 3))}
        return made

    def test_square_objects_carry_the_keys_of_squares_examples(self) -> None:
        """Notifications, invoices, payment requests, payments and refunds match the keys of Square's example objects."""
        path = SPECS / "square-api.json"
        if not path.exists():
            pytest.skip(f"square-api.json is not at {SPECS}; shapes not compared")
        schemas = json.loads(path.read_text())["components"]["schemas"]
        made = self._square()

        def example(name: str) -> Any:
            return schemas[name]["example"]

        def obj(event: dict[str, Any]) -> Any:
            return next(iter(event["data"]["object"].values()))

        paid, failed = made["invoice.payment_made"], made["invoice.scheduled_charge_failed"]
        for mine, theirs in [
            (paid, example("InvoicePaymentMadeEvent")),
            (failed, example("InvoiceScheduledChargeFailedEvent")),
            (made["payment.created"], example("PaymentCreatedEvent")),
            (made["refund.updated"], example("RefundUpdatedEvent")),
            (obj(made["refund.updated"]), obj(example("RefundUpdatedEvent"))),
            (obj(paid)["primary_recipient"], obj(example("InvoicePaymentMadeEvent"))["primary_recipient"]),
            (obj(made["payment.created"])["card_details"], example("ListPaymentsResponse")["payments"][0]["card_details"]),
        ]:
            assert set(mine) == set(theirs)
        # Invoices: custom_fields and scheduled_at only when the seller sets them (payplan does not); a
        # published invoice has its public_url, an unpaid one next_payment_amount_money (as in Square's
        # failed-charge example).
        assert set(obj(paid)) ^ set(obj(example("InvoicePaymentMadeEvent"))) == {
            "custom_fields", "public_url", "next_payment_amount_money"}
        assert set(obj(failed)) ^ set(obj(example("InvoiceScheduledChargeFailedEvent"))) == {
            "custom_fields", "scheduled_at", "public_url"}
        # Payment requests: what payplan sends (a fixed amount, the card on file) on top of Square's own.
        request = obj(paid)["payment_requests"][1]
        theirs = obj(example("InvoicePaymentMadeEvent"))["payment_requests"][0]
        assert set(request) - set(theirs) == {"card_id", "fixed_amount_requested_money"}
        assert set(theirs) <= set(request)
        # Payments: the example's dashboard fields (employee, team member, note) are not on an API charge;
        # a card-on-file charge names its customer.
        payment = obj(made["payment.created"])
        listed = example("ListPaymentsResponse")["payments"][0]
        assert set(listed) - set(payment) == {"employee_id", "team_member_id", "note"}
        assert set(payment) - set(listed) == {"customer_id", "risk_evaluation"} - set(listed)
        assert set(payment) <= set(schemas["Payment"]["properties"])

    def test_paypal_objects_use_only_the_subscriptions_schema_keys(self) -> None:
        """Subscriptions, their billing info and transactions carry only keys PayPal's Subscriptions schema has."""
        path = SPECS / "paypal-billing_subscriptions_v1.json"
        if not path.exists():
            pytest.skip(f"paypal-billing_subscriptions_v1.json is not at {SPECS}; shapes not compared")
        pytest.importorskip("paypalserversdk", reason="the paypal extra is not installed")
        pytest.importorskip("cryptography", reason="the paypal extra is not installed")
        from payplan.testing import SandboxCard
        from payplan.testing.paypal import FakePayPal, PayPalSigner

        schemas = json.loads(path.read_text())["components"]["schemas"]

        def keys(name: str) -> set[str]:
            schema = schemas[name]
            found = set(schema.get("properties") or {})
            for part in schema.get("allOf") or ():
                ref = part.get("$ref")
                found |= keys(ref.rsplit("/", 1)[-1]) if ref else set(part.get("properties") or {})
            return found

        from payplan.providers.paypal import PayPalOptions, map_plan
        from payplan.testing.server import RecordedRequest

        fake = FakePayPal(PayPalSigner(), now=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))

        def post(path: str, body: dict[str, Any]) -> Any:
            token = "A21AAfake"
            fake.tokens.add(token)
            reply = fake(RecordedRequest("POST", path, "", {"Authorization": f"Bearer {token}"}, json.dumps(body).encode()))
            return reply.body

        bodies = map_plan(reference_plan("shapes-pp"), PayPalOptions(return_url="https://a.example/r",
                                                                     cancel_url="https://a.example/c"),
                          email="client@example.com")
        product = post("/v1/catalogs/products", bodies.product_body())
        billing = post("/v1/billing/plans", bodies.billing_plan(product["id"]))
        sub = post("/v1/billing/subscriptions", bodies.subscription(billing["id"]))
        fake.script(sub["id"], SandboxCard.SUCCESS, SandboxCard.DECLINE)
        fake.approve(sub["id"])
        fake.advance_to(dt.date(2027, 1, 2))
        subscription = fake.subscriptions[sub["id"]]
        assert set(subscription) <= keys("subscription") | {"status", "status_change_note", "status_update_time"}
        assert set(subscription["billing_info"]) <= keys("subscription_billing_info")
        assert set(subscription["billing_info"]["last_failed_payment"]) <= keys("failed_payment_details")
        for run in subscription["billing_info"]["cycle_executions"]:
            assert set(run) <= keys("cycle_execution")
        for transaction in fake.transactions[sub["id"]]:
            assert set(transaction) <= keys("transaction") | {"status"}
            assert set(transaction["amount_with_breakdown"]) <= keys("amount_with_breakdown")
