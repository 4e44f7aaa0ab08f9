"""Stripe webhook verification and normalization into payplan events."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import stripe

from ...exceptions import ProviderAuthError, ProviderRequestError, UnsupportedByProviderError
from .. import EventKind, ProviderEvent, refund_entry_id
from ._errors import stripe_errors
from ._mapping import META_INSTALLMENT, META_PLAN, NAME, from_stripe_amount

SIGNATURE_HEADER = "Stripe-Signature"

#: Stripe event types payplan turns into events. Every other type is
#: ignored on purpose (parse_webhook returns no events for it).
MAPPED = frozenset(
    {
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.payment_action_required",
        "charge.refunded",
        "subscription_schedule.canceled",
    }
)


def verify(headers: Mapping[str, str], body: bytes, secret: str | None, tolerance: int) -> dict[str, Any]:
    """Check the ``Stripe-Signature`` of *body*; return the event as a dict.

    Raises:
        ProviderAuthError: no secret configured, no header, a wrong or stale signature.
        ProviderRequestError: the body is not a Stripe event.
    """
    if not secret:
        raise ProviderAuthError(
            "expected a webhook_secret (whsec_...) on the StripeProvider to verify webhooks, got none",
            provider=NAME,
        )
    header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None)
    if not header:
        raise ProviderAuthError(f"expected a {SIGNATURE_HEADER} header, got none", provider=NAME)
    with stripe_errors():
        stripe.WebhookSignature.verify_header(body.decode("utf-8", "replace"), header, secret, tolerance)
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise ProviderRequestError(f"expected a JSON Stripe event, got {body[:60]!r}", provider=NAME) from exc
    if not isinstance(event, dict) or event.get("object") != "event" or "type" not in event:
        raise ProviderRequestError(f"expected a Stripe event object, got {body[:60]!r}", provider=NAME)
    return event


def normalize(event: Mapping[str, Any]) -> tuple[ProviderEvent, ...]:
    """The payplan events one Stripe event carries (none for ignored types or other businesses' objects).

    Raises:
        ProviderRequestError: a mapped event type whose object lacks what payplan needs.
    """
    kind = event.get("type")
    if kind not in MAPPED:
        return ()
    try:
        return _normalize(event, str(kind))
    except (KeyError, TypeError, ValueError, UnsupportedByProviderError) as exc:
        raise ProviderRequestError(
            f"expected a well-formed {kind} event, got {event.get('id')!r}: {exc!r}", provider=NAME
        ) from exc


def _normalize(event: Mapping[str, Any], kind: str) -> tuple[ProviderEvent, ...]:
    obj: Mapping[str, Any] = event["data"]["object"]
    created = int(event["created"])
    occurred = dt.datetime.fromtimestamp(created, dt.UTC).date()
    event_id = str(event["id"])
    if kind.startswith("invoice."):
        plan_id = _plan_id(obj)
        if plan_id is None:
            return ()
        installment = _installment(obj)
        currency = str(obj["currency"])
        if kind == "invoice.paid":
            return (
                ProviderEvent(
                    id=f"{NAME}:{obj['id']}:paid",  # an invoice is paid once, whichever event says so
                    provider=NAME,
                    kind=EventKind.PAYMENT_SUCCEEDED,
                    plan_id=plan_id,
                    occurred_on=occurred,
                    installment=installment,
                    amount=from_stripe_amount(int(obj["amount_paid"]), currency),
                    reference=str(obj["id"]),
                    sequence=created,
                ),
            )
        failed = kind == "invoice.payment_failed"
        error = obj.get("last_finalization_error") or {}
        return (
            ProviderEvent(
                id=f"{NAME}:{event_id}",
                provider=NAME,
                kind=EventKind.PAYMENT_FAILED if failed else EventKind.PAYMENT_ACTION_REQUIRED,
                plan_id=plan_id,
                occurred_on=occurred,
                installment=installment,
                amount=from_stripe_amount(int(obj["amount_due"]), currency),
                reference=str(obj["id"]),
                reason=str(error.get("code") or ("payment_failed" if failed else "authentication_required")),
                sequence=created,
            ),
        )
    if kind == "charge.refunded":
        refunds = [r for r in ((obj.get("refunds") or {}).get("data") or []) if isinstance(r, Mapping)]
        meta = dict(obj.get("metadata") or {})
        if refunds:
            meta = {**meta, **dict(refunds[0].get("metadata") or {})}
        plan_id = meta.get(META_PLAN)
        if not plan_id:
            return ()
        previous = (event["data"].get("previous_attributes") or {}).get("amount_refunded")
        units = int(obj["amount_refunded"]) - int(previous or 0)
        inst = meta.get(META_INSTALLMENT)
        return (
            ProviderEvent(
                # One refund, one id, whichever event carried it (see refund_entry_id).
                id=refund_entry_id(NAME, str(refunds[0]["id"])) if refunds else f"{NAME}:{event_id}",
                provider=NAME,
                kind=EventKind.REFUNDED,
                plan_id=str(plan_id),
                occurred_on=occurred,
                installment=int(inst) if inst else None,
                amount=from_stripe_amount(units, str(obj["currency"])),
                reference=str(refunds[0]["id"]) if refunds else str(obj["id"]),
                reason=meta.get("payplan_reason"),
                sequence=created,
            ),
        )
    # subscription_schedule.canceled
    plan_id = (obj.get("metadata") or {}).get(META_PLAN)
    if not plan_id:
        return ()
    return (
        ProviderEvent(
            id=f"{NAME}:{obj['id']}:canceled",
            provider=NAME,
            kind=EventKind.PLAN_CANCELED,
            plan_id=str(plan_id),
            occurred_on=occurred,
            reference=str(obj["id"]),
            sequence=created,
        ),
    )


def _plan_id(invoice: Mapping[str, Any]) -> str | None:
    meta = invoice.get("metadata") or {}
    if meta.get(META_PLAN):
        return str(meta[META_PLAN])
    parent = invoice.get("parent") or {}
    sub = (parent.get("subscription_details") or {}).get("metadata") or {}
    return str(sub[META_PLAN]) if sub.get(META_PLAN) else None


def _installment(invoice: Mapping[str, Any]) -> int | None:
    meta = invoice.get("metadata") or {}
    if meta.get(META_INSTALLMENT):
        return int(meta[META_INSTALLMENT])
    lines = ((invoice.get("lines") or {}).get("data")) or []
    numbers = {int(line["metadata"][META_INSTALLMENT]) for line in lines if (line.get("metadata") or {}).get(META_INSTALLMENT)}
    return numbers.pop() if len(numbers) == 1 else None
