"""Late fees stay on their line across any sequence of amendments and late payments (issue 11, item 4).

The test keeps its own model of which line is which, from due dates alone:
every date a line is ever due on is fresh (no two lines, past or present,
share one), and an ``ExtendDueDate`` is the only change that moves a line's
date, which the model follows. A fee cites the line whose due date is its own
date minus its step's delay. Against that model, after every nightly
assessment:

* no fee is lost: each line of the current plan that was overdue when a step
  of the ladder applied holds that step's fee;
* no fee is doubled: no line holds two fees of one step;
* no fee is cited on the wrong line: when charged, the fee's installment
  number is the line it was charged for;
* reminders cite the fees of their own line.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import attrs
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from payplan import (
    AddAddOn,
    Amendment,
    ChangeTier,
    DepositRule,
    ExtendDueDate,
    HardshipReduction,
    InvalidPlanError,
    LateFeeAssessed,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    Money,
    MoveSession,
    PaymentPlan,
    PaymentReceived,
    Resplit,
    RuleViolationError,
    SkipPayment,
    WaiveFee,
    amend,
    assess_late_fees,
    plan_status,
    reminders_due,
)

USD = "USD"
BOOKED = dt.date(2026, 12, 1)


@st.composite
def plans(draw: st.DrawFn) -> PaymentPlan:
    """A deposit and 2-6 monthly lines, with a late-fee ladder of one or two steps."""
    count = draw(st.integers(2, 6))
    steps = [LateFeeStep.flat(draw(st.integers(1, 5)), Money(draw(st.integers(100, 5_000)), USD))]
    if draw(st.booleans()):
        steps.append(LateFeeStep.percent_of_overdue(draw(st.integers(10, 30)), draw(st.integers(1, 10))))
    policy = LateFeePolicy(steps, grace_days=draw(st.integers(0, 6)))
    plan = PaymentPlan.with_deposit(
        "p", Money(draw(st.integers(100_000, 900_000)), USD), booked=BOOKED,
        session=BOOKED + dt.timedelta(days=31 * count + 200), deposit=DepositRule.percent(25),
        installments=count, dates="monthly", final_due_days_before=14,
    )
    return attrs.evolve(plan, terms=attrs.evolve(plan.terms, late_fees=policy))


def _fresh_day(draw: st.DrawFn, lo: dt.date, hi: dt.date, used: set[dt.date]) -> dt.date | None:
    free = [lo + dt.timedelta(days=k) for k in range((hi - lo).days + 1)]
    free = [d for d in free if d not in used]
    return draw(st.sampled_from(free)) if free else None


@st.composite
def amendments(draw: st.DrawFn, plan: PaymentPlan, on: dt.date, used: set[dt.date]) -> Amendment | None:
    """An amendment of any kind (aimed to renumber, add, drop or re-date lines); every new date is fresh."""
    n = len(plan.installments)
    number = draw(st.integers(1, n))
    kind = draw(st.sampled_from(["extend", "resplit", "hardship", "skip", "tier", "addon", "move", "waive"]))
    cutoff = plan.cutoff

    def day() -> dt.date | None:
        return _fresh_day(draw, on, cutoff, used)

    if kind == "skip":
        return SkipPayment(number, draw(st.sampled_from(["spread", "next"])))
    if kind == "move":  # later: no line's date changes, the cutoff moves out
        return MoveSession(plan.session + dt.timedelta(days=draw(st.integers(1, 60))))
    if kind == "waive":
        return WaiveFee(Money(draw(st.integers(1, max(1, plan.fee.minor // 3))), USD))
    if kind == "tier":
        return ChangeTier("Other", Money(draw(st.integers(plan.fee.minor // 2, plan.fee.minor * 2)), USD))
    if kind == "extend":
        to = day()
        return None if to is None else ExtendDueDate(number, to)
    if kind == "resplit":
        days: set[dt.date] = set()
        for _ in range(draw(st.integers(1, 4))):
            d = _fresh_day(draw, on, cutoff, used | days)
            if d is not None:
                days.add(d)
        return Resplit.over(sorted(days)) if days else None
    if kind == "hardship":
        small = Money(max(1, plan.installments[number - 1].amount.minor // 2), USD)
        return HardshipReduction(number, 1, small, day() if draw(st.booleans()) else None)
    due = day() if draw(st.booleans()) else None
    return AddAddOn("Extra", Money(draw(st.integers(100, 50_000)), USD), due)


def _fee(step: LateFeeStep, owed: int) -> int:
    """A step's fee on *owed* minor units, from its words: the flat amount, or the percent rounded half up."""
    if step.amount is not None:
        return step.amount.minor
    assert step.percent is not None
    return math.floor(Fraction(owed) * Fraction(step.percent) / 100 + Fraction(1, 2))


