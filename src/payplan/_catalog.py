"""The package catalog: tiers a business sells, loaded from TOML."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from attrs import evolve, field, frozen

from ._calendar import Cadence
from ._money import Currency, Money, to_currency
from ._plan import PaymentPlan
from ._terms import DepositRule, Terms
from .exceptions import InvalidPlanError

__all__ = ["Catalog", "Tier"]


def _as_counts(items: Iterable[int]) -> tuple[int, ...]:
    return tuple(items)


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

    .. versionadded:: 0.1.0
    """

    name: str
    fee: Money | None
    terms: Terms = field(factory=Terms)
    installment_counts: tuple[int, ...] = field(default=(1,), converter=_as_counts)
    description: str = ""

    @installment_counts.validator
    def _check_counts(self, _: object, value: tuple[int, ...]) -> None:
        if not value or any(type(c) is not int or c < 1 for c in value):
            raise InvalidPlanError(
                f"tier {self.name!r}: expected installment counts of 1 or more, got {list(value)}"
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
        terms = evolve(self.terms, installments=count, **overrides)
        if deposit is not None:
            terms = evolve(terms, deposit=deposit)
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
        if isinstance(source, Path) or ("\n" not in source and "=" not in source):
            try:
                text = Path(source).read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidPlanError(f"cannot read catalog {str(source)!r}: {exc.strerror}") from None
        else:
            text = source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidPlanError(f"expected a TOML catalog, got invalid TOML: {exc}") from None
        return catalog_from_mapping(data)


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


def catalog_from_mapping(data: Mapping[str, Any]) -> Catalog:
    """Build a :class:`Catalog` from parsed TOML (see :meth:`Catalog.from_toml`)."""
    head = _section(data, "catalog")
    try:
        currency = to_currency(head.get("currency", "USD"))
    except InvalidPlanError as exc:
        raise InvalidPlanError(f"[catalog].currency: {exc}") from None
    defaults = _terms_from(_section(data, "terms"), currency, Terms(), "[terms]")
    raw = data.get("tier", [])
    if not isinstance(raw, list) or not raw:
        raise InvalidPlanError("expected one or more [[tier]] tables, got none")
    tiers = []
    for n, entry in enumerate(raw, 1):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise InvalidPlanError(f"[[tier]] #{n}: expected a table with a name")
        name = entry["name"]
        where = f"tier {name!r}"
        known = _TERM_KEYS | {"name", "fee", "description"}
        unknown = set(entry) - known
        if unknown:
            raise InvalidPlanError(f"{where}: unknown key(s) {sorted(unknown)}; expected {sorted(known)}")
        fee = _money_from(entry["fee"], currency, f"{where}.fee") if "fee" in entry else None
        terms = _terms_from(entry, currency, defaults, where)
        counts = entry.get("installments", [terms.installments])
        if isinstance(counts, int):
            counts = [counts]
        tiers.append(Tier(name, fee, terms, tuple(counts), str(entry.get("description", ""))))
    return Catalog(tiers, currency)


#: The reference table of the product brief, as a catalog.
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

