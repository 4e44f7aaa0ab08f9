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

No Square SDK is imported.

.. versionadded:: 0.2.0
   Moved here from payplan's own test suite.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from .server import RecordedRequest, Reply

__all__ = ["ApiFailure", "FakeSquare", "notification", "sign", "signed_delivery"]

Json = dict[str, Any]

SIGNATURE_HEADER = "x-square-hmacsha256-signature"
#: Cards on file the fake declines when charged on demand, with Square's error code.
DECLINED_CARDS = {"ccof:declined": "CARD_DECLINED", "ccof:expired": "CARD_EXPIRED"}
MERCHANT_ID = "MLFAKEMERCHANT"


def notification(
    kind: str,
    object_type: str,
    object_id: str,
    obj: Mapping[str, Any],
    *,
    event_id: str,
    created_at: str = "2027-01-01T15:00:00Z",
    merchant_id: str = MERCHANT_ID,
) -> Json:
    """A Square webhook notification of type *kind* carrying *obj* (an invoice, a refund...).

    *object_type* is Square's name for it (``"invoice"``, ``"refund"``,
    ``"payment"``); the object sits at ``data.object.<object_type>``.
    """
    return {
        "merchant_id": merchant_id,
        "type": kind,
        "event_id": event_id,
        "created_at": created_at,
        "data": {"type": object_type, "id": object_id, "object": {object_type: json.loads(json.dumps(obj))}},
    }


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


