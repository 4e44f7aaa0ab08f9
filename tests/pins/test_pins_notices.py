"""Pins for the dunning notices (``_dunning.dunning_notices``) at their exact edges (#26).

Each test is written against mutants of ``dunning_notices`` (and the decline
reasons it words) that the suite let live: the whole notice the client
reads (every field and the rendered text), every placeholder of a site's
own template, the booking day, a single cent owed, the card's last day
against a due date, and several installments dunned on the same day.

Pack A (tests/unit/test_dunning.py): $500 on 2026-12-01 (the deposit),
2027-01-01, 2027-02-01 and 2027-03-01; session 2027-04-15; client Ada
Lovelace; the default ladder retries 1, 3 and 7 days after the first
failure and warns of a card expiring 14 days ahead.
"""

from __future__ import annotations

import pytest

from payplan import (
    DepositRule,
    InvalidPlanError,
    Ledger,
    LedgerError,
    Notice,
    NoticeKind,
    PaymentPlan,
    PaymentReceived,
    PlanDay,
    RetryPolicy,
    Terms,
    dunning_notices,
)
from unit.test_dunning import D, fail, pack_a, paid_deposit, usd

EVERY_PLACEHOLDER = "$plan_id|$client|$installment|$amount|$due|$reason|$reason_code|$attempts|$next_attempt"


def paid_through(plan: PaymentPlan, n: int) -> Ledger:
    """The deposit and installments 2 to *n* paid in full on their due dates."""
    ledger = paid_deposit(plan)
    for k in range(2, n + 1):
        ledger = ledger.record(PaymentReceived(f"p{k}", plan.installments[k - 1].due, usd("500")))
    return ledger


class TestTheWholeNotice:
    def test_payment_failed_after_a_partial_charge(self) -> None:
        """$100 taken on attempt 1, attempt 2 declined for insufficient funds: every field, and the text."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(PaymentReceived("pack-a:charge:2:a1", D(2027, 1, 1), usd("100")))
        ledger = ledger.record(fail(plan, 2, 2, D(2027, 1, 2), "insufficient_funds"))
        assert dunning_notices(plan, ledger, D(2027, 1, 2)) == (
            Notice(
                "pack-a:notice:payment-failed:2:1",
                "pack-a",
                NoticeKind.PAYMENT_FAILED,
                D(2027, 1, 2),
                2,
                D(2027, 1, 1),
                usd("400"),
                2,
                D(2027, 1, 3),
                "Your payment of $400.00 for installment 2 (due 2027-01-01) did not go through: your card has "
                "insufficient funds. We will try again on 2027-01-03; please make sure your payment method is up to date.",
            ),
        )

    def test_every_placeholder_of_a_sites_own_template(self) -> None:
        """A site's template gets the plan, the client (given, or the plan's), and every figure of the failure."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(PaymentReceived("pack-a:charge:2:a1", D(2027, 1, 1), usd("100")))
        ledger = ledger.record(fail(plan, 2, 2, D(2027, 1, 2), "insufficient_funds"))
        templates = {"payment_failed": EVERY_PLACEHOLDER}
        (notice,) = dunning_notices(plan, ledger, D(2027, 1, 2), templates=templates)
        assert notice.message == (
            "pack-a|Ada Lovelace|2|$400.00|2027-01-01|your card has insufficient funds|insufficient_funds|2|2027-01-03"
        )
        (notice,) = dunning_notices(plan, ledger, D(2027, 1, 2), templates=templates, client="Ms Lovelace")
        assert notice.message.startswith("pack-a|Ms Lovelace|2|")

    def test_a_plan_without_a_client_leaves_the_name_empty(self) -> None:
        """No client on the plan and none given: ``$client`` is empty, not a placeholder word."""
        plan = PaymentPlan.with_deposit(
            "pack-b",
            usd("2000.00"),
            terms=Terms(deposit=DepositRule.fixed(usd("500.00")), installments=3),
            booked=D(2026, 12, 1),
            session=D(2027, 4, 15),
        )
        ledger = Ledger.empty(plan).record(PaymentReceived("dep", D(2026, 12, 1), usd("500")))
        ledger = ledger.record(fail(plan, 2, 1, D(2027, 1, 1)))
        (notice,) = dunning_notices(
            plan, ledger, D(2027, 1, 1), templates={"payment_failed": "[$client] $plan_id"}
        )
        assert notice.message == "[] pack-b"

    def test_escalated(self) -> None:
        """Four declines end the default ladder: the escalation, every field and the text."""
        plan = pack_a()
        ledger = paid_deposit(plan)
        for k, day in enumerate((D(2027, 1, 1), D(2027, 1, 2), D(2027, 1, 4), D(2027, 1, 8)), 1):
            ledger = ledger.record(fail(plan, 2, k, day))
        assert dunning_notices(plan, ledger, D(2027, 1, 8)) == (
            Notice(
                "pack-a:notice:escalated:2",
                "pack-a",
                NoticeKind.ESCALATED,
                D(2027, 1, 8),
                2,
                D(2027, 1, 1),
                usd("500"),
                4,
                None,
                "We could not collect installment 2 of $500.00 (due 2027-01-01) after 4 attempts. "
                "No further automatic attempt will be made: please pay $500.00 or contact us.",
            ),
        )

    def test_card_expiring(self) -> None:
        """The card's warning for installment 3: every field (no attempts, no next attempt) and the text."""
        plan = pack_a()
        assert dunning_notices(plan, paid_through(plan, 2), D(2027, 1, 18), card_expires=D(2027, 1, 31)) == (
            Notice(
                "pack-a:notice:card-expiring:2027-01-31",
                "pack-a",
                NoticeKind.CARD_EXPIRING,
                D(2027, 1, 18),
                3,
                D(2027, 2, 1),
                usd("500"),
                0,
                None,
                "The card on file expires on 2027-01-31, before installment 3 of $500.00 is due on 2027-02-01. "
                "Please update your payment method before then.",
            ),
        )


