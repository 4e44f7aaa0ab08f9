"""Collection policies agreed with a plan: late fees, reminders, cancellation, incentives.

They ride on the plan's :class:`~payplan.Terms`, so the agreement the client
signed and the rules the collections code runs are the same objects. Each
has a ``describe()`` that says it in plain English for the agreement.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import ClassVar, Final

from attrs import evolve, field, frozen

from ._calendar import MAX_DAYS, check_days
from ._money import Currency, Money, percent_of, to_percent
from .exceptions import InvalidPlanError, RuleViolationError

__all__ = [
    "DEFAULT_REMINDER_TEMPLATES",
    "CancellationPolicy",
    "CancellationWindow",
    "EscalationPolicy",
    "FeeCollection",
    "Incentive",
    "IncentiveKind",
    "LateFeePolicy",
    "LateFeeStep",
    "ReminderKind",
    "ReminderPolicy",
]


def _days(what: str, high: int = MAX_DAYS) -> Callable[[object, object, int], None]:
    def check(_: object, __: object, value: int) -> None:
        check_days(value, what, high=high)

    return check


def _opt_money(_: object, attribute: object, value: Money | None) -> None:
    if value is not None and (type(value) is not Money or value.minor < 0):
        name = getattr(attribute, "name", "amount")
        raise InvalidPlanError(f"expected {name} as Money of zero or more, got {value!r}")


def _opt_pct(value: int | Decimal | str | None) -> Decimal | None:
    if value is None:
        return None
    p = to_percent(value, what="a percentage")
    if not p.is_finite() or p < 0 or p > 1000:
        raise InvalidPlanError(f"expected a percentage from 0 to 1000, got {value!r}")
    # "-0" passes the checks above: it is zero, and the agreement says "0%", never "-0%".
    return p.copy_abs()


MAX_LATE_FEE_PERCENT = Decimal(100)
"""The highest late-fee percentage payplan accepts: a step's percent of the overdue amount, and a cap's
percent of the fee (the library and the ``--late-fee`` option of the command line alike)."""


def _late_fee_pct(value: int | Decimal | str | None) -> Decimal | None:
    p = _opt_pct(value)
    if p is not None and p > MAX_LATE_FEE_PERCENT:
        raise InvalidPlanError(
            f"expected a late-fee percentage from 0 to {MAX_LATE_FEE_PERCENT}% "
            f"(a late fee is never more than what is overdue), got {value!r}"
        )
    return p


def _pct(value: int | Decimal | str) -> Decimal:
    p = _opt_pct(value)
    assert p is not None
    return p


def _pct_text(p: Decimal) -> str:
    return f"{p.normalize():f}%"


def _one_of_amount_percent(where: str, amount: Money | None, percent: Decimal | None) -> None:
    if (amount is None) == (percent is None):
        raise InvalidPlanError(f"{where}: expected exactly one of amount and percent, got {amount!r} and {percent!r}")


# -- late fees ------------------------------------------------------------------------


@frozen
class LateFeeStep:
    """One rung of a late-fee ladder: a fee charged once an installment is *days* overdue.

    Give exactly one of *amount* (a flat fee) and *percent* (of the amount
    overdue on that installment, rounded half up to the minor unit).

    Attributes:
        days: Days overdue at which the step applies (never before the
            policy's grace period is over).
        amount: A flat fee.
        percent: A percent of the overdue amount, from 0 to 100
            (:attr:`MAX_PERCENT`).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *percent* is at most 100 (it took up to 1000, while the command line
       took up to 100).
    """

    MAX_PERCENT: ClassVar[Decimal] = MAX_LATE_FEE_PERCENT
    """The highest *percent* a step (or a policy's *cap_percent*) takes: 100."""

    days: int = field(validator=_days("a late-fee step's days overdue"))
    amount: Money | None = field(default=None, validator=_opt_money)
    percent: Decimal | None = field(default=None, converter=_late_fee_pct)

    def __attrs_post_init__(self) -> None:
        _one_of_amount_percent("late-fee step", self.amount, self.percent)

    @classmethod
    def flat(cls, days: int, amount: Money) -> LateFeeStep:
        """A flat *amount* once *days* overdue."""
        return cls(days, amount=amount)

    @classmethod
    def percent_of_overdue(cls, days: int, percent: int | Decimal | str) -> LateFeeStep:
        """*percent* % of the overdue amount once *days* overdue."""
        return cls(days, percent=percent)

    def fee_for(self, overdue: Money) -> Money:
        """The fee this step charges on *overdue*."""
        if self.amount is not None:
            return self.amount
        assert self.percent is not None
        return percent_of(overdue, self.percent, rounding=ROUND_HALF_UP)

    def describe(self, days: int | None = None) -> str:
        """The step in words (``"5% of the overdue amount once 15 days overdue"``).

        *days* overrides the days shown (the policy passes the day the step
        really applies from, after the grace period).
        """
        what = str(self.amount) if self.amount is not None else f"{_pct_text(self.percent)} of the overdue amount"  # type: ignore[arg-type]
        n = self.days if days is None else days
        return f"{what} once {n} day{'s' if n != 1 else ''} overdue"


def _as_steps(items: Iterable[LateFeeStep]) -> tuple[LateFeeStep, ...]:
    return tuple(items)


class FeeCollection(enum.Enum):
    """When the daily run charges a late fee to the client's payment method.

    Whoever collects the installments (the provider by itself, or the run),
    the run charges late fees through the provider where it can charge fees
    (:attr:`~payplan.providers.Capability.CHARGE_FEES`), at the moment the
    terms say. A fee charged before the installments are paid pays that fee
    (the payment names it: :attr:`~payplan.PaymentReceived.fee_id`), never
    an installment.

    .. versionadded:: 0.3.0
    """

    AT_ONCE = "at_once"
    """On the day the fee is assessed (retried on the plan's retry ladder if declined)."""
    WITH_NEXT_INSTALLMENT = "with_next_installment"
    """On the due date of the first installment due after the fee was assessed;
    a fee assessed after the last due date is charged once every installment is paid."""
    AFTER_LAST_INSTALLMENT = "after_last_installment"
    """Once every installment is paid (the default, and payplan 0.2's behaviour)."""


def _fee_collection(value: FeeCollection | str) -> FeeCollection:
    try:
        return FeeCollection(value)
    except ValueError:
        raise InvalidPlanError(
            f"expected collect as one of {[c.value for c in FeeCollection]}, got {value!r}"
        ) from None


def late_fee_id(plan_id: str, installment: int | str, step: int) -> str:
    """The stable id of the late fee of ladder *step* on a line of a plan.

    *installment* is the line's :attr:`~payplan.Installment.line_id` (its
    number, for a line never renumbered), so the id stays with the line
    through every amendment.
    """
    return f"{plan_id}:late-fee:{installment}:{step}"


@frozen
class LateFeePolicy:
    """Late fees: a grace period, a ladder of steps, a cap, and the fee-on-fee switch.

    Fees are assessed per installment: each step of the ladder charges an
    installment once, when it is at least ``max(step.days, grace_days + 1)``
    days overdue. With *fee_on_fee* off (the default), a percent step is a
    percent of the installment's unpaid amount only; on, of that amount plus
    the late fees already charged on it.

    The cap limits the late fees charged over the whole plan (before any
    waiver): *cap* as an amount, *cap_percent* as a percent of the plan's
    fee; when both are set the lower one holds. Percentages (a step's and
    *cap_percent*) are from 0 to 100 (:attr:`LateFeeStep.MAX_PERCENT`).

    *collect* says when the daily run charges an assessed fee to the
    client's payment method (:class:`FeeCollection`): at once, with the
    next installment, or once the last installment is paid (the default).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *cap_percent* is at most 100.
    .. versionchanged:: 0.3.0
       *collect*.
    """

    steps: tuple[LateFeeStep, ...] = field(converter=_as_steps)
    grace_days: int = field(default=0, validator=_days("grace_days", MAX_DAYS - 1))
    cap: Money | None = field(default=None, validator=_opt_money)
    cap_percent: Decimal | None = field(default=None, converter=_late_fee_pct)
    fee_on_fee: bool = False
    collect: FeeCollection = field(default=FeeCollection.AFTER_LAST_INSTALLMENT, converter=_fee_collection)

    @steps.validator
    def _ordered(self, _: object, value: tuple[LateFeeStep, ...]) -> None:
        if not value:
            raise InvalidPlanError("expected at least one late-fee step, got none")
        days = [s.days for s in value]
        if days != sorted(days) or len(set(days)) != len(days):
            raise InvalidPlanError(f"expected late-fee steps in increasing days overdue, got {days}")
        if any(type(s) is not LateFeeStep for s in value):
            raise InvalidPlanError(f"expected LateFeeStep values, got {list(value)!r}")

    @classmethod
    def single(
        cls,
        fee: Money | int | Decimal | str,
        *,
        grace_days: int = 0,
        collect: FeeCollection | str = FeeCollection.AFTER_LAST_INSTALLMENT,
    ) -> LateFeePolicy:
        """One step right after the grace period: a flat :class:`Money` fee, or a percent.

        ``LateFeePolicy.single(Money.of("25", "USD"), grace_days=5)`` charges
        $25 on the sixth day overdue; ``LateFeePolicy.single("5%")`` 5% of
        the overdue amount on the first.
        """
        check_days(grace_days, "grace_days", high=MAX_DAYS - 1)
        step = (
            LateFeeStep(grace_days + 1, amount=fee)
            if isinstance(fee, Money)
            else LateFeeStep(grace_days + 1, percent=fee)
        )
        return cls((step,), grace_days=grace_days, collect=collect)

    def applies_on(self, step: LateFeeStep) -> int:
        """The days overdue from which *step* is charged (after the grace period)."""
        return max(step.days, self.grace_days + 1)

    @functools.cached_property
    def _ladder(self) -> tuple[tuple[int, LateFeeStep, dt.timedelta, str], ...]:
        """Each step's number (from 1), the step, when it applies after the due date, and its rule in words.

        The policy is immutable, so this is computed once per policy, not
        once per plan assessed (the text alone cost a quarter of a small
        plan's assessment). Not a field: equality, hashing, ``evolve`` and
        pickling ignore it.
        """
        out = []
        for k, step in enumerate(self.steps, 1):
            days = self.applies_on(step)
            out.append((k, step, dt.timedelta(days=days), f"late fee: {step.describe(days)}"))
        return tuple(out)

    def cap_for(self, fee: Money) -> Money | None:
        """The cap on the late fees of a plan whose fee is *fee*, if there is one.

        Raises:
            InvalidPlanError: *cap* is in another currency than *fee*.
        """
        caps = []
        if self.cap is not None:
            self._check_cap_currency(fee.currency)
            caps.append(self.cap)
        if self.cap_percent is not None:
            caps.append(percent_of(fee, self.cap_percent, rounding=ROUND_HALF_UP))
        return min(caps, key=lambda m: m.minor) if caps else None

    def _check_cap_currency(self, currency: Currency) -> None:
        """Refuse a *cap* in another currency than *currency* (a plan's build and :meth:`cap_for` both ask).

        Raises:
            InvalidPlanError: *cap* is in another currency.
        """
        cap = self.cap
        if cap is not None and cap.currency != currency:
            # Compared by minor units, a cap of 500 JPY would hold a USD plan's fees to $5.00.
            raise InvalidPlanError(f"expected the late-fee cap in {currency.code}, got {cap}")

    def scaled(self, factor: int | Decimal | str) -> LateFeePolicy:
        """The same policy with every fee (and the absolute cap) multiplied by *factor*.

        Used to escalate fees for repeat offenders; amounts round half up.
        """
        f = to_percent(factor, what="a factor") * 100
        steps = tuple(
            evolve(s, amount=percent_of(s.amount, f, rounding=ROUND_HALF_UP))
            if s.amount is not None
            # an escalated percent stays within the one bound on late-fee percentages
            else evolve(s, percent=min(s.percent * f / 100, MAX_LATE_FEE_PERCENT))  # type: ignore[operator]
            for s in self.steps
        )
        cap = None if self.cap is None else percent_of(self.cap, f, rounding=ROUND_HALF_UP)
        return evolve(self, steps=steps, cap=cap)

    def describe(self) -> str:
        """The policy in words, for the agreement."""
        parts = []
        if self.grace_days:
            parts.append(f"No late fee during a grace period of {self.grace_days} days after a due date.")
        ladder = "; ".join(s.describe(self.applies_on(s)) for s in self.steps)
        parts.append(f"Late fees per installment: {ladder}.")
        if self.cap is not None or self.cap_percent is not None:
            caps = []
            if self.cap is not None:
                caps.append(str(self.cap))
            if self.cap_percent is not None:
                caps.append(f"{_pct_text(self.cap_percent)} of the fee")
            lower = ", whichever is lower" if len(caps) > 1 else ""
            parts.append(f"Late fees never exceed {' or '.join(caps)} in total{lower}.")
        parts.append(
            "Percentage fees also apply to late fees already charged."
            if self.fee_on_fee
            else "No late fee is charged on a late fee."
        )
        parts.append(_COLLECT_WORDS[self.collect])
        return " ".join(parts)


_COLLECT_WORDS: Final[Mapping[FeeCollection, str]] = MappingProxyType({
    FeeCollection.AT_ONCE: "A late fee is collected on the day it applies.",
    FeeCollection.WITH_NEXT_INSTALLMENT: "A late fee is collected with the next installment due.",
    FeeCollection.AFTER_LAST_INSTALLMENT: "Late fees are collected once the last installment is paid.",
})


# -- reminders --------------------------------------------------------------------------


class ReminderKind(enum.Enum):
    """What a reminder says, by when it is sent relative to the due date.

    .. versionadded:: 0.1.0
    """

    BEFORE_DUE = "before_due"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    FINAL_NOTICE = "final_notice"
    FEE_ASSESSED = "fee_assessed"
    """A late fee was added to the plan: how much, on which installment, and
    when it will be charged (never "overdue": see :class:`FeeCollection`).

    .. versionadded:: 0.3.0
    """


DEFAULT_REMINDER_TEMPLATES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "fee_owed": "$amount is still owed for $fee_reason, owed since $due ($days_text ago).",
        "fee_assessed": "A late fee of $amount was assessed on installment $installment on $due.$fee_charge",
        "fee_charge_on": " It will be charged to your payment method on file on $charge_on.",
        "fee_charge_later": " It will be charged to your payment method on file once every installment is paid.",
        "fee_charge_manual": " It is not charged automatically: please pay it with your next payment or contact us.",
        "before_due": "Reminder: installment $installment of $amount is due on $due (in $days_text).$fee_notice",
        "due_today": "Installment $installment of $amount is due today ($due).$fee_notice",
        "overdue": "Installment $installment was due on $due and is $days_text overdue: $amount is owed.$fee_notice",
        "final_notice": (
            "Final notice: installment $installment was due on $due and is $days_text overdue: "
            "$amount is owed.$fee_notice"
        ),
    }
)
"""The default message templates (:class:`string.Template` syntax). Placeholders: ``$plan_id``,
``$client``, ``$installment``, ``$amount`` (what is owed on the installment), ``$due``, ``$days`` (days
before or after the due date, a number), ``$days_text`` (the same in words: ``"1 day"``, ``"7 days"``),
``$fee_notice`` (the late fees already charged on the installment, and the next one that will apply and
from when, as sentences; or empty). ``fee_owed`` is the text of a reminder about an amount owed that is
not an installment (a late fee on a line already paid, what a cancellation left owed): ``$amount`` is
what is owed of it, ``$due`` the day it became owed, ``$days_text`` how long ago, ``$fee_reason`` what
it is, in words. ``fee_assessed`` is the text of a reminder about a late fee still owed (kind
:attr:`ReminderKind.FEE_ASSESSED`): ``$amount`` what is owed of it, ``$due`` the day it was assessed,
``$installment`` the line it is on, and ``$fee_charge`` when it will be charged: one of
``fee_charge_on`` (with ``$charge_on``, the day), ``fee_charge_later`` (once every installment is paid)
or ``fee_charge_manual`` (it will not be charged automatically).
"""


