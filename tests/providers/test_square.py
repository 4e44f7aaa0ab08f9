"""The Square adapter: the shared contract through the real SDK against a fake Square, plus mapping and spec tests."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

pytest.importorskip("square", reason="the Square SDK (payplan[square]) is not installed")

from square import Square

from payplan import (
    DepositRule,
    InvalidPlanError,
    Ledger,
    Money,
    PaymentPlan,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderRequestError,
    UnsupportedByProviderError,
)
from payplan.providers import EventKind, Payer, ProviderBinding, RefundStatus, apply_events
from payplan.providers.square import SquareProvider, sign_webhook
from payplan.providers.square._mapping import (
    invoice_body,
    order_body,
    order_reference,
    request_types,
)
from payplan.testing.server import FakeServer, RecordedRequest
from payplan.testing.square import FakeSquare

from .contract import (
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

try:
    from conftest import SPECS
except ImportError:  # pragma: no cover - conftest is always on the path under pytest
    SPECS = None

SIGNATURE_KEY = "sq-signature-key"
TOKEN = "EAAA-test-token-payplan-7c1"
NOTIFICATION_URL = "https://booking.example/hooks/square"
LOCATION = "LOC_MAIN"

#: The keys payplan sends in each request body (Square's schemas accept unknown keys, so check them here).
ORDER_KEYS = {"location_id", "reference_id", "line_items", "metadata", "customer_id"}
INVOICE_KEYS = {
    "location_id", "order_id", "primary_recipient", "payment_requests", "delivery_method",
    "accepted_payment_methods", "sale_or_service_date", "title", "description",
}
REQUEST_KEYS = {"request_type", "due_date", "fixed_amount_requested_money", "automatic_payment_source", "card_id"}
UPDATE_KEYS = {"version", "payment_requests", "sale_or_service_date", "description"}


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def square_fake() -> FakeSquare:
    """The stateful fake Square API, shared by the session; its location's time zone is the plans' (UTC)."""
    return FakeSquare(timezone="UTC")


@pytest.fixture(scope="session")
def square_server(square_fake: FakeSquare) -> Iterator[FakeServer]:
    """The fake Square API served on 127.0.0.1 for the whole session."""
    with FakeServer(square_fake) as server:
        yield server


@pytest.fixture(scope="session")
def square_spec() -> Any:
    """Square's official OpenAPI document, loaded for request validation (None when absent)."""
    path = SPECS / "square-api.json" if SPECS is not None else None
    if path is None or not path.exists():
        return None
    from openapi_core import Config, OpenAPI

    return OpenAPI.from_dict(json.loads(path.read_text()), config=Config(spec_validator_cls=None))


@functools.cache
def _client_for(url: str) -> Square:
    return Square(token=TOKEN, base_url=url)


def _client(server: FakeServer) -> Square:
    """One SDK client per fake server (building an httpx client loads the CA bundle, which is slow)."""
    return _client_for(server.url)


