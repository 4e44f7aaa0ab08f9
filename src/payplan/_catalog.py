"""The package catalog: tiers a business sells, loaded from TOML."""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from attrs import evolve, field, frozen

from ._calendar import Cadence
from ._money import Currency, Money, to_currency
from ._plan import PaymentPlan
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
from ._terms import DepositRule, Terms
from .exceptions import InvalidPlanError

if TYPE_CHECKING:
    from .guardrails import Sale

__all__ = ["Catalog", "Tier"]


def _as_counts(items: Iterable[int]) -> tuple[int, ...]:
    return tuple(items)


def _as_sales(items: Iterable[Sale]) -> tuple[Sale, ...]:
    return tuple(items)


def _tier_currency(tier: Tier) -> str:
    """The currency of a tier's amounts (USD when it names none)."""
    for m in (tier.fee, tier.least_payment, tier.terms.deposit.amount):
        if m is not None:
            return m.currency.code
    return "USD"


@frozen
class Tier:
    """A package the business sells: "Session Pack A, $2000, 25% or $500 deposit, 3 months".

    A tier with no *fee* (the reference table's "Custom") has its fee and
    deposit agreed per booking: pass them to :meth:`quote`.

    Attributes:
        name: The package name.
        fee: The price, or None when agreed per booking.
        terms: The default terms (deposit rule, cadence, cutoff, APR, ...).
        installment_counts: The installment counts a client may choose.
        description: Free text for documents.
        least_payment: The least installment a client may propose (a bound
            of :class:`payplan.Bounds`); None for no floor.
        most_days_between: The most days between two payments a client may
            propose; None for no limit.
        sold_in: Where the tier is sold (:class:`payplan.guardrails.Sale`
            values). A tier that breaks a refusing guardrail where it is
            sold is refused when it is built (so when its catalog loads),
            and a client's proposal for it is checked there too.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *sold_in*.
    """

    name: str
    fee: Money | None
    terms: Terms = field(factory=Terms)
    installment_counts: tuple[int, ...] = field(default=(1,), converter=_as_counts)
    description: str = ""
    least_payment: Money | None = field(default=None)
    most_days_between: int | None = field(default=None)
    sold_in: tuple[Sale, ...] = field(default=(), converter=_as_sales)

    @least_payment.validator
    def _check_least_payment(self, _: object, value: Money | None) -> None:
        if value is not None and (type(value) is not Money or value.minor <= 0):
            raise InvalidPlanError(f"tier {self.name!r}: expected least_payment as Money above zero, got {value!r}")

    @most_days_between.validator
    def _check_most_days(self, _: object, value: int | None) -> None:
        if value is not None and (type(value) is not int or value < 1):
            raise InvalidPlanError(f"tier {self.name!r}: expected most_days_between as whole days of 1 or more, got {value!r}")

    @installment_counts.validator
    def _check_counts(self, _: object, value: tuple[int, ...]) -> None:
        if not value or any(type(c) is not int or c < 1 for c in value):
            raise InvalidPlanError(
                f"tier {self.name!r}: expected installment counts of 1 or more, got {list(value)}"
            )

    @sold_in.validator
    def _lawful_where_sold(self, _: object, value: tuple[Sale, ...]) -> None:
        if not value:
            return
        from .guardrails import Sale, check_tier
        from .guardrails._check import raise_for_refusals

        for sale in value:
            if type(sale) is not Sale:
                raise InvalidPlanError(f"tier {self.name!r}: expected sold_in as Sale values, got {sale!r}")
            raise_for_refusals(check_tier(self, sale, currency=_tier_currency(self)), f"tier {self.name!r}", sale)

    @functools.cached_property
    def _terms_by_count(self) -> Mapping[int, Terms]:
        """The tier's terms for each installment count it offers.

        Built (and checked) once per tier, on the first quote: the tier is
        immutable, so every quote for a count shares the same Terms. Not a
        field: equality, hashing and ``evolve`` ignore it.
        """
        base = self.terms
        return MappingProxyType(
            {c: base if c == base.installments else evolve(base, installments=c) for c in self.installment_counts}
        )

    def quote(
        self,
        plan_id: str,
        *,
        booked: dt.date,
        session: dt.date,
        installments: int | None = None,
        fee: Money | None = None,
        deposit: DepositRule | None = None,
        timezone: str = "UTC",
        client: str | None = None,
        **overrides: Any,
    ) -> PaymentPlan:
        """Build a client's plan from this tier.

        Args:
            plan_id: The booking's stable id.
            booked: Booking date; the deposit is due then.
            session: Session date.
            installments: One of :attr:`installment_counts`; defaults to the
                tier's own term.
            fee: The agreed fee, for a tier without one (or to override it).
            deposit: The agreed deposit rule, overriding the tier's.
            timezone: The plan's IANA time zone.
            client: The client's id.
            overrides: Any other :class:`Terms` field.

        Raises:
            InvalidPlanError: a count the tier does not offer, or no fee.
            ScheduleDoesNotFitError: the schedule cannot fit before the cutoff.
        """
        price = fee if fee is not None else self.fee
        if price is None:
            raise InvalidPlanError(f"tier {self.name!r} has no fixed fee: pass the agreed fee")
        count = self.terms.installments if installments is None else installments
        if count not in self.installment_counts:
            raise InvalidPlanError(
                f"tier {self.name!r} offers {', '.join(map(str, self.installment_counts))} "
                f"installment(s), got {count}"
            )
        if deposit is not None:
            overrides["deposit"] = deposit
        terms = evolve(self.terms, installments=count, **overrides) if overrides else self._terms_by_count[count]
        return PaymentPlan.with_deposit(
            plan_id, price, booked=booked, session=session, terms=terms,
            timezone=timezone, tier=self.name, client=client,
        )