def _delays(plan: PaymentPlan) -> dict[int, dt.timedelta]:
    pol = plan.terms.late_fees
    assert pol is not None
    # From the policy's words: a step applies once it is its own days overdue and past the grace period.
    return {k: dt.timedelta(days=max(step.days, pol.grace_days + 1)) for k, step in enumerate(pol.steps, 1)}


class _Model:
    """Which line is which, from due dates: every date a line was due on maps to the line's first date."""

    def __init__(self, plan: PaymentPlan) -> None:
        self.origin = {i.due: i.due for i in plan.installments}
        self.used = set(self.origin)

    def line_of(self, due: dt.date) -> dt.date:
        return self.origin[due]

    def moved(self, old: dt.date, new: dt.date) -> None:
        self.origin[new] = self.origin[old]
        self.used.add(new)

    def added(self, plan: PaymentPlan) -> None:
        for i in plan.installments:
            self.origin.setdefault(i.due, i.due)
            self.used.add(i.due)


def _fees_by_line(plan: PaymentPlan, ledger: Ledger, model: _Model) -> dict[tuple[dt.date, int], list[str]]:
    delays = _delays(plan)
    out: dict[tuple[dt.date, int], list[str]] = {}
    for e in ledger:
        if isinstance(e, LateFeeAssessed):
            cited = e.on - delays[e.step]
            out.setdefault((model.line_of(cited), e.step), []).append(e.id)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans(), st.data())
def test_late_fees_stay_on_their_line_across_amendments(plan: PaymentPlan, data: st.DataObject) -> None:
    """No fee lost, doubled or cited on the wrong line; reminders cite their own line's fees."""
    ledger = Ledger.empty(plan)
    model = _Model(plan)
    on = BOOKED
    delays = _delays(plan)
    for step in range(data.draw(st.integers(2, 10))):
        on += dt.timedelta(days=data.draw(st.integers(1, 40)))
        action = data.draw(st.sampled_from(["pay", "amend", "amend", "wait"]))
        if action == "pay":
            owed = ledger.as_of(on).balance.minor
            if owed > 0:
                amount = Money(data.draw(st.integers(1, owed)), USD)
                ledger = ledger.record(PaymentReceived(f"pay-{step}", on, amount))
        elif action == "amend" and on <= plan.cutoff:
            amendment = data.draw(amendments(plan, on, model.used))
            if amendment is not None:
                try:
                    new, _ = amend(plan, amendment, by="staff", reason="property", on=on, consent=True, paid=ledger)
                except (RuleViolationError, InvalidPlanError):
                    event(f"refused {type(amendment).__name__}")
                else:
                    event(f"applied {type(amendment).__name__}")
                    if isinstance(amendment, ExtendDueDate):
                        model.moved(plan.installment(amendment.number).due, amendment.to)
                    plan, ledger = new, ledger.for_plan(new)
                    model.added(plan)
        new_fees = assess_late_fees(plan, ledger, on)
        for fee in new_fees:
            # Cited on the right line: the number it names is the line it was charged for.
            line = plan.installment(fee.installment)
            assert fee.on - delays[fee.step] == line.due, (fee, line)
        ledger = ledger.record_all(new_fees)
        fees = _fees_by_line(plan, ledger, model)
        # Never doubled: one fee per line and step.
        assert all(len(ids) == 1 for ids in fees.values()), fees
        # Never lost: every line overdue when a step applied holds that step's fee.
        pol = plan.terms.late_fees
        assert pol is not None
        for inst in plan.installments:
            for k, delay in delays.items():
                day = inst.due + delay
                if day > on:
                    continue
                owed = plan_status(plan, ledger, day).installments[inst.number - 1].outstanding
                if owed.minor > 0 and _fee(pol.steps[k - 1], owed.minor) > 0:
                    assert (model.line_of(inst.due), k) in fees, (inst, k, day, fees)
        # Reminders announce the fees of their own line, by the model.
        for r in reminders_due(plan, ledger, on):
            if r.fee_id is not None:
                # A fee still owed on a line paid since (or removed): it names the fee's own line, if any.
                fee = ledger.get(r.fee_id)
                assert isinstance(fee, LateFeeAssessed)
                if r.installment:
                    line = model.line_of(plan.installment(r.installment).due)
                    assert model.line_of(fee.on - delays[fee.step]) == line, r
                continue
            inst = plan.installment(r.installment)
            mine = sum(
                e.amount.minor
                for e in ledger
                if isinstance(e, LateFeeAssessed) and model.line_of(e.on - delays[e.step]) == model.line_of(inst.due)
            )
            if mine:
                assert f"Late fees of {Money(mine, USD).format('en_US')} have been assessed" in r.message, r.message
            else:
                assert "have been assessed" not in r.message, r.message
