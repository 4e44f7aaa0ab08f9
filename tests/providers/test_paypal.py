"""PayPal adapter: both bindings through the shared contract, against a fake PayPal on 127.0.0.1."""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import pytest

pytest.importorskip("paypalrestsdk")
pytest.importorskip("paypalserversdk")
pytest.importorskip("cryptography")

from conftest import SPECS
from payplan import DepositRule, Money, PaymentPlan, ProviderAuthError, UnsupportedByProviderError
from payplan.exceptions import ProviderConnectionError, ProviderRequestError
from payplan.providers import EventKind, Payer, Provider, ProviderBinding
from payplan.providers.paypal import (
    PayPalCertificates,
    PayPalOptions,
    PayPalProvider,
    PayPalRestProvider,
    PayPalServerProvider,
    map_plan,
    server_sdk_configuration,
)
from payplan.testing.paypal import CERT_URL, REVOKED_CLIENT, FakePayPal, PayPalSigner
from payplan.testing.server import FakeServer, Fault

from .contract import Call, Delivery, Harness, ProviderContract, Signature, WebhookSpec, reference_plan

WEBHOOK_ID = "8PT597110X687430LFAKE"
CLIENT_ID = "AeXpayplanClientId01"
CLIENT_SECRET = "EOpayplanClientSecret9f3a"
OPTIONS = PayPalOptions(
    return_url="https://booking.example/paypal/return",
    cancel_url="https://booking.example/paypal/cancel",
    brand_name="Studio Example",
)
_MUTATING_SKIP = ("/v1/oauth2/token", "/v1/notifications/verify-webhook-signature")


@pytest.fixture(scope="session")
def signer() -> PayPalSigner:
    """One RSA key and self-signed certificate for the session."""
    return PayPalSigner()


@pytest.fixture(scope="session")
def fake_paypal(signer: PayPalSigner) -> FakePayPal:
    """The fake PayPal's state, validating bodies against the official specs when present."""
    return FakePayPal(signer, specs=SPECS if SPECS.is_dir() else None)


@pytest.fixture(scope="session")
def paypal_server(fake_paypal: FakePayPal) -> Iterator[FakeServer]:
    """The fake PayPal served once per session on 127.0.0.1."""
    with FakeServer(fake_paypal) as server:
        yield server


def rest_provider(url: str, signer: PayPalSigner, **kwargs: Any) -> PayPalRestProvider:
    """A REST binding on a fresh ``paypalrestsdk.Api`` pointed at *url*."""
    import paypalrestsdk

    api = paypalrestsdk.Api(mode="sandbox", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, endpoint=url)
    return PayPalRestProvider(
        api, OPTIONS, webhook_id=WEBHOOK_ID, certificates=signer.certificates(), **kwargs
    )


def server_provider(url: str, signer: PayPalSigner, *, timeout: float = 10, **kwargs: Any) -> PayPalServerProvider:
    """A server-SDK binding on a fresh ``PaypalServersdkClient`` pointed at *url*."""
    from paypalserversdk.configuration import Environment
    from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
    from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

    config = server_sdk_configuration(url)
    client = PaypalServersdkClient(
        config=config(
            environment=Environment.SANDBOX,
            timeout=timeout,
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=CLIENT_ID, o_auth_client_secret=CLIENT_SECRET
            ),
        )
    )
    return PayPalServerProvider(
        client, OPTIONS, webhook_id=WEBHOOK_ID, certificates=signer.certificates(), **kwargs
    )