def _as_tiers(items: Iterable[Tier]) -> tuple[Tier, ...]:
    return tuple(items)


@frozen
class Catalog:
    """The tiers a business sells, looked up by name.

    Load one from TOML with :meth:`from_toml` (the format is in the README).

    .. versionadded:: 0.1.0
    """

    tiers: tuple[Tier, ...] = field(converter=_as_tiers)
    currency: Currency | None = None

    @tiers.validator
    def _unique(self, _: object, value: tuple[Tier, ...]) -> None:
        seen: set[str] = set()
        for t in value:
            key = t.name.casefold()
            if key in seen:
                raise InvalidPlanError(f"expected unique tier names, got {t.name!r} twice")
            seen.add(key)

    def __iter__(self) -> Iterator[Tier]:
        return iter(self.tiers)

    def __len__(self) -> int:
        return len(self.tiers)

    def __getitem__(self, name: str) -> Tier:
        """The tier called *name* (case-insensitive).

        Raises:
            InvalidPlanError: no such tier; the message lists the ones there are.
        """
        key = name.casefold()
        for t in self.tiers:
            if t.name.casefold() == key:
                return t
        names = ", ".join(repr(t.name) for t in self.tiers)
        raise InvalidPlanError(f"expected one of the tiers {names}, got {name!r}")

    @classmethod
    def from_toml(cls, source: str | Path) -> Catalog:
        """Load a catalog from a TOML file path, or from TOML text.

        A :class:`str` that contains a newline or ``=`` is read as TOML text;
        anything else is a path.

        Raises:
            InvalidPlanError: malformed TOML or an invalid tier; the message
                names the tier and the key.
        """
        if not isinstance(source, (str, Path)):
            raise InvalidPlanError(f"expected TOML text or a path, got {type(source).__name__} {source!r}")
        if isinstance(source, Path) or ("\n" not in source and "=" not in source):
            try:
                text = Path(source).read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidPlanError(f"cannot read catalog {str(source)!r}: {exc.strerror}") from None
            except UnicodeDecodeError:
                raise InvalidPlanError(f"expected a UTF-8 TOML catalog, got undecodable bytes in {str(source)!r}") from None
        else:
            text = source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidPlanError(f"expected a TOML catalog, got invalid TOML: {exc}") from None
        except RecursionError:
            raise InvalidPlanError(
                f"{_where(text, _deepest(text))}: expected a TOML catalog with arrays and inline tables "
                f"nested at most {_MAX_TOML_DEPTH} levels deep, got deeper"
            ) from None
        except ValueError:  # tomllib's int() past Python's digit limit
            huge = re.search(r"[0-9_]{4001,}", text)
            raise InvalidPlanError(
                f"{_where(text, huge.start() if huge else 0)}: expected numbers of at most 4000 digits in a TOML "
                "catalog, got a longer one"
            ) from None
        return catalog_from_mapping(data)


