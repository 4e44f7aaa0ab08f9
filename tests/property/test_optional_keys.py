"""Square and PayPal objects with a key missing: the adapters answer or refuse clearly, never crash (#20).

Providers omit what they have no value for (Stripe's succeeded refund has no
``failure_reason`` key; the SDK then raises on it). Here every object the
Square and PayPal adapters read, as the clocked fakes make them with the keys
of the providers' own examples, is given to the adapter again with one key
dropped, for every key at every depth: each webhook delivery (re-signed),
and each API answer the adapter reads. Handled means the adapter returns
(events, an outcome, a binding) or raises a :class:`~payplan.PayplanError`
saying what it expected; a ``KeyError``, ``AttributeError``, ``TypeError``
or an SDK validation error escaping is a crash.

Keys the provider's schema marks required are dropped too: where the
adapter then refuses, it does so with a payplan error.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("square", reason="the square extra is not installed")
pytest.importorskip("paypalserversdk", reason="the paypal extra is not installed")
pytest.importorskip("cryptography", reason="the paypal extra is not installed")

from square import Square

from payplan import Money, PayplanError
from payplan.providers import Payer, Provider
from payplan.providers.paypal import PayPalOptions, PayPalServerProvider, server_sdk_configuration
from payplan.providers.square import SquareProvider
from payplan.testing import SandboxCard
from payplan.testing.paypal import FakePayPal, PayPalSigner
from payplan.testing.server import Delivery, FakeServer, RecordedRequest, Reply
from payplan.testing.square import FakeSquare, signed_delivery
from providers.contract import reference_plan

Path = tuple[str | int, ...]
START = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


def key_paths(obj: Any, prefix: Path = (), *, items: int | None = None) -> Iterator[Path]:
    """Every dict key of a JSON value, at every depth (list items by index; the first *items* of each list)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (*prefix, key)
            yield from key_paths(value, (*prefix, key), items=items)
    elif isinstance(obj, list):
        for n, item in enumerate(obj[:items]):
            yield from key_paths(item, (*prefix, n), items=items)


def without(obj: Any, path: Path) -> Any:
    """A deep copy of *obj* with the key at *path* removed."""
    out = copy.deepcopy(obj)
    node = out
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return out


def outcome_of(call: Callable[[], object]) -> str:
    """'ok', 'refused: <payplan error>', or the crash (any other exception)."""
    try:
        call()
    except PayplanError as exc:
        return f"refused: {type(exc).__name__}"
    except Exception as exc:  # the crash this test exists to find
        return f"CRASH {type(exc).__name__}: {exc}"
    return "ok"


class Dropper:
    """A responder wrapper that drops one key from the answers of one route."""

    def __init__(self, fake: Callable[[RecordedRequest], Reply]) -> None:
        self.fake = fake
        self.route: tuple[str, str] | None = None
        self.path: Path = ()
        self.seen: dict[tuple[str, str], Any] = {}

    @staticmethod
    def route_of(request: RecordedRequest) -> tuple[str, str]:
        parts = request.path.strip("/").split("/")
        generic = "/".join(p if n < 2 or p in {"publish", "cancel", "transactions", "refund", "refunds", "captures",
                                                "subscriptions", "plans", "products", "payments", "invoices",
                                                "orders", "locations"} else "{id}" for n, p in enumerate(parts))
        return request.method, generic

    def __call__(self, request: RecordedRequest) -> Reply:
        reply = self.fake(request)
        route = self.route_of(request)
        if isinstance(reply.body, dict) and reply.status < 300:
            self.seen.setdefault(route, copy.deepcopy(reply.body))
            if route == self.route and self.path:
                try:
                    return Reply(reply.status, without(reply.body, self.path), reply.headers)
                except (KeyError, IndexError):
                    pass
        return reply


def crashes(results: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in results.items() if v.startswith("CRASH")}


# -- Square ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def square() -> Iterator[tuple[FakeSquare, Dropper, SquareProvider]]:
    """A clocked FakeSquare behind a key-dropping responder, and the adapter."""
    fake = FakeSquare(timezone="UTC", now=START)
    dropper = Dropper(fake)
    with FakeServer(dropper) as server:
        provider = SquareProvider(
            Square(token="t", base_url=server.url), location_id="L", invoices_plus=True, location_timezone="UTC",
            signature_key=fake.signature_key, notification_url=fake.notification_url,
        )
        yield fake, dropper, provider


