"""JSON in and out, with a schema version.

Documents look like ``{"schema": "payplan/plan", "schema_version": 1, "plan": {...}}``.
Amounts are integer minor units (``*_minor``) with the currency code once per
plan; dates are ``YYYY-MM-DD``. Loading checks every field and rebuilds the
plan through its constructor, so a loaded plan obeys every invariant a built
one does. A document from a newer schema version is refused, never guessed at.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from ._calendar import BeforeSession, Cadence, DateRule, ExplicitDates
from ._ledger import (
    _ENTRY_TYPES,
    Ledger,
    LedgerEntry,
    _Store,
)
from ._ledger import _ledger as _new_ledger
from ._money import Currency, Money, Remainder, _money, to_currency
from ._plan import PaymentPlan, PlanKind
from ._policies import (
    CancellationPolicy,
    CancellationWindow,
    FeeCollection,
    Incentive,
    IncentiveKind,
    LateFeePolicy,
    LateFeeStep,
    ReminderPolicy,
)
from ._retries import RetryPolicy
from ._schedule import Installment, InstallmentKind
from ._terms import DepositRule, Terms
from .exceptions import InvalidPlanError, LedgerError, SerializationError

__all__ = [
    "SCHEMA_VERSION",
    "dump_ledger",
    "dump_plan",
    "dumps_ledger",
    "dumps_plan",
    "load_ledger",
    "load_plan",
    "loads_ledger",
    "loads_plan",
]

SCHEMA_VERSION = 1
"""The schema version this payplan writes, and the newest it reads."""
_KIND = "payplan/plan"

T = TypeVar("T")


def _date(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def _rule_to_json(rule: DateRule) -> dict[str, Any]:
    if isinstance(rule, Cadence):
        return {"type": "cadence", "cadence": rule.value}
    if isinstance(rule, ExplicitDates):
        return {"type": "dates", "dates": [d.isoformat() for d in rule.dates]}
    return {"type": "before_session", "days": list(rule.days)}


def _terms_to_json(t: Terms) -> dict[str, Any]:
    dep = t.deposit
    return {
        "deposit": {
            "percent": None if dep.percent_ is None else str(dep.percent_),
            "amount_minor": None if dep.amount is None else dep.amount.minor,
        },
        "installments": t.installments,
        "dates": _rule_to_json(t.dates),
        "final_due_days_before": t.final_due_days_before,
        "remainder": t.remainder.value,
        "apr": str(t.apr),
        "first_due": _date(t.first_due),
        "compress": t.compress,
        **_policies_to_json(t),
    }


def dump_plan(plan: PaymentPlan) -> dict[str, Any]:
    """The plan as a JSON-ready dict, wrapped with the schema name and version.

    .. versionadded:: 0.1.0
    """
    charge = plan.finance_charge
    return {
        "schema": _KIND,
        "schema_version": SCHEMA_VERSION,
        "plan": {
            "id": plan.id,
            "version": plan.version,
            "kind": plan.kind.value,
            "currency": plan.fee.currency.code,
            "fee_minor": plan.fee.minor,
            "finance_charge_minor": None if charge is None else charge.minor,
            "booked": plan.booked.isoformat(),
            "session": plan.session.isoformat(),
            "timezone": plan.timezone,
            "tier": plan.tier,
            "client": plan.client,
            "terms": _terms_to_json(plan.terms),
            "installments": [_installment_to_json(i) for i in plan.installments],
        },
    }


def _installment_to_json(i: Installment) -> dict[str, Any]:
    line: dict[str, Any] = {
        "number": i.number,
        "kind": i.kind.value,
        "due": i.due.isoformat(),
        "amount_minor": i.amount.minor,
        "label": i.label,
        "days_before_session": i.days_before_session,
    }
    if i.key is not None:  # only amended plans have keys; older readers ignore the field
        line["key"] = i.key
    return line


def dumps_plan(plan: PaymentPlan, *, indent: int | None = 2) -> str:
    """The plan as JSON text (see :func:`dump_plan`).

    .. versionadded:: 0.1.0
    """
    return json.dumps(dump_plan(plan), indent=indent, sort_keys=False)


class _Reader:
    """Reads fields out of a parsed document, naming the path of anything wrong."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise SerializationError(f"{path}: expected an object, got {type(data).__name__}")
        self.data = data
        self.path = path

    def get(self, key: str, kind: type[T] | tuple[type, ...], *, optional: bool = False) -> T:
        where = f"{self.path}.{key}"
        if key not in self.data:
            if optional:
                return None  # type: ignore[return-value]
            raise SerializationError(f"{where}: required field is missing")
        value = self.data[key]
        if value is None and optional:
            return None  # type: ignore[return-value]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise SerializationError(f"{where}: expected {_names(kinds)}, got {value!r}")
        if not isinstance(value, kinds):
            raise SerializationError(f"{where}: expected {_names(kinds)}, got {type(value).__name__} {value!r}")
        return value  # type: ignore[return-value]

    def date(self, key: str, *, optional: bool = False) -> dt.date:
        text = self.get(key, str, optional=optional)
        if text is None:
            return None
        return parse_date(text, f"{self.path}.{key}")

    def sub(self, key: str) -> _Reader:
        return _Reader(self.get(key, dict), f"{self.path}.{key}")

    def convert(self, key: str, fn: Callable[[Any], T], value: Any) -> T:
        try:
            return fn(value)
        except SerializationError:
            raise  # already names its own path: never prefix it twice
        except (InvalidPlanError, ValueError, TypeError) as exc:
            raise SerializationError(f"{self.path}.{key}: {exc}") from None


