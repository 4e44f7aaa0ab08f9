"""Cancellations, reschedules and refunds, settled whole (#26 item 1: mutants `make mutation` found alive).

Each test compares a whole :class:`Settlement` (every amount, the reason in
words, the entries, the refund instructions and their idempotency keys) or a
refusal word for word, so a change to any part of it fails. The values are
worked out by hand in the docstrings; each test was checked to fail on the
mutants of ``payplan._cancellation`` and ``payplan._refunds`` it names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from attrs import evolve

from payplan import (
    CancellationPolicy,
    CancellationSettled,
    CancellationWindow,
    CreditApplied,
    FeeWaived,
    Incentive,
    InvalidPlanError,
    LateFeeAssessed,
    Ledger,
    LedgerError,
    Money,
    PaymentPlan,
    PaymentReceived,
    Refund,
    RefundInstruction,
    Settlement,
    earned_incentives,
    refund_instructions,
    refund_key,
    settle_cancellation,
    settle_reschedule,
)
from payplan._refunds import fit_key
from payplan.guardrails import Sale

D = dt.date
BOOKED = D(2027, 3, 1)
ON = D(2027, 3, 10)  # 83 days before the session, inside the 14-day withdrawal period (until 03-15)
FIFTY_WITHIN_90 = CancellationPolicy((CancellationWindow(90, 50),), deposit_refundable=False)


def gbp(text: str) -> Money:
    return Money.of(text, "GBP")


def plan(policy: CancellationPolicy | None = FIFTY_WITHIN_90) -> PaymentPlan:
    """£1000 for a session on 2027-06-01: £300 on booking (03-01), £700 on 04-01."""
    p = PaymentPlan.custom("w", [(BOOKED, gbp("300")), (D(2027, 4, 1), gbp("700"))], booked=BOOKED, session=D(2027, 6, 1))
    return evolve(p, terms=evolve(p.terms, cancellation=policy))


def paid(p: PaymentPlan) -> Ledger:
    """£300 taken by a provider (charge ch_1) on 03-01, £100 in cash on 03-02."""
    return Ledger.empty(p).record_all(
        [PaymentReceived("dep", BOOKED, gbp("300"), reference="ch_1"), PaymentReceived("cash", D(2027, 3, 2), gbp("100"))]
    )


def settled(
    p: PaymentPlan, retained: str, refund: str, credit: str, reason: str, *, shortfall: str = "0", no_show: bool = False,
    reschedule: bool = False, refunds: tuple[RefundInstruction, ...] = (), by_hand: str | None = None,
    on: dt.date = ON,
) -> Settlement:
    entries: list[object] = [
        CancellationSettled(f"{p.id}:cancellation", on, gbp(retained), gbp(refund), gbp(credit), reason, no_show)
    ]
    if by_hand is not None:
        entries.append(Refund.reversal(f"{p.id}:cancellation:refund", on, gbp(by_hand), f"cancellation refund: {reason}"))
    return Settlement(
        p.id, on, (p.session - on).days, gbp(retained), gbp("0"), gbp(refund), gbp(credit), gbp(shortfall), reason,
        tuple(entries), no_show, reschedule, refunds, gbp("0"),  # type: ignore[arg-type]
    )


def through_ch_1(amount: str, reason: str) -> tuple[RefundInstruction, ...]:
    minor = gbp(amount).minor
    key = f"payplan:w:cancellation:ch_1:{minor}GBP:r1"
    return (RefundInstruction("w", "dep", "ch_1", gbp(amount), key, f"cancellation refund: {reason}"),)


class TestCancellation:
    def test_the_window_keeps_half_and_the_cash_is_paid_back_by_hand(self) -> None:
        """Half of £1000 is £500, more than the £400 paid: all £400 kept, no refund, nothing collected."""
        p = plan()
        why = "50% of the fee retained with 83 days' notice"
        assert settle_cancellation(p, paid(p), ON) == settled(p, "400", "0", "0", why)

    def test_a_deposit_larger_than_the_window_share_is_kept_and_both_reasons_are_given(self) -> None:
        """10% of £1000 is £100, less than the £300 non-refundable deposit: £300 kept, £100 back.

        The £100 comes off the newest payment first among those a provider took (ch_1's £300).
        """
        p = plan(CancellationPolicy((CancellationWindow(90, 10),), deposit_refundable=False))
        why = "10% of the fee retained with 83 days' notice; the deposit is non-refundable"
        assert settle_cancellation(p, paid(p), ON) == settled(p, "300", "100", "0", why, refunds=through_ch_1("100", why))

    def test_a_deposit_equal_to_the_window_share_adds_no_reason(self) -> None:
        """30% of £1000 is £300, exactly the deposit: the window's share is the rule that applied."""
        p = plan(CancellationPolicy((CancellationWindow(90, 30),), deposit_refundable=False))
        why = "30% of the fee retained with 83 days' notice"
        assert settle_cancellation(p, paid(p), ON) == settled(p, "300", "100", "0", why, refunds=through_ch_1("100", why))

    def test_nothing_retained_says_so(self) -> None:
        """A refundable deposit and no window this far out: all £400 back (£300 through ch_1, £100 by hand)."""
        p = plan(CancellationPolicy((CancellationWindow(30, 50),), deposit_refundable=True))
        why = "cancelled with 83 days' notice: nothing retained"
        assert settle_cancellation(p, paid(p), ON) == settled(
            p, "0", "400", "0", why, refunds=through_ch_1("300", why), by_hand="100"
        )

    def test_without_a_policy_only_fees_are_kept(self) -> None:
        p = plan(None)
        why = "no cancellation policy: nothing is retained but fees"
        assert settle_cancellation(p, paid(p), ON) == settled(
            p, "0", "400", "0", why, refunds=through_ch_1("300", why), by_hand="100"
        )

    def test_a_policy_passed_in_overrides_the_plans_and_its_credit_choice_applies(self) -> None:
        """The passed policy keeps nothing and gives credit instead of a refund: £400 of credit."""
        p = plan()
        policy = CancellationPolicy(deposit_refundable=True, credit_instead_of_refund=True)
        why = "cancelled with 83 days' notice: nothing retained"
        assert settle_cancellation(p, paid(p), ON, policy=policy) == settled(p, "0", "0", "400", why)

    def test_a_no_show_has_no_notice(self) -> None:
        """A no-show on 03-10 counts as 0 days' notice: the 0-day window (100%) applies, not the 1-day one (60%)."""
        policy = CancellationPolicy((CancellationWindow(0, 100), CancellationWindow(1, 60)), deposit_refundable=True)
        p = plan(policy)
        why = "100% of the fee retained with 0 days' notice"
        assert settle_cancellation(p, paid(p), ON, no_show=True) == settled(p, "400", "0", "0", why, no_show=True)

    def test_a_cancellation_after_the_session_has_no_notice(self) -> None:
        """Cancelled a day after the session: 0 days' notice, never negative and never 1."""
        policy = CancellationPolicy((CancellationWindow(0, 100), CancellationWindow(1, 60)), deposit_refundable=True)
        p = plan(policy)
        after = D(2027, 6, 2)
        s = settle_cancellation(p, paid(p), after)
        assert (s.reason, s.retained, s.notice_days) == ("100% of the fee retained with 0 days' notice", gbp("400"), -1)

    def test_a_no_show_fee_in_another_currency_is_refused_naming_both(self) -> None:
        p = plan(CancellationPolicy(no_show_fee=Money.of("50", "EUR")))
        with pytest.raises(InvalidPlanError, match=r"^expected the no-show fee in GBP, got 50\.00 EUR$"):
            settle_cancellation(p, paid(p), ON, no_show=True)

    def test_a_day_that_is_not_a_date_is_refused_naming_the_argument(self) -> None:
        p = plan()
        for settle in (settle_cancellation, settle_reschedule):
            with pytest.raises(InvalidPlanError, match=r"^expected on as a datetime\.date, got str '2027-03-10'$"):
                settle(p, paid(p), "2027-03-10")  # type: ignore[arg-type]


class TestWithdrawal:
    def test_inside_the_period_everything_paid_goes_back(self) -> None:
        p = plan()
        why = "cancelled on 2027-03-10, within the 14-day cancellation period (UK-3, until 2027-03-15): everything paid is refunded"
        assert settle_cancellation(p, paid(p), ON, sale=Sale("GB")) == settled(
            p, "0", "400", "0", why, refunds=through_ch_1("300", why), by_hand="100"
        )

    def test_inside_the_period_as_credit(self) -> None:
        p = plan()
        why = "cancelled on 2027-03-10, within the 14-day cancellation period (UK-3, until 2027-03-15): everything paid is refunded"
        assert settle_cancellation(p, paid(p), ON, sale=Sale("GB"), as_credit=True) == settled(p, "0", "0", "400", why)

    def test_nothing_provided_is_taken_as_given(self) -> None:
        """Started at the client's request with nothing provided yet (zero is allowed): everything goes back."""
        p = plan()
        why = (
            "cancelled on 2027-03-10, within the 14-day cancellation period (UK-3, until 2027-03-15); "
            "the service began at the client's express request: 0.00 GBP kept for what was provided"
        )
        s = settle_cancellation(p, paid(p), ON, sale=Sale("GB"), started_on_request=True, provided=gbp("0"))
        assert s == settled(p, "0", "400", "0", why, refunds=through_ch_1("300", why), by_hand="100")

    def test_the_whole_fee_provided_is_kept_and_the_policy_collects_the_shortfall(self) -> None:
        """All £1000 provided (the fee itself is allowed), £400 paid: the collecting policy keeps £1000, £600 short."""
        collecting = CancellationPolicy((CancellationWindow(90, 50),), collect_shortfall=True)
        p = plan(collecting)
        why = (
            "cancelled on 2027-03-10, within the 14-day cancellation period (UK-3, until 2027-03-15); "
            "the service began at the client's express request: 1000.00 GBP kept for what was provided"
        )
        s = settle_cancellation(p, paid(p), ON, sale=Sale("GB"), started_on_request=True, provided=gbp("1000"))
        assert s == settled(p, "1000", "0", "0", why, shortfall="600")
        not_collecting = plan()
        s = settle_cancellation(
            not_collecting, paid(not_collecting), ON, sale=Sale("GB"), started_on_request=True, provided=gbp("1000")
        )
        assert (s.retained, s.shortfall) == (gbp("400"), gbp("0"))

    @pytest.mark.parametrize("provided", [gbp("1000.01"), gbp("-0.01"), Money.of("1", "EUR")])
    def test_provided_outside_zero_to_the_fee_is_refused(self, provided: Money) -> None:
        p = plan()
        message = f"expected provided as Money from 0 to the fee 1000.00 GBP, got {provided!r}"
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            settle_cancellation(p, paid(p), ON, sale=Sale("GB"), started_on_request=True, provided=provided)


class TestReschedule:
    def test_the_fee_is_kept_and_the_rest_carried(self) -> None:
        p = plan(CancellationPolicy(reschedule_fee=gbp("25")))
        s = settle_reschedule(p, paid(p), ON)
        assert s == settled(p, "25", "0", "375", "rescheduled: reschedule fee 25.00 GBP", reschedule=True)
        assert s.carry_over("new:credit", D(2027, 3, 11)).amount == gbp("375")

    def test_without_a_fee_everything_is_carried(self) -> None:
        p = plan(None)
        s = settle_reschedule(p, paid(p), ON)
        assert s == settled(p, "0", "0", "400", "rescheduled: no reschedule fee", reschedule=True)

    def test_a_policy_passed_in_overrides_the_plans(self) -> None:
        p = plan(CancellationPolicy(reschedule_fee=gbp("25")))
        s = settle_reschedule(p, paid(p), ON, policy=CancellationPolicy(reschedule_fee=gbp("10")))
        assert s == settled(p, "10", "0", "390", "rescheduled: reschedule fee 10.00 GBP", reschedule=True)

    def test_a_fee_above_what_was_paid_is_collected_only_by_a_collecting_policy(self) -> None:
        """A £500 fee against £400 paid: a collecting policy keeps £500 (£100 short); another keeps the £400."""
        collecting = plan(CancellationPolicy(reschedule_fee=gbp("500"), collect_shortfall=True))
        s = settle_reschedule(collecting, paid(collecting), ON)
        assert s == settled(collecting, "500", "0", "0", "rescheduled: reschedule fee 500.00 GBP", shortfall="100", reschedule=True)
        other = plan(CancellationPolicy(reschedule_fee=gbp("500")))
        s = settle_reschedule(other, paid(other), ON)
        assert s == settled(other, "400", "0", "0", "rescheduled: reschedule fee 500.00 GBP", reschedule=True)

    def test_one_penny_of_credit_carries_over_and_none_is_refused(self) -> None:
        p = plan(CancellationPolicy(reschedule_fee=gbp("399.99")))
        assert settle_reschedule(p, paid(p), ON).carry_over("n", ON).amount == gbp("0.01")
        nothing = plan(CancellationPolicy(reschedule_fee=gbp("400")))
        with pytest.raises(LedgerError, match=r"^expected a settlement with credit to carry over, got 0\.00 GBP$"):
            settle_reschedule(nothing, paid(nothing), ON).carry_over("n", ON)


class TestSettleArithmetic:
    def test_a_waived_fee_is_neither_owed_nor_kept(self) -> None:
        """£20 fee charged and £20 waived: nothing of it is owed, so the £400 paid all goes back."""
        p = plan(None)
        fee = LateFeeAssessed("w:fee", D(2027, 3, 5), gbp("20"), installment=1, step=1)
        led = paid(p).record(fee).record(FeeWaived("w:fee:waived", D(2027, 3, 6), gbp("20"), "goodwill", "w:fee"))
        s = settle_cancellation(p, led, ON)
        assert (s.retained, s.refund, s.shortfall) == (gbp("0"), gbp("400"), gbp("0"))

    def test_money_owed_to_the_penny_leaves_no_refund_and_a_penny_more_leaves_a_penny(self) -> None:
        """Retained exactly what was paid: surplus 0, no refund entry; a penny less retained: a penny back."""
        exact = plan(CancellationPolicy((CancellationWindow(90, 40),), deposit_refundable=True))
        s = settle_cancellation(exact, paid(exact), ON)
        assert (s.refund, s.credit, s.refunds, len(s.entries)) == (gbp("0"), gbp("0"), (), 1)
        penny = plan(CancellationPolicy((CancellationWindow(90, Money.of("39.999", "KWD").amount),), deposit_refundable=True))
        s = settle_cancellation(penny, paid(penny), ON)
        assert (s.retained, s.refund) == (gbp("399.99"), gbp("0.01"))
        assert [i.amount for i in s.refunds] == [gbp("0.01")]

    def test_money_received_after_the_notice_goes_back_and_the_reason_says_so(self) -> None:
        """£700 taken on 04-01 (ch_2) after a cancellation dated 03-10: it is refunded, on top of the policy's share."""
        p = plan(CancellationPolicy((CancellationWindow(90, 10),), deposit_refundable=False))
        led = paid(p).record(PaymentReceived("second", D(2027, 4, 1), gbp("700"), reference="ch_2"))
        s = settle_cancellation(p, led, ON)
        why = "10% of the fee retained with 83 days' notice; the deposit is non-refundable; 700.00 GBP received after 2027-03-10 is refunded"
        assert s.reason == why
        assert (s.retained, s.refund, s.received_after) == (gbp("300"), gbp("800"), gbp("700"))
        assert [(i.payment_id, i.amount) for i in s.refunds] == [("second", gbp("700")), ("dep", gbp("100"))]

    def test_a_penny_received_after_the_notice(self) -> None:
        """One penny (a provider's test charge, say) taken after the notice is still refunded and named."""
        p = plan(CancellationPolicy((CancellationWindow(90, 10),), deposit_refundable=False))
        led = paid(p).record(PaymentReceived("penny", D(2027, 4, 1), gbp("0.01"), reference="ch_p"))
        s = settle_cancellation(p, led, ON)
        assert s.reason.endswith("; 0.01 GBP received after 2027-03-10 is refunded")
        assert (s.refund, s.received_after) == (gbp("100.01"), gbp("0.01"))


class TestRefundKeys:
    def test_a_key_of_exactly_64_characters_is_kept_and_65_are_digested(self) -> None:
        assert fit_key("k" * 64) == "k" * 64
        long = "k" * 65
        assert fit_key(long) == "payplan:" + hashlib.sha256(long.encode()).hexdigest()[:48]
        assert len(fit_key(long)) == 56

    def test_the_key_names_plan_purpose_charge_amount_and_sequence(self) -> None:
        assert refund_key("p1", "ch_1", gbp("12.34")) == "payplan:p1:refund:ch_1:1234GBP:r1"
        assert refund_key("p1", "ch_1", gbp("0.01"), sequence=2, purpose="cancellation") == (
            "payplan:p1:cancellation:ch_1:1GBP:r2"
        )

    @pytest.mark.parametrize(
        ("amount", "sequence", "message"),
        [
            (gbp("1"), 0, "expected a refund sequence as an int of at least 1, got 0"),
            (gbp("1"), True, "expected a refund sequence as an int of at least 1, got True"),
            (gbp("0"), 1, "expected a positive Money amount to refund, got Money('0.00', 'GBP')"),
            ("1.00", 1, "expected a positive Money amount to refund, got '1.00'"),
        ],
    )
    def test_refused_keys(self, amount: Money, sequence: int, message: str) -> None:
        with pytest.raises(LedgerError, match=f"^{re.escape(message)}$"):
            refund_key("p1", "ch_1", amount, sequence=sequence)


class TestRefundInstructions:
    def test_each_instruction_whole(self) -> None:
        """£350 back from ch_1's £300 (a provider's) and then the £100 cash: £300 and £50, keys by charge or id."""
        p = plan()
        got = refund_instructions("w", paid(p), gbp("350"))
        assert got == (
            RefundInstruction("w", "dep", "ch_1", gbp("300"), "payplan:w:refund:ch_1:30000GBP:r1", ""),
            RefundInstruction("w", "cash", None, gbp("50"), "payplan:w:refund:cash:5000GBP:r1", ""),
        )
        assert got[0].entry(ON) == Refund("w:refund:payplan:w:refund:ch_1:30000GBP:r1", ON, gbp("300"), "", "ch_1", lowers_price=False)
        why = refund_instructions("w", paid(p), gbp("1"), purpose="goodwill", reason="sorry")[0]
        assert (why.reason, why.idempotency_key) == ("sorry", "payplan:w:goodwill:ch_1:100GBP:r1")
        assert why.entry(ON) == Refund("w:refund:payplan:w:goodwill:ch_1:100GBP:r1", ON, gbp("1"), "sorry", "ch_1", lowers_price=False)

    def test_one_penny_left_of_a_payment_is_refunded_from_it(self) -> None:
        """ch_1's £300 was refunded but a penny: a £0.02 refund takes that penny, then a penny of the cash."""
        p = plan()
        led = paid(p).record(Refund.reversal("r1", D(2027, 3, 3), gbp("299.99"), reference="ch_1"))
        assert [(i.payment_id, i.amount) for i in refund_instructions("w", led, gbp("0.02"))] == [
            ("dep", gbp("0.01")), ("cash", gbp("0.01"))
        ]

    def test_a_refund_in_another_currency_is_refused_naming_it(self) -> None:
        p = plan()
        with pytest.raises(LedgerError, match=re.escape("expected a refund of zero or more in GBP, got Money('1.00', 'EUR')")):
            refund_instructions("w", paid(p), Money.of("1", "EUR"))


class TestSettleEdges:
    """What is retained, refunded and credited when the amounts meet at zero or a penny (_cancellation)."""

    def test_only_the_incentives_with_clawback_are_taken_back(self) -> None:
        """A £50 referral credit kept by the client (no clawback), then a £20 one taken back: £20 retained.

        The £400 cash goes back; the £50 credit that stays is credit, never cash.
        """
        p = plan(CancellationPolicy(deposit_refundable=True))
        incentives = (Incentive.referral(gbp("50"), clawback=False), Incentive.referral(gbp("20")))
        p = evolve(p, terms=evolve(p.terms, incentives=incentives))
        led = paid(p)
        led = led.record_all(a.entry for a in earned_incentives(p, led, D(2027, 3, 2)) if a.entry)
        s = settle_cancellation(p, led, ON)
        assert (s.retained, s.clawback, s.refund, s.credit, s.shortfall) == (
            gbp("20"), gbp("20"), gbp("400"), gbp("50"), gbp("0")
        )
        assert [(i.payment_id, i.amount) for i in s.refunds] == [("dep", gbp("300"))]

    def test_nothing_paid_keeps_nothing_and_owes_nothing_unless_the_policy_collects(self) -> None:
        """Half of £1000 retained by the window, nothing paid: a policy that does not collect keeps £0.00."""
        p = plan()
        s = settle_cancellation(p, Ledger.empty(p), ON)
        assert (s.retained, s.refund, s.credit, s.shortfall, s.received_after) == (
            gbp("0"), gbp("0"), gbp("0"), gbp("0"), gbp("0")
        )
        assert s.entries == (
            CancellationSettled("w:cancellation", ON, gbp("0"), gbp("0"), gbp("0"), "50% of the fee retained with 83 days' notice"),
        )

    def test_money_received_after_the_notice_goes_back_as_cash_up_to_the_cash_held(self) -> None:
        """£400 paid, £50 refunded on 03-05, a £20 goodwill credit, £10 taken on 04-01 after the notice.

        Nothing is retained: the £360 cash held goes back (£10 of it received after the notice), the £20
        credit stays credit.
        """
        p = plan(None)
        led = paid(p).record_all(
            [
                Refund.reversal("back", D(2027, 3, 5), gbp("50"), "goodwill"),
                CreditApplied("gift", D(2027, 3, 5), gbp("20"), "goodwill"),
                PaymentReceived("late", D(2027, 4, 1), gbp("10"), reference="ch_9"),
            ]
        )
        s = settle_cancellation(p, led, ON)
        assert (s.retained, s.refund, s.credit, s.received_after) == (gbp("0"), gbp("360"), gbp("20"), gbp("10"))
        assert s.reason == "no cancellation policy: nothing is retained but fees; 10.00 GBP received after 2027-03-10 is refunded"

    def test_a_penny_received_after_the_notice_is_cash_to_refund(self) -> None:
        """£400 paid, a £20 credit, a penny taken after the notice: £400.01 of cash goes back, the £20 credit stays."""
        p = plan(None)
        led = paid(p).record_all(
            [
                CreditApplied("gift", D(2027, 3, 5), gbp("20"), "goodwill"),
                PaymentReceived("penny", D(2027, 4, 1), gbp("0.01"), reference="ch_p"),
            ]
        )
        s = settle_cancellation(p, led, ON)
        assert (s.refund, s.credit, s.received_after) == (gbp("400.01"), gbp("20"), gbp("0.01"))

    def test_money_received_after_the_notice_that_the_policy_keeps_is_not_said_to_go_back(self) -> None:
        """A collecting policy keeps all £1000; £400 paid and £10 after the notice leave £590 owed and nothing to return."""
        p = plan(CancellationPolicy((CancellationWindow(90, 100),), collect_shortfall=True))
        led = paid(p).record(PaymentReceived("late", D(2027, 4, 1), gbp("10"), reference="ch_9"))
        s = settle_cancellation(p, led, ON)
        assert (s.retained, s.refund, s.credit, s.shortfall, s.received_after) == (
            gbp("1000"), gbp("0"), gbp("0"), gbp("590"), gbp("0")
        )
        assert s.reason == "100% of the fee retained with 83 days' notice"

    def test_a_refund_after_the_notice_then_money_received_still_settles(self) -> None:
        """£400 paid by hand on 03-02; after the notice of 03-10, £300 handed back on 03-12 and £300.01 taken on 03-14.

        Nothing is retained: the £400.01 held goes back, £0.01 through ch_9 and £400 by hand. Dated 03-10
        the £400 would be more than the £100 held on 03-12 (the ledger refused it, so the cancellation
        could not be recorded); it is dated 03-14, after the last cash movement.
        """
        p = plan(None)
        led = Ledger.empty(p).record_all(
            [
                PaymentReceived("cash", D(2027, 3, 2), gbp("400")),
                Refund.reversal("back", D(2027, 3, 12), gbp("300"), "goodwill"),
                PaymentReceived("again", D(2027, 3, 14), gbp("300.01"), reference="ch_9"),
            ]
        )
        s = settle_cancellation(p, led, ON)
        why = "no cancellation policy: nothing is retained but fees; 0.01 GBP received after 2027-03-10 is refunded"
        assert (s.refund, s.credit, s.received_after, s.reason) == (gbp("400.01"), gbp("0"), gbp("0.01"), why)
        assert [(i.payment_id, i.amount) for i in s.refunds] == [("again", gbp("0.01"))]
        assert s.entries[1] == Refund.reversal("w:cancellation:refund", D(2027, 3, 14), gbp("400"), f"cancellation refund: {why}")
        assert led.record_all(s.entries).net_paid == gbp("0.01")

    def test_a_refund_by_hand_is_dated_the_cancellation_day_when_the_cash_was_held_then(self) -> None:
        """£400 by hand on 03-02, a £20 fee on 03-12 (no cash): the £400 refund by hand is dated 03-10."""
        p = plan(None)
        led = Ledger.empty(p).record_all(
            [
                PaymentReceived("cash", D(2027, 3, 2), gbp("400")),
                LateFeeAssessed("w:fee", D(2027, 3, 12), gbp("20"), installment=2, step=1),
            ]
        )
        s = settle_cancellation(p, led, ON)
        assert [(type(e).__name__, e.on, e.amount) for e in s.entries] == [
            ("CancellationSettled", ON, gbp("0")),
            ("Refund", ON, gbp("400")),
        ]