def _square_deliveries(fake: FakeSquare, provider: SquareProvider, plan_id: str) -> tuple[Any, list[Delivery]]:
    binding = provider.publish(reference_plan(plan_id), Payer(customer_id="C1", payment_method_id="ccof:k"))
    fake.script("ccof:k", SandboxCard.SUCCESS, SandboxCard.DECLINE)
    made = fake.advance_to(fake.now.date() + dt.timedelta(days=40))
    paid = next(d for d in made if d.type == "invoice.payment_made")
    payment = json.loads(paid.body)["data"]["object"]["invoice"]["order_id"]
    tender = fake.orders[payment]["tenders"][0]["payment_id"]
    provider.refund(binding, tender, Money.of("10.00", "USD"))
    made += fake.advance_to(fake.now.date() + dt.timedelta(days=1))
    provider.cancel(binding)
    made += fake.take_deliveries()
    return binding, made


def test_square_notifications_with_a_key_missing(square: Any) -> None:
    """Every Square notification the fake sends, with any one key dropped, is read or refused with a payplan error."""
    fake, _, provider = square
    _, made = _square_deliveries(fake, provider, "sq-keys-hooks")
    kinds = {d.type for d in made}
    assert kinds >= {"invoice.payment_made", "invoice.scheduled_charge_failed", "refund.created",
                     "refund.updated", "invoice.canceled", "payment.created"}
    results: dict[str, str] = {}
    for delivery in {d.type: d for d in made}.values():
        event = delivery.event
        assert outcome_of(lambda d=delivery: provider.parse_webhook(d.headers, d.body)) == "ok"
        for path in key_paths(event):
            headers, body = signed_delivery(without(event, path), signature_key=fake.signature_key,
                                            notification_url=fake.notification_url)
            results[f"{delivery.type} {path}"] = outcome_of(lambda h=headers, b=body: provider.parse_webhook(h, b))
    assert len(results) > 300
    assert crashes(results) == {}


def test_square_answers_with_a_key_missing(square: Any) -> None:
    """Every Square API answer the adapter reads, with any one key dropped, gives a result or a payplan error."""
    fake, dropper, provider = square
    counter = iter(range(10_000))
    plan = reference_plan("sq-keys-answers")
    binding = provider.publish(plan, Payer(customer_id="C1", payment_method_id="ccof:k"))
    made = fake.advance_to(fake.now.date() + dt.timedelta(days=35))
    payment_id = next(iter(fake.orders[binding.id("order")]["tenders"]))["payment_id"]
    paid = next(d for d in made if d.type == "invoice.payment_made")

    operations: dict[str, Callable[[], object]] = {
        "publish": lambda: provider.publish(reference_plan(f"sq-keys-{next(counter)}"),
                                            Payer(customer_id="C1", payment_method_id="ccof:k")),
        "reconcile": lambda: provider.reconcile(binding),
        "webhook": lambda: provider.parse_webhook(paid.headers, paid.body),
        "fee": lambda: provider.charge_fee(binding, plan, f"fee-{(n := next(counter))}", Money(100 + n, "USD")),
        "refund": lambda: provider.refund(binding, payment_id, Money.of("0.01", "USD"), sequence=next(counter)),
    }
    dropper.seen.clear()
    for run in operations.values():
        assert outcome_of(run) == "ok"
    routes = dict(dropper.seen)
    assert {r for _, r in routes} >= {"v2/orders", "v2/invoices", "v2/invoices/{id}/publish", "v2/invoices/{id}",
                                      "v2/orders/{id}", "v2/payments", "v2/refunds"}
    results: dict[str, str] = {}
    try:
        for name, run in operations.items():
            dropper.seen.clear()
            run()
            for route, answer in dict(dropper.seen).items():
                for path in key_paths(answer, items=2):  # a list's items have one shape: two stand for all
                    dropper.route, dropper.path = route, path
                    results[f"{name} {route} {path}"] = outcome_of(run)
                dropper.route, dropper.path = None, ()
    finally:
        dropper.route, dropper.path = None, ()
    assert len(results) > 200
    assert crashes(results) == {}


