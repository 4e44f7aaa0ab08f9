"""Collections: late fees, reminders, cancellation, standing and incentives.

Every function here is a pure function of its arguments, typically
``(plan, ledger, as_of)``: no clock, no I/O. Each returns values (ledger
entries with stable ids, reminders with stable ids) for the caller to
record or send, so running the same function twice, or nightly and
weekly, gives the same entries, and recording them twice counts them once.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from string import Template

from attrs import evolve, frozen

from ._calendar import check_day
from ._ledger import (
    CancellationSettled,
    CreditApplied,
    FeeWaived,
    InstallmentState,
    LateFeeAssessed,
    Ledger,
    LedgerEntry,
    PaymentReceived,
    Refund,
    WriteOff,
    _canonical_key,
    _ledger,
    _Store,
    allocate_funds,
    check_ledger_of,
    plan_status,
)
from ._money import Money, _money, percent_of
from ._plan import PaymentPlan
from ._policies import (
    CancellationPolicy,
    EscalationPolicy,
    Incentive,
    IncentiveKind,
    LateFeePolicy,
    ReminderKind,
    ReminderPolicy,
)
from ._terms import Terms
from .exceptions import InvalidPlanError, LedgerError, RuleViolationError

__all__ = [
    "ClientStanding",
    "IncentiveAward",
    "Reminder",
    "Settlement",
    "assess_late_fees",
    "client_standing",
    "earned_incentives",
    "escalated_terms",
    "flag_late_clients",
    "installment_paid_dates",
    "reminders_due",
    "settle_cancellation",
    "settle_reschedule",
    "waive_fee",
]

_DAY = dt.timedelta(days=1)
_OPEN = (InstallmentState.OVERDUE, InstallmentState.DUE, InstallmentState.PARTIAL, InstallmentState.UPCOMING)
_INCENTIVE = "incentive:"


def _check_ledger(plan: PaymentPlan, ledger: Ledger, day: dt.date, name: str) -> None:
    check_day(day, name)
    if type(plan) is not PaymentPlan:
        raise InvalidPlanError(f"expected a PaymentPlan, got {type(plan).__name__} {plan!r}")
    if type(ledger) is not Ledger:
        raise LedgerError(f"expected a Ledger, got {type(ledger).__name__} {ledger!r}")
    check_ledger_of(plan, ledger)


class _Statuses:
    """What each installment still owes on past dates, without replaying the ledger per date.

    ``plan_status(plan, ledger, day)`` views the ledger through
    ``ledger.as_of(day)``, which re-records the entries dated up to *day* in
    ``(on, id)`` order: a replay per date asked about. The views of every
    date are prefixes of one sorted list, so they are built here in a single
    pass, each extending the last, and only the allocation
    (:func:`allocate_funds`) is computed for a date, not a whole statement.
    :meth:`overdue_on` decides exactly as :func:`plan_status` does.
    """

    def __init__(self, plan: PaymentPlan, ledger: Ledger) -> None:
        self.plan = plan
        self.ledger = ledger
        # Keyed by how many entries the view holds (-1: all), not by date:
        # the dates between two entries share one allocation.
        self.cache: dict[int, tuple[Ledger, tuple[int, ...], tuple[int, ...]]] = {}
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
                    # The totals record() would keep, without its id index:
                    # these views are private and only their totals are read.
                    previous = views[-1]
                    following = previous._copy()
                    try:
                        following._apply(entries[len(views) - 1])
                    except LedgerError:
                        # Refused at this point of the history (a refund dated
                        # before its payment): as_of() leaves it out too.
                        following = previous
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
        aimed at one installment (allocated apart), or a refund dated before
        the payments it returns (a view as of then leaves it out).
        """
        if self.prefix is not None:
            return self.prefix or None
        ledger = self.ledger
        days: list[dt.date] = []
        sums: list[int] = []
        funds = paid = refunded = 0
        if ledger._installment_write_offs:
            self.prefix = ()
            return None
        for e in sorted(ledger, key=_canonical_key):
            t = type(e)
            if t is PaymentReceived:
                m = e.amount.minor  # type: ignore[union-attr]
                funds += m
                paid += m
            elif t is Refund:
                m = e.amount.minor  # type: ignore[union-attr]
                refunded += m
                if refunded > paid:
                    self.prefix = ()
                    return None
                funds -= m
            elif t is CreditApplied or t is WriteOff:
                funds += e.amount.minor  # type: ignore[union-attr]
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


