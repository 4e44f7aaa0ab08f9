"""The values of the guardrails: where a plan is sold, the rules as loaded, and what they find.

Pure: no I/O, no clock. The rules file is read by :mod:`._rules`, on first use.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from attrs import field, fields, frozen

from ..exceptions import InvalidPlanError

__all__ = [
    "Basis",
    "Contract",
    "Finding",
    "Outcome",
    "PaymentMethod",
    "Rule",
    "RuleSet",
    "Sale",
    "Severity",
]


class Severity(enum.Enum):
    """What a finding asks of the business.

    .. versionadded:: 0.2.0
    """

    REFUSE = "refuse"
    """The plan may not be offered as it is, where it is sold."""
    WARN = "warn"
    """The plan may be offered, but something in it may be unlawful or costly: change it or ask counsel."""
    DISCLOSE = "disclose"
    """The plan may be offered if the client is told (the agreement states it) or a record is kept."""


class Basis(enum.Enum):
    """What a rule (or one of its outcomes) rests on.

    Only a rule read from its primary text may refuse a plan.

    .. versionadded:: 0.2.0
    """

    PRIMARY = "primary"
    """The statute, the regulator's or the card network's own text."""
    SECONDARY = "secondary"
    """A law firm's note, a news summary, an unofficial copy."""
    UNCERTAIN = "uncertain"
    """The primary text was not retrieved, or whether the rule applies at all is open."""


class Contract(enum.Enum):
    """How the contract was made.

    .. versionadded:: 0.2.0
    """

    DISTANCE = "distance"
    """Online, by phone or by mail, without meeting (the usual online booking)."""
    OFF_PREMISES = "off_premises"
    """Face to face, but away from the business's premises."""
    ON_PREMISES = "on_premises"
    """In person, at the business's premises."""


class PaymentMethod(enum.Enum):
    """How the later payments are taken.

    .. versionadded:: 0.2.0
    """

    CARD = "card"
    """A stored card, charged by the business (merchant-initiated)."""
    ACH = "ach"
    """Preauthorized debits from a US bank account."""
    OTHER = "other"
    """Anything the client pays themselves each time (bank transfer, cash, a payment link)."""


_CODE = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")


