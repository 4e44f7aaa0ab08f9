"""Stripe omits keys: every object the Stripe adapter reads, with any one key dropped, is handled.

Stripe leaves out a key it has no value for (a succeeded refund has no
``failure_reason``; an invoice paid by a charge has no
``payment.payment_intent``), and the SDK raises ``AttributeError`` when code
reads a key that is not there. Each case here drops one key (top-level, or
one level down) from every object of one kind the fake Stripe serves, or
from a webhook event the adapter normalizes, and runs the adapter's paths
that read that kind through the real SDK. The only acceptable outcomes are
the path completing, or a :class:`~payplan.PayplanError` that says what was
missing; a raw ``AttributeError``, ``KeyError`` or ``TypeError`` fails.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

stripe = pytest.importorskip("stripe", reason="the stripe extra is not installed")

from payplan import Money, PaymentPlan, PayplanError  # noqa: E402
from payplan.providers import Payer, ProviderEvent  # noqa: E402
from payplan.providers.stripe import StripeMode, StripeProvider  # noqa: E402
from payplan.providers.stripe._webhooks import normalize  # noqa: E402
from payplan.testing import _stripe_objects as templates  # noqa: E402
from payplan.testing import stripe as fake  # noqa: E402
from payplan.testing.server import FakeServer, RecordedRequest, Reply  # noqa: E402
from providers.contract import reference_plan  # noqa: E402

SECRET = "whsec_missing"
_ids = itertools.count(1)


def _paths(obj: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every key, and every key of a nested object, of *obj*."""
    out: list[tuple[str, ...]] = []
    for key, value in obj.items():
        out.append((key,))
        if isinstance(value, dict):
            out += [(key, sub) for sub in value]
    return out


def _drop(obj: Any, path: tuple[str, ...]) -> None:
    node = obj
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _objects_in(body: Any) -> Iterator[dict[str, Any]]:
    """The Stripe objects in a response: the object itself, list items, invoice lines, event objects."""
    if isinstance(body, dict):
        if "object" in body and body.get("object") not in ("list", "search_result"):
            yield body
        for key in ("data", "lines", "setup_intent"):  # a Checkout Session's SetupIntent, expanded
            value = body.get(key)
            if isinstance(value, list):
                for item in value:
                    yield from _objects_in(item)
            elif isinstance(value, dict):
                yield from _objects_in(value)
        if body.get("object") == "event" and isinstance(body.get("data"), dict):
            yield from _objects_in(body["data"].get("object"))


class Dropping:
    """FakeStripe behind a filter that drops one key path from every object of one kind it answers with."""

    def __init__(self, inner: fake.FakeStripe) -> None:
        self.inner = inner
        self.kind: str | None = None
        self.path: tuple[str, ...] = ()
        self.dropped = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        reply = self.inner(request)
        if self.kind is None or reply.status >= 400 or not isinstance(reply.body, dict):
            return reply
        body = copy.deepcopy(reply.body)
        for obj in _objects_in(body):
            if obj.get("object") == self.kind:
                _drop(obj, self.path)
                self.dropped += 1
        return Reply(reply.status, body, reply.headers)


def _fresh() -> fake.FakeStripe:
    return fake.FakeStripe(start=dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC), webhook_secret=SECRET)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Dropping, FakeServer]]:
    dropping = Dropping(_fresh())
    with FakeServer(dropping) as server:
        yield dropping, server


def _provider(server: FakeServer, dropping: Dropping, mode: StripeMode) -> StripeProvider:
    client = stripe.StripeClient("sk_test_missing", base_addresses={"api": server.url}, max_network_retries=0)
    return StripeProvider(client, webhook_secret=SECRET, mode=mode, clock=dropping.inner.clock)


def _small_plan() -> PaymentPlan:
    """A deposit and one installment: the fewest requests that still reach every path."""
    return PaymentPlan.custom(
        f"missing-{next(_ids)}",
        [(dt.date(2026, 12, 1), Money.of("500.00", "USD")), (dt.date(2027, 1, 1), Money.of("500.00", "USD"))],
        booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15),
    )


