"""A stateful fake of the slice of Stripe's API payplan uses, with a clock, on the shared FakeServer.

It speaks Stripe's wire format (form-encoded bodies with bracket nesting,
JSON answers, ``Idempotency-Key`` replay, ``card_error`` 402s) well enough
for the real ``stripe`` SDK to drive it:

* ``POST /v1/products``, ``/v1/subscription_schedules``, ``.../{id}/cancel``,
  ``GET /v1/subscription_schedules/{id}``;
* ``POST /v1/invoices``, ``/v1/invoiceitems``, ``/v1/invoices/{id}/finalize``,
  ``/pay``, ``/void``, ``GET`` and ``DELETE /v1/invoices/{id}``, ``GET /v1/invoices``
  (by customer, status), ``GET /v1/invoices/search`` (metadata and field clauses);
* ``POST /v1/customers``, ``POST /v1/checkout/sessions`` (setup mode), ``GET`` and ``POST .../{id}/expire``
  (``expand[]=setup_intent``), ``GET /v1/setup_intents/{id}``, and Checkout's hosted page itself
  (``session.url``, on the same server: a form where the client picks a test card of
  :data:`CHECKOUT_CARDS`, then is sent to the ``success_url``);
* ``GET /v1/invoice_payments?invoice=`` (or ``payment[payment_intent]=``), ``GET /v1/charges/{id}``,
  ``POST`` and ``GET /v1/refunds``, ``GET /v1/events``; a refund sends ``refund.created`` and a
  ``charge.refunded`` whose charge lists no refunds, as Stripe does today; ``dashboard_refund`` makes
  one without payplan metadata.

Its time stands still until :meth:`FakeStripe.advance_to` moves it, as a
Stripe test clock's does, and on the way it finalizes and charges invoices
on their dates, bills subscription-schedule periods, retries declines as
Smart Retries do and queues the signed webhooks of all of it
(:meth:`FakeStripe.deliveries`)::

    fake = FakeStripe(start=dt.date(2026, 12, 1), webhook_secret="whsec_test")
    server = fake.serve()
    provider = StripeProvider(stripe.StripeClient("sk_test_x", base_addresses={"api": server.url}),
                              webhook_secret="whsec_test", clock=fake.clock)
    binding = provider.publish(plan, payer)
    for d in fake.advance_to(dt.date(2027, 1, 1)):   # finalized and charged; the webhooks, signed
        receive_webhook(store, provider, d.headers, d.body)

Cards follow Stripe's test payment methods: ``pm_card_visa`` succeeds,
``pm_card_chargeDeclined`` and ``pm_card_chargeDeclinedExpiredCard`` are
declined, ``pm_card_authenticationRequired`` needs authentication
(:meth:`FakeStripe.script` scripts a card's next charges). Objects carry
exactly the keys of Stripe's own example objects (``_stripe_objects``).

It is a fake, not Stripe: it checks what payplan relies on, nothing more.

Webhook payload builders, for testing a site's webhook endpoint without
Stripe: :func:`invoice_object`, :func:`charge_object` and
:func:`refund_object` build objects with exactly the keys of Stripe's own
example objects (as the fake's own objects have them),
:func:`event_object` wraps one in Stripe's event envelope, and
:func:`signed_delivery` returns the ``(headers, body)`` an endpoint receives,
with a valid ``Stripe-Signature``::

    event = event_object("evt_1", "invoice.paid", invoice_object(
        "in_1", amount=50000, currency="usd", status="paid",
        metadata={"payplan_plan_id": "pack-a", "payplan_installment": "1"}), created=now)
    headers, body = signed_delivery(event, "whsec_...", timestamp=now)
    provider.parse_webhook(headers, body)

Nothing here imports ``stripe``; :func:`skeleton` does, when called.

.. versionadded:: 0.2.0
   Moved here from payplan's own test suite.
.. versionchanged:: 0.2.0
   :class:`FakeStripe` keeps time (:meth:`FakeStripe.advance_to`).
.. versionchanged:: 0.3.0
   Customers and Checkout in setup mode, with its hosted page (:meth:`FakeStripe.complete_checkout`).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import html
import itertools
import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .._calendar import add_months
from . import _stripe_objects as _objects
from .server import ClockedFake, Delivery, FakeServer, RecordedRequest, Reply

__all__ = [
    "CHECKOUT_CARDS",
    "FakeStripe",
    "charge_object",
    "charge_refunded",
    "dump",
    "event_object",
    "invoice_event",
    "invoice_object",
    "refund_object",
    "schedule_canceled",
    "sign",
    "signed_delivery",
    "skeleton",
    "stripe_event",
    "unflatten",
]

SIGNATURE_HEADER = "Stripe-Signature"
API_VERSION = "2026-10-28.endive"
"""The API version the ``stripe`` 16.x SDK pins, and so the one its events carry."""

CARDS = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "expired_card", "Your card has expired."),
    "pm_card_authenticationRequired": (
        "authentication_required",
        "authentication_required",
        "This payment requires authentication.",
    ),
}


#: The test cards the fake's Checkout page offers: number -> (label, the refusal at setup or None,
#: the test payment method the saved card then acts as in charges).
CHECKOUT_CARDS: dict[str, tuple[str, str | None, str]] = {
    "4242424242424242": ("Visa 4242 4242 4242 4242: succeeds", None, "pm_card_visa"),
    "4000000000000341": ("Visa 4000 0000 0000 0341: saved, then every charge is declined", None,
                         "pm_card_chargeDeclined"),
    "4000002760003184": ("Visa 4000 0027 6000 3184: every charge needs authentication", None,
                         "pm_card_authenticationRequired"),
    "4000000000000002": ("Visa 4000 0000 0000 0002: declined", "card_declined", "pm_card_chargeDeclined"),
}


def unflatten(pairs: dict[str, str]) -> dict[str, Any]:
    """Turn Stripe's ``a[b][0][c]=v`` form keys back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs.items():
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    result: dict[str, Any] = _listify(root)
    return result


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        items = {k: _listify(v) for k, v in node.items()}
        if items and all(k.isdigit() for k in items):
            return [items[k] for k in sorted(items, key=int)]
        return items
    return node


