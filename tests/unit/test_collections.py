"""Worked examples for collections: late fees, reminders, cancellation, standing, incentives.

Every example runs on Pack A: $500 due on 2026-12-01 (deposit), 2027-01-01,
2027-02-01 and 2027-03-01, session 2027-04-15. Amounts are checked to the cent.
"""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    CreditApplied,
    DepositRule,
    EscalationPolicy,
    Incentive,
    InstallmentState,
    LateFeeAssessed,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    LedgerError,
    Money,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    PlanStatus,
    ReminderKind,
    ReminderPolicy,
    RuleViolationError,
    Terms,
    WriteOff,
    assess_late_fees,
    client_standing,
    earned_incentives,
    escalated_terms,
    flag_late_clients,
    installment_paid_dates,
    plan_status,
    reminders_due,
    settle_cancellation,
    settle_reschedule,
    waive_fee,
)

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def pack_a(plan_id: str = "pack-a", client: str | None = None, **terms: object) -> PaymentPlan:
    return PaymentPlan.with_deposit(
        plan_id,
        usd("2000.00"),
        terms=Terms(deposit=DepositRule.percent_or_minimum(25, usd("500.00")), installments=3, **terms),  # type: ignore[arg-type]
        booked=D(2026, 12, 1),
        session=D(2027, 4, 15),
        client=client,
    )


def pay(entry_id: str, on: dt.date, amount: str) -> PaymentReceived:
    return PaymentReceived(entry_id, on, usd(amount))


def deposit_paid(plan: PaymentPlan) -> Ledger:
    return Ledger.empty(plan).record(pay("dep", D(2026, 12, 1), "500"))


LADDER = LateFeePolicy(
    (LateFeeStep.flat(1, usd("25")), LateFeeStep.percent_of_overdue(15, "7.5")), grace_days=5
)


def amounts(entries: tuple[LateFeeAssessed, ...]) -> list[tuple[str, str, str]]:
    return [(e.id, e.on.isoformat(), e.amount.to_decimal_string()) for e in entries]


