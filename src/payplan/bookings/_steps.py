"""The JSON a lifecycle step keeps in the store: its arguments and what it decided."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from .._amendments import Amendment
from .._cancellation import Settlement
from .._history_json import _amendment_from, _amendment_to_json
from .._money import Currency, Money, to_currency
from .._refunds import RefundInstruction, fit_key
from ..providers import Payer
from ..serialization import _Reader
from ..store import SignedAgreement
from ..store._codec import dumps_entry, loads_entry

__all__ = [
    "agreement_from",
    "agreement_to",
    "amendment_from",
    "amendment_to",
    "canonical",
    "digest",
    "instruction_from",
    "instruction_to",
    "money_from",
    "money_to",
    "payer_from",
    "payer_to",
    "settlement_from",
    "settlement_to",
    "step_key",
]


def canonical(value: Any) -> str:
    """*value* as canonical JSON text (sorted keys, no spaces): what a step keeps and what its key digests."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def digest(value: Any) -> str:
    """The SHA-256 of :func:`canonical` *value*, in hex."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def step_key(plan_id: str, name: str, args: Any = None) -> str:
    """The key a step is reserved under: the plan, the step's name, and (for repeatable steps) its arguments."""
    tail = "" if args is None else ":" + digest(args)[:32]
    return fit_key(f"payplan:{plan_id}:step:{name}{tail}")


def money_to(m: Money) -> dict[str, Any]:
    return {"minor": m.minor, "currency": m.currency.code}


def money_from(d: Any) -> Money:
    return Money(d["minor"], to_currency(d["currency"]))


def payer_to(p: Payer) -> dict[str, Any]:
    return {"customer_id": p.customer_id, "payment_method_id": p.payment_method_id, "email": p.email}


def payer_from(d: Any) -> Payer:
    return Payer(d["customer_id"], d["payment_method_id"], d["email"])


def agreement_to(a: SignedAgreement | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "plan_id": a.plan_id, "version": a.version, "text": a.text, "signed_by": a.signed_by,
        "signed_at": a.signed_at.isoformat(), "sha256": a.sha256,
        **({"evidence": a.evidence} if a.evidence is not None else {}),
    }


def agreement_from(d: Any) -> SignedAgreement | None:
    if d is None:
        return None
    return SignedAgreement(
        d["plan_id"], d["version"], d["text"], d["signed_by"], dt.datetime.fromisoformat(d["signed_at"]),
        d.get("evidence"),
    )


def amendment_to(a: Amendment) -> dict[str, Any]:
    return _amendment_to_json(a)


def amendment_from(d: Any, currency: Currency) -> Amendment:
    return _amendment_from(_Reader(d, "step.amendment"), currency)


def instruction_to(i: RefundInstruction) -> dict[str, Any]:
    return {
        "plan_id": i.plan_id, "payment_id": i.payment_id, "reference": i.reference,
        "amount": money_to(i.amount), "idempotency_key": i.idempotency_key, "reason": i.reason,
    }


def instruction_from(d: Any) -> RefundInstruction:
    return RefundInstruction(
        d["plan_id"], d["payment_id"], d["reference"], money_from(d["amount"]), d["idempotency_key"], d["reason"]
    )


_MONEY_FIELDS = ("retained", "clawback", "refund", "credit", "shortfall")


def settlement_to(s: Settlement) -> dict[str, Any]:
    out: dict[str, Any] = {name: money_to(getattr(s, name)) for name in _MONEY_FIELDS}
    out.update(
        plan_id=s.plan_id, on=s.on.isoformat(), notice_days=s.notice_days, reason=s.reason,
        entries=[json.loads(dumps_entry(e)) for e in s.entries], no_show=s.no_show, reschedule=s.reschedule,
        refunds=[instruction_to(i) for i in s.refunds],
        received_after=None if s.received_after is None else money_to(s.received_after),
    )
    return out


def settlement_from(d: Any, currency: Currency) -> Settlement:
    money = {name: money_from(d[name]) for name in _MONEY_FIELDS}
    return Settlement(
        plan_id=d["plan_id"], on=dt.date.fromisoformat(d["on"]), notice_days=d["notice_days"],
        retained=money["retained"], clawback=money["clawback"], refund=money["refund"], credit=money["credit"],
        shortfall=money["shortfall"], reason=d["reason"],
        entries=tuple(loads_entry(canonical(e), currency) for e in d["entries"]),
        no_show=d["no_show"], reschedule=d["reschedule"], refunds=tuple(instruction_from(i) for i in d["refunds"]),
        # (a step written before settlements said what came in after their date has none)
        received_after=None if d.get("received_after") is None else money_from(d["received_after"]),
    )