def open_document(document: Any, kind: str, newest: int) -> _Reader:
    """Check a document's ``schema`` and ``schema_version`` header; return a reader of it.

    Raises:
        SerializationError: not an object, another schema, a version below 1,
            or a version newer than *newest* (the message says to upgrade).
    """
    top = _Reader(document, "document")
    schema = top.get("schema", str)
    if schema != kind:
        raise SerializationError(f"document.schema: expected {kind!r}, got {schema!r}")
    version = top.get("schema_version", int)
    if version > newest:
        raise SerializationError(
            f"document.schema_version: this payplan reads versions up to {newest}, "
            f"got {version}; upgrade payplan to read it"
        )
    if version < 1:
        raise SerializationError(f"document.schema_version: expected 1 or more, got {version}")
    return top


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join({"str": "a string", "int": "an integer", "dict": "an object", "list": "a list", "bool": "true/false"}.get(k.__name__, k.__name__) for k in kinds)


def parse_date(text: str, where: str) -> dt.date:
    """Parse ``YYYY-MM-DD``, naming *where* in the error."""
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SerializationError(f"{where}: expected a date as YYYY-MM-DD, got {text!r}") from None


def _rule_from(r: _Reader) -> DateRule:
    kind = r.get("type", str)
    if kind == "cadence":
        return r.convert("cadence", Cadence.parse, r.get("cadence", str))
    if kind == "dates":
        items = r.get("dates", list)
        dates = [parse_date(x, f"{r.path}.dates[{n}]") if isinstance(x, str) else parse_date("", f"{r.path}.dates[{n}]") for n, x in enumerate(items)]
        return r.convert("dates", ExplicitDates, dates)
    if kind == "before_session":
        return r.convert("days", BeforeSession, r.get("days", list))
    raise SerializationError(f"{r.path}.type: expected cadence, dates or before_session, got {kind!r}")


def _terms_from(r: _Reader, cur: Currency) -> Terms:
    d = r.sub("deposit")
    pct = d.get("percent", str, optional=True)
    amt = d.get("amount_minor", int, optional=True)
    deposit = d.convert(
        "percent",
        lambda _: DepositRule(percent=pct, amount=None if amt is None else Money(amt, cur)),
        None,
    )
    return _guarded(
        r.path,
        lambda: Terms(
            deposit=deposit,
            installments=r.get("installments", int),
            dates=_rule_from(r.sub("dates")),
            final_due_days_before=r.get("final_due_days_before", int),
            remainder=Remainder(r.get("remainder", str)),
            apr=r.get("apr", str),
            first_due=r.date("first_due", optional=True),
            compress=r.get("compress", bool),
            **_policies_from(r, cur),
        ),
    )


