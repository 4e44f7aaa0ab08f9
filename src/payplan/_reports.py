"""Reports over many plans: aging, overdue list, cash-flow forecast, rates; CSV and iCalendar exports.

Every report takes a *book*: an iterable of ``(plan, ledger)`` pairs, one
per client plan, read once. Each pair costs one allocation of the ledger's
running totals over the plan's installments (no replay of the entries), so
a report over 100,000 plans is one pass. The forecast and the rates also
read each ledger's payment entries once for what was received when.

All amounts in one report are in one currency: a book that mixes
currencies raises :class:`~payplan.CurrencyMismatchError` (report each
currency separately, for example with a filter on ``plan.currency``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from attrs import frozen

from ._calendar import _month_length
from ._ledger import (
    FeeWaived,
    LateFeeAssessed,
    Ledger,
    PaymentReceived,
    Refund,
)
from ._money import Currency, Money, _money, to_currency
from ._plan import PaymentPlan
from ._schedule import Installment
from ._status import FeeDue, PlanDay, allocate_funds
from .exceptions import CurrencyMismatchError, InvalidPlanError, PayplanError

__all__ = [
    "AGING_BUCKETS",
    "AgingBucket",
    "AgingReport",
    "Forecast",
    "ForecastPeriod",
    "OverdueItem",
    "PeriodSummary",
    "aging",
    "forecast",
    "ics_feed",
    "overdue",
    "period_summary",
    "quickbooks_invoices_csv",
    "quickbooks_payments_csv",
    "tracking_csv",
]

#: A book: each client plan with its ledger.
Book = Iterable[tuple[PaymentPlan, Ledger]]

AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)
"""The aging buckets: (label, fewest days overdue, most days overdue or None)."""


class _Currency:
    """The one currency of a report, fixed by the first plan (or given)."""

    __slots__ = ("cur",)

    def __init__(self, currency: Currency | str | None) -> None:
        self.cur = None if currency is None else to_currency(currency)

    def check(self, plan: PaymentPlan) -> Currency:
        cur = plan.fee.currency
        if self.cur is None:
            self.cur = cur
        elif cur is not self.cur and cur != self.cur:
            raise CurrencyMismatchError(
                f"expected every plan in {self.cur.code}, got plan {plan.id!r} in {cur.code}; "
                "report each currency separately"
            )
        return cur

    def final(self) -> Currency:
        if self.cur is None:
            raise InvalidPlanError("expected at least one plan, or currency=..., to know the report's currency")
        return self.cur


def _view(plan: PaymentPlan, ledger: Ledger, as_of: dt.date) -> Ledger:
    view = ledger.as_of(as_of)
    if view.total != plan.total.minor:
        view = view.for_plan(plan)
    return view


def _fees(day: PlanDay) -> tuple[FeeDue, ...]:
    """What the plan owes beyond its installments on the day (no work when it has no fee and no cancellation)."""
    view = day.view
    if not view._fees and view.cancellation is None:
        return ()
    return day.fees


def _outstanding(plan: PaymentPlan, view: Ledger, day: PlanDay | None = None) -> list[int]:
    """Minor units still owed on each installment (0 when paid or written off), read from *day* when given."""
    paid, written, _ = allocate_funds(plan, view) if day is None else day._allocated
    return [i.amount.minor - p - w for i, p, w in zip(plan.installments, paid, written, strict=True)]


# -- aging and overdue ---------------------------------------------------------------------------


@frozen
class AgingBucket:
    """What is owed in one aging bucket.

    Attributes:
        label: ``"current"``, ``"1-30"``, ``"31-60"``, ``"61-90"`` or ``"90+"``.
        min_days: Fewest days overdue in the bucket (0 for current).
        max_days: Most days overdue, or None for the last bucket.
        amount: What is still owed on the installments (and fees) in it.
        count: How many installments (and fees) are in it.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *count*, renamed from *installments* (a count, where every other
       ``.installments`` is a tuple); ``installments`` still reads it, with a
       :class:`DeprecationWarning`, for one release.
    """

    label: str
    min_days: int
    max_days: int | None
    amount: Money
    count: int

    @property
    def installments(self) -> int:
        """Deprecated name of :attr:`count`.

        .. deprecated:: 0.2.0
           Read :attr:`count`.
        """
        warnings.warn(
            "AgingBucket.installments is deprecated: read AgingBucket.count (it is a count, not a tuple)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.count


@frozen
class AgingReport:
    """Unpaid installments and fees by days overdue, as of a date.

    ``current`` holds what is owed but not yet past due (due today or
    later); written-off amounts are left out. A fee (see
    :func:`~payplan.fees_due`) ages from the day it became owed; of a
    cancelled plan only what the settlement left owed is counted.

    .. versionadded:: 0.1.0
    """

    as_of: dt.date
    buckets: tuple[AgingBucket, ...]
    plans: int

    @property
    def total(self) -> Money:
        """Everything still owed on the installments."""
        first = self.buckets[0].amount
        return _money(sum(b.amount.minor for b in self.buckets), first.currency)

    @property
    def past_due(self) -> Money:
        """What is owed and past due (every bucket but current)."""
        first = self.buckets[0].amount
        return _money(sum(b.amount.minor for b in self.buckets[1:]), first.currency)

    def bucket(self, label: str) -> AgingBucket:
        """The bucket called *label*.

        Raises:
            InvalidPlanError: no such bucket.
        """
        for b in self.buckets:
            if b.label == label:
                return b
        raise InvalidPlanError(f"expected one of {[b.label for b in self.buckets]}, got {label!r}")


def _bucket_index(days: int) -> int:
    if days <= 0:
        return 0
    if days <= 30:
        return 1
    if days <= 60:
        return 2
    if days <= 90:
        return 3
    return 4


def aging(book: Book, as_of: dt.date, *, currency: Currency | str | None = None) -> AgingReport:
    """Age every unpaid installment and fee of *book* as of *as_of*.

    Each installment with something still owed goes into one bucket by
    its days past due: current (not yet past due), 1-30, 31-60, 61-90,
    90+; so does each amount owed that is not an installment (a late fee,
    what a cancellation left owed), by the days since it became owed. One
    pass; each plan costs one allocation of its ledger's totals (plus one
    more when it owes fees).

    Raises:
        CurrencyMismatchError: plans in more than one currency.
        InvalidPlanError: an empty book and no *currency*.

    .. versionadded:: 0.1.0
    """
    cur = _Currency(currency)
    amounts = [0, 0, 0, 0, 0]
    counts = [0, 0, 0, 0, 0]
    today = as_of.toordinal()
    n = 0
    for plan, ledger in book:
        cur.check(plan)
        n += 1
        day = PlanDay.of(plan, ledger, as_of)
        view = day.view
        for fee in _fees(day):
            k = _bucket_index(today - fee.on.toordinal())
            amounts[k] += fee.outstanding.minor
            counts[k] += 1
        if view.cancellation is not None:
            continue
        for inst, owed in zip(plan.installments, _outstanding(plan, view, day), strict=True):
            if owed > 0:
                k = _bucket_index(today - inst.due.toordinal())
                amounts[k] += owed
                counts[k] += 1
    c = cur.final()
    buckets = tuple(
        AgingBucket(label, lo, hi, _money(amounts[k], c), counts[k])
        for k, (label, lo, hi) in enumerate(AGING_BUCKETS)
    )
    return AgingReport(as_of, buckets, n)


@frozen
class OverdueItem:
    """One overdue installment, or one overdue amount that is not an installment.

    Attributes:
        fee_id: For a late fee or what a cancellation left owed (see
            :func:`~payplan.fees_due`), its id; *installment* is then the
            line the fee was charged on (0 for a cancellation) and *due*
            the day it became owed. None for an installment.

    .. versionadded:: 0.1.0
    """

    plan_id: str
    client: str | None
    installment: int
    due: dt.date
    outstanding: Money
    days_overdue: int
    bucket: str
    fee_id: str | None = None


def overdue(book: Book, as_of: dt.date) -> tuple[OverdueItem, ...]:
    """Every installment past due and not fully paid on *as_of*, most overdue first.

    Late fees unpaid since before *as_of*, and what a cancellation left
    owed, are listed too, with their ``fee_id``. Ties are ordered by plan
    id, installment number and fee id (installments first). Written-off
    amounts are left out.

    This is payplan's one definition of **overdue now**: an installment
    from the day after its due date, a fee from the day after it became
    owed (a fee is due the day it is assessed, and overdue the next day).
    :attr:`AgingReport.past_due`, :attr:`Forecast.overdue` and a
    statement's "Overdue now" are all the sum of these items.

    .. versionadded:: 0.1.0
    """
    items: list[OverdueItem] = []
    today = as_of.toordinal()
    for plan, ledger in book:
        day = PlanDay.of(plan, ledger, as_of)
        view = day.view
        for fee in _fees(day):
            days = today - fee.on.toordinal()
            if days > 0:
                label = AGING_BUCKETS[_bucket_index(days)][0]
                items.append(
                    OverdueItem(
                        plan.id, plan.client, fee.installment or 0, fee.on, fee.outstanding, days, label, fee.id
                    )
                )
        if view.cancellation is not None:
            continue
        cur = plan.fee.currency
        for inst, owed in zip(plan.installments, _outstanding(plan, view, day), strict=True):
            days = today - inst.due.toordinal()
            if owed > 0 and days > 0:
                label = AGING_BUCKETS[_bucket_index(days)][0]
                items.append(OverdueItem(plan.id, plan.client, inst.number, inst.due, _money(owed, cur), days, label))
    items.sort(key=lambda i: (-i.days_overdue, i.plan_id, i.installment, i.fee_id or ""))
    return tuple(items)


# -- forecast ------------------------------------------------------------------------------------------


@frozen
class ForecastPeriod:
    """One week or month of the forecast.

    Attributes:
        start: First day of the period.
        end: Last day of the period.
        expected: What is scheduled to come in during the period and is
            still owed (installments due on or after the forecast date).
        received: Cash received during the period up to the forecast date
            (payments less refunds).

    .. versionadded:: 0.1.0
    """

    start: dt.date
    end: dt.date
    expected: Money
    received: Money


@frozen
class Forecast:
    """Expected receipts by week or month, with what was already received.

    Attributes:
        as_of: The forecast date.
        by: ``"week"`` (Monday to Sunday) or ``"month"``.
        periods: The periods, oldest first.
        overdue: What is overdue now (see :func:`overdue`): owed on
            installments past their due date on *as_of*, and fees (late
            fees, what a cancellation left owed) unpaid since before
            *as_of*; the same amount as :attr:`AgingReport.past_due` and
            the sum of :func:`overdue`. Not placed in any period: when it
            comes in is not known.
        beyond: What is scheduled after the last period.

    .. versionadded:: 0.1.0
    """

    as_of: dt.date
    by: Literal["week", "month"]
    periods: tuple[ForecastPeriod, ...]
    overdue: Money
    beyond: Money

    @property
    def expected(self) -> Money:
        """Everything expected over the periods."""
        return _money(sum(p.expected.minor for p in self.periods), self.overdue.currency)

    @property
    def received(self) -> Money:
        """Everything received over the periods."""
        return _money(sum(p.received.minor for p in self.periods), self.overdue.currency)


def _month_index(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def _period_bounds(by: str, start: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    """*count* weeks (Monday to Sunday) or calendar months from the one holding *start*.

    The last period may end on 9999-12-31, the calendar's last day; a period
    that would start after it is refused.
    """
    out = []
    last = dt.date.max.toordinal()
    if by == "week":
        monday = start.toordinal() - start.weekday()
        for k in range(count):
            s = monday + 7 * k
            if s > last:
                raise InvalidPlanError(f"expected {count} weeks from {start.isoformat()} to end by 9999-12-31, the "
                                       "last day of the calendar; ask for fewer periods")
            out.append((dt.date.fromordinal(s), dt.date.fromordinal(min(s + 6, last))))
        return out
    base = _month_index(start)
    for k in range(count):
        y, m = divmod(base + k, 12)
        if y > 9999:
            raise InvalidPlanError(f"expected {count} months from {start.isoformat()} to end by 9999-12-31, the "
                                   "last day of the calendar; ask for fewer periods")
        out.append((dt.date(y, m + 1, 1), dt.date(y, m + 1, _month_length(y, m + 1))))
    return out


def forecast(
    book: Book,
    as_of: dt.date,
    *,
    by: Literal["week", "month"] = "month",
    periods: int = 12,
    start: dt.date | None = None,
    currency: Currency | str | None = None,
) -> Forecast:
    """Expected receipts per week or month from *as_of*, and what was received.

    The periods start with the one holding *start* (default *as_of*): give
    an earlier *start* to see past periods with what was received in them.
    An installment's outstanding amount counts as expected in the period of
    its due date when that is on or after *as_of*; what is overdue now
    (installments and fees, as :func:`overdue` defines it) is reported
    once as :attr:`Forecast.overdue`. Cancelled plans expect nothing more
    than what their settlement left owed.

    .. versionchanged:: 0.2.0
       :attr:`Forecast.overdue` counts overdue fees too (it left out the
       late fees :attr:`AgingReport.past_due` counted).

    Raises:
        InvalidPlanError: *by* is not week or month, *periods* below 1,
            *start* after *as_of*, or an empty book without *currency*.
        CurrencyMismatchError: plans in more than one currency.

    .. versionadded:: 0.1.0
    """
    if by not in ("week", "month"):
        raise InvalidPlanError(f"expected by='week' or by='month', got {by!r}")
    if type(periods) is not int or periods < 1:
        raise InvalidPlanError(f"expected one or more periods, got {periods!r}")
    first = as_of if start is None else start
    if first > as_of:
        raise InvalidPlanError(f"expected start on or before as_of {as_of.isoformat()}, got {first.isoformat()}")
    bounds = _period_bounds(by, first, periods)
    lo, hi = bounds[0][0], bounds[-1][1]
    lo_ord = lo.toordinal()
    weekly = by == "week"
    base_month = _month_index(lo)
    expected = [0] * periods
    received = [0] * periods
    overdue_sum = 0
    beyond = 0
    cur = _Currency(currency)
    today = as_of.toordinal()

    def index(d: dt.date) -> int:
        return (d.toordinal() - lo_ord) // 7 if weekly else _month_index(d) - base_month

    for plan, ledger in book:
        cur.check(plan)
        day = PlanDay.of(plan, ledger, as_of)
        view = day.view
        for fee in _fees(day):
            if fee.on.toordinal() < today:  # overdue now from the day after it became owed
                overdue_sum += fee.outstanding.minor
        if view.cancellation is None:
            for inst, owed in zip(plan.installments, _outstanding(plan, view, day), strict=True):
                if owed <= 0:
                    continue
                due = inst.due
                if due.toordinal() < today:
                    overdue_sum += owed
                elif due > hi:
                    beyond += owed
                else:
                    expected[index(due)] += owed
        if view.last_on is None or view.last_on < lo:
            continue
        for entry in view:
            t = type(entry)
            if t is PaymentReceived or t is Refund:
                on = entry.on
                if lo <= on <= hi:
                    minor = entry.amount.minor  # type: ignore[union-attr]
                    received[index(on)] += minor if t is PaymentReceived else -minor
    c = cur.final()
    return Forecast(
        as_of,
        by,
        tuple(
            ForecastPeriod(s, e, _money(expected[k], c), _money(received[k], c))
            for k, (s, e) in enumerate(bounds)
        ),
        _money(overdue_sum, c),
        _money(beyond, c),
    )


# -- rates -------------------------------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


@frozen
class PeriodSummary:
    """Collection and cancellation rates and revenue per client for a period.

    Attributes:
        start: First day of the period.
        end: Last day of the period.
        due: What fell due in the period (installments of plans not
            cancelled by the end of it).
        collected: What of that was paid by the end of the period.
        collection_rate: ``collected / due`` to 4 decimal places (half even),
            or None when nothing fell due.
        plans: Plans active in the period (booked by its end and not
            cancelled before its start).
        cancelled: Plans cancelled during the period.
        cancellation_rate: ``cancelled / plans`` to 4 decimal places, or None.
        revenue: Cash received in the period (payments less refunds).
        clients: Distinct clients with an active plan (a plan without a
            client id counts as its own client).
        revenue_per_client: ``revenue / clients``, rounded half even to
            the minor unit (zero when there are no clients).

    .. versionadded:: 0.1.0
    """

    start: dt.date
    end: dt.date
    due: Money
    collected: Money
    collection_rate: Decimal | None
    plans: int
    cancelled: int
    cancellation_rate: Decimal | None
    revenue: Money
    clients: int
    revenue_per_client: Money


def period_summary(
    book: Book, start: dt.date, end: dt.date, *, currency: Currency | str | None = None
) -> PeriodSummary:
    """Collection rate, cancellation rate and average revenue per client for *start* to *end*.

    Raises:
        InvalidPlanError: *end* before *start*, or an empty book without *currency*.
        CurrencyMismatchError: plans in more than one currency.

    .. versionadded:: 0.1.0
    """
    if end < start:
        raise InvalidPlanError(f"expected the period's end on or after {start.isoformat()}, got {end.isoformat()}")
    cur = _Currency(currency)
    due = collected = revenue = 0
    plans = cancelled = 0
    clients: set[str] = set()
    for plan, ledger in book:
        cur.check(plan)
        view = _view(plan, ledger, end)
        cancel = view.cancellation
        if plan.booked > end or (cancel is not None and cancel.on < start):
            continue
        plans += 1
        clients.add(plan.client if plan.client is not None else "\0" + plan.id)
        if cancel is not None:
            cancelled += 1
        else:
            paid, _written, _ = allocate_funds(plan, view)
            for inst, p in zip(plan.installments, paid, strict=True):
                if start <= inst.due <= end:
                    due += inst.amount.minor
                    collected += p
        if view.last_on is not None and view.last_on >= start:
            for entry in view:
                t = type(entry)
                if (t is PaymentReceived or t is Refund) and start <= entry.on <= end:
                    minor = entry.amount.minor  # type: ignore[union-attr]
                    revenue += minor if t is PaymentReceived else -minor
    c = cur.final()
    per_client = 0
    if clients:
        per_client = int((Decimal(revenue) / len(clients)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return PeriodSummary(
        start, end, _money(due, c), _money(collected, c), _ratio(collected, due), plans, cancelled,
        _ratio(cancelled, plans), _money(revenue, c), len(clients), _money(per_client, c),
    )


# -- exports ---------------------------------------------------------------------------------------------------


#: First characters that make a spreadsheet read a cell as a formula (OWASP's
#: CSV injection list: = + - @ tab and carriage return, plus NUL as ASVS adds).
_FORMULA_START = frozenset("=+-@\t\r\0")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def safe_cell(value: object) -> object:
    """*value* as a CSV cell that no spreadsheet runs as a formula.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab, a carriage
    return or NUL gets a leading apostrophe (OWASP's advice for CSV
    injection: spreadsheets show it as text). A plain number (``-150.00``)
    is left as it is, so refunds and credits stay numbers.

    .. versionadded:: 0.1.0
    """
    text = "" if value is None else value if type(value) is str else str(value)  # what csv.writer writes
    if text and text[0] in _FORMULA_START and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return value


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[object]], *, lineterminator: str = "\r\n") -> str:
    """CSV text with a header row, every cell passed through :func:`safe_cell`.

    Every CSV payplan writes goes through here.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=lineterminator)
    writer.writerow([safe_cell(h) for h in headers])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return buf.getvalue()



