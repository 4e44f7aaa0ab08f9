"""Cancellation, no-show and reschedule: what is retained, refunded or carried as credit.

Pure functions of ``(plan, ledger, on)``: each returns a :class:`Settlement`
whose entries (with stable ids) the caller records.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP
from typing import TYPE_CHECKING

from attrs import frozen

from ._incentives import _incentive_credit_ids
from ._ledger import CancellationSettled, CreditApplied, Ledger, LedgerEntry, Refund, _cash
from ._money import Money, _money, percent_of
from ._plan import PaymentPlan
from ._policies import CancellationPolicy
from ._refunds import RefundInstruction, refund_instructions
from ._status import _check_ledger
from .exceptions import InvalidPlanError, LedgerError, RuleViolationError

if TYPE_CHECKING:
    from .guardrails import Sale

__all__ = ["Settlement", "settle_cancellation", "settle_reschedule"]


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
        refund: Cash paid back; never more than was paid. The part paid
            back through providers is in :attr:`refunds`; the part paid by
            hand (payments recorded without a provider reference) is a
            :class:`~payplan.Refund` in :attr:`entries`.
        credit: Carried toward a new session (see :meth:`carry_over`).
        shortfall: Still owed after the settlement (zero unless the policy
            collects shortfalls or fees are unpaid).
        reason: The rule that applied, in words.
        entries: The ledger entries to record now (the settlement, and the
            refund of money paid by hand).
        no_show: Whether it was a no-show.
        reschedule: Whether it was a reschedule.
        refunds: How the rest of the refund is paid back: one
            :class:`~payplan.RefundInstruction` per provider payment, for
            :meth:`Provider.refund <payplan.providers.Provider.refund>` to
            carry out. Each lands in the ledger once, from the provider's
            answer or its refund events (see
            :func:`~payplan.providers.record_refund`), never from here.
        received_after: Money received after *on* (net of refunds since),
            already part of :attr:`refund` or :attr:`credit`: the client
            gave notice before it was taken, so it is paid back (or
            carried as credit when the client chose credit). Zero when
            nothing came in after *on*.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Money received after the cancellation's date is refunded or
       credited (it was left on the cancelled plan); *received_after*.
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
    refunds: tuple[RefundInstruction, ...] = ()
    received_after: Money | None = None

    def carry_over(self, entry_id: str, on: dt.date) -> CreditApplied:
        """The credit entry that brings :attr:`credit` to the new plan's ledger.

        Raises:
            LedgerError: there is no credit to carry over.
        """
        if self.credit.minor <= 0:
            raise LedgerError(f"expected a settlement with credit to carry over, got {self.credit}")
        return CreditApplied(entry_id, on, self.credit, f"credit carried over from plan {self.plan_id}", "carry_over")


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
    # The policy reads the plan as of the cancellation's date (its fees, what
    # was paid by then, what may be retained). Money that came in after it
    # (an installment taken between the notice and the day it was recorded)
    # was taken from a client who had cancelled: it goes back (or to credit),
    # after covering a shortfall the policy collects; no refund is dated
    # before the money it returns.
    full = ledger
    room = ledger._room(on, _cash)
    ledger = ledger.as_of(on)
    late = (full._paid - full._refunded) - (ledger._paid - ledger._refunded)
    # A reschedule carries every credit (incentives included) to the new date.
    clawback = 0 if reschedule else _clawback(plan, ledger)
    wanted = retention + clawback
    # Write-offs forgave installments the cancellation ends, and price
    # reductions lowered them: neither is the client's money, so they are
    # neither retained against, refunded nor credited.
    lowered = sum(e.amount.minor for e in ledger if type(e) is Refund and e.lowers_price)
    forgiven = ledger.written_off.minor + lowered
    funds = ledger.funds.minor - forgiven
    fees = ledger.fees.minor - ledger.waived.minor
    retained = wanted if collect_shortfall else min(wanted, max(funds - fees, 0))
    surplus = funds + late - retained - fees
    if late > 0:
        room = full._paid - full._refunded
    refund = credit = 0
    if surplus > 0:
        cash = min(surplus, room)
        if as_credit:
            credit = surplus
        else:
            refund = cash
            credit = surplus - cash
    shortfall = max(-surplus, 0)
    after = min(max(late, 0), max(surplus, 0))
    if after:
        where = "kept as credit" if as_credit else "refunded"
        reason += f"; {_money(after, cur)} received after {on.isoformat()} is {where}"
    sid = f"{plan.id}:cancellation"
    entries: list[LedgerEntry] = [
        CancellationSettled(
            sid, on, _money(retained, cur), _money(refund, cur), _money(credit, cur), reason, no_show,
            _money(forgiven, cur) if forgiven else None,
        )
    ]
    instructions: tuple[RefundInstruction, ...] = ()
    if refund:
        words = f"cancellation refund: {reason}"
        every = refund_instructions(plan.id, full, _money(refund, cur), purpose="cancellation", reason=words)
        # Money a provider took goes back through it (its refund events record it, once);
        # money paid without a provider reference is paid back by hand, recorded now,
        # dated no earlier than the last payment it returns.
        instructions = tuple(i for i in every if i.reference is not None)
        hand = [i for i in every if i.reference is None]
        by_hand = sum(i.amount.minor for i in hand)
        if by_hand:
            day = max([on, *(full.get(i.payment_id).on for i in hand)])  # type: ignore[union-attr]
            if by_hand > full._room(day, _cash):
                # Cash went out after that day (a refund since) and came back after the notice: by
                # then less was held than this pays back, so it is dated after the last cash movement.
                day = max(e.on for e in full if _cash(e))
            entries.append(Refund.reversal(f"{sid}:refund", day, _money(by_hand, cur), words))
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
        instructions,
        _money(after, cur),
    )


def settle_cancellation(
    plan: PaymentPlan,
    ledger: Ledger,
    on: dt.date,
    *,
    no_show: bool = False,
    as_credit: bool | None = None,
    policy: CancellationPolicy | None = None,
    sale: Sale | None = None,
    started_on_request: bool = False,
    provided: Money | None = None,
) -> Settlement:
    """Settle a cancellation made on *on*, by the plan's cancellation policy.

    The retained amount is the largest of the non-refundable deposit and the
    window percent of the fee for the notice given (plus the no-show fee
    for a no-show), plus any incentive credits to claw back. Without a
    policy nothing is retained but clawed-back incentives. What was paid
    beyond that is refunded in cash (never more than was paid), or kept as
    credit toward a new session with *as_credit* (default: the policy's
    ``credit_instead_of_refund``).

    With *sale* (where the plan was sold), a consumer's cancellation inside
    the 14-day withdrawal period of a booking made at a distance in the UK
    or the EEA (rules UK-3 and EU-2 of :mod:`payplan.guardrails`; none when
    the leisure-on-a-date exemption is claimed) settles as those rules say,
    whatever the policy keeps: everything paid is refunded in cash (credit
    only with *as_credit*), unless the service began inside the period at
    the client's express request (*started_on_request*), when *provided* is
    kept: what was provided until the cancellation (default: nothing before
    the session, the whole fee from the session on).

    Args:
        plan: The plan.
        ledger: Its ledger.
        on: The day of the cancellation.
        no_show: The client did not show up (never a withdrawal).
        as_credit: Keep what is returned as credit.
        policy: A policy other than the plan's own.
        sale: Where and how the plan was sold, for the withdrawal period.
        started_on_request: The client expressly asked for the service to
            begin inside the withdrawal period.
        provided: The value of what was provided until the cancellation,
            when the service began at the client's request.

    Returns:
        The :class:`Settlement`; record ``settlement.entries`` to apply it,
        and carry out ``settlement.refunds`` through the provider (each
        refund then lands in the ledger once, from the provider's answer or
        its refund events).

    .. versionchanged:: 0.2.0
       Money a provider took is refunded through :attr:`Settlement.refunds`
       instead of a :class:`~payplan.Refund` in the entries, so the
       provider's refund events no longer count it twice.

    Raises:
        LedgerError: the plan was already cancelled, or the ledger is another plan's.
        RuleViolationError: *on* is before the booking.
        InvalidPlanError: *provided* is not money from zero to the fee.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *sale*, *started_on_request* and *provided*: the withdrawal period.
    """
    _check_ledger(plan, ledger, on, "on")
    pol = policy if policy is not None else plan.terms.cancellation
    if sale is not None and not no_show:
        window = _withdrawal(plan, on, sale, started_on_request, provided)
        if window is not None:
            retention, reason = window
            return _settle(
                plan, ledger, on, retention=retention, reason=reason, as_credit=bool(as_credit),
                collect_shortfall=pol is not None and pol.collect_shortfall, no_show=False, reschedule=False,
            )
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


def _withdrawal(
    plan: PaymentPlan, on: dt.date, sale: Sale, started: bool, provided: Money | None
) -> tuple[int, str] | None:
    """What a cancellation on *on* inside the withdrawal period keeps, and why; None outside it."""
    from .guardrails import withdrawal_period

    found = withdrawal_period(plan, sale)
    if found is None:
        return None
    rule, ends = found
    if on > ends:
        return None
    where = f"cancelled on {on.isoformat()}, within the 14-day cancellation period ({rule.id}, until {ends.isoformat()})"
    if not started:
        return 0, f"{where}: everything paid is refunded"
    cur = plan.fee.currency
    if provided is None:
        kept = plan.fee if on >= plan.session else Money.zero(cur)
    elif type(provided) is not Money or provided.currency != cur or not 0 <= provided.minor <= plan.fee.minor:
        raise InvalidPlanError(f"expected provided as Money from 0 to the fee {plan.fee}, got {provided!r}")
    else:
        kept = provided
    return kept.minor, f"{where}; the service began at the client's express request: {kept} kept for what was provided"


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