def _where(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidPlanError(f"expected where as an ISO 3166 code such as 'GB' or 'US-CA', got {value!r}")
    code = value.strip().upper()
    if not _CODE.fullmatch(code):
        raise InvalidPlanError(f"expected where as an ISO 3166 code such as 'GB' or 'US-CA', got {value!r}")
    import pycountry  # on first use: the tables are large, and `import payplan` stays fast

    country = code[:2]
    if pycountry.countries.get(alpha_2=country) is None:
        raise InvalidPlanError(f"expected where as an ISO 3166-1 country code such as 'GB', got {value!r} (no country {country!r})")
    if len(code) > 2 and pycountry.subdivisions.get(code=code) is None:  # type: ignore[no-untyped-call]
        raise InvalidPlanError(
            f"expected where as an ISO 3166-2 subdivision of {country} such as 'US-CA', got {value!r} (no such subdivision)"
        )
    return code


def _enum(kind: type[enum.Enum], what: str) -> Any:
    def convert(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(repr(k.value) for k in kind)
            raise InvalidPlanError(f"expected {what} as one of {allowed}, got {value!r}") from None

    return convert


def _contract(value: Contract | str) -> Contract:
    convert: Contract = _enum(Contract, "contract")(value)
    return convert


def _payment_method(value: PaymentMethod | str) -> PaymentMethod:
    convert: PaymentMethod = _enum(PaymentMethod, "payment_method")(value)
    return convert


def _bool(_: object, attribute: Any, value: object) -> None:
    if type(value) is not bool:
        raise InvalidPlanError(f"expected {attribute.name} as true or false, got {value!r}")


def _reason(_: object, __: object, value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > 500):
        raise InvalidPlanError(
            "expected the leisure-on-a-date exemption as its reason in 1 to 500 characters "
            f"(e.g. 'a wedding shoot on a fixed date'), or None, got {value!r}"
        )


def _currency(value: str | None) -> str | None:
    if value is None:
        return None
    from .._money import to_currency

    return to_currency(value).code


def _opt_date(_: object, __: object, value: dt.date | None) -> None:
    if value is not None and type(value) is not dt.date:
        raise InvalidPlanError(f"expected delivered as a datetime.date or None, got {type(value).__name__} {value!r}")


@frozen
class Sale:
    """Where and how a plan is sold, with the facts payplan cannot derive from the plan.

    Attributes:
        where: The business's ISO 3166 country (``"GB"``) or subdivision
            (``"US-CA"``) where rules differ by state or nation.
        consumer: Whether the client is a consumer (buying for personal,
            family or household use). Most rules protect consumers only.
        contract: How the contract was made: at a distance (online), off
            the premises, or on them.
        client_must_complete: Whether the contract obliges the client to pay
            the balance (True, the cautious default), or lets them stop and
            forfeit only what they paid (a layaway).
        third_party_funded: Whether someone other than the business (a
            lender, a buy-now-pay-later provider) funds the plan.
        leisure_exemption: The reason the business claims the
            leisure-on-a-specific-date exemption from the 14-day
            cancellation right (UK CCR reg. 28, EU CRD art. 16(l)), or None
            when it claims none.
        credit_licensed: Whether the business is licensed or authorised for
            consumer credit where it sells (FCA authorisation, an
            Australian credit licence) or gives the Truth in Lending
            disclosures: credit rules then ask for disclosures instead of
            refusing.
        large_online_seller: Whether the business is a large (non-SME)
            online seller (CCD2's shorter deferral, UNCERTAIN).
        payment_method: How the later payments are taken.
        card_currency: The currency of the client's card, when known.
        delivered: When the service is delivered, when that is not the
            session date (a course that starts earlier).

    .. versionadded:: 0.2.0
    """

    where: str = field(converter=_where)
    consumer: bool = field(default=True, validator=_bool)
    contract: Contract = field(default=Contract.DISTANCE, converter=_contract)
    client_must_complete: bool = field(default=True, validator=_bool)
    third_party_funded: bool = field(default=False, validator=_bool)
    leisure_exemption: str | None = field(default=None, validator=_reason)
    credit_licensed: bool = field(default=False, validator=_bool)
    large_online_seller: bool = field(default=False, validator=_bool)
    payment_method: PaymentMethod = field(default=PaymentMethod.CARD, converter=_payment_method)
    card_currency: str | None = field(default=None, converter=_currency)
    delivered: dt.date | None = field(default=None, validator=_opt_date)

    @property
    def country(self) -> str:
        """The ISO 3166-1 country of :attr:`where` (``"US"`` for ``"US-CA"``)."""
        return self.where[:2]

    def to_dict(self) -> dict[str, Any]:
        """The sale as JSON-ready values (the keys of :meth:`from_mapping`)."""
        return {
            "where": self.where,
            "consumer": self.consumer,
            "contract": self.contract.value,
            "client_must_complete": self.client_must_complete,
            "third_party_funded": self.third_party_funded,
            "leisure_exemption": self.leisure_exemption,
            "credit_licensed": self.credit_licensed,
            "large_online_seller": self.large_online_seller,
            "payment_method": self.payment_method.value,
            "card_currency": self.card_currency,
            "delivered": self.delivered.isoformat() if self.delivered else None,
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str = "sale") -> Sale:
        """A sale from a mapping with the keys of :meth:`to_dict` (a catalog's ``sale`` table).

        Raises:
            InvalidPlanError: an unknown key or a bad value; the message names *where*.
        """
        if not isinstance(data, Mapping):
            raise InvalidPlanError(f"{where}: expected a table, got {data!r}")
        keys = {a.name for a in fields(cls)}
        unknown = set(data) - keys
        if unknown:
            raise InvalidPlanError(f"{where}: unknown key(s) {sorted(unknown)}; expected {sorted(keys)}")
        if "where" not in data:
            raise InvalidPlanError(f"{where}: expected where = \"GB\" (an ISO 3166 code), got none")
        values = dict(data)
        if isinstance(values.get("delivered"), str):
            try:
                values["delivered"] = dt.date.fromisoformat(values["delivered"])
            except ValueError:
                raise InvalidPlanError(f"{where}.delivered: expected YYYY-MM-DD, got {values['delivered']!r}") from None
        try:
            return cls(**values)
        except InvalidPlanError as exc:
            raise InvalidPlanError(f"{where}: {exc}") from None
        except TypeError as exc:  # pragma: no cover - every key is checked above
            raise InvalidPlanError(f"{where}: {exc}") from None


@frozen
class Outcome:
    """One way a rule can be tripped: its severity, its words and what to do instead.

    Attributes:
        key: The outcome's name within the rule (``"installments"``).
        severity: refuse, warn or disclose.
        basis: What this outcome rests on (the rule's unless the rules file says otherwise).
        says: What trips it, with ``{value}`` and ``{threshold}`` placeholders.
        remedy: What to do instead.
        notice: What the agreement tells the client, when the outcome asks for a disclosure.

    .. versionadded:: 0.2.0
    """

    key: str
    severity: Severity
    basis: Basis
    says: str
    remedy: str
    notice: str | None = None


def _as_tuple(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(items)


def _as_frozen_map(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@frozen
class Rule:
    """One guardrail as the rules file states it.

    Attributes:
        id: Stable id (``"UK-1"``), the row of the research notes it comes from.
        version: Goes up whenever the rule's threshold, severity or words change.
        jurisdiction: Where it applies, in words.
        applies_in: ISO codes or group names (``"EU"``) it applies in; ``"*"`` everywhere.
        title: The rule in one line.
        basis: What the rule rests on.
        sources: The source URLs, the first the main one.
        thresholds: The rule's numbers, by name.
        outcomes: Its outcomes, by key.
        consumer_only: Whether it protects consumers only.
        contracts: The ways of contracting it covers (empty: all).
        payment_methods: The payment methods it covers (empty: all).

    .. versionadded:: 0.2.0
    """

    id: str
    version: int
    jurisdiction: str
    applies_in: tuple[str, ...] = field(converter=_as_tuple)
    title: str
    basis: Basis
    sources: tuple[str, ...] = field(converter=_as_tuple)
    thresholds: Mapping[str, Any] = field(converter=_as_frozen_map)
    outcomes: Mapping[str, Outcome] = field(converter=_as_frozen_map)
    consumer_only: bool = False
    contracts: frozenset[Contract] = frozenset()
    payment_methods: frozenset[PaymentMethod] = frozenset()

    @property
    def source(self) -> str:
        """The main source URL."""
        return self.sources[0]


@frozen
class RuleSet:
    """Every rule of the rules file, with the file's version and its jurisdiction groups.

    .. versionadded:: 0.2.0
    """

    version: str
    rules: tuple[Rule, ...] = field(converter=_as_tuple)
    groups: Mapping[str, frozenset[str]] = field(converter=_as_frozen_map)

    def __getitem__(self, rule_id: str) -> Rule:
        """The rule with *rule_id*.

        Raises:
            InvalidPlanError: no such rule; the message lists the ids there are.
        """
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise InvalidPlanError(f"expected a rule id such as {', '.join(r.id for r in self.rules)}, got {rule_id!r}")

    def covers(self, rule: Rule, sale: Sale) -> bool:
        """Whether *rule* applies to *sale*: its place, the client, the contract, the payment method."""
        if rule.consumer_only and not sale.consumer:
            return False
        if rule.contracts and sale.contract not in rule.contracts:
            return False
        if rule.payment_methods and sale.payment_method not in rule.payment_methods:
            return False
        for place in rule.applies_in:
            if place == "*" or place in (sale.where, sale.country):
                return True
            if sale.country in self.groups.get(place, frozenset()):
                return True
        return False


@frozen
class Finding:
    """What one rule found in a plan, where it is sold.

    Attributes:
        rule: The rule id (``"UK-1"``).
        version: The rule's version.
        outcome: The outcome's key within the rule (``"installments"``).
        jurisdiction: Where the rule applies, in words.
        severity: refuse, warn or disclose.
        basis: What the outcome rests on.
        message: What in the plan trips it, with the number and the threshold.
        value: The plan's number, as text (``"13"``, ``"2027-03-02"``, ``"0.01 GBP"``).
        threshold: The rule's number, as text.
        remedy: What to do instead.
        source: The main source URL.
        notice: The words the agreement states for the client, when the
            finding asks for a disclosure.

    .. versionadded:: 0.2.0
    """

    rule: str
    version: int
    outcome: str
    jurisdiction: str
    severity: Severity
    basis: Basis
    message: str
    value: str
    threshold: str
    remedy: str
    source: str
    notice: str | None = None

    @property
    def refuses(self) -> bool:
        """Whether the finding refuses the plan."""
        return self.severity is Severity.REFUSE

    @property
    def ref(self) -> str:
        """``"UK-1@1"``: the rule id and version, as records keep them."""
        return f"{self.rule}@{self.version}"

    def describe(self) -> str:
        """The finding in one line: ``"UK-1@1 refuse: 13 installments ...; do: ..."``."""
        return f"{self.ref} {self.severity.value}: {self.message} ({self.jurisdiction}); {self.remedy}"

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready values."""
        return {
            "rule": self.rule,
            "version": self.version,
            "outcome": self.outcome,
            "jurisdiction": self.jurisdiction,
            "severity": self.severity.value,
            "basis": self.basis.value,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
            "remedy": self.remedy,
            "source": self.source,
            "notice": self.notice,
        }
