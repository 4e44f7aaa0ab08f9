"""What was agreed: deposit rules and the terms a schedule is built from."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from attrs import field, frozen

from ._calendar import BeforeSession, Cadence, DateRule, ExplicitDates, check_days
from ._money import Money, Remainder, _money, _round_ratio, to_percent
from ._policies import CancellationPolicy, Incentive, LateFeePolicy, ReminderPolicy
from ._retries import RetryPolicy
from .exceptions import InvalidPlanError

__all__ = ["DepositRule", "Terms"]


def _opt_percent(value: int | Decimal | str | None) -> Decimal | None:
    if value is None:
        return None
    p = to_percent(value, what="a deposit percentage")
    if not p.is_finite() or p < 0 or p > 100:
        raise InvalidPlanError(f"expected a deposit percentage from 0 to 100, got {value!r}")
    return p


@frozen
class DepositRule:
    """How much is due at booking.

    Build one with a named constructor: :meth:`percent`, :meth:`fixed`,
    :meth:`percent_or_minimum` or :meth:`none`. Percentages round half up to
    the minor unit (25% of $0.10 is $0.03), and a deposit is never above the
    fee: :meth:`percent_or_minimum` caps the minimum at the fee.

    .. versionadded:: 0.1.0
    """

    percent_: Decimal | None = field(default=None, converter=_opt_percent, alias="percent")
    amount: Money | None = field(default=None)

    @amount.validator
    def _check(self, _: object, value: Money | None) -> None:
        if value is not None and (type(value) is not Money or value.minor < 0):
            raise InvalidPlanError(f"expected a deposit amount as Money of zero or more, got {value!r}")

    @classmethod
    def percent(cls, percent: int | Decimal | str) -> DepositRule:
        """*percent* % of the fee (``DepositRule.percent(25)``)."""
        return cls(percent=percent)

    @classmethod
    def fixed(cls, amount: Money) -> DepositRule:
        """A fixed amount; a fee smaller than it is refused when the plan is built."""
        return cls(amount=amount)

    @classmethod
    def percent_or_minimum(cls, percent: int | Decimal | str, minimum: Money) -> DepositRule:
        """The larger of *percent* % of the fee and *minimum*, never above the fee."""
        return cls(percent=percent, amount=minimum)

    @classmethod
    def none(cls) -> DepositRule:
        """No deposit: the first installment is the first payment."""
        return cls(percent=0)

    @property
    def kind(self) -> str:
        """``"percent"``, ``"fixed"``, ``"percent_or_minimum"`` or ``"none"``."""
        if self.percent_ is None:
            return "fixed" if self.amount is not None else "none"
        if self.amount is None:
            return "none" if self.percent_ == 0 else "percent"
        return "percent_or_minimum"

    def deposit_for(self, fee: Money) -> Money:
        """The deposit due on *fee* under this rule.

        Raises:
            InvalidPlanError: a fixed deposit above the fee, or in another currency.
        """
        ratio = self._ratio
        amount = self.amount
        cur = fee.currency
        if amount is not None and amount.currency is not cur and amount.currency != cur:
            raise InvalidPlanError(
                f"expected the deposit in the fee's currency {cur.code}, got {amount}"
            )
        if ratio is None:
            if amount is None:
                return Money.zero(cur)
            if amount.minor > fee.minor:
                raise InvalidPlanError(f"deposit {amount} is above the fee {fee}")
            return amount
        # percent_of(fee, percent, rounding=ROUND_HALF_UP), with the ratio parsed once
        num, den = ratio
        minor = fee.minor
        share = (2 * minor * num + den) // (2 * den) if minor >= 0 else _round_ratio(minor * num, den, ROUND_HALF_UP)
        if amount is not None and amount.minor > share:
            return amount if amount.minor <= minor else fee
        return _money(share, cur)

    @functools.cached_property
    def _ratio(self) -> tuple[int, int] | None:
        """The percentage as an exact fraction of one, ``(numerator, denominator)``, or None.

        The rule is immutable, so the Decimal is parsed once per rule, not
        once per plan built. Not a field: equality, hashing, ``evolve`` and
        pickling ignore it.
        """
        if self.percent_ is None:
            return None
        num, den = self.percent_.as_integer_ratio()
        return num, den * 100

    def describe(self) -> str:
        """The rule in words, as the agreement prints it (``"25% or at least 500.00 USD"``)."""
        kind = self.kind
        if kind == "percent":
            return f"{self.percent_.normalize():f}% of the fee"  # type: ignore[union-attr]
        if kind == "fixed":
            return str(self.amount)
        if kind == "percent_or_minimum":
            return f"{self.percent_.normalize():f}% of the fee or at least {self.amount}, whichever is larger"  # type: ignore[union-attr]
        return "no deposit"


def _date_rule(value: DateRule | str) -> DateRule:
    if isinstance(value, (Cadence, ExplicitDates, BeforeSession)):
        return value
    return Cadence.parse(value)


def _apr(value: int | Decimal | str) -> Decimal:
    if value is _NO_APR:  # the default, already checked
        return value
    p = to_percent(value, what="an APR")
    # Six decimals at most: a rate like 1e-9999 is no rate at all, and the
    # annuity formula divides by zero on it.
    if not p.is_finite() or p < 0 or p >= 1000 or (p and int(p.normalize().as_tuple().exponent) < -6):
        raise InvalidPlanError(f"expected an APR from 0 to 999 percent with at most 6 decimals, got {value!r}")
    return p


def _non_negative_days(_: object, attribute: object, value: int) -> None:
    check_days(value, "final_due_days_before")


def _remainder(value: Remainder | str) -> Remainder:
    try:
        return Remainder(value)
    except ValueError:
        raise InvalidPlanError(
            f"expected remainder 'first' or 'last', got {value!r}"
        ) from None


def _of_type(kind: type, *, optional: bool = False) -> Any:
    """A validator that raises InvalidPlanError (not TypeError) naming the field and the value."""

    def check(_: object, attribute: Any, value: object) -> None:
        if not (isinstance(value, kind) or (optional and value is None)) or (kind is dt.date and type(value) is dt.datetime):
            expected = f"{kind.__name__}{' or None' if optional else ''}"
            raise InvalidPlanError(f"expected {attribute.name} as {expected}, got {type(value).__name__} {value!r}")

    return check


def _count(_: object, __: object, value: int) -> None:
    if type(value) is not int or not 0 <= value <= 520:
        raise InvalidPlanError(f"expected an installment count from 0 to 520, got {value!r}")


def _as_incentives(items: Iterable[Incentive]) -> tuple[Incentive, ...]:
    return tuple(items)


# The defaults are immutable values, so every Terms can share one of each.
_NO_DEPOSIT = DepositRule.none()
_NO_APR = Decimal(0)
_DEFAULT_REMINDERS = ReminderPolicy()
_DEFAULT_RETRIES = RetryPolicy()


@frozen
class Terms:
    """The agreed terms a plan's schedule is built from and checked against.

    Attributes:
        deposit: What is due at booking.
        installments: How many installments follow the deposit.
        dates: How they are dated: a :class:`Cadence` counted from the
            booking (or from *first_due*), :class:`ExplicitDates` or
            :class:`BeforeSession`.
        final_due_days_before: The cutoff: the last payment is due no later
            than this many days before the session.
        remainder: Where minor units that do not split evenly go.
        apr: Annual percentage rate of financing; 0 (the default) is none.
        first_due: The first installment's date, when it is not one cadence
            period after the booking.
        compress: When the installments do not fit before the cutoff,
            spread them evenly over the time available instead of refusing.
        late_fees: The late-fee policy, if late fees are charged.
        reminders: When payment reminders go out and what they say.
        cancellation: The cancellation policy, if there is one (without
            one, a cancellation refunds everything paid).
        incentives: Discounts, credits and add-ons the plan offers.
        retries: When a declined charge is tried again (the dunning ladder).

    .. versionadded:: 0.1.0
    """

    deposit: DepositRule = field(default=_NO_DEPOSIT, validator=_of_type(DepositRule))
    installments: int = field(default=1, validator=_count)
    dates: DateRule = field(default=Cadence.MONTHLY, converter=_date_rule)
    final_due_days_before: int = field(default=0, validator=_non_negative_days)
    remainder: Remainder = field(default=Remainder.FIRST, converter=_remainder)
    apr: Decimal = field(default=_NO_APR, converter=_apr)
    first_due: dt.date | None = field(default=None, validator=_of_type(dt.date, optional=True))
    compress: bool = field(default=False, validator=_of_type(bool))
    late_fees: LateFeePolicy | None = field(default=None, validator=_of_type(LateFeePolicy, optional=True))
    reminders: ReminderPolicy = field(default=_DEFAULT_REMINDERS, validator=_of_type(ReminderPolicy))
    cancellation: CancellationPolicy | None = field(
        default=None, validator=_of_type(CancellationPolicy, optional=True)
    )
    incentives: tuple[Incentive, ...] = field(default=(), converter=_as_incentives)
    retries: RetryPolicy = field(default=_DEFAULT_RETRIES, validator=_of_type(RetryPolicy))

