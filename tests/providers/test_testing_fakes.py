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
