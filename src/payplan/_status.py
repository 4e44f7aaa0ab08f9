"""Where a plan stands on a date: allocation of the money and the plan's status.

:func:`plan_status` derives, from a plan and its :class:`~payplan.Ledger`,
the balance and the state of every installment as of a date;
:func:`allocate_funds` spreads the ledger's money over the installments.
:class:`PlanDay` holds all of it for one plan on one day, worked out once:
the view the rules of that day (late fees, charges, dunning, reminders,
incentives, the statement) read instead of deriving it again each.
"""

from __future__ import annotations

import datetime as dt
import enum
import warnings
from functools import cached_property
from typing import TYPE_CHECKING

from attrs import frozen

from ._calendar import check_day
from ._ledger import _NEW, CreditApplied, FeeWaived, LateFeeAssessed, Ledger, PaymentReceived, Refund
from ._money import Money, _money
from .exceptions import InvalidPlanError, LedgerError

if TYPE_CHECKING:
    from ._plan import PaymentPlan
    from ._schedule import Installment

__all__ = [
    "Allocation",
    "FeeDue",
    "InstallmentState",
    "InstallmentStatus",
    "PlanDay",
    "PlanStatement",
    "PlanStatus",
    "fees_due",
    "plan_status",
]


class Allocation(enum.Enum):
    """How money received is spread over the installments.

    ``OLDEST_DUE_FIRST`` (the default) fills installments in due order,
    whatever the payment's date: it depends only on the running totals,
    so it costs nothing to recompute. ``NEXT_DUE`` gives each payment (in
    ``(on, id)`` order) to the first unpaid installment due on or after the
    day it arrived, then later ones, then earlier ones; a refund takes
    money back from the latest installments first. It replays the
    payments, credits and refunds of the plan.

    In both, money left once every installment is paid goes to fees, and
    what is left after that is the client's credit.

    .. versionadded:: 0.1.0
    """

    OLDEST_DUE_FIRST = "oldest_due_first"
    NEXT_DUE = "next_due"


class InstallmentState(enum.Enum):
    """Where one installment stands on a date.

    .. versionadded:: 0.1.0
    """

    PAID = "paid"
    """Fully paid (by payments or credits)."""
    PARTIAL = "partial"
    """Partly paid, and not yet due."""
    DUE = "due"
    """Due today and not fully paid."""
    OVERDUE = "overdue"
    """Past its due date and not fully paid (``days_overdue`` says how long)."""
    UPCOMING = "upcoming"
    """Not yet due, nothing paid toward it."""
    WAIVED = "waived"
    """What was unpaid was written off."""
    CANCELLED = "cancelled"
    """The plan was cancelled before this was paid."""


class PlanStatus(enum.Enum):
    """Where a whole plan stands on a date.

    .. versionadded:: 0.1.0
    """

    ON_TRACK = "on_track"
    """Nothing past due is unpaid, fees included."""
    OVERDUE = "overdue"
    """At least one installment is past due and unpaid, or fees are unpaid.

    A fee is due the day it is assessed, so a plan whose installments are
    all paid but that still owes a late fee is overdue.
    """
    PAID_IN_FULL = "paid_in_full"
    """Everything, fees included, is paid (money and credits, not write-offs)."""
    CANCELLED = "cancelled"
    """A cancellation was settled."""
    DEFAULTED = "defaulted"
    """Debt of the plan as a whole was written off, or an installment is overdue past the default threshold.

    A write-off that clears the whole balance leaves the plan defaulted, not
    paid in full: the deliverables stay held.
    """