class TestLateFees:
    def test_nothing_inside_the_grace_period(self) -> None:
        """No fee is charged until the grace period is over."""
        plan = pack_a(late_fees=LADDER)
        assert assess_late_fees(plan, deposit_paid(plan), D(2027, 1, 6)) == ()

    def test_ladder_steps_by_days_overdue(self) -> None:
        """A flat $25 on day 6 (after 5 days' grace), then 7.5% of $500 = $37.50 on day 15."""
        plan = pack_a(late_fees=LADDER)
        fees = assess_late_fees(plan, deposit_paid(plan), D(2027, 1, 16))
        assert amounts(fees) == [
            ("pack-a:late-fee:2:1", "2027-01-07", "25.00"),
            ("pack-a:late-fee:2:2", "2027-01-16", "37.50"),
        ]
        assert all(f.installment == 2 for f in fees)

    def test_assessing_twice_adds_nothing(self) -> None:
        """Assessing as of the same date again, after recording, adds nothing."""
        plan = pack_a(late_fees=LADDER)
        ledger = deposit_paid(plan)
        first = assess_late_fees(plan, ledger, D(2027, 1, 16))
        ledger = ledger.record_all(first)
        assert assess_late_fees(plan, ledger, D(2027, 1, 16)) == ()
        assert ledger.record_all(first) is ledger

    def test_nightly_and_weekly_runs_agree(self) -> None:
        """Assessing every night gives the same entries as assessing once at the end."""
        plan = pack_a(late_fees=LADDER)
        nightly = deposit_paid(plan)
        day = D(2027, 1, 1)
        while day <= D(2027, 2, 20):
            nightly = nightly.record_all(assess_late_fees(plan, nightly, day))
            day += dt.timedelta(days=1)
        once = deposit_paid(plan)
        once = once.record_all(assess_late_fees(plan, once, D(2027, 2, 20)))
        assert nightly == once
        assert nightly.fees == usd("125.00")

    def test_reason_states_the_rule_for_each_policy(self) -> None:
        """Each fee's reason states its step as its own policy words it, also after ``evolve``."""
        plan = pack_a(late_fees=LADDER)
        fees = assess_late_fees(plan, deposit_paid(plan), D(2027, 1, 16))
        assert [f.reason for f in fees] == [
            "late fee: 25.00 USD once 6 days overdue (installment 2, due 2027-01-01)",
            "late fee: 7.5% of the overdue amount once 15 days overdue (installment 2, due 2027-01-01)",
        ]
        later = attrs.evolve(LADDER, grace_days=9)
        fees = assess_late_fees(plan, deposit_paid(plan), D(2027, 1, 16), policy=later)
        assert fees[0].reason == "late fee: 25.00 USD once 10 days overdue (installment 2, due 2027-01-01)"

    def test_percent_of_what_is_still_unpaid(self) -> None:
        """A partial payment lowers the base of a percent step: 7.5% of $300 = $22.50."""
        plan = pack_a(late_fees=LADDER)
        ledger = deposit_paid(plan).record(pay("p2", D(2027, 1, 10), "200"))
        assert amounts(assess_late_fees(plan, ledger, D(2027, 1, 16)))[1][2] == "22.50"

    def test_fee_on_fee(self) -> None:
        """With fee-on-fee, 7.5% of ($300 + the $25 fee) = $24.375, rounded half up to $24.38."""
        plan = pack_a(late_fees=attrs.evolve(LADDER, fee_on_fee=True))
        ledger = deposit_paid(plan).record(pay("p2", D(2027, 1, 10), "200"))
        assert amounts(assess_late_fees(plan, ledger, D(2027, 1, 16)))[1][2] == "24.38"

    def test_absolute_cap(self) -> None:
        """A $40 cap: $25, then $15 of the $37.50, then nothing more."""
        plan = pack_a(late_fees=attrs.evolve(LADDER, cap=usd("40")))
        fees = assess_late_fees(plan, deposit_paid(plan), D(2027, 2, 20))
        assert [f.amount.to_decimal_string() for f in fees] == ["25.00", "15.00"]
        assert "capped" in fees[1].reason

    def test_percent_cap_and_lower_of_two(self) -> None:
        """A 3% cap is $60 of the $2000 fee; with a $40 cap too, the lower holds."""
        plan = pack_a(late_fees=attrs.evolve(LADDER, cap_percent="3"))
        assert sum(f.amount.minor for f in assess_late_fees(plan, deposit_paid(plan), D(2027, 2, 20))) == 6000
        both = pack_a(late_fees=attrs.evolve(LADDER, cap_percent="3", cap=usd("40")))
        assert sum(f.amount.minor for f in assess_late_fees(both, deposit_paid(both), D(2027, 2, 20))) == 4000

    def test_cap_counts_fees_already_recorded(self) -> None:
        """The cap counts fees recorded on earlier runs."""
        plan = pack_a(late_fees=attrs.evolve(LADDER, cap=usd("40")))
        ledger = deposit_paid(plan)
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 1, 7)))
        later = assess_late_fees(plan, ledger, D(2027, 2, 20))
        assert [f.amount.to_decimal_string() for f in later] == ["15.00"]

    def test_waiver_with_reason_is_not_charged_again(self) -> None:
        """A waived fee stays waived: reassessing does not charge it again."""
        plan = pack_a(late_fees=LADDER)
        ledger = deposit_paid(plan)
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 1, 7)))
        waiver = waive_fee(ledger, "pack-a:late-fee:2:1", D(2027, 1, 8), "first time, goodwill")
        assert waiver.id == "pack-a:late-fee:2:1:waived"
        assert waiver.amount == usd("25")
        assert waiver.reason == "first time, goodwill"
        ledger = ledger.record(waiver)
        assert assess_late_fees(plan, ledger, D(2027, 1, 7)) == ()
        assert ledger.balance == usd("1500")

    def test_waiver_needs_a_reason_and_a_fee(self) -> None:
        """A waiver without a reason, or of an unknown fee, is refused."""
        plan = pack_a(late_fees=LADDER)
        ledger = deposit_paid(plan)
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 1, 7)))
        with pytest.raises(LedgerError, match="reason"):
            waive_fee(ledger, "pack-a:late-fee:2:1", D(2027, 1, 8), " ")
        with pytest.raises(LedgerError, match="id of a late fee"):
            waive_fee(ledger, "dep", D(2027, 1, 8), "why")

    def test_paid_installments_and_plans_without_policy_are_not_charged(self) -> None:
        """A paid installment is never charged; a plan without a late-fee policy never is."""
        plan = pack_a(late_fees=LADDER)
        ledger = deposit_paid(plan).record(pay("p2", D(2027, 1, 1), "500"))
        assert assess_late_fees(plan, ledger, D(2027, 1, 20)) == ()
        plain = pack_a()
        assert assess_late_fees(plain, deposit_paid(plain), D(2027, 3, 1)) == ()

    def test_nothing_after_cancellation(self) -> None:
        """No late fee is charged once the plan is cancelled."""
        plan = pack_a(late_fees=LADDER)
        ledger = deposit_paid(plan)
        ledger = ledger.record_all(settle_cancellation(plan, ledger, D(2026, 12, 20)).entries)
        assert assess_late_fees(plan, ledger, D(2027, 3, 1)) == ()

    def test_single_step_policy(self) -> None:
        """LateFeePolicy.single charges once, the day after the grace period."""
        policy = LateFeePolicy.single(usd("25"), grace_days=3)
        assert policy.steps == (LateFeeStep(4, amount=usd("25")),)
        assert LateFeePolicy.single("5%").steps == (LateFeeStep(1, percent="5"),)

    def test_describe(self) -> None:
        """The policy reads as plain English for the agreement."""
        text = attrs.evolve(LADDER, cap=usd("40")).describe()
        assert text == (
            "No late fee during a grace period of 5 days after a due date. "
            "Late fees per installment: 25.00 USD once 6 days overdue; "
            "7.5% of the overdue amount once 15 days overdue. "
            "Late fees never exceed 40.00 USD in total. No late fee is charged on a late fee. "
            "Late fees are collected once the last installment is paid."
        )