#: Columns of :func:`tracking_csv`.
TRACKING_COLUMNS = (
    "plan_id", "client", "tier", "version", "installment", "kind", "due", "currency", "amount",
    "paid", "outstanding", "status", "days_overdue", "label",
)


def tracking_csv(book: Book, as_of: dt.date) -> str:
    """The payment tracking spreadsheet: one CSV row per installment on *as_of*.

    Columns: plan_id, client, tier, version, installment, kind, due
    (YYYY-MM-DD), currency, amount, paid, outstanding (plain decimals with
    the currency's own decimals), status (``paid``, ``partial``, ``due``,
    ``overdue``, ``upcoming``, ``waived``, ``cancelled``), days_overdue,
    label. Plans may be in different currencies here: each row names its own.

    After a plan's installments, one row per amount it still owes that is
    not an installment (see :func:`~payplan.fees_due`): kind ``late_fee``
    (installment: the line it was charged on) or ``cancellation``
    (installment 0), due the day it became owed, amount what was charged
    less waivers, status ``overdue`` from the day after (``due`` that day),
    label the fee's id.

    .. versionadded:: 0.1.0
    """
    def rows() -> Iterable[list[object]]:
        for plan, ledger in book:
            day = PlanDay.of(plan, ledger, as_of)
            for s in day.statement.installments:
                i = s.installment
                yield [
                    plan.id, plan.client or "", plan.tier or "", plan.version, i.number, i.kind.value,
                    i.due.isoformat(), plan.currency, i.amount.to_decimal_string(),
                    s.paid.to_decimal_string(), s.outstanding.to_decimal_string(), s.status.value,
                    s.days_overdue, i.label or "",
                ]
            for fee in _fees(day):
                days = fee.days_overdue(as_of)
                yield [
                    plan.id, plan.client or "", plan.tier or "", plan.version, fee.installment or 0, fee.kind,
                    fee.on.isoformat(), plan.currency, fee.amount.to_decimal_string(),
                    (fee.amount - fee.outstanding).to_decimal_string(), fee.outstanding.to_decimal_string(),
                    "overdue" if days else "due", days, fee.id,
                ]

    return csv_text(TRACKING_COLUMNS, rows())