def _steps(provider: StripeProvider, dropping: Dropping, names: frozenset[str], card: str) -> None:
    """Run the adapter's paths *names* on a fresh plan, each ending done or in a payplan error."""
    inner = dropping.inner
    plan = _small_plan() if provider.mode is StripeMode.INVOICES else reference_plan(f"missing-{next(_ids)}")
    binding = provider.publish(plan, Payer("cus_missing", card))

    def dashboard() -> object:
        paid = [c for c in inner.charges.values() if c["amount_refunded"] < c["amount"]]
        if not paid:
            return None
        inner.dashboard_refund(paid[0]["payment_intent"] or paid[0]["id"], 500)
        refund = next(e for e in reversed(inner.events) if e["type"] == "refund.created")
        return provider.parse_webhook(*fake.signed_delivery(refund, SECRET, timestamp=inner.frozen_time))

    def declined() -> object:
        inner.script("pm_card_visa", "pm_card_chargeDeclined")
        provider.charge(binding, plan, 2)
        failed = next(e for e in reversed(inner.events) if e["type"] == "invoice.payment_failed")
        return provider.parse_webhook(*fake.signed_delivery(failed, SECRET, timestamp=inner.frozen_time))

    def checkout() -> object:
        page = provider.start_checkout(plan, success_url="https://studio.example/back?cs={CHECKOUT_SESSION_ID}",
                                       cancel_url="https://studio.example/agreement")
        inner.complete_checkout(page.session_id)
        return provider.finish_checkout(plan, page.session_id)

    steps: dict[str, Callable[[], object]] = {
        "checkout": checkout,
        "declined": declined,
        "charge": lambda: provider.charge(binding, plan, 1),
        "fee": lambda: provider.charge_fee(binding, plan, f"{plan.id}:fee", Money.of("35.00", "USD")),
        "refund": lambda: provider.refund(binding, binding.id("invoice:1"), Money.of("10.00", "USD")),
        "dashboard": dashboard,
        "reconcile": lambda: provider.reconcile(binding),
        "cancel": lambda: provider.cancel(binding),
    }
    for name, step in steps.items():
        if name in names:
            try:
                step()
            except PayplanError:
                continue


_ALL = frozenset({"declined", "charge", "fee", "refund", "dashboard", "reconcile", "cancel"})
_CHECKOUT = frozenset({"checkout"})

#: Each kind the adapter reads from Stripe's answers: the mode, the paths that read it, the card.
_READERS: dict[str, tuple[StripeMode, frozenset[str], str]] = {
    "invoice": (StripeMode.INVOICES, _ALL, "pm_card_visa"),
    "payment_intent": (StripeMode.INVOICES, frozenset({"declined"}), "pm_card_visa"),
    "line_item": (StripeMode.INVOICES, frozenset({"fee"}), "pm_card_visa"),
    "invoiceitem": (StripeMode.INVOICES, frozenset(), "pm_card_visa"),
    "invoice_payment": (
        StripeMode.INVOICES, frozenset({"declined", "charge", "refund", "dashboard", "reconcile"}), "pm_card_visa"
    ),
    "refund": (StripeMode.INVOICES, frozenset({"charge", "refund", "dashboard", "reconcile"}), "pm_card_visa"),
    "charge": (StripeMode.INVOICES, frozenset({"charge", "dashboard"}), "card_legacy_visa"),
    "event": (StripeMode.INVOICES, frozenset({"charge", "reconcile"}), "pm_card_visa"),
    "product": (StripeMode.AUTO, frozenset({"charge", "cancel"}), "pm_card_visa"),
    "subscription_schedule": (StripeMode.AUTO, frozenset({"charge", "cancel"}), "pm_card_visa"),
    "customer": (StripeMode.INVOICES, _CHECKOUT, "pm_card_visa"),
    "checkout.session": (StripeMode.INVOICES, _CHECKOUT, "pm_card_visa"),
    "setup_intent": (StripeMode.INVOICES, _CHECKOUT, "pm_card_visa"),
}