class TestReminders:
    def plan(self) -> PaymentPlan:
        return pack_a(late_fees=LateFeePolicy.single(usd("25"), grace_days=5))

    def test_default_cadence(self) -> None:
        """Reminders go out 7 and 1 days before, on the day, and 1, 7 and 14 days after."""
        plan = self.plan()
        ledger = deposit_paid(plan)
        due = D(2027, 1, 1)
        kinds = {}
        for offset in range(-10, 20):
            sent = reminders_due(plan, ledger, due + dt.timedelta(days=offset))
            if sent:
                kinds[offset] = [(r.installment, r.kind) for r in sent]
        assert kinds == {
            -7: [(2, ReminderKind.BEFORE_DUE)],
            -1: [(2, ReminderKind.BEFORE_DUE)],
            0: [(2, ReminderKind.DUE_TODAY)],
            1: [(2, ReminderKind.OVERDUE)],
            7: [(2, ReminderKind.OVERDUE)],
            14: [(2, ReminderKind.FINAL_NOTICE)],
        }

    def test_message_states_amount_and_fee(self) -> None:
        """An overdue reminder says what is owed and which fee applies from when."""
        plan = self.plan()
        (r,) = reminders_due(plan, deposit_paid(plan), D(2027, 1, 2))
        assert r.id == "pack-a:reminder:2:1:50000"
        assert r.owed == usd("500")
        assert (r.late_fee, r.late_fee_from) == (usd("25"), D(2027, 1, 7))
        assert r.message == (
            "Installment 2 was due on 2027-01-01 and is 1 day overdue: $500.00 is owed. "
            "A late fee of $25.00 applies from 2027-01-07 if it is still unpaid."
        )

    def test_partial_payment_reanchors(self) -> None:
        """After a partial payment the reminder states what is still owed, under a new id."""
        plan = self.plan()
        ledger = deposit_paid(plan).record(pay("p2", D(2027, 1, 3), "200"))
        (r,) = reminders_due(plan, ledger, D(2027, 1, 8))
        assert r.owed == usd("300")
        assert r.id == "pack-a:reminder:2:7:30000"
        assert "$300.00 is owed" in r.message
        assert r.late_fee is None  # the fee of 2027-01-07 is past

    def test_final_notice_states_fees_charged(self) -> None:
        """The final notice says which late fees were charged on the installment."""
        plan = self.plan()
        ledger = deposit_paid(plan)
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 1, 15)))
        (r,) = reminders_due(plan, ledger, D(2027, 1, 15))
        assert r.kind is ReminderKind.FINAL_NOTICE
        assert r.message == (
            "Final notice: installment 2 was due on 2027-01-01 and is 14 days overdue: $500.00 is owed. "
            "Late fees of $25.00 have been assessed on it."
        )

    def test_nothing_for_paid_waived_or_cancelled(self) -> None:
        """Nothing is sent for paid or waived installments, before the booking, or after cancellation."""
        plan = self.plan()
        paid = deposit_paid(plan).record(pay("p2", D(2026, 12, 20), "500"))
        assert reminders_due(plan, paid, D(2026, 12, 31)) == ()
        waived = deposit_paid(plan).record(WriteOff("w", D(2026, 12, 20), usd("500"), "hardship", 2))
        assert reminders_due(plan, waived, D(2027, 1, 2)) == ()
        cancelled = deposit_paid(plan)
        cancelled = cancelled.record_all(settle_cancellation(plan, cancelled, D(2026, 12, 20)).entries)
        assert reminders_due(plan, cancelled, D(2027, 1, 2)) == ()
        assert reminders_due(plan, Ledger.empty(plan), D(2026, 11, 24)) == ()

    def test_replaceable_template(self) -> None:
        """A site replaces a template; placeholders are filled in."""
        plan = self.plan()
        (r,) = reminders_due(
            plan, deposit_paid(plan), D(2027, 1, 8), templates={"overdue": "Hi $client: $amount since $due"},
            client="Ann",
        )
        assert r.message == "Hi Ann: $500.00 since 2027-01-01"

    def test_policy_on_terms(self) -> None:
        """The plan's reminder policy sets the cadence and its templates."""
        policy = ReminderPolicy((-3, 2), templates={"before_due": "Soon: $amount"})
        plan = pack_a(reminders=policy)
        (r,) = reminders_due(plan, deposit_paid(plan), D(2026, 12, 29))
        assert r.message == "Soon: $500.00"
        assert r.kind is ReminderKind.BEFORE_DUE
        (last,) = reminders_due(plan, deposit_paid(plan), D(2027, 1, 3))
        assert last.kind is ReminderKind.FINAL_NOTICE

    def test_describe(self) -> None:
        """The default cadence reads as plain English."""
        assert ReminderPolicy().describe() == (
            "Reminders are sent 7 days before, 1 day before, on the day, 1 day after, 7 days after, "
            "14 days after each due date; the one 14 days after is a final notice."
        )


