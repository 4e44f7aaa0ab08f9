"""Property tests for the money and date invariants of collections."""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

from attrs import evolve
from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    Incentive,
    InstallmentState,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    Money,
    PaymentPlan,
    PaymentReceived,
    ReminderKind,
    ReminderPolicy,
    WriteOff,
    assess_late_fees,
    earned_incentives,
    fees_due,
    plan_status,
    reminders_due,
    settle_cancellation,
)
from strategies import plans


@st.composite
def histories(draw: st.DrawFn) -> tuple[PaymentPlan, Ledger]:
    """A plan with a late-fee ladder and a cancellation policy, and random payments on it."""
    plan = draw(plans(max_installments=6, allow_apr=False))
    cur = plan.fee.currency
    flat = draw(st.integers(1, max(1, plan.total.minor // 10)))
    ladder = LateFeePolicy(
        (LateFeeStep(1, amount=Money(flat, cur)), LateFeeStep(draw(st.integers(2, 40)), percent=draw(st.integers(1, 25)))),
        grace_days=draw(st.integers(0, 10)),
        cap=Money(draw(st.integers(1, 3 * flat + 1)), cur) if draw(st.booleans()) else None,
        cap_percent=draw(st.integers(1, 20)) if draw(st.booleans()) else None,
        fee_on_fee=draw(st.booleans()),
    )
    cancellation = CancellationPolicy(
        (CancellationWindow(draw(st.integers(0, 60)), draw(st.integers(0, 100))),),
        deposit_refundable=draw(st.booleans()),
        no_show_fee=Money(draw(st.integers(0, flat)), cur),
        credit_instead_of_refund=draw(st.booleans()),
        collect_shortfall=draw(st.booleans()),
    )
    incentives = (Incentive.referral(Money(draw(st.integers(1, flat)), cur), clawback=draw(st.booleans())),)
    plan = evolve(plan, terms=evolve(plan.terms, late_fees=ladder, cancellation=cancellation, incentives=incentives))
    ledger = Ledger.empty(plan)
    for k in range(draw(st.integers(0, 8))):
        day = plan.booked + dt.timedelta(days=draw(st.integers(0, 500)))
        amount = Money(draw(st.integers(1, plan.total.minor)), cur)
        ledger = ledger.record(PaymentReceived(f"p{k}", day, amount))
    if ledger.balance.minor > 0 and draw(st.booleans()):
        day = plan.booked + dt.timedelta(days=draw(st.integers(0, 500)))
        forgiven = Money(draw(st.integers(1, ledger.balance.minor)), cur)
        ledger = ledger.record(WriteOff("w", day, forgiven, "hardship"))
    return plan, ledger


offsets = st.integers(0, 600)


class TestLateFeeProperties:
    @settings(max_examples=100)
    @given(histories(), offsets)
    def test_every_night_equals_once(self, history: tuple[PaymentPlan, Ledger], offset: int) -> None:
        """Assessing every few days up to a date gives the same fees as assessing once on it."""
        plan, ledger = history
        end = plan.booked + dt.timedelta(days=offset)
        once = ledger.record_all(assess_late_fees(plan, ledger, end))
        stepped = ledger
        day = plan.booked
        while day <= end:
            stepped = stepped.record_all(assess_late_fees(plan, stepped, day))
            day += dt.timedelta(days=5)
        stepped = stepped.record_all(assess_late_fees(plan, stepped, end))
        assert stepped == once
        assert assess_late_fees(plan, once, end) == ()

    @settings(max_examples=150)
    @given(histories(), offsets)
    def test_fees_respect_cap_ladder_and_grace(self, history: tuple[PaymentPlan, Ledger], offset: int) -> None:
        """Fees are positive, one per installment and step, never inside the grace period, never above the cap."""
        plan, ledger = history
        policy = plan.terms.late_fees
        assert policy is not None
        end = plan.booked + dt.timedelta(days=offset)
        fees = assess_late_fees(plan, ledger, end)
        assert len({(f.installment, f.step) for f in fees}) == len(fees)
        for f in fees:
            inst = plan.installment(f.installment)
            assert f.amount.minor > 0
            assert inst.due + dt.timedelta(days=policy.grace_days) < f.on <= end
            # Written out from the policy's words, not its helper: a step applies once it is
            # both its own days overdue and past the grace period.
            step = policy.steps[f.step - 1]
            assert f.on == inst.due + dt.timedelta(days=max(step.days, policy.grace_days + 1))
        caps = [policy.cap.minor] if policy.cap is not None else []
        if policy.cap_percent is not None:
            exact = Fraction(plan.fee.minor) * Fraction(policy.cap_percent) / 100
            caps.append(math.floor(exact + Fraction(1, 2)))  # half up, from the exact value
        if caps:
            assert sum(f.amount.minor for f in fees) + ledger.fees.minor <= max(min(caps), ledger.fees.minor)


class TestSettlementProperties:
    @settings(max_examples=150)
    @given(histories(), offsets, st.booleans(), st.booleans())
    def test_settlement_conserves_money(
        self, history: tuple[PaymentPlan, Ledger], offset: int, no_show: bool, with_fees: bool
    ) -> None:
        """Refund never exceeds cash paid; retained, refund, credit and fees account for every unit the client put in.

        Write-offs forgave debt the cancellation ends: they are not returned
        to the client as a refund or a credit.
        """
        plan, ledger = history
        on = plan.booked + dt.timedelta(days=offset)
        if with_fees:
            ledger = ledger.record_all(assess_late_fees(plan, ledger, on))
        ledger = ledger.record_all(a.entry for a in earned_incentives(plan, ledger, on) if a.entry is not None)
        s = settle_cancellation(plan, ledger, on, no_show=no_show)
        # The policy reads the plan as of the cancellation's date; cash that came in after
        # it (net of refunds since) is paid back or credited too (#21).
        then = ledger.as_of(on)
        late = ledger.net_paid.minor - then.net_paid.minor
        later_other = ledger.funds.minor - then.funds.minor - late  # credits and write-offs after the date
        fees_after = (ledger.fees.minor - ledger.waived.minor) - (then.fees.minor - then.waived.minor)
        assert 0 <= s.refund.minor <= ledger.net_paid.minor
        assert min(s.retained.minor, s.credit.minor, s.shortfall.minor, s.clawback.minor) >= 0
        assert s.received_after is not None
        assert 0 <= s.received_after.minor <= max(late, 0)
        fees = then.fees.minor - then.waived.minor
        put_in = then.funds.minor - then.written_off.minor
        assert (
            s.refund.minor + s.credit.minor + s.retained.minor + fees
            == put_in + late + s.shortfall.minor
        )
        assert s.refund.minor + s.credit.minor <= max(put_in + late, 0)
        after = ledger.record_all(s.entries)
        # What providers pay back lands later, from their answers: until then it is still owed back.
        instructed = sum(i.amount.minor for i in s.refunds)
        assert after.balance.minor == s.shortfall.minor - instructed - later_other + fees_after
        if late == 0 and not s.refunds:
            assert after.as_of(on).balance == s.shortfall
        assert after.net_paid.minor >= 0


class TestReminderProperties:
    @settings(max_examples=150)
    @given(histories(), offsets)
    def test_reminders_only_for_what_is_owed(self, history: tuple[PaymentPlan, Ledger], offset: int) -> None:
        """Reminders have unique ids, state what is owed, and match their offset from the due date."""
        plan, ledger = history
        day = plan.booked + dt.timedelta(days=offset)
        sent = reminders_due(plan, ledger, day)
        statement = plan_status(plan, ledger, day)
        assert len({r.id for r in sent}) == len(sent)
        owed = {f.id: f for f in fees_due(plan, ledger, day)}
        for r in sent:
            if r.fee_id is not None:
                # An amount owed that is not an installment: what is still owed of it, from the day it was.
                assert r.owed == owed[r.fee_id].outstanding
                assert r.offset == (day - owed[r.fee_id].on).days >= 0
                assert r.offset in plan.terms.reminders.offsets
                continue
            s = statement.installment(r.installment)
            assert r.owed == s.outstanding
            assert r.owed.minor > 0
            assert s.status not in (InstallmentState.PAID, InstallmentState.WAIVED)
            assert r.offset == (day - r.due).days
            assert r.offset in plan.terms.reminders.offsets
            assert (r.kind is ReminderKind.BEFORE_DUE) == (r.offset < 0)
            if r.late_fee_from is not None:
                assert r.late_fee_from > day

    @settings(max_examples=150, deadline=None)
    @given(histories(), offsets)
    def test_announced_fee_is_the_fee_charged(self, history: tuple[PaymentPlan, Ledger], offset: int) -> None:
        """The late fee a reminder announces is exactly what is charged on that day if nothing more is paid."""
        plan, ledger = history
        day = plan.booked + dt.timedelta(days=offset)
        view = ledger.as_of(day)
        view = view.record_all(assess_late_fees(plan, view, day))
        for r in reminders_due(plan, view, day):
            if r.late_fee is None:
                continue
            assert r.late_fee_from is not None
            charged = [
                f for f in assess_late_fees(plan, view, r.late_fee_from)
                if f.installment == r.installment and f.on == r.late_fee_from
            ]
            assert sum(f.amount.minor for f in charged) == r.late_fee.minor
            assert r.late_fee.format() in r.message


class TestStatusDates:
    @settings(max_examples=150)
    @given(histories(), offsets)
    def test_days_overdue(self, history: tuple[PaymentPlan, Ledger], offset: int) -> None:
        """An installment is overdue by exactly the days since its due date, and only after it."""
        plan, ledger = history
        day = plan.booked + dt.timedelta(days=offset)
        for s in plan_status(plan, ledger, day).installments:
            if s.status is InstallmentState.OVERDUE:
                assert s.days_overdue == (day - s.installment.due).days > 0
            else:
                assert s.days_overdue == 0
            if s.status in (InstallmentState.UPCOMING, InstallmentState.PARTIAL):
                assert s.installment.due > day


@st.composite
def policy_terms(draw: st.DrawFn, currency: object) -> dict[str, object]:
    """Random late-fee, reminder, cancellation and incentive policies in *currency*."""
    cur = currency
    money = st.integers(0, 10**6).map(lambda m: Money(m, cur))  # type: ignore[arg-type]
    percents = st.decimals(0, 100, places=2, allow_nan=False, allow_infinity=False)
    days = sorted(draw(st.sets(st.integers(0, 90), min_size=1, max_size=4)))
    steps = [
        LateFeeStep(d, amount=draw(money)) if draw(st.booleans()) else LateFeeStep(d, percent=draw(percents))
        for d in days
    ]
    late = LateFeePolicy(
        steps,
        grace_days=draw(st.integers(0, 30)),
        cap=draw(st.none() | money),
        cap_percent=draw(st.none() | percents),
        fee_on_fee=draw(st.booleans()),
    )
    offsets = sorted(draw(st.sets(st.integers(-30, 60), max_size=6)))
    templates = draw(st.dictionaries(st.sampled_from(["before_due", "due_today", "overdue", "final_notice"]), st.text(max_size=20)))
    windows = [CancellationWindow(d, draw(percents)) for d in draw(st.sets(st.integers(0, 120), max_size=3))]
    cancel = CancellationPolicy(
        windows,
        deposit_refundable=draw(st.booleans()),
        no_show_fee=draw(st.none() | money),
        reschedule_fee=draw(st.none() | money),
        credit_instead_of_refund=draw(st.booleans()),
        collect_shortfall=draw(st.booleans()),
    )
    day = st.dates(dt.date(2024, 1, 1), dt.date(2032, 12, 31))
    incentives = draw(
        st.lists(
            st.one_of(
                st.builds(lambda p, b: Incentive.pay_in_full(percent=p, by=b), percents, st.none() | day),
                st.builds(lambda n, m: Incentive.early_payment(n, amount=m), st.integers(0, 60), money),
                st.builds(lambda m, b: Incentive.add_on("Album", m, by=b), money, day),
                st.builds(lambda n, p: Incentive.loyalty(n, percent=p), st.integers(0, 50), percents),
                st.builds(lambda m, c: Incentive.referral(m, referrer="Ann", clawback=c), money, st.booleans()),
                st.builds(lambda b, m: Incentive.booked_by(b, amount=m), day, money),
            ),
            max_size=4,
        )
    )
    return {
        "late_fees": draw(st.none() | st.just(late)),
        "reminders": ReminderPolicy(offsets, draw(st.booleans()), templates),
        "cancellation": draw(st.none() | st.just(cancel)),
        "incentives": tuple(incentives),
    }


class TestPolicySerialization:
    @settings(max_examples=150)
    @given(plans(max_installments=4), st.data())
    def test_policies_round_trip(self, plan: PaymentPlan, data: st.DataObject) -> None:
        """A plan with any collection policies loads back equal from its JSON."""
        from payplan import dumps_plan, loads_plan

        terms = data.draw(policy_terms(plan.fee.currency))
        plan = evolve(plan, terms=evolve(plan.terms, **terms))
        assert loads_plan(dumps_plan(plan)) == plan