#: Nested objects whose own keys are dropped one by one in every run; the rest (card details,
#: addresses, tax settings: objects payplan never reads) only in the full drill (PAYPLAN_DRILLS=full).
_NESTED = frozenset({"payment", "parent", "status_transitions", "lines", "metadata", "default_settings", "data",
                     "request", "destination_details", "period", "last_payment_error"})
_FULL = os.environ.get("PAYPLAN_DRILLS") == "full"


def _case_paths(obj: dict[str, Any]) -> list[tuple[str, ...]]:
    return [p for p in _paths(obj) if len(p) == 1 or _FULL or p[0] in _NESTED]


_CASES = [
    (kind, path)
    for kind in _READERS
    for path in _case_paths(
        {**templates.build(kind),
         **({"payment": {"type": None, "payment_intent": None, "charge": None}} if kind == "invoice_payment" else {}),
         **({"failure_reason": None} if kind == "refund" else {})}
    )
]


@pytest.mark.parametrize(("kind", "path"), _CASES, ids=[f"{k}:{'.'.join(p)}" for k, p in _CASES])
def test_api_object_without_one_key_is_handled(served: tuple[Dropping, FakeServer], kind: str, path: tuple[str, ...]) -> None:
    """The adapter's paths over Stripe's answers, *path* dropped from every *kind* object: done, or a payplan error."""
    dropping, server = served
    mode, names, card = _READERS[kind]
    dropping.inner = _fresh()
    provider = _provider(server, dropping, mode)
    dropping.kind, dropping.path, dropping.dropped = kind, path, 0
    try:
        _steps(provider, dropping, names, card)
    except PayplanError:
        pass
    finally:
        dropping.kind = None
    assert dropping.dropped > 0, f"no {kind} object was read: the case tests nothing"


# -- webhooks ------------------------------------------------------------------------------------


def _events() -> list[dict[str, Any]]:
    """The events one clocked run sends: invoices paid and failed, refunds, a schedule cancelled."""
    inner = fake.FakeStripe(start=dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC), webhook_secret=SECRET)
    with FakeServer(inner) as server:
        client = stripe.StripeClient("sk_test_missing", base_addresses={"api": server.url}, max_network_retries=0)
        provider = StripeProvider(client, webhook_secret=SECRET, mode=StripeMode.AUTO, clock=inner.clock)
        plan = reference_plan("missing-events")
        inner.script("pm_card_visa", "pm_card_visa", "pm_card_chargeDeclined")
        binding = provider.publish(plan, Payer("cus_missing", "pm_card_visa"))
        provider.charge(binding, plan, 1)
        provider.refund(binding, binding.id("invoice:1"), Money.of("10.00", "USD"), lowers_price=True)
        inner.advance_to(dt.date(2027, 1, 2))
        provider.cancel(binding)
    wanted = {"invoice.paid", "invoice.payment_failed", "refund.created", "charge.refunded", "subscription_schedule.canceled"}
    found = {e["type"]: e for e in inner.events if e["type"] in wanted}
    assert set(found) == wanted
    return list(found.values())


def _event_paths(event: dict[str, Any]) -> list[tuple[str, ...]]:
    obj = event["data"]["object"]
    return [(k,) for k in event] + [("data", k) for k in event["data"]] + [
        ("data", "object", *p) for p in _paths(obj)
    ]


_EVENTS = _events() if fake is not None else []
_EVENT_CASES = [(e["type"], p) for e in _EVENTS for p in _event_paths(e)]


@pytest.mark.parametrize(("kind", "path"), _EVENT_CASES, ids=[f"{k}:{'.'.join(p)}" for k, p in _EVENT_CASES])
def test_webhook_without_one_key_is_handled(kind: str, path: tuple[str, ...]) -> None:
    """An event with *path* dropped normalizes to events with amounts above zero, or a payplan error."""
    event = copy.deepcopy(next(e for e in _EVENTS if e["type"] == kind))
    _drop(event, path)
    try:
        events = normalize(event, plan_of_payment=lambda _i, _c: ("missing-events", 1),
                           refunds_of_charge=lambda _c: [])
    except PayplanError:
        return
    assert isinstance(events, tuple)
    for e in events:
        assert isinstance(e, ProviderEvent)
        assert e.amount is None or e.amount.minor > 0