def validate_against_spec(spec: Any, requests: list[RecordedRequest]) -> int:
    """Validate every recorded request against Square's spec; returns how many were checked."""
    from openapi_core.testing import MockRequest

    checked = 0
    for r in requests:
        if r.fault is not None:
            continue
        mock = MockRequest(
            "https://connect.squareup.com",
            r.method.lower(),
            r.path,
            args=r.query_params(),
            data=r.body or None,
            headers={"Authorization": r.header("Authorization") or ""},
            content_type="application/json",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # openapi-core: "Unsupported scheme type" (oauth2)
            spec.validate_request(mock)
        checked += 1
    return checked


class SquareHarness(Harness):
    """The contract's view of the fake Square: recorded calls, faults, signed notifications."""

    def __init__(self, server: FakeServer, fake: FakeSquare) -> None:
        self.server = server
        self.fake = fake

    def calls(self) -> list[Call]:
        out = []
        for r in self.server.requests():
            body = r.json() if r.body else {}
            key = body.get("idempotency_key") if isinstance(body, dict) else None
            out.append(Call(r.method, r.path, key, r.method != "GET", r.fault is not None))
        return out

    def clear(self) -> None:
        self.server.clear()

    def inject(self, fault: Fault, count: int = 1) -> None:
        self.server.inject(fault, count, when=lambda r: r.method != "GET")

    def created(self) -> int:
        return self.fake.created()

    def secrets(self) -> list[str]:
        return [TOKEN, SIGNATURE_KEY]

    def payer_for(self, outcome: CardOutcome) -> Payer:
        """A customer whose card on file the fake charges or declines (no 3-D Secure on a card on file)."""
        cards = {CardOutcome.SUCCESS: "ccof:card-1", CardOutcome.DECLINE: "ccof:declined",
                 CardOutcome.EXPIRED: "ccof:expired"}
        if outcome not in cards:
            pytest.skip(f"the fake Square has no {outcome.value} card on file")
        return Payer(customer_id="CUST_1", payment_method_id=cards[outcome], email="client@example.com")

    def _snapshot(self, spec: WebhookSpec, paid_through: int) -> dict[str, Any]:
        invoice = json.loads(json.dumps(self.fake.invoices[spec.binding.id("invoice")]))
        for number, request in enumerate(invoice["payment_requests"], 1):
            done = request["computed_amount_money"]["amount"] if number <= paid_through else 0
            request["total_completed_amount_money"] = {"amount": done, "currency": spec.plan.currency}
        return invoice

    def delivery(self, spec: WebhookSpec, signature: Signature = Signature.VALID) -> Delivery:
        created = dt.datetime.fromtimestamp(spec.sequence, dt.UTC).isoformat().replace("+00:00", "Z")
        number = spec.installment or 1
        payload: dict[str, Any] = {"merchant_id": "MERCHANT", "event_id": spec.event_id, "created_at": created}
        if spec.kind is EventKind.REFUNDED:
            assert spec.amount is not None
            refund = {
                "id": f"refund_{spec.event_id}",
                "status": "COMPLETED",
                "amount_money": {"amount": spec.amount.minor, "currency": spec.amount.currency.code},
                "payment_id": spec.reference,
                "order_id": spec.binding.id("order"),
                "created_at": created,
            }
            payload |= {"type": "refund.updated", "data": {"type": "refund", "id": refund["id"],
                                                          "object": {"refund": refund}}}
        else:
            kind, paid = {
                EventKind.PAYMENT_SUCCEEDED: ("invoice.payment_made", number),
                EventKind.PAYMENT_FAILED: ("invoice.scheduled_charge_failed", number - 1),
                EventKind.PLAN_CANCELED: ("invoice.canceled", 0),
                None: ("invoice.updated", 0),
            }[spec.kind]
            invoice = self._snapshot(spec, paid)
            payload |= {"type": kind, "data": {"type": "invoice", "id": invoice["id"],
                                               "object": {"invoice": invoice}}}
        body = json.dumps(payload).encode()
        headers: dict[str, str] = {"Content-Type": "application/json"}
        if signature is Signature.VALID:
            headers["X-Square-HmacSha256-Signature"] = sign_webhook(
                body, signature_key=SIGNATURE_KEY, notification_url=NOTIFICATION_URL
            )
        elif signature is Signature.BAD:
            headers["X-Square-HmacSha256-Signature"] = sign_webhook(
                body, signature_key="not-the-key", notification_url=NOTIFICATION_URL
            )
        return Delivery(headers, body)


@pytest.fixture(autouse=True)
def _every_request_matches_the_spec(square_server: FakeServer, square_spec: Any) -> Iterator[None]:
    """After each test in this module, every request that reached the fake is validated against Square's spec."""
    square_server.clear()
    yield
    if square_spec is not None:
        validate_against_spec(square_spec, square_server.requests())


def _provider(server: FakeServer, **kwargs: Any) -> SquareProvider:
    kwargs.setdefault("invoices_plus", True)
    return SquareProvider(
        _client(server), location_id=LOCATION, signature_key=SIGNATURE_KEY,
        notification_url=NOTIFICATION_URL, **kwargs,
    )


# -- the shared contract ------------------------------------------------------------------


class TestSquare(ProviderContract):
    """The provider contract, through the real squareup SDK against the fake Square on 127.0.0.1."""

    webhook_kinds: ClassVar[tuple[EventKind, ...]] = (
        EventKind.PAYMENT_SUCCEEDED,
        EventKind.PAYMENT_FAILED,
        EventKind.REFUNDED,
        EventKind.PLAN_CANCELED,
    )
    stale_signatures: ClassVar[bool] = False  # Square signs URL + body; there is no timestamp

    @pytest.fixture
    def provider(self, square_server: FakeServer) -> SquareProvider:
        """The adapter on a real SDK client pointed at the fake."""
        return _provider(square_server)

    @pytest.fixture
    def payer(self) -> Payer:
        """A Square customer with a card on file."""
        return Payer(customer_id="CUST_1", payment_method_id="ccof:card-1", email="client@example.com")

    @pytest.fixture
    def harness(self, square_server: FakeServer, square_fake: FakeSquare) -> Harness:
        """The fake's side of the contract."""
        return SquareHarness(square_server, square_fake)


# -- mapping ------------------------------------------------------------------------------


def _custom(plan_id: str, parts: list[tuple[dt.date, str]], currency: str = "USD", **kw: Any) -> PaymentPlan:
    return PaymentPlan.custom(
        plan_id,
        [(d, Money.of(a, currency)) for d, a in parts],
        booked=dt.date(2026, 12, 1),
        session=dt.date(2027, 6, 1),
        **kw,
    )


def test_reference_plan_maps_to_deposit_and_three_installments() -> None:
    """Pack A becomes one DEPOSIT and three INSTALLMENT requests of 50000 cents on the reference dates, with autopay."""
    plan = reference_plan("pack-a")
    body = invoice_body(plan, location_id="L", order_id="O", customer_id="C", card_id="ccof:1")
    assert set(body) == INVOICE_KEYS
    requests = body["payment_requests"]
    assert [r["request_type"] for r in requests] == ["DEPOSIT", "INSTALLMENT", "INSTALLMENT", "INSTALLMENT"]
    assert [r["due_date"] for r in requests] == ["2026-12-01", "2027-01-01", "2027-02-01", "2027-03-01"]
    assert [r["fixed_amount_requested_money"] for r in requests] == [{"amount": 50000, "currency": "USD"}] * 4
    assert all(set(r) == REQUEST_KEYS for r in requests)
    assert all(r["automatic_payment_source"] == "CARD_ON_FILE" and r["card_id"] == "ccof:1" for r in requests)
    assert "payplan plan: pack-a" in body["description"].splitlines()


def test_order_carries_plan_ids_and_exact_total() -> None:
    """The order holds the fee in minor units, the plan id as reference_id and the full id and version in metadata."""
    order = order_body(reference_plan("pack-a", version=3), location_id="L", customer_id="C")
    assert set(order) == ORDER_KEYS
    assert order["reference_id"] == "pack-a"
    assert order["metadata"] == {"payplan_plan_id": "pack-a", "payplan_plan_version": "3"}
    assert order["line_items"] == [
        {"name": "Session", "quantity": "1", "base_price_money": {"amount": 200000, "currency": "USD"}}
    ]


def test_long_plan_id_gets_a_reference_within_square_limit() -> None:
    """A plan id longer than Square's 40-character reference_id is replaced by a stable digest that fits."""
    long_id = "booking-" + "x" * 150
    ref = order_reference(long_id)
    assert len(ref) <= 40
    assert ref == order_reference(long_id)
    assert ref != order_reference(long_id + "y")


@pytest.mark.parametrize(
    ("currency", "parts", "minor"),
    [
        ("JPY", ["50000", "30000", "30001"], [50000, 30000, 30001]),
        ("KWD", ["150.125", "100.000", "99.875"], [150125, 100000, 99875]),
    ],
)
def test_zero_and_three_decimal_currencies_are_sent_in_minor_units(
    currency: str, parts: list[str], minor: list[int]
) -> None:
    """JPY amounts go to Square in yen and KWD amounts in fils (three decimals), never scaled by 100."""
    dates = [dt.date(2026, 12, 1), dt.date(2027, 1, 5), dt.date(2027, 2, 5)]
    plan = _custom(f"plan-{currency}", list(zip(dates, parts, strict=True)), currency)
    body = invoice_body(plan, location_id="L", order_id="O", customer_id="C")
    sent = [r["fixed_amount_requested_money"] for r in body["payment_requests"]]
    assert sent == [{"amount": m, "currency": currency} for m in minor]
    order = order_body(plan, location_id="L")
    assert order["line_items"][0]["base_price_money"] == {"amount": sum(minor), "currency": currency}


def test_one_payment_is_a_balance_and_two_are_deposit_and_balance() -> None:
    """Pay in full maps to one BALANCE; a deposit and one more payment map to DEPOSIT + BALANCE, even without Invoices Plus."""
    full = PaymentPlan.pay_in_full("full", Money.of("900.00", "USD"), booked=dt.date(2026, 12, 1),
                                   session=dt.date(2027, 1, 1))
    assert request_types(full, invoices_plus=False) == ("BALANCE",)
    two = _custom("two", [(dt.date(2026, 12, 1), "300.00"), (dt.date(2027, 1, 1), "700.00")])
    assert request_types(two, invoices_plus=False) == ("DEPOSIT", "BALANCE")
    body = invoice_body(two, location_id="L", order_id="O", customer_id="C", invoices_plus=False)
    assert "fixed_amount_requested_money" not in body["payment_requests"][1]
    assert body["payment_requests"][1]["automatic_payment_source"] == "NONE"


def test_installments_without_invoices_plus_are_refused_with_the_reason() -> None:
    """A deposit and three installments cannot go to a seller without Invoices Plus, and the error says so."""
    with pytest.raises(UnsupportedByProviderError, match="Invoices Plus") as info:
        request_types(reference_plan("pack-a"), invoices_plus=False)
    assert info.value.provider == "square"


def test_more_than_twelve_installments_are_refused() -> None:
    """Thirteen installments after the deposit exceed Square's limit of twelve and are refused."""
    plan = PaymentPlan.with_deposit(
        "many", Money.of("1800.00", "USD"), deposit=DepositRule.fixed(Money.of("500.00", "USD")),
        installments=13, dates="weekly", booked=dt.date(2026, 12, 1), session=dt.date(2027, 6, 1),
    )
    with pytest.raises(UnsupportedByProviderError, match="at most 12"):
        request_types(plan)


def test_deposit_due_with_the_first_installment_is_refused() -> None:
    """Square needs the deposit due before every other request; a same-day installment is refused."""
    plan = _custom("same-day", [(dt.date(2026, 12, 1), "300.00"), (dt.date(2026, 12, 1), "300.00"),
                                (dt.date(2027, 1, 1), "400.00")])
    with pytest.raises(UnsupportedByProviderError, match="deposit due before"):
        request_types(plan)


def test_twelve_installments_after_a_deposit_are_accepted() -> None:
    """The largest invoice Square takes, a deposit and twelve installments, maps one request per installment."""
    plan = PaymentPlan.with_deposit(
        "twelve", Money.of("1700.00", "USD"), deposit=DepositRule.fixed(Money.of("500.00", "USD")),
        installments=12, dates="weekly", booked=dt.date(2026, 12, 1), session=dt.date(2027, 6, 1),
    )
    assert request_types(plan) == ("DEPOSIT",) + ("INSTALLMENT",) * 12


# -- adapter behaviour beyond the contract --------------------------------------------------


def test_publish_sends_order_invoice_publish_with_derived_keys(square_server: FakeServer) -> None:
    """Publishing reads the location's zone, then sends CreateOrder, CreateInvoice and PublishInvoice, each keyed from the plan."""
    plan = reference_plan("sq-publish-keys")
    square_server.clear()
    _provider(square_server).publish(plan, Payer(customer_id="C1", payment_method_id="ccof:1"))
    location, *_posts = square_server.requests()
    assert (location.method, location.path) == ("GET", f"/v2/locations/{LOCATION}")
    square_server.clear()
    provider = _provider(square_server, location_timezone="UTC")
    provider.publish(attrs.evolve(plan, id="sq-publish-keys-2"), Payer(customer_id="C1", payment_method_id="ccof:1"))
    provider.publish(attrs.evolve(plan, id="sq-publish-keys-3"), Payer(customer_id="C1", payment_method_id="ccof:1"))
    assert all(r.path != f"/v2/locations/{LOCATION}" for r in square_server.requests())
    square_server.clear()
    _provider(square_server, location_timezone="UTC").publish(plan, Payer(customer_id="C1", payment_method_id="ccof:1"))
    sent = [(r.method, r.path) for r in square_server.requests()]
    assert sent[0] == ("POST", "/v2/orders")
    assert sent[1] == ("POST", "/v2/invoices")
    assert sent[2][0] == "POST"
    assert sent[2][1].endswith("/publish")
    bodies = [r.json() for r in square_server.requests()]
    assert [b["idempotency_key"] for b in bodies] == [
        "payplan:sq-publish-keys:v1:order:a1",
        "payplan:sq-publish-keys:v1:invoice:a1",
        "payplan:sq-publish-keys:v1:publish:a1",
    ]
    assert set(bodies[0]["order"]) == ORDER_KEYS
    assert set(bodies[1]["invoice"]) == INVOICE_KEYS
    assert all(r.header("Authorization") == f"Bearer {TOKEN}" for r in square_server.requests())


def test_publish_without_invoices_plus_refuses_before_any_call(square_server: FakeServer) -> None:
    """A seller without Invoices Plus gets a clear refusal for installments and Square receives nothing."""
    square_server.clear()
    provider = _provider(square_server, invoices_plus=False)
    with pytest.raises(UnsupportedByProviderError, match="Invoices Plus"):
        provider.publish(reference_plan("sq-no-plus"), Payer(customer_id="C1"))
    assert [r for r in square_server.requests() if r.method != "GET"] == []  # read the location, created nothing


def test_publish_deposit_and_balance_without_invoices_plus(square_server: FakeServer, square_fake: FakeSquare) -> None:
    """Without Invoices Plus a two-payment plan publishes as DEPOSIT + BALANCE and Square computes the exact balance."""
    plan = _custom("sq-two-payments", [(dt.date(2026, 12, 1), "300.00"), (dt.date(2027, 1, 1), "700.01")])
    square_fake.invoices_plus = False
    try:
        binding = _provider(square_server, invoices_plus=False).publish(plan, Payer(customer_id="C1"))
    finally:
        square_fake.invoices_plus = True
    requests = square_fake.invoices[binding.id("invoice")]["payment_requests"]
    assert [r["request_type"] for r in requests] == ["DEPOSIT", "BALANCE"]
    assert [r["computed_amount_money"]["amount"] for r in requests] == [30000, 70001]


def test_publish_needs_a_customer(square_server: FakeServer) -> None:
    """Square sends invoices to a customer, so a payer without a customer id is refused before any call."""
    square_server.clear()
    with pytest.raises(UnsupportedByProviderError, match="customer_id"):
        _provider(square_server).publish(reference_plan("sq-no-customer"), Payer())
    assert [r for r in square_server.requests() if r.method != "GET"] == []  # read the location, created nothing


def test_update_resplits_unpaid_requests_with_the_current_version(
    square_server: FakeServer, square_fake: FakeSquare
) -> None:
    """An amendment that moves unpaid dates updates the invoice in place, keyed to the new version, at Square's version."""
    plan = reference_plan("sq-update")
    provider = _provider(square_server)
    binding = provider.publish(plan, Payer(customer_id="C1", payment_method_id="ccof:1"))
    square_fake.pay(binding.id("invoice"), 1)
    lines = list(plan.installments)
    lines[3] = attrs.evolve(lines[3], due=dt.date(2027, 3, 15))
    v2 = attrs.evolve(plan, installments=lines, version=2)
    square_server.clear()
    updated = provider.update(binding, v2)
    assert updated.plan_version == 2
    (put,) = [r for r in square_server.requests() if r.method == "PUT"]
    body = put.json()
    assert body["idempotency_key"] == "payplan:sq-update:v2:update:a1"
    assert set(body["invoice"]) == UPDATE_KEYS
    assert body["invoice"]["version"] == square_fake.invoices[binding.id("invoice")]["version"] - 1
    dues = [r["due_date"] for r in square_fake.invoices[binding.id("invoice")]["payment_requests"]]
    assert dues == ["2026-12-01", "2027-01-01", "2027-02-01", "2027-03-15"]
    square_server.clear()
    assert provider.update(binding, v2).plan_version == 2
    assert [r.method for r in square_server.requests()] == ["GET"]


def test_update_refuses_to_change_the_total(square_server: FakeServer) -> None:
    """Square cannot change the order of a published invoice, so a new total is refused with the reason."""
    plan = reference_plan("sq-update-total")
    provider = _provider(square_server)
    binding = provider.publish(plan, Payer(customer_id="C1"))
    bigger = PaymentPlan.custom(
        plan.id, [(i.due, i.amount) for i in plan.installments[:-1]] + [(dt.date(2027, 3, 1), Money.of("600.00", "USD"))],
        booked=plan.booked, session=plan.session,
    )
    with pytest.raises(UnsupportedByProviderError, match="cannot change the total"):
        provider.update(binding, attrs.evolve(bigger, version=2))


def test_update_refuses_to_change_a_paid_request(square_server: FakeServer, square_fake: FakeSquare) -> None:
    """A new version that moves an installment Square already collected is refused before any update is sent."""
    plan = reference_plan("sq-update-paid")
    provider = _provider(square_server)
    binding = provider.publish(plan, Payer(customer_id="C1"))
    square_fake.pay(binding.id("invoice"), 1)
    square_fake.pay(binding.id("invoice"), 2)
    lines = list(plan.installments)
    lines[1] = attrs.evolve(lines[1], due=dt.date(2027, 1, 5))
    square_server.clear()
    with pytest.raises(UnsupportedByProviderError, match="already collected"):
        provider.update(binding, attrs.evolve(plan, installments=lines, version=2))
    assert [r.method for r in square_server.requests()] == ["GET"]


def test_update_of_another_plan_is_refused(square_server: FakeServer) -> None:
    """Updating a binding with a different plan's version is a caller error, refused before any call."""
    provider = _provider(square_server)
    binding = provider.publish(reference_plan("sq-update-a"), Payer(customer_id="C1"))
    with pytest.raises(InvalidPlanError, match="sq-update-a"):
        provider.update(binding, reference_plan("sq-update-b", version=2))


def test_refund_goes_through_refunds_api_with_a_short_stable_key(
    square_server: FakeServer, square_fake: FakeSquare
) -> None:
    """A partial refund calls RefundPayment with the exact amount and a key within Square's 45 characters; a retry refunds once."""
    plan = reference_plan("sq-refund-" + "r" * 60)
    provider = _provider(square_server)
    binding = provider.publish(plan, Payer(customer_id="C1"))
    payment = square_fake.pay(binding.id("invoice"), 1)
    square_server.clear()
    part = Money.of("123.45", "USD")
    outcome = provider.refund(binding, payment, part, reason="client asked")
    again = provider.refund(binding, payment, part, reason="client asked")
    assert outcome.status is RefundStatus.PENDING
    assert outcome.amount == part
    assert again.reference == outcome.reference
    bodies = [r.json() for r in square_server.requests() if r.path == "/v2/refunds"]
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    assert bodies[0]["amount_money"] == {"amount": 12345, "currency": "USD"}
    assert len(bodies[0]["idempotency_key"]) <= 45
    assert len([r for r in square_fake.refunds.values() if r["payment_id"] == payment]) == 1


def test_two_different_refunds_of_one_payment_are_two_refunds(
    square_server: FakeServer, square_fake: FakeSquare
) -> None:
    """$50 then $100 of one payment are two refunds; a retry is one; a second $50 needs sequence=2 (#12 item 2)."""
    plan = reference_plan("sq-two-refunds")
    provider = _provider(square_server)
    binding = provider.publish(plan, Payer(customer_id="C1"))
    payment = square_fake.pay(binding.id("invoice"), 1)
    fifty, hundred = Money.of("50.00", "USD"), Money.of("100.00", "USD")
    first = provider.refund(binding, payment, fifty)
    second = provider.refund(binding, payment, hundred)
    retried = provider.refund(binding, payment, fifty)
    third = provider.refund(binding, payment, fifty, sequence=2)
    assert retried.reference == first.reference
    assert len({first.reference, second.reference, third.reference}) == 3
    made = sorted(r["amount_money"]["amount"] for r in square_fake.refunds.values() if r["payment_id"] == payment)
    assert made == [5000, 5000, 10000]
    assert {o.provider for o in (first, second, third)} == {"square"}


def test_refund_webhook_finds_the_plan_through_the_order(square_server: FakeServer, square_fake: FakeSquare) -> None:
    """A completed refund notification names only the order; the adapter reads the order and reports the exact refund."""
    plan = reference_plan("sq-refund-hook")
    provider = _provider(square_server)
    binding = provider.publish(plan, Payer(customer_id="C1"))
    payment = square_fake.pay(binding.id("invoice"), 1)
    refund = provider.refund(binding, payment, Money.of("50.00", "USD"))
    assert refund.reference is not None
    square_fake.complete_refund(refund.reference)
    body = json.dumps(square_fake.refund_event(refund.reference)).encode()
    sig = sign_webhook(body, signature_key=SIGNATURE_KEY, notification_url=NOTIFICATION_URL)
    (event,) = provider.parse_webhook({"x-square-hmacsha256-signature": sig}, body)
    assert event.kind is EventKind.REFUNDED
    assert event.plan_id == plan.id
    assert event.amount == Money.of("50.00", "USD")
    assert event.reference == payment


def test_webhook_signed_for_another_url_is_rejected(square_server: FakeServer) -> None:
    """Square signs the notification URL with the body, so a delivery signed for another URL is refused."""
    body = b'{"type": "invoice.payment_made", "created_at": "2027-01-01T00:00:00Z"}'
    sig = sign_webhook(body, signature_key=SIGNATURE_KEY, notification_url="https://elsewhere.example/hook")
    with pytest.raises(ProviderAuthError, match="does not match"):
        _provider(square_server).parse_webhook({"x-square-hmacsha256-signature": sig}, body)


def test_webhooks_need_configuration(square_server: FakeServer) -> None:
    """An adapter built without a signature key refuses to trust any delivery."""
    provider = SquareProvider(_client(square_server), location_id=LOCATION)
    with pytest.raises(ProviderAuthError, match="signature_key"):
        provider.parse_webhook({"x-square-hmacsha256-signature": "x"}, b"{}")


def test_payment_made_reports_the_request_just_paid_in_the_invoice_time_zone() -> None:
    """After two payments the notification reports installment 2 with its exact amount, dated in the invoice's zone."""
    fake = FakeSquare(timezone="America/New_York")
    with FakeServer(fake) as server:
        plan = attrs.evolve(reference_plan("sq-paid-tz"), timezone="America/New_York")
        provider = _provider(server)
        binding = provider.publish(plan, Payer(customer_id="C1", payment_method_id="ccof:1"))
        fake.pay(binding.id("invoice"), 1, created_at="2026-12-01T15:00:00Z")
        fake.pay(binding.id("invoice"), 2, created_at="2027-01-02T03:00:00Z")
        payload = fake.event("invoice.payment_made", binding.id("invoice"), created_at="2027-01-02T03:00:05Z")
        body = json.dumps(payload).encode()
        sig = sign_webhook(body, signature_key=SIGNATURE_KEY, notification_url=NOTIFICATION_URL)
        events = provider.parse_webhook({"x-square-hmacsha256-signature": sig}, body)
    event = events[-1]
    assert event.installment == 2
    assert event.amount == Money.of("500.00", "USD")
    assert event.occurred_on == dt.date(2027, 1, 1)  # 03:00 UTC is still Jan 1 in New York


def test_one_payment_completing_two_requests_gives_an_event_for_each(
    square_server: FakeServer, square_fake: FakeSquare
) -> None:
    """A notification showing requests 2 and 3 newly paid (one payment) gives both, dated by that payment, counted once."""
    plan = reference_plan("sq-two-at-once")
    provider = _provider(square_server)
    binding = provider.publish(plan, Payer(customer_id="C1", payment_method_id="ccof:1"))
    invoice = binding.id("invoice")

    def deliver(created: str) -> tuple[Any, ...]:
        body = json.dumps(square_fake.event("invoice.payment_made", invoice, created_at=created)).encode()
        sig = sign_webhook(body, signature_key=SIGNATURE_KEY, notification_url=NOTIFICATION_URL)
        return provider.parse_webhook({"x-square-hmacsha256-signature": sig}, body)

    square_fake.pay(invoice, 1, created_at="2026-12-01T15:00:00Z")
    first = deliver("2026-12-01T15:00:02Z")
    square_fake.pay(invoice, 2, through=3, created_at="2027-01-05T15:00:00Z")
    second = deliver("2027-01-05T15:00:02Z")
    assert [(e.installment, e.amount, e.occurred_on) for e in second] == [
        (1, Money.of("500.00", "USD"), dt.date(2026, 12, 1)),
        (2, Money.of("500.00", "USD"), dt.date(2027, 1, 5)),
        (3, Money.of("500.00", "USD"), dt.date(2027, 1, 5)),
    ]
    assert second[0] == first[0]  # the same request, the same event, whichever notification
    assert set(provider.reconcile(binding)) == set(second)
    ledger = apply_events(Ledger.empty(plan), [*first, *second, *provider.reconcile(binding)])
    assert ledger.deferred == ()
    assert ledger.ledger.paid == Money.of("1500.00", "USD")


def test_location_time_zone_is_read_by_default() -> None:
    """Without location_timezone=, the location's zone is read from Square and a plan local elsewhere is refused before anything is created."""
    fake = FakeSquare(timezone="America/New_York")
    with FakeServer(fake) as server:
        provider = _provider(server)
        with pytest.raises(UnsupportedByProviderError, match="America/New_York"):
            provider.publish(reference_plan("sq-tz-read"), Payer(customer_id="C1"))
        assert [(r.method, r.path) for r in server.requests()] == [("GET", f"/v2/locations/{LOCATION}")]
        assert fake.orders == {}
        provider.publish(attrs.evolve(reference_plan("sq-tz-read-ny"), timezone="America/New_York"), Payer(customer_id="C1"))
        assert sum(r.path == f"/v2/locations/{LOCATION}" for r in server.requests()) == 1  # read once


def test_unstated_invoices_plus_refuses_installments_before_anything_is_created(square_server: FakeServer, square_fake: FakeSquare) -> None:
    """invoices_plus is not assumed: a plan needing INSTALLMENT requests is refused, naming the setting, and no order is created."""
    provider = SquareProvider(
        _client(square_server), location_id=LOCATION, signature_key=SIGNATURE_KEY, notification_url=NOTIFICATION_URL
    )
    orders = len(square_fake.orders)
    square_server.clear()
    with pytest.raises(UnsupportedByProviderError, match=r"invoices_plus=True"):
        provider.publish(reference_plan("sq-plus-unstated"), Payer(customer_id="C1"))
    assert len(square_fake.orders) == orders
    assert [r for r in square_server.requests() if r.method != "GET"] == []
    two = _custom("sq-plus-two", [(dt.date(2026, 12, 1), "500.00"), (dt.date(2027, 1, 1), "1500.00")])
    binding = provider.publish(two, Payer(customer_id="C1"))
    held = square_fake.invoices[binding.id("invoice")]["payment_requests"]
    assert [r["request_type"] for r in held] == ["DEPOSIT", "BALANCE"]


def test_reconcile_finds_payments_with_the_webhook_ids(square_server: FakeServer, square_fake: FakeSquare) -> None:
    """Reconciling returns each collected request once, with the id its webhook would have had."""
    plan = reference_plan("sq-reconcile")
    provider = _provider(square_server)
    binding = provider.publish(plan, Payer(customer_id="C1"))
    square_fake.pay(binding.id("invoice"), 1)
    payload = square_fake.event("invoice.payment_made", binding.id("invoice"))
    body = json.dumps(payload).encode()
    sig = sign_webhook(body, signature_key=SIGNATURE_KEY, notification_url=NOTIFICATION_URL)
    (from_hook,) = provider.parse_webhook({"x-square-hmacsha256-signature": sig}, body)
    square_fake.pay(binding.id("invoice"), 2)
    events = provider.reconcile(binding, known=[from_hook.id])
    assert [(e.installment, e.amount) for e in events] == [(2, Money.of("500.00", "USD"))]
    assert provider.reconcile(binding, known=[from_hook.id, events[0].id]) == ()


def test_square_errors_become_payplan_errors(square_server: FakeServer) -> None:
    """A 400 becomes ProviderRequestError with Square's code, a 503 a retryable ProviderConnectionError, a 401 ProviderAuthError."""
    provider = _provider(square_server)
    binding = provider.publish(reference_plan("sq-errors"), Payer(customer_id="C1"))
    with pytest.raises(ProviderRequestError) as bad:
        provider.refund(binding, "no-such-payment", Money.of("1.00", "USD"))
    assert bad.value.provider_code == "NOT_FOUND"
    assert not bad.value.retryable
    square_server.inject(Fault.HTTP_500, 1)
    with pytest.raises(ProviderConnectionError) as down:
        provider.cancel(binding)
    assert down.value.retryable
    anonymous = SquareProvider(Square(token="revoked", base_url=square_server.url), location_id=LOCATION,
                               invoices_plus=True)
    with pytest.raises(ProviderAuthError):
        anonymous.publish(reference_plan("sq-errors-auth"), Payer(customer_id="C1"))


def test_every_request_body_matches_squares_spec(square_server: FakeServer, square_fake: FakeSquare,
                                                 square_spec: Any) -> None:
    """Publish, update, refund and cancel in JPY and KWD send only bodies that Square's OpenAPI spec accepts."""
    if square_spec is None:
        pytest.skip(f"Square's OpenAPI spec is not at {SPECS}; request bodies not validated against it")
    square_server.clear()
    provider = _provider(square_server)
    for currency, parts in (("JPY", ["50000", "30000", "30001"]), ("KWD", ["150.125", "100.000", "99.875"])):
        dates = [dt.date(2026, 12, 1), dt.date(2027, 1, 5), dt.date(2027, 2, 5)]
        plan = _custom(f"sq-spec-{currency}", list(zip(dates, parts, strict=True)), currency)
        binding = provider.publish(plan, Payer(customer_id="C1", payment_method_id="ccof:1"))
        payment = square_fake.pay(binding.id("invoice"), 1)
        lines = list(plan.installments)
        lines[2] = attrs.evolve(lines[2], due=dt.date(2027, 2, 20))
        provider.update(binding, attrs.evolve(plan, installments=lines, version=2))
        provider.refund(binding, payment, Money.of(parts[0], currency).split(2)[1])
        provider.cancel(binding)
    # once: the location (its time zone); per currency: order, invoice, publish, get + update, refund, get + cancel
    assert validate_against_spec(square_spec, square_server.requests()) == 17


def test_spec_validation_catches_a_wrong_body(square_spec: Any) -> None:
    """The spec check itself fails on a body Square would refuse (an unknown request type, a string amount)."""
    if square_spec is None:
        pytest.skip(f"Square's OpenAPI spec is not at {SPECS}")
    from openapi_core.validation.request.exceptions import InvalidRequestBody

    body = {"invoice": {"location_id": "L", "payment_requests": [
        {"request_type": "DOWNPAYMENT", "due_date": "2027-01-01",
         "fixed_amount_requested_money": {"amount": "500", "currency": "USD"}}]}}
    bad = RecordedRequest("POST", "/v2/invoices", "", {"Content-Type": "application/json"}, json.dumps(body).encode())
    with pytest.raises(InvalidRequestBody):
        validate_against_spec(square_spec, [bad])


@pytest.mark.parametrize("step", [r"/v2/invoices", r"/v2/invoices/[^/]+/publish"])
@pytest.mark.parametrize("fault", [Fault.HTTP_500, Fault.DROP, Fault.DROP_AFTER])
def test_publish_interrupted_at_a_later_step_resumes_without_duplicates(
    square_server: FakeServer, square_fake: FakeSquare, step: str, fault: Fault
) -> None:
    """A publish cut off at CreateInvoice or PublishInvoice raises a retryable error; the retry ends with one order and one published invoice."""
    import re

    plan = reference_plan(f"sq-resume-{fault.value}-{'publish' if 'publish' in step else 'invoice'}")
    provider = _provider(square_server)
    start = square_fake.created()
    square_server.inject(fault, 1, when=lambda r: r.method == "POST" and re.fullmatch(step, r.path) is not None)
    with pytest.raises(ProviderConnectionError):
        provider.publish(plan, Payer(customer_id="C1"))
    binding = provider.publish(plan, Payer(customer_id="C1"))
    assert square_fake.created() - start == 2  # one order, one invoice
    assert square_fake.invoices[binding.id("invoice")]["status"] == "UNPAID"
    assert binding.status == "UNPAID"


def test_cancel_deletes_a_draft_left_by_an_interrupted_publish(square_server: FakeServer, square_fake: FakeSquare) -> None:
    """When publishing stopped after the draft was created, cancel deletes the draft instead of cancelling it."""
    plan = reference_plan("sq-cancel-draft")
    provider = _provider(square_server)
    square_server.inject(Fault.HTTP_500, 1, when=lambda r: r.path.endswith("/publish"))
    with pytest.raises(ProviderConnectionError):
        provider.publish(plan, Payer(customer_id="C1"))
    (draft,) = [i for i in square_fake.invoices.values() if "payplan plan: sq-cancel-draft" in i["description"]]
    order = draft["order_id"]
    binding = ProviderBinding("square", plan.id, 1, {"invoice": draft["id"], "order": order})
    provider.cancel(binding)
    assert draft["id"] not in square_fake.invoices


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"not json", "JSON"),
        (b'["a list"]', "type"),
        (b'{"type": "invoice.payment_made", "created_at": "2027-01-01T00:00:00Z", "data": {}}', "invoice"),
        (b'{"type": "invoice.canceled", "created_at": "yesterday", "data": {}}', "created_at"),
    ],
)
def test_malformed_but_signed_bodies_are_request_errors(square_server: FakeServer, body: bytes, match: str) -> None:
    """A correctly signed body that is not a well-formed Square event raises ProviderRequestError saying what is wrong."""
    sig = sign_webhook(body, signature_key=SIGNATURE_KEY, notification_url=NOTIFICATION_URL)
    with pytest.raises(ProviderRequestError, match=match):
        _provider(square_server).parse_webhook({"x-square-hmacsha256-signature": sig}, body)