def _book_items(
    items: Iterable[PaymentPlan | tuple[PaymentPlan, Ledger]],
) -> Iterable[tuple[PaymentPlan, Ledger | None]]:
    for item in items:
        if isinstance(item, PaymentPlan):
            yield item, None
        else:
            yield item


def _ics_text(text: str) -> str:
    """*text* without control characters, which RFC 5545 TEXT values may not hold (NUL, ESC, ...).

    Line breaks become spaces; icalendar escapes the rest (``,``, ``;``, ``\\``).
    """
    return "".join(" " if c in "\r\n" else c for c in text if c in "\t\r\n" or unicodedata.category(c) != "Cc")


def ics_feed(
    items: Iterable[PaymentPlan | tuple[PaymentPlan, Ledger]],
    *,
    as_of: dt.date | None = None,
    alarms: Sequence[int] | None = None,
    locale: str = "en_US",
    name: str = "Payment plan",
) -> bytes:
    """An iCalendar feed of due dates, with reminder alarms.

    One all-day event per installment still owed: a plan alone lists every
    installment; a ``(plan, ledger)`` pair with *as_of* leaves out what is
    paid and shows what is still owed. Each event has a ``VALARM`` per
    reminder offset on or before the due date: *alarms* (days before, e.g.
    ``(7, 1, 0)``), or else the plan's own reminder policy. The feed is a
    pure function of its arguments: ``DTSTAMP`` is the plan's booking date
    (or *as_of*), never the clock, and each event's ``UID`` is stable per
    plan and installment.

    A cancelled plan (a ``(plan, ledger)`` pair with *as_of* on or after
    its cancellation) lists every installment again under the same
    ``UID``, with ``STATUS:CANCELLED`` and a higher ``SEQUENCE``, so a
    calendar that imported or subscribed to the feed drops those dates.

    Needs the ``icalendar`` package (``pip install 'payplan[reports]'``).

    Raises:
        PayplanError: icalendar is not installed, or *name* is not one line
            of text.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       A cancelled plan's events are listed as cancelled (same ``UID``,
       ``STATUS:CANCELLED``) instead of leaving the feed.
    """
    if type(name) is not str or any(c in name for c in "\r\n"):
        raise PayplanError(f"expected the calendar name as one line of text, got {name!r}")
    try:
        import icalendar
    except ImportError:  # pragma: no cover - exercised without the extra
        raise PayplanError(
            "the iCalendar export needs the icalendar package: pip install 'payplan[reports]'"
        ) from None
    cal = icalendar.Calendar()
    cal.add("prodid", "-//payplan//payment plan due dates//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _ics_text(name))
    for plan, ledger in _book_items(items):
        owed: list[int]
        if ledger is not None and as_of is not None:
            view = _view(plan, ledger, as_of)
            if view.cancellation is not None:
                _ics_cancelled(cal, plan, view.cancellation.on, as_of, locale)
                continue
            owed = _outstanding(plan, view)
        else:
            owed = [i.amount.minor for i in plan.installments]
        if alarms is not None:
            before = sorted({int(d) for d in alarms if int(d) >= 0}, reverse=True)
        else:
            before = sorted({-o for o in plan.terms.reminders.offsets if o <= 0}, reverse=True)
        stamp = dt.datetime.combine(as_of or plan.booked, dt.time(0, 0), tzinfo=dt.UTC)
        for inst, minor in zip(plan.installments, owed, strict=True):
            if minor <= 0:
                continue
            amount = _money(minor, plan.fee.currency).format(locale)
            ev = icalendar.Event()
            ev.add("uid", _ics_text(f"payplan-{plan.id}-{inst.number}@payplan"))
            ev.add("dtstamp", stamp)
            ev.add("dtstart", inst.due)
            if inst.due < dt.date.max:  # without DTEND an all-day event lasts the day (RFC 5545 3.6.1)
                ev.add("dtend", inst.due + dt.timedelta(days=1))
            ev.add("summary", _ics_text(f"{plan.tier or 'Payment'}: installment {inst.number}, {amount} due"))
            ev.add(
                "description",
                _ics_text(
                    f"Plan {plan.id}, installment {inst.number} of {len(plan.installments)}: {amount} due on "
                    f"{inst.due.isoformat()}."
                ),
            )
            ev.add("transp", "TRANSPARENT")
            for days in before:
                alarm = icalendar.Alarm()
                alarm.add("action", "DISPLAY")
                alarm.add("description", f"{amount} due " + ("today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"))
                alarm.add("trigger", dt.timedelta(days=-days))
                ev.add_component(alarm)
            cal.add_component(ev)
    return bytes(cal.to_ical())


def _ics_cancelled(cal: Any, plan: PaymentPlan, on: dt.date, as_of: dt.date, locale: str) -> None:
    """Every installment of a cancelled *plan* as a cancelled event (RFC 5545 3.8.1.11), same UIDs."""
    import icalendar

    stamp = dt.datetime.combine(as_of, dt.time(0, 0), tzinfo=dt.UTC)
    for inst in plan.installments:
        amount = inst.amount.format(locale)
        ev = icalendar.Event()
        ev.add("uid", _ics_text(f"payplan-{plan.id}-{inst.number}@payplan"))
        ev.add("dtstamp", stamp)
        ev.add("dtstart", inst.due)
        if inst.due < dt.date.max:
            ev.add("dtend", inst.due + dt.timedelta(days=1))
        # A change a calendar keeps must carry a higher SEQUENCE than the event it replaces (RFC 5546 2.1.4).
        ev.add("sequence", 1)
        ev.add("status", "CANCELLED")
        ev.add("summary", _ics_text(f"Cancelled: {plan.tier or 'Payment'}: installment {inst.number}, {amount}"))
        ev.add("description", _ics_text(
            f"Plan {plan.id} was cancelled on {on.isoformat()}: installment {inst.number} "
            f"({amount}, {inst.due.isoformat()}) is no longer due."
        ))
        ev.add("transp", "TRANSPARENT")
        cal.add_component(ev)


#: Columns of :func:`quickbooks_invoices_csv`: QuickBooks Online's invoice import headers.
QBO_INVOICE_COLUMNS = (
    "InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Memo", "Item(Product/Service)",
    "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount", "Currency", "Service Date",
)
#: Columns of :func:`quickbooks_payments_csv`: QuickBooks Online's 3-column bank upload.
QBO_PAYMENT_COLUMNS = ("Date", "Description", "Amount")


def _invoice_no(plan: PaymentPlan, inst: Installment) -> str:
    return f"{plan.id}-{inst.number}"


def _customer(plan: PaymentPlan) -> str:
    return plan.client or plan.id


def quickbooks_invoices_csv(
    book: Book,
    *,
    as_of: dt.date | None = None,
    item: str = "Session package",
    date_format: str = "%m/%d/%Y",
    invoice_number: Callable[[PaymentPlan, Installment], str] = _invoice_no,
    customer: Callable[[PaymentPlan], str] = _customer,
) -> str:
    """Invoices for QuickBooks Online's invoice import: one per installment, one per late fee.

    Each installment is an invoice dated at the booking and due on its due
    date; each late fee assessed (less what was waived of it) up to
    *as_of* is an invoice of its own on the day it was assessed. The column
    mapping is documented in ``docs/reports.md``.

    Raises:
        InvalidPlanError: an invoice number longer than QuickBooks's 21
            characters (pass *invoice_number* to shorten it).

    .. versionadded:: 0.1.0
    """
    def fmt(d: dt.date) -> str:
        return d.strftime(date_format)

    def check(no: str) -> str:
        if len(no) > 21:
            raise InvalidPlanError(
                f"expected QuickBooks invoice numbers of at most 21 characters, got {no!r}; "
                "pass invoice_number= to map plan ids to shorter numbers"
            )
        return no

    def rows() -> Iterable[list[object]]:
        for plan, ledger in book:
            who = customer(plan)
            for inst in plan.installments:
                amount = inst.amount.to_decimal_string()
                desc = f"{plan.tier or item}, plan {plan.id}: {inst.kind.value} {inst.number} of {len(plan.installments)}"
                yield [
                    check(invoice_number(plan, inst)), who, fmt(plan.booked), fmt(inst.due), "", inst.label or "",
                    item, desc, 1, amount, amount, plan.currency, fmt(plan.session),
                ]
            view = ledger if as_of is None else ledger.as_of(as_of)
            waived: dict[str, int] = {}
            fees: list[LateFeeAssessed] = []
            for entry in view:
                if isinstance(entry, LateFeeAssessed):
                    fees.append(entry)
                elif isinstance(entry, FeeWaived) and entry.fee_id is not None:
                    waived[entry.fee_id] = waived.get(entry.fee_id, 0) + entry.amount.minor
            for k, fee in enumerate(sorted(fees, key=lambda f: (f.on, f.id)), 1):
                minor = fee.amount.minor - waived.get(fee.id, 0)
                if minor <= 0:
                    continue
                amount = _money(minor, plan.fee.currency).to_decimal_string()
                no = check(f"{plan.id}-F{k}") if invoice_number is _invoice_no else check(
                    invoice_number(plan, plan.installment(fee.installment)) + f"-F{k}"
                )
                yield [
                    no, who, fmt(fee.on), fmt(fee.on), "", fee.reason, "Late fee",
                    f"Late fee on installment {fee.installment}, plan {plan.id}", 1, amount, amount,
                    plan.currency, "",
                ]

    return csv_text(QBO_INVOICE_COLUMNS, rows())


def quickbooks_payments_csv(
    book: Book,
    *,
    as_of: dt.date | None = None,
    date_format: str = "%m/%d/%Y",
    customer: Callable[[PaymentPlan], str] = _customer,
) -> str:
    """Payments and refunds in QuickBooks Online's 3-column bank upload (Date, Description, Amount).

    Payments are positive, refunds negative; the description names the
    customer, the plan and the payment's reference so each line can be
    matched to its invoice in QuickBooks's Banking screen. QuickBooks
    Online's own importer has no payment import; see ``docs/reports.md``.

    .. versionadded:: 0.1.0
    """
    def rows() -> Iterable[list[object]]:
        for plan, ledger in book:
            view = ledger if as_of is None else ledger.as_of(as_of)
            for entry in view.canonical():
                if isinstance(entry, PaymentReceived):
                    sign, what = 1, "Payment"
                elif isinstance(entry, Refund):
                    sign, what = -1, "Refund"
                else:
                    continue
                ref = entry.reference or entry.id
                amount = _money(sign * entry.amount.minor, plan.fee.currency).to_decimal_string()
                yield [entry.on.strftime(date_format), f"{what} {customer(plan)} plan {plan.id} ref {ref}", amount]

    return csv_text(QBO_PAYMENT_COLUMNS, rows())