_MAX_TOML_DEPTH = 100


def _where(text: str, offset: int) -> str:
    """``catalog line N`` for a character *offset* in the TOML text."""
    return f"catalog line {text.count(chr(10), 0, offset) + 1}"


def _deepest(text: str) -> int:
    """The offset where arrays and inline tables first nest past the bound (quoted text skipped)."""
    depth = 0
    for match in re.finditer(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > _MAX_TOML_DEPTH:
                return match.start()
        elif token in "]}":
            depth -= 1
    return 0


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise InvalidPlanError(f"expected [{key}] to be a table, got {type(value).__name__}")
    return value


_TERM_KEYS = {
    "deposit",
    "installments",
    "cadence",
    "final_due_days_before",
    "remainder",
    "apr",
} | {
    # Collection policies (docs/catalog.md).
    "grace_days",
    "late_fee",
    "late_fee_steps",
    "late_fee_cap",
    "late_fee_cap_percent",
    "fee_on_fee",
    "late_fee_collect",
    "reminders",
    "final_notice",
    "reminder_templates",
    "cancellation",
    "incentives",
    "retry_days",
    "retry_stop_days_before",
    "card_warning_days",
}


def _terms_from(table: Mapping[str, Any], currency: Currency, base: Terms, where: str) -> Terms:
    changes: dict[str, Any] = {}
    if "deposit" in table:
        changes["deposit"] = _deposit_from(table["deposit"], currency, where)
    if "installments" in table:
        counts = table["installments"]
        changes["installments"] = counts[-1] if isinstance(counts, list) and counts else counts
    if "cadence" in table:
        changes["dates"] = Cadence.parse(table["cadence"])
    for key in ("final_due_days_before", "remainder"):
        if key in table:
            changes[key] = table[key]
    if "apr" in table:
        changes["apr"] = str(table["apr"])
    changes.update(_policy_changes(table, currency, base, where))
    try:
        return evolve(base, **changes)
    except (InvalidPlanError, ValueError, TypeError) as exc:
        raise InvalidPlanError(f"{where}: {exc}") from None


def _money_from(value: Any, currency: Currency, where: str) -> Money:
    if isinstance(value, float):
        raise InvalidPlanError(
            f"{where}: expected an amount as a quoted string such as \"500.00\", got the float {value!r}"
        )
    if not isinstance(value, (str, int)):
        raise InvalidPlanError(f"{where}: expected an amount, got {value!r}")
    try:
        return Money.of(value, currency)
    except InvalidPlanError as exc:
        raise InvalidPlanError(f"{where}: {exc}") from None


def _deposit_from(value: Any, currency: Currency, where: str) -> DepositRule:
    where = f"{where}.deposit"
    if isinstance(value, str) and value.strip().endswith("%"):
        return DepositRule.percent(value)
    if isinstance(value, (str, int, float)):
        return DepositRule.fixed(_money_from(value, currency, where))
    if not isinstance(value, Mapping):
        raise InvalidPlanError(f"{where}: expected \"25%\", an amount or a table, got {value!r}")
    unknown = set(value) - {"percent", "minimum", "amount"}
    if unknown:
        raise InvalidPlanError(f"{where}: unknown key(s) {sorted(unknown)}; expected percent, minimum or amount")
    pct = value.get("percent")
    if isinstance(pct, float):
        raise InvalidPlanError(f"{where}.percent: expected a quoted string or int, got the float {pct!r}")
    try:
        if "amount" in value:
            return DepositRule.fixed(_money_from(value["amount"], currency, where))
        if "minimum" in value:
            if pct is None:
                raise InvalidPlanError("a minimum deposit needs a percent (deposit = { percent = \"25\", minimum = \"500.00\" })")
            return DepositRule.percent_or_minimum(pct, _money_from(value["minimum"], currency, where))
        if pct is not None:
            return DepositRule.percent(pct)
    except InvalidPlanError as exc:
        raise InvalidPlanError(f"{where}: {exc}") from None
    raise InvalidPlanError(f"{where}: expected percent, minimum or amount")


#: Keys a tier takes beyond its terms, which [terms] may set for every tier too.
_TIER_BOUNDS = {"least_payment", "most_days_between"}
#: Keys only a tier (or [catalog]) takes: refused in [terms] with where they belong.
_TIER_ONLY = {"name": "a [[tier]]", "fee": "a [[tier]]", "description": "a [[tier]]", "sale": "[catalog] or a [[tier]]"}


def _bounds_from(table: Mapping[str, Any], currency: Currency, where: str) -> tuple[Money | None, int | None]:
    least = _money_from(table["least_payment"], currency, f"{where}.least_payment") if "least_payment" in table else None
    gap = _int_from(table["most_days_between"], f"{where}.most_days_between") if "most_days_between" in table else None
    return least, gap


def _check_terms_keys(table: Mapping[str, Any]) -> None:
    """Refuse a key [terms] does not take (a misspelling, or a key only a tier takes), naming it."""
    known = _TERM_KEYS | _TIER_BOUNDS
    unknown = set(table) - known
    if not unknown:
        return
    elsewhere = [f"{k} belongs in {_TIER_ONLY[k]}" for k in sorted(unknown) if k in _TIER_ONLY]
    raise InvalidPlanError(
        f"[terms]: unknown key(s) {sorted(unknown)}; expected {sorted(known)}"
        + (f" ({'; '.join(elsewhere)})" if elsewhere else "")
    )


def catalog_from_mapping(data: Mapping[str, Any]) -> Catalog:
    """Build a :class:`Catalog` from parsed TOML (see :meth:`Catalog.from_toml`).

    ``[terms]`` takes every key a tier takes but ``name``, ``fee``,
    ``description`` and ``sale``, and gives it to every tier that does not
    set it: the terms, ``installments`` (the counts offered),
    ``least_payment`` and ``most_days_between``. An unknown key, in
    ``[terms]`` as in a tier, is refused naming it.

    .. versionchanged:: 0.2.0
       ``[terms]`` refuses unknown keys (it dropped them silently, and with
       them ``least_payment`` and ``most_days_between``, which it now
       applies to every tier).
    """
    head = _section(data, "catalog")
    try:
        currency = to_currency(head.get("currency", "USD"))
    except InvalidPlanError as exc:
        raise InvalidPlanError(f"[catalog].currency: {exc}") from None
    shared = _section(data, "terms")
    _check_terms_keys(shared)
    defaults = _terms_from(shared, currency, Terms(), "[terms]")
    default_least, default_gap = _bounds_from(shared, currency, "[terms]")
    default_counts = shared.get("installments")
    sold_in = _sales_from(head["sale"], "[catalog].sale") if "sale" in head else ()
    raw = data.get("tier", [])
    if not isinstance(raw, list) or not raw:
        raise InvalidPlanError("expected one or more [[tier]] tables, got none")
    tiers = []
    for n, entry in enumerate(raw, 1):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise InvalidPlanError(f"[[tier]] #{n}: expected a table with a name")
        name = entry["name"]
        where = f"tier {name!r}"
        known = _TERM_KEYS | {"name", "fee", "description", "least_payment", "most_days_between", "sale"}
        unknown = set(entry) - known
        if unknown:
            raise InvalidPlanError(f"{where}: unknown key(s) {sorted(unknown)}; expected {sorted(known)}")
        fee = _money_from(entry["fee"], currency, f"{where}.fee") if "fee" in entry else None
        terms = _terms_from(entry, currency, defaults, where)
        counts = entry.get("installments", default_counts if default_counts is not None else [terms.installments])
        if isinstance(counts, int):
            counts = [counts]
        least, gap = _bounds_from(entry, currency, where)
        least = least if "least_payment" in entry else default_least
        gap = gap if "most_days_between" in entry else default_gap
        sales = _sales_from(entry["sale"], f"{where}.sale") if "sale" in entry else sold_in
        tiers.append(Tier(name, fee, terms, tuple(counts), str(entry.get("description", "")), least, gap, sales))
    return Catalog(tiers, currency)


REFERENCE_CATALOG_TOML = """\
[catalog]
currency = "USD"

[terms]
deposit = { percent = "25", minimum = "500.00" }
cadence = "monthly"
final_due_days_before = 14
remainder = "first"

[[tier]]
name = "Session Pack A"
fee = "2000.00"
installments = [3]
apr = "0"

[[tier]]
name = "Session Pack B"
fee = "3000.00"
installments = [3]

[[tier]]
name = "Custom"
description = "Agreed amount and terms"
installments = [1, 2, 3, 4, 5, 6]
"""
"""The reference table of the product brief, as a catalog."""



# -- collection policies in the catalog ------------------------------------------------------


def _pct_from(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidPlanError(f"{where}: expected a percentage as a quoted string such as \"5%\" or an int, got {value!r}")
    return str(value).strip().rstrip("%")


def _sales_from(value: Any, where: str) -> tuple[Sale, ...]:
    """``sale = { where = "GB" }`` or an array of such tables: where the tiers are sold."""
    from .guardrails import Sale

    items = value if isinstance(value, list) else [value]
    return tuple(Sale.from_mapping(item, where=f"{where}[{n}]" if len(items) > 1 else where) for n, item in enumerate(items, 1))


def _int_from(value: Any, where: str) -> int:
    if type(value) is not int:
        raise InvalidPlanError(f"{where}: expected a whole number, got {value!r}")
    return value


def _bool_from(value: Any, where: str) -> bool:
    if type(value) is not bool:
        raise InvalidPlanError(f"{where}: expected true or false, got {value!r}")
    return value


def _table(value: Any, where: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidPlanError(f"{where}: expected a table, got {value!r}")
    unknown = set(value) - keys
    if unknown:
        raise InvalidPlanError(f"{where}: unknown key(s) {sorted(unknown)}; expected {sorted(keys)}")
    return value


def _fee_step(value: Any, days: int, currency: Currency, where: str) -> LateFeeStep:
    if isinstance(value, str) and value.strip().endswith("%"):
        return LateFeeStep(days, percent=_pct_from(value, where))
    return LateFeeStep(days, amount=_money_from(value, currency, where))


def _late_fees_from(
    table: Mapping[str, Any], currency: Currency, base: LateFeePolicy | None, where: str
) -> LateFeePolicy | None:
    keys = (
        "grace_days", "late_fee", "late_fee_steps", "late_fee_cap", "late_fee_cap_percent", "fee_on_fee",
        "late_fee_collect",
    )
    if not any(k in table for k in keys):
        return base
    grace = _int_from(table["grace_days"], f"{where}.grace_days") if "grace_days" in table else (
        base.grace_days if base is not None else 0
    )
    if "late_fee" in table and "late_fee_steps" in table:
        raise InvalidPlanError(f"{where}: expected late_fee (one step) or late_fee_steps (a ladder), not both")
    if "late_fee" in table:
        steps: tuple[LateFeeStep, ...] = (_fee_step(table["late_fee"], grace + 1, currency, f"{where}.late_fee"),)
    elif "late_fee_steps" in table:
        raw = table["late_fee_steps"]
        if not isinstance(raw, list):
            raise InvalidPlanError(f"{where}.late_fee_steps: expected an array of tables, got {raw!r}")
        items = []
        for n, item in enumerate(raw, 1):
            w = f"{where}.late_fee_steps[{n}]"
            t = _table(item, w, {"days", "amount", "percent"})
            if ("amount" in t) == ("percent" in t):
                raise InvalidPlanError(f"{w}: expected exactly one of amount and percent")
            days = _int_from(t.get("days"), f"{w}.days")
            if "amount" in t:
                items.append(LateFeeStep(days, amount=_money_from(t["amount"], currency, f"{w}.amount")))
            else:
                items.append(LateFeeStep(days, percent=_pct_from(t["percent"], f"{w}.percent")))
        steps = tuple(items)
    elif base is not None:
        steps = base.steps
    else:
        raise InvalidPlanError(
            f"{where}: grace_days, late_fee_cap, fee_on_fee and late_fee_collect need late_fee or late_fee_steps"
        )
    cap = (
        _money_from(table["late_fee_cap"], currency, f"{where}.late_fee_cap")
        if "late_fee_cap" in table
        else (base.cap if base is not None else None)
    )
    cap_pct = (
        _pct_from(table["late_fee_cap_percent"], f"{where}.late_fee_cap_percent")
        if "late_fee_cap_percent" in table
        else (base.cap_percent if base is not None else None)
    )
    fof = (
        _bool_from(table["fee_on_fee"], f"{where}.fee_on_fee")
        if "fee_on_fee" in table
        else (base.fee_on_fee if base is not None else False)
    )
    if "late_fee_collect" in table:
        raw_collect = table["late_fee_collect"]
        if not isinstance(raw_collect, str) or raw_collect not in {c.value for c in FeeCollection}:
            raise InvalidPlanError(
                f"{where}.late_fee_collect: expected one of {[c.value for c in FeeCollection]}, got {raw_collect!r}"
            )
        collect = FeeCollection(raw_collect)
    else:
        collect = base.collect if base is not None else FeeCollection.AFTER_LAST_INSTALLMENT
    return LateFeePolicy(steps, grace_days=grace, cap=cap, cap_percent=cap_pct, fee_on_fee=fof, collect=collect)


def _cancellation_from(value: Any, currency: Currency, where: str) -> CancellationPolicy:
    keys = {"windows", "deposit_refundable", "no_show_fee", "reschedule_fee", "credit_instead_of_refund", "collect_shortfall"}
    t = _table(value, where, keys)
    windows = []
    for n, item in enumerate(t.get("windows", []), 1):
        w = f"{where}.windows[{n}]"
        wt = _table(item, w, {"within_days", "retain"})
        windows.append(
            CancellationWindow(_int_from(wt.get("within_days"), f"{w}.within_days"), _pct_from(wt.get("retain"), f"{w}.retain"))
        )
    return CancellationPolicy(
        windows,
        deposit_refundable=_bool_from(t.get("deposit_refundable", False), f"{where}.deposit_refundable"),
        no_show_fee=_money_from(t["no_show_fee"], currency, f"{where}.no_show_fee") if "no_show_fee" in t else None,
        reschedule_fee=_money_from(t["reschedule_fee"], currency, f"{where}.reschedule_fee") if "reschedule_fee" in t else None,
        credit_instead_of_refund=_bool_from(t.get("credit_instead_of_refund", False), f"{where}.credit_instead_of_refund"),
        collect_shortfall=_bool_from(t.get("collect_shortfall", False), f"{where}.collect_shortfall"),
    )


def _incentive_from(value: Any, currency: Currency, where: str) -> Incentive:
    keys = {"kind", "amount", "percent", "by", "days_early", "min_on_time", "name", "clawback"}
    t = _table(value, where, keys)
    by = t.get("by")
    if by is not None and type(by) is not dt.date:
        raise InvalidPlanError(f"{where}.by: expected a TOML date such as 2027-01-31, got {by!r}")
    kinds = [k.value for k in IncentiveKind]
    if t.get("kind") not in kinds:
        raise InvalidPlanError(f"{where}.kind: expected one of {kinds}, got {t.get('kind')!r}")
    return Incentive(
        IncentiveKind(t["kind"]),
        amount=_money_from(t["amount"], currency, f"{where}.amount") if "amount" in t else None,
        percent=_pct_from(t["percent"], f"{where}.percent") if "percent" in t else None,
        by=by,
        days_early=_int_from(t.get("days_early", 0), f"{where}.days_early"),
        min_on_time=_int_from(t.get("min_on_time", 0), f"{where}.min_on_time"),
        name=str(t.get("name", "")),
        clawback=_bool_from(t.get("clawback", True), f"{where}.clawback"),
    )


def _policy_changes(table: Mapping[str, Any], currency: Currency, base: Terms, where: str) -> dict[str, Any]:
    """The collection-policy fields of Terms a catalog table sets."""
    changes: dict[str, Any] = {}
    late = _late_fees_from(table, currency, base.late_fees, where)
    if late is not base.late_fees:
        changes["late_fees"] = late
    if any(k in table for k in ("reminders", "final_notice", "reminder_templates")):
        offsets = table.get("reminders", list(base.reminders.offsets))
        if not isinstance(offsets, list) or any(type(o) is not int for o in offsets):
            raise InvalidPlanError(f"{where}.reminders: expected an array of whole days such as [-7, -1, 0, 1, 7, 14], got {offsets!r}")
        templates = table.get("reminder_templates", base.reminders.custom_templates)
        if not isinstance(templates, Mapping):
            raise InvalidPlanError(f"{where}.reminder_templates: expected a table of texts, got {templates!r}")
        final = _bool_from(table.get("final_notice", base.reminders.final_notice), f"{where}.final_notice")
        changes["reminders"] = ReminderPolicy(offsets, final, templates)
    if any(k in table for k in ("retry_days", "retry_stop_days_before", "card_warning_days")):
        base_retries = base.retries
        days = table.get("retry_days", list(base_retries.days))
        if not isinstance(days, list) or any(type(d) is not int for d in days):
            raise InvalidPlanError(f"{where}.retry_days: expected an array of whole days such as [1, 3, 7], got {days!r}")
        stop = _int_from(table.get("retry_stop_days_before", base_retries.stop_days_before), f"{where}.retry_stop_days_before")
        warn = _int_from(table.get("card_warning_days", base_retries.card_warning_days), f"{where}.card_warning_days")
        try:
            changes["retries"] = RetryPolicy(days, stop_days_before=stop, card_warning_days=warn)
        except InvalidPlanError as exc:
            raise InvalidPlanError(f"{where}: {exc}") from None
    if "cancellation" in table:
        changes["cancellation"] = _cancellation_from(table["cancellation"], currency, f"{where}.cancellation")
    if "incentives" in table:
        raw = table["incentives"]
        if not isinstance(raw, list):
            raise InvalidPlanError(f"{where}.incentives: expected an array of tables, got {raw!r}")
        changes["incentives"] = tuple(
            _incentive_from(item, currency, f"{where}.incentives[{n}]") for n, item in enumerate(raw, 1)
        )
    return changes