def stripe_event(event_id: str, kind: str, obj: dict[str, Any], created: int, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Stripe event envelope around *obj* (the fake's own events; see :func:`event_object`)."""
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
        "data": data,
    }


# -- webhook payload builders ------------------------------------------------------

# Fields the SDK models declare that a live object does not carry.
_NOT_SENT = frozenset({"deleted"})


def skeleton(object_name: str) -> dict[str, Any]:
    """Every top-level field the ``stripe`` SDK's model of *object_name* declares, each None.

    *object_name* is Stripe's ``object`` value: ``"invoice"``, ``"charge"``,
    ``"refund"``, ``"event"``, ``"invoice_payment"``, ``"subscription_schedule"``.
    The result carries ``"object": object_name``.

    Raises:
        KeyError: an object name this module does not build.
    """
    import stripe

    models: dict[str, type[Any]] = {
        "charge": stripe.Charge,
        "event": stripe.Event,
        "invoice": stripe.Invoice,
        "invoice_payment": stripe.InvoicePayment,
        "refund": stripe.Refund,
        "subscription_schedule": stripe.SubscriptionSchedule,
    }
    model = models[object_name]
    fields: set[str] = set()
    for cls in model.__mro__:
        if cls.__module__.startswith("stripe._") and cls.__name__ == model.__name__:
            fields |= {f for f in getattr(cls, "__annotations__", {}) if not f.startswith("_") and f.islower()}
    obj: dict[str, Any] = dict.fromkeys(sorted(fields - _NOT_SENT))
    obj["object"] = object_name
    return obj


def invoice_object(
    invoice_id: str,
    *,
    amount: int,
    currency: str,
    status: str = "paid",
    customer: str = "cus_test",
    metadata: Mapping[str, str] | None = None,
    created: int = 1_795_000_000,
    subscription: str | None = None,
) -> dict[str, Any]:
    """A Stripe invoice of one line for *amount* (Stripe units), with exactly the keys Stripe's own example has.

    *status* ``"paid"`` sets ``amount_paid`` to *amount*; any other leaves
    it 0. *subscription* links it to a subscription through
    ``parent.subscription_details``, where Stripe puts that link since API
    2025-03-31.basil.

    .. versionchanged:: 0.2.0
       Exactly the keys of Stripe's example invoice (it had every field the SDK declares).
    """
    paid = amount if status == "paid" else 0
    line = _objects.build(
        "line_item", id=f"il_{invoice_id}", amount=amount, currency=currency, invoice=invoice_id, quantity=1,
        period={"start": created, "end": created}, subtotal=amount, subscription=subscription,
    )
    obj = _objects.build(
        "invoice",
        id=invoice_id, created=created, currency=currency, customer=customer,
        status=status, collection_method="charge_automatically", auto_advance=True,
        billing_reason="subscription_cycle" if subscription else "manual",
        amount_due=amount, amount_paid=paid, amount_remaining=amount - paid,
        subtotal=amount, subtotal_excluding_tax=amount, total=amount,
        total_excluding_tax=amount, ending_balance=0 if status != "draft" else None,
        attempt_count=1 if status == "paid" else 0, attempted=status == "paid",
        metadata=dict(metadata or {}),
        status_transitions={
            "finalized_at": None if status == "draft" else created,
            "marked_uncollectible_at": None, "paid_at": created if status == "paid" else None,
            "voided_at": None,
        },
        lines={"object": "list", "has_more": False, "url": f"/v1/invoices/{invoice_id}/lines", "data": [line]},
        parent=None if subscription is None else {
            "type": "subscription_details", "quote_details": None,
            "subscription_details": {"subscription": subscription, "metadata": dict(metadata or {})},
        },
        period_start=created, period_end=created, effective_at=None if status == "draft" else created,
    )
    return obj


def charge_object(
    charge_id: str,
    *,
    amount: int,
    currency: str,
    payment_intent: str | None = None,
    amount_refunded: int = 0,
    customer: str = "cus_test",
    metadata: Mapping[str, str] | None = None,
    created: int = 1_795_000_000,
) -> dict[str, Any]:
    """A succeeded Stripe charge, with exactly the keys Stripe's own example has, but ``refunds``.

    Since API 2022-11-15 a charge does not carry its ``refunds`` list
    unless it is expanded, so the builder leaves that key out;
    ``amount_refunded`` is the running total of what was refunded.

    .. versionchanged:: 0.2.0
       Exactly the keys of Stripe's example charge (it had every field the SDK declares).
    """
    outcome = {**_objects.build("charge")["outcome"], "network_status": "approved_by_network",
               "seller_message": "Payment complete.", "type": "authorized"}
    return _objects.build(
        "charge",
        id=charge_id, created=created, amount=amount, amount_captured=amount,
        amount_refunded=amount_refunded, refunded=amount_refunded >= amount, captured=True, paid=True,
        currency=currency, customer=customer, status="succeeded",
        payment_intent=payment_intent, metadata=dict(metadata or {}), outcome=outcome,
    )


def refund_object(
    refund_id: str,
    *,
    amount: int,
    currency: str,
    charge: str,
    payment_intent: str | None = None,
    status: str = "succeeded",
    metadata: Mapping[str, str] | None = None,
    created: int = 1_795_000_000,
    reason: str | None = None,
) -> dict[str, Any]:
    """A Stripe refund of *amount* of *charge*, with exactly the keys Stripe's own example has.

    This is the object of the ``refund.created``, ``refund.updated`` and
    ``refund.failed`` events Stripe sends for every refund since API
    2024-10-28.acacia; its *metadata* is what the refund request carried.
    ``failure_reason`` is there only on a failed refund, as Stripe sends it.

    .. versionchanged:: 0.2.0
       Exactly the keys of Stripe's example refund: no ``failure_reason: None``.
    """
    obj = _objects.build(
        "refund",
        id=refund_id, created=created, amount=amount, currency=currency, charge=charge,
        payment_intent=payment_intent, status=status, metadata=dict(metadata or {}), reason=reason,
        destination_details={"card": {"type": "refund"}, "type": "card"},
    )
    if status == "failed":
        obj["failure_reason"] = "lost_or_stolen_card"
    return obj


def event_object(
    event_id: str,
    kind: str,
    obj: Mapping[str, Any],
    *,
    created: int,
    previous_attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Stripe's event envelope (``"object": "event"``) of type *kind* around *obj*, with exactly its example's keys."""
    data: dict[str, Any] = {"object": dict(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = dict(previous_attributes)
    return _objects.build(
        "event", id=event_id, api_version=API_VERSION, created=created, pending_webhooks=1, type=kind, data=data,
    )


def sign(body: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
    """The ``Stripe-Signature`` header Stripe sends with *body*: ``t=<ts>,v1=<HMAC-SHA256 hex>``.

    The signed message is ``"<timestamp>.<body>"`` under the endpoint's
    signing secret (``whsec_...``), as ``stripe.WebhookSignature`` checks it.
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {SIGNATURE_HEADER: f"t={timestamp},v1={mac}"}


def signed_delivery(
    event: Mapping[str, Any], secret: str, *, timestamp: int | None = None
) -> tuple[dict[str, str], bytes]:
    """The ``(headers, body)`` a webhook endpoint receives for *event*.

    *timestamp* defaults to the event's ``created`` time; pass the time the
    endpoint's clock reads, or an old one to test a stale delivery.
    """
    body = dump(event)
    when = int(event["created"]) if timestamp is None else timestamp
    headers = {**sign(body, secret, timestamp=when), "Content-Type": "application/json; charset=utf-8"}
    return headers, body


def invoice_event(
    event_id: str, kind: str, invoice: dict[str, Any], created: int
) -> dict[str, Any]:
    """An ``invoice.*`` event for *invoice*."""
    return stripe_event(event_id, kind, dict(invoice), created)


def charge_refunded(
    event_id: str, charge: dict[str, Any], refund: dict[str, Any], previous_refunded: int, created: int
) -> dict[str, Any]:
    """A ``charge.refunded`` event whose charge lists *refund*."""
    obj = {**charge, "refunds": {"object": "list", "data": [refund], "has_more": False}}
    return stripe_event(event_id, "charge.refunded", obj, created, {"amount_refunded": previous_refunded})


def schedule_canceled(event_id: str, schedule: dict[str, Any], created: int) -> dict[str, Any]:
    """A ``subscription_schedule.canceled`` event."""
    return stripe_event(event_id, "subscription_schedule.canceled", dict(schedule), created)


def _error(status: int, kind: str, message: str, **extra: Any) -> Reply:
    return Reply.json({"error": {"type": kind, "message": message, **extra}}, status)


def _page(title: str, body: str, status: int = 200) -> Reply:
    """An HTML page of the fake's Checkout (no script, no outside resource)."""
    text = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return Reply(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})


class FakeStripe(ClockedFake):
    """Stripe's objects in memory behind a clock you move, as Stripe's test clocks do.

    The fake's time stands still (``frozen_time``) until :meth:`advance_to`
    moves it; on the way it does what Stripe does on those days, in time
    order:

    * a draft invoice with ``auto_advance`` is finalized at its
      ``automatically_finalizes_at`` (or an hour after it was created when it
      has none), and an hour after finalization Stripe attempts the payment
      with the invoice's ``default_payment_method``
      (``collection_method="charge_automatically"``);
    * a subscription schedule starts on its ``start_date``; every billing
      period of its phase gets an invoice for the phase's price (created at
      the period's start, finalized and charged an hour later), and after its
      last period the schedule completes (``end_behavior="cancel"`` cancels
      the subscription);
    * a declined payment is retried the way Stripe's Smart Retries do with
      their default policy (up to :attr:`retry_days` after the first
      failure: 4 retries within 21 days; Stripe picks the exact times, the
      fake takes these days); an expired card and a payment that needs
      authentication are not retried (a new card, or the customer, must
      act), as Stripe leaves hard declines and ``requires_action`` alone.
      After the last retry the invoice stays open and a schedule goes on
      billing its later periods: the fake plays the account setting that
      leaves a past-due subscription as it is (Stripe's dashboard can
      instead cancel it or mark it unpaid).

    Cards follow Stripe's test payment methods: ``pm_card_visa`` succeeds,
    ``pm_card_chargeDeclined`` is declined (``card_declined``),
    ``pm_card_chargeDeclinedExpiredCard`` is declined (``expired_card``),
    ``pm_card_authenticationRequired`` needs authentication; a legacy card
    or source (``card_...``, ``src_...``) pays by a charge without a
    PaymentIntent. :meth:`script` makes a card's next charges go as you
    list them, as :meth:`SandboxProvider.script
    <payplan.testing.SandboxProvider.script>` does.

    Every event Stripe would send is kept for ``GET /v1/events`` and queued
    as a webhook: :meth:`advance_to` returns them (or hands each to its
    *deliver* as it happens), :meth:`take_deliveries` and :meth:`deliver`
    take those queued by calls, :meth:`deliveries` and
    :meth:`pending_webhooks` look without taking. Each is a
    :class:`~payplan.testing.server.Delivery` signed with
    :attr:`webhook_secret` at the fake's time, so the adapter must use the
    fake's clock to accept it::

        fake = FakeStripe(start=dt.date(2026, 12, 1), webhook_secret="whsec_test")
        server = fake.serve()
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url})
        provider = StripeProvider(client, webhook_secret="whsec_test", clock=fake.clock)
        binding = provider.publish(plan, Payer("cus_1", "pm_card_visa"))
        for d in fake.advance_to(dt.date(2027, 1, 1)):   # finalizes and charges what fell due
            receive_webhook(store, provider, d.headers, d.body)

    Checkout in setup mode collects a card as Stripe's does: the session's
    ``url`` is a page of the fake (on 127.0.0.1) where the client picks a
    test card (:data:`CHECKOUT_CARDS`; or :meth:`complete_checkout` without
    a browser); the session completes, its SetupIntent succeeds with a new
    ``pm_...`` attached to the customer, ``checkout.session.completed`` is
    queued and the client is sent to the ``success_url``. That payment
    method is charged as the test card it was made from, and :meth:`script`
    scripts it like any other; it is refused for another customer's
    invoices, as Stripe refuses it. A session not completed expires 24 hours
    after it was made (``checkout.session.expired``), on the fake's clock.

    Idempotency keys are pruned after 24 hours of the fake's time, as
    Stripe prunes them: a key reused after that creates again. Invoice
    search (``GET /v1/invoices/search``) sees an invoice a minute after it
    was created, as Stripe's search lags its writes.

    It is a fake, not Stripe: it checks what payplan relies on, nothing more.

    Args:
        start: The fake's first time: a Unix time, a datetime, or a date
            (its midnight UTC).
        webhook_secret: The endpoint secret deliveries are signed with.

    .. versionchanged:: 0.2.0
       A clock (:meth:`advance_to`), scheduled finalization and charging,
       subscription-schedule periods, Smart Retries, card scripts, webhook
       deliveries, key pruning and invoice search; objects carry exactly
       the keys of Stripe's own example objects.
    """

    #: Days after an invoice's first failed payment on which Stripe retries it (Smart Retries' default: 4 in 21 days).
    retry_days: tuple[int, ...] = (3, 7, 14, 21)
    #: How long Stripe keeps an idempotency key (seconds).
    key_lifetime = 24 * 3600
    #: How long an object takes to show in Stripe's search (seconds).
    search_lag = 60

    def __init__(
        self, start: int | dt.date | dt.datetime = 1_795_000_000, *, webhook_secret: str = "whsec_fake_stripe"
    ) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.charges: dict[str, dict[str, Any]] = {}  # by payment intent, or by charge id when there is none
        self.webhook_secret = webhook_secret
        self._replay: dict[str, tuple[str, Reply, int]] = {}
        self._ids = itertools.count(1)
        self._time = _unix(start)
        self._lock = threading.RLock()
        self._outbox: list[dict[str, Any]] = []
        self._scripts: dict[str, list[str]] = {}
        self._due: list[tuple[int, int, str, str]] = []  # (when, order, action, object id)
        self._order = itertools.count()
        self._prices: dict[str, dict[str, Any]] = {}
        self._first_failure: dict[str, int] = {}  # invoice id -> its first failed automatic attempt
        self._intents: dict[str, str] = {}  # invoice id -> its PaymentIntent
        self._setup_metadata: dict[str, dict[str, str]] = {}  # Checkout Session -> its SetupIntent's metadata
        self._acts_as: dict[str, str] = {}  # payment method made on the Checkout page -> the test card it behaves as
        self.created = 0

    def serve(self) -> FakeServer:
        """A started FakeServer answering with this fake."""
        return FakeServer(self).start()

    # -- the clock --------------------------------------------------------------------

    @property
    def frozen_time(self) -> int:
        """The fake's current Unix time (Stripe's test clock calls it ``frozen_time``)."""
        return self._time

    @property
    def now(self) -> dt.datetime:
        """The fake's current time (UTC)."""
        return dt.datetime.fromtimestamp(self._time, dt.UTC)

    def clock(self) -> float:
        """The fake's time as ``time.time()`` gives it: pass ``clock=fake.clock`` to ``StripeProvider``."""
        return float(self._time)

    def advance_to(
        self, when: int | dt.date | dt.datetime, *, deliver: Callable[[Delivery], object] | None = None
    ) -> list[Delivery]:
        """Move the clock to *when*, doing on the way what Stripe does, in time order.

        A date means the last second of that day (UTC), so everything Stripe
        does on that day is done; a datetime or a Unix time is that moment.
        Returns (and takes) the queued deliveries, oldest first, signed at
        the new time: those of calls made since the last advance and those
        of the days passed.

        Args:
            when: Where the clock goes.
            deliver: Called with each delivery as it happens, signed at its
                time, the clock standing there, instead of returning it. It
                may call the fake (the adapter reads Stripe to trace a
                refund).

        Raises:
            ValueError: *when* is before the fake's current time.
        """
        target = _unix(when, end_of_day=True)
        with self._lock:
            if target < self._time:
                raise ValueError(
                    f"expected a time on or after {self._time} ({_iso(self._time)}), got {target} ({_iso(target)})"
                )

        def step() -> bool:
            self._due.sort()
            if not self._due or self._due[0][0] > target:
                self._time = max(self._time, target)
                return False
            when_due, _, action, ident = self._due.pop(0)
            self._time = max(self._time, when_due)
            self._run(action, ident, when_due)
            return True

        return self._walk(step, deliver)

    def advance(self, seconds: int | dt.timedelta, *, deliver: Callable[[Delivery], object] | None = None) -> list[Delivery]:
        """Move the clock forward by *seconds* (see :meth:`advance_to`)."""
        step = int(seconds.total_seconds()) if isinstance(seconds, dt.timedelta) else int(seconds)
        return self.advance_to(self._time + step, deliver=deliver)

    # -- cards and webhooks -------------------------------------------------------------

    def script(self, payment_method: str, *outcomes: str | Any) -> None:
        """Make the next charges on *payment_method* go as *outcomes*, in order.

        Each outcome is one of the test payment method ids (``"pm_card_visa"``,
        ``"pm_card_chargeDeclined"``, ``"pm_card_chargeDeclinedExpiredCard"``,
        ``"pm_card_authenticationRequired"``) or a
        :class:`~payplan.testing.SandboxCard`. Scheduled (automatic) and
        on-demand (``invoices.pay``) charges both take the next outcome. Once
        the script runs out the card behaves as its own id says (any other
        id succeeds).
        """
        with self._lock:
            self._scripts.setdefault(payment_method, []).extend(str(getattr(o, "value", o)) for o in outcomes)

    def pending_webhooks(self) -> list[dict[str, Any]]:
        """The events queued for delivery, oldest first (a copy; nothing is taken)."""
        with self._lock:
            return copy.deepcopy(self._outbox)

    def deliveries(self) -> list[Delivery]:
        """The queued deliveries not taken yet, oldest first, signed now (a copy; nothing is taken)."""
        with self._lock:
            return [self._signed(e) for e in self._outbox]

    def take_deliveries(self) -> list[Delivery]:
        """Every queued delivery, oldest first, signed now (Stripe signs each attempt when it sends it), emptying the queue."""
        with self._lock:
            taken, self._outbox = self._outbox, []
            return [self._signed(e) for e in taken]

    def deliver(self, send: Callable[[Delivery], T]) -> list[T]:
        """Take every queued delivery and pass each to *send*, oldest first; return its answers.

        ``fake.deliver(lambda d: receive_webhook(store, provider, d.headers, d.body))``
        """
        return [send(delivery) for delivery in self.take_deliveries()]

    def _signed(self, event: Mapping[str, Any]) -> Delivery:
        headers, body = signed_delivery(event, self.webhook_secret, timestamp=self._time)
        return Delivery(headers, body)

    # -- helpers ------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def _make(self, prefix: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj["id"] = self.new_id(prefix)
        if "created" in obj:
            obj["created"] = self._time
        self.objects[obj["id"]] = obj
        self.created += 1
        return obj

    def _emit(self, kind: str, obj: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> None:
        data: dict[str, Any] = {"object": copy.deepcopy(dict(obj))}
        if previous is not None:
            data["previous_attributes"] = dict(previous)
        event = _objects.build(
            "event", id=self.new_id("evt"), api_version=API_VERSION, created=self._time, pending_webhooks=1,
            type=kind, data=data,
        )
        self.events.append(event)
        self._outbox.append(event)

    def _at(self, when: int, action: str, ident: str) -> None:
        self._due.append((when, next(self._order), action, ident))

    def _card(self, payment_method: str) -> str:
        queue = self._scripts.get(payment_method)
        return queue.pop(0) if queue else self._acts_as.get(payment_method, payment_method)

    # -- dispatch -----------------------------------------------------------------------

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            key = request.header("Idempotency-Key")
            if request.method == "POST" and key:
                seen = self._replay.get(key)
                if seen is not None and self._time - seen[2] > self.key_lifetime:
                    del self._replay[key]  # Stripe prunes keys after about 24 hours
                    seen = None
                if seen is not None:
                    body, reply, _ = seen
                    if body != request.body.decode():
                        return _error(400, "idempotency_error", f"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}'.")
                    return Reply(reply.status, copy.deepcopy(reply.body), {**reply.headers, "Idempotent-Replayed": "true"})
            reply = self._route(request)
            if reply.status < 500:
                reply = Reply(reply.status, copy.deepcopy(reply.body), reply.headers)
                if request.method == "POST" and key:
                    self._replay[key] = (request.body.decode(), reply, self._time)
            return reply

    def _route(self, r: RecordedRequest) -> Reply:
        params = unflatten(r.form()) if r.method == "POST" else unflatten(r.query_params())
        path = r.path
        m = r.method
        if m == "POST" and path == "/v1/products":
            return Reply.json(self._make("prod", _objects.build(
                "product", name=params.get("name"), metadata=params.get("metadata", {}), updated=self._time,
                created=0,
            )))
        if m == "POST" and path == "/v1/subscription_schedules":
            refused = self._not_attached((params.get("default_settings") or {}).get("default_payment_method"),
                                         params.get("customer"))
            return refused or self._create_schedule(params)
        if m == "POST" and path == "/v1/invoices":
            if not params.get("customer"):
                return _error(400, "invalid_request_error", "Missing required param: customer.", param="customer")
            refused = self._not_attached(params.get("default_payment_method"), params["customer"])
            return refused or Reply.json(self._create_invoice(params))
        if m == "POST" and path == "/v1/customers":
            return Reply.json(self._create_customer(params))
        if m == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(params, r.header("Host") or "127.0.0.1")
        api = re.fullmatch(r"/v1/(checkout/sessions|setup_intents|customers)/([A-Za-z0-9_]+)(?:/(expire))?", path)
        if api:
            return self._checkout_api(m, api.group(1), api.group(2), api.group(3), params)
        page = re.fullmatch(r"/c/pay/([A-Za-z0-9_]+)", path)
        if page:
            return self._checkout_page(m, page.group(1), params)
        if m == "GET" and path == "/v1/invoices":
            found = [
                o for o in self.objects.values()
                if o.get("object") == "invoice" and all(params.get(k) in (None, o.get(k)) for k in ("customer", "status"))
            ]
            return Reply.json({"object": "list", "url": path, "data": found[::-1], "has_more": False})
        if m == "GET" and path == "/v1/invoices/search":
            return self._search(str(params.get("query", "")), path)
        if m == "POST" and path == "/v1/invoiceitems":
            return self._invoice_item(params)
        if m == "GET" and path == "/v1/invoice_payments":
            paid_by = params.get("payment") or {}
            pays = [
                o for o in self.objects.values()
                if o.get("object") == "invoice_payment"
                and (params.get("invoice") is None or o["invoice"] == params.get("invoice"))
                and (params.get("status") is None or o["status"] == params.get("status"))
                and all(o["payment"].get(k) == paid_by[k] for k in ("type", "payment_intent", "charge") if k in paid_by)
            ]
            return Reply.json({"object": "list", "url": path, "data": pays, "has_more": False})
        if m == "GET" and path == "/v1/refunds":
            refunds = [
                o for o in self.objects.values()
                if o.get("object") == "refund"
                and all(params.get(k) in (None, o.get(k)) for k in ("payment_intent", "charge"))
            ]
            return Reply.json({"object": "list", "url": path, "data": refunds[::-1], "has_more": False})
        if m == "POST" and path == "/v1/refunds":
            return self._refund(params)
        if m == "GET" and path == "/v1/events":
            kinds = params.get("types")
            kinds = kinds if isinstance(kinds, list) else ([kinds] if kinds else None)
            data = [e for e in reversed(self.events) if kinds is None or e["type"] in kinds]
            return Reply.json({"object": "list", "url": path, "data": data, "has_more": False})
        if m == "GET" and path.startswith("/v1/payment_intents/"):
            ident = path.rsplit("/", 1)[1]
            intent = self.objects.get(ident)
            if intent is None or intent.get("object") != "payment_intent":
                return _error(404, "invalid_request_error", f"No such payment_intent: '{ident}'", code="resource_missing")
            return Reply.json(intent)
        if m == "GET" and path.startswith("/v1/charges/"):
            ident = path.rsplit("/", 1)[1]
            charge = self.objects.get(ident)
            if charge is None or charge.get("object") != "charge":
                return _error(404, "invalid_request_error", f"No such charge: '{ident}'", code="resource_missing")
            return Reply.json(charge)
        match = re.fullmatch(r"/v1/(invoices|subscription_schedules)/([A-Za-z0-9_]+)(?:/(\w+))?", path)
        if match:
            what, ident, action = match.groups()
            obj = self.objects.get(ident)
            if obj is None or obj.get("object") != what[:-1]:
                return _error(404, "invalid_request_error", f"No such {what[:-1]}: '{ident}'", code="resource_missing")
            if what == "subscription_schedules":
                return self._schedule(m, obj, action)
            return self._invoice(m, obj, action, params)
        return _error(404, "invalid_request_error", f"Unrecognized request URL ({m}: {path}).")


    # -- customers and Checkout in setup mode ---------------------------------------------------

    def _not_attached(self, pm: Any, customer: Any) -> Reply | None:
        """Stripe's refusal of a payment method made on the Checkout page that is not the customer's (else None).

        The test payment methods (``pm_card_visa``...) stand for new cards and
        are taken for any customer, as before.
        """
        made = self.objects.get(str(pm)) if pm else None
        if made is None or made.get("object") != "payment_method" or made["customer"] == customer:
            return None
        return _error(400, "invalid_request_error",
                      f"The customer does not have a payment method with the ID {pm}. "
                      "The payment method must be attached to the customer.", code="resource_missing")

    def _create_customer(self, params: Mapping[str, Any]) -> dict[str, Any]:
        customer = self._make("cus", _objects.build(
            "customer", email=params.get("email"), name=params.get("name"), description=params.get("description"),
            metadata=dict(params.get("metadata") or {}), created=0,
        ))
        customer["invoice_prefix"] = hashlib.sha256(customer["id"].encode()).hexdigest()[:8].upper()
        self._emit("customer.created", customer)
        return customer

    def _create_session(self, params: Mapping[str, Any], host: str) -> Reply:
        """``POST /v1/checkout/sessions``: setup mode only (the mode payplan uses to collect a card)."""
        if params.get("mode") != "setup":
            return _error(400, "invalid_request_error",
                          f"The fake implements Checkout in mode 'setup' only, got {params.get('mode')!r}.", param="mode")
        allowed = params.get("allowed_payment_method_types")
        allowed = [allowed] if isinstance(allowed, str) else list(allowed or [])
        if not params.get("currency") and not allowed:
            return _error(400, "invalid_request_error",
                          "currency is required in setup mode when allowed_payment_method_types is not set.",
                          param="currency")
        if not params.get("success_url"):
            return _error(400, "invalid_request_error", "Missing required param: success_url.", param="success_url")
        customer = params.get("customer")
        if customer and params.get("customer_email"):
            return _error(400, "invalid_request_error",
                          "You may only specify one of these parameters: customer, customer_email.")
        if customer and (self.objects.get(customer) or {}).get("object") != "customer":
            return _error(400, "invalid_request_error", f"No such customer: '{customer}'", code="resource_missing",
                          param="customer")
        expires = int(params.get("expires_at") or self._time + 24 * 3600)
        if not self._time + 30 * 60 <= expires <= self._time + 24 * 3600:
            return _error(400, "invalid_request_error",
                          "The `expires_at` timestamp must be between 30 minutes and 24 hours from creation.",
                          param="expires_at")
        session = self._make("cs_test", _objects.build(
            "checkout.session", created=0, mode="setup", currency=params.get("currency"), customer=customer,
            customer_email=params.get("customer_email"), client_reference_id=params.get("client_reference_id"),
            metadata=dict(params.get("metadata") or {}), success_url=params["success_url"],
            cancel_url=params.get("cancel_url"), expires_at=expires,
            payment_method_types=[k for k in allowed if k == "card"] or ["card"],  # the fake's page takes cards
        ))
        session["url"] = f"http://{host}/c/pay/{session['id']}"
        self._setup_metadata[session["id"]] = dict((params.get("setup_intent_data") or {}).get("metadata") or {})
        self._at(expires, "expire_session", session["id"])
        return Reply.json(session)

    def _expire(self, session: dict[str, Any]) -> None:
        session.update(status="expired", url=None)
        self._emit("checkout.session.expired", session)

    def _checkout_api(self, method: str, what: str, ident: str, action: str | None, params: Mapping[str, Any]) -> Reply:
        kind = {"checkout/sessions": "checkout.session", "setup_intents": "setup_intent", "customers": "customer"}[what]
        obj = self.objects.get(ident)
        if obj is None or obj.get("object") != kind:
            return _error(404, "invalid_request_error", f"No such {kind.split('.')[-1]}: '{ident}'", code="resource_missing")
        if method == "POST" and action == "expire" and kind == "checkout.session":
            if obj["status"] != "open":
                return _error(400, "invalid_request_error",
                              'Only Checkout Sessions with a status in ["open"] can be expired.')
            self._expire(obj)
            return Reply.json(obj)
        if method != "GET" or action is not None:
            return _error(404, "invalid_request_error", f"Unrecognized request URL ({method}: /v1/{what}/{ident}).")
        expand = params.get("expand") or []
        expand = [expand] if isinstance(expand, str) else list(expand)
        answer = copy.deepcopy(obj)
        for path in expand:  # each step an id Stripe replaces by its object; a null link stays null
            node: Any = answer
            for part in path.split("."):
                ref = node.get(part, ...) if isinstance(node, dict) else ...
                if isinstance(ref, str) and isinstance(self.objects.get(ref), dict):
                    node[part] = copy.deepcopy(self.objects[ref])
                elif ref is ... or (ref is not None and not isinstance(ref, dict)):
                    return _error(400, "invalid_request_error", f"This property cannot be expanded ({path}).")
                node = node[part]
                if node is None:
                    break
        return Reply.json(answer)

    def _checkout_page(self, method: str, ident: str, params: Mapping[str, Any]) -> Reply:
        """Checkout's hosted page for session *ident*: pick a test card (POST completes the session)."""
        session = self.objects.get(ident)
        if session is None or session.get("object") != "checkout.session":
            return _page("Not found", "<p>There is no such Checkout Session.</p>", 404)
        if session["status"] == "expired":
            return _page("Expired", '<p id="checkout-expired">This Checkout Session has expired.</p>', 410)
        if session["status"] == "complete":
            return _page("Complete", '<p id="checkout-complete">This Checkout Session is already complete.</p>')
        error = ""
        if method == "POST":
            number = str(params.get("card", ""))
            if number not in CHECKOUT_CARDS:
                error = "Please pick one of the test cards."
            else:
                declined = self._complete(session, number)
                if declined is None:
                    target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
                    return Reply(303, b"", {"Location": target})
                error = declined
        customer = self.objects.get(str(session["customer"])) or {}
        choices = "".join(
            f'<label><input type="radio" name="card" value="{n}"{" checked" if n == "4242424242424242" else ""}> '
            f"{html.escape(label)}</label><br>"
            for n, (label, _, _) in CHECKOUT_CARDS.items()
        )
        cancel = session.get("cancel_url")
        body = (
            f"<p>Save a card for {html.escape(str(customer.get('email') or session.get('customer_email') or 'later payments'))}"
            f" (fake Stripe Checkout, setup mode)</p>"
            + (f'<p id="checkout-error" role="alert">{html.escape(error)}</p>' if error else "")
            + f'<form method="post" id="checkout-form">{choices}<button type="submit" id="checkout-submit">Save card</button></form>'
            + (f'<p><a id="checkout-cancel" href="{html.escape(str(cancel))}">Back</a></p>' if cancel else "")
        )
        return _page("Save your card", body, 402 if error else 200)

    def _complete(self, session: dict[str, Any], number: str) -> str | None:
        """The client saved the test card *number* on the page: the decline message, or None once complete."""
        _, refusal, acts_as = CHECKOUT_CARDS[number]
        customer = session["customer"]
        intent = self.objects.get(str(session["setup_intent"])) if session["setup_intent"] else None
        if intent is None:
            intent = self._make("seti", _objects.build("setup_intent", customer=customer, created=0, usage="off_session",
                                                       metadata=self._setup_metadata.get(session["id"], {})))
            intent["client_secret"] = f"{intent['id']}_secret_fake"
            session["setup_intent"] = intent["id"]
            self._emit("setup_intent.created", intent)
        if refusal is not None:
            intent.update(status="requires_payment_method", last_setup_error={
                "type": "card_error", "code": refusal, "decline_code": "generic_decline",
                "message": "Your card was declined."})
            self._emit("setup_intent.setup_failed", intent)
            return "Your card was declined."
        owner = self.objects.get(str(customer)) or {}
        card = copy.deepcopy(_objects.PAYMENT_METHOD["card"])
        card.update(last4=number[-4:], fingerprint=hashlib.sha256(number.encode()).hexdigest()[:16])
        pm = self._make("pm", _objects.build(
            "payment_method", customer=customer, created=0, card=card,
            billing_details={**_objects.PAYMENT_METHOD["billing_details"], "email": owner.get("email")},
        ))
        self._acts_as[pm["id"]] = acts_as
        intent.update(status="succeeded", payment_method=pm["id"], last_setup_error=None)
        details = _objects.build("customer_details", email=owner.get("email") or session["customer_email"],
                                 name=owner.get("name"))
        session.update(status="complete", url=None, customer_details=details)
        if customer:
            self._emit("payment_method.attached", pm)
        self._emit("setup_intent.succeeded", intent)
        self._emit("checkout.session.completed", session)
        return None

    # -- invoices -------------------------------------------------------------------------

    def _create_invoice(self, params: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
        auto = str(params.get("auto_advance", "false")) == "true"  # Stripe's default for an API invoice: false
        finalizes = int(params["automatically_finalizes_at"]) if "automatically_finalizes_at" in params else None
        invoice = self._make("in", _objects.build(
            "invoice", customer=params["customer"], currency=params.get("currency", "usd"),
            metadata=dict(params.get("metadata") or {}), description=params.get("description"),
            default_payment_method=params.get("default_payment_method"),
            collection_method=params.get("collection_method", "charge_automatically"),
            auto_advance=auto, automatically_finalizes_at=finalizes, created=0,
            period_start=self._time, period_end=self._time, **fields,
        ))
        invoice["lines"]["url"] = f"/v1/invoices/{invoice['id']}/lines"
        if auto:
            self._at(finalizes if finalizes is not None else self._time + 3600, "finalize", invoice["id"])
        self._emit("invoice.created", invoice)
        return invoice

    def _invoice_item(self, params: Mapping[str, Any]) -> Reply:
        invoice = self.objects.get(str(params.get("invoice", "")))
        if invoice is None or invoice.get("object") != "invoice" or invoice["status"] != "draft":
            return _error(400, "invalid_request_error", "No such draft invoice.", param="invoice")
        amount = int(params["amount"])
        item = self._make("ii", _objects.build(
            "invoiceitem", invoice=invoice["id"], amount=amount, currency=params.get("currency"),
            customer=params.get("customer"), description=params.get("description"), quantity=1,
            metadata=dict(params.get("metadata") or {}), date=self._time, net_amount=amount,
            period={"start": self._time, "end": self._time},
        ))
        self._add_line(invoice, amount, item["metadata"], item["description"])
        return Reply.json(item)

    def _add_line(self, invoice: dict[str, Any], amount: int, metadata: Mapping[str, str], description: Any,
                  subscription: str | None = None) -> None:
        line = _objects.build(
            "line_item", id=self.new_id("il"), amount=amount, currency=invoice["currency"], invoice=invoice["id"],
            metadata=dict(metadata), description=description, quantity=1, subtotal=amount,
            period={"start": invoice["period_start"], "end": invoice["period_end"]}, subscription=subscription,
        )
        invoice["lines"]["data"].append(line)
        for key in ("amount_due", "amount_remaining", "subtotal", "subtotal_excluding_tax", "total", "total_excluding_tax"):
            invoice[key] += amount

    def _search(self, query: str, path: str) -> Reply:
        """Stripe's search query language, the part payplan uses: ``field:'value'`` clauses joined by ``AND``."""
        terms = []
        for clause in query.split(" AND "):
            term = re.fullmatch(r"\s*(\w+(?:\['[^']*'\])?):'((?:[^'\\]|\\.)*)'\s*", clause)
            if term is None:
                return _error(400, "invalid_request_error", f"Invalid search query: {query!r}.", param="query")
            terms.append((term.group(1), re.sub(r"\\(.)", r"\1", term.group(2))))
        visible = self._time - self.search_lag

        def matches(invoice: dict[str, Any]) -> bool:
            for field, value in terms:
                meta = re.fullmatch(r"metadata\['([^']*)'\]", field)
                got = invoice["metadata"].get(meta.group(1)) if meta else invoice.get(field)
                if got != value:
                    return False
            return True

        found = [
            o for o in self.objects.values()
            if o.get("object") == "invoice" and o["created"] <= visible and matches(o)
        ]
        return Reply.json({"object": "search_result", "url": path, "data": found[::-1], "has_more": False,
                           "next_page": None})

    def _invoice(self, method: str, invoice: dict[str, Any], action: str | None, params: dict[str, Any]) -> Reply:
        status = invoice["status"]
        if method == "GET" and action is None:
            return Reply.json(invoice)
        if method == "DELETE" and action is None:
            if status != "draft":
                return _error(400, "invalid_request_error", "You can only delete draft invoices.")
            del self.objects[invoice["id"]]
            self._emit("invoice.deleted", invoice)
            return Reply.json({"id": invoice["id"], "object": "invoice", "deleted": True})
        if method == "POST" and action == "finalize":
            if status != "draft":
                return _error(400, "invalid_request_error", "This invoice is already finalized.")
            if "auto_advance" in params:
                invoice["auto_advance"] = str(params["auto_advance"]) == "true"
            self._finalize(invoice)
            return Reply.json(invoice)
        if method == "POST" and action == "void":
            if status not in ("open", "uncollectible"):
                return _error(400, "invalid_request_error", f"You cannot void a {status} invoice.")
            invoice.update(status="void", next_payment_attempt=None)
            invoice["status_transitions"]["voided_at"] = self._time
            self._emit("invoice.voided", invoice)
            return Reply.json(invoice)
        if method == "POST" and action == "pay":
            if status != "open":
                return _error(400, "invalid_request_error", f"You can only pay an open invoice, this one is {status}.")
            pm = params.get("payment_method") or self._payment_method_of(invoice)
            if not pm:  # the fake's customers have no default payment method of their own
                return _error(400, "invalid_request_error",
                              "The customer has no attached payment source or default payment method.",
                              code="invoice_no_payment_method")
            error = self._attempt(invoice, str(pm), automatic=False)
            if error is not None:
                code, decline, message = error
                return _error(402, "card_error", message, code=code, decline_code=decline)
            return Reply.json(invoice)
        return _error(404, "invalid_request_error", "Unrecognized invoice request.")

    def _finalize(self, invoice: dict[str, Any]) -> None:
        invoice["status"] = "open"
        invoice["status_transitions"]["finalized_at"] = self._time
        invoice["effective_at"] = self._time
        invoice["ending_balance"] = 0
        invoice["number"] = f"FAKE-{invoice['id'][-6:]}"
        self._emit("invoice.finalized", invoice)
        if invoice["amount_due"] == 0:
            self._mark_paid(invoice)
        elif invoice["auto_advance"] and invoice["collection_method"] == "charge_automatically":
            invoice["next_payment_attempt"] = self._time + 3600
            self._at(self._time + 3600, "attempt", invoice["id"])

    def _run(self, action: str, ident: str, when: int) -> None:
        if action == "expire_session":
            session = self.objects[ident]
            if session["status"] == "open":
                self._expire(session)
            return
        if action.startswith("period:"):
            self._period(ident, int(action.split(":", 1)[1]))
            return
        if action == "schedule_end":
            self._schedule_end(ident)
            return
        invoice = self.objects.get(ident)
        if invoice is None:  # a draft deleted since
            return
        if action == "finalize" and invoice["status"] == "draft" and invoice["auto_advance"]:
            self._finalize(invoice)
        elif action == "attempt" and invoice["status"] == "open" and invoice["next_payment_attempt"] == when:
            # Only the attempt still planned: paying the invoice through the API since cleared it.
            self._attempt(invoice, self._payment_method_of(invoice), automatic=True)

    def _payment_method_of(self, invoice: dict[str, Any]) -> str | None:
        pm = invoice.get("default_payment_method")
        if pm:
            return str(pm)
        parent = invoice.get("parent") or {}
        schedule = self._schedule_of_subscription((parent.get("subscription_details") or {}).get("subscription"))
        if schedule is not None and schedule["default_settings"].get("default_payment_method"):
            return str(schedule["default_settings"]["default_payment_method"])
        return None

    def _schedule_of_subscription(self, subscription: str | None) -> dict[str, Any] | None:
        if subscription is None:
            return None
        return next(
            (o for o in self.objects.values() if o.get("object") == "subscription_schedule" and o["subscription"] == subscription),
            None,
        )

    def _attempt(self, invoice: dict[str, Any], pm: str | None, *, automatic: bool) -> tuple[str, str, str] | None:
        """One payment attempt on an open invoice; the card error, or None when it was paid.

        Every attempt of an invoice goes through the same PaymentIntent and
        its default invoice payment (``open`` until paid), as Stripe's do; a
        declined attempt leaves a failed charge and the decline on the
        PaymentIntent's ``last_payment_error``. A legacy card or source
        (``card_...``, ``src_...``) pays by a charge alone.
        """
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        invoice["next_payment_attempt"] = None
        outcome = self._card(pm) if pm else "no_payment_method"
        legacy = bool(pm) and str(pm).startswith(("card_", "src_"))
        intent = None if legacy or not pm else self._intent(invoice)
        if outcome not in CARDS and outcome != "no_payment_method":
            self._pay(invoice, str(pm or "pm_card_visa"), intent)
            return None
        code, decline, message = CARDS.get(
            outcome, ("invoice_no_payment_method", "invoice_no_payment_method", "The invoice has no payment method.")
        )
        charge = None
        if pm and code != "authentication_required":  # an issuer decline leaves a failed charge
            charge = self._make("ch", _objects.build(
                "charge", amount=invoice["amount_remaining"], currency=invoice["currency"], customer=invoice["customer"],
                payment_intent=intent["id"] if intent else None, payment_method=pm, created=0, paid=False,
                status="failed", failure_code=code, failure_message=message,
                outcome={**_objects.build("charge")["outcome"], "network_status": "declined_by_network",
                         "reason": decline, "seller_message": "The bank did not return any further details.",
                         "type": "issuer_declined"},
            ))
            self._emit("charge.failed", charge)
        if intent is not None:
            intent.update(status="requires_payment_method", latest_charge=charge["id"] if charge else intent["latest_charge"],
                          last_payment_error={"type": "card_error", "code": code, "decline_code": decline,
                                              "message": message, "charge": charge["id"] if charge else None})
            self._emit("payment_intent.payment_failed", intent)
        if automatic and code == "card_declined":
            first = self._first_failure.setdefault(invoice["id"], self._time)
            later = [first + d * 86_400 for d in self.retry_days if first + d * 86_400 > self._time]
            if later:
                invoice["next_payment_attempt"] = later[0]
                self._at(later[0], "attempt", invoice["id"])
        kind = "invoice.payment_action_required" if code == "authentication_required" else "invoice.payment_failed"
        self._emit(kind, invoice)
        return code, decline, message

    def _intent(self, invoice: dict[str, Any]) -> dict[str, Any]:
        """The invoice's PaymentIntent and its default invoice payment, made at the first attempt."""
        existing = self._intents.get(invoice["id"])
        if existing is not None:
            return self.objects[existing]
        intent = self._make("pi", _objects.build(
            "payment_intent", amount=invoice["amount_remaining"], currency=invoice["currency"],
            customer=invoice["customer"], created=0, description=invoice.get("description"),
        ))
        intent["client_secret"] = f"{intent['id']}_secret_fake"
        self._intents[invoice["id"]] = intent["id"]
        self._make("inpay", _objects.build(
            "invoice_payment", invoice=invoice["id"], status="open", amount_requested=invoice["amount_remaining"],
            currency=invoice["currency"], payment={"type": "payment_intent", "payment_intent": intent["id"]}, created=0,
        ))
        return intent

    def _pay(self, invoice: dict[str, Any], pm: str, intent: dict[str, Any] | None) -> None:
        amount = invoice["amount_remaining"]
        charge = self._make("ch", _objects.build(
            "charge", amount=amount, amount_captured=amount, captured=True, currency=invoice["currency"],
            customer=invoice["customer"], payment_intent=intent["id"] if intent else None, payment_method=pm, created=0,
            balance_transaction=self.new_id("txn"),
            outcome={**_objects.build("charge")["outcome"], "network_status": "approved_by_network",
                     "seller_message": "Payment complete.", "type": "authorized"},
        ))
        self._emit("charge.succeeded", charge)
        if intent is None:  # a legacy card or source: the invoice payment names the charge
            self.charges[charge["id"]] = charge
            self._make("inpay", _objects.build(
                "invoice_payment", invoice=invoice["id"], status="paid", amount_paid=amount, amount_requested=amount,
                currency=invoice["currency"], payment={"type": "charge", "charge": charge["id"]}, created=0,
                status_transitions={"canceled_at": None, "paid_at": self._time},
            ))
        else:
            self.charges[intent["id"]] = charge
            intent.update(status="succeeded", amount_received=amount, latest_charge=charge["id"], payment_method=pm,
                          last_payment_error=None)
            payment = next(
                o for o in self.objects.values()
                if o.get("object") == "invoice_payment" and o["payment"].get("payment_intent") == intent["id"]
            )
            payment.update(status="paid", amount_paid=amount)
            payment["status_transitions"]["paid_at"] = self._time
            self._emit("payment_intent.succeeded", intent)
        self._mark_paid(invoice)

    def _mark_paid(self, invoice: dict[str, Any]) -> None:
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0, next_payment_attempt=None)
        invoice["status_transitions"]["paid_at"] = self._time
        self._first_failure.pop(invoice["id"], None)
        self._emit("invoice.paid", invoice)
        self._emit("invoice.payment_succeeded", invoice)

    # -- subscription schedules -------------------------------------------------------------

    def _create_schedule(self, params: Mapping[str, Any]) -> Reply:
        start = self._time if params.get("start_date") in (None, "now") else int(params["start_date"])
        metadata = dict(params.get("metadata") or {})
        defaults = dict(params.get("default_settings") or {})
        phases = []
        begin = start
        for given in params.get("phases") or []:
            items = []
            for item in given.get("items") or []:
                data = dict(item.get("price_data") or {})
                price = self.new_id("price")
                self._prices[price] = data
                items.append(_objects.build(
                    "schedule_phase_item", price=price, quantity=int(item.get("quantity", 1)),
                    metadata=dict(item.get("metadata") or {}),
                ))
            duration = given.get("duration") or {}
            end = _add(begin, str(duration.get("interval", "month")), int(duration.get("interval_count", 1)))
            phases.append(_objects.build(
                "schedule_phase", start_date=begin, end_date=end, items=items,
                metadata=dict(given.get("metadata") or {}),
                proration_behavior=given.get("proration_behavior", "create_prorations"),
                billing_cycle_anchor=given.get("billing_cycle_anchor"),
                currency=self._prices[items[0]["price"]].get("currency", "usd") if items else "usd",
            ))
            begin = end
        schedule = self._make("sub_sched", _objects.build(
            "subscription_schedule", customer=params.get("customer"), end_behavior=params.get("end_behavior", "release"),
            metadata=metadata, phases=phases, created=0,
        ))
        schedule["default_settings"]["default_payment_method"] = defaults.get("default_payment_method")
        schedule["default_settings"]["collection_method"] = defaults.get("collection_method", "charge_automatically")
        self._emit("subscription_schedule.created", schedule)
        if phases:
            for n, when in enumerate(self._period_starts(schedule)):
                self._at(when, f"period:{n}", schedule["id"])
            self._at(phases[-1]["end_date"], "schedule_end", schedule["id"])
        return Reply.json(schedule)

    def _period_starts(self, schedule: dict[str, Any]) -> list[int]:
        starts = []
        for phase in schedule["phases"]:
            price = self._prices[phase["items"][0]["price"]]
            recurring = price.get("recurring") or {}
            interval, count = str(recurring.get("interval", "month")), int(recurring.get("interval_count", 1))
            n = 0
            while (at := _add(phase["start_date"], interval, count * n)) < phase["end_date"]:
                starts.append(at)
                n += 1
        return starts

    def _period(self, schedule_id: str, n: int) -> None:
        schedule = self.objects[schedule_id]
        if schedule["status"] in ("canceled", "completed", "released"):
            return
        if schedule["status"] == "not_started":
            schedule.update(status="active", subscription=self.new_id("sub"))
            self._emit("subscription_schedule.updated", schedule, {"status": "not_started"})
        phase = next(p for p in schedule["phases"] if p["start_date"] <= self._time < p["end_date"])
        schedule["current_phase"] = {"start_date": phase["start_date"], "end_date": phase["end_date"]}
        item = phase["items"][0]
        price = self._prices[item["price"]]
        sub_meta = dict(phase["metadata"])
        invoice = self._create_invoice(
            {"customer": schedule["customer"], "currency": price.get("currency", "usd"), "auto_advance": "true",
             "collection_method": schedule["default_settings"]["collection_method"]},
            billing_reason="subscription_create" if n == 0 else "subscription_cycle",
            parent={"quote_details": None, "subscription_details": {"metadata": sub_meta, "subscription": schedule["subscription"]},
                    "type": "subscription_details"},
        )
        self._add_line(invoice, int(price.get("unit_amount", 0)) * int(item["quantity"]), item["metadata"],
                       None, subscription=schedule["subscription"])

    def _schedule_end(self, schedule_id: str) -> None:
        schedule = self.objects[schedule_id]
        if schedule["status"] not in ("active", "not_started"):
            return
        schedule.update(status="completed", completed_at=self._time, current_phase=None)
        self._emit("subscription_schedule.completed", schedule)

    def _schedule(self, method: str, schedule: dict[str, Any], action: str | None) -> Reply:
        if method == "GET" and action is None:
            return Reply.json(schedule)
        if method == "POST" and action == "cancel":
            if schedule["status"] in ("canceled", "completed", "released"):
                return _error(400, "invalid_request_error", f"You cannot cancel a {schedule['status']} subscription schedule.")
            schedule.update(status="canceled", canceled_at=self._time, current_phase=None)
            self._emit("subscription_schedule.canceled", schedule)
            return Reply.json(schedule)
        return _error(404, "invalid_request_error", "Unrecognized schedule request.")

    # -- refunds --------------------------------------------------------------------------------

    def _refund(self, params: dict[str, Any]) -> Reply:
        by = "charge" if "charge" in params else "payment_intent"
        charge = self.charges.get(params.get(by, ""))
        if charge is None and by == "charge":  # a charge of a PaymentIntent, refunded by its own id
            charge = next((c for c in self.charges.values() if c["id"] == params["charge"]), None)
        if charge is None:
            return _error(400, "invalid_request_error", f"No such {by}.", param=by)
        amount = int(params.get("amount", charge["amount"] - charge["amount_refunded"]))
        if amount <= 0 or amount > charge["amount"] - charge["amount_refunded"]:
            return _error(400, "invalid_request_error", "Refund amount is greater than the unrefunded amount.", param="amount")
        refund = self._make("re", _objects.build(
            "refund", amount=amount, currency=charge["currency"], status="succeeded", created=0,
            payment_intent=charge["payment_intent"], charge=charge["id"], metadata=dict(params.get("metadata") or {}),
            balance_transaction=self.new_id("txn"), destination_details={"card": {"type": "refund"}, "type": "card"},
        ))  # no failure_reason key: Stripe sends one only on a failed refund
        before = charge["amount_refunded"]
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        # Since API version 2024-10-28.acacia every refund sends refund.created; since
        # 2022-11-15 the charge in charge.refunded no longer lists its refunds.
        self._emit("refund.created", refund)
        self._emit("charge.refunded", charge, {"amount_refunded": before})
        return Reply.json(refund)

    def complete_checkout(self, session_id: str, card: str = "4242424242424242") -> str:
        """The client saves test card *card* on Checkout's page of *session_id*; the URL Stripe sends them back to.

        What a POST of the fake's hosted page (``session.url``) does, for
        tests without a browser: the session becomes ``complete``, its
        SetupIntent ``succeeded`` with a new payment method attached to the
        session's customer (charged as the test card :data:`CHECKOUT_CARDS`
        names, and scriptable with :meth:`script`), and
        ``checkout.session.completed`` is queued.

        Raises:
            ValueError: no such session, one not open, a card not in
                :data:`CHECKOUT_CARDS`, or one the page declines.

        .. versionadded:: 0.3.0
        """
        with self._lock:
            session = self.objects.get(session_id)
            if session is None or session.get("object") != "checkout.session" or session["status"] != "open":
                got = "none" if session is None else f"one {session.get('status')!r}"
                raise ValueError(f"expected an open Checkout Session {session_id!r}, got {got}")
            if card not in CHECKOUT_CARDS:
                raise ValueError(f"expected one of the test cards {sorted(CHECKOUT_CARDS)}, got {card!r}")
            declined = self._complete(session, card)
            if declined is not None:
                raise ValueError(f"the page declined card {card}: {declined}")
            return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)

    def dashboard_refund(self, payment: str, amount: int) -> dict[str, Any]:
        """A refund made in Stripe's dashboard: no payplan metadata (for reconciliation tests).

        *payment* is the PaymentIntent (``pi_...``) or, for a payment made without one, the charge (``ch_...``).
        """
        with self._lock:
            by = "charge" if payment.startswith("ch_") else "payment_intent"
            reply = self._refund({by: payment, "amount": str(amount)})
            return dict(reply.body)


T = TypeVar("T")


def _unix(when: int | dt.date | dt.datetime, *, end_of_day: bool = False) -> int:
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            raise ValueError(f"expected an aware datetime, got {when!r}")
        return int(when.timestamp())
    if isinstance(when, dt.date):
        day = dt.datetime.combine(when, dt.time(23, 59, 59) if end_of_day else dt.time(0), tzinfo=dt.UTC)
        return int(day.timestamp())
    if isinstance(when, bool) or not isinstance(when, int):
        raise ValueError(f"expected a Unix time, a date or a datetime, got {when!r}")
    return when


def _iso(when: int) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).isoformat()


def _add(start: int, interval: str, count: int) -> int:
    """*count* intervals after *start*, as Stripe bills: months anchored on the start day, clamped to month ends."""
    moment = dt.datetime.fromtimestamp(start, dt.UTC)
    if interval == "day":
        return start + count * 86_400
    if interval == "week":
        return start + count * 7 * 86_400
    months = count * (12 if interval == "year" else 1)
    day = add_months(moment.date(), months)
    return int(dt.datetime.combine(day, moment.timetz()).timestamp())


def dump(obj: Any) -> bytes:
    """Serialize a webhook body the way Stripe does (compact JSON)."""
    return json.dumps(obj, separators=(",", ":")).encode()
