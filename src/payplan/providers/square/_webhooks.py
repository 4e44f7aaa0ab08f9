"""Square webhook verification and normalization into :class:`ProviderEvent` values.

Square signs ``notification_url + body`` with HMAC-SHA256 under the
subscription's signature key and sends the base64 digest in the
``x-square-hmacsha256-signature`` header; the SDK's
``square.utils.webhooks_helper.verify_signature`` checks it.

Events payplan reads:

* ``invoice.payment_made``: every payment request fully paid becomes a
  ``PAYMENT_SUCCEEDED`` event dated by the payment (the order's tender) that
  completed it, whose id is derived from the invoice and the request, so a
  replayed notification, a later one, or reconciliation, counts it once and
  a payment that completed two requests gives two events. Where the order
  shows no payments, the last request fully paid is the one reported
  (Square applies payments in order), dated by the notification; a partial
  payment gives no event until the request is fully paid;
* ``invoice.scheduled_charge_failed``: the unpaid request due last by the
  notification's day (Square charges each on its due date; an earlier one
  declined stays unpaid beside it), else the first unpaid one, becomes a
  ``PAYMENT_FAILED`` event (id from Square's event id);
* ``invoice.canceled``: ``PLAN_CANCELED``;
* ``refund.created`` / ``refund.updated`` with status ``COMPLETED``:
  ``REFUNDED`` (the plan is found through the refund's order); a refund
  whose ``reason`` starts with payplan's goodwill mark (a refund asked for
  with ``lowers_price=True``) has ``lowers_price``, any other (one made in
  Square's dashboard) is a reversal.

Everything else is acknowledged and ignored (no events).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from square.utils.webhooks_helper import verify_signature

from ..._money import Money
from ...exceptions import InvalidPlanError, ProviderAuthError, ProviderRequestError
from .. import EventKind, ProviderEvent
from .._payload import Fields
from ._mapping import PROVIDER, plan_id_from_description, read_refund_reason

__all__ = ["SIGNATURE_HEADER", "invoice_state", "normalize", "sign", "verify"]

SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def sign(body: bytes, *, signature_key: str, notification_url: str) -> str:
    """The signature Square would send for *body* (for tests and local fakes)."""
    digest = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(
    headers: Mapping[str, str], body: bytes, *, signature_key: str, notification_url: str
) -> dict[str, Any]:
    """Check the signature of one delivery and return its JSON payload.

    Raises:
        ProviderAuthError: the header is missing or the signature does not match.
        ProviderRequestError: the body is not a JSON Square event.
    """
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise ProviderAuthError(
            f"expected a {SIGNATURE_HEADER} header on the Square webhook, got headers {sorted(headers)}",
            provider=PROVIDER,
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProviderRequestError("expected a UTF-8 JSON Square event body", provider=PROVIDER) from None
    if not verify_signature(
        request_body=text,
        signature_header=signature,
        signature_key=signature_key,
        notification_url=notification_url,
    ):
        raise ProviderAuthError(
            "the Square webhook signature does not match this body and notification URL "
            f"({notification_url}); check the signature key and the URL Square posts to",
            provider=PROVIDER,
        )
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise ProviderRequestError(f"expected a JSON Square event, got {exc}", provider=PROVIDER) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise ProviderRequestError(
            "expected a Square event object with a 'type', got " + type(payload).__name__,
            provider=PROVIDER,
        )
    return payload


def _timestamp(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise ProviderRequestError(f"expected an RFC 3339 created_at, got {value!r}", provider=PROVIDER)
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ProviderRequestError(
            f"expected an RFC 3339 created_at, got {value!r}", provider=PROVIDER
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _local_date(when: dt.datetime, timezone: object) -> dt.date:
    if isinstance(timezone, str) and timezone:
        try:
            return when.astimezone(zoneinfo.ZoneInfo(timezone)).date()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return when.astimezone(dt.UTC).date()


def _money(value: object) -> Money | None:
    if not isinstance(value, Mapping):
        return None
    amount, currency = value.get("amount"), value.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    try:
        return Money(amount, currency)
    except InvalidPlanError:
        return None


def _strict_money(read: Fields, node: Mapping[str, Any], key: str, path: str, *, minimum: int = 0) -> Money:
    """The Square Money object at *key* (whole minor units and a currency code), or a payplan error naming it."""
    value = read.mapping(node, key, path)
    amount = read.integer(value, "amount", f"{path}.amount", minimum=minimum)
    currency = read.text(value, "currency", f"{path}.currency")
    try:
        return Money(amount, currency)
    except InvalidPlanError as exc:
        raise read.error(f"{path}.currency", "an ISO 4217 currency code", currency) from exc


def _minor(value: object) -> int:
    found = _money(value)
    return found.minor if found is not None else 0


def _ordered_requests(invoice: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # Request n is installment n; Square keeps them in the order they were sent,
    # and a stable sort by (deposit first, due date) keeps that order too.
    requests = [r for r in invoice.get("payment_requests") or [] if isinstance(r, Mapping)]
    return sorted(requests, key=lambda r: (r.get("request_type") != "DEPOSIT", str(r.get("due_date") or "")))


def _paid(
    plan_id: str,
    invoice_id: str,
    number: int,
    request: Mapping[str, Any],
    due: Money,
    on: dt.date,
    sequence: int,
    reference: str | None = None,
) -> ProviderEvent:
    uid = request.get("uid") or f"#{number}"
    return ProviderEvent(
        id=f"{PROVIDER}:{invoice_id}:{uid}:paid",
        provider=PROVIDER,
        kind=EventKind.PAYMENT_SUCCEEDED,
        plan_id=plan_id,
        occurred_on=on,
        installment=number,
        amount=due,
        reference=reference,
        sequence=sequence,
    )


#: Reads the payments (tenders) of an order: (time, amount in minor units, payment id), in any order.
OrderTenders = Callable[[str], list[tuple[dt.datetime, int, str | None]]]


def _completed_by_tenders(
    invoice: Mapping[str, Any], requests: list[Mapping[str, Any]], order_tenders: OrderTenders | None
) -> list[tuple[int, Mapping[str, Any], Money, dt.datetime, str | None]] | None:
    """Every fully paid request with the time of the payment that completed it, or None when unknown.

    Square applies payments to an invoice's requests in order; the order's
    tenders say when each payment was made and for how much. A payment that
    paid exactly one request is that request's reference (to refund it).
    """
    order_id = invoice.get("order_id")
    if order_tenders is None or not isinstance(order_id, str) or not order_id:
        return None
    tenders = sorted(order_tenders(order_id), key=lambda t: (t[0], t[2] or ""))
    paid: list[tuple[int, Mapping[str, Any], Money]] = []
    for number, request in enumerate(requests, 1):
        due = _money(request.get("computed_amount_money"))
        if due is None or _minor(request.get("total_completed_amount_money")) < due.minor:
            # Not (fully) paid: autopay still charges the later requests on their own dates
            # (a declined installment 2 does not stop installment 3), so look past it.
            continue
        paid.append((number, request, due))
    if not paid:
        return None
    out: list[tuple[int, Mapping[str, Any], Money, dt.datetime, str | None]] = []
    needed = 0
    for number, request, due in paid:
        before = needed
        needed += due.minor
        running = 0
        found: tuple[dt.datetime, str | None] | None = None
        for at, amount, payment in tenders:
            start = running
            running += amount
            if running >= needed:
                exact = start == before and amount == due.minor
                found = (at, payment if exact else None)
                break
        if found is None:
            return None  # the order does not show the payments: fall back to the notification
        out.append((number, request, due, found[0], found[1]))
    return out


def invoice_state(invoice: Mapping[str, Any], order_tenders: OrderTenders | None = None) -> tuple[ProviderEvent, ...]:
    """Events for what an invoice shows now: every fully paid request, and its cancellation.

    Used to reconcile: the ids are those webhooks give, so a payment already
    recorded from a webhook is recognized. With *order_tenders* each payment
    is dated by the tender that completed it (as webhooks date it);
    without, dates and ordering hints come from the invoice's ``updated_at``.
    """
    plan_id = plan_id_from_description(invoice.get("description"))
    if plan_id is None:
        return ()
    when = _timestamp(invoice.get("updated_at") or invoice.get("created_at") or "1970-01-01T00:00:00Z")
    on = _local_date(when, invoice.get("timezone"))
    sequence = int(when.timestamp() * 1_000_000)
    invoice_id = str(invoice.get("id") or "")
    events: list[ProviderEvent] = []
    dated = _completed_by_tenders(invoice, _ordered_requests(invoice), order_tenders)
    if dated is not None:  # the same events, dated by their payments, as the webhooks give
        events.extend(
            _paid(plan_id, invoice_id, n, r, due, _local_date(t, invoice.get("timezone")), int(t.timestamp() * 1_000_000),
                  payment)
            for n, r, due, t, payment in dated
        )
    for number, request in enumerate(() if dated is not None else _ordered_requests(invoice), 1):
        due = _money(request.get("computed_amount_money"))
        if due is not None and _minor(request.get("total_completed_amount_money")) >= due.minor:
            events.append(_paid(plan_id, invoice_id, number, request, due, on, sequence))
    if invoice.get("status") == "CANCELED":
        events.extend(
            _invoice_events("invoice.canceled", {"data": {"object": {"invoice": invoice}}}, when)
        )
    return tuple(events)


def _invoice_events(
    kind: str, payload: Mapping[str, Any], when: dt.datetime, order_tenders: OrderTenders | None = None
) -> tuple[ProviderEvent, ...]:
    read = Fields(PROVIDER, f"square {kind} notification")
    data = read.mapping(payload, "data", "data")
    obj = read.mapping(data, "object", "data.object")
    invoice = read.mapping(obj, "invoice", "data.object.invoice")
    plan_id = plan_id_from_description(read.optional_text(invoice, "description", "data.object.invoice.description"))
    if plan_id is None:
        return ()  # not an invoice payplan published
    invoice_id = read.optional_text(invoice, "id", "data.object.invoice.id") or read.text(data, "id", "data.id")
    read.optional_text(invoice, "timezone", "data.object.invoice.timezone")
    read.optional_text(invoice, "order_id", "data.object.invoice.order_id")
    for n, request in enumerate(read.items(invoice, "payment_requests", "data.object.invoice.payment_requests",
                                           optional=True)):
        path = f"data.object.invoice.payment_requests[{n}]"
        read.optional_text(request, "uid", f"{path}.uid")
        read.optional_text(request, "due_date", f"{path}.due_date")
        read.optional_text(request, "request_type", f"{path}.request_type")
        _strict_money(read, request, "computed_amount_money", f"{path}.computed_amount_money", minimum=1)
        if request.get("total_completed_amount_money") is not None:
            _strict_money(read, request, "total_completed_amount_money", f"{path}.total_completed_amount_money")
    on = _local_date(when, invoice.get("timezone"))
    sequence = int(when.timestamp() * 1_000_000)
    requests = _ordered_requests(invoice)
    if kind == "invoice.payment_made":
        dated = _completed_by_tenders(invoice, requests, order_tenders)
        if dated is not None:
            # Each request fully paid, dated by the payment that completed it: a payment
            # that completed two requests gives both, and every notification gives the
            # same events for the same requests.
            return tuple(_paid(plan_id, invoice_id, n, r, due, _local_date(t, invoice.get("timezone")),
                               int(t.timestamp() * 1_000_000), payment) for n, r, due, t, payment in dated)
        # Without the order's payments: the notification carries the invoice as it was
        # just after the payment; Square applies payments to requests in order, so the
        # payment it reports completed the last request now fully paid.
        last: tuple[int, Mapping[str, Any], Money] | None = None
        for number, request in enumerate(requests, 1):
            due = _money(request.get("computed_amount_money"))
            if due is not None and _minor(request.get("total_completed_amount_money")) >= due.minor:
                last = (number, request, due)
        if last is None:
            return ()  # a partial payment: nothing is fully paid yet
        number, request, due = last
        return (_paid(plan_id, invoice_id, number, request, due, on, sequence),)
    if kind == "invoice.scheduled_charge_failed":
        # The notification does not say which request failed: Square charges each on its due date,
        # so it is the unpaid request due last by the notification's day (an earlier declined one
        # stays unpaid beside it), else the first unpaid one.
        unpaid = [
            (number, request, due) for number, request in enumerate(requests, 1)
            if (due := _money(request.get("computed_amount_money"))) is not None
            and _minor(request.get("total_completed_amount_money")) < due.minor
        ]
        came = [u for u in unpaid if str(u[1].get("due_date") or "") <= on.isoformat()]
        failed = came[-1:] or unpaid[:1]
        if not failed:
            return ()
        number, _, due = failed[0]
        return (
            ProviderEvent(
                id=f"{PROVIDER}:{payload.get('event_id') or invoice_id + ':' + str(sequence)}",
                provider=PROVIDER,
                kind=EventKind.PAYMENT_FAILED,
                plan_id=plan_id,
                occurred_on=on,
                installment=number,
                amount=due,
                reason="scheduled_charge_failed",
                sequence=sequence,
            ),
        )
    # invoice.canceled
    return (
        ProviderEvent(
            id=f"{PROVIDER}:{invoice_id}:canceled",
            provider=PROVIDER,
            kind=EventKind.PLAN_CANCELED,
            plan_id=plan_id,
            occurred_on=on,
            reason="invoice.canceled",
            sequence=sequence,
        ),
    )


def _refund_events(
    payload: Mapping[str, Any], when: dt.datetime, resolve_order: Callable[[str], str | None]
) -> tuple[ProviderEvent, ...]:
    read = Fields(PROVIDER, "square refund notification")
    data = read.mapping(payload, "data", "data")
    obj = read.mapping(data, "object", "data.object")
    refund = read.mapping(obj, "refund", "data.object.refund")
    if read.optional_text(refund, "status", "data.object.refund.status") != "COMPLETED":
        return ()
    order_id = read.optional_text(refund, "order_id", "data.object.refund.order_id")
    plan_id = resolve_order(order_id) if order_id else None
    if plan_id is None:
        return ()
    refund_id = read.text(refund, "id", "data.object.refund.id")
    amount = _strict_money(read, refund, "amount_money", "data.object.refund.amount_money", minimum=1)
    reason, lowers_price = read_refund_reason(read.optional_text(refund, "reason", "data.object.refund.reason"))
    return (
        ProviderEvent(
            id=f"{PROVIDER}:{refund_id}:refunded",
            provider=PROVIDER,
            kind=EventKind.REFUNDED,
            plan_id=plan_id,
            occurred_on=when.astimezone(dt.UTC).date(),
            amount=amount,
            reference=read.optional_text(refund, "payment_id", "data.object.refund.payment_id"),
            reason=reason,
            sequence=int(when.timestamp() * 1_000_000),
            lowers_price=lowers_price,
        ),
    )


_INVOICE_KINDS = frozenset({"invoice.payment_made", "invoice.scheduled_charge_failed", "invoice.canceled"})
_REFUND_KINDS = frozenset({"refund.created", "refund.updated"})


def normalize(
    payload: Mapping[str, Any],
    *,
    resolve_order: Callable[[str], str | None],
    order_tenders: OrderTenders | None = None,
) -> tuple[ProviderEvent, ...]:
    """The payplan events one verified Square notification carries.

    *resolve_order* maps a Square order id to the payplan plan id (or None
    for an order payplan did not create); it is called only for refunds,
    whose payload does not name the invoice. *order_tenders* reads the
    payments of the invoice's order, so an ``invoice.payment_made`` gives
    every request fully paid, each dated by the payment that completed it
    (one payment covering two requests gives two events).

    Raises:
        ProviderRequestError: the payload lacks the object its type promises.
    """
    if not isinstance(payload, Mapping):
        raise ProviderRequestError(f"expected a Square notification object, got {type(payload).__name__}", provider=PROVIDER)
    kind = payload.get("type")
    if not isinstance(kind, str) or (kind not in _INVOICE_KINDS and kind not in _REFUND_KINDS):
        return ()
    when = Fields(PROVIDER, f"square {kind} notification").rfc3339(payload, "created_at", "created_at")
    if kind in _INVOICE_KINDS:
        return _invoice_events(kind, payload, when, order_tenders)
    return _refund_events(payload, when, resolve_order)