def _as_offsets(items: Iterable[int]) -> tuple[int, ...]:
    return tuple(items)


def _as_templates(value: Mapping[str, str] | None) -> Mapping[str, str]:
    merged = dict(DEFAULT_REMINDER_TEMPLATES)
    if value:
        for key, text in value.items():
            if key not in merged:
                raise InvalidPlanError(
                    f"expected reminder template names {sorted(merged)}, got {key!r}"
                )
            if not isinstance(text, str):
                raise InvalidPlanError(f"expected reminder template {key!r} as text, got {text!r}")
            merged[key] = text
    return MappingProxyType(merged)


@frozen
class ReminderPolicy:
    """When reminders go out, relative to each due date, and what they say.

    *offsets* are days relative to the due date: negative before it, 0 on
    the day, positive after. The default is 7 days and 1 day before, on the
    day, and 1, 7 and 14 days after; the last offset after the due date
    (14) is the final notice. *templates* replace any of
    :data:`DEFAULT_REMINDER_TEMPLATES` by kind name.

    .. versionadded:: 0.1.0
    """

    offsets: tuple[int, ...] = field(default=(-7, -1, 0, 1, 7, 14), converter=_as_offsets)
    final_notice: bool = True
    templates: Mapping[str, str] = field(default=None, converter=_as_templates)

    @offsets.validator
    def _check(self, _: object, value: tuple[int, ...]) -> None:
        if any(type(v) is not int for v in value) or list(value) != sorted(set(value)):
            raise InvalidPlanError(f"expected reminder offsets as increasing whole days, got {list(value)!r}")
        for v in value:
            check_days(v, "a reminder offset", low=-MAX_DAYS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReminderPolicy):
            return NotImplemented
        return (self.offsets, self.final_notice, dict(self.templates)) == (
            other.offsets,
            other.final_notice,
            dict(other.templates),
        )

    def __hash__(self) -> int:
        return hash((self.offsets, self.final_notice, tuple(sorted(self.templates.items()))))

    def kind_for(self, offset: int) -> ReminderKind:
        """The kind of the reminder sent *offset* days from the due date."""
        if offset < 0:
            return ReminderKind.BEFORE_DUE
        if offset == 0:
            return ReminderKind.DUE_TODAY
        if self.final_notice and offset == self.offsets[-1]:
            return ReminderKind.FINAL_NOTICE
        return ReminderKind.OVERDUE

    @property
    def custom_templates(self) -> dict[str, str]:
        """The templates that differ from the defaults."""
        return {k: v for k, v in self.templates.items() if DEFAULT_REMINDER_TEMPLATES[k] != v}

    def describe(self) -> str:
        """The cadence in words."""
        words = []
        for o in self.offsets:
            if o < 0:
                words.append(f"{-o} day{'s' if o != -1 else ''} before")
            elif o == 0:
                words.append("on the day")
            else:
                words.append(f"{o} day{'s' if o != 1 else ''} after")
        text = "Reminders are sent " + ", ".join(words) + " each due date"
        if self.final_notice and self.offsets and self.offsets[-1] > 0:
            last = self.offsets[-1]
            text += f"; the one {last} day{'s' if last != 1 else ''} after is a final notice"
        return text + "."


