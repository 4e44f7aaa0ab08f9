"""Due-date rules: cadences anchored on a date, explicit dates, days before the session."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable

from attrs import field, frozen

from .exceptions import InvalidPlanError, ScheduleDoesNotFitError

__all__ = [
    "MAX_DAYS",
    "BeforeSession",
    "Cadence",
    "DateRule",
    "ExplicitDates",
    "add_months",
]

MAX_DAYS = 3653
"""The bound of every day count in a plan's terms (grace days, late-fee step days, reminder offsets either
side of a due date, days before the session, the final-due cutoff, cancellation windows, incentive
days): ten years of days. Larger counts are typos (``99999999999``), and bounding them where they enter
keeps every date payplan derives from them on the calendar.
"""

_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ONE_DAY = dt.timedelta(days=1)


def _month_length(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS[month - 1]


def add_months(anchor: dt.date, months: int) -> dt.date:
    """Return the date *months* after *anchor*, clamped to the end of the month.

    Always computed from the anchor, never stepped from a previous result:
    Jan 31 gives Feb 28 (29 in a leap year), Mar 31, Apr 30.

    .. versionadded:: 0.1.0
    """
    y, m0 = divmod(anchor.month - 1 + months, 12)
    year = anchor.year + y
    month = m0 + 1
    day = anchor.day
    if not 1 <= year <= 9999:
        raise off_calendar(f"the date {months} months from {anchor.isoformat()}", later=months > 0)
    if day > 28:
        day = min(day, _month_length(year, month))
    return dt.date(year, month, day)


class Cadence(enum.Enum):
    """A regular rhythm of due dates, each computed from one anchor date.

    ``nth(anchor, 0)`` is the anchor itself. Monthly and every-two-months
    dates keep the anchor's day of month, clamped to the month's end.
    ``SEMIMONTHLY`` (twice a month) pairs the anchor's day with the day 15
    later (anchor on the 15th or before) or 15 earlier in the next month
    (anchor after the 15th): Jan 31 gives Feb 16, Feb 28, Mar 16, Mar 31.

    .. versionadded:: 0.1.0
    """

    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    SEMIMONTHLY = "semimonthly"
    MONTHLY = "monthly"
    BIMONTHLY = "bimonthly"

    @classmethod
    def parse(cls, name: str | Cadence) -> Cadence:
        """Look a cadence up by its name, accepting common spellings.

        Raises:
            InvalidPlanError: *name* names no cadence.
        """
        if isinstance(name, Cadence):
            return name
        key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
        found = _ALIASES.get(key)
        if found is None:
            names = ", ".join(c.value for c in cls)
            raise InvalidPlanError(f"expected a cadence ({names}), got {name!r}")
        return found

    @property
    def periods_per_year(self) -> int:
        """How many due dates a year this cadence has (for interest rates)."""
        return _PER_YEAR[self]

    def nth(self, anchor: dt.date, n: int) -> dt.date:
        """The *n*-th date of this cadence counted from *anchor* (``nth(a, 0) == a``).

        Raises:
            ScheduleDoesNotFitError: the date would fall after 9999-12-31
                (:class:`InvalidPlanError` before 0001-01-01).
        """
        try:
            return self._nth(anchor, n)
        except (ValueError, OverflowError):
            raise off_calendar(f"the {self.value} date {n} periods from {anchor.isoformat()}", later=n > 0) from None

    def _nth(self, anchor: dt.date, n: int) -> dt.date:
        if self is Cadence.MONTHLY:
            return add_months(anchor, n)
        if self is Cadence.WEEKLY:
            return anchor + dt.timedelta(days=7 * n)
        if self is Cadence.BIWEEKLY:
            return anchor + dt.timedelta(days=14 * n)
        if self is Cadence.BIMONTHLY:
            return add_months(anchor, 2 * n)
        months, odd = divmod(n, 2)
        if not odd:
            return add_months(anchor, months)
        if anchor.day <= 15:
            base = add_months(anchor, months)
            last = _month_length(base.year, base.month)
            return base.replace(day=min(anchor.day + 15, last))
        base = add_months(anchor.replace(day=1), months + 1)
        return base.replace(day=anchor.day - 15)

    def dates(self, anchor: dt.date, count: int) -> tuple[dt.date, ...]:
        """The first *count* dates from *anchor* (the anchor included)."""
        return self.series(anchor, 0, count)

    def series(self, anchor: dt.date, start: int, count: int) -> tuple[dt.date, ...]:
        """The *count* dates ``nth(anchor, start)``, ``nth(anchor, start + 1)``, ...

        Computed in one pass (the schedule builder's hot path); equal to
        calling :meth:`nth` for each.

        Raises:
            ScheduleDoesNotFitError: a date would fall after 9999-12-31, the
                last day of the calendar.

        .. versionadded:: 0.1.0
        """
        try:
            return self._series(anchor, start, count)
        except (ValueError, OverflowError):
            raise off_calendar(
                f"the last of {count} {self.value} date(s) from {anchor.isoformat()}", later=True
            ) from None

    def _series(self, anchor: dt.date, start: int, count: int) -> tuple[dt.date, ...]:
        if self is _MONTHLY or self is _BIMONTHLY:
            step = 1 if self is _MONTHLY else 2
            year = anchor.year
            day = anchor.day
            m = anchor.month - 1 + step * start  # months since January of *year*
            out: list[dt.date] = []
            append = out.append
            if day <= 28:
                for _ in range(count):
                    append(_date(year + m // 12, m % 12 + 1, day))
                    m += step
            else:
                for _ in range(count):
                    y = year + m // 12
                    month = m % 12 + 1
                    last = _month_length(y, month)
                    append(_date(y, month, day if day <= last else last))
                    m += step
            return tuple(out)
        if self is _WEEKLY or self is _BIWEEKLY:
            step = 7 if self is _WEEKLY else 14
            o = anchor.toordinal() + step * start
            return tuple([_fromordinal(d) for d in range(o, o + step * count, step)])
        # SEMIMONTHLY: the anchor's day, and 15 days later (anchor on the 15th
        # or before) or 15 earlier in the next month (after the 15th).
        year = anchor.year
        m0 = anchor.month - 1
        day = anchor.day
        second, shift = (day + 15, 0) if day <= 15 else (day - 15, 1)
        out2: list[dt.date] = []
        for i in range(start, start + count):
            months, odd = divmod(i, 2)
            if odd:
                m = m0 + months + shift
                target = second
            else:
                m = m0 + months
                target = day
            y = year + m // 12
            month = m % 12 + 1
            if target > 28:
                last = _month_length(y, month)
                if target > last:
                    target = last
            out2.append(_date(y, month, target))
        return tuple(out2)


_MONTHLY = Cadence.MONTHLY
_BIMONTHLY = Cadence.BIMONTHLY
_WEEKLY = Cadence.WEEKLY
_BIWEEKLY = Cadence.BIWEEKLY
_date = dt.date
_fromordinal = dt.date.fromordinal

_ALIASES = {
    "weekly": Cadence.WEEKLY,
    "week": Cadence.WEEKLY,
    "biweekly": Cadence.BIWEEKLY,
    "fortnightly": Cadence.BIWEEKLY,
    "every-two-weeks": Cadence.BIWEEKLY,
    "semimonthly": Cadence.SEMIMONTHLY,
    "semi-monthly": Cadence.SEMIMONTHLY,
    "twice-a-month": Cadence.SEMIMONTHLY,
    "monthly": Cadence.MONTHLY,
    "month": Cadence.MONTHLY,
    "bimonthly": Cadence.BIMONTHLY,
    "every-two-months": Cadence.BIMONTHLY,
}
_PER_YEAR = {
    Cadence.WEEKLY: 52,
    Cadence.BIWEEKLY: 26,
    Cadence.SEMIMONTHLY: 24,
    Cadence.MONTHLY: 12,
    Cadence.BIMONTHLY: 6,
}


def _as_dates(items: Iterable[dt.date]) -> tuple[dt.date, ...]:
    return tuple(items)


def _check_dates(_: object, __: object, value: tuple[dt.date, ...]) -> None:
    if not value:
        raise InvalidPlanError("expected at least one explicit due date, got none")
    for d in value:
        if type(d) is not dt.date:
            raise InvalidPlanError(f"expected datetime.date values, got {type(d).__name__} {d!r}")
    if list(value) != sorted(value):
        raise InvalidPlanError(
            f"expected explicit due dates in order, got {[d.isoformat() for d in value]}"
        )


@frozen
class ExplicitDates:
    """Installments due on the dates given, in order.

    .. versionadded:: 0.1.0
    """

    dates: tuple[dt.date, ...] = field(converter=_as_dates, validator=_check_dates)


def _as_days(items: Iterable[int]) -> tuple[int, ...]:
    return tuple(items)


def _check_days(_: object, __: object, value: tuple[int, ...]) -> None:
    if not value:
        raise InvalidPlanError("expected at least one 'days before the session', got none")
    for d in value:
        check_days(d, "days before the session")
    if list(value) != sorted(value, reverse=True):
        raise InvalidPlanError(
            f"expected days before the session from the largest to the smallest, got {list(value)}"
        )


@frozen
class BeforeSession:
    """Installments due a number of days before the session (``BeforeSession((60, 30, 21))``).

    These dates move with the session when it is rescheduled.

    .. versionadded:: 0.1.0
    """

    days: tuple[int, ...] = field(converter=_as_days, validator=_check_days)

    def dates(self, session: dt.date) -> tuple[dt.date, ...]:
        """The due dates for a session on *session*.

        Raises:
            InvalidPlanError: a date would fall before 0001-01-01.
        """
        try:
            return tuple(session - dt.timedelta(days=d) for d in self.days)
        except OverflowError:
            raise off_calendar(
                f"the due date {self.days[0]} days before the session {session.isoformat()}", later=False
            ) from None


DateRule = Cadence | ExplicitDates | BeforeSession
"""How the installments after the deposit are dated."""


def check_days(value: object, what: str, *, low: int = 0, high: int = MAX_DAYS) -> int:
    """Refuse anything but whole days from *low* to *high* (by default 0 to :data:`MAX_DAYS`).

    Raises:
        InvalidPlanError: naming *what*, the bounds and what arrived.
    """
    if type(value) is not int or not low <= value <= high:
        raise InvalidPlanError(f"expected {what} as whole days from {low} to {high}, got {value!r}")
    return value


def off_calendar(what: str, *, later: bool) -> InvalidPlanError:
    """The error for a date payplan would need beyond either end of the calendar.

    Past 9999-12-31 it is a :class:`ScheduleDoesNotFitError` (nothing can
    fall due after the calendar ends; ``latest_due`` is 9999-12-31); before
    0001-01-01 an :class:`InvalidPlanError`.
    """
    if later:
        return ScheduleDoesNotFitError(
            f"{what} would fall after 9999-12-31, the last day of the calendar", latest_due=dt.date.max
        )
    return InvalidPlanError(f"{what} would fall before 0001-01-01, the first day of the calendar")


def shift(day: dt.date, days: int, what: str) -> dt.date:
    """*day* moved by *days* (negative: earlier), refusing to leave the calendar.

    Raises:
        ScheduleDoesNotFitError: past 9999-12-31; InvalidPlanError: before
            0001-01-01 (see :func:`off_calendar`); *what* names the date.
    """
    moved = days_after(day, days)
    if moved is None:
        raise off_calendar(what, later=days > 0)
    return moved


def days_after(day: dt.date, days: int) -> dt.date | None:
    """*day* moved by *days* (negative: earlier), or None when that is off the calendar.

    The calendar ends on 9999-12-31 and starts on 0001-01-01. A date past
    either end never arrives, so a late fee or a reminder due then is never
    due, rather than an ``OverflowError``.
    """
    ordinal = day.toordinal() + days
    if not 1 <= ordinal <= _MAX_ORDINAL:
        return None
    return _fromordinal(ordinal)


_MAX_ORDINAL = dt.date.max.toordinal()


def check_day(value: object, name: str) -> None:
    """Refuse anything but a ``datetime.date`` (a ``datetime`` too) as the date called *name*.

    Raises:
        InvalidPlanError: naming *name* and what arrived.
    """
    if type(value) is not dt.date:
        raise InvalidPlanError(f"expected {name} as a datetime.date, got {type(value).__name__} {value!r}")