def load_plan(document: Mapping[str, Any]) -> PaymentPlan:
    """Rebuild a plan from :func:`dump_plan` output, checking every field.

    Raises:
        SerializationError: the document is malformed, names another schema,
            or comes from a newer schema version; the message gives the
            path of the field (``plan.installments[2].due``).

    .. versionadded:: 0.1.0
    """
    top = open_document(document, _KIND, SCHEMA_VERSION)
    p = _Reader(top.get("plan", dict), "plan")
    cur = p.convert("currency", to_currency, p.get("currency", str))
    items = p.get("installments", list)
    lines = []
    for n, raw in enumerate(items):
        r = _Reader(raw, f"plan.installments[{n}]")
        kind = r.convert("kind", InstallmentKind, r.get("kind", str))
        lines.append(
            Installment(
                r.get("number", int),
                kind,
                r.date("due"),
                r.convert("amount_minor", lambda v: Money(v, cur), r.get("amount_minor", int)),
                r.get("label", str, optional=True),
                r.get("days_before_session", int, optional=True),
                r.get("key", str, optional=True),
            )
        )
    charge = p.get("finance_charge_minor", int, optional=True)
    terms = _terms_from(p.sub("terms"), cur)
    try:
        return PaymentPlan(
            id=p.get("id", str),
            fee=Money(p.get("fee_minor", int), cur),
            installments=lines,
            booked=p.date("booked"),
            session=p.date("session"),
            terms=terms,
            kind=p.convert("kind", PlanKind, p.get("kind", str)),
            finance_charge=None if charge is None else _money(charge, cur),
            timezone=p.get("timezone", str),
            tier=p.get("tier", str, optional=True),
            client=p.get("client", str, optional=True),
            version=p.get("version", int),
        )
    except SerializationError:
        raise
    except InvalidPlanError as exc:
        raise SerializationError(f"plan: {exc}") from None


#: How deep a payplan document may nest (a plan history needs about ten).
MAX_DEPTH = 100
#: The most digits an integer in a document may have (an amount of 4,000
#: digits is already refused as money; Python refuses to read longer ones).
MAX_INT_DIGITS = 4000


class _Duplicated(dict[str, Any]):
    """An object that had a key twice: the first repeated key is kept to name it."""

    duplicate: str


class _HugeInt:
    """An integer literal past :data:`MAX_INT_DIGITS`, kept as its length to name it."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _flag_duplicate(pairs: list[tuple[str, Any]]) -> _Duplicated:
    seen: set[str] = set()
    flagged = _Duplicated(pairs)
    for key, _ in pairs:
        if key in seen:
            flagged.duplicate = key
            break
        seen.add(key)
    return flagged


def _int(text: str) -> int | _HugeInt:
    digits = len(text) - text.startswith("-")
    return _HugeInt(digits) if digits > MAX_INT_DIGITS else int(text)


def _check_tree(data: Any) -> None:
    """Refuse the first duplicate key or oversized integer in document order, naming its path."""
    stack: list[tuple[Any, str]] = [(data, "document")]
    while stack:
        value, path = stack.pop()
        if type(value) is _HugeInt:
            raise SerializationError(
                f"{path}: expected an integer of at most {MAX_INT_DIGITS} digits, got one of {value.digits} digits"
            )
        if isinstance(value, dict):
            if type(value) is _Duplicated:
                raise SerializationError(f"{path}: the key {value.duplicate!r} appears twice; expected each key once")
            prefix = "" if path == "document" else path + "."
            stack.extend((v, prefix + k) for k, v in reversed(value.items()))
        elif type(value) is list:
            stack.extend((v, f"{path}[{n}]") for n, v in reversed(list(enumerate(value))))


_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIRS = re.compile(r"\[\]|\{\}")
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]')


def _nested_too_deep(text: str) -> bool:
    """Whether valid JSON *text* nests deeper than :data:`MAX_DEPTH` (each pass removes one level)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    for _ in range(MAX_DEPTH):
        if not brackets:
            return False
        brackets = _EMPTY_PAIRS.sub("", brackets)
    return bool(brackets)


def _too_deep(text: str) -> SerializationError:
    """The error for text nested past :data:`MAX_DEPTH`: the path of the first container too deep."""
    path: list[str] = []
    index: list[int] = []  # per open container: the array index, or -1 in an object
    key = ""  # the last string seen: in an object, the key of the value that follows
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token[0] == '"':
            key = token[1:-1]
        elif token in "[{":
            if index:
                path.append(f"[{index[-1]}]" if index[-1] >= 0 else f".{key}")
            if len(index) >= MAX_DEPTH:
                break
            index.append(0 if token == "[" else -1)
        elif token in "]}":
            index.pop()
            if path:
                path.pop()
        elif index[-1] >= 0:  # a comma in an array
            index[-1] += 1
    where = "".join(path).lstrip(".")
    where = where if not where or where[0] != "[" else "document" + where
    return SerializationError(f"{where or 'document'}: expected a document nested at most {MAX_DEPTH} levels deep")