POLICY = CancellationPolicy(
    (CancellationWindow(30, 50), CancellationWindow(7, 100)),
    no_show_fee=usd("100"),
    reschedule_fee=usd("75"),
)


def paid_1500(plan: PaymentPlan) -> Ledger:
    return Ledger.empty(plan).record_all(
        [pay("p1", D(2026, 12, 1), "500"), pay("p2", D(2027, 1, 1), "500"), pay("p3", D(2027, 2, 1), "500")]
    )


class TestCancellation:
    def settle(self, on: dt.date, **kw: object) -> tuple[PaymentPlan, Ledger, object]:
        plan = pack_a(cancellation=POLICY)
        ledger = paid_1500(plan)
        return plan, ledger, settle_cancellation(plan, ledger, on, **kw)  # type: ignore[arg-type]

    def test_early_cancellation_keeps_the_deposit(self) -> None:
        """73 days before the session: only the non-refundable $500 deposit is kept."""
        plan, ledger, s = self.settle(D(2027, 2, 1))
        assert (s.notice_days, s.retained, s.refund, s.credit) == (73, usd("500"), usd("1000"), usd("0"))  # type: ignore[attr-defined]
        after = ledger.record_all(s.entries)  # type: ignore[attr-defined]
        assert after.balance == usd("0")
        assert plan_status(plan, after, D(2027, 2, 1)).status is PlanStatus.CANCELLED

    def test_inside_30_days_half_is_kept(self) -> None:
        """26 days before: 50% of $2000 = $1000 retained, $500 refunded."""
        _, _, s = self.settle(D(2027, 3, 20))
        assert (s.retained, s.refund) == (usd("1000"), usd("500"))  # type: ignore[attr-defined]
        assert [e.id for e in s.entries] == ["pack-a:cancellation", "pack-a:cancellation:refund"]  # type: ignore[attr-defined]

    def test_inside_7_days_everything_paid_is_kept(self) -> None:
        """5 days before: 100% retained, capped at the $1500 paid unless shortfalls are collected."""
        _, _, s = self.settle(D(2027, 4, 10))
        assert (s.retained, s.refund, s.shortfall) == (usd("1500"), usd("0"), usd("0"))  # type: ignore[attr-defined]
        plan = pack_a(cancellation=attrs.evolve(POLICY, collect_shortfall=True))
        ledger = paid_1500(plan)
        s2 = settle_cancellation(plan, ledger, D(2027, 4, 10))
        assert (s2.retained, s2.shortfall) == (usd("2000"), usd("500"))
        assert ledger.record_all(s2.entries).balance == usd("500")

    def test_no_show(self) -> None:
        """A no-show retains the full fee plus the $100 no-show fee, collected when asked."""
        plan = pack_a(cancellation=attrs.evolve(POLICY, collect_shortfall=True))
        ledger = paid_1500(plan).record(pay("p4", D(2027, 3, 1), "500"))
        s = settle_cancellation(plan, ledger, D(2027, 4, 15), no_show=True)
        assert (s.retained, s.refund, s.shortfall, s.no_show) == (usd("2100"), usd("0"), usd("100"), True)
        assert "no-show fee 100.00 USD" in s.reason

    def test_credit_instead_of_refund(self) -> None:
        """With as_credit, what would be refunded becomes credit toward a new session."""
        _, ledger, s = self.settle(D(2027, 3, 20), as_credit=True)
        assert (s.refund, s.credit) == (usd("0"), usd("500"))  # type: ignore[attr-defined]
        assert ledger.record_all(s.entries).balance == usd("0")  # type: ignore[attr-defined]
        carried = s.carry_over("new-plan:carry", D(2027, 3, 21))  # type: ignore[attr-defined]
        assert carried == CreditApplied(
            "new-plan:carry", D(2027, 3, 21), usd("500"), "credit carried over from plan pack-a", "carry_over"
        )

    def test_reschedule(self) -> None:
        """A reschedule keeps the $75 fee and carries $1425 to the new date."""
        plan = pack_a(cancellation=POLICY)
        ledger = paid_1500(plan)
        s = settle_reschedule(plan, ledger, D(2027, 3, 1))
        assert (s.retained, s.refund, s.credit, s.reschedule) == (usd("75"), usd("0"), usd("1425"), True)
        assert ledger.record_all(s.entries).balance == usd("0")

    def test_reschedule_carries_incentive_credits(self) -> None:
        """A reschedule claws nothing back: the referral credit moves to the new date too."""
        plan = pack_a(cancellation=POLICY, incentives=(Incentive.referral(usd("50")),))
        ledger = paid_1500(plan)
        ledger = ledger.record_all(a.entry for a in earned_incentives(plan, ledger, D(2026, 12, 1)) if a.entry)
        s = settle_reschedule(plan, ledger, D(2027, 3, 1))
        assert (s.retained, s.clawback, s.credit) == (usd("75"), usd("0"), usd("1475"))
        assert ledger.record_all(s.entries).balance == usd("0")

    def test_refund_never_exceeds_cash_paid(self) -> None:
        """A credit that is not clawed back is kept as credit, never refunded as cash."""
        plan = pack_a(
            cancellation=CancellationPolicy(deposit_refundable=True),
            incentives=(Incentive.referral(usd("50"), clawback=False),),
        )
        ledger = Ledger.empty(plan).record(pay("p1", D(2026, 12, 1), "500"))
        ledger = ledger.record_all(a.entry for a in earned_incentives(plan, ledger, D(2026, 12, 1)) if a.entry)
        s = settle_cancellation(plan, ledger, D(2026, 12, 10))
        assert (s.refund, s.credit) == (usd("500"), usd("50"))

    def test_clawback(self) -> None:
        """An incentive credit with clawback is taken back by the cancellation."""
        plan = pack_a(
            cancellation=CancellationPolicy(deposit_refundable=True),
            incentives=(Incentive.referral(usd("50")),),
        )
        ledger = Ledger.empty(plan).record(pay("p1", D(2026, 12, 1), "500"))
        ledger = ledger.record_all(a.entry for a in earned_incentives(plan, ledger, D(2026, 12, 1)) if a.entry)
        s = settle_cancellation(plan, ledger, D(2026, 12, 10))
        assert (s.retained, s.clawback, s.refund, s.credit) == (usd("50"), usd("50"), usd("500"), usd("0"))
        assert ledger.record_all(s.entries).balance == usd("0")

    def test_without_policy_everything_is_refunded(self) -> None:
        """Without a cancellation policy, everything paid comes back."""
        plan = pack_a()
        s = settle_cancellation(plan, paid_1500(plan), D(2027, 4, 14))
        assert (s.retained, s.refund) == (usd("0"), usd("1500"))

    def test_cancel_twice_is_refused(self) -> None:
        """A cancelled plan cannot be settled again."""
        plan, ledger, s = self.settle(D(2027, 3, 20))
        with pytest.raises(LedgerError, match="already cancelled"):
            settle_cancellation(plan, ledger.record_all(s.entries), D(2027, 3, 21))  # type: ignore[attr-defined]

    def test_describe(self) -> None:
        """The policy reads as plain English for the agreement."""
        assert POLICY.describe() == (
            "The deposit is non-refundable. "
            "50% of the fee is retained for cancellations within 30 days of the session. "
            "100% of the fee is retained for cancellations within 7 days of the session. "
            "A no-show costs 100.00 USD on top of the full cancellation charge. "
            "Rescheduling costs 75.00 USD; the rest of what was paid carries over. "
            "What was paid beyond the retained amount is refunded."
        )


