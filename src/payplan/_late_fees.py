"""Late fees: the fee ladder applied to what is overdue, and waivers.

Pure functions of ``(plan, ledger, as_of)``: no clock, no I/O. They return
ledger entries with stable ids for the caller to record, so assessing the
same night twice, or nightly and weekly, charges each fee once.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right

from attrs import evolve

from ._ledger import (
    CreditApplied,
    FeeWaived,
    LateFeeAssessed,
    Ledger,
    LedgerEntry,
    PaymentReceived,
    Refund,
    WriteOff,
    _canonical_key,
    _ledger,
    _Store,
)
from ._money import Money, _money
from ._plan import PaymentPlan
from ._policies import LateFeePolicy, late_fee_id
from ._status import PlanDay, _check_ledger, allocate_funds, checked_day
from .exceptions import LedgerError

__all__ = ["assess_late_fees", "late_fee_id", "waive_fee"]


class _Statuses:
    """What each installment still owes on past dates, without replaying the ledger per date.

    ``plan_status(plan, ledger, day)`` views the ledger through
    ``ledger.as_of(day)``, which adds up the entries dated up to *day*: a
    pass over the ledger per date asked about. The views of every
    date are prefixes of one sorted list, so they are built here in a single
    pass, each extending the last, and only the allocation
    (:func:`allocate_funds`) is computed for a date, not a whole statement.
    :meth:`overdue_on` decides exactly as :func:`plan_status` does.
    """

    def __init__(self, plan: PaymentPlan, ledger: Ledger, day: PlanDay | None = None) -> None:
        self.plan = plan
        self.ledger = ledger
        # Keyed by how many entries the view holds (-1: all), not by date:
        # the dates between two entries share one allocation.
        self.cache: dict[int, tuple[Ledger, tuple[int, ...], tuple[int, ...]]] = {}
        last = ledger.last_on
        if day is not None and (last is None or last <= day.as_of):
            # The day's view holds every entry: it is the view of all (-1), already allocated.
            paid, written, _ = day._allocated
            self.cache[-1] = (day.view, paid, written)
        self.sorted: list[LedgerEntry] | None = None
        self.days: list[dt.date] = []
        self.views: list[Ledger] = []
        # The fast path: running funds by date, and what the installments
        # before each one add up to. () marks "not usable" (see _prefix_funds).
        self.prefix: tuple[list[dt.date], list[int]] | tuple[()] | None = None
        before: list[int] = []
        running = 0
        for inst in plan.installments:
            before.append(running)
            running += inst.amount.minor
        self.before = before

    def _standing(self, day: dt.date) -> tuple[Ledger, tuple[int, ...], tuple[int, ...]]:
        ledger = self.ledger
        last = ledger.last_on
        n = -1
        if last is not None and last > day:
            if self.sorted is None:
                self.sorted = sorted(ledger, key=_canonical_key)
                self.days = [e.on for e in self.sorted]
                self.views = [_ledger(ledger.currency, ledger.plan_id, ledger.total, _Store(), 0)]
            n = bisect_right(self.days, day)
        found = self.cache.get(n)
        if found is None:
            if n < 0:
                view = ledger
            else:
                views = self.views
                entries = self.sorted or []
                while len(views) <= n:
                    # What as_of() would keep: the totals, and the entries (in
                    # (on, id) order, appended to one store the views share), which
                    # fee_payments reads to tell money taken for a fee apart.
                    following = views[-1]._copy()
                    entry = entries[len(views) - 1]
                    following._apply(entry, check=False)
                    following._append(entry)
                    views.append(following)
                view = views[n]
            if view.total != self.plan.total.minor:
                view = view.for_plan(self.plan)
            paid, written, _ = allocate_funds(self.plan, view)
            found = self.cache[n] = (view, paid, written)
        return found

    def _prefix_funds(self) -> tuple[list[dt.date], list[int]] | None:
        """Funds (as allocated oldest due first) after each entry in ``(on, id)`` order.

        None when a prefix view would differ from a running sum: write-offs
        aimed at one installment are allocated apart.
        """
        if self.prefix is not None:
            return self.prefix or None
        ledger = self.ledger
        days: list[dt.date] = []
        sums: list[int] = []
        funds = 0
        if ledger._installment_write_offs or ledger._earmarked:  # allocated apart: see allocate_funds
            self.prefix = ()
            return None
        for e in sorted(ledger, key=_canonical_key):
            t = type(e)
            if t is PaymentReceived or t is CreditApplied or t is WriteOff:
                funds += e.amount.minor  # type: ignore[union-attr]
            elif t is Refund and not e.lowers_price:  # type: ignore[union-attr]
                # A price reduction gives the cash back and lowers the price alike.
                funds -= e.amount.minor  # type: ignore[union-attr]
            days.append(e.on)
            sums.append(funds)
        self.prefix = (days, sums)
        return self.prefix

    def overdue_on(self, day: dt.date, number: int) -> int | None:
        """What installment *number* owes on *day* if it is overdue then, else None."""
        inst = self.plan.installments[number - 1]
        if not day > inst.due:
            return None
        ledger = self.ledger
        last = ledger.last_on
        if last is not None and last > day:
            prefix = self._prefix_funds()
            if prefix is not None:
                # Oldest due first without write-offs aimed at one installment:
                # what an installment owes depends only on the funds that day.
                cancel = ledger.cancellation
                if cancel is not None and cancel.on <= day:
                    return None
                days, sums = prefix
                i = bisect_right(days, day)
                funds = sums[i - 1] if i else 0
                amount = inst.amount.minor
                owed = amount - min(max(funds - self.before[number - 1], 0), amount)
                return owed if owed > 0 else None
        view, paid, written = self._standing(day)
        k = number - 1
        inst = self.plan.installments[k]
        owed = inst.amount.minor - paid[k] - written[k]
        if owed <= 0 or view.cancellation is not None or written[k] or not day > inst.due:
            return None
        return owed


# -- late fees ----------------------------------------------------------------------------


_LAST_DAY = dt.date.max


def assess_late_fees(
    plan: PaymentPlan,
    ledger: Ledger,
    as_of: dt.date,
    *,
    policy: LateFeePolicy | None = None,
    day: PlanDay | None = None,
) -> tuple[LateFeeAssessed, ...]:
    """The late fees due by *as_of* that *ledger* does not hold yet.

    For each installment and each step of the ladder, the fee is charged
    once, dated the day the step applies (the due date plus the step's
    days, never inside the grace period), on what was still unpaid on that
    installment that day. Each fee's id is derived from the plan id, the
    installment and the step, so assessing again (the same night, or a week
    later) returns nothing already recorded; a waived fee is not charged
    again. The plan-wide cap is applied in date order. Nothing is charged
    once the plan is cancelled.

    Args:
        plan: The plan.
        ledger: Its ledger.
        as_of: The date of the assessment.
        policy: The late-fee policy (default: the plan's ``terms.late_fees``).
        day: The plan's :class:`~payplan.PlanDay` on *as_of*, if already
            worked out (its allocation is read instead of worked out again).

    Returns:
        The new :class:`~payplan.LateFeeAssessed` entries, in date order;
        record them with ``ledger.record_all(...)``.

    Raises:
        LedgerError: *ledger* belongs to another plan or currency, or *day*
            is another plan's, ledger's or date's.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       *day*.
    """
    _check_ledger(plan, ledger, as_of, "as_of")
    day = checked_day(plan, ledger, as_of, day)
    pol = policy if policy is not None else plan.terms.late_fees
    if pol is None:
        return ()
    cancel = ledger.cancellation
    statuses = _Statuses(plan, ledger, day)
    candidates: list[tuple[dt.date, int, int, LateFeeAssessed]] = []
    cur = plan.fee.currency
    # When each step applies, in days after the due date: the same for every installment.
    ladder = pol._ladder
    for inst in plan.installments:
        charged = 0
        for k, step, after, rule in ladder:
            if inst.due > _LAST_DAY - after:  # after 9999-12-31: a day that never comes
                break
            applies = inst.due + after
            if applies > as_of:
                break
            fid = late_fee_id(plan.id, inst.line_id, k)
            existing = ledger.get(fid)
            if existing is not None:
                charged += existing.amount.minor if type(existing) is LateFeeAssessed else 0
                continue
            if cancel is not None and cancel.on <= applies:
                break
            owed = statuses.overdue_on(applies, inst.number)
            if owed is None:
                break
            basis = owed + (charged if pol.fee_on_fee else 0)
            fee = step.fee_for(_money(basis, cur))
            if fee.minor <= 0:
                continue
            charged += fee.minor
            reason = f"{rule} (installment {inst.number}, due {inst.due.isoformat()})"
            candidates.append((applies, inst.number, k, LateFeeAssessed(fid, applies, fee, inst.number, k, reason)))
    if not candidates:
        return ()
    cap = pol.cap_for(plan.fee)
    room = None if cap is None else cap.minor - ledger.fees.minor
    candidates.sort(key=lambda c: (c[0], c[1], c[2]))
    out: list[LateFeeAssessed] = []
    for _, _, _, entry in candidates:
        if room is not None:
            if room <= 0:
                break
            if entry.amount.minor > room:
                entry = evolve(entry, amount=_money(room, cur), reason=entry.reason + " (capped)")
            room -= entry.amount.minor
        out.append(entry)
    return tuple(out)


def waive_fee(ledger: Ledger, fee_id: str, on: dt.date, reason: str, amount: Money | None = None) -> FeeWaived:
    """The entry that waives the fee *fee_id* (all of it, or *amount*), with the *reason*.

    Its id is ``<fee_id>:waived``, so waiving the same fee twice counts once.

    Raises:
        LedgerError: no fee under *fee_id*, no reason given, or more than the fee.

    .. versionadded:: 0.1.0
    """
    fee = ledger.get(fee_id)
    if type(fee) is not LateFeeAssessed:
        raise LedgerError(f"expected the id of a late fee in the ledger, got {fee_id!r}")
    if not reason or not reason.strip():
        raise LedgerError(f"expected a reason for waiving {fee_id!r}, got none")
    value = fee.amount if amount is None else amount
    if value > fee.amount:
        raise LedgerError(f"expected a waiver of at most the fee {fee.amount}, got {value}")
    return FeeWaived(f"{fee_id}:waived", on, value, reason, fee_id)