class FakeSquare:
    """The fake Square's state and rules; a :class:`FakeServer` responder (``FakeServer(FakeSquare())``)."""

    def __init__(self, *, invoices_plus: bool = True, timezone: str = "America/New_York") -> None:
        self.invoices_plus = invoices_plus
        self.timezone = timezone
        self.orders: dict[str, Json] = {}
        self.invoices: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.payments: dict[str, Json] = {}
        self._replay: dict[tuple[str, str], tuple[str, int, Json]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._created = 0

    # -- what tests drive (besides HTTP) -------------------------------------

    def created(self) -> int:
        """How many objects exist: orders, invoices (incl. deleted drafts) and refunds."""
        return self._created

    def pay(self, invoice_id: str, number: int, *, through: int | None = None,
            created_at: str | None = None) -> str:
        """Collect payment request *number* (1-based) in full, or with *through* every request up to that one,
        as ONE payment; the order gets a tender for it (as Square records an invoice payment). Returns the payment id."""
        with self._lock:
            invoice = self.invoices[invoice_id]
            paid = 0
            for request in invoice["payment_requests"][number - 1:(through or number)]:
                owed = request["computed_amount_money"]["amount"] - request.get(
                    "total_completed_amount_money", {"amount": 0})["amount"]
                request["total_completed_amount_money"] = dict(request["computed_amount_money"])
                paid += owed
            currency = invoice["payment_requests"][number - 1]["computed_amount_money"]["currency"]
            payment_id = f"pay_{next(self._ids)}"
            self.payments[payment_id] = {
                "id": payment_id,
                "order_id": invoice["order_id"],
                "amount_money": {"amount": paid, "currency": currency},
            }
            # Square links an invoice's payments to its order as tenders (Order.tenders[].payment_id).
            order = self.orders[invoice["order_id"]]
            tenders = order.setdefault("tenders", [])
            tenders.append({
                "id": f"tender_{payment_id}", "type": "CARD", "payment_id": payment_id,
                "location_id": order["location_id"], "transaction_id": order["id"],
                "amount_money": {"amount": paid, "currency": currency},
                "created_at": created_at or f"2027-01-01T{len(tenders):02d}:00:00Z",
            })
            done = all(
                r["total_completed_amount_money"]["amount"] >= r["computed_amount_money"]["amount"]
                for r in invoice["payment_requests"]
            )
            invoice["status"] = "PAID" if done else "PARTIALLY_PAID"
            invoice["version"] += 1
            return payment_id

    def event(self, kind: str, invoice_id: str, *, event_id: str | None = None,
              created_at: str = "2027-01-01T15:00:00Z") -> Json:
        """A Square notification of *kind* carrying the invoice as it is now."""
        with self._lock:
            return notification(
                kind, "invoice", invoice_id, self.invoices[invoice_id],
                event_id=event_id or f"evt_{next(self._ids)}", created_at=created_at,
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
        order.update(id=f"order_{next(self._ids)}", version=1, state="OPEN",
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
            r.setdefault("uid", f"uid_{next(self._ids)}")
            r.setdefault("total_completed_amount_money", {"amount": 0, "currency": total["currency"]})

    def _create_invoice(self, *, payload: Json, query: Any) -> Json:
        invoice = json.loads(json.dumps(payload.get("invoice") or {}))
        order = self.orders.get(invoice.get("order_id", ""))
        if order is None:
            raise ApiFailure(400, "NOT_FOUND", f"order {invoice.get('order_id')}")
        if invoice.get("location_id") != order["location_id"]:
            raise ApiFailure(400, "INVALID_VALUE", "location_id differs from the order's")
        self._compute(invoice.get("payment_requests") or [], order["total_money"])
        invoice.update(
            id=f"inv:{next(self._ids)}", version=0, status="DRAFT", timezone=self.timezone,
            created_at="2026-12-01T10:00:00Z", updated_at="2026-12-01T10:00:00Z",
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
        invoice.update(status="UNPAID", version=invoice["version"] + 1,
                       public_url=f"https://squareup.invalid/pay-invoice/{invoice_id}")
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
        return {"invoice": invoice}

    def _cancel_invoice(self, invoice_id: str, *, payload: Json, query: Any) -> Json:
        invoice = self._invoice(invoice_id)
        self._check_version(invoice, payload.get("version"))
        if invoice["status"] in ("DRAFT", "PAID", "REFUNDED", "CANCELED", "FAILED"):
            raise ApiFailure(400, "BAD_REQUEST", f"cannot cancel a {invoice['status']} invoice")
        invoice.update(status="CANCELED", version=invoice["version"] + 1)
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
        payment_id = f"pay_{next(self._ids)}"
        declined = DECLINED_CARDS.get(source)
        payment = {
            "id": payment_id, "status": "FAILED" if declined else "COMPLETED",
            "amount_money": dict(amount), "total_money": dict(amount), "source_type": "CARD",
            "location_id": payload.get("location_id"), "customer_id": payload.get("customer_id"),
            "reference_id": payload.get("reference_id"), "note": payload.get("note"),
            "card_details": {"status": "FAILED" if declined else "CAPTURED", "card": {"card_brand": "VISA", "last_4": "1111"}},
            "created_at": "2027-01-05T10:00:00Z", "updated_at": "2027-01-05T10:00:00Z",
        }
        self.payments[payment_id] = payment
        self._created += 1
        if declined:
            failure = ApiFailure(402, declined, "Authorization error", category="PAYMENT_METHOD_ERROR")
            failure.body["payment"] = payment
            raise failure
        return {"payment": payment}

    def _list_payments(self, *, payload: Json, query: Any) -> Json:
        location = (query.get("location_id") or [None])[0]
        found = [p for p in self.payments.values() if location is None or p.get("location_id") == location]
        return {"payments": json.loads(json.dumps(found))}

    # -- Refunds ----------------------------------------------------------------

    def _refund(self, *, payload: Json, query: Any) -> Json:
        payment = self.payments.get(payload.get("payment_id", ""))
        if payment is None:
            raise ApiFailure(404, "NOT_FOUND", f"payment {payload.get('payment_id')}")
        amount = payload["amount_money"]
        refunded = sum(r["amount_money"]["amount"] for r in self.refunds.values() if r["payment_id"] == payment["id"])
        if amount["currency"] != payment["amount_money"]["currency"]:
            raise ApiFailure(400, "INVALID_VALUE", "refund currency differs from the payment's")
        if amount["amount"] + refunded > payment["amount_money"]["amount"]:
            raise ApiFailure(400, "REFUND_AMOUNT_INVALID", "more than what is left of the payment")
        refund = {
            "id": f"refund_{next(self._ids)}",
            "status": "PENDING",
            "amount_money": dict(amount),
            "payment_id": payment["id"],
            "order_id": payment["order_id"],
            "reason": payload.get("reason"),
            "created_at": "2027-01-02T10:00:00Z",
        }
        self.refunds[refund["id"]] = refund
        self._created += 1
        return {"refund": refund}

    def complete_refund(self, refund_id: str) -> None:
        """Settle a pending refund (as Square does a moment later)."""
        with self._lock:
            self.refunds[refund_id]["status"] = "COMPLETED"
