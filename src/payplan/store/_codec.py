"""JSON forms of what the store keeps in text columns: events, entries, records, plans."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .._amendments import AmendmentRecord
from .._history_json import _amendment_from, _amendment_to_json
from .._ledger import _ENTRY_TYPES, LedgerEntry
from .._money import Currency, Money, to_currency
from .._plan import PaymentPlan
from ..providers import EventKind, ProviderEvent
from ..serialization import _entry_from, _entry_to_json, _Reader, dump_plan, load_plan

__all__ = [
    "dumps_entry",
    "dumps_event",
    "dumps_plan_doc",
    "dumps_record",
    "loads_entry",
    "loads_event",
    "loads_plan_doc",
    "loads_record",
]


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def dumps_plan_doc(plan: PaymentPlan) -> str:
    return _dumps(dump_plan(plan))


def loads_plan_doc(text: str) -> PaymentPlan:
    return load_plan(json.loads(text))


def dumps_entry(entry: LedgerEntry) -> str:
    return _dumps(_entry_to_json(entry))


_ENTRY_CLASSES: dict[str, Any] = {cls.kind: cls for cls in _ENTRY_TYPES}


def loads_entry(text: str, currency: Currency) -> LedgerEntry:
    """An entry from the JSON :func:`dumps_entry` wrote; every validator of the entry class runs.

    The store wrote the document itself, so it is read directly (a few times
    faster than the field-by-field reader of untrusted documents, which
    still reads anything this path cannot).
    """
    data = json.loads(text)
    try:
        cls = _ENTRY_CLASSES[data.pop("kind")]
        kw: dict[str, Any] = {}
        for key, value in data.items():
            if key.endswith("_minor"):
                if value is not None:
                    kw[key[:-6]] = Money(value, currency)
            elif key == "on":
                kw[key] = dt.date.fromisoformat(value)
            elif value is not None:
                kw[key] = value
        entry: LedgerEntry = cls(**kw)
        return entry
    except (KeyError, TypeError, ValueError):
        return _entry_from(_Reader(json.loads(text), "entry"), currency)


def dumps_event(event: ProviderEvent) -> str:
    doc: dict[str, Any] = {
        "id": event.id,
        "provider": event.provider,
        "kind": event.kind.value,
        "plan_id": event.plan_id,
        "occurred_on": event.occurred_on.isoformat(),
        "installment": event.installment,
        "amount_minor": None if event.amount is None else event.amount.minor,
        "currency": None if event.amount is None else event.amount.currency.code,
        "reference": event.reference,
        "reason": event.reason,
        "sequence": event.sequence,
    }
    if event.lowers_price:  # only when set: rows written before the flag existed read the same
        doc["lowers_price"] = True
    return _dumps(doc)


def loads_event(text: str) -> ProviderEvent:
    d = json.loads(text)
    minor = d["amount_minor"]
    return ProviderEvent(
        id=d["id"],
        provider=d["provider"],
        kind=EventKind(d["kind"]),
        plan_id=d["plan_id"],
        occurred_on=dt.date.fromisoformat(d["occurred_on"]),
        installment=d["installment"],
        amount=None if minor is None else Money(minor, to_currency(d["currency"])),
        reference=d["reference"],
        reason=d["reason"],
        sequence=d["sequence"],
        lowers_price=d.get("lowers_price", False) is True,
    )


def dumps_record(record: AmendmentRecord) -> str:
    return _dumps(
        {
            "plan_id": record.plan_id,
            "from_version": record.from_version,
            "to_version": record.to_version,
            "by": record.by,
            "reason": record.reason,
            "on": record.on.isoformat(),
            "consent": record.consent,
            "paid_minor": record.paid.minor,
            "amendment": _amendment_to_json(record.amendment),
        }
    )


def loads_record(text: str, before: PaymentPlan, after: PaymentPlan) -> AmendmentRecord:
    r = _Reader(json.loads(text), "record")
    cur = before.fee.currency
    return AmendmentRecord(
        r.get("plan_id", str), r.get("from_version", int), r.get("to_version", int),
        _amendment_from(r.sub("amendment"), cur), r.get("by", str), r.get("reason", str), r.date("on"),
        r.get("consent", bool), Money(r.get("paid_minor", int), cur), before.installments, after.installments,
    )
