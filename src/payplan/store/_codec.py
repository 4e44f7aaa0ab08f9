"""JSON forms of what the store keeps in text columns: events, entries, records, plans."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .._amendments import AmendmentRecord
from .._calendar import BeforeSession, Cadence, DateRule, ExplicitDates
from .._history_json import _amendment_from, _amendment_to_json
from .._ledger import _ENTRY_TYPES, LedgerEntry
from .._money import Currency, Money, to_currency
from .._plan import PaymentPlan, PlanKind
from .._policies import (
    CancellationPolicy,
    CancellationWindow,
    Incentive,
    LateFeePolicy,
    LateFeeStep,
    ReminderPolicy,
)
from .._retries import RetryPolicy
from .._schedule import Installment, InstallmentKind
from .._terms import DepositRule, Terms
from ..providers import EventKind, ProviderEvent
from ..serialization import SCHEMA_VERSION, _entry_from, _entry_to_json, _Reader, dump_plan, load_plan

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
    """A plan from the JSON :func:`dumps_plan_doc` wrote; every validator of the value classes runs.

    The store wrote the document itself, so it is read directly, each value
    handed to the class that validates it (about three times faster than
    :func:`~payplan.serialization.load_plan`, which checks the type of every
    field of an untrusted document first). Anything this path cannot read,
    it leaves to ``load_plan``, which reads it or names what is wrong.
    """
    data = json.loads(text)
    try:
        if data["schema"] == "payplan/plan" and _typed(data["schema_version"], int) == SCHEMA_VERSION:
            return _plan(data["plan"])
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    return load_plan(data)


# The direct readers below check the type of what no validator of its class checks
# (flags, labels, numbers); the classes' own validators check everything else.


def _typed(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise TypeError(f"expected {kind.__name__}, got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _typed(value, str)


def _opt_dict(value: Any) -> dict[str, Any]:
    return {} if value is None else _typed(value, dict)


def _opt_int(value: Any) -> int | None:
    return None if value is None else _typed(value, int)


def _date(value: Any) -> dt.date:
    if type(value) is not str or len(value) != 10:
        raise ValueError(f"expected YYYY-MM-DD, got {value!r}")
    return dt.date.fromisoformat(value)


def _opt_date(value: Any) -> dt.date | None:
    return None if value is None else _date(value)


def _opt_money(value: Any, cur: Currency) -> Money | None:
    return None if value is None else Money(value, cur)


def _plan(p: dict[str, Any]) -> PaymentPlan:
    cur = to_currency(_typed(p["currency"], str))
    lines = [
        Installment(
            _typed(i["number"], int), InstallmentKind(i["kind"]), _date(i["due"]), Money(i["amount_minor"], cur),
            _opt_str(i["label"]), _opt_int(i["days_before_session"]), _opt_str(i.get("key")),
        )
        for i in _typed(p["installments"], list)
    ]
    return PaymentPlan(
        id=p["id"],
        fee=Money(p["fee_minor"], cur),
        installments=lines,
        booked=_date(p["booked"]),
        session=_date(p["session"]),
        terms=_terms(p["terms"], cur),
        kind=PlanKind(p["kind"]),
        finance_charge=_opt_money(p["finance_charge_minor"], cur),
        timezone=_typed(p["timezone"], str),
        tier=_opt_str(p["tier"]),
        client=_opt_str(p["client"]),
        version=_typed(p["version"], int),
    )


def _rule(r: dict[str, Any]) -> DateRule:
    kind = r["type"]
    if kind == "cadence":
        return Cadence.parse(_typed(r["cadence"], str))
    if kind == "dates":
        return ExplicitDates([_date(d) for d in _typed(r["dates"], list)])
    if kind == "before_session":
        return BeforeSession(_typed(r["days"], list))
    raise ValueError(f"expected a date rule, got {kind!r}")


def _terms(t: dict[str, Any], cur: Currency) -> Terms:
    dep = t["deposit"]
    kw: dict[str, Any] = {}
    lf = t.get("late_fees")
    if lf is not None:
        kw["late_fees"] = LateFeePolicy(
            [
                LateFeeStep(_typed(s["days"], int), amount=_opt_money(s["amount_minor"], cur),
                            percent=_opt_str(s["percent"]))
                for s in _typed(lf["steps"], list)
            ],
            grace_days=_typed(lf["grace_days"], int), cap=_opt_money(lf["cap_minor"], cur),
            cap_percent=_opt_str(lf["cap_percent"]), fee_on_fee=_typed(lf["fee_on_fee"], bool),
        )
    rp = t.get("reminders")
    if rp is not None:
        kw["reminders"] = ReminderPolicy(
            _typed(rp["offsets"], list), _typed(rp["final_notice"], bool), _opt_dict(rp.get("templates"))
        )
    cp = t.get("cancellation")
    if cp is not None:
        kw["cancellation"] = CancellationPolicy(
            [CancellationWindow(_typed(w["within_days"], int), _typed(w["percent"], str)) for w in _typed(cp["windows"], list)],
            deposit_refundable=_typed(cp["deposit_refundable"], bool),
            no_show_fee=_opt_money(cp["no_show_fee_minor"], cur),
            reschedule_fee=_opt_money(cp["reschedule_fee_minor"], cur),
            credit_instead_of_refund=_typed(cp["credit_instead_of_refund"], bool),
            collect_shortfall=_typed(cp["collect_shortfall"], bool),
        )
    incentives = t.get("incentives")
    if incentives is not None:
        kw["incentives"] = tuple(
            Incentive(
                _typed(i["kind"], str), amount=_opt_money(i["amount_minor"], cur), percent=_opt_str(i["percent"]),
                by=_opt_date(i["by"]), days_early=_typed(i["days_early"], int),
                min_on_time=_typed(i["min_on_time"], int), name=_typed(i["name"], str),
                clawback=_typed(i["clawback"], bool),
            )
            for i in _typed(incentives, list)
        )
    rt = t.get("retries")
    if rt is not None:
        kw["retries"] = RetryPolicy(
            tuple(_typed(rt["days"], list)), stop_days_before=_typed(rt["stop_days_before"], int),
            card_warning_days=_typed(rt["card_warning_days"], int),
        )
    return Terms(
        deposit=DepositRule(percent=_opt_str(dep["percent"]), amount=_opt_money(dep["amount_minor"], cur)),
        installments=_typed(t["installments"], int),
        dates=_rule(t["dates"]),
        final_due_days_before=_typed(t["final_due_days_before"], int),
        remainder=_typed(t["remainder"], str),
        apr=_typed(t["apr"], str),
        first_due=_opt_date(t["first_due"]),
        compress=_typed(t["compress"], bool),
        **kw,
    )


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
    return _dumps(
        {
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
    )


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
