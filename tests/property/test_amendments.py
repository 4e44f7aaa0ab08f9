"""Properties of any sequence of amendments: paid kept, sums exact, cutoff kept, history replays."""

from __future__ import annotations

import datetime as dt

from hypothesis import event, given
from hypothesis import strategies as st

from payplan import (
    AddAddOn,
    Amendment,
    ChangeTier,
    ExtendDueDate,
    HardshipReduction,
    InstallmentKind,
    InvalidPlanError,
    Money,
    MoveSession,
    PaymentPlan,
    PlanHistory,
    Resplit,
    RuleViolationError,
    SkipPayment,
    WaiveFee,
    dump_plan,
    dumps_history,
    load_plan,
    loads_history,
)
from strategies import plans


def _settled_count(plan: PaymentPlan, paid: int) -> int:
    n = 0
    for inst in plan.installments:
        if paid < inst.amount.minor:
            break
        paid -= inst.amount.minor
        n += 1
    return n


def _day(draw: st.DrawFn, lo: dt.date, hi: dt.date) -> dt.date:
    if hi <= lo:
        return lo
    return lo + dt.timedelta(days=draw(st.integers(0, (hi - lo).days)))


KINDS = ("extend", "resplit", "hardship", "skip", "move", "tier", "addon", "waive")
"""Every amendment kind :func:`amendments` draws, by name."""


@st.composite
def amendments(
    draw: st.DrawFn, plan: PaymentPlan, on: dt.date, kind: str | None = None, paid: int = 0
) -> Amendment:
    """An amendment of *kind* (any kind when None), aimed at *plan* so that many of them apply.

    With *paid* (minor units paid so far, oldest line first), a line-level
    amendment mostly targets a line no money has reached yet (and not the
    deposit, which cannot be reduced or skipped), and a new tier's fee is
    mostly at least what was paid: the rules refuse the others, and those
    are drawn too, less often.
    """
    n = len(plan.installments)
    cur = plan.fee.currency
    kind = kind or draw(st.sampled_from(KINDS))
    before = 0
    untouched = []
    for inst in plan.installments:
        if before >= paid and inst.kind is not InstallmentKind.DEPOSIT:
            untouched.append(inst.number)
        before += inst.amount.minor
    if untouched and kind in ("extend", "hardship", "skip") and draw(st.integers(0, 9)):
        number = draw(st.sampled_from(untouched))
    else:
        number = draw(st.integers(1, n))
    cutoff = plan.cutoff
    amount = Money(draw(st.integers(1, max(1, plan.total.minor // 2))), cur)
    if kind == "extend":
        if draw(st.booleans()):
            # Mostly later than the line's date and no later than the next line's (or the cutoff).
            due = plan.installments[number - 1].due
            nxt = plan.installments[number].due if number < n else cutoff
            return ExtendDueDate(number, _day(draw, due + dt.timedelta(days=1), min(nxt, cutoff)))
        return ExtendDueDate(number, _day(draw, on, cutoff))
    if kind == "resplit":
        return Resplit.over(sorted(_day(draw, on, cutoff) for _ in range(draw(st.integers(1, 6)))))
    if kind == "hardship":
        count = draw(st.integers(1, max(1, n - number + 1)))
        small = Money(max(1, plan.installments[number - 1].amount.minor // draw(st.integers(2, 5))), cur)
        catch = _day(draw, on, cutoff) if draw(st.booleans()) else None
        return HardshipReduction(number, count, small, catch)
    if kind == "skip":
        return SkipPayment(number, draw(st.sampled_from(["spread", "next"])))
    if kind == "move":
        return MoveSession(plan.session + dt.timedelta(days=draw(st.integers(-60, 90))))
    if kind == "tier":
        low = min(paid, plan.fee.minor * 2) if draw(st.integers(0, 9)) else 1
        fee = Money(draw(st.integers(max(1, low), plan.fee.minor * 2)), cur)
        return ChangeTier("Other", fee, _day(draw, on, cutoff) if draw(st.booleans()) else None)
    if kind == "addon":
        return AddAddOn("Extra", amount, _day(draw, on, cutoff) if draw(st.booleans()) else None)
    return WaiveFee(amount)


def _expected_total(plan: PaymentPlan, a: Amendment) -> int:
    charge = plan.finance_charge.minor if plan.finance_charge else 0
    if isinstance(a, ChangeTier):
        return a.fee.minor + charge
    if isinstance(a, AddAddOn):
        return plan.total.minor + a.amount.minor
    if isinstance(a, WaiveFee):
        return plan.total.minor - a.amount.minor
    return plan.total.minor


@given(plans(max_installments=8), st.data())
def test_any_sequence_of_amendments_keeps_the_invariants(plan: PaymentPlan, data: st.DataObject) -> None:
    """After each amendment: paid lines unchanged, sums exact, cutoff kept; the history replays."""
    history = PlanHistory.start(plan)
    paid = 0
    on = plan.booked
    applied = 0
    for _ in range(data.draw(st.integers(1, 5))):
        current = history.current
        paid += data.draw(st.integers(0, current.total.minor - paid))
        on = on + dt.timedelta(days=data.draw(st.integers(0, 40)))
        amendment = data.draw(amendments(current, on, paid=paid))
        paid_money = Money(paid, current.fee.currency)
        try:
            history = history.apply(
                amendment, by="staff", reason="property", on=on, consent=True, paid=paid_money
            )
        except (RuleViolationError, InvalidPlanError):
            event(f"refused {type(amendment).__name__}")
            assert history.current is current
            continue
        applied += 1
        event(f"applied {type(amendment).__name__}")
        new = history.current
        record = history.records[-1]
        # What was paid never changes: the same money, and every line it settled is unchanged.
        assert record.paid == paid_money
        settled = _settled_count(current, paid)
        kept = [(i.number, i.kind, i.amount, i.label) for i in new.installments[:settled]]
        assert kept == [(i.number, i.kind, i.amount, i.label) for i in current.installments[:settled]]
        if not isinstance(amendment, MoveSession):
            assert new.installments[:settled] == current.installments[:settled]
        else:  # a paid line after the new cutoff is re-dated to it, never later
            assert all(
                n.due == min(c.due, new.cutoff)
                for n, c in zip(new.installments[:settled], current.installments, strict=False)
            )
        assert new.total.minor >= paid
        # The schedule adds up exactly to the new total; what is owed is that less what was paid.
        assert sum(i.amount.minor for i in new.installments) == new.total.minor
        assert new.total.minor == _expected_total(current, amendment)
        # Every amount positive, numbered 1..n, in date order, and nothing after the cutoff.
        assert [i.number for i in new.installments] == list(range(1, len(new.installments) + 1))
        assert all(i.amount.minor > 0 for i in new.installments)
        dues = [i.due for i in new.installments]
        assert dues == sorted(dues)
        assert dues[-1] <= new.cutoff
        assert new.version == current.version + 1
        assert record.before == current.installments
        assert record.after == new.installments
        assert load_plan(dump_plan(new)) == new
    assert len(history.versions) == applied + 1
    assert history.replay() == history.current
    assert loads_history(dumps_history(history)) == history
