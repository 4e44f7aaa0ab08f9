"""A stateful fake of the slice of Stripe's API payplan uses, on the shared FakeServer.

It speaks Stripe's wire format (form-encoded bodies with bracket nesting,
JSON answers, ``Idempotency-Key`` replay, ``card_error`` 402s) well enough
for the real ``stripe`` SDK to drive it:

* ``POST /v1/products``, ``/v1/subscription_schedules``, ``.../{id}/cancel``,
  ``GET /v1/subscription_schedules/{id}``;
* ``POST /v1/invoices``, ``/v1/invoiceitems``, ``/v1/invoices/{id}/finalize``,
  ``/pay``, ``/void``, ``GET`` and ``DELETE /v1/invoices/{id}``;
* ``GET /v1/invoice_payments?invoice=`` (or ``payment[payment_intent]=``), ``POST`` and ``GET /v1/refunds``,
  ``GET /v1/events``; a refund sends ``refund.created`` and a ``charge.refunded`` whose charge lists no
  refunds, as Stripe does today; ``dashboard_refund`` makes one without payplan metadata.

Cards follow Stripe's test payment methods: ``pm_card_visa`` succeeds,
``pm_card_chargeDeclined`` and ``pm_card_chargeDeclinedExpiredCard`` are
declined, ``pm_card_authenticationRequired`` needs authentication. Paying,
refunding and cancelling append Stripe-shaped events that ``GET /v1/events``
lists (newest first), so reconciliation sees what webhooks would carry.

It is a fake, not Stripe: it checks what payplan relies on, nothing more.

Webhook payload builders, for testing a site's webhook endpoint without
Stripe: :func:`invoice_object`, :func:`charge_object` and
:func:`refund_object` build objects with every top-level field the
``stripe`` SDK's own models declare (absent values as ``None``, as Stripe
sends them), :func:`event_object` wraps one in Stripe's event envelope, and
:func:`signed_delivery` returns the ``(headers, body)`` an endpoint receives,
with a valid ``Stripe-Signature``::

    event = event_object("evt_1", "invoice.paid", invoice_object(
        "in_1", amount=50000, currency="usd", status="paid",
        metadata={"payplan_plan_id": "pack-a", "payplan_installment": "1"}), created=now)
    headers, body = signed_delivery(event, "whsec_...", timestamp=now)
    provider.parse_webhook(headers, body)

The builders import ``stripe`` (the ``stripe`` extra) when called, for the
field lists; nothing is imported before.

.. versionadded:: 0.2.0
   Moved here from payplan's own test suite.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
from collections.abc import Mapping
from typing import Any

from .server import FakeServer, RecordedRequest, Reply

__all__ = [
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
    """A Stripe invoice of one line for *amount* (Stripe units), with every field Stripe sends.

    *status* ``"paid"`` sets ``amount_paid`` to *amount*; any other leaves
    it 0. *subscription* links it to a subscription through
    ``parent.subscription_details``, where Stripe puts that link since API
    2025-03-31.basil (there is no top-level ``subscription`` field).
    """
    paid = amount if status == "paid" else 0
    obj = skeleton("invoice")
    obj.update(
        id=invoice_id, livemode=False, created=created, currency=currency, customer=customer,
        status=status, collection_method="charge_automatically", auto_advance=True,
        billing_reason="subscription_cycle" if subscription else "manual",
        amount_due=amount, amount_paid=paid, amount_remaining=amount - paid, amount_overpaid=0,
        amount_shipping=0, subtotal=amount, subtotal_excluding_tax=amount, total=amount,
        total_excluding_tax=amount, starting_balance=0, ending_balance=0 if status != "draft" else None,
        attempt_count=1 if status == "paid" else 0, attempted=status == "paid",
        metadata=dict(metadata or {}), discounts=[], total_discount_amounts=[], total_taxes=[],
        total_pretax_credit_amounts=[], default_tax_rates=[], customer_tax_ids=[], account_tax_ids=None,
        pre_payment_credit_notes_amount=0, post_payment_credit_notes_amount=0,
        issuer={"type": "self"},
        automatic_tax={"enabled": False, "liability": None, "status": None, "disabled_reason": None, "provider": None},
        status_transitions={
            "finalized_at": None if status == "draft" else created,
            "marked_uncollectible_at": None, "paid_at": created if status == "paid" else None,
            "voided_at": None,
        },
        lines={
            "object": "list", "has_more": False, "url": f"/v1/invoices/{invoice_id}/lines",
            "data": [{
                "id": f"il_{invoice_id}", "object": "line_item", "amount": amount, "currency": currency,
                "invoice": invoice_id, "livemode": False, "metadata": {}, "quantity": 1,
                "period": {"start": created, "end": created}, "discount_amounts": [], "discountable": True,
                "discounts": [], "subtotal": amount,
            }],
        },
        parent=None if subscription is None else {
            "type": "subscription_details", "quote_details": None,
            "subscription_details": {"subscription": subscription, "metadata": dict(metadata or {})},
        },
        payment_settings={"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
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
    """A succeeded Stripe charge, with every field Stripe sends.

    Since API 2022-11-15 a charge does not carry its ``refunds`` list
    unless it is expanded, so the builder leaves that field out;
    ``amount_refunded`` is the running total of what was refunded.
    """
    obj = skeleton("charge")
    obj.pop("refunds", None)
    obj.update(
        id=charge_id, livemode=False, created=created, amount=amount, amount_captured=amount,
        amount_refunded=amount_refunded, refunded=amount_refunded >= amount, captured=True, paid=True,
        currency=currency, customer=customer, disputed=False, status="succeeded",
        payment_intent=payment_intent, metadata=dict(metadata or {}), fraud_details={},
        billing_details={"address": None, "email": None, "name": None, "phone": None, "tax_id": None},
        outcome={"network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                 "seller_message": "Payment complete.", "type": "authorized"},
    )
    return obj


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
    """A Stripe refund of *amount* of *charge*, with every field Stripe sends.

    This is the object of the ``refund.created``, ``refund.updated`` and
    ``refund.failed`` events Stripe sends for every refund since API
    2024-10-28.acacia; its *metadata* is what the refund request carried.
    """
    obj = skeleton("refund")
    obj.update(
        id=refund_id, created=created, amount=amount, currency=currency, charge=charge,
        payment_intent=payment_intent, status=status, metadata=dict(metadata or {}), reason=reason,
        destination_details={"card": {"type": "refund"}, "type": "card"},
        failure_reason="lost_or_stolen_card" if status == "failed" else None,
    )
    return obj


def event_object(
    event_id: str,
    kind: str,
    obj: Mapping[str, Any],
    *,
    created: int,
    previous_attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Stripe's event envelope (``"object": "event"``) of type *kind* around *obj*."""
    event = skeleton("event")
    data: dict[str, Any] = {"object": dict(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = dict(previous_attributes)
    event.update(
        id=event_id, api_version=API_VERSION, created=created, livemode=False, pending_webhooks=1,
        request={"id": None, "idempotency_key": None}, type=kind, data=data,
    )
    for absent in ("account", "context"):  # sent only for Connect and organization events
        if event[absent] is None:
            del event[absent]
    return event


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


class FakeStripe:
    """The responder: Stripe's objects in memory, keyed replay, events."""

    def __init__(self, start: int = 1_795_000_000) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.charges: dict[str, dict[str, Any]] = {}  # by payment intent
        self._replay: dict[str, tuple[str, Reply]] = {}
        self._ids = itertools.count(1)
        self._clock = itertools.count(start)
        self._lock = threading.Lock()
        self.created = 0

    def serve(self) -> FakeServer:
        """A started FakeServer answering with this fake."""
        return FakeServer(self).start()

    # -- helpers ------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def now(self) -> int:
        return next(self._clock)

    def _make(self, prefix: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj["id"] = self.new_id(prefix)
        obj.setdefault("created", self.now())
        obj.setdefault("livemode", False)
        self.objects[obj["id"]] = obj
        self.created += 1
        return obj

    def _emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    # -- dispatch -------------------------------------------------------------------

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            key = request.header("Idempotency-Key")
            if request.method == "POST" and key:
                seen = self._replay.get(key)
                if seen is not None:
                    body, reply = seen
                    if body != request.body.decode() or False:
                        return _error(400, "idempotency_error", f"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}'.")
                    return Reply(reply.status, reply.body, {**reply.headers, "Idempotent-Replayed": "true"})
            reply = self._route(request)
            if request.method == "POST" and key and reply.status < 500:
                self._replay[key] = (request.body.decode(), reply)
            return reply

    def _route(self, r: RecordedRequest) -> Reply:
        params = unflatten(r.form()) if r.method == "POST" else unflatten(r.query_params())
        path = r.path
        m = r.method
        if m == "POST" and path == "/v1/products":
            return Reply.json(self._make("prod", {"object": "product", "name": params.get("name"), "metadata": params.get("metadata", {})}))
        if m == "POST" and path == "/v1/subscription_schedules":
            return Reply.json(self._make("sub_sched", {
                "object": "subscription_schedule", "status": "not_started", "customer": params.get("customer"),
                "end_behavior": params.get("end_behavior"), "metadata": params.get("metadata", {}),
                "phases": params.get("phases", []), "canceled_at": None,
            }))
        if m == "POST" and path == "/v1/invoices":
            if not params.get("customer"):
                return _error(400, "invalid_request_error", "Missing required param: customer.", param="customer")
            return Reply.json(self._make("in", {
                "object": "invoice", "status": "draft", "customer": params["customer"],
                "currency": params.get("currency", "usd"), "metadata": params.get("metadata", {}),
                "default_payment_method": params.get("default_payment_method"),
                "collection_method": params.get("collection_method"),
                "automatically_finalizes_at": int(params["automatically_finalizes_at"]) if "automatically_finalizes_at" in params else None,
                "amount_due": 0, "amount_paid": 0, "amount_remaining": 0,
                "lines": {"object": "list", "data": [], "has_more": False},
                "last_finalization_error": None, "parent": None,
            }))
        if m == "POST" and path == "/v1/invoiceitems":
            invoice = self.objects.get(params.get("invoice", ""))
            if invoice is None or invoice["status"] != "draft":
                return _error(400, "invalid_request_error", "No such draft invoice.", param="invoice")
            amount = int(params["amount"])
            item = self._make("ii", {"object": "invoiceitem", "invoice": invoice["id"], "amount": amount,
                                     "currency": params.get("currency"), "metadata": params.get("metadata", {})})
            invoice["amount_due"] += amount
            invoice["amount_remaining"] += amount
            invoice["lines"]["data"].append({"id": item["id"], "object": "line_item", "amount": amount, "metadata": item["metadata"]})
            return Reply.json(item)
        if m == "GET" and path == "/v1/invoice_payments":
            paid_by = params.get("payment") or {}
            pays = [
                o for o in self.objects.values()
                if o.get("object") == "invoice_payment"
                and (params.get("invoice") is None or o["invoice"] == params.get("invoice"))
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
        if m == "GET" and path == "/v1/invoices":
            found = [
                o for o in self.objects.values()
                if o.get("object") == "invoice"
                and all(params.get(k) in (None, o.get(k)) for k in ("customer", "status"))
            ]
            return Reply.json({"object": "list", "url": path, "data": found[::-1], "has_more": False})
        if m == "GET" and path.startswith("/v1/charges/"):
            charge = self.objects.get(path.rsplit("/", 1)[1])
            if charge is None or charge.get("object") != "charge":
                return _error(404, "invalid_request_error", f"No such charge: '{path.rsplit('/', 1)[1]}'", code="resource_missing")
            return Reply.json(charge)
        match = re.fullmatch(r"/v1/(invoices|subscription_schedules)/([A-Za-z0-9_]+)(?:/(\w+))?", path)
        if match:
            what, ident, action = match.groups()
            obj = self.objects.get(ident)
            if obj is None:
                return _error(404, "invalid_request_error", f"No such {what[:-1]}: '{ident}'", code="resource_missing")
            if what == "subscription_schedules":
                return self._schedule(m, obj, action)
            return self._invoice(m, obj, action, params)
        return _error(404, "invalid_request_error", f"Unrecognized request URL ({m}: {path}).")

    def _schedule(self, method: str, schedule: dict[str, Any], action: str | None) -> Reply:
        if method == "GET" and action is None:
            return Reply.json(schedule)
        if method == "POST" and action == "cancel":
            if schedule["status"] == "canceled":
                return _error(400, "invalid_request_error", "You cannot cancel a canceled subscription schedule.")
            schedule["status"] = "canceled"
            schedule["canceled_at"] = self.now()
            self._emit(schedule_canceled(self.new_id("evt"), schedule, schedule["canceled_at"]))
            return Reply.json(schedule)
        return _error(404, "invalid_request_error", "Unrecognized schedule request.")

    def _invoice(self, method: str, invoice: dict[str, Any], action: str | None, params: dict[str, Any]) -> Reply:
        status = invoice["status"]
        if method == "GET" and action is None:
            return Reply.json(invoice)
        if method == "DELETE" and action is None:
            if status != "draft":
                return _error(400, "invalid_request_error", "You can only delete draft invoices.")
            del self.objects[invoice["id"]]
            return Reply.json({"id": invoice["id"], "object": "invoice", "deleted": True})
        if method == "POST" and action == "finalize":
            if status != "draft":
                return _error(400, "invalid_request_error", "This invoice is already finalized.")
            invoice["status"] = "open"
            return Reply.json(invoice)
        if method == "POST" and action == "void":
            if status not in ("open", "uncollectible"):
                return _error(400, "invalid_request_error", f"You cannot void a {status} invoice.")
            invoice["status"] = "void"
            return Reply.json(invoice)
        if method == "POST" and action == "pay":
            if status != "open":
                return _error(400, "invalid_request_error", f"You can only pay an open invoice, this one is {status}.")
            pm = params.get("payment_method") or invoice.get("default_payment_method") or "pm_card_visa"
            now = self.now()
            if pm in CARDS:
                code, decline, message = CARDS[pm]
                kind = "invoice.payment_action_required" if code == "authentication_required" else "invoice.payment_failed"
                self._emit(invoice_event(self.new_id("evt"), kind, invoice, now))
                return _error(402, "card_error", message, code=code, decline_code=decline)
            # A legacy card or source (card_..., src_...) pays by a charge without a PaymentIntent:
            # the invoice payment then carries no payment_intent key at all.
            legacy = pm.startswith(("card_", "src_"))
            intent = None if legacy else self.new_id("pi")
            charge = self._make("ch", {"object": "charge", "amount": invoice["amount_due"], "amount_refunded": 0,
                                       "currency": invoice["currency"], "payment_intent": intent, "metadata": {},
                                       "customer": invoice["customer"]})
            self.charges[intent or charge["id"]] = charge
            payment = {"type": "charge", "charge": charge["id"]} if legacy else {"type": "payment_intent", "payment_intent": intent}
            self._make("inpay", {"object": "invoice_payment", "invoice": invoice["id"], "status": "paid",
                                 "amount_paid": invoice["amount_due"], "payment": payment})
            invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
            self._emit(invoice_event(self.new_id("evt"), "invoice.paid", invoice, now))
            return Reply.json(invoice)
        return _error(404, "invalid_request_error", "Unrecognized invoice request.")

    def _refund(self, params: dict[str, Any]) -> Reply:
        by = "charge" if "charge" in params else "payment_intent"
        charge = self.charges.get(params.get(by, ""))
        if charge is None:
            return _error(400, "invalid_request_error", f"No such {by}.", param=by)
        amount = int(params.get("amount", charge["amount"] - charge["amount_refunded"]))
        if amount <= 0 or amount > charge["amount"] - charge["amount_refunded"]:
            return _error(400, "invalid_request_error", "Refund amount is greater than the unrefunded amount.", param="amount")
        refund = self._make("re", {"object": "refund", "amount": amount, "currency": charge["currency"], "status": "succeeded",
                                   "payment_intent": charge["payment_intent"], "charge": charge["id"],
                                   "metadata": params.get("metadata", {})})  # failure_reason only once failed
        before = charge["amount_refunded"]
        charge["amount_refunded"] += amount
        # Since API version 2024-10-28.acacia every refund sends refund.created; since
        # 2022-11-15 the charge in charge.refunded no longer lists its refunds.
        self._emit(stripe_event(self.new_id("evt"), "refund.created", dict(refund), self.now()))
        self._emit(stripe_event(self.new_id("evt"), "charge.refunded", dict(charge), self.now(),
                                {"amount_refunded": before}))
        return Reply.json(refund)

    def dashboard_refund(self, payment: str, amount: int) -> dict[str, Any]:
        """A refund made in Stripe's dashboard: no payplan metadata (for reconciliation tests).

        *payment* is the PaymentIntent (``pi_...``) or, for a payment made without one, the charge (``ch_...``).
        """
        with self._lock:
            by = "charge" if payment.startswith("ch_") else "payment_intent"
            reply = self._refund({by: payment, "amount": str(amount)})
            return dict(reply.body)


def dump(obj: Any) -> bytes:
    """Serialize a webhook body the way Stripe does (compact JSON)."""
    return json.dumps(obj, separators=(",", ":")).encode()
