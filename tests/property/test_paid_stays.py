"""No amendment moves money already paid from the line it paid to another line (issue 11, item 7)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from payplan import InvalidPlanError, Money, PaymentPlan, RuleViolationError, amend
from property.test_amendments import KINDS, amendments
from strategies import plans


def paid_by_line(plan: PaymentPlan, paid: int) -> dict[str, int]:
    """What *paid* settles of each line (by line id), oldest first, as the ledger allocates it."""
    out: dict[str, int] = {}
    for inst in plan.installments:
        part = min(paid, inst.amount.minor)
        if part:
            out[inst.line_id] = part
        paid -= part
    return out


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=60, deadline=None)
@given(plans(max_installments=6), st.data())
def test_what_each_line_was_paid_stays_on_that_line(kind: str, plan: PaymentPlan, data: st.DataObject) -> None:
    """Before and after an amendment of every kind, the money paid sits on the same lines, in the same amounts.

    Each kind is its own test, so each is applied (not only tried): an
    amendment the rules refuse is discarded with ``assume`` (Hypothesis
    raises ``Unsatisfiable`` if none of a kind applies), and the generator
    aims line-level amendments at lines no money reached, so most apply.
    Measured on 400 draws per kind: refused 7% (tier, waive) to 31%
    (resplit); 55% for extend, 77-78% for hardship and skip (a line already
    partly paid, the last line, a catch-up inside the reduced period): those
    three are the weakest. A refusal must be a payplan rule error, nothing else.
    """
    # Often a line partly paid: the whole of the first j lines and part of the next.
    j = data.draw(st.integers(0, len(plan.installments) - 1))
    paid = sum(i.amount.minor for i in plan.installments[:j])
    paid += data.draw(st.integers(0, plan.installments[j].amount.minor - 1))
    on = plan.booked + dt.timedelta(days=data.draw(st.integers(0, max(0, (plan.installments[j].due - plan.booked).days))))
    amendment = data.draw(amendments(plan, on, kind, paid=paid))
    try:
        new, _ = amend(plan, amendment, by="staff", reason="property", on=on, consent=True,
                       paid=Money(paid, plan.fee.currency))
    except (RuleViolationError, InvalidPlanError):
        event(f"refused {type(amendment).__name__}")
        assume(False)
        raise  # pragma: no cover - assume(False) never returns
    event(f"applied {type(amendment).__name__}")
    assert paid_by_line(new, paid) == paid_by_line(plan, paid)