def parse_json(text: str | bytes) -> Any:
    """Parse JSON text into plain values, refusing what no payplan document holds.

    Refused, with the path and the reason: invalid JSON, a key twice in one
    object (JSON parsers disagree on which one wins), an integer of more than
    :data:`MAX_INT_DIGITS` digits, nesting deeper than :data:`MAX_DEPTH`.

    Raises:
        SerializationError: naming the path (``plan.terms: the key 'apr'
            appears twice``) or the position of invalid JSON.
    """
    flagged: list[object] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) != len(items):
            flagged.append(out := _flag_duplicate(items))
        return out

    try:
        try:
            data = json.loads(text, object_pairs_hook=pairs)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise
        except ValueError:  # an integer past Python's digit limit: read again to name it
            flagged.append(True)
            data = json.loads(text, object_pairs_hook=pairs, parse_int=_int)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SerializationError(f"expected a JSON document, got invalid JSON: {exc}") from None
    except RecursionError:
        data = None
        flagged.append(True)
    if flagged and data is not None:
        _check_tree(data)
    decoded = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if data is None or _nested_too_deep(decoded):
        raise _too_deep(decoded)
    return data


def loads_plan(text: str | bytes) -> PaymentPlan:
    """Rebuild a plan from JSON text (see :func:`load_plan`).

    Raises:
        SerializationError: not JSON, or not a valid plan document.

    .. versionadded:: 0.1.0
    """
    data = parse_json(text)
    return load_plan(data)


# -- collection policies (optional keys of "terms"; absent means the default) ----------


def _minor(m: Money | None) -> int | None:
    return None if m is None else m.minor


def _pct_json(p: Decimal | None) -> str | None:
    return None if p is None else str(p)


def _policies_to_json(t: Terms) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lf = t.late_fees
    out["late_fees"] = None if lf is None else {
        "grace_days": lf.grace_days,
        "steps": [
            {"days": s.days, "amount_minor": _minor(s.amount), "percent": _pct_json(s.percent)} for s in lf.steps
        ],
        "cap_minor": _minor(lf.cap),
        "cap_percent": _pct_json(lf.cap_percent),
        "fee_on_fee": lf.fee_on_fee,
        "collect": lf.collect.value,
    }
    rp = t.reminders
    out["reminders"] = {
        "offsets": list(rp.offsets),
        "final_notice": rp.final_notice,
        "templates": rp.custom_templates,
    }
    cp = t.cancellation
    out["cancellation"] = None if cp is None else {
        "windows": [{"within_days": w.within_days, "percent": str(w.percent)} for w in cp.windows],
        "deposit_refundable": cp.deposit_refundable,
        "no_show_fee_minor": _minor(cp.no_show_fee),
        "reschedule_fee_minor": _minor(cp.reschedule_fee),
        "credit_instead_of_refund": cp.credit_instead_of_refund,
        "collect_shortfall": cp.collect_shortfall,
    }
    out["incentives"] = [
        {
            "kind": i.kind.value,
            "amount_minor": _minor(i.amount),
            "percent": _pct_json(i.percent),
            "by": _date(i.by),
            "days_early": i.days_early,
            "min_on_time": i.min_on_time,
            "name": i.name,
            "clawback": i.clawback,
        }
        for i in t.incentives
    ]
    rt = t.retries
    out["retries"] = {
        "days": list(rt.days),
        "stop_days_before": rt.stop_days_before,
        "card_warning_days": rt.card_warning_days,
    }
    return out


def _opt_money(r: _Reader, key: str, cur: Currency) -> Money | None:
    value = r.get(key, int, optional=True)
    return None if value is None else r.convert(key, lambda v: Money(v, cur), value)