class TestTheReasonInWords:
    @pytest.mark.parametrize(
        ("code", "words"),
        [
            (
                "do_not_honor",
                "do not honor",
            ),  # a code payplan has no words for: its own, underscores as spaces
            ("", "it was declined"),  # no code at all
            ("expired_card", "your card has expired"),
        ],
    )
    def test_the_reason(self, code: str, words: str) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 1), code))
        (notice,) = dunning_notices(plan, ledger, D(2027, 1, 1), templates={"payment_failed": "$reason"})
        assert notice.message == words


class TestWhatIsRead:
    def test_an_explicit_retry_policy_gives_the_next_attempt(self) -> None:
        """The plan's ladder retries the next day; RetryPolicy(days=(5,)) passed in says five days later."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 1)))
        assert [n.next_attempt for n in dunning_notices(plan, ledger, D(2027, 1, 1))] == [D(2027, 1, 2)]
        assert [
            n.next_attempt
            for n in dunning_notices(plan, ledger, D(2027, 1, 1), policy=RetryPolicy(days=(5,)))
        ] == [D(2027, 1, 6)]

    def test_the_day_handed_in_is_checked(self) -> None:
        """The plan's own day gives the same notices; a day of another date is refused."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 1)))
        given = dunning_notices(plan, ledger, D(2027, 1, 1), day=PlanDay.of(plan, ledger, D(2027, 1, 1)))
        assert given == dunning_notices(plan, ledger, D(2027, 1, 1))
        assert [n.kind for n in given] == [NoticeKind.PAYMENT_FAILED]
        with pytest.raises(LedgerError, match="got the day of plan 'pack-a' on 2027-01-02"):
            dunning_notices(plan, ledger, D(2027, 1, 1), day=PlanDay.of(plan, ledger, D(2027, 1, 2)))


class TestRefusals:
    def test_a_card_expiry_that_is_not_a_date(self) -> None:
        plan = pack_a()
        with pytest.raises(InvalidPlanError) as caught:
            dunning_notices(plan, paid_deposit(plan), D(2027, 1, 1), card_expires="2027-01-31")  # type: ignore[arg-type]
        assert str(caught.value) == "expected card_expires as a datetime.date, got str '2027-01-31'"

    def test_a_template_of_no_notice(self) -> None:
        plan = pack_a()
        with pytest.raises(InvalidPlanError) as caught:
            dunning_notices(plan, paid_deposit(plan), D(2027, 1, 1), templates={"reminder": "Pay $amount"})
        assert str(caught.value) == (
            "expected notice templates named ['card_expiring', 'escalated', 'payment_failed'] as text, "
            "got 'reminder': 'Pay $amount'"
        )


class TestTheBookingDay:
    def test_nothing_before_the_booking_day_even_for_an_expiring_card(self) -> None:
        """On 2026-11-25 the deposit (due 2026-12-01) is within the card's 14 days, but the plan is not booked yet."""
        plan = pack_a()
        assert dunning_notices(plan, Ledger.empty(plan), D(2026, 11, 25), card_expires=D(2026, 11, 30)) == ()

    def test_a_deposit_declined_on_the_booking_day_is_notified_that_day(self) -> None:
        plan = pack_a()
        ledger = Ledger.empty(plan).record(fail(plan, 1, 1, D(2026, 12, 1)))
        assert [
            (n.kind, n.installment, n.next_attempt) for n in dunning_notices(plan, ledger, D(2026, 12, 1))
        ] == [(NoticeKind.PAYMENT_FAILED, 1, D(2026, 12, 2))]


