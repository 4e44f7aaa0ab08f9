"""Stripe webhook verification and normalization into payplan events.

Events payplan reads, as Stripe sends them (built in the tests from Stripe's
own example objects):

* ``invoice.paid``: ``PAYMENT_SUCCEEDED`` for ``amount_paid``, once per
  invoice whichever event says so;
* ``invoice.payment_failed`` / ``invoice.payment_action_required``;
* ``refund.created`` / ``refund.updated`` / ``refund.failed``: sent for every
  refund since API version 2024-10-28.acacia, with the refund object. A
  refund that is ``pending`` or ``succeeded`` is ``REFUNDED`` (Stripe takes
  the money from the balance when the refund is created); the id comes from
  the refund, so the created and updated events count it once. A failed
  refund gives the refund and its reversal (a ``PAYMENT_SUCCEEDED`` of the
  same amount, reason ``refund_failed``): the two cancel out whether or not
  the refund was recorded before. A refund payplan asked for as a goodwill
  refund (metadata ``payplan_lowers_price="true"``) is a ``REFUNDED`` event
  with ``lowers_price``: the ledger records it as a price reduction;
* ``charge.refunded``: since API version 2022-11-15 a charge no longer lists
  its refunds, and an invoice's charge carries no payplan metadata. The
  refunds it lists, or that the adapter reads for it (the charge's
  ``amount_refunded`` says there are some), become the same events as the
  refund events above;
* ``subscription_schedule.canceled``: ``PLAN_CANCELED``.

A refund made in Stripe's dashboard carries no payplan metadata: the
adapter finds its plan from the payment it refunds (the invoice that
payment paid).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import stripe

from ..._money import Money
from ...exceptions import (
    InvalidPlanError,
    ProviderAuthError,
    ProviderRequestError,
    UnsupportedByProviderError,
)
from .. import EventKind, ProviderEvent
from .._payload import Fields
from ._errors import stripe_errors
from ._mapping import META_INSTALLMENT, META_LOWERS_PRICE, META_PLAN, NAME, from_stripe_amount

SIGNATURE_HEADER = "Stripe-Signature"

#: Stripe event types payplan turns into events. Every other type is
#: ignored on purpose (parse_webhook returns no events for it).
MAPPED = frozenset(
    {
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.payment_action_required",
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.refunded",
        "subscription_schedule.canceled",
    }
)

_REFUND_KINDS = frozenset({"refund.created", "refund.updated", "refund.failed"})
#: Refund statuses for which Stripe has taken the money from the balance.
_REFUND_MOVED = frozenset({"pending", "succeeded", "failed"})

#: Finds (plan id, installment) for a payment: (payment intent, charge) -> None when not payplan's.
PlanOfPayment = Callable[[str | None, str | None], tuple[str, int | None] | None]
#: Lists the refund objects (as dicts) of a charge.
RefundsOfCharge = Callable[[str], Sequence[Mapping[str, Any]]]
#: The decline code of an invoice's last failed payment attempt, or None when it cannot be read.
DeclineOf = Callable[[str], str | None]


def verify(
    headers: Mapping[str, str], body: bytes, secret: str | None, tolerance: int, now: float | None = None
) -> dict[str, Any]:
    """Check the ``Stripe-Signature`` of *body*; return the event as a dict.

    The signature is checked by the SDK; its age (the header's ``t=``)
    against *now* (the adapter's clock; the SDK's own check reads the
    system clock, which a test clock cannot move).

    Raises:
        ProviderAuthError: no secret configured, no header, a wrong or stale signature.
        ProviderRequestError: the body is not a Stripe event.
    """
    if not secret:
        raise ProviderAuthError(
            "expected a webhook_secret (whsec_...) on the StripeProvider to verify webhooks, got none",
            provider=NAME,
        )
    header = next((v for k, v in headers.items() if str(k).lower() == SIGNATURE_HEADER.lower()), None)
    if not header or not isinstance(header, str):
        raise ProviderAuthError(f"expected a {SIGNATURE_HEADER} header, got none", provider=NAME)
    with stripe_errors():
        stripe.WebhookSignature.verify_header(
            body.decode("utf-8", "replace"), header, secret, None if now is not None else tolerance
        )
    if now is not None:
        _check_age(header, now, tolerance)
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise ProviderRequestError(f"expected a JSON Stripe event, got {body[:60]!r}", provider=NAME) from exc
    if not isinstance(event, dict) or event.get("object") != "event" or not isinstance(event.get("type"), str):
        raise ProviderRequestError(f"expected a Stripe event object, got {body[:60]!r}", provider=NAME)
    return event


def _check_age(header: str, now: float, tolerance: int) -> None:
    """Refuse a signature whose timestamp is more than *tolerance* seconds from *now*."""
    stamps = [p.split("=", 1)[1] for p in header.split(",") if p.strip().startswith("t=")]
    try:
        signed = int(stamps[0].strip())
    except (IndexError, ValueError):
        raise ProviderAuthError(f"expected a {SIGNATURE_HEADER} with a t=<unix time>, got none", provider=NAME) from None
    if tolerance and abs(now - signed) > tolerance:
        raise ProviderAuthError(
            f"expected a {SIGNATURE_HEADER} signed within {tolerance}s of the adapter's clock ({int(now)}), "
            f"got one signed at {signed}, {int(now - signed)}s away",
            provider=NAME,
        )


def normalize(
    event: Mapping[str, Any],
    *,
    plan_of_payment: PlanOfPayment | None = None,
    refunds_of_charge: RefundsOfCharge | None = None,
    decline_of: DeclineOf | None = None,
) -> tuple[ProviderEvent, ...]:
    """The payplan events one Stripe event carries (none for ignored types or other businesses' objects).

    Args:
        event: The verified event as a dict.
        plan_of_payment: Finds the plan of a refund without payplan metadata
            from the payment it refunds; without it such refunds give no events.
        refunds_of_charge: Reads a charge's refunds when a ``charge.refunded``
            event does not list them.
        decline_of: Reads the decline code of a failed invoice payment (an
            invoice carries none since API 2025-03-31.basil); without it, or
            when it finds none, the reason is ``payment_failed`` (or
            ``authentication_required``).

    Raises:
        ProviderRequestError: a mapped event whose object is malformed (the
            message names the field) or moves no money, a negative or a
            zero amount.
    """
    if not isinstance(event, Mapping):
        raise ProviderRequestError(f"expected a Stripe event object, got {type(event).__name__}", provider=NAME)
    kind = event.get("type")
    if not isinstance(kind, str) or kind not in MAPPED:
        return ()
    read = Fields(NAME, f"stripe {kind} event {str(event.get('id'))[:40]!r}")
    try:
        return _normalize(read, event, str(kind), plan_of_payment, refunds_of_charge, decline_of)
    except (InvalidPlanError, UnsupportedByProviderError) as exc:
        raise ProviderRequestError(f"{read.what}: {exc}", provider=NAME) from exc


def _money(read: Fields, obj: Mapping[str, Any], key: str, path: str) -> Money:
    units = read.integer(obj, key, f"{path}.{key}", minimum=1)
    currency = read.text(obj, "currency", f"{path}.currency")
    return from_stripe_amount(units, currency)


def _normalize(
    read: Fields,
    event: Mapping[str, Any],
    kind: str,
    plan_of_payment: PlanOfPayment | None,
    refunds_of_charge: RefundsOfCharge | None,
    decline_of: DeclineOf | None = None,
) -> tuple[ProviderEvent, ...]:
    event_id = read.text(event, "id", "id")
    created = read.integer(event, "created", "created", maximum=253_402_300_799)
    data = read.mapping(event, "data", "data")
    obj = read.mapping(data, "object", "data.object")
    occurred = dt.datetime.fromtimestamp(created, dt.UTC).date()
    if kind.startswith("invoice."):
        return _invoice(read, kind, event_id, created, occurred, obj, decline_of)
    if kind in _REFUND_KINDS:
        return _refund(read, obj, "data.object", created, plan_of_payment, failed=kind == "refund.failed")
    if kind == "charge.refunded":
        charge_id = read.text(obj, "id", "data.object.id")
        refunded = read.integer(obj, "amount_refunded", "data.object.amount_refunded")
        listed = read.items(read.mapping(obj, "refunds", "data.object.refunds", optional=True), "data",
                            "data.object.refunds.data", optional=True)
        if refunds_of_charge is not None and refunded > 0:
            listed = refunds_of_charge(charge_id)
        events: list[ProviderEvent] = []
        for n, refund in enumerate(listed):
            events.extend(_refund(read, refund, f"data.object.refunds.data[{n}]", created, plan_of_payment,
                                  failed=refund.get("status") == "failed"))
        return tuple(events)
    # subscription_schedule.canceled
    plan_id = read.metadata(obj, "metadata", "data.object.metadata").get(META_PLAN)
    if not plan_id:
        return ()
    schedule_id = read.text(obj, "id", "data.object.id")
    return (
        ProviderEvent(
            id=f"{NAME}:{schedule_id}:canceled",
            provider=NAME,
            kind=EventKind.PLAN_CANCELED,
            plan_id=plan_id,
            occurred_on=occurred,
            reference=schedule_id,
            sequence=created,
        ),
    )


def _invoice(
    read: Fields,
    kind: str,
    event_id: str,
    created: int,
    occurred: dt.date,
    obj: Mapping[str, Any],
    decline_of: DeclineOf | None = None,
) -> tuple[ProviderEvent, ...]:
    plan_id = _plan_id(read, obj)
    if plan_id is None:
        return ()
    invoice_id = read.text(obj, "id", "data.object.id")
    installment = _installment(read, obj)
    if kind == "invoice.paid":
        return (
            ProviderEvent(
                id=f"{NAME}:{invoice_id}:paid",  # an invoice is paid once, whichever event says so
                provider=NAME,
                kind=EventKind.PAYMENT_SUCCEEDED,
                plan_id=plan_id,
                occurred_on=occurred,
                installment=installment,
                amount=_money(read, obj, "amount_paid", "data.object"),
                reference=invoice_id,
                sequence=created,
            ),
        )
    failed = kind == "invoice.payment_failed"
    error = read.mapping(obj, "last_finalization_error", "data.object.last_finalization_error", optional=True)
    code = read.optional_text(error, "code", "data.object.last_finalization_error.code")
    if code is None and decline_of is not None:
        code = decline_of(invoice_id)
    return (
        ProviderEvent(
            id=f"{NAME}:{event_id}",
            provider=NAME,
            kind=EventKind.PAYMENT_FAILED if failed else EventKind.PAYMENT_ACTION_REQUIRED,
            plan_id=plan_id,
            occurred_on=occurred,
            installment=installment,
            amount=_money(read, obj, "amount_due", "data.object"),
            reference=invoice_id,
            reason=code or ("payment_failed" if failed else "authentication_required"),
            sequence=created,
        ),
    )


def _refund(
    read: Fields,
    refund: Mapping[str, Any],
    path: str,
    event_created: int,
    plan_of_payment: PlanOfPayment | None,
    *,
    failed: bool,
) -> tuple[ProviderEvent, ...]:
    refund_id = read.text(refund, "id", f"{path}.id")
    status = read.text(refund, "status", f"{path}.status")
    if status not in _REFUND_MOVED:
        return ()  # requires_action or canceled: no money has left
    meta = read.metadata(refund, "metadata", f"{path}.metadata")
    plan_id: str | None = meta.get(META_PLAN) or None
    installment = _number(read, meta, f"{path}.metadata.{META_INSTALLMENT}")
    # Only payplan's own refunds carry the word; a dashboard refund is a reversal.
    lowers_price = plan_id is not None and meta.get(META_LOWERS_PRICE) == "true"
    if plan_id is None:
        if plan_of_payment is None:
            return ()
        found = plan_of_payment(
            read.ident(refund, "payment_intent", f"{path}.payment_intent"), read.ident(refund, "charge", f"{path}.charge")
        )
        if found is None:
            return ()
        plan_id, installment = found
    amount = _money(read, refund, "amount", path)
    # The refund's own creation time, so refund.created and refund.updated give equal events.
    created = read.optional_integer(refund, "created", f"{path}.created", maximum=253_402_300_799) or event_created
    on = dt.datetime.fromtimestamp(created, dt.UTC).date()
    payment = read.ident(refund, "payment_intent", f"{path}.payment_intent") or read.ident(
        refund, "charge", f"{path}.charge"
    )
    refunded = ProviderEvent(
        id=f"{NAME}:{refund_id}:refunded",
        provider=NAME,
        kind=EventKind.REFUNDED,
        plan_id=plan_id,
        occurred_on=on,
        installment=installment,
        amount=amount,
        reference=refund_id,
        reason=meta.get("payplan_reason") or read.optional_text(refund, "reason", f"{path}.reason"),
        sequence=created,
        lowers_price=lowers_price,
    )
    if not failed:
        return (refunded,)
    when = max(event_created, created + 1)
    reversal = ProviderEvent(
        id=f"{NAME}:{refund_id}:refund_failed",
        provider=NAME,
        kind=EventKind.PAYMENT_SUCCEEDED,
        plan_id=plan_id,
        occurred_on=dt.datetime.fromtimestamp(when, dt.UTC).date(),
        installment=installment,
        amount=amount,
        reference=payment or refund_id,
        reason="refund_failed:" + (read.optional_text(refund, "failure_reason", f"{path}.failure_reason") or "unknown"),
        sequence=when,
    )
    return (refunded, reversal)


def _number(read: Fields, meta: Mapping[str, str], path: str) -> int | None:
    value = meta.get(META_INSTALLMENT)
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise read.error(path, "an installment number from 1 to 10000", value)
    return int(value)


def _plan_id(read: Fields, invoice: Mapping[str, Any]) -> str | None:
    meta = read.metadata(invoice, "metadata", "data.object.metadata")
    if meta.get(META_PLAN):
        return meta[META_PLAN]
    parent = read.mapping(invoice, "parent", "data.object.parent", optional=True)
    details = read.mapping(parent, "subscription_details", "data.object.parent.subscription_details", optional=True)
    sub = read.metadata(details, "metadata", "data.object.parent.subscription_details.metadata")
    return sub.get(META_PLAN) or None


def _installment(read: Fields, invoice: Mapping[str, Any]) -> int | None:
    meta = read.metadata(invoice, "metadata", "data.object.metadata")
    number = _number(read, meta, f"data.object.metadata.{META_INSTALLMENT}")
    if number is not None:
        return number
    lines = read.items(read.mapping(invoice, "lines", "data.object.lines", optional=True), "data",
                       "data.object.lines.data", optional=True)
    numbers = set()
    for n, line in enumerate(lines):
        path = f"data.object.lines.data[{n}].metadata"
        found = _number(read, read.metadata(line, "metadata", path), f"{path}.{META_INSTALLMENT}")
        if found is not None:
            numbers.add(found)
    return numbers.pop() if len(numbers) == 1 else None


def refund_events(refund: Mapping[str, Any], *, plan_id: str, installment: int | None) -> tuple[ProviderEvent, ...]:
    """The events a refund object read from Stripe's API gives, for a payment of *plan_id* (reconciliation).

    The ids are those the refund's webhooks give, so a refund already
    recorded from a webhook is recognized.

    Raises:
        ProviderRequestError: the refund object is malformed.
    """
    read = Fields(NAME, f"stripe refund {str(refund.get('id'))[:40]!r}")
    created = read.integer(refund, "created", "created", maximum=253_402_300_799)
    try:
        return _refund(
            read, refund, "refund", created, lambda _intent, _charge: (plan_id, installment),
            failed=refund.get("status") == "failed",
        )
    except (InvalidPlanError, UnsupportedByProviderError) as exc:
        raise ProviderRequestError(f"{read.what}: {exc}", provider=NAME) from exc