class TestStanding:
    def history(self) -> list[tuple[PaymentPlan, Ledger]]:
        late = pack_a("late-1", client="c1")
        late_ledger = Ledger.empty(late).record_all(
            [
                pay("a1", D(2026, 12, 1), "500"),
                PaymentFailed("a2-f", D(2027, 1, 1), "card_declined"),
                pay("a2", D(2027, 1, 11), "500"),
                pay("a3", D(2027, 2, 1), "500"),
                pay("a4", D(2027, 3, 5), "500"),
            ]
        )
        good = pack_a("good-1", client="c2")
        good_ledger = Ledger.empty(good).record(pay("b1", D(2026, 12, 1), "2000"))
        return [(late, late_ledger), (good, good_ledger)]

    def test_paid_dates(self) -> None:
        """Each installment is paid the day the payments reach it, oldest first."""
        plan, ledger = self.history()[0]
        assert installment_paid_dates(plan, ledger) == (
            D(2026, 12, 1), D(2027, 1, 11), D(2027, 2, 1), D(2027, 3, 5),
        )

    def test_standing(self) -> None:
        """Two late installments (10 and 4 days), one failed payment, two on time."""
        s = client_standing("c1", self.history(), D(2027, 3, 10))
        assert (s.plans, s.installments_due, s.late_installments, s.on_time_installments) == (1, 4, 2, 2)
        assert s.failed_payments == 1
        assert str(s.average_days_late) == "7.0"

    def test_flag_and_escalate(self) -> None:
        """After 2 late installments the client is flagged, fees double and new bookings are pay in full."""
        policy = EscalationPolicy(flag_after_late=2, fee_factor=2, require_full_payment_after=2)
        flagged = flag_late_clients(self.history(), D(2027, 3, 10), policy=policy)
        assert [s.client for s in flagged] == ["c1"]
        assert flagged[0].pay_in_full_required
        terms = escalated_terms(Terms(late_fees=LateFeePolicy.single(usd("25"))), flagged[0], policy)
        assert terms.late_fees is not None
        assert terms.late_fees.steps[0].amount == usd("50")
        with pytest.raises(RuleViolationError, match="pay-in-full"):
            policy.check_new_booking(flagged[0].late_installments, 4)
        policy.check_new_booking(flagged[0].late_installments, 1)

    def test_grace_days_forgive_short_delays(self) -> None:
        """With 5 grace days, only the 10-day delay counts as late."""
        s = client_standing("c1", self.history(), D(2027, 3, 10), policy=EscalationPolicy(grace_days=5))
        assert s.late_installments == 1
        assert not s.flagged