# -- cancellation ------------------------------------------------------------------------


@frozen
class CancellationWindow:
    """Inside *within_days* of the session, *percent* of the fee is retained.

    .. versionadded:: 0.1.0
    """

    within_days: int = field(validator=_days("a cancellation window"))
    percent: Decimal = field(converter=_pct)

    @percent.validator
    def _at_most_100(self, _: object, value: Decimal) -> None:
        if value > 100:
            raise InvalidPlanError(f"expected a retained percentage from 0 to 100, got {value}")

    def describe(self) -> str:
        """The window in words."""
        return f"{_pct_text(self.percent)} of the fee is retained for cancellations within {self.within_days} days of the session"


def _as_windows(items: Iterable[CancellationWindow]) -> tuple[CancellationWindow, ...]:
    return tuple(sorted(items, key=lambda w: -w.within_days))


@frozen
class CancellationPolicy:
    """What a cancellation costs, by notice before the session.

    The retained amount is the largest of: the deposit (unless
    *deposit_refundable*), and the percent of the fee of every window the
    notice falls within (notice = days from the cancellation to the
    session; a window of 30 days holds for 30 days' notice or less). A
    no-show adds *no_show_fee* on top of what is retained at zero notice.
    A reschedule retains *reschedule_fee* and carries the rest of what was
    paid to the new date as credit.

    What is paid beyond what is retained is refunded (never more than was
    paid in cash), or kept as credit toward a new session when
    *credit_instead_of_refund*. When less was paid than is retained, the
    difference is owed only if *collect_shortfall*.

    .. versionadded:: 0.1.0
    """

    windows: tuple[CancellationWindow, ...] = field(default=(), converter=_as_windows)
    deposit_refundable: bool = False
    no_show_fee: Money | None = field(default=None, validator=_opt_money)
    reschedule_fee: Money | None = field(default=None, validator=_opt_money)
    credit_instead_of_refund: bool = False
    collect_shortfall: bool = False

    def percent_retained(self, notice_days: int) -> Decimal:
        """The percent of the fee retained for a cancellation *notice_days* before the session."""
        return max((w.percent for w in self.windows if notice_days <= w.within_days), default=Decimal(0))

    def describe(self) -> str:
        """The policy in words, for the agreement."""
        parts = ["The deposit is refundable." if self.deposit_refundable else "The deposit is non-refundable."]
        for w in sorted(self.windows, key=lambda w: -w.within_days):
            parts.append(w.describe()[0].upper() + w.describe()[1:] + ".")
        if self.no_show_fee is not None:
            parts.append(f"A no-show costs {self.no_show_fee} on top of the full cancellation charge.")
        if self.reschedule_fee is not None:
            parts.append(f"Rescheduling costs {self.reschedule_fee}; the rest of what was paid carries over.")
        parts.append(
            "What was paid beyond the retained amount becomes credit toward a new session."
            if self.credit_instead_of_refund
            else "What was paid beyond the retained amount is refunded."
        )
        return " ".join(parts)


