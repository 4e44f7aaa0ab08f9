"""Stripe test events built from Stripe's own example objects (``stripe-fixtures3.json``).

Stripe publishes one example object per API resource beside its OpenAPI
spec. Test events start from those objects and change only ids, amounts,
currencies, statuses and metadata, so they carry what Stripe really sends
(an invoice with ``parent``, a charge whose ``refunds`` list is empty, a
refund with ``charge`` and ``payment_intent``) and lack what a test author
might assume. Tests using them skip, with the path in the reason, where the
specs folder is absent.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest

from conftest import SPECS

FIXTURES = SPECS / "stripe-fixtures3.json"


@functools.cache
def _resources() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURES.read_text())
    return data["resources"]


def available() -> bool:
    """Whether Stripe's example objects are beside the repository."""
    return FIXTURES.is_file()


def example(resource: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of Stripe's example *resource* object with *changes* applied (skips without the file)."""
    if not available():
        pytest.skip(f"Stripe's example objects are not at {FIXTURES}")
    obj: dict[str, Any] = copy.deepcopy(_resources()[resource])
    obj.update(changes)
    return obj


def event(event_id: str, kind: str, obj: dict[str, Any], created: int, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stripe's example event, re-aimed at *obj*."""
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return example("event", id=event_id, type=kind, created=created, data=data, api_version="2026-10-28.endive")


def invoice(invoice_id: str, *, units: int, currency: str, metadata: dict[str, str], paid: bool) -> dict[str, Any]:
    """Stripe's example invoice for *units*, paid or open, with *metadata*."""
    obj = example(
        "invoice", id=invoice_id, currency=currency, metadata=metadata, amount_due=units,
        amount_paid=units if paid else 0, amount_remaining=0 if paid else units,
        status="paid" if paid else "open", parent=None,
    )
    for line in obj["lines"]["data"]:
        line.update(invoice=invoice_id, amount=units, currency=currency, metadata={})
    return obj


def refund(
    refund_id: str, *, units: int, currency: str, charge: str, payment_intent: str | None,
    metadata: dict[str, str], status: str = "succeeded", created: int = 1_800_000_000,
) -> dict[str, Any]:
    """Stripe's example refund of *units* of *charge*."""
    return example(
        "refund", id=refund_id, amount=units, currency=currency, charge=charge, payment_intent=payment_intent,
        metadata=metadata, status=status, created=created,
    )


def charge(charge_id: str, *, units: int, refunded: int, currency: str, payment_intent: str | None) -> dict[str, Any]:
    """Stripe's example charge (its ``refunds`` list empty, as since 2022-11-15) with *refunded* of *units* refunded."""
    obj = example(
        "charge", id=charge_id, amount=units, amount_captured=units, amount_refunded=refunded, currency=currency,
        payment_intent=payment_intent, refunded=refunded >= units, metadata={}, captured=True,
    )
    obj["refunds"]["url"] = f"/v1/charges/{charge_id}/refunds"
    return obj


def schedule(schedule_id: str, *, metadata: dict[str, str]) -> dict[str, Any]:
    """Stripe's example subscription schedule, canceled, with *metadata*."""
    return example("subscription_schedule", id=schedule_id, status="canceled", metadata=metadata)
