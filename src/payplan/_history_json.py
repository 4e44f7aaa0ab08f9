"""A plan's history (versions and amendment records) as JSON, with a schema version.

Documents look like ``{"schema": "payplan/history", "schema_version": 1,
"versions": [<plan document>, ...], "records": [...]}``: each version is a
whole plan document as :func:`~payplan.dump_plan` writes it, and each record
holds the amendment (``{"type": "extend_due_date", ...}``), who, why, when,
consent and what was paid (minor units). The schedules before and after are
not stored twice: they are the versions'. Loading rebuilds every plan and
record through their constructors and replays the records one by one, so a
history any of whose versions is not what its record produces is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ._amendments import (
    AddAddOn,
    Amendment,
    AmendmentRecord,
    ChangeTier,
    ExtendDueDate,
    HardshipReduction,
    MoveSession,
    PlanHistory,
    Resplit,
    SkipPayment,
    WaiveFee,
    amend,
)
from ._money import Currency, Money
from ._plan import PaymentPlan
from ._schedule import Installment
from .exceptions import InvalidPlanError, PayplanError, SerializationError
from .serialization import _Reader, dump_plan, load_plan, open_document, parse_json

__all__ = ["dump_history", "dumps_history", "load_history", "loads_history"]

_KIND = "payplan/history"
_VERSION = 1


def _d(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _amendment_to_json(a: Amendment) -> dict[str, Any]:
    if isinstance(a, ExtendDueDate):
        return {"type": "extend_due_date", "number": a.number, "to": _d(a.to)}
    if isinstance(a, Resplit):
        return {
            "type": "resplit",
            "dates": None if a.dates is None else [_d(x) for x in a.dates],
            "count": a.count,
            "first_due": _d(a.first_due),
            "cadence": a.cadence.value,
        }
    if isinstance(a, HardshipReduction):
        return {
            "type": "hardship_reduction", "first": a.first, "count": a.count,
            "amount_minor": a.amount.minor, "catch_up_on": _d(a.catch_up_on),
        }
    if isinstance(a, SkipPayment):
        return {"type": "skip_payment", "number": a.number, "onto": a.onto}
    if isinstance(a, MoveSession):
        return {"type": "move_session", "to": _d(a.to)}
    if isinstance(a, ChangeTier):
        return {"type": "change_tier", "tier": a.tier, "fee_minor": a.fee.minor, "due": _d(a.due)}
    if isinstance(a, AddAddOn):
        return {"type": "add_add_on", "name": a.name, "amount_minor": a.amount.minor, "due": _d(a.due)}
    return {"type": "waive_fee", "amount_minor": a.amount.minor, "what": a.what}


def _amendment_from(r: _Reader, cur: Currency) -> Amendment:
    kind = r.get("type", str)

    def money(key: str) -> Money:
        return r.convert(key, lambda v: Money(v, cur), r.get(key, int))

    if kind == "extend_due_date":
        return ExtendDueDate(r.get("number", int), r.date("to"))
    if kind == "resplit":
        raw = r.get("dates", list, optional=True)
        dates = None if raw is None else [
            _Reader({"d": x}, f"{r.path}.dates[{n}]").date("d") for n, x in enumerate(raw)
        ]
        return r.convert(
            "resplit",
            lambda _: Resplit(dates, r.get("count", int, optional=True), r.date("first_due", optional=True),
                              r.get("cadence", str)),
            None,
        )
    if kind == "hardship_reduction":
        return HardshipReduction(
            r.get("first", int), r.get("count", int), money("amount_minor"), r.date("catch_up_on", optional=True)
        )
    if kind == "skip_payment":
        onto = r.get("onto", str)
        if onto not in ("spread", "next"):
            raise SerializationError(f"{r.path}.onto: expected 'spread' or 'next', got {onto!r}")
        return SkipPayment(r.get("number", int), "next" if onto == "next" else "spread")
    if kind == "move_session":
        return MoveSession(r.date("to"))
    if kind == "change_tier":
        return ChangeTier(r.get("tier", str), money("fee_minor"), r.date("due", optional=True))
    if kind == "add_add_on":
        return AddAddOn(r.get("name", str), money("amount_minor"), r.date("due", optional=True))
    if kind == "waive_fee":
        return WaiveFee(money("amount_minor"), r.get("what", str))
    raise SerializationError(f"{r.path}.type: expected an amendment type such as 'extend_due_date', got {kind!r}")


def dump_history(history: PlanHistory) -> dict[str, Any]:
    """The history as a JSON-ready dict, wrapped with the schema name and version.

    .. versionadded:: 0.1.0
    """
    return {
        "schema": _KIND,
        "schema_version": _VERSION,
        "versions": [dump_plan(p) for p in history.versions],
        "records": [
            {
                "plan_id": rec.plan_id,
                "from_version": rec.from_version,
                "to_version": rec.to_version,
                "by": rec.by,
                "reason": rec.reason,
                "on": rec.on.isoformat(),
                "consent": rec.consent,
                "paid_minor": rec.paid.minor,
                "amendment": _amendment_to_json(rec.amendment),
            }
            for rec in history.records
        ],
    }


def dumps_history(history: PlanHistory, *, indent: int | None = 2) -> str:
    """The history as JSON text (see :func:`dump_history`).

    .. versionadded:: 0.1.0
    """
    return json.dumps(dump_history(history), indent=indent)


def load_history(document: Mapping[str, Any]) -> PlanHistory:
    """Rebuild a :class:`PlanHistory` from :func:`dump_history` output.

    Every version is loaded with :func:`~payplan.load_plan`, every record is
    rebuilt, and the records are replayed from the first version, one by
    one: every version after the first must be exactly what its record makes
    of the version before it (schedule, fee, terms, session, every field),
    or the document is refused naming the first version and field that
    differ. An edited middle version is refused like an edited last one.

    Raises:
        SerializationError: a malformed document, another schema, a newer
            schema version, a record that does not replay, or a version that
            is not what the replay makes; the message gives the path of the
            field (``document.versions[1] (version 2) ...:
            installments[2].amount is 600.00 USD in the document, 500.00 USD
            by the replay``).

    .. versionadded:: 0.1.0
    """
    top = open_document(document, _KIND, _VERSION)
    raw_versions = top.get("versions", list)
    if not raw_versions:
        raise SerializationError("document.versions: expected at least one plan version, got none")
    plans = []
    for n, doc in enumerate(raw_versions):
        try:
            plans.append(load_plan(doc))
        except SerializationError as exc:
            raise SerializationError(f"document.versions[{n}]: {exc}") from None
    cur = plans[0].fee.currency
    records = []
    for n, raw in enumerate(top.get("records", list)):
        r = _Reader(raw, f"document.records[{n}]")
        amendment = _amendment_from(r.sub("amendment"), cur)
        if n + 1 >= len(plans):
            raise SerializationError(f"document.records[{n}]: expected a version after it, got none")
        try:
            records.append(
                AmendmentRecord(
                    r.get("plan_id", str), r.get("from_version", int), r.get("to_version", int), amendment,
                    r.get("by", str), r.get("reason", str), r.date("on"), r.get("consent", bool),
                    Money(r.get("paid_minor", int), cur), plans[n].installments, plans[n + 1].installments,
                )
            )
        except InvalidPlanError as exc:
            raise SerializationError(f"document.records[{n}]: {exc}") from None
    try:
        history = PlanHistory(plans, records)
    except PayplanError as exc:
        raise SerializationError(f"document: {exc}") from None
    _verify(history)
    return history


def _verify(history: PlanHistory) -> None:
    """Replay every record and compare each version it makes with the document's.

    A record is then verified whole: its amendment, who, why, when, consent
    and what was paid are what the replay ran on, and its schedules before
    and after are the versions just compared.

    Raises:
        SerializationError: naming the first record that does not replay, or
            the first version, field and line that differ from the replay.
    """
    # A document written before lines had keys has none at all: its lines'
    # ids are their numbers, as its fee ids were, and the keys the replay
    # gives are not compared.
    keyless = all(i.key is None for p in history.versions for i in p.installments)
    plan = history.original
    for n, rec in enumerate(history.records):
        if n and rec.on < history.records[n - 1].on:
            raise SerializationError(
                f"document.records[{n}].on: expected a date on or after the record before it "
                f"({history.records[n - 1].on.isoformat()}), got {rec.on.isoformat()}"
            )
        try:
            plan, _ = amend(
                plan, rec.amendment, by=rec.by, reason=rec.reason, on=rec.on,
                consent=rec.consent, paid=rec.paid,
            )
        except PayplanError as exc:
            raise SerializationError(f"document.records[{n}]: the record does not replay: {exc}") from None
        stored = history.versions[n + 1]
        difference = _first_difference(stored, _without_keys(plan) if keyless else plan)
        if difference is not None:
            raise SerializationError(
                f"document.versions[{n + 1}] (version {stored.version}) is not what document.records[{n}] "
                f"makes of the version before it: {difference}"
            )


def _first_difference(stored: PaymentPlan, replayed: PaymentPlan) -> str | None:
    """The first field (and line) where *stored* differs from *replayed*, in words; None when equal."""
    if stored == replayed:
        return None
    for a in attrs.fields(PaymentPlan):
        mine, theirs = getattr(stored, a.name), getattr(replayed, a.name)
        if mine == theirs:
            continue
        if a.name == "installments":
            if len(mine) != len(theirs):
                return f"{len(mine)} installment(s) in the document, {len(theirs)} by the replay"
            for k, (x, y) in enumerate(zip(mine, theirs, strict=True)):
                for f in attrs.fields(Installment):
                    u, v = getattr(x, f.name), getattr(y, f.name)
                    if u != v:
                        return f"{a.name}[{k}].{f.name} is {_show(u)} in the document, {_show(v)} by the replay"
        return f"{a.name} is {_show(mine)} in the document, {_show(theirs)} by the replay"
    return "they differ"  # pragma: no cover - equal fields make equal values


def _without_keys(plan: PaymentPlan) -> PaymentPlan:
    return attrs.evolve(plan, installments=[attrs.evolve(i, key=None) for i in plan.installments])


def _show(value: object) -> str:
    return str(value) if isinstance(value, Money) else repr(value)


def loads_history(text: str | bytes) -> PlanHistory:
    """Rebuild a history from JSON text (see :func:`load_history`).

    Raises:
        SerializationError: not JSON, or not a valid history document.

    .. versionadded:: 0.1.0
    """
    data = parse_json(text)
    return load_history(data)