# -- incentives -------------------------------------------------------------------------------


class IncentiveKind(enum.Enum):
    """The kinds of incentive a plan can carry.

    .. versionadded:: 0.1.0
    """

    PAY_IN_FULL = "pay_in_full"
    """A discount for paying everything (less the discount) by a date (default: the booking)."""
    EARLY_PAYMENT = "early_payment"
    """A discount on each installment paid in full some days before it is due."""
    ADD_ON = "add_on"
    """An add-on of stated value, unlocked by paying in full by a date."""
    LOYALTY = "loyalty"
    """A discount at booking for clients with enough on-time installments before."""
    REFERRAL = "referral"
    """A credit at booking for a referred client."""
    BOOKED_BY = "booked_by"
    """A discount valid only when the booking is made by a date."""


def _opt_date(_: object, attribute: object, value: dt.date | None) -> None:
    if value is not None and type(value) is not dt.date:
        raise InvalidPlanError(f"expected {getattr(attribute, 'name', 'date')} as a date, got {value!r}")


@frozen
class Incentive:
    """An incentive: what it is worth and the condition that earns it.

    Build one with a named constructor (:meth:`pay_in_full`,
    :meth:`early_payment`, :meth:`add_on`, :meth:`loyalty`,
    :meth:`referral`, :meth:`booked_by`). Earned discounts and credits
    are recorded as :class:`~payplan.CreditApplied` entries with stable ids
    (see :func:`~payplan.earned_incentives`); a cancellation claws back
    those with *clawback* set.

    Attributes:
        kind: Which incentive.
        amount: A fixed value.
        percent: A percent of the fee (of the installment for early payment).
        by: The date the condition must be met by.
        days_early: For early payment: how many days before the due date.
        min_on_time: For loyalty: on-time installments needed before.
        name: A label (the add-on's name, the referrer).
        clawback: Whether a cancellation takes it back.

    .. versionadded:: 0.1.0
    """

    kind: IncentiveKind = field(converter=IncentiveKind)
    amount: Money | None = field(default=None, validator=_opt_money)
    percent: Decimal | None = field(default=None, converter=_opt_pct)
    by: dt.date | None = field(default=None, validator=_opt_date)
    days_early: int = field(default=0, validator=_days("days_early"))
    min_on_time: int = field(default=0, validator=_days("min_on_time"))
    name: str = ""
    clawback: bool = True

    def __attrs_post_init__(self) -> None:
        _one_of_amount_percent(f"{self.kind.value} incentive", self.amount, self.percent)
        if self.kind is IncentiveKind.ADD_ON and (self.amount is None or self.by is None):
            raise InvalidPlanError("add-on incentive: expected its value as an amount and a date to pay by")
        if self.kind is IncentiveKind.BOOKED_BY and self.by is None:
            raise InvalidPlanError("booked-by offer: expected the date the booking must be made by")

    @classmethod
    def pay_in_full(
        cls, *, percent: int | Decimal | str | None = None, amount: Money | None = None, by: dt.date | None = None
    ) -> Incentive:
        """A discount for paying the whole (discounted) total by *by* (default: the booking date)."""
        return cls(IncentiveKind.PAY_IN_FULL, amount=amount, percent=percent, by=by)

    @classmethod
    def early_payment(
        cls, days_early: int, *, percent: int | Decimal | str | None = None, amount: Money | None = None
    ) -> Incentive:
        """A discount on each installment fully paid at least *days_early* days before it is due."""
        return cls(IncentiveKind.EARLY_PAYMENT, amount=amount, percent=percent, days_early=days_early)

    @classmethod
    def add_on(cls, name: str, value: Money, *, by: dt.date) -> Incentive:
        """The add-on *name*, worth *value*, unlocked by paying in full by *by*."""
        return cls(IncentiveKind.ADD_ON, amount=value, by=by, name=name)

    @classmethod
    def loyalty(
        cls, min_on_time: int, *, percent: int | Decimal | str | None = None, amount: Money | None = None
    ) -> Incentive:
        """A discount at booking for a client with *min_on_time* on-time installments before."""
        return cls(IncentiveKind.LOYALTY, amount=amount, percent=percent, min_on_time=min_on_time)

    @classmethod
    def referral(cls, amount: Money, *, referrer: str = "", clawback: bool = True) -> Incentive:
        """A credit of *amount* at booking for a client referred by *referrer*."""
        return cls(IncentiveKind.REFERRAL, amount=amount, name=referrer, clawback=clawback)

    @classmethod
    def booked_by(
        cls, by: dt.date, *, percent: int | Decimal | str | None = None, amount: Money | None = None
    ) -> Incentive:
        """A discount valid only when the booking is made on or before *by*."""
        return cls(IncentiveKind.BOOKED_BY, amount=amount, percent=percent, by=by)

    def value_on(self, base: Money) -> Money:
        """What the incentive is worth on *base* (the fee, or an installment), rounded half up."""
        if self.amount is not None:
            return self.amount
        assert self.percent is not None
        return percent_of(base, self.percent, rounding=ROUND_HALF_UP)

    def describe(self) -> str:
        """The incentive in words, for the agreement."""
        worth = str(self.amount) if self.amount is not None else f"{_pct_text(self.percent)}"  # type: ignore[arg-type]
        k = self.kind
        by = self.by.isoformat() if self.by is not None else None
        if k is IncentiveKind.PAY_IN_FULL:
            text = f"A discount of {worth}{' of the fee' if self.percent is not None else ''} for paying in full by {by or 'the booking date'}"
        elif k is IncentiveKind.EARLY_PAYMENT:
            text = f"A discount of {worth}{' of the installment' if self.percent is not None else ''} on each installment paid in full at least {self.days_early} days before it is due"
        elif k is IncentiveKind.ADD_ON:
            text = f"{self.name or 'An add-on'} (worth {worth}) is included when the plan is paid in full by {by}"
        elif k is IncentiveKind.LOYALTY:
            text = f"A loyalty discount of {worth}{' of the fee' if self.percent is not None else ''} for clients with at least {self.min_on_time} on-time installments"
        elif k is IncentiveKind.REFERRAL:
            text = f"A referral credit of {worth}" + (f" (referred by {self.name})" if self.name else "")
        else:
            text = f"An offer of {worth}{' off the fee' if self.percent is not None else ''} for bookings made by {by}"
        return text + ("; taken back if the booking is cancelled." if self.clawback else ".")


