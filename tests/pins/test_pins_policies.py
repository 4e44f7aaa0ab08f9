"""Policies in words and their refusals, word for word (#26 item 1: mutants `make mutation` found alive).

``describe()`` is the text that goes into the client's agreement: a change to
it is a change to what the client is told. Each test pins a whole text or a
whole refusal, and was checked to fail on the mutants of ``payplan._policies``
it was written against.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from attrs import evolve

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    Incentive,
    InvalidMoneyError,
    InvalidPlanError,
    LateFeePolicy,
    LateFeeStep,
    Money,
    PaymentPlan,
    RuleViolationError,
)
from payplan._policies import EscalationPolicy, ReminderPolicy

D = dt.date
TAKEN_BACK = "; taken back if the booking is cancelled."


def usd(text: str) -> Money:
    return Money.of(text, "USD")


@pytest.mark.parametrize(
    ("incentive", "text"),
    [
        (
            Incentive.pay_in_full(percent=5),
            "A discount of 5% of the fee for paying in full by the booking date" + TAKEN_BACK,
        ),
        (
            Incentive.pay_in_full(amount=usd("50"), by=D(2027, 1, 1)),
            "A discount of 50.00 USD for paying in full by 2027-01-01" + TAKEN_BACK,
        ),
        (
            Incentive.early_payment(7, percent="2.5"),
            "A discount of 2.5% of the installment on each installment paid in full at least 7 days before it is due"
            + TAKEN_BACK,
        ),
        (
            Incentive.early_payment(7, amount=usd("10")),
            "A discount of 10.00 USD on each installment paid in full at least 7 days before it is due"
            + TAKEN_BACK,
        ),
        (
            Incentive.loyalty(3, percent=10),
            "A loyalty discount of 10% of the fee for clients with at least 3 on-time installments"
            + TAKEN_BACK,
        ),
        (
            Incentive.loyalty(3, amount=usd("20")),
            "A loyalty discount of 20.00 USD for clients with at least 3 on-time installments" + TAKEN_BACK,
        ),
        (
            Incentive.referral(usd("25"), referrer="Ann"),
            "A referral credit of 25.00 USD (referred by Ann)" + TAKEN_BACK,
        ),
        (Incentive.referral(usd("25"), clawback=False), "A referral credit of 25.00 USD."),
        (
            Incentive.booked_by(D(2027, 1, 1), percent=10),
            "An offer of 10% off the fee for bookings made by 2027-01-01" + TAKEN_BACK,
        ),
        (
            Incentive.booked_by(D(2027, 1, 1), amount=usd("30")),
            "An offer of 30.00 USD for bookings made by 2027-01-01" + TAKEN_BACK,
        ),
        (
            Incentive.add_on("Photo print", usd("40"), by=D(2027, 1, 1)),
            "Photo print (worth 40.00 USD) is included when the plan is paid in full by 2027-01-01"
            + TAKEN_BACK,
        ),
    ],
)
def test_each_incentive_in_words(incentive: Incentive, text: str) -> None:
    assert incentive.describe() == text


def test_the_incentive_constructors_keep_every_argument() -> None:
    by = D(2027, 1, 1)
    assert (
        Incentive.pay_in_full(amount=usd("5"), by=by).amount,
        Incentive.pay_in_full(percent=5, by=by).by,
    ) == (usd("5"), by)
    assert Incentive.early_payment(7, amount=usd("2")).amount == usd("2")
    assert Incentive.early_payment(7, percent=2).days_early == 7
    loyal = Incentive.loyalty(3, percent=10)
    assert (loyal.percent, loyal.min_on_time, Incentive.loyalty(4, amount=usd("1")).amount) == (
        Decimal(10),
        3,
        usd("1"),
    )


def test_late_fee_policy_in_words() -> None:
    assert LateFeePolicy.single(usd("25"), grace_days=5).describe() == (
        "No late fee during a grace period of 5 days after a due date. "
        "Late fees per installment: 25.00 USD once 6 days overdue. "
        "No late fee is charged on a late fee. Late fees are collected once the last installment is paid."
    )


def test_escalation_in_words() -> None:
    assert EscalationPolicy(fee_factor=2, require_full_payment_after=4).describe() == (
        "Repeat late payment: late fees are multiplied by 2 for clients flagged as consistently late; "
        "after 4 late installments, new bookings must be paid in full."
    )
    assert EscalationPolicy().describe() == "No escalation for repeat late payment."


def test_reminders_in_words() -> None:
    assert ReminderPolicy().describe() == (
        "Reminders are sent 7 days before, 1 day before, on the day, 1 day after, 7 days after, 14 days after "
        "each due date; the one 14 days after is a final notice."
    )


def test_cancellation_policy_in_words() -> None:
    policy = CancellationPolicy(
        (CancellationWindow(30, 50),), no_show_fee=usd("20"), reschedule_fee=usd("10")
    )
    assert policy.describe() == (
        "The deposit is non-refundable. 50% of the fee is retained for cancellations within 30 days of the session. "
        "A no-show costs 20.00 USD on top of the full cancellation charge. "
        "Rescheduling costs 10.00 USD; the rest of what was paid carries over. "
        "What was paid beyond the retained amount is refunded."
    )


class TestSingleStep:
    def test_the_grace_period_is_kept_and_the_step_is_the_day_after(self) -> None:
        policy = LateFeePolicy.single(usd("25"), grace_days=5)
        assert (policy.grace_days, policy.steps) == (5, (LateFeeStep(6, amount=usd("25")),))

    def test_the_longest_grace_period_leaves_room_for_the_step(self) -> None:
        """3652 days of grace put the step on day 3653, the longest day count; 3653 days leave none."""
        assert LateFeePolicy.single(usd("1"), grace_days=3652).steps[0].days == 3653
        with pytest.raises(
            InvalidPlanError, match=r"^expected grace_days as whole days from 0 to 3652, got 3653$"
        ):
            LateFeePolicy.single(usd("1"), grace_days=3653)

    @pytest.mark.parametrize(
        ("factor", "error", "message"),
        [
            ("x", InvalidMoneyError, "expected a factor as a decimal number, got 'x'"),
            (
                1.5,
                InvalidMoneyError,
                "expected a factor as a str, int or Decimal, got float 1.5; floats cannot hold money exactly",
            ),
        ],
    )
    def test_a_bad_factor_is_refused_naming_it(
        self, factor: object, error: type[Exception], message: str
    ) -> None:
        with pytest.raises(error, match=f"^{re.escape(message)}$"):
            LateFeePolicy.single(usd("1")).scaled(factor)  # type: ignore[arg-type]


class TestEscalation:
    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            (
                {"flag_average_days_late": "-1"},
                InvalidPlanError,
                "expected an average of days late of 0 or more, got '-1'",
            ),
            (
                {"flag_average_days_late": "NaN"},
                InvalidPlanError,
                "expected an average of days late of 0 or more, got 'NaN'",
            ),
            (
                {"flag_average_days_late": "x"},
                InvalidMoneyError,
                "expected an average of days late as a decimal number, got 'x'",
            ),
            (
                {"grace_days": -1},
                InvalidPlanError,
                "expected grace_days as whole days from 0 to 3653, got -1",
            ),
            (
                {"grace_days": 3654},
                InvalidPlanError,
                "expected grace_days as whole days from 0 to 3653, got 3654",
            ),
        ],
    )
    def test_refusals(self, kwargs: dict[str, object], error: type[Exception], message: str) -> None:
        with pytest.raises(error, match=f"^{re.escape(message)}$"):
            EscalationPolicy(**kwargs)  # type: ignore[arg-type]

    def test_accepted_at_the_edges(self) -> None:
        assert EscalationPolicy(flag_average_days_late="2.5").flag_average_days_late == Decimal("2.5")
        assert EscalationPolicy(flag_average_days_late=0).flag_average_days_late == 0
        assert EscalationPolicy(grace_days=3653).grace_days == 3653

    def test_a_client_at_the_limit_must_pay_in_full(self) -> None:
        policy = EscalationPolicy(require_full_payment_after=2)
        policy.check_new_booking(1, 3)
        policy.check_new_booking(2, 1)
        message = "expected a pay-in-full plan: the client has 2 late installments (the limit is 2), got a plan of 3 payments"
        with pytest.raises(RuleViolationError, match=f"^{re.escape(message)}$"):
            policy.check_new_booking(2, 3)


def test_a_reminder_template_that_is_not_text_is_refused_naming_it() -> None:
    with pytest.raises(InvalidPlanError, match=r"^expected reminder template 'overdue' as text, got 3$"):
        ReminderPolicy(templates={"overdue": 3})  # type: ignore[dict-item]


def test_a_policys_grace_period_leaves_a_day_for_its_step() -> None:
    """A policy's own grace period stops a day short of the longest day count, as single()'s does."""
    assert LateFeePolicy((LateFeeStep(3653, amount=usd("1")),), grace_days=3652).grace_days == 3652
    with pytest.raises(
        InvalidPlanError, match=r"^expected grace_days as whole days from 0 to 3652, got 3653$"
    ):
        LateFeePolicy((LateFeeStep(3653, amount=usd("1")),), grace_days=3653)


def test_a_late_fee_policy_with_both_caps_in_words() -> None:
    """Two caps: both named, joined by "or", and the lower holds; fee-on-fee and collection at once said as such."""
    policy = LateFeePolicy(
        (LateFeeStep(1, percent="2.5"),), cap=usd("50"), cap_percent="10", fee_on_fee=True, collect="at_once"
    )
    assert policy.describe() == (
        "Late fees per installment: 2.5% of the overdue amount once 1 day overdue. "
        "Late fees never exceed 50.00 USD or 10% of the fee in total, whichever is lower. "
        "Percentage fees also apply to late fees already charged. A late fee is collected on the day it applies."
    )


def test_a_late_fee_policy_with_a_percent_cap_alone_in_words() -> None:
    policy = LateFeePolicy(
        (LateFeeStep(3, amount=usd("5")),), cap_percent="12.5", collect="with_next_installment"
    )
    assert policy.describe() == (
        "Late fees per installment: 5.00 USD once 3 days overdue. Late fees never exceed 12.5% of the fee in total. "
        "No late fee is charged on a late fee. A late fee is collected with the next installment due."
    )


@pytest.mark.parametrize(
    ("offsets", "final_notice", "text"),
    [
        ((-3, 2), False, "Reminders are sent 3 days before, 2 days after each due date."),
        (
            (-1, 3),
            True,
            "Reminders are sent 1 day before, 3 days after each due date; the one 3 days after is a final notice.",
        ),
        ((-1, 0), True, "Reminders are sent 1 day before, on the day each due date."),
        ((1,), True, "Reminders are sent 1 day after each due date; the one 1 day after is a final notice."),
    ],
)
def test_a_final_notice_is_named_only_when_the_last_reminder_is_after_the_due_date(
    offsets: tuple[int, ...], final_notice: bool, text: str
) -> None:
    """The final notice is the last reminder after the due date (as kind_for says); none is named when it is off."""
    assert ReminderPolicy(offsets=offsets, final_notice=final_notice).describe() == text


def test_a_refundable_deposit_and_credit_instead_of_a_refund_in_words() -> None:
    policy = CancellationPolicy(
        (CancellationWindow(7, 100), CancellationWindow(30, "12.5")),
        deposit_refundable=True,
        credit_instead_of_refund=True,
    )
    assert policy.describe() == (
        "The deposit is refundable. 12.5% of the fee is retained for cancellations within 30 days of the session. "
        "100% of the fee is retained for cancellations within 7 days of the session. "
        "What was paid beyond the retained amount becomes credit toward a new session."
    )


def test_an_add_on_without_a_name_in_words() -> None:
    add_on = Incentive.add_on("", usd("40"), by=D(2027, 1, 1))
    assert (
        add_on.describe()
        == "An add-on (worth 40.00 USD) is included when the plan is paid in full by 2027-01-01" + TAKEN_BACK
    )


def test_a_client_who_must_pay_in_full_cannot_book_two_payments() -> None:
    message = "expected a pay-in-full plan: the client has 3 late installments (the limit is 3), got a plan of 2 payments"
    with pytest.raises(RuleViolationError, match=f"^{re.escape(message)}$"):
        EscalationPolicy(require_full_payment_after=3).check_new_booking(3, 2)


class TestDayFields:
    """Every whole-days field refuses by its own name and bounds.

    The fields' validators are built by ``_days(what, high)`` when the classes are defined;
    these call it as the natural unit too, since a mutation tool switches mutants on only
    after import and so never reaches it through the classes.
    """

    @pytest.mark.parametrize(
        ("build", "message"),
        [
            (
                lambda: LateFeeStep(-1, amount=usd("1")),
                "expected a late-fee step's days overdue as whole days from 0 to 3653, got -1",
            ),
            (
                lambda: CancellationWindow(3654, 50),
                "expected a cancellation window as whole days from 0 to 3653, got 3654",
            ),
            (
                lambda: Incentive.early_payment(True, percent=1),
                "expected days_early as whole days from 0 to 3653, got True",
            ),  # type: ignore[arg-type]
            (
                lambda: Incentive.loyalty(-1, percent=1),
                "expected min_on_time as whole days from 0 to 3653, got -1",
            ),
        ],
    )
    def test_refusals_through_the_classes(self, build: object, message: str) -> None:
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            build()  # type: ignore[operator]

    def test_the_validator_refuses_naming_the_field_and_its_bounds(self) -> None:
        from payplan._policies import _days

        check = _days("grace_days", 10)
        check(None, None, 0)
        check(None, None, 10)
        with pytest.raises(
            InvalidPlanError, match=r"^expected grace_days as whole days from 0 to 10, got 11$"
        ):
            check(None, None, 11)
        with pytest.raises(
            InvalidPlanError, match=r"^expected a window as whole days from 0 to 3653, got 3654$"
        ):
            _days("a window")(None, None, 3654)
        _days("a window")(None, None, 3653)


def test_a_referral_without_a_referrer_names_nobody() -> None:
    assert Incentive.referral(usd("25")).describe() == "A referral credit of 25.00 USD" + TAKEN_BACK
    assert Incentive.referral(usd("25")).name == ""


class TestRefusalsWordForWord:
    """Each value a policy refuses, refused by the rule it breaks and naming the field."""

    @pytest.mark.parametrize(
        ("build", "message"),
        [
            (
                lambda: LateFeeStep(1, amount=usd("-0.01")),
                "expected amount as Money of zero or more, got Money('-0.01', 'USD')",
            ),
            (lambda: LateFeeStep(1, amount=5), "expected amount as Money of zero or more, got 5"),
            (
                lambda: LateFeePolicy((LateFeeStep(1, amount=usd("1")),), cap=usd("-1")),
                "expected cap as Money of zero or more, got Money('-1.00', 'USD')",
            ),
            (
                lambda: CancellationPolicy(no_show_fee=usd("-1")),
                "expected no_show_fee as Money of zero or more, got Money('-1.00', 'USD')",
            ),
            (
                lambda: CancellationPolicy(reschedule_fee="5"),
                "expected reschedule_fee as Money of zero or more, got '5'",
            ),
            (
                lambda: Incentive.pay_in_full(percent="x"),
                "expected a percentage as a decimal number, got 'x'",
            ),
            (lambda: Incentive.pay_in_full(percent=-1), "expected a percentage from 0 to 1000, got -1"),
            (lambda: Incentive.pay_in_full(percent="NaN"), "expected a percentage from 0 to 1000, got 'NaN'"),
            (
                lambda: Incentive.pay_in_full(percent="1000.5"),
                "expected a percentage from 0 to 1000, got '1000.5'",
            ),
            (
                lambda: LateFeeStep(1),
                "late-fee step: expected exactly one of amount and percent, got None and None",
            ),
            (
                lambda: LateFeeStep(1, amount=usd("1"), percent=1),
                "late-fee step: expected exactly one of amount and percent, got Money('1.00', 'USD') and Decimal('1')",
            ),
            (
                lambda: Incentive("loyalty"),
                "loyalty incentive: expected exactly one of amount and percent, got None and None",
            ),
            (
                lambda: Incentive("add_on", amount=usd("5")),
                "add-on incentive: expected its value as an amount and a date to pay by",
            ),
            (
                lambda: Incentive("add_on", percent=5, by=D(2027, 1, 1)),
                "add-on incentive: expected its value as an amount and a date to pay by",
            ),
            (
                lambda: Incentive("booked_by", percent=5),
                "booked-by offer: expected the date the booking must be made by",
            ),
            (
                lambda: Incentive.pay_in_full(percent=5, by="2027-01-01"),
                "expected by as a date, got '2027-01-01'",
            ),  # type: ignore[arg-type]
        ],
    )
    def test_refused(self, build: object, message: str) -> None:
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            build()  # type: ignore[operator]

    def test_the_edges_accepted(self) -> None:
        assert EscalationPolicy(fee_factor=1000).fee_factor == Decimal(1000)
        assert Incentive.pay_in_full(percent=0).percent == Decimal(0)
        assert LateFeeStep(1, amount=usd("0")).amount == usd("0")


def test_a_step_in_words_says_its_own_days_unless_told_otherwise() -> None:
    assert LateFeeStep(15, percent=5).describe() == "5% of the overdue amount once 15 days overdue"
    assert LateFeeStep(1, amount=usd("5")).describe() == "5.00 USD once 1 day overdue"
    assert LateFeeStep(1, amount=usd("5")).describe(days=4) == "5.00 USD once 4 days overdue"


def test_cancellation_windows_are_kept_longest_first() -> None:
    policy = CancellationPolicy(
        (CancellationWindow(7, 100), CancellationWindow(30, 50), CancellationWindow(14, 75))
    )
    assert [w.within_days for w in policy.windows] == [30, 14, 7]


class TestCap:
    def test_the_lower_cap_holds(self) -> None:
        """$50, or 10% of a $300 fee ($30): $30 holds; of a $600 fee ($60): $50 holds; equal caps, either."""
        policy = LateFeePolicy((LateFeeStep(1, amount=usd("5")),), cap=usd("50"), cap_percent=10)
        assert (policy.cap_for(usd("300")), policy.cap_for(usd("600")), policy.cap_for(usd("500"))) == (
            usd("30"),
            usd("50"),
            usd("50"),
        )
        assert LateFeePolicy((LateFeeStep(1, amount=usd("5")),)).cap_for(usd("300")) is None

    def test_a_cap_in_another_currency_is_refused_naming_both(self) -> None:
        """A cap of 500 JPY on a USD plan was compared by minor units: it held the plan's late fees to $5.00."""
        policy = LateFeePolicy((LateFeeStep(1, amount=usd("10")),), cap=Money.of("500", "JPY"))
        with pytest.raises(InvalidPlanError, match=r"^expected the late-fee cap in USD, got 500 JPY$"):
            policy.cap_for(usd("300"))
        plan = PaymentPlan.pay_in_full("p", usd("300"), booked=D(2027, 1, 1), session=D(2027, 6, 1))
        with pytest.raises(InvalidPlanError, match=r"^expected the late-fee cap in USD, got 500 JPY$"):
            evolve(plan, terms=evolve(plan.terms, late_fees=policy))  # the plan refuses it too


def test_a_percentage_of_minus_zero_is_zero_in_words() -> None:
    """Decimal("-0") is not below zero, so it is accepted: it is said as 0, never "-0"."""
    assert (
        CancellationWindow(3, "-0").describe()
        == "0% of the fee is retained for cancellations within 3 days of the session"
    )
    assert LateFeeStep(3, percent="-0").describe() == "0% of the overdue amount once 3 days overdue"
    assert Incentive.loyalty(2, percent="-0.00").describe() == (
        "A loyalty discount of 0% of the fee for clients with at least 2 on-time installments" + TAKEN_BACK
    )
    assert EscalationPolicy(fee_factor="-0").describe() == (
        "Repeat late payment: late fees are multiplied by 0 for clients flagged as consistently late."
    )