@frozen
class InstallmentStatus:
    """One installment's standing on a date.

    Attributes:
        installment: The installment from the plan.
        status: Where it stands (named like :attr:`PlanStatement.status`).
        paid: What was allocated to it (payments and credits).
        written_off: What of it was written off.
        outstanding: What is still owed on it (zero once the plan is
            cancelled: the settlement replaces the installments, and the
            plan's balance says what is still owed).
        days_overdue: Days past due when overdue, else 0.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *status*, renamed from *state* (which still reads it, with a
       :class:`DeprecationWarning`, for one release).
    """

    installment: Installment
    status: InstallmentState
    paid: Money
    written_off: Money
    outstanding: Money
    days_overdue: int = 0

    @property
    def number(self) -> int:
        """The installment's number."""
        return self.installment.number

    @property
    def state(self) -> InstallmentState:
        """Deprecated name of :attr:`status`.

        .. deprecated:: 0.2.0
           Read :attr:`status` (the name :attr:`PlanStatement.status` has).
        """
        warnings.warn(
            "InstallmentStatus.state is deprecated: read InstallmentStatus.status (as PlanStatement.status)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.status


_SET_STATUS_INSTALLMENT = InstallmentStatus.__dict__["installment"].__set__
_SET_STATUS_STATE = InstallmentStatus.__dict__["status"].__set__
_SET_STATUS_PAID = InstallmentStatus.__dict__["paid"].__set__
_SET_STATUS_WRITTEN_OFF = InstallmentStatus.__dict__["written_off"].__set__
_SET_STATUS_OUTSTANDING = InstallmentStatus.__dict__["outstanding"].__set__
_SET_STATUS_DAYS = InstallmentStatus.__dict__["days_overdue"].__set__
assert len(InstallmentStatus.__attrs_attrs__) == 6, "_installment_status must set every field"


def _installment_status(
    installment: Installment, state: InstallmentState, paid: Money, written_off: Money, outstanding: Money, days: int
) -> InstallmentStatus:
    """Build an InstallmentStatus (a class without validators) through its slots' setters."""
    new: InstallmentStatus = _NEW(InstallmentStatus)
    _SET_STATUS_INSTALLMENT(new, installment)
    _SET_STATUS_STATE(new, state)
    _SET_STATUS_PAID(new, paid)
    _SET_STATUS_WRITTEN_OFF(new, written_off)
    _SET_STATUS_OUTSTANDING(new, outstanding)
    _SET_STATUS_DAYS(new, days)
    return new


@frozen
class PlanStatement:
    """A plan's standing on a date: every installment, the balance, the status.

    Attributes:
        plan_id: The plan.
        as_of: The date it describes.
        status: The plan's status.
        installments: Each installment's standing, in schedule order.
        balance: What is still owed, fees included (negative: the client's credit).
        paid: Net cash received (payments less refunds).
        fees_outstanding: Fees assessed, less waivers, not yet covered.
        credit: What the client has in credit (overpayment), or zero.
        allocation: The policy the money was allocated by.

    .. versionadded:: 0.1.0
    """

    plan_id: str
    as_of: dt.date
    status: PlanStatus
    installments: tuple[InstallmentStatus, ...]
    balance: Money
    paid: Money
    fees_outstanding: Money
    credit: Money
    allocation: Allocation = Allocation.OLDEST_DUE_FIRST

    @property
    def paid_in_full(self) -> bool:
        """Whether nothing is owed (fees included) because it was paid, not cancelled or written off."""
        return self.balance.minor <= 0 and self.status not in (PlanStatus.CANCELLED, PlanStatus.DEFAULTED)

    @property
    def deliverables_released(self) -> bool:
        """Whether the deliverables may be released: only when paid in full, fees included."""
        return self.status is PlanStatus.PAID_IN_FULL

    @property
    def overdue(self) -> tuple[InstallmentStatus, ...]:
        """The installments that are overdue."""
        return tuple(s for s in self.installments if s.status is InstallmentState.OVERDUE)

    def installment(self, number: int) -> InstallmentStatus:
        """The standing of installment *number*.

        Raises:
            LedgerError: no such installment.
        """
        if type(number) is int and 1 <= number <= len(self.installments):
            return self.installments[number - 1]
        raise LedgerError(f"expected an installment number from 1 to {len(self.installments)}, got {number!r}")


def fee_payments(ledger: Ledger) -> dict[str, int]:
    """What the payments taken for a fee (:attr:`PaymentReceived.fee_id`) pay of each fee, by fee id.

    Each fee takes, of the payments naming it, at most what stands of it
    (assessed, less its waivers; waivers naming no fee lower the oldest
    fees first, as :func:`fees_due` counts them); the rest of that money
    counts like any other payment.
    """
    if not ledger._earmarked:
        return {}
    named: dict[str, int] = {}
    for e in ledger:
        if type(e) is PaymentReceived:
            fid = e.fee_id
            if fid is not None:
                named[fid] = named.get(fid, 0) + e.amount.minor
    out: dict[str, int] = {}
    for f, standing in fees_standing(ledger):
        paid = min(named.get(f.id, 0), standing)
        if paid:
            out[f.id] = paid
    return out


def fees_standing(ledger: Ledger) -> list[tuple[LateFeeAssessed, int]]:
    """Each late fee of *ledger* (by date, then id) with what stands of it once its waivers are taken off, in minor units.

    A waiver naming a fee lowers that fee (never below zero); one naming no
    fee, or a fee this ledger does not hold, lowers the oldest fees first.
    """
    fees = [e for e in ledger.canonical() if type(e) is LateFeeAssessed]
    if not fees:
        return []
    ids = {f.id for f in fees}
    waived: dict[str, int] = {}
    loose = 0
    for e in ledger:
        if type(e) is FeeWaived:
            if e.fee_id in ids:
                waived[e.fee_id] = waived.get(e.fee_id, 0) + e.amount.minor
            else:
                loose += e.amount.minor
    out = []
    for f in fees:
        standing = max(f.amount.minor - waived.get(f.id, 0), 0)
        take = min(loose, standing)
        loose -= take
        out.append((f, standing - take))
    return out


def allocate_funds(
    plan: PaymentPlan, ledger: Ledger, allocation: Allocation = Allocation.OLDEST_DUE_FIRST
) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """Spread *ledger*'s money over *plan*'s installments.

    Returns the minor units allocated to each installment, the minor units
    written off on each, and what is left over (for fees, then credit).
    Money taken for a fee (:func:`fee_payments`) pays that fee, never an
    installment: it is part of what is left over.
    """
    for_fees = sum(fee_payments(ledger).values()) if ledger._earmarked else 0
    lines = plan.installments
    amounts = [i.amount.minor for i in lines]
    written = [0] * len(lines)
    loose_write_off = ledger._written_off
    targeted = ledger._installment_write_offs
    for number, minor in targeted:
        if 1 <= number <= len(lines):
            take = min(minor, amounts[number - 1])
            written[number - 1] = take
            loose_write_off -= take
    room = [a - w for a, w in zip(amounts, written, strict=True)] if targeted else amounts
    if allocation is Allocation.OLDEST_DUE_FIRST:
        left = ledger._funds() - (ledger._written_off - loose_write_off) - for_fees
        paid = []
        for r in room:
            if left >= r:
                paid.append(r)
                left -= r
            elif left > 0:
                paid.append(left)
                left = 0
            else:
                paid.append(0)
        return tuple(paid), tuple(written), left + for_fees
    # NEXT_DUE: replay the money entries in canonical order. A refund takes
    # back what is not allocated, then the latest installments' money; what
    # it takes beyond that (a same-day refund whose id sorts before its
    # payment) is owed back first by the next money in, so every unit is
    # counted once whatever the ids.
    paid = [0] * len(lines)
    left = owed_back = 0
    aside = fee_payments(ledger) if for_fees else {}
    for entry in ledger.canonical():
        t = type(entry)
        if t is PaymentReceived or t is CreditApplied:
            money = entry.amount.minor  # type: ignore[union-attr]
            fid = entry.fee_id if t is PaymentReceived else None  # type: ignore[union-attr]
            if fid is not None and aside.get(fid):
                kept = min(aside[fid], money)  # the fee's own money: left over for the fee
                aside[fid] -= kept
                money -= kept
                left += kept
            take = min(owed_back, money)
            owed_back -= take
            money -= take
            start = next((k for k, i in enumerate(lines) if i.due >= entry.on and paid[k] < room[k]), None)
            order = list(range(len(lines))) if start is None else [*range(start, len(lines)), *range(start)]
            for k in order:
                take = min(room[k] - paid[k], money)
                paid[k] += take
                money -= take
            left += money
        elif t is Refund and not entry.lowers_price:  # type: ignore[union-attr]
            # (A price reduction gives the cash back and lowers the price alike: nothing moves.)
            back = entry.amount.minor  # type: ignore[union-attr]
            take = min(back, left)
            left -= take
            back -= take
            for k in range(len(lines) - 1, -1, -1):
                take = min(paid[k], back)
                paid[k] -= take
                back -= take
            owed_back += back
    left -= owed_back
    # General write-offs fill what is left, oldest first.
    spare = loose_write_off
    for k in range(len(lines)):
        take = min(room[k] - paid[k], spare)
        paid[k] += take
        spare -= take
    left += spare
    return tuple(paid), tuple(written), left


def _fees_first(paid: tuple[int, ...], left: int, need: int) -> tuple[tuple[int, ...], int]:
    """Move up to *need* from the latest installments' money to what is left for fees."""
    out = list(paid)
    for k in range(len(out) - 1, -1, -1):
        take = min(out[k], need)
        out[k] -= take
        need -= take
        left += take
    return tuple(out), left


def check_ledger_of(plan: PaymentPlan, ledger: Ledger) -> None:
    """Refuse a ledger of another plan or currency than *plan*'s.

    Raises:
        LedgerError: the ledger names another plan, or counts another currency.
    """
    if (ledger.currency is not plan.fee.currency and ledger.currency != plan.fee.currency) or (
        ledger.plan_id is not None and ledger.plan_id != plan.id
    ):
        raise LedgerError(
            f"expected the ledger of plan {plan.id!r} in {plan.currency}, got the ledger of "
            f"{ledger.plan_id!r} in {ledger.currency.code}"
        )


def plan_status(
    plan: PaymentPlan,
    ledger: Ledger,
    as_of: dt.date,
    *,
    allocation: Allocation = Allocation.OLDEST_DUE_FIRST,
    default_after_days: int | None = None,
) -> PlanStatement:
    """The standing of *plan* on *as_of*, from the entries of *ledger* dated up to then.

    A pure function: the same arguments always give the same statement.
    It costs O(installments) with the default allocation when no entry is
    dated after *as_of*.

    Args:
        plan: The plan.
        ledger: Its ledger.
        as_of: The date to describe.
        allocation: How payments are spread over installments.
        default_after_days: When set, a plan with an installment overdue
            by more than this many days is ``DEFAULTED``.

    Raises:
        LedgerError: *ledger* belongs to another plan or currency.

    .. versionadded:: 0.1.0
    """
    check_day(as_of, "as_of")
    check_ledger_of(plan, ledger)
    view = _view(plan, ledger, as_of)
    return _statement(plan, view, as_of, allocation, default_after_days, allocate_funds(plan, view, allocation))


def _view(plan: PaymentPlan, ledger: Ledger, as_of: dt.date) -> Ledger:
    """The entries of *ledger* dated up to *as_of*, against this version of *plan* (its total)."""
    view = ledger.as_of(as_of)
    if view.total != plan.total.minor:
        view = view.for_plan(plan)
    return view


def _statement(
    plan: PaymentPlan,
    view: Ledger,
    as_of: dt.date,
    allocation: Allocation,
    default_after_days: int | None,
    allocated: tuple[tuple[int, ...], tuple[int, ...], int],
) -> PlanStatement:
    """The statement of *plan* on *as_of* from its *view* and the money *allocated* (:func:`allocate_funds`)."""
    paid, written, left = allocated
    cancel = view.cancellation
    if cancel is not None and view._fees - view._waived > max(left, 0):
        # A cancelled plan's installments are no longer owed: money kept for
        # fees is the fees' (shown as fees), not paid on the latest installments.
        paid, left = _fees_first(paid, left, view._fees - view._waived - max(left, 0))
    cur = plan.fee.currency
    states: list[InstallmentStatus] = []
    zero = _money(0, cur)
    worst = 0
    any_overdue = False
    for k, inst in enumerate(plan.installments):
        amount = inst.amount.minor
        owed = amount - paid[k] - written[k]
        days = 0
        if owed <= 0:
            state = InstallmentState.WAIVED if written[k] else InstallmentState.PAID
        elif cancel is not None:
            state = InstallmentState.CANCELLED
        elif written[k]:
            state = InstallmentState.WAIVED
        elif as_of > inst.due:
            state = InstallmentState.OVERDUE
            days = (as_of - inst.due).days
            any_overdue = True
            worst = max(worst, days)
        elif as_of == inst.due:
            state = InstallmentState.DUE
        elif paid[k]:
            state = InstallmentState.PARTIAL
        else:
            state = InstallmentState.UPCOMING
        # Most lines are wholly paid or wholly open: reuse the installment's
        # own amount and one zero rather than build equal Money values.
        p, w = paid[k], written[k]
        states.append(
            _installment_status(
                inst,
                state,
                inst.amount if p == amount else zero if not p else _money(p, cur),
                zero if not w else _money(w, cur),
                # A cancelled installment is no longer owed: the settlement says what is (the balance).
                zero if owed <= 0 or cancel is not None else inst.amount if owed == amount else _money(owed, cur),
                days,
            )
        )
    balance = view._balance()
    fees_standing = view._fees - view._waived
    fees_outstanding = min(fees_standing, max(fees_standing - left, 0)) if left >= 0 else fees_standing
    # A write-off of the plan as a whole (not aimed at one installment) is
    # debt given up: the plan is defaulted until money, not forgiveness,
    # covers what is owed, even when the write-off cleared the balance.
    loose_write_off = view._written_off - sum(written)
    if cancel is not None:
        status = PlanStatus.CANCELLED
    elif loose_write_off > 0 and balance + loose_write_off > 0:
        status = PlanStatus.DEFAULTED
    elif balance <= 0:
        status = PlanStatus.PAID_IN_FULL
    elif default_after_days is not None and worst > default_after_days:
        status = PlanStatus.DEFAULTED
    elif any_overdue or fees_outstanding > 0:
        # A fee is due the day it is assessed: a plan that owes only fees
        # is not on track.
        status = PlanStatus.OVERDUE
    else:
        status = PlanStatus.ON_TRACK
    return PlanStatement(
        plan.id,
        as_of,
        status,
        tuple(states),
        _money(balance, cur),
        view.net_paid,
        _money(fees_outstanding, cur),
        _money(max(-balance, 0), cur),
        allocation,
    )


def _check_ledger(plan: PaymentPlan, ledger: Ledger, day: dt.date, name: str) -> None:
    check_day(day, name)
    from ._plan import PaymentPlan

    if type(plan) is not PaymentPlan:
        raise InvalidPlanError(f"expected a PaymentPlan, got {type(plan).__name__} {plan!r}")
    if type(ledger) is not Ledger:
        raise LedgerError(f"expected a Ledger, got {type(ledger).__name__} {ledger!r}")
    check_ledger_of(plan, ledger)


def _line(fee: LateFeeAssessed, line_of: dict[str, int], plan: PaymentPlan) -> int | None:
    """The number of the line *fee* is on now (*line_of*: each line's id to its number), or None when an amendment removed that line."""
    prefix = f"{plan.id}:late-fee:"
    if fee.id.startswith(prefix):
        # payplan's own id (late_fee_id: line id, then step) names the line (an id holds no colon), whatever the ladder now.
        return line_of.get(fee.id[len(prefix):].partition(":")[0])
    # A fee recorded under the caller's own id: the number it names, if the plan has it.
    return fee.installment if fee.installment <= len(plan.installments) else None


@frozen
class FeeDue:
    """An amount owed that is not an installment: a late fee, or what a cancellation left owed.

    What a site charges on demand (``Provider.charge_fee(binding, plan,
    fee.id, fee.outstanding)``), shows on a reminder or a statement, and
    ages with the installments.

    Attributes:
        id: The stable id of what is owed: the :class:`~payplan.LateFeeAssessed`
            entry's id, or the :class:`~payplan.CancellationSettled` entry's
            id for what a cancellation (a no-show fee, a reschedule fee, a
            shortfall the policy collects) left owed.
        plan_id: The plan.
        kind: ``"late_fee"`` or ``"cancellation"``.
        on: The day it became owed (a fee is due the day it is assessed).
        amount: What was charged, less what was waived of it.
        outstanding: What is still owed of it, after the money allocated to it.
        installment: The number of the line a late fee was charged on (as
            the plan numbers it now, after any amendment); None for what a
            cancellation left owed, or when an amendment removed the line.
        reason: In words.

    .. versionadded:: 0.1.0
    """

    id: str
    plan_id: str
    kind: str
    on: dt.date
    amount: Money
    outstanding: Money
    installment: int | None
    reason: str

    def days_overdue(self, as_of: dt.date) -> int:
        """Days from when it became owed to *as_of* (0 on that day or before)."""
        return max((as_of - self.on).days, 0)


def fees_due(plan: PaymentPlan, ledger: Ledger, as_of: dt.date, *, day: PlanDay | None = None) -> tuple[FeeDue, ...]:
    """What *plan* owes on *as_of* beyond its installments, each with a stable id, oldest first.

    Late fees standing (less their waivers; a waiver naming no fee lowers
    the oldest) are covered by the money left once the installments are
    paid, oldest first (the allocation :func:`plan_status` uses); those
    with something still owed are returned. Once the plan is cancelled, what
    the settlement left owed (its fees included) is one amount under the
    settlement's id. The outstanding amounts add up to the statement's
    ``fees_outstanding`` (the whole balance, for a cancelled plan).

    Args:
        plan: The plan.
        ledger: Its ledger.
        as_of: The date.
        day: The plan's :class:`PlanDay` on *as_of*, if already worked out
            (read instead of deriving the standing again).

    Raises:
        LedgerError: *ledger* belongs to another plan or currency, or *day*
            is another plan's, ledger's or date's.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       *day*.
    """
    _check_ledger(plan, ledger, as_of, "as_of")
    checked = checked_day(plan, ledger, as_of, day)
    if checked is not None:
        return checked.fees
    return _fees_due(plan, _view(plan, ledger, as_of), None)


def _fees_due(plan: PaymentPlan, view: Ledger, left: int | None) -> tuple[FeeDue, ...]:
    """:func:`fees_due` from the plan's *view* on the day, and what *left* over once the installments are paid.

    *left* is :func:`allocate_funds`'s third figure (oldest due first), or None to work it out when needed.
    """
    cur = plan.fee.currency
    cancel = view.cancellation
    if cancel is not None:
        owed = view._balance()
        if owed <= 0:
            return ()
        return (
            FeeDue(cancel.id, plan.id, "cancellation", cancel.on, _money(owed, cur), _money(owed, cur), None, cancel.reason),
        )
    fees = fees_standing(view)
    if not fees:
        return ()
    if left is None:
        _, _, left = allocate_funds(plan, view)
    own = fee_payments(view)  # money taken for a fee pays that fee first
    cover = max(left - sum(own.values()), 0)
    # The line each fee is on now: amendments renumber lines, fee ids keep the line's identity.
    line_of = {i.line_id: i.number for i in plan.installments}
    out: list[FeeDue] = []
    for f, standing in fees:
        mine = min(own.get(f.id, 0), standing)
        paid = mine + min(cover, standing - mine)
        cover -= paid - mine
        if standing - paid > 0:
            out.append(
                FeeDue(
                    f.id, plan.id, "late_fee", f.on, _money(standing, cur), _money(standing - paid, cur),
                    _line(f, line_of, plan), f.reason,
                )
            )
    return tuple(out)


@frozen
class PlanDay:
    """One plan's standing on one day, worked out once: what every rule of that day reads.

    The entries dated up to the day and the money allocated to each
    installment; the statement (:func:`plan_status`) and the fees owed
    (:func:`fees_due`) are worked out when first read, then kept. Late fees, charges and fee charges,
    dunning notices, reminders, incentives, the statement documents and the
    daily run take it as ``day=`` instead of deriving the same standing
    again each; given none, each works it out itself, with the same result.

    A value of one ledger: a run that records an entry (a late fee, a
    payment) works out a new day from the new ledger.

    ```python
    import datetime as dt
    from payplan import DepositRule, Ledger, Money, PaymentPlan, PaymentReceived, PlanDay, PlanStatus, charges_due

    usd = lambda text: Money.of(text, "USD")
    plan = PaymentPlan.with_deposit(
        "plan-1", usd("900.00"), deposit=DepositRule.fixed(usd("300.00")), installments=2,
        booked=dt.date(2027, 1, 1), session=dt.date(2027, 6, 1),
    )
    ledger = Ledger.empty(plan).record(PaymentReceived("p1", dt.date(2027, 1, 1), usd("300.00")))
    today = dt.date(2027, 2, 3)
    day = PlanDay.of(plan, ledger, today)
    assert day.statement.status is PlanStatus.OVERDUE
    assert charges_due(plan, ledger, today, day=day) == charges_due(plan, ledger, today)
    ```

    Attributes:
        plan: The plan.
        ledger: Its whole ledger (entries dated after the day included:
            the rules that look back, such as late fees, read it).
        as_of: The day.
        view: The ledger of the entries dated up to *as_of*, against this
            version of the plan.
        allocation: How the statement spreads the money over the installments.
        default_after_days: The statement's default threshold (see :func:`plan_status`).

    .. versionadded:: 0.3.0
    """

    plan: PaymentPlan
    ledger: Ledger
    as_of: dt.date
    view: Ledger
    allocation: Allocation
    default_after_days: int | None
    # allocate_funds on the day: minor units paid and written off on each installment, and what is left.
    _allocated: tuple[tuple[int, ...], tuple[int, ...], int]

    @classmethod
    def of(
        cls,
        plan: PaymentPlan,
        ledger: Ledger,
        as_of: dt.date,
        *,
        allocation: Allocation = Allocation.OLDEST_DUE_FIRST,
        default_after_days: int | None = None,
    ) -> PlanDay:
        """The standing of *plan* on *as_of*, from the entries of *ledger* dated up to then.

        Args:
            plan: The plan.
            ledger: Its ledger.
            as_of: The day.
            allocation: How the statement spreads payments over the installments
                (the rules read a day of the default, oldest due first).
            default_after_days: As for :func:`plan_status`.

        Raises:
            InvalidPlanError: *plan* is not a plan.
            LedgerError: *ledger* is not a ledger, or belongs to another plan or currency.
        """
        _check_ledger(plan, ledger, as_of, "as_of")
        return _plan_day(plan, ledger, as_of, allocation, default_after_days)

    @cached_property
    def statement(self) -> PlanStatement:
        """The plan's statement on the day (:func:`plan_status`)."""
        return _statement(
            self.plan, self.view, self.as_of, self.allocation, self.default_after_days, self._allocated
        )

    @cached_property
    def fees(self) -> tuple[FeeDue, ...]:
        """What the plan owes on the day beyond its installments (:func:`fees_due`)."""
        allocated = self._allocated if self.allocation is Allocation.OLDEST_DUE_FIRST else None
        return _fees_due(self.plan, self.view, None if allocated is None else allocated[2])


def _plan_day(
    plan: PaymentPlan, ledger: Ledger, as_of: dt.date, allocation: Allocation, default_after_days: int | None
) -> PlanDay:
    view = _view(plan, ledger, as_of)
    return PlanDay(plan, ledger, as_of, view, allocation, default_after_days, allocate_funds(plan, view, allocation))


def day_of(plan: PaymentPlan, ledger: Ledger, as_of: dt.date, day: PlanDay | None) -> PlanDay:
    """*day* (checked by :func:`checked_day`), or the standing of *plan* on *as_of* the rules read, worked out now."""
    return day if day is not None else _plan_day(plan, ledger, as_of, Allocation.OLDEST_DUE_FIRST, None)


def checked_day(plan: PaymentPlan, ledger: Ledger, as_of: dt.date, day: PlanDay | None) -> PlanDay | None:
    """*day*, refused unless it is the standing of *plan* and *ledger* on *as_of* that the rules read.

    A rule's arguments are checked before this is called.

    Raises:
        LedgerError: *day* is not a :class:`PlanDay`, or is another plan's,
            ledger's or date's, or allocates otherwise than oldest due first.
    """
    if day is None:
        return None
    if type(day) is not PlanDay:
        raise LedgerError(f"expected day as a PlanDay, got {type(day).__name__} {day!r}")
    same_ledger = day.ledger is ledger or day.ledger == ledger
    if day.as_of != as_of or not same_ledger or (day.plan is not plan and day.plan != plan):
        raise LedgerError(
            f"expected the day of plan {plan.id!r} on {as_of.isoformat()} from the ledger given, "
            f"got the day of plan {day.plan.id!r} on {day.as_of.isoformat()}"
            + ("" if same_ledger else " from another ledger")
        )
    if day.allocation is not Allocation.OLDEST_DUE_FIRST:
        raise LedgerError(
            f"expected a day allocated {Allocation.OLDEST_DUE_FIRST.value} (the rules' allocation), "
            f"got {day.allocation.value}"
        )
    return day