# -- escalation ---------------------------------------------------------------------------------


def _opt_days_decimal(value: int | Decimal | str | None) -> Decimal | None:
    if value is None:
        return None
    d = to_percent(value, what="an average of days late")
    if not d.is_finite() or d < 0:
        raise InvalidPlanError(f"expected an average of days late of 0 or more, got {value!r}")
    return d


@frozen
class EscalationPolicy:
    """How a client's standing across plans escalates the terms they get.

    A client is flagged as consistently late once any threshold is reached:
    *flag_after_late* late installments, *flag_after_failed* failed
    payments, or an average of *flag_average_days_late* days late. A
    flagged client's late fees are multiplied by *fee_factor*; after
    *require_full_payment_after* late installments, new bookings must be
    paid in full.

    .. versionadded:: 0.1.0
    """

    flag_after_late: int | None = 3
    flag_after_failed: int | None = None
    flag_average_days_late: Decimal | None = field(default=None, converter=_opt_days_decimal)
    fee_factor: Decimal = field(default=Decimal(1), converter=_pct)
    require_full_payment_after: int | None = None
    grace_days: int = field(default=0, validator=_days("grace_days"))

    def describe(self) -> str:
        """The policy in words."""
        parts = []
        if self.fee_factor != 1:
            parts.append(f"late fees are multiplied by {self.fee_factor.normalize():f} for clients flagged as consistently late")
        if self.require_full_payment_after is not None:
            parts.append(
                f"after {self.require_full_payment_after} late installments, new bookings must be paid in full"
            )
        return ("Repeat late payment: " + "; ".join(parts) + ".") if parts else "No escalation for repeat late payment."

    def require_pay_in_full(self, late_installments: int) -> bool:
        """Whether a client with *late_installments* must pay new bookings in full."""
        limit = self.require_full_payment_after
        return limit is not None and late_installments >= limit

    def check_new_booking(self, late_installments: int, installment_count: int) -> None:
        """Refuse a plan with more than one payment for a client who must pay in full.

        Raises:
            RuleViolationError: the client must pay in full and the plan has
                *installment_count* payments.
        """
        if installment_count > 1 and self.require_pay_in_full(late_installments):
            raise RuleViolationError(
                f"expected a pay-in-full plan: the client has {late_installments} late installments "
                f"(the limit is {self.require_full_payment_after}), got a plan of {installment_count} payments"
            )
