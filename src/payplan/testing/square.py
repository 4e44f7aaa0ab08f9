"""A fake Square API, served by :class:`~payplan.testing.server.FakeServer` on 127.0.0.1.

:class:`FakeSquare` is the responder. It speaks the small part of the Square
API payplan uses (Orders, Invoices, Refunds), keeps state, enforces the
Invoices rules the adapter must respect (payment request combinations,
Invoices Plus, deposit first, amounts adding up to the order total, version
checks) and replays a request sent again with the same idempotency key (a
reused key with another body is refused, as Square does). The
:class:`~payplan.testing.server.FakeServer` records requests and injects faults.

Webhook payload builders, for testing a site's webhook endpoint without
Square: :func:`notification` builds Square's notification envelope
(``merchant_id``, ``type``, ``event_id``, ``created_at`` and ``data`` with
the object under its type's name, as Square's ``*Event`` schemas describe
it), :meth:`FakeSquare.event` and :meth:`FakeSquare.refund_event` fill it
with the fake's own invoice or refund, and :func:`signed_delivery` returns
the ``(headers, body)`` an endpoint receives, with a valid
``x-square-hmacsha256-signature`` (base64 HMAC-SHA256 of the notification
URL followed by the body)::

    fake.pay(invoice_id, 1)
    headers, body = signed_delivery(fake.event("invoice.payment_made", invoice_id),
                                    signature_key=KEY, notification_url=URL)
    provider.parse_webhook(headers, body)

A public clock, like Stripe's test clocks: the fake starts at :attr:`FakeSquare.now`
and :meth:`FakeSquare.advance_to` moves it forward, doing on the way what
Square does on those days. Every payment request with ``CARD_ON_FILE`` autopay
is charged on its ``due_date`` (at :data:`CHARGE_HOUR` in the invoice's time
zone) with its ``card_id``; a card behaves as :meth:`FakeSquare.script` says
(the sandbox's :class:`~payplan.testing.SandboxCard` outcomes) or as its id
says (``ccof:declined``, ``ccof:expired``). Square documents no retry of a
failed automatic payment, so the fake makes none: the request stays unpaid
and the buyer can still pay it (:meth:`FakeSquare.pay`). Pending refunds
complete. Each of those sends the signed notifications Square sends
(``payment.created``, ``invoice.payment_made``,
``invoice.scheduled_charge_failed``, ``refund.created``, ``refund.updated``,
``invoice.canceled``), queued for the test to deliver::

    fake = FakeSquare(timezone="UTC", now=dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC))
    provider = SquareProvider(Square(token="t", base_url=server.url), location_id="L", invoices_plus=True,
                              signature_key=fake.signature_key, notification_url=fake.notification_url)
    binding = provider.publish(plan, Payer(customer_id="C1", payment_method_id="ccof:visa"))
    fake.script("ccof:visa", SandboxCard.SUCCESS, SandboxCard.DECLINE)
    for delivery in fake.advance_to(dt.date(2027, 1, 1)):     # the deposit paid, installment 2 declined
        events = provider.parse_webhook(delivery.headers, delivery.body)

:meth:`FakeSquare.take_deliveries` takes what calls queued without moving the
clock (a refund's ``refund.created``, a cancel's ``invoice.canceled``).

No Square SDK is imported.

.. versionadded:: 0.2.0
   Moved here from payplan's own test suite.
.. versionchanged:: 0.3.0
   The clock (:meth:`FakeSquare.advance_to`), card scripts, queued signed
   deliveries, and objects with the keys of Square's own examples.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import itertools
import json
import re
import threading
import uuid
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from ._sandbox import SandboxCard
from .server import ClockedFake, Delivery, RecordedRequest, Reply

__all__ = [
    "CHARGE_HOUR",
    "NOTIFICATION_URL",
    "SIGNATURE_KEY",
    "ApiFailure",
    "FakeSquare",
    "notification",
    "sign",
    "signed_delivery",
]

Json = dict[str, Any]

SIGNATURE_HEADER = "x-square-hmacsha256-signature"
#: Cards on file the fake declines when charged on demand, with Square's error code.
DECLINED_CARDS = {"ccof:declined": "CARD_DECLINED", "ccof:expired": "CARD_EXPIRED"}
MERCHANT_ID = "MLFAKEMERCHANT"
#: The webhook signature key and notification URL the fake signs its queued deliveries with, unless told others.
SIGNATURE_KEY = "fake-square-signature-key"
NOTIFICATION_URL = "https://booking.example/hooks/square"
#: The local hour (in the invoice's time zone) at which the fake charges a request due that day.
CHARGE_HOUR = 9
#: Square's error code for each scripted card outcome.
_CARD_CODES = {
    SandboxCard.DECLINE: "CARD_DECLINED",
    SandboxCard.EXPIRED: "CARD_EXPIRED",
    SandboxCard.AUTHENTICATION: "CARD_DECLINED_VERIFICATION_REQUIRED",
}
_START = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)


def _stamp(when: dt.datetime, *, millis: bool = False) -> str:
    """RFC 3339 in UTC as Square writes it (invoices in seconds, payments and refunds in milliseconds)."""
    when = when.astimezone(dt.UTC)
    if millis:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def notification(
    kind: str,
    object_type: str,
    object_id: str,
    obj: Mapping[str, Any],
    *,
    event_id: str,
    created_at: str = "2027-01-01T15:00:00Z",
    merchant_id: str = MERCHANT_ID,
    location_id: str | None = None,
) -> Json:
    """A Square webhook notification of type *kind* carrying *obj* (an invoice, a refund...).

    *object_type* is Square's name for it (``"invoice"``, ``"refund"``,
    ``"payment"``); the object sits at ``data.object.<object_type>``.
    Square's invoice notifications also carry the invoice's ``location_id``
    at the top (pass *location_id*); its payment and refund notifications do not.
    """
    out: Json = {
        "merchant_id": merchant_id,
        "type": kind,
        "event_id": event_id,
        "created_at": created_at,
        "data": {"type": object_type, "id": object_id, "object": {object_type: json.loads(json.dumps(obj))}},
    }
    if location_id is not None:
        out["location_id"] = location_id
    return out


def sign(body: bytes, *, signature_key: str, notification_url: str) -> dict[str, str]:
    """The ``x-square-hmacsha256-signature`` header Square sends with *body* to *notification_url*."""
    mac = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return {SIGNATURE_HEADER: base64.b64encode(mac).decode()}


def signed_delivery(
    event: Mapping[str, Any], *, signature_key: str, notification_url: str
) -> tuple[dict[str, str], bytes]:
    """The ``(headers, body)`` a webhook endpoint at *notification_url* receives for *event*."""
    body = json.dumps(event).encode()
    headers = {**sign(body, signature_key=signature_key, notification_url=notification_url),
               "Content-Type": "application/json"}
    return headers, body


class ApiFailure(Exception):
    """Raised inside a handler to answer with a Square error."""

    def __init__(self, status: int, code: str, detail: str, category: str = "INVALID_REQUEST_ERROR") -> None:
        super().__init__(detail)
        self.status = status
        self.body: Json = {"errors": [{"category": category, "code": code, "detail": detail}]}


class FakeSquare(ClockedFake):
    """The fake Square's state, rules and clock; a :class:`FakeServer` responder (``FakeServer(FakeSquare())``).

    Args:
        invoices_plus: Whether the seller has Invoices Plus (``INSTALLMENT`` requests).
        timezone: The location's time zone (invoices take it; due dates are read in it).
        now: Where the clock starts (UTC; default 2026-12-01 10:00).
        signature_key: The key queued deliveries are signed with (:data:`SIGNATURE_KEY`).
        notification_url: The URL they are signed for (:data:`NOTIFICATION_URL`).
    """

    def __init__(
        self,
        *,
        invoices_plus: bool = True,
        timezone: str = "America/New_York",
        now: dt.datetime | None = None,
        signature_key: str = SIGNATURE_KEY,
        notification_url: str = NOTIFICATION_URL,
    ) -> None:
        self.invoices_plus = invoices_plus
        self.timezone = timezone
        self.signature_key = signature_key
        self.notification_url = notification_url
        self.orders: dict[str, Json] = {}
        self.invoices: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.payments: dict[str, Json] = {}
        self._replay: dict[tuple[str, str], tuple[str, int, Json]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._created = 0
        self._now = _START if now is None else now.astimezone(dt.UTC)
        self._published: dict[str, dt.datetime] = {}
        self._attempted: set[tuple[str, str]] = set()
        self._scripts: dict[str, list[SandboxCard]] = {}
        self._queue: list[Delivery] = []

    # -- the clock -------------------------------------------------------------

    @property
    def now(self) -> dt.datetime:
        """The fake's current time (UTC)."""
        return self._now

    def clock(self) -> dt.datetime:
        """The fake's current time: pass ``clock=fake.clock`` where an adapter or a site reads the time."""
        return self._now

    def script(self, card_id: str, *outcomes: SandboxCard) -> None:
        """Make the next charges of the card on file *card_id* behave as *outcomes*, in order.

        Scheduled (autopay) and on-demand (``CreatePayment``) charges both
        take the next outcome. Once the script runs out, the card behaves as
        its id says (``ccof:declined``, ``ccof:expired``) or succeeds.
        """
        with self._lock:
            self._scripts.setdefault(card_id, []).extend(outcomes)

    def advance_to(
        self, when: dt.date | dt.datetime, *, deliver: Callable[[Delivery], object] | None = None
    ) -> list[Delivery]:
        """Move the clock to *when*, doing what Square does on the way; returns (and takes) the queued deliveries.

        A date means noon of that day in the location's time zone. On the
        way, in time order: each unpaid ``CARD_ON_FILE`` payment request is
        charged on its due date (at :data:`CHARGE_HOUR` local time, or at
        publishing when that came later), once; a decline leaves it unpaid
        and sends ``invoice.scheduled_charge_failed`` (Square does not
        retry); pending refunds complete a minute after they were made.
        The deliveries returned are every one queued and not yet taken,
        oldest first: those of calls made since the last advance (a
        refund's ``refund.created``) and those of the days passed.

        Args:
            when: Where the clock goes.
            deliver: Called with each delivery as it happens, the clock
                standing at its time, instead of returning it. It may call
                the fake (the adapter reads the invoice's order).

        Raises:
            ValueError: *when* is before the fake's current time.
        """
        with self._lock:
            target = self._moment(when)
            if target < self._now:
                raise ValueError(f"expected a time on or after {self._now.isoformat()}, got {target.isoformat()}")

        def step() -> bool:
            work = sorted(self._due_work(target), key=lambda w: (w[0], w[1]))
            if not work:
                self._now = target
                return False
            moment, _, action = work[0]
            self._now = max(self._now, moment)
            action()
            return True

        return self._walk(step, deliver)

    def forget_idempotency_keys(self) -> None:
        """Forget every idempotency key seen, as Square does after a while: a key sent again acts anew."""
        with self._lock:
            self._replay.clear()

    def _moment(self, when: dt.date | dt.datetime) -> dt.datetime:
        if isinstance(when, dt.datetime):
            if when.tzinfo is None:
                raise ValueError(f"expected an aware datetime, got {when!r}")
            return when.astimezone(dt.UTC)
        if isinstance(when, dt.date):
            return dt.datetime.combine(when, dt.time(12), tzinfo=zoneinfo.ZoneInfo(self.timezone)).astimezone(dt.UTC)
        raise ValueError(f"expected a date or datetime, got {when!r}")

    def _due_work(self, target: dt.datetime) -> list[tuple[dt.datetime, str, Callable[[], None]]]:
        work: list[tuple[dt.datetime, str, Callable[[], None]]] = []
        for invoice_id, invoice in self.invoices.items():
            if invoice["status"] not in ("UNPAID", "PARTIALLY_PAID", "SCHEDULED"):
                continue
            zone = zoneinfo.ZoneInfo(invoice.get("timezone") or self.timezone)
            for number, request in enumerate(invoice["payment_requests"], 1):
                if request.get("automatic_payment_source") != "CARD_ON_FILE":
                    continue
                if (invoice_id, request["uid"]) in self._attempted or self._unpaid(request) <= 0:
                    continue
                due = dt.date.fromisoformat(request["due_date"])
                moment = dt.datetime.combine(due, dt.time(CHARGE_HOUR), tzinfo=zone).astimezone(dt.UTC)
                moment = max(moment, self._published.get(invoice_id, moment))
                if moment <= target:
                    work.append((moment, f"{invoice_id}:{number:03d}",
                                 functools.partial(self._scheduled_charge, invoice_id, number)))
        for refund_id, refund in self.refunds.items():
            if refund["status"] == "PENDING":
                moment = _parse(refund["created_at"]) + dt.timedelta(minutes=1)
                if moment <= target:
                    work.append((moment, f"~{refund_id}", functools.partial(self.complete_refund, refund_id)))
        return work

    @staticmethod
    def _unpaid(request: Json) -> int:
        done = (request.get("total_completed_amount_money") or {}).get("amount", 0)
        return int(request["computed_amount_money"]["amount"]) - int(done)

    def _outcome(self, card_id: str) -> SandboxCard:
        queue = self._scripts.get(card_id)
        if queue:
            return queue.pop(0)
        if card_id in DECLINED_CARDS:
            return SandboxCard.EXPIRED if DECLINED_CARDS[card_id] == "CARD_EXPIRED" else SandboxCard.DECLINE
        return SandboxCard.SUCCESS

    def _scheduled_charge(self, invoice_id: str, number: int) -> None:
        invoice = self.invoices[invoice_id]
        request = invoice["payment_requests"][number - 1]
        self._attempted.add((invoice_id, request["uid"]))
        outcome = self._outcome(str(request.get("card_id") or ""))
        order = self.orders[invoice["order_id"]]
        amount = {"amount": self._unpaid(request), "currency": request["computed_amount_money"]["currency"]}
        code = _CARD_CODES.get(outcome)
        payment = self._new_payment(
            amount, card_id=str(request.get("card_id") or ""), location_id=invoice["location_id"],
            customer_id=order.get("customer_id") or invoice.get("primary_recipient", {}).get("customer_id"),
            order_id=invoice["order_id"], failed=code is not None,
        )
        self._queue_event("payment.created", "payment", payment["id"], payment)
        if code is not None:
            invoice["version"] += 1
            invoice["updated_at"] = _stamp(self._now)
            self._queue_invoice_event("invoice.scheduled_charge_failed", invoice_id)
            return
        self._apply_payment(invoice, number, number, payment, amount["amount"])
        self._queue_invoice_event("invoice.payment_made", invoice_id)

    def _new_payment(
        self,
        amount: Json,
        *,
        card_id: str,
        location_id: str | None,
        customer_id: str | None,
        order_id: str | None = None,
        reference_id: str | None = None,
        note: str | None = None,
        failed: bool = False,
    ) -> Json:
        """A card payment with the keys of Square's own Payment examples (only those that apply)."""
        payment_id = f"pay_{next(self._ids)}"
        stamp = _stamp(self._now, millis=True)
        timeline = {"authorized_at": stamp} if not failed else {}
        if not failed:
            timeline["captured_at"] = stamp
        card_details: Json = {
            "status": "FAILED" if failed else "CAPTURED",
            "card": {
                "card_brand": "VISA", "last_4": "1111", "exp_month": 11, "exp_year": 2030,
                "fingerprint": f"sq-1-fake-{hashlib.sha256(card_id.encode()).hexdigest()[:24]}",
                "card_type": "CREDIT", "prepaid_type": "NOT_PREPAID", "bin": "411111",
            },
            "entry_method": "ON_FILE",
            "cvv_status": "CVV_NOT_CHECKED",
            "avs_status": "AVS_NOT_CHECKED",
            "statement_description": "SQ *STUDIO",
            "card_payment_timeline": timeline,
        }
        if not failed:
            card_details["auth_result_code"] = f"{next(self._ids):06d}"
        payment: Json = {
            "id": payment_id,
            "created_at": stamp,
            "updated_at": stamp,
            "amount_money": dict(amount),
            "total_money": dict(amount),
            "approved_money": dict(amount) if not failed else {"amount": 0, "currency": amount["currency"]},
            "status": "FAILED" if failed else "COMPLETED",
            "delay_duration": "PT168H",
            "delay_action": "CANCEL",
            "delayed_until": _stamp(self._now + dt.timedelta(hours=168), millis=True),
            "source_type": "CARD",
            "card_details": card_details,
            "location_id": location_id,
            "order_id": order_id or f"order_{next(self._ids)}",
            "application_details": {"square_product": "ECOMMERCE_API", "application_id": "sq0idp-fake"},
            "risk_evaluation": {"created_at": stamp, "risk_level": "NORMAL"},
            "receipt_number": payment_id[:4],
            "receipt_url": f"https://squareup.invalid/receipt/preview/{payment_id}",
            "version_token": uuid.uuid4().hex,
        }
        if customer_id is not None:
            payment["customer_id"] = customer_id
        if reference_id is not None:
            payment["reference_id"] = reference_id
        if note is not None:
            payment["note"] = note
        if not failed:
            payment["processing_fee"] = [{
                "effective_at": stamp, "type": "INITIAL",
                "amount_money": {"amount": max(1, amount["amount"] * 29 // 1000 + 30), "currency": amount["currency"]},
            }]
        self.payments[payment_id] = payment
        return payment

    def _apply_payment(self, invoice: Json, number: int, through: int, payment: Json, paid: int) -> None:
        for request in invoice["payment_requests"][number - 1:through]:
            request["total_completed_amount_money"] = dict(request["computed_amount_money"])
        order = self.orders[invoice["order_id"]]
        tenders = order.setdefault("tenders", [])
        # Square links an invoice's payments to its order as tenders (Order.tenders[].payment_id).
        tenders.append({
            "id": f"tender_{payment['id']}", "type": "CARD", "payment_id": payment["id"],
            "location_id": order["location_id"], "transaction_id": order["id"],
            "amount_money": {"amount": paid, "currency": payment["amount_money"]["currency"]},
            "created_at": payment["created_at"],
        })
        unpaid = [r for r in invoice["payment_requests"] if self._unpaid(r) > 0]
        invoice["status"] = "PARTIALLY_PAID" if unpaid else "PAID"
        if unpaid:
            invoice["next_payment_amount_money"] = {
                "amount": self._unpaid(unpaid[0]), "currency": payment["amount_money"]["currency"]}
        else:
            invoice.pop("next_payment_amount_money", None)
        invoice["version"] += 1
        invoice["updated_at"] = _stamp(self._now)

    def _queue_event(self, kind: str, object_type: str, object_id: str, obj: Json,
                     location_id: str | None = None) -> None:
        event = notification(kind, object_type, object_id, obj, event_id=str(uuid.uuid4()),
                             created_at=_stamp(self._now, millis=True), location_id=location_id)
        headers, body = signed_delivery(event, signature_key=self.signature_key,
                                        notification_url=self.notification_url)
        self._queue.append(Delivery(headers, body))

    def _queue_invoice_event(self, kind: str, invoice_id: str) -> None:
        invoice = self.invoices[invoice_id]
        self._queue_event(kind, "invoice", invoice_id, invoice, location_id=invoice["location_id"])

    # -- what tests drive (besides HTTP) -------------------------------------

    def created(self) -> int:
        """How many objects exist: orders, invoices (incl. deleted drafts), payments and refunds."""
        return self._created

    def pay(self, invoice_id: str, number: int, *, through: int | None = None,
            created_at: str | None = None) -> str:
        """The buyer pays request *number* (1-based) in full, or with *through* every request up to that one,
        as ONE payment on the invoice's page; the order gets a tender for it (as Square records an
        invoice payment) and ``invoice.payment_made`` is queued. *created_at* backdates the payment
        (default: the clock). Returns the payment id."""
        with self._lock:
            invoice = self.invoices[invoice_id]
            requests = invoice["payment_requests"][number - 1:(through or number)]
            paid = sum(max(0, self._unpaid(r)) for r in requests)
            currency = invoice["payment_requests"][number - 1]["computed_amount_money"]["currency"]
            saved = self._now
            tenders = self.orders[invoice["order_id"]].get("tenders") or []
            if created_at is not None:
                self._now = _parse(created_at)
            elif tenders and _parse(tenders[-1]["created_at"]) >= self._now:
                self._now = _parse(tenders[-1]["created_at"]) + dt.timedelta(seconds=1)  # one payment after another
            try:
                order = self.orders[invoice["order_id"]]
                payment = self._new_payment(
                    {"amount": paid, "currency": currency}, card_id="cnon:buyer-card",
                    location_id=invoice["location_id"], customer_id=order.get("customer_id"),
                    order_id=invoice["order_id"],
                )
                if created_at is not None:
                    payment["created_at"] = payment["updated_at"] = created_at
                self._apply_payment(invoice, number, through or number, payment, paid)
                self._queue_invoice_event("invoice.payment_made", invoice_id)
            finally:
                self._now = saved
            self._created += 1
            return str(payment["id"])

    def event(self, kind: str, invoice_id: str, *, event_id: str | None = None,
              created_at: str = "2027-01-01T15:00:00Z") -> Json:
        """A Square notification of *kind* carrying the invoice as it is now."""
        with self._lock:
            invoice = self.invoices[invoice_id]
            return notification(
                kind, "invoice", invoice_id, invoice,
                event_id=event_id or f"evt_{next(self._ids)}", created_at=created_at,
                location_id=invoice.get("location_id"),
            )

    def refund_event(self, refund_id: str, *, kind: str = "refund.updated",
                     created_at: str = "2027-01-02T15:00:00Z") -> Json:
        """A Square ``refund.*`` notification for a refund the fake holds."""
        with self._lock:
            return notification(
                kind, "refund", refund_id, self.refunds[refund_id],
                event_id=f"evt_{next(self._ids)}", created_at=created_at,
            )

    # -- HTTP ----------------------------------------------------------------------

    def __call__(self, request: RecordedRequest) -> Reply:
        """Answer one request (the :class:`FakeServer` responder)."""
        if (request.header("Authorization") or "") in ("", "Bearer", "Bearer revoked"):
            return Reply.json(
                {"errors": [{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED", "detail": "no token"}]},
                401,
            )
        try:
            status, answer = self._route(request.method, request.path, request)
        except ApiFailure as failure:
            status, answer = failure.status, failure.body
        return Reply.json(answer, status, {"square-request-id": "req-fake"})

    def _route(self, method: str, path: str, record: RecordedRequest) -> tuple[int, Json]:
        routes: list[tuple[str, str, Callable[..., Json]]] = [
            ("POST", r"/v2/orders", self._create_order),
            ("GET", r"/v2/orders/([^/]+)", self._get_order),
            ("POST", r"/v2/invoices", self._create_invoice),
            ("GET", r"/v2/invoices/([^/]+)", self._get_invoice),
            ("PUT", r"/v2/invoices/([^/]+)", self._update_invoice),
            ("DELETE", r"/v2/invoices/([^/]+)", self._delete_invoice),
            ("POST", r"/v2/invoices/([^/]+)/publish", self._publish_invoice),
            ("POST", r"/v2/invoices/([^/]+)/cancel", self._cancel_invoice),
            ("POST", r"/v2/refunds", self._refund),
            ("POST", r"/v2/payments", self._create_payment),
            ("GET", r"/v2/payments", self._list_payments),
            ("GET", r"/v2/locations/([^/]+)", self._get_location),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                payload = record.json()
                key = payload.get("idempotency_key") if isinstance(payload, dict) else None
                with self._lock:
                    if key:
                        fingerprint = json.dumps(payload, sort_keys=True)
                        seen = self._replay.get((path, key))
                        if seen is not None:
                            if seen[0] != fingerprint:
                                raise ApiFailure(400, "IDEMPOTENCY_KEY_REUSED", f"key {key} reused with another body")
                            return seen[1], seen[2]
                    try:
                        answer = handler(*match.groups(), payload=payload, query=parse_qs(record.query))
                    except ApiFailure as failure:
                        if key and failure.status == 402:  # a decline is a decision: replayed, not retried
                            self._replay[(path, key)] = (fingerprint, failure.status, failure.body)
                        raise
                    answer = json.loads(json.dumps(answer))  # a snapshot, as Square replays it
                    if key:
                        self._replay[(path, key)] = (fingerprint, 200, answer)
                    return 200, answer
        raise ApiFailure(404, "NOT_FOUND", f"no route {method} {path}")

    # -- Orders ---------------------------------------------------------------

    def _create_order(self, *, payload: Json, query: Any) -> Json:
        order = dict(payload.get("order") or {})
        if not order.get("location_id"):
            raise ApiFailure(400, "MISSING_REQUIRED_PARAMETER", "order.location_id")
        items = order.get("line_items") or []
        currencies = {i["base_price_money"]["currency"] for i in items}
        if len(currencies) != 1:
            raise ApiFailure(400, "INVALID_VALUE", f"expected one currency, got {currencies}")
        total = sum(int(i["base_price_money"]["amount"]) * int(i["quantity"]) for i in items)
        stamp = _stamp(self._now, millis=True)
        order.update(id=f"order_{next(self._ids)}", version=1, state="OPEN", created_at=stamp, updated_at=stamp,
                     total_money={"amount": total, "currency": currencies.pop()})
        self.orders[order["id"]] = order
        self._created += 1
        return {"order": order}

    def _get_order(self, order_id: str, *, payload: Json, query: Any) -> Json:
        if order_id not in self.orders:
            raise ApiFailure(404, "NOT_FOUND", f"order {order_id}")
        return {"order": self.orders[order_id]}

    # -- Locations ------------------------------------------------------------

    def _get_location(self, location_id: str, *, payload: Json, query: Any) -> Json:
        return {"location": {"id": location_id, "name": "Studio", "status": "ACTIVE", "timezone": self.timezone,
                             "currency": "USD", "country": "US"}}

    # -- Invoices -------------------------------------------------------------

    def _invoice(self, invoice_id: str) -> Json:
        if invoice_id not in self.invoices:
            raise ApiFailure(404, "NOT_FOUND", f"invoice {invoice_id}")
        return self.invoices[invoice_id]

    def _check_version(self, invoice: Json, version: object) -> None:
        if version != invoice["version"]:
            raise ApiFailure(400, "VERSION_MISMATCH", f"version {version}, invoice is at {invoice['version']}")

    def _compute(self, requests: list[Json], total: Json) -> None:
        types = [r.get("request_type") for r in requests]
        n_inst = types.count("INSTALLMENT")
        ok = (
            types in (["BALANCE"], ["DEPOSIT", "BALANCE"])
            or (2 <= n_inst <= 12 and types in (["INSTALLMENT"] * n_inst, ["DEPOSIT"] + ["INSTALLMENT"] * n_inst))
        )
        if not ok:
            raise ApiFailure(400, "INVALID_VALUE", f"payment request types {types} are not allowed")
        if n_inst and not self.invoices_plus:
            raise ApiFailure(400, "INVOICES_PLUS_REQUIRED", "installments need an Invoices Plus subscription")
        dues = [r.get("due_date") for r in requests]
        if any(not isinstance(d, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dues):
            raise ApiFailure(400, "INVALID_DATE", f"due dates {dues}")
        if types[0] == "DEPOSIT" and any(d <= dues[0] for d in dues[1:]):  # type: ignore[operator]
            raise ApiFailure(400, "INVALID_VALUE", "the deposit must be due before every other request")
        fixed = 0
        for r in requests:
            if r.get("automatic_payment_source") == "CARD_ON_FILE" and not r.get("card_id"):
                raise ApiFailure(400, "MISSING_REQUIRED_PARAMETER", "card_id for CARD_ON_FILE")
            if r["request_type"] == "BALANCE":
                continue
            m = r.get("fixed_amount_requested_money")
            if not m or m.get("currency") != total["currency"] or not isinstance(m.get("amount"), int):
                raise ApiFailure(400, "INVALID_VALUE", f"fixed_amount_requested_money {m}")
            fixed += m["amount"]
            r["computed_amount_money"] = dict(m)
        balance = total["amount"] - fixed
        if "BALANCE" in types:
            if balance <= 0:
                raise ApiFailure(400, "INVALID_VALUE", "nothing left for the balance")
            requests[-1]["computed_amount_money"] = {"amount": balance, "currency": total["currency"]}
        elif balance != 0:
            raise ApiFailure(400, "INVALID_VALUE", f"payment requests add up to {fixed}, order total {total}")
        for r in requests:
            r.setdefault("uid", str(uuid.uuid4()))
            r.setdefault("total_completed_amount_money", {"amount": 0, "currency": total["currency"]})
            r.setdefault("tipping_enabled", False)
            r.setdefault("automatic_payment_source", "NONE")

    def _create_invoice(self, *, payload: Json, query: Any) -> Json:
        invoice = json.loads(json.dumps(payload.get("invoice") or {}))
        order = self.orders.get(invoice.get("order_id", ""))
        if order is None:
            raise ApiFailure(400, "NOT_FOUND", f"order {invoice.get('order_id')}")
        if invoice.get("location_id") != order["location_id"]:
            raise ApiFailure(400, "INVALID_VALUE", "location_id differs from the order's")
        self._compute(invoice.get("payment_requests") or [], order["total_money"])
        number = next(self._ids)
        # Square completes what the request left out: every payment method flag, the recipient's
        # details from the customer profile, an invoice number, and the stored-card switch.
        methods = {"card": False, "square_gift_card": False, "bank_account": False, "buy_now_pay_later": False,
                   "cash_app_pay": False}
        methods.update(invoice.get("accepted_payment_methods") or {})
        recipient = dict(invoice.get("primary_recipient") or {})
        if recipient.get("customer_id"):
            recipient.setdefault("given_name", "Amelia")
            recipient.setdefault("family_name", "Earhart")
            recipient.setdefault("email_address", "amelia.earhart@example.com")
            recipient.setdefault("phone_number", "1-212-555-4240")
        invoice.update(
            id=f"inv:0-{number}FAKE", version=0, status="DRAFT", timezone=self.timezone,
            created_at=_stamp(self._now), updated_at=_stamp(self._now), accepted_payment_methods=methods,
            primary_recipient=recipient, invoice_number=f"{number:06d}",
            store_payment_method_enabled=bool(invoice.get("store_payment_method_enabled", False)),
        )
        self.invoices[invoice["id"]] = invoice
        self._created += 1
        return {"invoice": invoice}

    def _get_invoice(self, invoice_id: str, *, payload: Json, query: Any) -> Json:
        return {"invoice": self._invoice(invoice_id)}

    def _publish_invoice(self, invoice_id: str, *, payload: Json, query: Any) -> Json:
        invoice = self._invoice(invoice_id)
        self._check_version(invoice, payload.get("version"))
        if invoice["status"] != "DRAFT":
            raise ApiFailure(400, "BAD_REQUEST", f"invoice is {invoice['status']}, not DRAFT")
        invoice.update(status="UNPAID", version=invoice["version"] + 1, updated_at=_stamp(self._now),
                       public_url=f"https://squareup.invalid/pay-invoice/{invoice_id}",
                       next_payment_amount_money=dict(invoice["payment_requests"][0]["computed_amount_money"]))
        self._published[invoice_id] = self._now
        return {"invoice": invoice}

    def _update_invoice(self, invoice_id: str, *, payload: Json, query: Any) -> Json:
        invoice = self._invoice(invoice_id)
        change = payload.get("invoice") or {}
        self._check_version(invoice, change.get("version"))
        if invoice["status"] in ("PAID", "REFUNDED", "CANCELED", "FAILED", "PAYMENT_PENDING"):
            raise ApiFailure(400, "BAD_REQUEST", f"cannot update a {invoice['status']} invoice")
        clear = payload.get("fields_to_clear") or []
        old = {r["uid"]: r for r in invoice["payment_requests"]}
        removed = {m.group(1) for c in clear if (m := re.fullmatch(r"payment_requests\[(.+)\]", c))}
        new_requests = []
        if "payment_requests" in change:
            for r in change["payment_requests"]:
                uid = r.get("uid")
                if uid is not None and uid not in old:
                    raise ApiFailure(400, "INVALID_VALUE", f"no payment request {uid}")
                base = dict(old.get(uid, {}))
                paid = base.get("total_completed_amount_money", {}).get("amount", 0)
                if paid and (r.get("due_date") != base.get("due_date")):
                    raise ApiFailure(400, "INVALID_VALUE", f"payment request {uid} is paid")
                base.update(r)
                if base.get("request_type") == "BALANCE":  # Square computes a balance; it has no fixed amount
                    base.pop("computed_amount_money", None)
                    base.pop("fixed_amount_requested_money", None)
                new_requests.append(base)
            kept = {r.get("uid") for r in new_requests}
            for uid, r in old.items():
                if uid not in kept and uid not in removed:
                    new_requests.append(r)
            new_requests = [r for r in new_requests if r.get("uid") not in removed]
            self._compute(new_requests, self.orders[invoice["order_id"]]["total_money"])
            invoice["payment_requests"] = new_requests
        for name in ("description", "sale_or_service_date", "title"):
            if name in change:
                invoice[name] = change[name]
        invoice["version"] += 1
        invoice["updated_at"] = _stamp(self._now)
        return {"invoice": invoice}

    def _cancel_invoice(self, invoice_id: str, *, payload: Json, query: Any) -> Json:
        invoice = self._invoice(invoice_id)
        self._check_version(invoice, payload.get("version"))
        if invoice["status"] in ("DRAFT", "PAID", "REFUNDED", "CANCELED", "FAILED"):
            raise ApiFailure(400, "BAD_REQUEST", f"cannot cancel a {invoice['status']} invoice")
        invoice.update(status="CANCELED", version=invoice["version"] + 1, updated_at=_stamp(self._now))
        invoice.pop("next_payment_amount_money", None)
        self._queue_invoice_event("invoice.canceled", invoice_id)
        return {"invoice": invoice}

    def _delete_invoice(self, invoice_id: str, *, payload: Json, query: Any) -> Json:
        invoice = self._invoice(invoice_id)
        version = int((query.get("version") or ["-1"])[0])
        self._check_version(invoice, version)
        if invoice["status"] != "DRAFT":
            raise ApiFailure(400, "BAD_REQUEST", "only drafts can be deleted")
        del self.invoices[invoice_id]
        return {}

    # -- Payments (a card on file charged on demand) ----------------------------------

    def _create_payment(self, *, payload: Json, query: Any) -> Json:
        source = payload.get("source_id")
        amount = payload.get("amount_money") or {}
        if not isinstance(source, str) or not source:
            raise ApiFailure(400, "MISSING_REQUIRED_PARAMETER", "source_id")
        if not isinstance(amount.get("amount"), int) or amount["amount"] <= 0 or not amount.get("currency"):
            raise ApiFailure(400, "INVALID_VALUE", f"amount_money {amount}")
        if source.startswith("ccof:") and not payload.get("customer_id"):
            raise ApiFailure(400, "MISSING_REQUIRED_PARAMETER", "customer_id for a card on file")
        declined = _CARD_CODES.get(self._outcome(source))
        payment = self._new_payment(
            {"amount": amount["amount"], "currency": amount["currency"]}, card_id=source,
            location_id=payload.get("location_id"), customer_id=payload.get("customer_id"),
            reference_id=payload.get("reference_id"), note=payload.get("note"), failed=declined is not None,
        )
        self._created += 1
        self._queue_event("payment.created", "payment", payment["id"], payment)
        if declined:
            failure = ApiFailure(402, declined, "Authorization error", category="PAYMENT_METHOD_ERROR")
            failure.body["payment"] = payment
            raise failure
        return {"payment": payment}

    def _list_payments(self, *, payload: Json, query: Any) -> Json:
        """ListPayments as Square pages it: ``begin_time`` defaults to a year before ``end_time`` (now),
        oldest first unless ``sort_order=DESC``, at most ``limit`` (100) per page, then a ``cursor``."""
        def one(name: str) -> str | None:
            values = query.get(name) or [None]
            return str(values[0]) if values[0] is not None else None

        location = one("location_id")
        end = _parse(one("end_time") or _stamp(self._now))
        begin = _parse(one("begin_time") or _stamp(end - dt.timedelta(days=365)))
        total = one("total")
        limit = min(int(one("limit") or 100), 100)
        found = [
            p for p in self.payments.values()
            if (location is None or p.get("location_id") == location)
            and begin <= _parse(p["created_at"]) <= end
            and (total is None or p["total_money"]["amount"] == int(total))
        ]
        found.sort(key=lambda p: (p["created_at"], int(p["id"].split("_")[-1])), reverse=one("sort_order") == "DESC")
        offset = int(one("cursor") or 0)
        page = found[offset:offset + limit]
        answer: Json = {"payments": json.loads(json.dumps(page))} if page else {}
        if offset + limit < len(found):
            answer["cursor"] = str(offset + limit)
        return answer

    # -- Refunds ----------------------------------------------------------------

    def _refund(self, *, payload: Json, query: Any) -> Json:
        payment = self.payments.get(payload.get("payment_id", ""))
        if payment is None:
            raise ApiFailure(404, "NOT_FOUND", f"payment {payload.get('payment_id')}")
        if payment.get("status") != "COMPLETED":
            raise ApiFailure(400, "BAD_REQUEST", f"payment {payment['id']} is {payment.get('status')}")
        amount = payload["amount_money"]
        refunded = sum(r["amount_money"]["amount"] for r in self.refunds.values() if r["payment_id"] == payment["id"]
                       and r["status"] in ("PENDING", "COMPLETED"))
        if amount["currency"] != payment["amount_money"]["currency"]:
            raise ApiFailure(400, "INVALID_VALUE", "refund currency differs from the payment's")
        if amount["amount"] + refunded > payment["amount_money"]["amount"]:
            raise ApiFailure(400, "REFUND_AMOUNT_INVALID", "more than what is left of the payment")
        stamp = _stamp(self._now, millis=True)
        refund: Json = {
            "id": f"{payment['id']}_refund_{next(self._ids)}",
            "status": "PENDING",
            "location_id": payment.get("location_id"),
            "amount_money": dict(amount),
            "payment_id": payment["id"],
            "order_id": payment["order_id"],
            "created_at": stamp,
            "updated_at": stamp,
            "version": 1,
        }
        if payload.get("reason"):
            refund["reason"] = payload["reason"]
        self.refunds[refund["id"]] = refund
        payment.setdefault("refund_ids", []).append(refund["id"])
        self._created += 1
        self._queue_event("refund.created", "refund", refund["id"], refund)
        return {"refund": refund}

    def dashboard_refund(self, payment_id: str, amount: int, reason: str | None = None) -> str:
        """The seller refunds *amount* (minor units) of a payment in Square's dashboard; returns the refund id.

        ``refund.created`` is queued; the refund completes on the next advance.
        """
        with self._lock:
            payment = self.payments[payment_id]
            payload: Json = {"payment_id": payment_id,
                             "amount_money": {"amount": amount, "currency": payment["amount_money"]["currency"]}}
            if reason:
                payload["reason"] = reason
            return str(self._refund(payload=payload, query={})["refund"]["id"])

    def complete_refund(self, refund_id: str) -> None:
        """Settle a pending refund now (as Square does a moment later; :meth:`advance_to` does it too)."""
        with self._lock:
            refund = self.refunds[refund_id]
            if refund["status"] != "PENDING":
                return
            stamp = _stamp(self._now, millis=True)
            amount = refund["amount_money"]
            refund.update(status="COMPLETED", updated_at=stamp, version=refund["version"] + 1 if "version" in refund else 2)
            refund["processing_fee"] = [{"effective_at": stamp, "type": "INITIAL",
                                         "amount_money": {"amount": -(amount["amount"] * 29 // 1000),
                                                          "currency": amount["currency"]}}]
            payment = self.payments.get(refund["payment_id"])
            if payment is not None:
                done = sum(r["amount_money"]["amount"] for r in self.refunds.values()
                           if r["payment_id"] == payment["id"] and r["status"] == "COMPLETED")
                payment["refunded_money"] = {"amount": done, "currency": amount["currency"]}
                payment["updated_at"] = stamp
            self._queue_event("refund.updated", "refund", refund_id, refund)
