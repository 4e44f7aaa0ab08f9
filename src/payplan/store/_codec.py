"""JSON forms of what the store keeps in text columns: events, entries, records, plans."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final, NoReturn, TypeVar

import attrs

from .._amendments import AmendmentRecord
from .._calendar import BeforeSession, Cadence, DateRule, ExplicitDates
from .._history_json import _amendment_from, _amendment_to_json
from .._ledger import _ENTRY_TYPES, CancellationSettled, Ledger, LedgerEntry, _ledger, _Store
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
from ..exceptions import DamagedRowError
from ..providers import EventKind, ProviderEvent
from ..serialization import (
    _KIND,
    _LEGACY_DEFAULTS,
    SCHEMA_VERSION,
    _entry_from,
    _entry_to_json,
    _Reader,
    dump_plan,
    load_plan,
)

__all__ = [
    "body_digest",
    "checksum",
    "damaged",
    "decoded",
    "dumps_entry",
    "dumps_event",
    "dumps_plan_doc",
    "dumps_record",
    "ledger_summary",
    "loads_entry",
    "loads_event",
    "loads_plan_doc",
    "loads_record",
    "trusted_entry",
    "trusted_plan",
    "row_checksum",
    "summarized_ledger",
    "verify",
]

# What a document read from the store can fail with: cut short or not JSON (ValueError covers
# json.JSONDecodeError and every payplan validation error), or a field of the wrong shape.
DECODE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError)


def checksum(table: str, plan_id: str, row: str, document: str) -> str:
    """The SHA-256 (hex) the store keeps beside a document it wrote.

    It covers the row's identity (*table*, *plan_id*, *row*: the entry id
    or ``v<version>``) and the document exactly as written, so a document
    edited by hand, or moved to another row, no longer matches. A reader
    that finds the checksum matching knows the document is the store's own
    write, byte for byte; the formula never changes (migration 0006
    backfilled rows with it).
    """
    return hashlib.sha256(f"{table}\x1f{plan_id}\x1f{row}\x1f{document}".encode()).hexdigest()


def row_checksum(table: str, plan_id: str, row: str, *fields: str | int | None) -> str:
    """The checksum of a row kept in several columns (an inbox event, a binding, a lifecycle step).

    :func:`checksum` of the row's identity and its *fields* (the columns
    that say what the row holds, in a fixed order) as a compact JSON list:
    ``null`` and ``""`` stay apart, and a field cannot run into the next.
    The formula never changes (migration 0007 backfilled rows with it).
    """
    return checksum(table, plan_id, row, json.dumps(list(fields), separators=(",", ":")))


def body_digest(body: bytes) -> str:
    """The SHA-256 (hex) of a webhook's raw body: what an inbox event's checksum covers of it."""
    return hashlib.sha256(body).hexdigest()


def damaged(table: str, plan_id: str, row: str, what: str) -> DamagedRowError:
    """The error for a row of *plan_id* in *table* that cannot be read (*what* says why)."""
    return DamagedRowError(
        f"plan {plan_id!r}: row {row!r} of {table} is damaged ({what}); nothing of this plan was read. "
        f"Restore the row from a backup; other plans are not affected",
        plan_id=plan_id, table=table, row=row,
    )


def verify(table: str, plan_id: str, row: str, document: str, stored: str | None) -> None:
    """Refuse a document whose stored checksum it no longer matches (rows from before checksums pass).

    Raises:
        DamagedRowError: the checksum does not match.
    """
    if stored is not None and stored != checksum(table, plan_id, row, document):
        raise damaged(table, plan_id, row, "its document does not match the checksum the store wrote: "
                      "it was changed outside payplan")


T = TypeVar("T")


def decoded(table: str, plan_id: str, row: str, document: str, stored: str | None, decode: Callable[[str], T]) -> T:
    """*decode* of a stored *document*, checked against its *stored* checksum first.

    Raises:
        DamagedRowError: the document does not decode (the error says why,
            the decoder's error as ``__cause__``), or decodes but no longer
            matches its checksum.
    """
    try:
        verify(table, plan_id, row, document, stored)
    except DamagedRowError:
        decode_or_raise(table, plan_id, row, document, decode)  # the decoder's reason, when it has one
        raise
    return decode_or_raise(table, plan_id, row, document, decode)


def decode_or_raise(table: str, plan_id: str, row: str, document: str, decode: Callable[[str], T]) -> T:
    """*decode* of *document*, any failure to decode raised as a :class:`DamagedRowError`."""
    try:
        return decode(document)
    except DECODE_ERRORS as exc:
        undecodable(table, plan_id, row, exc)


def undecodable(table: str, plan_id: str, row: str, exc: BaseException) -> NoReturn:
    """Raise the :class:`DamagedRowError` of a document that failed to decode with *exc*."""
    raise damaged(table, plan_id, row, f"{type(exc).__name__}: {exc}") from exc


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


# -- documents the store wrote itself -----------------------------------------------------
#
# A document whose checksum matches its bytes is the store's own write, byte for byte: its fields
# were checked by the validators when the value was built, before it was written. Reading it back,
# the values are set on a new instance directly (what attrs' own __init__ does after validation),
# in the entry classes' own field order. Anything this reader does not know (a field it does not
# expect, one missing without a default) goes to the validating reader instead, as does every
# document whose checksum is missing or does not match.

_NEW = object.__new__


_Setters = tuple[tuple[str, Any, Callable[[Any, Any], None]], ...]


def _slot_setters(cls: type) -> _Setters:
    """(name, default or NOTHING, slot setter) for each attrs field of the slotted class *cls*."""
    return tuple((a.name, a.default, cls.__dict__[a.name].__set__) for a in attrs.fields(cls))


_MONEY_SLOTS: Final = (Money.__dict__["minor"].__set__, Money.__dict__["currency"].__set__)
# kind -> (the entry class, its fields' setters, its money fields, the keys its documents may have)
_TRUSTED: dict[str, tuple[type, _Setters, frozenset[str], frozenset[str]]] = {}
for _cls in _ENTRY_TYPES:
    _money = frozenset(a.name for a in attrs.fields(_cls) if "Money" in str(a.type))
    _keys = frozenset({"kind", *(f"{a.name}_minor" if a.name in _money else a.name for a in attrs.fields(_cls))})
    _TRUSTED[_cls.kind] = (_cls, _slot_setters(_cls), _money, _keys)
_NOTHING = attrs.NOTHING
_GET_KIND = operator.itemgetter("kind")


def _money_of(minor: int, currency: Currency) -> Money:
    money: Money = _NEW(Money)
    set_minor, set_currency = _MONEY_SLOTS
    set_minor(money, minor)
    set_currency(money, currency)
    return money


def trusted_entry(text: str, currency: Currency) -> LedgerEntry:
    """An entry from a document the store wrote, its checksum already matched: not validated again.

    Each field is set as the document has it (amounts as :class:`Money`
    in *currency*, dates parsed); a document of another shape falls back
    to :func:`loads_entry`, which validates everything.

    Raises:
        ValueError, KeyError, TypeError: the document does not decode
            (the caller turns it into a :class:`DamagedRowError`).
    """
    data = json.loads(text)
    known = _TRUSTED.get(_GET_KIND(data)) if type(data) is dict else None
    if known is None or not data.keys() <= known[3]:
        return loads_entry(text, currency)
    cls, fields, money, _ = known
    entry: Any = _NEW(cls)
    for name, default, set_slot in fields:
        if name in money:
            minor = data.get(name + "_minor", _NOTHING)
            if minor is _NOTHING:
                if default is _NOTHING:
                    return loads_entry(text, currency)
                value = default
            else:
                value = None if minor is None else _money_of(minor, currency)
        elif name == "on":
            value = dt.date.fromisoformat(data["on"])
        else:
            value = data.get(name, _NOTHING)
            if value is _NOTHING:
                # a field added after older documents were written: the value they mean (as the
                # validating reader has it)
                value = _LEGACY_DEFAULTS.get((cls.kind, name), default)  # type: ignore[attr-defined]
                if value is _NOTHING:
                    return loads_entry(text, currency)
        set_slot(entry, value)
    result: LedgerEntry = entry
    return result


# -- plan documents the store wrote itself ------------------------------------------------
#
# The same reasoning as for entries: a plan document whose checksum matches is the store's own
# write of a plan whose every validator ran when it was built. It is read here without the
# field-by-field checks of ``load_plan`` (its type checks and paths are most of its cost) and
# without the validators: each value is built with its class's own converters (they normalize:
# percentages to Decimal, lists to tuples, templates merged with the defaults), then set on its
# slot. Which fields a class has comes from attrs, so a field added later with a default is set
# to it; one added without a default, and any key this reader does not know or misses, sends the
# whole document to ``load_plan`` instead (the Hypothesis property in
# tests/property/test_trusted_plans.py checks both readers agree on generated plans).


class _Unknown(Exception):
    """A plan document of a shape this reader does not know: ``load_plan`` reads it."""


# (init name, default or NOTHING, converter or None, slot setter) of each attrs field of a class
_Built = tuple[tuple[str, Any, Any, Callable[[Any, Any], None]], ...]
_FACTORY: Final[Any] = type(attrs.Factory(list))


def _built_fields(cls: type) -> _Built:
    out = []
    for a in attrs.fields(cls):
        default = a.default
        if isinstance(default, _FACTORY) and default.takes_self:  # pragma: no cover - none of the plan classes
            default = _NOTHING
        out.append((a.alias, default, a.converter, cls.__dict__[a.name].__set__))
    return tuple(out)


_PLAN_CLASSES: Final = (
    PaymentPlan, Installment, Terms, DepositRule, ExplicitDates, BeforeSession, LateFeePolicy, LateFeeStep,
    ReminderPolicy, CancellationPolicy, CancellationWindow, Incentive, RetryPolicy,
)
_FIELDS_OF: dict[type, _Built] = {cls: _built_fields(cls) for cls in _PLAN_CLASSES}


def _built(cls: type, values: dict[str, Any]) -> Any:
    """An instance of the attrs class *cls* from *values* (by init name): converters run, validators not."""
    obj: Any = _NEW(cls)
    for name, default, convert, set_slot in _FIELDS_OF[cls]:
        try:
            value = values[name]
        except KeyError:
            if default is _NOTHING:
                raise _Unknown(f"{cls.__name__}.{name} is missing") from None
            value = default.factory() if isinstance(default, _FACTORY) else default
        set_slot(obj, value if convert is None else convert(value))
    return obj


def _exactly(data: Any, keys: frozenset[str], optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    """*data* when it is an object with exactly *keys* (and any of *optional*); else :class:`_Unknown`."""
    if type(data) is not dict:
        raise _Unknown("not an object")
    have = data.keys()
    if have == keys:  # the usual case: no optional key
        return data
    if not (have >= keys and have <= keys | optional):
        raise _Unknown(f"keys {sorted(have ^ keys)}")
    return data


def _opt_money(minor: int | None, currency: Currency) -> Money | None:
    return None if minor is None else _money_of(minor, currency)


def _opt_date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


_TOP_KEYS = frozenset({"schema", "schema_version", "plan"})
_PLAN_KEYS = frozenset({
    "id", "version", "kind", "currency", "fee_minor", "finance_charge_minor", "booked", "session", "timezone",
    "tier", "client", "terms", "installments",
})
_LINE_KEYS = frozenset({"number", "kind", "due", "amount_minor", "label", "days_before_session"})
_LINE_OPTIONAL = frozenset({"key"})
_TERMS_KEYS = frozenset({
    "deposit", "installments", "dates", "final_due_days_before", "remainder", "apr", "first_due", "compress",
    "late_fees", "reminders", "cancellation", "incentives", "retries",
})
_DEPOSIT_KEYS = frozenset({"percent", "amount_minor"})
_LATE_FEE_KEYS = frozenset({"grace_days", "steps", "cap_minor", "cap_percent", "fee_on_fee", "collect"})
_STEP_KEYS = frozenset({"days", "amount_minor", "percent"})
_REMINDER_KEYS = frozenset({"offsets", "final_notice", "templates"})
_CANCEL_KEYS = frozenset({
    "windows", "deposit_refundable", "no_show_fee_minor", "reschedule_fee_minor", "credit_instead_of_refund",
    "collect_shortfall",
})
_WINDOW_KEYS = frozenset({"within_days", "percent"})
_INCENTIVE_KEYS = frozenset({"kind", "amount_minor", "percent", "by", "days_early", "min_on_time", "name", "clawback"})
_RETRY_KEYS = frozenset({"days", "stop_days_before", "card_warning_days"})


def _rule(data: Any) -> DateRule:
    kind = data.get("type") if type(data) is dict else None
    if kind == "cadence":
        return Cadence.parse(_exactly(data, frozenset({"type", "cadence"}))["cadence"])
    if kind == "dates":
        dates = _exactly(data, frozenset({"type", "dates"}))["dates"]
        rule: DateRule = _built(ExplicitDates, {"dates": [dt.date.fromisoformat(d) for d in dates]})
        return rule
    if kind == "before_session":
        rule = _built(BeforeSession, {"days": _exactly(data, frozenset({"type", "days"}))["days"]})
        return rule
    raise _Unknown(f"date rule {kind!r}")


def _terms(data: Any, cur: Currency) -> Terms:
    t = _exactly(data, _TERMS_KEYS)
    dep = _exactly(t["deposit"], _DEPOSIT_KEYS)
    values: dict[str, Any] = {
        "deposit": _built(DepositRule, {"percent": dep["percent"], "amount": _opt_money(dep["amount_minor"], cur)}),
        "installments": t["installments"],
        "dates": _rule(t["dates"]),
        "final_due_days_before": t["final_due_days_before"],
        "remainder": t["remainder"],
        "apr": t["apr"],
        "first_due": _opt_date(t["first_due"]),
        "compress": t["compress"],
        "incentives": [_built(Incentive, {
            **(i := _exactly(raw, _INCENTIVE_KEYS)), "amount": _opt_money(i["amount_minor"], cur), "by": _opt_date(i["by"]),
        }) for raw in t["incentives"]],
    }
    lf = t["late_fees"]
    if lf is not None:
        _exactly(lf, _LATE_FEE_KEYS)
        values["late_fees"] = _built(LateFeePolicy, {
            **lf,
            "steps": [_built(LateFeeStep, {**(s := _exactly(raw, _STEP_KEYS)), "amount": _opt_money(s["amount_minor"], cur)})
                      for raw in lf["steps"]],
            "cap": _opt_money(lf["cap_minor"], cur),
        })
    rp = _exactly(t["reminders"], _REMINDER_KEYS)
    values["reminders"] = _built(ReminderPolicy, {**rp, "templates": rp["templates"] or {}})
    cp = t["cancellation"]
    if cp is not None:
        _exactly(cp, _CANCEL_KEYS)
        values["cancellation"] = _built(CancellationPolicy, {
            **cp,
            "windows": [_built(CancellationWindow, _exactly(w, _WINDOW_KEYS)) for w in cp["windows"]],
            "no_show_fee": _opt_money(cp["no_show_fee_minor"], cur),
            "reschedule_fee": _opt_money(cp["reschedule_fee_minor"], cur),
        })
    values["retries"] = _built(RetryPolicy, _exactly(t["retries"], _RETRY_KEYS))
    terms: Terms = _built(Terms, values)
    return terms


def _trusted_plan(data: Any) -> PaymentPlan:
    top = _exactly(data, _TOP_KEYS)
    if top["schema"] != _KIND or top["schema_version"] != SCHEMA_VERSION:
        raise _Unknown("another schema or version")
    p = _exactly(top["plan"], _PLAN_KEYS)
    cur = to_currency(p["currency"])
    lines = []
    for raw in p["installments"]:
        line = _exactly(raw, _LINE_KEYS, _LINE_OPTIONAL)
        lines.append(_built(Installment, {
            **line, "kind": InstallmentKind(line["kind"]), "due": dt.date.fromisoformat(line["due"]),
            "amount": _money_of(line["amount_minor"], cur),
        }))
    plan: PaymentPlan = _built(PaymentPlan, {
        **p,
        "fee": _money_of(p["fee_minor"], cur),
        "installments": lines,
        "booked": dt.date.fromisoformat(p["booked"]),
        "session": dt.date.fromisoformat(p["session"]),
        "terms": _terms(p["terms"], cur),
        "kind": PlanKind(p["kind"]),
        "finance_charge": _opt_money(p["finance_charge_minor"], cur),
    })
    return plan


def trusted_plan(text: str) -> PaymentPlan:
    """A plan from a document the store wrote, its checksum already matched: not validated again.

    Each value is built with its class's converters and set as the
    document has it; a document of another shape (a key this reader does
    not know or misses, another schema version) is read by :func:`load_plan`,
    which checks everything.

    Raises:
        ValueError, KeyError, TypeError: the document does not decode
            (the caller turns it into a :class:`DamagedRowError`).
    """
    data = json.loads(text)
    try:
        return _trusted_plan(data)
    except (_Unknown, *DECODE_ERRORS):
        return load_plan(data)


# -- ledger summaries: a plan's ledger read without replaying its entries -------------------
#
# On the last entry row of each write the store keeps the running totals the plan's ledger had
# after that row (``summary``, with its checksum), written by the same INSERT. A cold read of a
# plan whose last row carries a summary counting exactly the rows it fetched takes the totals
# from it instead of replaying every entry. The rows are still fetched in the read's transaction
# and their checksums checked there, so a hand edit of an entry is a DamagedRowError on that read
# as before; their documents are decoded the first time something walks the entries
# (:class:`_RowEntries`). A status under the default allocation, on a day on or after the last
# entry, reads the totals only (``Ledger.as_of`` is then the ledger itself).
#
# A summary is derived data: one that does not match its checksum, counts other rows or has
# another shape is not used, and the entries are replayed instead.

_SUMMARY_VERSION: Final = 1
# The ledger's integer totals, in the order the summary lists them after its version.
_SUMMARY_INTS: Final = ("_n", "_paid", "_refunded", "_fees", "_waived", "_credits", "_written_off", "_failed",
                        "_earmarked")
_SUMMARY_OTHER: Final = ("_installment_write_offs", "_cancellation", "_last_on")
_SUMMARY_LENGTH: Final = 1 + len(_SUMMARY_INTS) + len(_SUMMARY_OTHER)
# Whether the summary covers every field of the ledger but its identity and its entries. A field
# added to Ledger without a place in the summary makes the store stop writing and reading
# summaries (every read replays) rather than restore a ledger without it; a test fails then.
SUMMARIES_COVER_THE_LEDGER: Final = {a.name for a in attrs.fields(Ledger)} == {
    "currency", "plan_id", "total", "_store", *_SUMMARY_INTS, *_SUMMARY_OTHER,
}
_GET_INTS: Final = operator.attrgetter(*_SUMMARY_INTS)
_LEDGER_SLOTS: Final = {name: Ledger.__dict__[name].__set__ for name in (*_SUMMARY_INTS, *_SUMMARY_OTHER)}


def ledger_summary(ledger: Ledger) -> str | None:
    """The summary of *ledger* the store keeps on its last entry row (None: summaries are off).

    A compact JSON list: the format's version, the integer totals in
    ``_SUMMARY_INTS`` order (the entry count first), the write-offs aimed
    at installments as ``[number, minor]`` pairs, the cancellation's entry
    id, and the date of the latest entry.
    """
    if not SUMMARIES_COVER_THE_LEDGER:  # pragma: no cover - guarded by a test
        return None
    cancel, last = ledger._cancellation, ledger._last_on
    return json.dumps([
        _SUMMARY_VERSION, *_GET_INTS(ledger), [list(pair) for pair in ledger._installment_write_offs],
        None if cancel is None else cancel.id, None if last is None else last.isoformat(),
    ], separators=(",", ":"))


class _RowEntries(_Store):
    """A ledger's entries, decoded from their rows the first time they are read.

    ``entries`` and ``index`` are left unset until then: reading an unset
    slot falls through to :meth:`__getattr__`, which decodes every row
    once (under its own lock: :class:`Ledger` reads ``entries`` while it
    holds ``lock``) and sets both, so later reads cost what a plain
    store's do. Every row's checksum matched in the read's transaction, so
    the documents are the store's own writes; one that still fails to
    decode (a store bug, not a hand edit) raises its
    :class:`~payplan.DamagedRowError` there, where the entries are first read.
    """

    __slots__ = ("_decode", "_once")

    def __init__(self, decode: Callable[[], list[LedgerEntry]]) -> None:
        self.lock = threading.Lock()
        self._once = threading.Lock()
        self._decode: Callable[[], list[LedgerEntry]] | None = decode

    def __getattr__(self, name: str) -> Any:
        if name not in ("entries", "index"):
            raise AttributeError(name)
        with self._once:
            decode = self._decode
            if decode is not None:  # not decoded by another thread meanwhile
                entries = decode()
                self.index = {e.id: k for k, e in enumerate(entries)}
                self.entries = entries
                self._decode = None
        return object.__getattribute__(self, name)


def summarized_ledger(
    plan: PaymentPlan,
    summary: str,
    rows: Sequence[Any],
    decode: Callable[[Any], LedgerEntry],
) -> Ledger | None:
    """*plan*'s ledger from the *summary* on the last of all its entry *rows* (in seq order, checksums matched).

    *decode* turns one row (with ``entry_id``) into its entry; it runs on
    the cancellation's row now and on every row the first time the
    ledger's entries are read. None when the summary does not describe
    these rows (another count, a cancellation not among them, another
    shape): the caller replays the entries instead.
    """
    if not SUMMARIES_COVER_THE_LEDGER:  # pragma: no cover - guarded by a test
        return None
    try:
        data = json.loads(summary)
        if type(data) is not list or len(data) != _SUMMARY_LENGTH or data[0] != _SUMMARY_VERSION:
            return None
        ints = data[1:1 + len(_SUMMARY_INTS)]
        pairs, cancel_id, last = data[1 + len(_SUMMARY_INTS):]
        if any(type(v) is not int for v in ints) or ints[0] != len(rows):
            return None
        write_offs = tuple((k, m) for k, m in pairs)
        if any(type(k) is not int or type(m) is not int for k, m in write_offs):
            return None
        last_on = None if last is None else dt.date.fromisoformat(last)
    except DECODE_ERRORS:
        return None
    known: dict[str, LedgerEntry] = {}
    if cancel_id is not None:
        row = next((r for r in rows if r.entry_id == cancel_id), None)
        if row is None:
            return None
        known[cancel_id] = decode(row)
        if type(known[cancel_id]) is not CancellationSettled:
            return None

    def entries() -> list[LedgerEntry]:
        return [known[r.entry_id] if r.entry_id in known else decode(r) for r in rows]

    total = plan.total
    ledger = _ledger(total.currency, plan.id, total.minor, _RowEntries(entries), 0)
    slots = _LEDGER_SLOTS
    for name, value in zip(_SUMMARY_INTS, ints, strict=True):
        slots[name](ledger, value)
    slots["_installment_write_offs"](ledger, write_offs)
    slots["_cancellation"](ledger, known.get(cancel_id) if cancel_id is not None else None)
    slots["_last_on"](ledger, last_on)
    return ledger


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
