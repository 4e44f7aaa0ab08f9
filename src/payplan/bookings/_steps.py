"""The JSON a lifecycle step keeps in the store: its arguments and what it decided."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import attrs

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
    """The key a step is reserved (and claimed) under: the plan, the step's name, and for repeatable steps its arguments.

    ``step_key(plan_id, "book")`` and ``step_key(plan_id, "cancel")`` name a
    plan's booking and cancellation (once per plan); an amendment, refund or
    payment asked for now adds the digest of its arguments.

    .. versionadded:: 0.3.0
    """
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


def settlement_to(s: Settlement) -> dict[str, Any]:
    """Every field of *s* (read from the class, so a field added to it is kept too)."""
    out: dict[str, Any] = {}
    for f in attrs.fields(Settlement):
        value = getattr(s, f.name)
        if f.name == "entries":
            out[f.name] = [json.loads(dumps_entry(e)) for e in value]
        elif f.name == "refunds":
            out[f.name] = [instruction_to(i) for i in value]
        elif isinstance(value, Money):
            out[f.name] = {"money": money_to(value)}
        elif isinstance(value, dt.date):
            out[f.name] = {"date": value.isoformat()}
        elif value is None or isinstance(value, bool | int | str):
            out[f.name] = value
        else:  # pragma: no cover - a field of a kind this codec does not know yet
            raise TypeError(f"expected a settlement field payplan can keep, got {f.name}={value!r}")
    return out


def settlement_from(d: Any, currency: Currency) -> Settlement:
    kw: dict[str, Any] = {}
    for name, value in d.items():
        if name == "entries":
            kw[name] = tuple(loads_entry(canonical(e), currency) for e in value)
        elif name == "refunds":
            kw[name] = tuple(instruction_from(i) for i in value)
        elif name == "on" and isinstance(value, str):  # kept before dates were tagged
            kw[name] = dt.date.fromisoformat(value)
        elif isinstance(value, dict) and "money" in value:
            kw[name] = money_from(value["money"])
        elif isinstance(value, dict) and "minor" in value:  # kept before money was tagged
            kw[name] = money_from(value)
        elif isinstance(value, dict) and "date" in value:
            kw[name] = dt.date.fromisoformat(value["date"])
        else:
            kw[name] = value
    return Settlement(**kw)