def _guarded(where: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except SerializationError:
        raise
    except (InvalidPlanError, ValueError, TypeError) as exc:
        raise SerializationError(f"{where}: {exc}") from None


def _step_from(s: _Reader, cur: Currency) -> LateFeeStep:
    return _guarded(
        s.path,
        lambda: LateFeeStep(
            s.get("days", int),
            amount=_opt_money(s, "amount_minor", cur),
            percent=s.get("percent", str, optional=True),
        ),
    )


def _window_from(w: _Reader) -> CancellationWindow:
    return _guarded(w.path, lambda: CancellationWindow(w.get("within_days", int), w.get("percent", str)))


def _incentive_from(i: _Reader, cur: Currency) -> Incentive:
    return _guarded(
        i.path,
        lambda: Incentive(
            IncentiveKind(i.get("kind", str)),
            amount=_opt_money(i, "amount_minor", cur),
            percent=i.get("percent", str, optional=True),
            by=i.date("by", optional=True),
            days_early=i.get("days_early", int),
            min_on_time=i.get("min_on_time", int),
            name=i.get("name", str),
            clawback=i.get("clawback", bool),
        ),
    )


def _policies_from(r: _Reader, cur: Currency) -> dict[str, Any]:
    """The policy fields of Terms from a terms object; absent keys keep the defaults."""
    out: dict[str, Any] = {}
    if r.data.get("late_fees") is not None:
        lf = r.sub("late_fees")
        steps = [_step_from(_Reader(raw, f"{lf.path}.steps[{n}]"), cur) for n, raw in enumerate(lf.get("steps", list))]
        out["late_fees"] = _guarded(
            lf.path,
            lambda: LateFeePolicy(
                steps,
                grace_days=lf.get("grace_days", int),
                cap=_opt_money(lf, "cap_minor", cur),
                cap_percent=lf.get("cap_percent", str, optional=True),
                fee_on_fee=lf.get("fee_on_fee", bool),
                # absent from documents written before 0.3: the behaviour they had
                collect=lf.get("collect", str, optional=True) or FeeCollection.AFTER_LAST_INSTALLMENT,
            ),
        )
    if r.data.get("reminders") is not None:
        rp = r.sub("reminders")
        templates = rp.get("templates", dict, optional=True) or {}
        out["reminders"] = _guarded(
            rp.path,
            lambda: ReminderPolicy(rp.get("offsets", list), rp.get("final_notice", bool), templates),
        )
    if r.data.get("cancellation") is not None:
        cp = r.sub("cancellation")
        windows = [_window_from(_Reader(raw, f"{cp.path}.windows[{n}]")) for n, raw in enumerate(cp.get("windows", list))]
        out["cancellation"] = _guarded(
            cp.path,
            lambda: CancellationPolicy(
                windows,
                deposit_refundable=cp.get("deposit_refundable", bool),
                no_show_fee=_opt_money(cp, "no_show_fee_minor", cur),
                reschedule_fee=_opt_money(cp, "reschedule_fee_minor", cur),
                credit_instead_of_refund=cp.get("credit_instead_of_refund", bool),
                collect_shortfall=cp.get("collect_shortfall", bool),
            ),
        )
    if r.data.get("incentives") is not None:
        out["incentives"] = tuple(
            _incentive_from(_Reader(raw, f"{r.path}.incentives[{n}]"), cur)
            for n, raw in enumerate(r.get("incentives", list))
        )
    if r.data.get("retries") is not None:
        rt = r.sub("retries")
        out["retries"] = _guarded(
            rt.path,
            lambda: RetryPolicy(
                tuple(rt.get("days", list)),
                stop_days_before=rt.get("stop_days_before", int),
                card_warning_days=rt.get("card_warning_days", int),
            ),
        )
    return out


# -- ledgers ------------------------------------------------------------------------------

_LEDGER_KIND = "payplan/ledger"
_ENTRY_CLASSES: dict[str, type[Any]] = {cls.kind: cls for cls in _ENTRY_TYPES}


#: Fields added after documents were first written, left out while they hold None (documents stay as they were).
_OMIT_NONE: frozenset[tuple[str, str]] = frozenset({("payment", "fee_id")})


def _entry_to_json(entry: LedgerEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": entry.kind}
    for a in attrs.fields(type(entry)):
        value = getattr(entry, a.name)
        if value is None and (entry.kind, a.name) in _OMIT_NONE:
            continue
        if isinstance(value, Money):
            out[f"{a.name}_minor"] = value.minor
        elif isinstance(value, dt.date):
            out[a.name] = value.isoformat()
        elif value is None and "Money" in str(a.type):
            out[f"{a.name}_minor"] = None
        else:
            out[a.name] = value
    return out


def dump_ledger(ledger: Ledger) -> dict[str, Any]:
    """The ledger as a JSON-ready dict, wrapped with the schema name and version.

    Entries are listed in the order they were recorded; each is an object
    with its ``kind`` (``"payment"``, ``"refund"``, ...), its fields, amounts
    as ``*_minor`` integers in the ledger's currency and dates as
    ``YYYY-MM-DD``.

    .. versionadded:: 0.1.0
    """
    return {
        "schema": _LEDGER_KIND,
        "schema_version": SCHEMA_VERSION,
        "ledger": {
            "plan_id": ledger.plan_id,
            "currency": ledger.currency.code,
            "total_minor": ledger.total,
            "entries": [_entry_to_json(e) for e in ledger],
        },
    }


def dumps_ledger(ledger: Ledger, *, indent: int | None = 2) -> str:
    """The ledger as JSON text (see :func:`dump_ledger`).

    .. versionadded:: 0.1.0
    """
    return json.dumps(dump_ledger(ledger), indent=indent)


_FIELD_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,)}