class TestIncentives:
    def test_pay_in_full_discount(self) -> None:
        """Paying $1900 at booking earns the 5% ($100) discount; the plan is then paid in full."""
        plan = pack_a(incentives=(Incentive.pay_in_full(percent=5),))
        ledger = Ledger.empty(plan).record(pay("p", D(2026, 12, 1), "1900"))
        (award,) = earned_incentives(plan, ledger, D(2026, 12, 1))
        assert award.entry == CreditApplied(
            "pack-a:incentive:1", D(2026, 12, 1), usd("100"), "pay-in-full discount of 100.00 USD",
            "incentive:pay_in_full",
        )
        ledger = ledger.record(award.entry)
        assert plan_status(plan, ledger, D(2026, 12, 1)).status is PlanStatus.PAID_IN_FULL
        late = Ledger.empty(plan).record(pay("p", D(2026, 12, 2), "1900"))
        assert earned_incentives(plan, late, D(2026, 12, 5)) == ()

    def test_early_payment_discount(self) -> None:
        """Installment 2 paid 7 days early earns 2% of $500 = $10."""
        plan = pack_a(incentives=(Incentive.early_payment(7, percent=2),))
        ledger = Ledger.empty(plan).record_all([pay("p1", D(2026, 12, 1), "500"), pay("p2", D(2026, 12, 25), "500")])
        awards = earned_incentives(plan, ledger, D(2027, 1, 1))
        assert [(a.installment, a.value, a.earned_on) for a in awards] == [(2, usd("10"), D(2026, 12, 25))]

    def test_add_on_unlocked(self) -> None:
        """Paying in full by the date unlocks the add-on, stated at its value, with no credit."""
        plan = pack_a(incentives=(Incentive.add_on("Album", usd("150"), by=D(2027, 1, 15)),))
        ledger = Ledger.empty(plan).record(pay("p", D(2027, 1, 10), "2000"))
        (award,) = earned_incentives(plan, ledger, D(2027, 1, 20))
        assert (award.value, award.entry, award.note) == (usd("150"), None, "add-on unlocked: Album worth 150.00 USD")
        slow = Ledger.empty(plan).record(pay("p", D(2027, 1, 16), "2000"))
        assert earned_incentives(plan, slow, D(2027, 1, 20)) == ()

    def test_loyalty_referral_and_booked_by(self) -> None:
        """Loyalty needs enough on-time installments; referral and booked-by credit at booking."""
        plan = pack_a(
            client="c2",
            incentives=(
                Incentive.loyalty(3, amount=usd("20")),
                Incentive.referral(usd("50"), referrer="Ann"),
                Incentive.booked_by(D(2026, 12, 31), percent="2.5"),
                Incentive.booked_by(D(2026, 11, 30), amount=usd("999")),
            ),
        )
        ledger = Ledger.empty(plan)
        previous = pack_a("old", client="c2")
        standing = client_standing(
            "c2", [(previous, Ledger.empty(previous).record(pay("o", D(2026, 12, 1), "2000")))], D(2027, 4, 1)
        )
        assert standing.on_time_installments == 4
        assert standing.loyalty_points == 4
        awards = earned_incentives(plan, ledger, D(2026, 12, 1), standing=standing)
        assert [(a.entry.id, a.value.to_decimal_string()) for a in awards if a.entry] == [
            ("pack-a:incentive:1", "20.00"),
            ("pack-a:incentive:2", "50.00"),
            ("pack-a:incentive:3", "50.00"),
        ]
        assert len(earned_incentives(plan, ledger, D(2026, 12, 1))) == 2

    def test_recording_awards_twice_counts_once(self) -> None:
        """Awards carry stable ids: recording them again changes nothing."""
        plan = pack_a(incentives=(Incentive.referral(usd("50")),))
        ledger = Ledger.empty(plan)
        first = ledger.record_all(a.entry for a in earned_incentives(plan, ledger, D(2026, 12, 2)) if a.entry)
        again = first.record_all(a.entry for a in earned_incentives(plan, first, D(2026, 12, 9)) if a.entry)
        assert again is first
        assert first.credits == usd("50")

    def test_cancelled_plan_earns_nothing(self) -> None:
        """Nothing is earned once the plan is cancelled."""
        plan = pack_a(incentives=(Incentive.referral(usd("50")),))
        ledger = Ledger.empty(plan)
        ledger = ledger.record_all(settle_cancellation(plan, ledger, D(2026, 12, 1)).entries)
        assert earned_incentives(plan, ledger, D(2026, 12, 2)) == ()

    def test_describe(self) -> None:
        """Each incentive reads as plain English."""
        assert Incentive.pay_in_full(percent=5).describe() == (
            "A discount of 5% of the fee for paying in full by the booking date; "
            "taken back if the booking is cancelled."
        )
        assert Incentive.referral(usd("50"), referrer="Ann", clawback=False).describe() == (
            "A referral credit of 50.00 USD (referred by Ann)."
        )


class TestStatusWithCollections:
    def test_fees_keep_plan_open_until_paid(self) -> None:
        """A plan whose installments are paid but whose late fee is not is not paid in full."""
        plan = pack_a(late_fees=LADDER)
        ledger = deposit_paid(plan)
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 1, 7)))
        ledger = ledger.record(pay("rest", D(2027, 1, 8), "1500"))
        st = plan_status(plan, ledger, D(2027, 1, 8))
        assert all(s.status is InstallmentState.PAID for s in st.installments)
        assert st.balance == usd("25")
        assert not st.deliverables_released