class TestWhichInstallments:
    def test_a_single_cent_owed_is_dunned(self) -> None:
        """$499.99 of installment 2 paid, the last cent declined: a notice for $0.01."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(PaymentReceived("p2", D(2027, 1, 1), usd("499.99")))
        ledger = ledger.record(fail(plan, 2, 1, D(2027, 1, 5)))
        assert [(n.installment, n.amount) for n in dunning_notices(plan, ledger, D(2027, 1, 5))] == [
            (2, usd("0.01"))
        ]

    def test_a_decline_before_the_due_date_is_not_dunned(self) -> None:
        """An early attempt at installment 3 (due 2027-02-01) declined on 2027-01-10: no notice while it is not due."""
        plan = pack_a()
        ledger = paid_through(plan, 2).record(fail(plan, 3, 1, D(2027, 1, 10)))
        assert dunning_notices(plan, ledger, D(2027, 1, 10)) == ()

    def test_an_installment_without_a_decline_does_not_hide_the_next(self) -> None:
        """Installment 2 overdue with no attempt; installment 3 declined on its due date: installment 3 is notified."""
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 3, 1, D(2027, 2, 1)))
        assert [(n.kind, n.installment) for n in dunning_notices(plan, ledger, D(2027, 2, 1))] == [
            (NoticeKind.PAYMENT_FAILED, 3)
        ]

    def test_an_old_decline_does_not_hide_a_new_one(self) -> None:
        """Installment 2 declined a month ago (not notified again), installment 3 declined today: installment 3 is notified."""
        plan = pack_a()
        ledger = paid_deposit(plan).record_all(
            [fail(plan, 2, 1, D(2027, 1, 1)), fail(plan, 3, 1, D(2027, 2, 1))]
        )
        assert [(n.kind, n.installment) for n in dunning_notices(plan, ledger, D(2027, 2, 1))] == [
            (NoticeKind.PAYMENT_FAILED, 3)
        ]

    def test_an_escalation_does_not_hide_the_next_installment(self) -> None:
        """With a ladder that never retries, installments 2 and 3 declined: both escalate, each in its own notice."""
        plan = pack_a(retries=RetryPolicy(days=()))
        ledger = paid_deposit(plan).record_all(
            [fail(plan, 2, 1, D(2027, 1, 30)), fail(plan, 3, 1, D(2027, 2, 1))]
        )
        assert [(n.kind, n.id) for n in dunning_notices(plan, ledger, D(2027, 2, 1))] == [
            (NoticeKind.ESCALATED, "pack-a:notice:escalated:2"),
            (NoticeKind.ESCALATED, "pack-a:notice:escalated:3"),
        ]


class TestTheCardsLastDay:
    def test_no_warning_for_an_installment_paid_in_advance(self) -> None:
        """Installments 2 and 3 paid: a card expiring 2027-01-31 is no concern until installment 4 comes near."""
        plan = pack_a()
        ledger = paid_through(plan, 2).record(PaymentReceived("p3", D(2027, 1, 10), usd("500")))
        assert dunning_notices(plan, ledger, D(2027, 1, 18), card_expires=D(2027, 1, 31)) == ()

    def test_a_single_cent_owed_after_the_card_expires_is_warned_of(self) -> None:
        plan = pack_a()
        ledger = paid_through(plan, 2).record(PaymentReceived("p3", D(2027, 1, 10), usd("499.99")))
        notices = dunning_notices(plan, ledger, D(2027, 1, 18), card_expires=D(2027, 1, 31))
        assert [(n.kind, n.installment, n.amount) for n in notices] == [
            (NoticeKind.CARD_EXPIRING, 3, usd("0.01"))
        ]

    def test_a_card_working_through_the_due_date_needs_no_warning(self) -> None:
        """*card_expires* is the card's last working day: expiring on 2027-02-01, it still pays installment 3 that day."""
        plan = pack_a()
        assert dunning_notices(plan, paid_through(plan, 2), D(2027, 1, 18), card_expires=D(2027, 2, 1)) == ()

    def test_the_warning_still_goes_on_the_due_date_itself(self) -> None:
        plan = pack_a()
        notices = dunning_notices(plan, paid_through(plan, 2), D(2027, 2, 1), card_expires=D(2027, 1, 31))
        assert [(n.kind, n.installment, n.date) for n in notices] == [
            (NoticeKind.CARD_EXPIRING, 3, D(2027, 2, 1))
        ]

    def test_an_overdue_installment_does_not_hide_the_warning_for_the_next(self) -> None:
        """Installment 2 (due 2027-01-01) still owed on 2027-01-18: installment 3 is warned of all the same."""
        plan = pack_a()
        notices = dunning_notices(plan, paid_deposit(plan), D(2027, 1, 18), card_expires=D(2027, 1, 31))
        assert [(n.kind, n.installment) for n in notices] == [(NoticeKind.CARD_EXPIRING, 3)]