#: Fields added after documents were first written, with the value an older document means.
_LEGACY_DEFAULTS: dict[tuple[str, str], Any] = {("refund", "lowers_price"): False}


def _entry_from(r: _Reader, cur: Currency) -> LedgerEntry:
    kind = r.get("kind", str)
    cls = _ENTRY_CLASSES.get(kind)
    if cls is None:
        raise SerializationError(f"{r.path}.kind: expected one of {sorted(_ENTRY_CLASSES)}, got {kind!r}")
    values: dict[str, Any] = {}
    for a in attrs.fields(cls):
        name, annotation = a.name, str(a.type)
        legacy = _LEGACY_DEFAULTS.get((kind, name), attrs.NOTHING)
        optional = "None" in annotation or a.default is not attrs.NOTHING or legacy is not attrs.NOTHING
        if "Money" in annotation:
            minor = r.get(f"{name}_minor", int, optional=optional)
            if minor is not None:
                values[name] = r.convert(f"{name}_minor", lambda v: Money(v, cur), minor)
        elif "date" in annotation:
            values[name] = r.date(name)
        else:
            base = annotation.split("|")[0].strip()
            value: Any = r.get(name, _FIELD_TYPES.get(base, (str,)), optional=optional)
            if value is not None:
                values[name] = value
            elif legacy is not attrs.NOTHING:
                values[name] = legacy
    return _guarded(r.path, lambda: cls(**values))  # type: ignore[no-any-return]


def load_ledger(document: Mapping[str, Any], plan: PaymentPlan | None = None) -> Ledger:
    """Rebuild a ledger from :func:`dump_ledger` output, recording every entry again.

    Every entry is checked as :meth:`Ledger.record` checks it (a refund above
    what was paid, a reused id, another currency are refused). With *plan*,
    the ledger is that plan's, and the document must be of the same plan
    and currency.

    Raises:
        SerializationError: the document is malformed, names another schema
            or plan, comes from a newer schema version, or an entry is
            refused; the message gives the path (``ledger.entries[3]``).

    .. versionadded:: 0.1.0
    """
    top = open_document(document, _LEDGER_KIND, SCHEMA_VERSION)
    r = top.sub("ledger")
    cur = r.convert("currency", to_currency, r.get("currency", str))
    plan_id = r.get("plan_id", str, optional=True)
    total = r.get("total_minor", int)
    if plan is not None:
        if plan.id != plan_id or plan.fee.currency != cur:
            raise SerializationError(
                f"ledger: expected the ledger of plan {plan.id!r} in {plan.currency}, "
                f"got plan {plan_id!r} in {cur.code}"
            )
        ledger = Ledger.empty(plan)
    else:
        ledger = _new_ledger(cur, plan_id, total, _Store(), 0)
    for n, raw in enumerate(r.get("entries", list)):
        er = _Reader(raw, f"ledger.entries[{n}]")
        entry = _entry_from(er, cur)
        try:
            ledger = ledger.record(entry)
        except LedgerError as exc:
            raise SerializationError(f"{er.path}: {exc}") from None
    return ledger


def loads_ledger(text: str | bytes, plan: PaymentPlan | None = None) -> Ledger:
    """Rebuild a ledger from JSON text (see :func:`load_ledger`).

    Raises:
        SerializationError: not JSON, or not a valid ledger document.

    .. versionadded:: 0.1.0
    """
    data = parse_json(text)
    return load_ledger(data, plan)