class PayPalHarness(Harness):
    """PayPal's side: the fake's records, faults on mutating calls, deliveries signed like PayPal's."""

    def __init__(self, server: FakeServer, fake: FakePayPal) -> None:
        self.server = server
        self.fake = fake
        self.sales: dict[str, str] = {}

    @staticmethod
    def _mutating(method: str, path: str) -> bool:
        return method == "POST" and path not in _MUTATING_SKIP

    def calls(self) -> list[Call]:
        """Every request, with its PayPal-Request-Id as the idempotency key."""
        return [
            Call(r.method, r.path, r.header("PayPal-Request-Id"), self._mutating(r.method, r.path), r.fault is not None)
            for r in self.server.requests()
        ]

    def clear(self) -> None:
        """Forget recorded requests and faults."""
        self.server.clear()

    def inject(self, fault: Fault, count: int = 1) -> None:
        """Fail the next *count* mutating calls (never the token request)."""
        self.server.inject(fault, count, when=lambda r: self._mutating(r.method, r.path))

    def created(self) -> int:
        """Products, billing plans and subscriptions created."""
        return self.fake.created()

    def secrets(self) -> list[str]:
        """The client secret, the Basic credentials and every access token the fake issued."""
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        return [CLIENT_SECRET, basic, *sorted(self.fake.tokens)]

    def event(self, spec: WebhookSpec) -> dict[str, Any]:
        """The PayPal event for *spec*, shaped like PayPal's own samples."""
        plan, binding = spec.plan, spec.binding
        sub_id = binding.ids["subscription"]
        created = dt.datetime.fromtimestamp(spec.sequence, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        custom = map_plan(plan, OPTIONS).custom_id
        reference = spec.reference or f"SALE-{spec.event_id}"
        amount = spec.amount
        resource: dict[str, Any]
        if spec.kind is EventKind.PAYMENT_SUCCEEDED or spec.kind is None:
            assert amount is not None or spec.kind is None
            value = amount or plan.installment(2).amount
            resource = {
                "id": reference, "state": "completed",
                "amount": {"total": value.to_decimal_string(), "currency": value.currency.code,
                           "details": {"subtotal": value.to_decimal_string()}},
                "payment_mode": "INSTANT_TRANSFER", "protection_eligibility": "ELIGIBLE",
                "billing_agreement_id": sub_id, "custom": custom, "create_time": created,
            }
            self.sales[reference] = plan.id
            self.fake.record_payment(resource)
            event_type = "PAYMENT.SALE.COMPLETED" if spec.kind else "PAYMENT.SALE.PENDING_REVIEW_FAKE"
        elif spec.kind is EventKind.REFUNDED:
            assert amount is not None
            # PayPal's refund resource names the sale, not the subscription or custom_id.
            self.sales.setdefault(reference, plan.id)
            resource = {
                "id": f"REF-{spec.event_id}", "state": "completed", "sale_id": reference,
                "amount": {"total": "-" + amount.to_decimal_string(), "currency": amount.currency.code},
                "create_time": created,
            }
            self.fake.record_payment(resource)
            event_type = "PAYMENT.SALE.REFUNDED"
        elif spec.kind is EventKind.PAYMENT_FAILED:
            number = spec.installment or 2
            failed = plan.installment(number).amount
            resource = {
                "id": sub_id, "status": "ACTIVE", "custom_id": custom, "plan_id": binding.ids["plan"],
                "billing_info": {
                    "outstanding_balance": {"currency_code": failed.currency.code, "value": failed.to_decimal_string()},
                    "cycle_executions": _executions(plan, number),
                    "failed_payments_count": 1,
                    "last_failed_payment": {
                        "amount": {"currency_code": failed.currency.code, "value": failed.to_decimal_string()},
                        "time": created, "reason_code": "PAYMENT_DENIED",
                    },
                },
            }
            event_type = "BILLING.SUBSCRIPTION.PAYMENT.FAILED"
        else:
            word = "CANCELLED" if spec.kind is EventKind.PLAN_CANCELED else "SUSPENDED"
            resource = {"id": sub_id, "status": word, "custom_id": custom, "plan_id": binding.ids["plan"],
                        "status_change_note": f"{word.lower()} by the buyer"}
            event_type = f"BILLING.SUBSCRIPTION.{word}"
        return {
            "id": f"WH-{spec.event_id}", "event_version": "1.0", "create_time": created,
            "resource_type": "sale" if event_type.startswith("PAYMENT.") else "subscription",
            "event_type": event_type, "summary": event_type.lower(), "resource": resource,
        }

    def delivery(self, spec: WebhookSpec, signature: Signature = Signature.VALID) -> Delivery:
        """The delivery PayPal would POST for *spec*, signed as asked."""
        body = json.dumps(self.event(spec), separators=(",", ":")).encode()
        when = dt.datetime.now(dt.UTC) - dt.timedelta(days=2) if signature is Signature.STALE else None
        headers = self.fake.signer.sign(body, WEBHOOK_ID, when=when, bad=signature is Signature.BAD)
        if signature is Signature.MISSING:
            del headers["PAYPAL-TRANSMISSION-SIG"]
        return Delivery(headers, body)


def _executions(plan: PaymentPlan, number: int) -> list[dict[str, Any]]:
    """PayPal's ``cycle_executions`` just before installment *number* is charged."""
    cycles = map_plan(plan, OPTIONS).plan_template["billing_cycles"]
    done = number - (2 if plan.deposit is not None else 1)
    out = []
    for cycle in cycles:
        took = min(done, cycle["total_cycles"])
        done -= took
        out.append({"tenure_type": cycle["tenure_type"], "sequence": cycle["sequence"],
                    "cycles_completed": took, "cycles_remaining": cycle["total_cycles"] - took,
                    "total_cycles": cycle["total_cycles"]})
    return out


class _PayPalContract(ProviderContract):
    # PayPal's sale events do not say which installment a payment paid, so
    # PAYMENT_SUCCEEDED is checked in test_sale_completed_normalizes_without_installment.
    webhook_kinds: ClassVar[tuple[EventKind, ...]] = (
        EventKind.PAYMENT_FAILED,
        EventKind.REFUNDED,
        EventKind.PLAN_CANCELED,
        EventKind.PLAN_SUSPENDED,
    )
    stale_signatures: ClassVar[bool] = True

    @pytest.fixture
    def harness(self, paypal_server: FakeServer, fake_paypal: FakePayPal) -> PayPalHarness:
        """The fake PayPal's side."""
        return PayPalHarness(paypal_server, fake_paypal)

    @pytest.fixture
    def payer(self) -> Payer:
        """A PayPal buyer (PayPal identifies them at approval)."""
        return Payer(email="client@example.com")

    def test_sale_completed_normalizes_without_installment(
        self, provider: Provider, harness: PayPalHarness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """PAYMENT.SALE.COMPLETED gives a payment for this plan with the exact amount and sale id, installment unknown."""
        binding = self.publish_clean(provider, harness, plan, payer)
        spec = self._spec(EventKind.PAYMENT_SUCCEEDED, plan, binding, 7)
        d = harness.delivery(spec)
        (event,) = provider.parse_webhook(d.headers, d.body)
        assert event.kind is EventKind.PAYMENT_SUCCEEDED
        assert event.plan_id == plan.id
        assert event.amount == plan.installment(2).amount
        assert event.reference == spec.reference
        assert event.installment is None
        assert event.id == f"paypal:{spec.reference}:completed"

    def test_payment_failed_names_the_installment_from_cycle_executions(
        self, provider: Provider, harness: PayPalHarness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """A failed payment is attributed to the installment after those PayPal's cycle_executions completed."""
        binding = self.publish_clean(provider, harness, plan, payer)
        for number in (2, 3, 4):
            d = harness.delivery(self._spec(EventKind.PAYMENT_FAILED, plan, binding, number, number))
            (event,) = provider.parse_webhook(d.headers, d.body)
            assert event.installment == number
            assert event.amount == plan.installment(number).amount
            assert event.reason == "PAYMENT_DENIED"

    def test_publish_sends_the_mapping_exactly_and_returns_the_approval_link(
        self, provider: Provider, harness: PayPalHarness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """The bodies PayPal receives are exactly the mapping's, and the binding holds the approve link."""
        binding = self.publish_clean(provider, harness, plan, payer)
        bodies = map_plan(plan, OPTIONS, email=payer.email)
        posts = {r.path: r for r in harness.server.requests() if r.method == "POST" and r.path in (
            "/v1/catalogs/products", "/v1/billing/plans", "/v1/billing/subscriptions")}
        assert posts["/v1/catalogs/products"].json() == bodies.product_body()
        assert posts["/v1/billing/plans"].json() == bodies.billing_plan(binding.ids["product"])
        assert posts["/v1/billing/subscriptions"].json() == bodies.subscription(binding.ids["plan"])
        assert binding.approval_url is not None
        assert binding.approval_url.startswith("https://www.sandbox.paypal.com/")
        assert binding.status == "APPROVAL_PENDING"
        keys = {r.path: r.header("PayPal-Request-Id") for r in posts.values()}
        assert all(k and plan.id in k for k in keys.values()), keys

    def test_cancel_active_subscription_posts_cancel(
        self, provider: Provider, harness: PayPalHarness, fake_paypal: FakePayPal, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Once the buyer approved, cancel cancels the subscription itself; a second cancel changes nothing."""
        binding = self.publish_clean(provider, harness, plan, payer)
        fake_paypal.approve(binding.ids["subscription"])
        provider.cancel(binding)
        assert fake_paypal.subscriptions[binding.ids["subscription"]]["status"] == "CANCELLED"
        provider.cancel(binding)
        cancels = [r for r in harness.server.requests() if r.path.endswith("/cancel")]
        assert len(cancels) == 1

    def test_cancel_before_approval_deactivates_the_billing_plan(
        self, provider: Provider, harness: PayPalHarness, fake_paypal: FakePayPal, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Before approval the subscription cannot be cancelled, so the plan is deactivated and nothing can be approved."""
        binding = self.publish_clean(provider, harness, plan, payer)
        provider.cancel(binding)
        assert fake_paypal.plans[binding.ids["plan"]]["status"] == "INACTIVE"

    def test_refuses_what_it_cannot_express_before_creating_anything(
        self, provider: Provider, harness: PayPalHarness, payer: Payer, request: pytest.FixtureRequest
    ) -> None:
        """Irregular dates and uneven amounts PayPal cannot express are refused with a reason, and nothing is created.

        Overrides the shared test: its example (a deposit then two uneven
        installments) *is* expressible on PayPal, since any two dates lie on
        an every-n-days frequency and two amounts fit a TRIAL and a REGULAR
        cycle; so this uses three irregular dates and four runs of amounts.
        """
        base = "refuse-" + request.node.nodeid.rsplit("::", 2)[-2][-12:]
        irregular = PaymentPlan.custom(
            base + "-dates",
            [
                (dt.date(2026, 12, 1), Money.of("500.00", "USD")),
                (dt.date(2027, 1, 10), Money.of("500.00", "USD")),
                (dt.date(2027, 2, 3), Money.of("500.00", "USD")),
                (dt.date(2027, 3, 1), Money.of("500.00", "USD")),
            ],
            booked=dt.date(2026, 12, 1),
            session=dt.date(2027, 4, 15),
        )
        uneven = PaymentPlan.custom(
            base + "-runs",
            [(dt.date(2026, 12, 1), Money.of("100.00", "USD"))]
            + [(dt.date(2027, m, 1), Money.of(v, "USD")) for m, v in ((1, "10.00"), (2, "20.00"), (3, "30.00"), (4, "40.00"))],
            booked=dt.date(2026, 12, 1),
            session=dt.date(2027, 6, 1),
        )
        harness.clear()
        start = harness.created()
        for case, reason in ((irregular, "arbitrary dates"), (uneven, "4 runs")):
            with pytest.raises(UnsupportedByProviderError, match=reason) as info:
                provider.publish(case, payer)
            assert info.value.provider == "paypal"
        assert harness.created() == start
        assert harness.server.requests() == []

    def test_two_uneven_installments_on_any_two_dates_are_expressed_exactly(
        self, provider: Provider, harness: PayPalHarness, payer: Payer, request: pytest.FixtureRequest
    ) -> None:
        """The shared suite's "uneven" plan is published as a TRIAL and a REGULAR cycle every 24 days."""
        plan = PaymentPlan.custom(
            "two-uneven-" + request.node.nodeid.rsplit("::", 2)[-2][-12:],
            [
                (dt.date(2026, 12, 1), Money.of("500.00", "USD")),
                (dt.date(2027, 1, 10), Money.of("700.01", "USD")),
                (dt.date(2027, 2, 3), Money.of("799.99", "USD")),
            ],
            booked=dt.date(2026, 12, 1),
            session=dt.date(2027, 4, 15),
        )
        binding = self.publish_clean(provider, harness, plan, payer)
        sent = next(r.json() for r in harness.server.requests() if r.path == "/v1/billing/plans")
        cycles = [(c["tenure_type"], c["frequency"]["interval_unit"], c["frequency"]["interval_count"],
                   c["total_cycles"], c["pricing_scheme"]["fixed_price"]["value"]) for c in sent["billing_cycles"]]
        assert cycles == [("TRIAL", "DAY", 24, 1, "700.01"), ("REGULAR", "DAY", 24, 1, "799.99")]
        assert sent["payment_preferences"]["setup_fee"] == {"currency_code": "USD", "value": "500.00"}
        assert binding.ids["subscription"]

    def test_refused_plan_sends_nothing(
        self, provider: Provider, harness: PayPalHarness, payer: Payer, request: pytest.FixtureRequest
    ) -> None:
        """A plan PayPal cannot express (four runs of amounts) is refused before any request."""
        plan = PaymentPlan.custom(
            "four-runs-" + request.node.name[-20:],
            [(dt.date(2026, 12, 1), Money.of("100.00", "USD"))]
            + [(dt.date(2027, m, 1), Money.of(v, "USD")) for m, v in ((1, "10.00"), (2, "20.00"), (3, "30.00"), (4, "40.00"))],
            booked=dt.date(2026, 12, 1),
            session=dt.date(2027, 6, 1),
        )
        harness.clear()
        with pytest.raises(UnsupportedByProviderError, match="4 runs"):
            provider.publish(plan, payer)
        assert harness.server.requests() == []

    def test_http_400_is_a_request_error_with_paypal_issue(
        self, provider: Provider, harness: PayPalHarness, payer: Payer, request: pytest.FixtureRequest
    ) -> None:
        """A 4xx from PayPal raises ProviderRequestError carrying PayPal's issue code and debug id (not an {'error'} dict)."""
        binding = ProviderBinding("paypal", "missing", 1, {"subscription": "I-DOESNOTEXIST", "plan": "P-NONE"})
        with pytest.raises(ProviderRequestError) as info:
            provider.cancel(binding)
        assert info.value.provider_code == "INVALID_RESOURCE_ID"
        assert info.value.request_id

    def test_api_verification_route(
        self, provider: PayPalProvider, harness: PayPalHarness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """With verify='api' the delivery is checked through verify-webhook-signature, and a bad one is refused."""
        binding = self.publish_clean(provider, harness, plan, payer)
        provider.verify = "api"
        errors_before = len(harness.fake.spec_errors)
        good = harness.delivery(self._spec(EventKind.REFUNDED, plan, binding, 3))
        (event,) = provider.parse_webhook(good.headers, good.body)
        assert event.kind is EventKind.REFUNDED
        assert any(r.path == "/v1/notifications/verify-webhook-signature" for r in harness.server.requests())
        bad = harness.delivery(self._spec(EventKind.REFUNDED, plan, binding, 4), Signature.BAD)
        with pytest.raises(ProviderAuthError, match="did not verify"):
            provider.parse_webhook(bad.headers, bad.body)
        assert harness.fake.spec_errors[errors_before:] == []


class TestPayPalRest(_PayPalContract):
    """The contract through paypalrestsdk.Api as an authenticated HTTP client."""

    @pytest.fixture
    def provider(self, paypal_server: FakeServer, signer: PayPalSigner, harness: PayPalHarness) -> PayPalRestProvider:
        """A REST binding on the fake."""
        return rest_provider(paypal_server.url, signer, plan_for_subscription=harness.sales.get)

    def test_calls_have_a_timeout(self, paypal_server: FakeServer, signer: PayPalSigner) -> None:
        """A PayPal that accepts the connection but never answers raises a retryable error after the timeout."""
        import socket

        with socket.socket() as quiet:
            quiet.bind(("127.0.0.1", 0))
            quiet.listen(1)
            host, port = quiet.getsockname()
            provider = rest_provider(f"http://{host}:{port}", signer, timeout=(0.5, 0.5))
            with pytest.raises(ProviderConnectionError) as info:
                provider.publish(reference_plan("timeout-rest"), Payer())
        assert info.value.retryable


    def test_expired_token_is_refreshed_once(
        self, provider: PayPalRestProvider, harness: PayPalHarness, fake_paypal: FakePayPal, plan: PaymentPlan, payer: Payer
    ) -> None:
        """A token PayPal stopped accepting is fetched again once, and the call goes through."""
        self.publish_clean(provider, harness, plan, payer)
        fake_paypal.tokens.clear()
        harness.clear()
        provider.publish(plan, payer)
        paths = [r.path for r in harness.server.requests()]
        assert paths.count("/v1/oauth2/token") == 1
        assert paths[0] == "/v1/catalogs/products"

    def test_bad_credentials_raise_auth_error(self, paypal_server: FakeServer) -> None:
        """Credentials PayPal refuses raise ProviderAuthError after one retry (paypalrestsdk alone would loop)."""
        import paypalrestsdk

        api = paypalrestsdk.Api(mode="sandbox", client_id=REVOKED_CLIENT, client_secret="x", endpoint=paypal_server.url)
        paypal_server.clear()
        with pytest.raises(ProviderAuthError, match="401"):
            PayPalRestProvider(api, OPTIONS).publish(reference_plan("revoked"), Payer())
        assert [r.path for r in paypal_server.requests()] == ["/v1/oauth2/token"] * 2

    def test_http_400_raises_instead_of_returning_an_error_dict(
        self, paypal_server: FakeServer, signer: PayPalSigner
    ) -> None:
        """paypalrestsdk returns a 400 as {'error': ...}; the binding raises ProviderRequestError with PayPal's issue."""
        bogus = PayPalOptions(return_url=OPTIONS.return_url, cancel_url=OPTIONS.cancel_url, product_type="BOGUS")
        provider = rest_provider(paypal_server.url, signer)
        provider.options = bogus
        with pytest.raises(ProviderRequestError) as info:
            provider.publish(reference_plan("http-400"), Payer())
        assert info.value.provider_code == "MISSING_REQUIRED_PARAMETER"
        assert "HTTP 400" in str(info.value)


class TestPayPalServer(_PayPalContract):
    """The contract through paypal-server-sdk's subscriptions controller and HTTP layer."""

    @pytest.fixture
    def provider(self, paypal_server: FakeServer, signer: PayPalSigner, harness: PayPalHarness) -> PayPalServerProvider:
        """A server-SDK binding on the fake."""
        return server_provider(paypal_server.url, signer, plan_for_subscription=harness.sales.get)

    def test_calls_have_a_timeout(self, signer: PayPalSigner) -> None:
        """With the client's configured timeout, a PayPal that never answers raises a retryable error."""
        import socket

        with socket.socket() as quiet:
            quiet.bind(("127.0.0.1", 0))
            quiet.listen(1)
            host, port = quiet.getsockname()
            provider = server_provider(f"http://{host}:{port}", signer, timeout=0.5)
            with pytest.raises(ProviderConnectionError) as info:
                provider.publish(reference_plan("timeout-server"), Payer())
        assert info.value.retryable


def test_request_bodies_match_the_official_specs(
    paypal_server: FakeServer, fake_paypal: FakePayPal, signer: PayPalSigner
) -> None:
    """Every body both bindings sent (uneven, weekly, JPY and HUF plans included) validates against PayPal's OpenAPI specs."""
    if not SPECS.is_dir():
        pytest.skip(f"official PayPal specs not found at {SPECS}")
    plans = [
        reference_plan("spec-ref"),
        PaymentPlan.with_deposit(
            "spec-odd", Money.of("1000.00", "USD"), deposit=DepositRule.fixed(Money.of("100.00", "USD")),
            installments=7, dates="biweekly", booked=dt.date(2026, 12, 1), session=dt.date(2027, 6, 1),
            remainder="last",
        ),
        PaymentPlan.with_deposit(
            "spec-jpy", Money.of("100000", "JPY"), deposit=DepositRule.percent(Decimal(30)),
            installments=3, dates="monthly", booked=dt.date(2026, 12, 1), session=dt.date(2027, 6, 1),
        ),
        PaymentPlan.with_deposit(
            "spec-huf", Money.of("90000", "HUF"), deposit=DepositRule.none(),
            installments=3, dates="weekly", booked=dt.date(2026, 12, 1), session=dt.date(2027, 6, 1),
        ),
    ]
    before = fake_paypal.validated
    fake_paypal.spec_errors.clear()
    for make in (rest_provider, server_provider):
        provider = make(paypal_server.url, signer)
        for plan in plans:
            provider.publish(plan, Payer(email="client@example.com"))
    assert fake_paypal.validated - before >= 3 * 2 * len(plans)
    assert fake_paypal.spec_errors == []


def test_spec_validation_catches_a_bad_body(fake_paypal: FakePayPal) -> None:
    """The fake's spec check flags a billing plan body the official spec rejects (so a clean run means something)."""
    if not SPECS.is_dir():
        pytest.skip(f"official PayPal specs not found at {SPECS}")
    from payplan.testing.server import RecordedRequest

    body = map_plan(reference_plan("bad-body"), OPTIONS).billing_plan("PROD-123456")
    body["billing_cycles"][0]["tenure_type"] = "MONTHLY"
    body["billing_cycles"][0]["total_cycles"] = 5000
    before = len(fake_paypal.spec_errors)
    fake_paypal._validate(RecordedRequest("POST", "/v1/billing/plans", "", {}, json.dumps(body).encode()))
    errors = fake_paypal.spec_errors[before:]
    del fake_paypal.spec_errors[before:]
    assert len(errors) == 1
    assert "MONTHLY" in errors[0]
    assert "999" in errors[0]


def test_certificate_from_a_non_paypal_host_is_refused(signer: PayPalSigner) -> None:
    """A delivery pointing PAYPAL-CERT-URL at another host is refused before anything is fetched."""
    from payplan.providers.paypal import verify_signature

    body = b'{"id":"WH-1","event_type":"PAYMENT.SALE.COMPLETED","resource":{}}'
    headers = signer.sign(body, WEBHOOK_ID)
    for url in ("https://evil.example/cert.pem", "http://api.paypal.com/cert", "https://paypal.com.evil.example/c"):
        signer.fetched.clear()
        with pytest.raises(ProviderAuthError, match=r"paypal\.com host"):
            verify_signature({**headers, "PAYPAL-CERT-URL": url}, body, webhook_id=WEBHOOK_ID,
                             certificates=signer.certificates())
        assert signer.fetched == []


def test_expired_certificate_is_refused(signer: PayPalSigner) -> None:
    """A certificate outside its validity period is refused even when the signature matches."""
    from payplan.providers.paypal import verify_signature

    body = b'{"id":"WH-2","event_type":"PAYMENT.SALE.COMPLETED","resource":{}}'
    headers = signer.sign(body, WEBHOOK_ID)
    later = signer.certificates(clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=2000))
    with pytest.raises(ProviderAuthError, match="valid from"):
        verify_signature(headers, body, webhook_id=WEBHOOK_ID, certificates=later)
    verify_signature(headers, body, webhook_id=WEBHOOK_ID, certificates=signer.certificates())
    assert CERT_URL in signer.fetched


def test_signature_for_another_webhook_id_is_refused(signer: PayPalSigner) -> None:
    """A delivery signed for another webhook endpoint does not verify for this one."""
    from payplan.providers.paypal import verify_signature

    body = b'{"id":"WH-3","event_type":"PAYMENT.SALE.COMPLETED","resource":{}}'
    headers = signer.sign(body, "OTHERWEBHOOK")
    with pytest.raises(ProviderAuthError, match="does not match"):
        verify_signature(headers, body, webhook_id=WEBHOOK_ID, certificates=signer.certificates())


def _cert(
    subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool = False, days: tuple[int, int] = (-1, 365)
) -> Any:
    """An X.509 certificate for *subject*'s *key*, signed by *issuer_key* (test material made with cryptography)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def chain_keys() -> dict[str, Any]:
    """RSA keys for a test root, an intermediate, a leaf and an attacker."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return {n: rsa.generate_private_key(public_exponent=65537, key_size=2048) for n in ("root", "inter", "leaf", "evil")}


class TestCertificateChain:
    """Certificates are checked as PayPal's SDK checks them: chain to a trusted root, a .paypal.com name, in date."""

    LEAF = "messageverificationcerts.paypal.com"

    @pytest.fixture
    def keys(self, chain_keys: dict[str, Any]) -> dict[str, Any]:
        return chain_keys

    def check(self, chain: list[Any], trusted: list[Any], keys: dict[str, Any], **kwargs: Any) -> None:
        """Sign a delivery with the leaf key and verify it against a fetcher serving *chain*."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.hashes import SHA256

        from payplan.providers.paypal import verify_signature
        from payplan.providers.paypal._webhooks import signed_message

        pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
        body = b'{"id":"WH-chain","event_type":"PAYMENT.SALE.COMPLETED","resource":{}}'
        headers = {
            "PAYPAL-AUTH-ALGO": "SHA256withRSA", "PAYPAL-CERT-URL": CERT_URL, "PAYPAL-TRANSMISSION-ID": "t-1",
            "PAYPAL-TRANSMISSION-TIME": "2026-11-27T10:00:00Z", "PAYPAL-TRANSMISSION-SIG": "placeholder",
        }
        signature = keys["leaf"].sign(signed_message(headers, body, WEBHOOK_ID), padding.PKCS1v15(), SHA256())
        headers["PAYPAL-TRANSMISSION-SIG"] = base64.b64encode(signature).decode()
        certificates = PayPalCertificates(lambda url: pem, trusted=trusted, **kwargs)
        verify_signature(headers, body, webhook_id=WEBHOOK_ID, certificates=certificates)

    def good_chain(self, keys: dict[str, Any]) -> tuple[list[Any], Any]:
        root = _cert("Test Root", keys["root"], "Test Root", keys["root"], ca=True, days=(-10, 3650))
        inter = _cert("Test Intermediate", keys["inter"], "Test Root", keys["root"], ca=True, days=(-10, 1000))
        leaf = _cert(self.LEAF, keys["leaf"], "Test Intermediate", keys["inter"])
        return [leaf, inter], root

    def test_chain_to_a_trusted_root_is_accepted(self, keys: dict[str, Any]) -> None:
        """A .paypal.com certificate issued through an intermediate by a trusted root verifies."""
        chain, root = self.good_chain(keys)
        self.check(chain, [root], keys)

    def test_self_signed_certificate_is_refused(self, keys: dict[str, Any]) -> None:
        """A self-signed certificate with a paypal.com name, served from a paypal.com URL, is not trusted."""
        leaf = _cert(self.LEAF, keys["leaf"], self.LEAF, keys["leaf"])
        _, root = self.good_chain(keys)
        with pytest.raises(ProviderAuthError, match="does not chain to a trusted root"):
            self.check([leaf], [root], keys)

    def test_forged_chain_is_refused(self, keys: dict[str, Any]) -> None:
        """An intermediate named like the real one but signed by another key breaks the chain."""
        _, root = self.good_chain(keys)
        forged_inter = _cert("Test Intermediate", keys["inter"], "Test Root", keys["evil"], ca=True)
        leaf = _cert(self.LEAF, keys["leaf"], "Test Intermediate", keys["inter"])
        with pytest.raises(ProviderAuthError, match="does not chain to a trusted root"):
            self.check([leaf, forged_inter], [root], keys)

    def test_intermediate_that_is_not_a_ca_is_refused(self, keys: dict[str, Any]) -> None:
        """A chain through a certificate without CA basic constraints is refused."""
        _, root = self.good_chain(keys)
        inter = _cert("Test Intermediate", keys["inter"], "Test Root", keys["root"], ca=False)
        leaf = _cert(self.LEAF, keys["leaf"], "Test Intermediate", keys["inter"])
        with pytest.raises(ProviderAuthError, match="does not chain"):
            self.check([leaf, inter], [root], keys)

    def test_expired_certificate_is_refused(self, keys: dict[str, Any]) -> None:
        """A leaf past its validity period is refused even though its chain is good."""
        chain, root = self.good_chain(keys)
        old = _cert(self.LEAF, keys["leaf"], "Test Intermediate", keys["inter"], days=(-400, -30))
        with pytest.raises(ProviderAuthError, match="valid from"):
            self.check([old, chain[1]], [root], keys)

    @pytest.mark.parametrize("name", ["attacker.example", "paypal.com.attacker.example", "evilpaypal.com"])
    def test_wrong_name_is_refused(self, keys: dict[str, Any], name: str) -> None:
        """A well-chained certificate whose subject does not end in .paypal.com is refused."""
        _, root = self.good_chain(keys)
        inter = _cert("Test Intermediate", keys["inter"], "Test Root", keys["root"], ca=True)
        leaf = _cert(name, keys["leaf"], "Test Intermediate", keys["inter"])
        with pytest.raises(ProviderAuthError, match=r"\.paypal\.com"):
            self.check([leaf, inter], [root], keys)

    def test_default_roots_are_the_ca_bundle(self, keys: dict[str, Any]) -> None:
        """Without *trusted*, the roots are the CA bundle requests uses: a test root is not among them."""
        chain, _root = self.good_chain(keys)
        with pytest.raises(ProviderAuthError, match="does not chain to a trusted root"):
            self.check(chain, None, keys)  # type: ignore[arg-type]


def forge_crc32(body: bytes, placeholder: bytes, target: int) -> bytes:
    """*body* with the characters of *placeholder* (all ``@``) changed so that its CRC32 is *target*.

    CRC32 is affine over GF(2): flipping a set of bits changes the CRC by the
    XOR of what each flip alone does. Each of the placeholder's characters
    ranges over ``@``..``O`` (0x40..0x4F, four free bits, still plain JSON
    text), so 12 characters give 48 unknowns for 32 equations, solved here by
    Gaussian elimination: the forgery the issue describes.
    """
    import zlib

    start = body.index(placeholder)
    base = zlib.crc32(body)
    columns: list[tuple[int, int]] = []  # (effect on the CRC, flip mask over the 48 bits)
    for i in range(len(placeholder)):
        for bit in range(4):
            flipped = bytearray(body)
            flipped[start + i] ^= 1 << bit
            columns.append((zlib.crc32(bytes(flipped)) ^ base, 1 << (4 * i + bit)))
    want = base ^ target
    basis: dict[int, tuple[int, int]] = {}  # pivot bit -> (effect, mask)
    for effect, mask in columns:
        for pivot, (e, m) in basis.items():
            if effect >> pivot & 1:
                effect, mask = effect ^ e, mask ^ m
        if effect:
            pivot = effect.bit_length() - 1
            for p, (e, m) in list(basis.items()):
                if e >> pivot & 1:
                    basis[p] = (e ^ effect, m ^ mask)
            basis[pivot] = (effect, mask)
    chosen = 0
    for pivot, (effect, mask) in basis.items():
        if want >> pivot & 1:
            want ^= effect
            chosen ^= mask
    assert want == 0, "no solution"
    out = bytearray(body)
    for i in range(len(placeholder)):
        out[start + i] = 0x40 | (chosen >> (4 * i) & 0xF)
    forged = bytes(out)
    assert zlib.crc32(forged) == target
    return forged


class TestForgery:
    """A body forged to the captured delivery's CRC32 never credits money (the issue's forgery)."""

    def genuine(self, harness: PayPalHarness, plan: PaymentPlan, binding: ProviderBinding) -> tuple[dict[str, str], bytes, dict[str, Any]]:
        spec = WebhookSpec(EventKind.PAYMENT_SUCCEEDED, plan, binding, f"evt_{plan.id}_g", 1_800_000_000,
                           installment=2, amount=Money.of("500.00", "USD"), reference=f"SALE-{plan.id}")
        d = harness.delivery(spec)
        return dict(d.headers), d.body, json.loads(d.body)

    def forge(self, body: bytes, event: dict[str, Any], **resource: Any) -> bytes:
        import zlib

        forged = {**event, "id": event["id"] + "-FORGED", "resource": {**event["resource"], **resource},
                  "x": "@" * 12}
        raw = json.dumps(forged, separators=(",", ":")).encode()
        return forge_crc32(raw, b"@" * 12, zlib.crc32(body))

    @pytest.fixture
    def setup(self, paypal_server: FakeServer, fake_paypal: FakePayPal, signer: PayPalSigner) -> tuple[Any, ...]:
        harness = PayPalHarness(paypal_server, fake_paypal)
        plan = reference_plan("forgery-" + dt.datetime.now(dt.UTC).strftime("%H%M%S%f"))
        provider = rest_provider(paypal_server.url, signer)
        binding = provider.publish(plan, Payer(email="client@example.com"))
        return harness, plan, binding, provider

    def test_forged_body_passes_the_crc_signature(self, setup: tuple[Any, ...], signer: PayPalSigner) -> None:
        """The forged body verifies against the captured headers: the signature alone cannot tell it apart."""
        from payplan.providers.paypal import verify_signature

        harness, plan, binding, _ = setup
        headers, body, event = self.genuine(harness, plan, binding)
        forged = self.forge(body, event, amount={"total": "1500.00", "currency": "USD"})
        assert b"1500.00" in forged
        verify_signature(headers, forged, webhook_id=WEBHOOK_ID, certificates=signer.certificates())

    def test_a_money_forgery_after_the_genuine_credits_nothing_new(self, setup: tuple[Any, ...]) -> None:
        """After the genuine delivery, a forged $1,500 under its transmission id is confirmed from PayPal: the same $500 event."""
        harness, plan, binding, provider = setup
        headers, body, event = self.genuine(harness, plan, binding)
        (paid,) = provider.parse_webhook(headers, body)
        assert provider.parse_webhook(headers, body) == (paid,)  # the same delivery again is fine
        forged = self.forge(body, event, amount={"total": "1500.00", "currency": "USD"})
        assert provider.parse_webhook(headers, forged) == (paid,)

    def test_a_notice_forgery_under_an_accepted_transmission_is_refused(self, setup: tuple[Any, ...]) -> None:
        """A body PayPal's API cannot confirm (a cancellation) under a transmission id accepted with another body is refused."""
        harness, plan, binding, provider = setup
        headers, body, event = self.genuine(harness, plan, binding)
        provider.parse_webhook(headers, body)
        custom = map_plan(plan, OPTIONS).custom_id
        cancel = {**event, "event_type": "BILLING.SUBSCRIPTION.CANCELLED", "resource_type": "subscription",
                  "resource": {"id": binding.ids["subscription"], "status": "CANCELLED", "custom_id": custom}}
        forged = forge_crc32(json.dumps({**cancel, "x": "@" * 12}, separators=(",", ":")).encode(), b"@" * 12,
                             zlib.crc32(body))
        with pytest.raises(ProviderAuthError, match="seen before with another body"):
            provider.parse_webhook(headers, forged)

    def test_a_refused_forgery_does_not_block_the_genuine_delivery(self, setup: tuple[Any, ...]) -> None:
        """A forgery refused (a sale PayPal does not have) keeps no transmission id: the genuine delivery lands after it (#20)."""
        harness, plan, binding, provider = setup
        headers, body, event = self.genuine(harness, plan, binding)
        forged = self.forge(body, event, id="SALE-FORGED-2", amount={"total": "1500.00", "currency": "USD"})
        with pytest.raises(ProviderRequestError, match="SALE-FORGED-2"):
            provider.parse_webhook(headers, forged)
        (paid,) = provider.parse_webhook(headers, body)
        assert paid.amount == Money.of("500.00", "USD")

    def test_an_accepted_notice_forgery_does_not_block_the_payment(self, setup: tuple[Any, ...]) -> None:
        """A forged notice accepted under a captured sale's transmission id does not make the genuine payment refused (#20)."""
        harness, plan, binding, provider = setup
        headers, body, event = self.genuine(harness, plan, binding)
        custom = map_plan(plan, OPTIONS).custom_id
        suspend = {**event, "event_type": "BILLING.SUBSCRIPTION.SUSPENDED", "resource_type": "subscription",
                   "resource": {"id": binding.ids["subscription"], "status": "SUSPENDED", "custom_id": custom}}
        forged = forge_crc32(json.dumps({**suspend, "x": "@" * 12}, separators=(",", ":")).encode(), b"@" * 12,
                             zlib.crc32(body))
        (notice,) = provider.parse_webhook(headers, forged)
        assert notice.kind is EventKind.PLAN_SUSPENDED
        (paid,) = provider.parse_webhook(headers, body)
        assert paid.kind is EventKind.PAYMENT_SUCCEEDED

    def test_forgery_delivered_first_credits_only_what_paypal_says(
        self, setup: tuple[Any, ...], paypal_server: FakeServer, signer: PayPalSigner
    ) -> None:
        """A forged $1,500 for the captured sale, delivered before the genuine one, is confirmed as PayPal's $500, once."""
        from payplan import Ledger
        from payplan.providers import apply_events

        harness, plan, binding, _ = setup
        headers, body, event = self.genuine(harness, plan, binding)
        forged = self.forge(body, event, amount={"total": "1500.00", "currency": "USD"})
        fresh = rest_provider(paypal_server.url, signer)
        (from_forgery,) = fresh.parse_webhook(headers, forged)
        assert from_forgery.amount == Money.of("500.00", "USD")
        (from_genuine,) = rest_provider(paypal_server.url, signer).parse_webhook(headers, body)
        assert from_forgery == from_genuine
        ledger = apply_events(Ledger.empty(plan), [from_forgery, from_genuine]).ledger
        assert ledger.paid == Money.of("500.00", "USD")

    def test_forgery_of_an_unknown_sale_is_refused(self, setup: tuple[Any, ...], paypal_server: FakeServer, signer: PayPalSigner) -> None:
        """A forged sale id PayPal does not have credits nothing: the confirmation is refused."""
        harness, plan, binding, _ = setup
        headers, body, event = self.genuine(harness, plan, binding)
        forged = self.forge(body, event, id="SALE-FORGED-1", amount={"total": "1500.00", "currency": "USD"})
        with pytest.raises(ProviderRequestError, match="SALE-FORGED-1"):
            rest_provider(paypal_server.url, signer).parse_webhook(headers, forged)

    def test_unconfirmed_sale_credits_nothing_yet(self, setup: tuple[Any, ...], fake_paypal: FakePayPal) -> None:
        """A sale PayPal shows as pending gives no event (not yet), whatever the delivery says."""
        harness, plan, binding, provider = setup
        headers, body, event = self.genuine(harness, plan, binding)
        fake_paypal.record_payment({**event["resource"], "state": "pending"})
        assert provider.parse_webhook(headers, body) == ()

    def test_without_confirmation_the_delivery_is_trusted(self, setup: tuple[Any, ...], paypal_server: FakeServer, signer: PayPalSigner) -> None:
        """confirm=False trusts the signed body, so the forgery's $1,500 would be credited: why it is not the default."""
        harness, plan, binding, _ = setup
        headers, body, event = self.genuine(harness, plan, binding)
        forged = self.forge(body, event, amount={"total": "1500.00", "currency": "USD"})
        (event_,) = rest_provider(paypal_server.url, signer, confirm=False).parse_webhook(headers, forged)
        assert event_.amount == Money.of("1500.00", "USD")
