"""Client standing: when installments were paid, who pays late, and escalated terms.

Pure functions of plans, ledgers and a date: no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from attrs import evolve, frozen

from ._ledger import CreditApplied, Ledger, PaymentReceived, Refund, WriteOff
from ._plan import PaymentPlan
from ._policies import EscalationPolicy
from ._terms import Terms

__all__ = ["ClientStanding", "client_standing", "escalated_terms", "flag_late_clients", "installment_paid_dates"]

# The source prefix of incentive credits (see _incentives), which never count toward installments.
_INCENTIVE = "incentive:"


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
        elif t is Refund and not e.lowers_price:  # type: ignore[union-attr]
            # A price reduction gives the cash back and lowers the price alike: no change.
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
