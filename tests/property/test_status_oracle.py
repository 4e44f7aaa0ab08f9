"""plan_status against an oracle written from the documented words, not from the code (#26 item 5).

For ledgers of payments only, the oracle rebuilds each installment's
standing from scratch: the money paid by the day, spread oldest line first
by prefix sums (a different computation from the allocator's loop), then each
line's state read off the definitions of :class:`~payplan.InstallmentState`
and the plan's off :class:`~payplan.PlanStatus` (with and without a default
threshold). No helper of payplan's is used to compute the expected answer.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import InstallmentState, Ledger, Money, PaymentPlan, PaymentReceived, PlanStatus, plan_status
from strategies import plans


def oracle(plan: PaymentPlan, payments: list[tuple[int, int]], as_of: dt.date, default_after: int | None):
    """(states, days overdue, plan status) from the definitions, for payments (day offset, minor units)."""
    total_paid = sum(minor for offset, minor in payments if plan.booked + dt.timedelta(days=offset) <= as_of)
    amounts = [i.amount.minor for i in plan.installments]
    states, overdue = [], []
    before = 0
    for inst, amount in zip(plan.installments, amounts, strict=True):
        paid = max(0, min(amount, total_paid - before))  # what is left after the earlier lines, up to this one
        before += amount
        if paid == amount:
            state, days = InstallmentState.PAID, 0
        elif as_of > inst.due:
            state, days = InstallmentState.OVERDUE, (as_of - inst.due).days
        elif as_of == inst.due:
            state, days = InstallmentState.DUE, 0
        elif paid:
            state, days = InstallmentState.PARTIAL, 0
        else:
            state, days = InstallmentState.UPCOMING, 0
        states.append(state)
        overdue.append(days)
    if all(s is InstallmentState.PAID for s in states):
        status = PlanStatus.PAID_IN_FULL
    elif default_after is not None and max(overdue) > default_after:
        status = PlanStatus.DEFAULTED
    elif any(s is InstallmentState.OVERDUE for s in states):
        status = PlanStatus.OVERDUE
    else:
        status = PlanStatus.ON_TRACK
    return states, overdue, status


@settings(max_examples=300, deadline=None)
@given(plans(max_installments=8, allow_apr=False), st.data())
def test_status_matches_the_definitions(plan: PaymentPlan, data: st.DataObject) -> None:
    """Each line's state and days overdue, and the plan's status, are what the definitions say."""
    span = max(1, (plan.installments[-1].due - plan.booked).days + 60)
    total = plan.total.minor
    amounts = st.one_of(st.integers(1, 3), st.integers(1, max(1, total // 2)))  # a few minor units, often
    payments = data.draw(st.lists(st.tuples(st.integers(0, span), amounts), max_size=6))
    if data.draw(st.booleans()):
        # Often exactly the first j lines and a few minor units of the next: the edges of PARTIAL and PAID.
        j = data.draw(st.integers(0, len(plan.installments) - 1))
        edge = sum(i.amount.minor for i in plan.installments[:j]) + data.draw(st.integers(0, 2))
        payments = [(data.draw(st.integers(0, span)), edge)] if edge else []
    ledger = Ledger.empty(plan)
    for n, (offset, minor) in enumerate(payments):
        ledger = ledger.record(PaymentReceived(f"p{n}", plan.booked + dt.timedelta(days=offset), Money(minor, plan.currency)))
    as_of = plan.booked + dt.timedelta(days=data.draw(st.integers(0, span)))
    default_after = data.draw(st.one_of(st.none(), st.integers(0, 90)))
    states, overdue, status = oracle(plan, payments, as_of, default_after)
    got = plan_status(plan, ledger, as_of, default_after_days=default_after)
    assert [s.status for s in got.installments] == states
    assert [s.days_overdue for s in got.installments] == overdue
    assert got.status is status
    assert got.paid_in_full == (status is PlanStatus.PAID_IN_FULL)