# -- PayPal ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paypal() -> Iterator[tuple[FakePayPal, Dropper, PayPalServerProvider, PayPalSigner]]:
    """A clocked FakePayPal behind a key-dropping responder, and the server-SDK adapter."""
    from paypalserversdk.configuration import Environment
    from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
    from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

    signer = PayPalSigner()
    fake = FakePayPal(signer, now=START)
    dropper = Dropper(fake)
    sales: dict[str, str] = {}
    with FakeServer(dropper) as server:
        credentials = ClientCredentialsAuthCredentials(o_auth_client_id="i", o_auth_client_secret="s")
        client = PaypalServersdkClient(config=server_sdk_configuration(server.url)(
            environment=Environment.SANDBOX, client_credentials_auth_credentials=credentials))
        provider = PayPalServerProvider(
            client, PayPalOptions(return_url="https://site.example/r", cancel_url="https://site.example/c"),
            webhook_id=fake.webhook_id, certificates=signer.certificates(), max_transmission_age=None,
            plan_for_subscription=sales.get,
        )
        yield fake, dropper, provider, signer


def _paypal_made(fake: FakePayPal, provider: Provider, plan_id: str) -> tuple[Any, list[Delivery]]:
    binding = provider.publish(reference_plan(plan_id), Payer(email=f"{plan_id}@example.com"))
    sid = binding.id("subscription")
    fake.script(sid, SandboxCard.SUCCESS, SandboxCard.SUCCESS, *[SandboxCard.DECLINE] * 3)
    fake.approve(sid)
    made = fake.take_deliveries() + fake.advance_to(fake.now.date() + dt.timedelta(days=75))
    sale = next(d for d in made if d.type == "PAYMENT.SALE.COMPLETED").event["resource"]["id"]
    provider.refund(binding, sale, Money.of("10.00", "USD"), lowers_price=True)
    made += fake.take_deliveries()
    return binding, made


def test_paypal_deliveries_with_a_key_missing(paypal: Any) -> None:
    """Every PayPal delivery the fake sends, with any one key dropped, is read or refused with a payplan error."""
    fake, _, provider, signer = paypal
    _, made = _paypal_made(fake, provider, "pp-keys-hooks")
    kinds = {d.type for d in made}
    assert kinds >= {"PAYMENT.SALE.COMPLETED", "BILLING.SUBSCRIPTION.PAYMENT.FAILED",
                     "BILLING.SUBSCRIPTION.SUSPENDED", "PAYMENT.SALE.REFUNDED", "BILLING.SUBSCRIPTION.ACTIVATED"}
    results: dict[str, str] = {}
    for delivery in {d.type: d for d in made}.values():
        event = delivery.event
        assert outcome_of(lambda d=delivery: provider.parse_webhook(d.headers, d.body)) == "ok"
        for path in key_paths(event):
            headers, body = signer.signed_delivery(without(event, path), fake.webhook_id, when=fake.now)
            results[f"{delivery.type} {path}"] = outcome_of(lambda h=headers, b=body: provider.parse_webhook(h, b))
    assert len(results) > 150
    assert crashes(results) == {}


def test_paypal_answers_with_a_key_missing(paypal: Any) -> None:
    """Every PayPal API answer the adapter reads, with any one key dropped, gives a result or a payplan error."""
    fake, dropper, provider, _ = paypal
    counter = iter(range(10_000))
    binding, made = _paypal_made(fake, provider, "pp-keys-answers")
    sale = next(d for d in made if d.type == "PAYMENT.SALE.COMPLETED")
    refund = next(d for d in made if d.type == "PAYMENT.SALE.REFUNDED")
    sale_id = sale.event["resource"]["id"]

    operations: dict[str, Callable[[], object]] = {
        "publish": lambda: provider.publish(reference_plan(f"pp-keys-{next(counter)}"), Payer(email="a@example.com")),
        "sale": lambda: provider.parse_webhook(sale.headers, sale.body),
        "refunded": lambda: provider.parse_webhook(refund.headers, refund.body),
        "refund": lambda: provider.refund(binding, sale_id, Money.of("0.01", "USD"), sequence=next(counter)),
        "cancel": lambda: provider.cancel(binding),
    }
    results: dict[str, str] = {}
    try:
        for name, run in operations.items():
            dropper.seen.clear()
            assert outcome_of(run) == "ok", name
            for route, answer in dict(dropper.seen).items():
                if route[1].startswith("v1/oauth2"):
                    continue
                for path in key_paths(answer, items=2):
                    dropper.route, dropper.path = route, path
                    results[f"{name} {route} {path}"] = outcome_of(run)
                dropper.route, dropper.path = None, ()
    finally:
        dropper.route, dropper.path = None, ()
    assert len(results) > 150
    assert crashes(results) == {}
