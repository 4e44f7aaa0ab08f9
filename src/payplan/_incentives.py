"""Incentives: the discounts, credits and add-ons a plan has earned.

A pure function of ``(plan, ledger, as_of)``: each award's credit entry has
a stable id, so recording the awards again counts each once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from attrs import frozen

from ._calendar import days_after
from ._ledger import CreditApplied, Ledger
from ._money import Money
from ._plan import PaymentPlan
from ._policies import Incentive, IncentiveKind
from ._standing import _INCENTIVE, ClientStanding, _timeline, installment_paid_dates
from ._status import PlanDay, _check_ledger, checked_day
from .exceptions import InvalidPlanError

__all__ = ["IncentiveAward", "earned_incentives"]


def _incentive_credit_ids(plan: PaymentPlan, index: int) -> list[str]:
    base = f"{plan.id}:incentive:{index}"
    return [base] + [f"{base}:{i.number}" for i in plan.installments]


@frozen
class IncentiveAward:
    """An incentive a plan has earned, with its stated value.

    Attributes:
        incentive: The incentive.
        value: What it is worth.
        earned_on: The day it was earned.
        entry: The credit to record, for discounts and credits (None for
            an add-on, which is delivered, not credited).
        installment: For early payment, the installment it rewards.
        note: In words.

    .. versionadded:: 0.1.0
    """

    incentive: Incentive
    value: Money
    earned_on: dt.date
    entry: CreditApplied | None
    installment: int | None = None
    note: str = ""


def _first_reaching(timeline: Sequence[tuple[dt.date, int]], target: int) -> dt.date | None:
    funds = 0
    reached: dt.date | None = None
    for day, delta in timeline:
        funds += delta
        if funds >= target and reached is None:
            reached = day
        elif funds < target:
            reached = None
    return reached


def earned_incentives(
    plan: PaymentPlan,
    ledger: Ledger,
    as_of: dt.date,
    *,
    standing: ClientStanding | None = None,
    day: PlanDay | None = None,
) -> tuple[IncentiveAward, ...]:
    """The incentives of the plan's terms earned by *as_of*.

    Discounts and credits come with a :class:`~payplan.CreditApplied` entry
    whose id is derived from the plan and the incentive's position (and the
    installment, for early payment), dated the day it was earned, so
    recording the awards again counts each once. Earned means:

    * pay in full: payments reached the total less the discount by the
      incentive's date (default: the booking);
    * early payment: each installment fully paid at least ``days_early``
      days before its due date;
    * add-on: the plan paid in full by the date (a stated value, no credit);
    * loyalty: *standing* has at least ``min_on_time`` on-time installments;
    * referral: at booking;
    * booked-by: the booking was made on or before the date.

    Nothing is earned once the plan is cancelled. *day* is the plan's
    :class:`~payplan.PlanDay` on *as_of*, if already worked out (its view
    of the ledger is read).

    Raises:
        InvalidPlanError: an incentive amount in another currency.
        LedgerError: *day* is another plan's, ledger's or date's.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       *day*.
    """
    _check_ledger(plan, ledger, as_of, "as_of")
    day = checked_day(plan, ledger, as_of, day)
    view = ledger.as_of(as_of) if day is None else day.view
    if view.cancellation is not None:
        return ()
    cur = plan.fee.currency
    timeline = [(d, v) for d, v in _timeline(view)]
    paid_dates: tuple[dt.date | None, ...] | None = None
    out: list[IncentiveAward] = []
    for index, inc in enumerate(plan.terms.incentives, 1):
        if inc.amount is not None and inc.amount.currency != cur:
            raise InvalidPlanError(f"expected incentive {index} in {cur.code}, got {inc.amount}")
        cid = f"{plan.id}:incentive:{index}"
        source = f"{_INCENTIVE}{inc.kind.value}"
        k = inc.kind
        if k is IncentiveKind.EARLY_PAYMENT:
            if paid_dates is None:
                paid_dates = installment_paid_dates(plan, view)
            for inst, paid_on in zip(plan.installments, paid_dates, strict=True):
                deadline = days_after(inst.due, -inc.days_early)  # None: before 0001-01-01, never met
                if paid_on is None or deadline is None or paid_on > deadline:
                    continue
                value = inc.value_on(inst.amount)
                if value.minor <= 0:
                    continue
                note = f"early-payment discount on installment {inst.number}"
                entry = _recorded(view, f"{cid}:{inst.number}") or CreditApplied(
                    f"{cid}:{inst.number}", paid_on, value, note, source
                )
                out.append(IncentiveAward(inc, value, paid_on, entry, inst.number, note))
            continue
        value = inc.value_on(plan.fee)
        earned: dt.date | None = None
        if k is IncentiveKind.PAY_IN_FULL:
            by = inc.by or plan.booked
            reached = _first_reaching(timeline, plan.total.minor - value.minor)
            earned = reached if reached is not None and reached <= by else None
            note = f"pay-in-full discount of {value}"
        elif k is IncentiveKind.ADD_ON:
            assert inc.by is not None
            reached = _first_reaching(timeline, plan.total.minor)
            earned = reached if reached is not None and reached <= inc.by else None
            note = f"add-on unlocked: {inc.name or 'add-on'} worth {value}"
            if earned is not None:
                out.append(IncentiveAward(inc, value, earned, None, None, note))
            continue
        elif k is IncentiveKind.LOYALTY:
            ok = standing is not None and standing.on_time_installments >= inc.min_on_time
            earned = plan.booked if ok else None
            note = f"loyalty discount of {value}"
        elif k is IncentiveKind.REFERRAL:
            earned = plan.booked
            note = f"referral credit of {value}" + (f" (referred by {inc.name})" if inc.name else "")
        else:
            assert inc.by is not None
            earned = plan.booked if plan.booked <= inc.by else None
            note = f"offer for bookings by {inc.by.isoformat()}: {value}"
        if earned is None or earned > as_of or value.minor <= 0:
            continue
        entry = _recorded(view, cid) or CreditApplied(cid, earned, value, note, source)
        out.append(IncentiveAward(inc, value, earned, entry, None, note))
    return tuple(out)


def _recorded(ledger: Ledger, entry_id: str) -> CreditApplied | None:
    found = ledger.get(entry_id)
    return found if type(found) is CreditApplied else None
