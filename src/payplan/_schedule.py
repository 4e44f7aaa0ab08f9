"""Installments and the exact schedule builder."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from fractions import Fraction

from attrs import frozen

from ._calendar import BeforeSession, Cadence, DateRule, ExplicitDates
from ._money import Currency, Money, Remainder, _money, split
from .exceptions import InvalidPlanError, ScheduleDoesNotFitError

__all__ = ["Installment", "InstallmentKind", "amortize", "fit_dates"]


class InstallmentKind(enum.Enum):
    """What a line of the schedule is.

    ``DEPOSIT`` is due at booking and always comes first; ``INSTALLMENT`` is
    one of the regular payments; ``BALANCE`` is a single payment of
    everything (pay in full, or the last part of a progressive plan).

    .. versionadded:: 0.1.0
    """

    DEPOSIT = "deposit"
    INSTALLMENT = "installment"
    BALANCE = "balance"


_DEPOSIT = InstallmentKind.DEPOSIT
_INSTALLMENT = InstallmentKind.INSTALLMENT
_FIRST = Remainder.FIRST


@frozen
class Installment:
    """One dated payment of a plan.

    Attributes:
        number: Position in the schedule, from 1 (the deposit, when there is one).
        kind: Deposit, installment or balance.
        due: The local calendar date it is due, in the plan's time zone.
        amount: How much is due.
        label: A milestone or description (``"Engagement shoot"``), if any.
        days_before_session: Set when the date is defined relative to the
            session, so that moving the session moves it.
        key: The line's identity once an amendment has renumbered it or
            added it (``"3"``: the line first built as installment 3;
            ``"v2.1"``: the first line added by the amendment that made
            version 2). None for a line still at its first number.
            Amendments set it; see :attr:`line_id`.

    .. versionadded:: 0.1.0
    """

    number: int
    kind: InstallmentKind
    due: dt.date
    amount: Money
    label: str | None = None
    days_before_session: int | None = None
    key: str | None = None

    @property
    def line_id(self) -> str:
        """The line's identity across amendments: its :attr:`key`, or else its number.

        Amendments renumber lines (skipping installment 2 makes the old 3
        the new 2) but never change a line's id, so what is keyed on it
        (late fee ids, reminder ids) stays on the line it was about.
        """
        key = self.key
        return key if key is not None else str(self.number)


_NEW = object.__new__
# The slots' own setters: they write a frozen instance without going through
# __setattr__, and cost less than object.__setattr__ (no name lookup).
_SET_NUMBER = Installment.__dict__["number"].__set__
_SET_KIND = Installment.__dict__["kind"].__set__
_SET_DUE = Installment.__dict__["due"].__set__
_SET_AMOUNT = Installment.__dict__["amount"].__set__
_SET_LABEL = Installment.__dict__["label"].__set__
_SET_RELATIVE = Installment.__dict__["days_before_session"].__set__
_SET_KEY = Installment.__dict__["key"].__set__


def _installment(
    number: int,
    kind: InstallmentKind,
    due: dt.date,
    amount: Money,
    label: str | None = None,
    days_before_session: int | None = None,
    key: str | None = None,
) -> Installment:
    """Build an Installment from values the builder has already checked."""
    i = _NEW(Installment)
    _SET_NUMBER(i, number)
    _SET_KIND(i, kind)
    _SET_DUE(i, due)
    _SET_AMOUNT(i, amount)
    _SET_LABEL(i, label)
    _SET_RELATIVE(i, days_before_session)
    _SET_KEY(i, key)
    return i


def fit_dates(
    rule: DateRule,
    count: int,
    *,
    booked: dt.date,
    session: dt.date,
    cutoff: dt.date,
    first_due: dt.date | None = None,
    compress: bool = False,
) -> tuple[tuple[dt.date, ...], tuple[int, ...] | None]:
    """Date *count* installments under *rule* and check them against *cutoff*.

    A cadence counts from *first_due* when given, else from one period after
    *booked*. Returns the dates and, for :class:`BeforeSession`, the days
    before the session each was set from.

    Raises:
        ScheduleDoesNotFitError: the last date falls after *cutoff* (and
            *compress* is off, or even compressing cannot fit).
        InvalidPlanError: explicit dates that do not match *count*.

    .. versionadded:: 0.1.0
    """
    if session < booked:
        raise InvalidPlanError(
            f"expected the session on or after the booking {booked.isoformat()}, got {session.isoformat()}"
        )
    relative: tuple[int, ...] | None = None
    past_calendar: ScheduleDoesNotFitError | None = None
    if type(rule) is Cadence:
        try:
            dates = rule.series(booked, 1, count) if first_due is None else rule.series(first_due, 0, count)
        except ScheduleDoesNotFitError as exc:  # past 9999-12-31: certainly after the cutoff
            past_calendar, dates = exc, (dt.date.max,)
    elif type(rule) is ExplicitDates:
        dates = rule.dates
        if len(dates) != count:
            raise InvalidPlanError(
                f"expected {count} explicit due date(s) for {count} installment(s), got {len(dates)}"
            )
    elif type(rule) is BeforeSession:
        if len(rule.days) != count:
            raise InvalidPlanError(
                f"expected {count} 'days before the session' for {count} installment(s), "
                f"got {len(rule.days)}"
            )
        dates = rule.dates(session)
        relative = rule.days
    else:  # pragma: no cover - DateRule is closed
        raise InvalidPlanError(f"expected a cadence, explicit dates or BeforeSession, got {rule!r}")
    if count and (dates[-1] > cutoff or past_calendar):
        if not compress or cutoff < booked:
            if past_calendar is not None:
                placeholder = (
                    " (a session on 9999-12-31 used as \"no session date yet\" leaves no room after it: "
                    "date the installments from the booking, or set the session when it is known)"
                    if session == dt.date.max else ""
                )
                raise ScheduleDoesNotFitError(
                    f"{past_calendar}; the latest possible due date is {cutoff.isoformat()}{placeholder}: use fewer "
                    "installments, an earlier start, or compress (compress=True, --compress)",
                    latest_due=cutoff,
                )
            raise ScheduleDoesNotFitError(
                f"the last of {count} installment(s) would fall due on {dates[-1].isoformat()}, "
                f"after the latest possible due date {cutoff.isoformat()}; "
                "use fewer installments, an earlier start, or compress (compress=True, --compress)",
                latest_due=cutoff,
            )
        start = first_due if first_due is not None and first_due <= cutoff else booked
        if first_due is None or first_due > cutoff:
            start_offset = 1
            span = (cutoff - booked).days
        else:
            start_offset = 0
            span = (cutoff - start).days
        steps = count - 1 + start_offset
        dates = tuple(
            start + dt.timedelta(days=(span * (i + start_offset)) // steps if steps else 0)
            for i in range(count)
        )
        relative = None
    if count and dates[0] < booked:
        raise InvalidPlanError(
            f"expected installments due on or after the booking date {booked.isoformat()}, "
            f"got one due {dates[0].isoformat()}"
        )
    return dates, relative


def append_even(
    out: list[Installment],
    number: int,
    balance: int,
    currency: Currency,
    dates: tuple[dt.date, ...],
    remainder: Remainder,
    relative: tuple[int, ...] | None = None,
    kind: InstallmentKind = _INSTALLMENT,
) -> None:
    """Append one installment per date to *out*, numbered from *number*, splitting *balance* exactly.

    *balance* is in minor units of *currency*; the amounts are
    ``split(balance, len(dates), remainder=remainder)``, without building
    that tuple (the schedule builder's hot path).

    Raises:
        InvalidPlanError: *balance* is less than one minor unit per date.
    """
    count = len(dates)
    if not count:
        return
    if balance < count:
        raise InvalidPlanError(
            f"a balance of {_money(balance, currency)} cannot be split into {count} positive "
            "installment(s); use fewer installments"
        )
    if relative is not None and len(relative) != count:
        raise ValueError("expected one 'days before the session' per date")
    base, extra = divmod(balance, count)
    small = _money(base, currency)
    big = _money(base + 1, currency) if extra else small
    # As split(): the units left over go to the first parts, or to the last.
    lo, hi = (0, extra) if remainder is _FIRST else (count - extra, count)
    append = out.append
    for k, due in enumerate(dates):
        i = _NEW(Installment)
        _SET_NUMBER(i, number + k)
        _SET_KIND(i, kind)
        _SET_DUE(i, due)
        _SET_AMOUNT(i, big if lo <= k < hi else small)
        _SET_LABEL(i, None)
        _SET_RELATIVE(i, None if relative is None else relative[k])
        _SET_KEY(i, None)
        append(i)


def amortize(
    principal: Money, apr: Decimal, count: int, periods_per_year: int
) -> tuple[Money, ...]:
    """Level payments that repay *principal* at *apr* over *count* periods, exactly.

    Each payment is the annuity payment, an exact fraction, rounded half up
    to the minor unit;
    each period's interest is the open balance times the periodic rate
    ``apr / 100 / periods_per_year``, computed as an exact fraction (never a
    truncated decimal: 10% a week is 0.0019230769... and a balance of 497900
    owes exactly 957.5, which rounds up to 958) and rounded half up; the
    last payment is whatever clears the balance, so the payments add up
    exactly to the principal plus the interest charged. At 0% the principal
    is split evenly (extra units first).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       The level payment is rounded from its exact value; a 50-digit decimal
       could fall just short of an exact half cent and round it down.
    """
    if apr == 0:
        return split(principal, count)
    cur: Currency = principal.currency
    num, den = apr.as_integer_ratio()
    den *= 100 * periods_per_year  # the periodic rate is num / den exactly
    rate = Fraction(num, den)
    # The annuity payment as an exact fraction: a rounded decimal can land on
    # either side of a half ($4,228.25 over two weeks at 8% is exactly
    # $2,119.005, which 50 digits of precision made $2,119.00).
    level = principal.minor * rate / (1 - (1 + rate) ** -count)
    payment = (2 * level.numerator + level.denominator) // (2 * level.denominator)  # rounded half up
    balance = principal.minor
    out: list[Money] = []
    for i in range(count):
        # balance * num / den rounded half up (balance is never negative).
        interest = (2 * balance * num + den) // (2 * den)
        due = balance + interest if i == count - 1 else min(payment, balance + interest)
        balance = balance + interest - due
        out.append(_money(due, cur))
    return tuple(out)