def late_fee_id(plan_id: str, installment: int, step: int) -> str:
    """The stable id of the late fee of ladder *step* on *installment* of a plan."""
    return f"{plan_id}:late-fee:{installment}:{step}"


def assess_late_fees(
    plan: PaymentPlan,
    ledger: Ledger,
    as_of: dt.date,
    *,
    policy: LateFeePolicy | None = None,
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

    Returns:
        The new :class:`~payplan.LateFeeAssessed` entries, in date order;
        record them with ``ledger.record_all(...)``.

    .. versionadded:: 0.1.0
    """
    _check_ledger(plan, ledger, as_of, "as_of")
    pol = policy if policy is not None else plan.terms.late_fees
    if pol is None:
        return ()
    cancel = ledger.cancellation
    statuses = _Statuses(plan, ledger)
    candidates: list[tuple[dt.date, int, int, LateFeeAssessed]] = []
    cur = plan.fee.currency
    # When each step applies, in days after the due date: the same for every installment.
    ladder = pol._ladder
    for inst in plan.installments:
        charged = 0
        for k, step, after, rule in ladder:
            day = inst.due + after
            if day > as_of:
                break
            fid = late_fee_id(plan.id, inst.number, k)
            existing = ledger.get(fid)
            if existing is not None:
                charged += existing.amount.minor if type(existing) is LateFeeAssessed else 0
                continue
            if cancel is not None and cancel.on <= day:
                break
            owed = statuses.overdue_on(day, inst.number)
            if owed is None:
                break
            basis = owed + (charged if pol.fee_on_fee else 0)
            fee = step.fee_for(_money(basis, cur))
            if fee.minor <= 0:
                continue
            charged += fee.minor
            reason = f"{rule} (installment {inst.number}, due {inst.due.isoformat()})"
            candidates.append((day, inst.number, k, LateFeeAssessed(fid, day, fee, inst.number, k, reason)))
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


# -- reminders -------------------------------------------------------------------------------


@frozen
class Reminder:
    """A payment reminder to send on :attr:`date`.

    Attributes:
        id: Stable id: the plan, the installment, the offset from the due
            date and the amount owed. A site that records the ids it sent
            never sends the same reminder twice; a partial payment changes
            what is owed, so the reminders after it restate the new amount
            under new ids.
        plan_id: The plan.
        installment: The installment number.
        kind: Before the due date, on it, overdue, or the final notice.
        date: The day to send it.
        due: The installment's due date.
        owed: What is still owed on the installment.
        offset: Days from the due date (negative: before).
        late_fee: The next late fee that will apply, if any.
        late_fee_from: The day that fee applies from.
        message: The rendered text.

    .. versionadded:: 0.1.0
    """

    id: str
    plan_id: str
    installment: int
    kind: ReminderKind
    date: dt.date
    due: dt.date
    owed: Money
    offset: int
    late_fee: Money | None
    late_fee_from: dt.date | None
    message: str


def _next_fee(
    plan: PaymentPlan, ledger: Ledger, number: int, due: dt.date, owed: Money, as_of: dt.date
) -> tuple[Money | None, dt.date | None]:
    pol = plan.terms.late_fees
    if pol is None:
        return None, None
    for k, step in enumerate(pol.steps, 1):
        day = due + dt.timedelta(days=pol.applies_on(step))
        if day <= as_of or late_fee_id(plan.id, number, k) in ledger:
            continue
        fee = step.fee_for(owed)
        cap = pol.cap_for(plan.fee)
        if cap is not None:
            fee = _money(max(min(fee.minor, cap.minor - ledger.fees.minor), 0), fee.currency)
        if fee.minor > 0:
            return fee, day
        return None, None
    return None, None


def _fees_charged(plan: PaymentPlan, ledger: Ledger, number: int) -> int:
    """The late fees the ledger holds on installment *number*, by their stable ids."""
    pol = plan.terms.late_fees
    if pol is None:
        return 0
    total = 0
    for k in range(1, len(pol.steps) + 1):
        entry = ledger.get(late_fee_id(plan.id, number, k))
        if type(entry) is LateFeeAssessed:
            total += entry.amount.minor
    return total


def reminders_due(
    plan: PaymentPlan,
    ledger: Ledger,
    as_of: dt.date,
    *,
    policy: ReminderPolicy | None = None,
    templates: Mapping[str, str] | None = None,
    locale: str = "en_US",
    client: str | None = None,
) -> tuple[Reminder, ...]:
    """The reminders to send on *as_of*.

    One per installment whose due date is one of the policy's offsets away
    from *as_of* and that still has something owed: nothing for paid or
    waived installments, nothing before the booking, nothing once the
    plan is cancelled. Each states what is still owed (so a partial
    payment re-anchors it), the late fees already charged on the
    installment, and, where a late fee will apply, which fee and from
    which day.

    Args:
        plan: The plan.
        ledger: Its ledger.
        as_of: The day the reminders are sent.
        policy: The cadence (default: the plan's ``terms.reminders``).
        templates: Message templates by kind name, replacing the policy's
            (:class:`string.Template` syntax; see
            :data:`~payplan.DEFAULT_REMINDER_TEMPLATES` for the placeholders).
        locale: The locale money is formatted for.
        client: The client's name for ``$client`` (default: the plan's client id).

    .. versionadded:: 0.1.0
    """
    _check_ledger(plan, ledger, as_of, "as_of")
    pol = policy if policy is not None else plan.terms.reminders
    texts = dict(pol.templates)
    if templates:
        texts.update(templates)
    offsets = set(pol.offsets)
    if as_of < plan.booked or ledger.as_of(as_of).cancellation is not None:
        return ()
    status = plan_status(plan, ledger, as_of)
    out: list[Reminder] = []
    for s in status.installments:
        inst = s.installment
        offset = (as_of - inst.due).days
        if offset not in offsets or s.state not in _OPEN or s.outstanding.minor <= 0:
            continue
        kind = pol.kind_for(offset)
        fee, fee_from = _next_fee(plan, ledger, inst.number, inst.due, s.outstanding, as_of)
        charged = _fees_charged(plan, ledger, inst.number)
        notice = ""
        if charged:
            notice = f" Late fees of {_money(charged, s.outstanding.currency).format(locale)} have been charged on it."
        if fee is not None and fee_from is not None:
            notice += f" A late fee of {fee.format(locale)} applies from {fee_from.isoformat()} if it is still unpaid."
        values = {
            "plan_id": plan.id,
            "client": client or plan.client or "",
            "installment": str(inst.number),
            "amount": s.outstanding.format(locale),
            "due": inst.due.isoformat(),
            "days": str(abs(offset)),
            "days_text": f"{abs(offset)} day{'' if abs(offset) == 1 else 's'}",
            "fee_notice": notice,
        }
        message = Template(texts[kind.value]).safe_substitute(values)
        rid = f"{plan.id}:reminder:{inst.number}:{offset}:{s.outstanding.minor}"
        out.append(
            Reminder(rid, plan.id, inst.number, kind, as_of, inst.due, s.outstanding, offset, fee, fee_from, message)
        )
    return tuple(out)


# -- cancellation ---------------------------------------------------------------------------------


@frozen
class Settlement:
    """What a cancellation (or reschedule) settles to.

    Attributes:
        plan_id: The plan.
        on: The day of the cancellation.
        notice_days: Days from *on* to the session.
        retained: What the business keeps under the policy (incentive
            clawback included).
        clawback: The part of *retained* that takes back incentives.
        refund: Cash paid back; never more than was paid.
        credit: Carried toward a new session (see :meth:`carry_over`).
        shortfall: Still owed after the settlement (zero unless the policy
            collects shortfalls or fees are unpaid).
        reason: The rule that applied, in words.
        entries: The ledger entries to record (the settlement, the refund).
        no_show: Whether it was a no-show.
        reschedule: Whether it was a reschedule.

    .. versionadded:: 0.1.0
    """

    plan_id: str
    on: dt.date
    notice_days: int
    retained: Money
    clawback: Money
    refund: Money
    credit: Money
    shortfall: Money
    reason: str
    entries: tuple[LedgerEntry, ...]
    no_show: bool = False
    reschedule: bool = False

    def carry_over(self, entry_id: str, on: dt.date) -> CreditApplied:
        """The credit entry that brings :attr:`credit` to the new plan's ledger.

        Raises:
            LedgerError: there is no credit to carry over.
        """
        if self.credit.minor <= 0:
            raise LedgerError(f"expected a settlement with credit to carry over, got {self.credit}")
        return CreditApplied(entry_id, on, self.credit, f"credit carried over from plan {self.plan_id}", "carry_over")


def _incentive_credit_ids(plan: PaymentPlan, index: int) -> list[str]:
    base = f"{plan.id}:incentive:{index}"
    return [base] + [f"{base}:{i.number}" for i in plan.installments]


def _clawback(plan: PaymentPlan, ledger: Ledger) -> int:
    total = 0
    for index, inc in enumerate(plan.terms.incentives, 1):
        if not inc.clawback:
            continue
        for cid in _incentive_credit_ids(plan, index):
            entry = ledger.get(cid)
            if type(entry) is CreditApplied:
                total += entry.amount.minor
    return total


def _settle(
    plan: PaymentPlan,
    ledger: Ledger,
    on: dt.date,
    *,
    retention: int,
    reason: str,
    as_credit: bool,
    collect_shortfall: bool,
    no_show: bool,
    reschedule: bool,
) -> Settlement:
    _check_ledger(plan, ledger, on, "on")
    if ledger.cancellation is not None:
        raise LedgerError(f"plan {plan.id!r} was already cancelled by {ledger.cancellation.id!r}")
    if on < plan.booked:
        raise RuleViolationError(
            f"expected a cancellation dated on or after the booking {plan.booked.isoformat()}, got {on.isoformat()}"
        )
    cur = plan.fee.currency
    # A reschedule carries every credit (incentives included) to the new date.
    clawback = 0 if reschedule else _clawback(plan, ledger)
    wanted = retention + clawback
    # Write-offs forgave installments the cancellation ends: they are not the
    # client's money, so they are neither retained against, refunded nor credited.
    forgiven = ledger.written_off.minor
    funds = ledger.funds.minor - forgiven
    fees = ledger.fees.minor - ledger.waived.minor
    retained = wanted if collect_shortfall else min(wanted, max(funds - fees, 0))
    surplus = funds - retained - fees
    refund = credit = 0
    if surplus > 0:
        cash = min(surplus, ledger.net_paid.minor)
        if as_credit:
            credit = surplus
        else:
            refund = cash
            credit = surplus - cash
    shortfall = max(-surplus, 0)
    sid = f"{plan.id}:cancellation"
    entries: list[LedgerEntry] = [
        CancellationSettled(
            sid, on, _money(retained, cur), _money(refund, cur), _money(credit, cur), reason, no_show,
            _money(forgiven, cur) if forgiven else None,
        )
    ]
    if refund:
        entries.append(Refund(f"{sid}:refund", on, _money(refund, cur), f"cancellation refund: {reason}"))
    return Settlement(
        plan.id,
        on,
        (plan.session - on).days,
        _money(retained, cur),
        _money(min(clawback, retained), cur),
        _money(refund, cur),
        _money(credit, cur),
        _money(shortfall, cur),
        reason,
        tuple(entries),
        no_show,
        reschedule,
    )


def settle_cancellation(
    plan: PaymentPlan,
    ledger: Ledger,
    on: dt.date,
    *,
    no_show: bool = False,
    as_credit: bool | None = None,
    policy: CancellationPolicy | None = None,
) -> Settlement:
    """Settle a cancellation made on *on*, by the plan's cancellation policy.

    The retained amount is the largest of the non-refundable deposit and the
    window percent of the fee for the notice given (plus the no-show fee
    for a no-show), plus any incentive credits to claw back. Without a
    policy nothing is retained but clawed-back incentives. What was paid
    beyond that is refunded in cash (never more than was paid), or kept as
    credit toward a new session with *as_credit* (default: the policy's
    ``credit_instead_of_refund``).

    Returns:
        The :class:`Settlement`; record ``settlement.entries`` to apply it.

    Raises:
        LedgerError: the plan was already cancelled, or the ledger is another plan's.
        RuleViolationError: *on* is before the booking.

    .. versionadded:: 0.1.0
    """
    _check_ledger(plan, ledger, on, "on")
    pol = policy if policy is not None else plan.terms.cancellation
    notice = 0 if no_show else max((plan.session - on).days, 0)
    cur = plan.fee.currency
    retention = 0
    reasons: list[str] = []
    if pol is None:
        reasons.append("no cancellation policy: nothing is retained but fees")
    else:
        pct = pol.percent_retained(notice)
        retention = percent_of(plan.fee, pct, rounding=ROUND_HALF_UP).minor
        if pct:
            reasons.append(f"{pct.normalize():f}% of the fee retained with {notice} days' notice")
        deposit = plan.deposit
        if not pol.deposit_refundable and deposit is not None and deposit.amount.minor > retention:
            retention = deposit.amount.minor
            reasons.append("the deposit is non-refundable")
        if no_show and pol.no_show_fee is not None:
            if pol.no_show_fee.currency != cur:
                raise InvalidPlanError(f"expected the no-show fee in {cur.code}, got {pol.no_show_fee}")
            retention += pol.no_show_fee.minor
            reasons.append(f"no-show fee {pol.no_show_fee}")
        if not reasons:
            reasons.append(f"cancelled with {notice} days' notice: nothing retained")
    credit = pol.credit_instead_of_refund if (as_credit is None and pol is not None) else bool(as_credit)
    return _settle(
        plan,
        ledger,
        on,
        retention=retention,
        reason="; ".join(reasons),
        as_credit=credit,
        collect_shortfall=pol is not None and pol.collect_shortfall,
        no_show=no_show,
        reschedule=False,
    )


def settle_reschedule(
    plan: PaymentPlan, ledger: Ledger, on: dt.date, *, policy: CancellationPolicy | None = None
) -> Settlement:
    """Close *plan* for a move to a new session: keep the reschedule fee, carry the rest as credit.

    Record ``settlement.entries`` on this plan's ledger, then
    ``settlement.carry_over(...)`` on the new plan's. Nothing is clawed
    back: incentive credits are carried over with the rest.

    Raises:
        LedgerError: the plan was already cancelled.
        RuleViolationError: *on* is before the booking.

    .. versionadded:: 0.1.0
    """
    _check_ledger(plan, ledger, on, "on")
    pol = policy if policy is not None else plan.terms.cancellation
    fee = pol.reschedule_fee if pol is not None else None
    retention = 0 if fee is None else fee.minor
    reason = f"rescheduled: reschedule fee {fee}" if fee is not None else "rescheduled: no reschedule fee"
    s = _settle(
        plan,
        ledger,
        on,
        retention=retention,
        reason=reason,
        as_credit=True,
        collect_shortfall=pol is not None and pol.collect_shortfall,
        no_show=False,
        reschedule=True,
    )
    return s


# -- paid dates, standing and escalation -------------------------------------------------------------


def _timeline(ledger: Ledger) -> list[tuple[dt.date, int]]:
    """Dated changes in the money that counts toward installments (incentive credits left out)."""
    out: list[tuple[dt.date, int]] = []
    for e in ledger.canonical():
        t = type(e)
        if t is PaymentReceived or t is WriteOff:
            out.append((e.on, e.amount.minor))  # type: ignore[union-attr]
        elif t is CreditApplied:
            if not (e.source or "").startswith(_INCENTIVE):  # type: ignore[union-attr]
                out.append((e.on, e.amount.minor))  # type: ignore[union-attr]
        elif t is Refund:
            out.append((e.on, -e.amount.minor))  # type: ignore[union-attr]
    return out


def installment_paid_dates(plan: PaymentPlan, ledger: Ledger) -> tuple[dt.date | None, ...]:
    """The day each installment became fully paid (oldest due first), or None.

    Replays the ledger's payments, refunds, credits and write-offs in
    ``(on, id)`` order; incentive credits are left out, so an incentive
    never changes when an earlier installment counts as paid.

    .. versionadded:: 0.1.0
    """
    targets = []
    running = 0
    for inst in plan.installments:
        running += inst.amount.minor
        targets.append(running)
    dates: list[dt.date | None] = [None] * len(targets)
    funds = 0
    k = 0
    for day, delta in _timeline(ledger):
        funds += delta
        while k < len(targets) and funds >= targets[k]:
            dates[k] = day
            k += 1
        while k > 0 and funds < targets[k - 1]:
            k -= 1
            dates[k] = None
    return tuple(dates)


@frozen
class ClientStanding:
    """A client's payment record across their plans, as of a date.

    Attributes:
        client: The client id.
        plans: How many plans were counted.
        installments_due: Installments due by the date.
        late_installments: Installments paid after their due date (plus the
            grace days), or still unpaid past it.
        on_time_installments: Installments paid by their due date.
        failed_payments: Failed payment attempts.
        average_days_late: Mean days late over the late installments.
        flagged: Whether the escalation policy flags the client as
            consistently late.
        pay_in_full_required: Whether new bookings must be paid in full.

    .. versionadded:: 0.1.0
    """

    client: str
    plans: int
    installments_due: int
    late_installments: int
    on_time_installments: int
    failed_payments: int
    average_days_late: Decimal
    flagged: bool = False
    pay_in_full_required: bool = False

    @property
    def loyalty_points(self) -> int:
        """Loyalty points: one per installment paid on time (what ``Incentive.loyalty`` counts)."""
        return self.on_time_installments


def client_standing(
    client: str,
    history: Iterable[tuple[PaymentPlan, Ledger]],
    as_of: dt.date,
    *,
    policy: EscalationPolicy | None = None,
) -> ClientStanding:
    """The standing of *client* from their plans and ledgers, as of *as_of*.

    Plans of other clients in *history* are skipped. An installment is late
    when it was paid more than the policy's grace days after it was due, or
    is still unpaid that long after; the days late are counted to the day it
    was paid (or to *as_of*).

    .. versionadded:: 0.1.0
    """
    pol = policy if policy is not None else EscalationPolicy()
    grace = pol.grace_days
    plans = due = late = on_time = failed = days_total = 0
    for plan, ledger in history:
        if plan.client != client:
            continue
        plans += 1
        view = ledger.as_of(as_of)
        failed += view.failed_attempts
        paid_dates = installment_paid_dates(plan, view)
        wo = view.installment_write_offs()
        for inst, paid_on in zip(plan.installments, paid_dates, strict=True):
            if inst.due > as_of or inst.number in wo:
                continue
            due += 1
            end = paid_on if paid_on is not None else as_of
            days = (end - inst.due).days
            if days > grace:
                late += 1
                days_total += days
            elif paid_on is not None:
                on_time += 1
    average = (Decimal(days_total) / late).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if late else Decimal(0)
    flagged = (
        (pol.flag_after_late is not None and late >= pol.flag_after_late)
        or (pol.flag_after_failed is not None and failed >= pol.flag_after_failed)
        or (pol.flag_average_days_late is not None and late > 0 and average >= pol.flag_average_days_late)
    )
    return ClientStanding(
        client, plans, due, late, on_time, failed, average, flagged, pol.require_pay_in_full(late)
    )


def flag_late_clients(
    history: Iterable[tuple[PaymentPlan, Ledger]],
    as_of: dt.date,
    *,
    policy: EscalationPolicy | None = None,
) -> tuple[ClientStanding, ...]:
    """The standing of every client the policy flags as consistently late, worst first.

    Plans without a client id are skipped. Sorted by late installments,
    then average days late (both descending), then client id.

    .. versionadded:: 0.1.0
    """
    by_client: dict[str, list[tuple[PaymentPlan, Ledger]]] = defaultdict(list)
    for plan, ledger in history:
        if plan.client is not None:
            by_client[plan.client].append((plan, ledger))
    standings = [client_standing(c, items, as_of, policy=policy) for c, items in by_client.items()]
    flagged = [s for s in standings if s.flagged]
    flagged.sort(key=lambda s: (-s.late_installments, -s.average_days_late, s.client))
    return tuple(flagged)


def escalated_terms(terms: Terms, standing: ClientStanding, policy: EscalationPolicy) -> Terms:
    """*terms* for a new booking by a client with *standing*.

    A flagged client's late fees are multiplied by the policy's
    ``fee_factor``. Whether the booking must be paid in full is
    ``standing.pay_in_full_required`` (check a plan with
    ``policy.check_new_booking``).

    .. versionadded:: 0.1.0
    """
    if standing.flagged and terms.late_fees is not None and policy.fee_factor != 1:
        return evolve(terms, late_fees=terms.late_fees.scaled(policy.fee_factor))
    return terms


# -- incentives ------------------------------------------------------------------------------------------


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

    Nothing is earned once the plan is cancelled.

    Raises:
        InvalidPlanError: an incentive amount in another currency.

    .. versionadded:: 0.1.0
    """
    _check_ledger(plan, ledger, as_of, "as_of")
    view = ledger.as_of(as_of)
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
                if paid_on is None or paid_on > inst.due - dt.timedelta(days=inc.days_early):
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