def test_invoice_events_of_other_invoices_are_ignored(square_server: FakeServer) -> None:
    """A notification about an invoice payplan did not publish (no plan line in its description) gives no events."""
    payload = {"type": "invoice.canceled", "created_at": "2027-01-01T00:00:00Z",
               "data": {"object": {"invoice": {"id": "inv:other", "description": "Hand-made invoice"}}}}
    body = json.dumps(payload).encode()
    sig = sign_webhook(body, signature_key=SIGNATURE_KEY, notification_url=NOTIFICATION_URL)
    assert _provider(square_server).parse_webhook({"x-square-hmacsha256-signature": sig}, body) == ()


_PROPERTY_IDS = itertools.count(1)


@st.composite
def _amendments(draw: st.DrawFn) -> tuple[PaymentPlan, int, PaymentPlan]:
    """A published plan, how many of its payments were collected, and a re-split of the rest with the same total."""
    currency = draw(st.sampled_from(["USD", "JPY", "KWD"]))
    n = draw(st.integers(2, 13))
    amounts = draw(st.lists(st.integers(1, 10**6), min_size=n, max_size=n))
    start = dt.date(2026, 12, 1)
    gaps = draw(st.lists(st.integers(1, 40), min_size=n - 1, max_size=n - 1))
    dates = [start]
    for gap in gaps:
        dates.append(dates[-1] + dt.timedelta(days=gap))
    plan_id = "sq-prop"
    parts = [(d, Money(a, currency)) for d, a in zip(dates, amounts, strict=True)]
    session = dates[-1] + dt.timedelta(days=400)
    plan = PaymentPlan.custom(plan_id, parts, booked=start, session=session)
    paid = draw(st.integers(0, n - 1))
    left = sum(amounts[paid:])
    m = draw(st.integers(1, min(12, 13 - paid, left)))
    shares = Money(left, currency).split(m)
    new_dates = [dates[paid - 1] if paid else start]
    for gap in draw(st.lists(st.integers(1, 40), min_size=m, max_size=m)):
        new_dates.append(new_dates[-1] + dt.timedelta(days=gap))
    new_parts = parts[:paid] + list(zip(new_dates[1:] if paid else new_dates[:m], shares, strict=True))
    amended = attrs.evolve(
        PaymentPlan.custom(plan_id, new_parts, booked=start, session=session), version=2
    )
    return plan, paid, amended


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_amendments())
def test_update_makes_square_hold_exactly_the_new_schedule(
    square_server: FakeServer, square_fake: FakeSquare, case: tuple[PaymentPlan, int, PaymentPlan]
) -> None:
    """After any re-split that keeps the collected payments and the total, Square holds exactly the new dates and amounts."""
    plan, paid, amended = case
    fresh = f"sq-prop-{next(_PROPERTY_IDS)}"  # each example publishes a plan of its own
    plan, amended = attrs.evolve(plan, id=fresh), attrs.evolve(amended, id=fresh)
    provider = _provider(square_server)
    try:
        provider.check(plan)
        provider.check(amended)
    except UnsupportedByProviderError:
        assume(False)
    binding = provider.publish(plan, Payer(customer_id="C1"))
    for number in range(1, paid + 1):
        square_fake.pay(binding.id("invoice"), number)
    provider.update(binding, amended)
    held = square_fake.invoices[binding.id("invoice")]["payment_requests"]
    assert [(r["due_date"], r["computed_amount_money"]["amount"]) for r in held] == [
        (i.due.isoformat(), i.amount.minor) for i in amended.installments
    ]
    assert all(r["computed_amount_money"]["currency"] == plan.currency for r in held)


def test_plans_local_to_another_zone_than_the_location_are_refused(square_server: FakeServer) -> None:
    """Given the location's time zone, the adapter refuses a plan whose dates are local elsewhere and accepts one local there."""
    provider = _provider(square_server, location_timezone="America/New_York")
    with pytest.raises(UnsupportedByProviderError, match="America/New_York"):
        provider.check(reference_plan("sq-tz-utc"))
    provider.check(attrs.evolve(reference_plan("sq-tz-ny"), timezone="America/New_York"))
