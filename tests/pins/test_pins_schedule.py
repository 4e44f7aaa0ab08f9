"""Pins for the schedule builder at its exact edges (#26 item 1: mutants of ``payplan._schedule`` found alive).

Each test pins every line of a schedule (number, kind, due date, amount, days
before the session) or a refusal word for word with the date it carries, and
was checked to fail on the mutants it was written against (mutmut, this
session). Dates and amounts are worked out by hand; the amortized payments
were checked against exact fractions.

The plan: $400.00 booked 2027-01-01 with a $100.00 deposit and three
installments; session 2027-06-01.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from payplan import (
    AddAddOn,
    BeforeSession,
    DepositRule,
    ExplicitDates,
    Installment,
    InstallmentKind,
    InvalidPlanError,
    Ledger,
    Milestone,
    Money,
    PaymentPlan,
    ScheduleDoesNotFitError,
    amend,
    amortize,
)

D = dt.date
BOOKED = D(2027, 1, 1)
SESSION = D(2027, 6, 1)


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def message(text: str) -> str:
    return f"^{re.escape(text)}$"


def days_before(cutoff: dt.date, session: dt.date = SESSION) -> int:
    return (session - cutoff).days


def plan_of(fee: str = "400.00", **terms: object) -> PaymentPlan:
    kwargs: dict[str, object] = {"deposit": DepositRule.fixed(usd("100.00")), "installments": 3}
    kwargs.update(terms)
    kwargs.setdefault("session", SESSION)
    return PaymentPlan.with_deposit("s", usd(fee), booked=BOOKED, **kwargs)  # type: ignore[arg-type]


def lines(plan: PaymentPlan) -> list[tuple[int, str, dt.date, str, int | None]]:
    return [(i.number, i.kind.value, i.due, str(i.amount), i.days_before_session) for i in plan.installments]


def dues(plan: PaymentPlan) -> list[dt.date]:
    return [i.due for i in plan.installments[1:]]


class TestTheCutoff:
    def test_the_last_installment_on_the_cutoff_day_fits(self) -> None:
        plan = plan_of(dates="monthly", final_due_days_before=days_before(D(2027, 4, 1)))
        assert lines(plan) == [
            (1, "deposit", BOOKED, "100.00 USD", None),
            (2, "installment", D(2027, 2, 1), "100.00 USD", None),
            (3, "installment", D(2027, 3, 1), "100.00 USD", None),
            (4, "installment", D(2027, 4, 1), "100.00 USD", None),
        ]

    def test_a_day_past_the_cutoff_is_refused_naming_both_days(self) -> None:
        with pytest.raises(
            ScheduleDoesNotFitError,
            match=message(
                "the last of 3 installment(s) would fall due on 2027-04-01, after the latest possible due date "
                "2027-03-31; use fewer installments, an earlier start, or compress (compress=True, --compress)"
            ),
        ) as info:
            plan_of(dates="monthly", final_due_days_before=days_before(D(2027, 3, 31)))
        assert info.value.latest_due == D(2027, 3, 31)

    def test_compressing_from_the_booking_spreads_the_days_evenly_to_the_cutoff(self) -> None:
        """89 days from 01-01 to 03-31, in thirds rounded down: days 29, 59 and 89."""
        plan = plan_of(dates="monthly", final_due_days_before=days_before(D(2027, 3, 31)), compress=True)
        assert dues(plan) == [D(2027, 1, 30), D(2027, 3, 1), D(2027, 3, 31)]

    def test_compressing_from_the_first_due_date_keeps_it_first(self) -> None:
        """From 02-01 to 03-31 is 58 days, in halves: 02-01, 03-02 (day 29) and 03-31."""
        plan = plan_of(
            dates="monthly",
            final_due_days_before=days_before(D(2027, 3, 31)),
            compress=True,
            first_due=D(2027, 2, 1),
        )
        assert dues(plan) == [D(2027, 2, 1), D(2027, 3, 2), D(2027, 3, 31)]
        later = plan_of(
            dates="monthly",
            final_due_days_before=days_before(D(2027, 3, 31)),
            compress=True,
            first_due=D(2027, 4, 1),
        )
        assert dues(later) == [D(2027, 1, 30), D(2027, 3, 1), D(2027, 3, 31)]

    def test_compressing_dates_set_before_the_session_drops_their_days(self) -> None:
        """60, 30 and 1 day before 06-01 with a cutoff of 05-22: 141 days from the booking, days 47, 94 and 141."""
        plan = plan_of(dates=BeforeSession((60, 30, 1)), final_due_days_before=10, compress=True)
        assert lines(plan)[1:] == [
            (2, "installment", D(2027, 2, 17), "100.00 USD", None),
            (3, "installment", D(2027, 4, 5), "100.00 USD", None),
            (4, "installment", D(2027, 5, 22), "100.00 USD", None),
        ]
        kept = plan_of(dates=BeforeSession((60, 30, 10)), final_due_days_before=10)
        assert lines(kept)[1:] == [
            (2, "installment", D(2027, 4, 2), "100.00 USD", 60),
            (3, "installment", D(2027, 5, 2), "100.00 USD", 30),
            (4, "installment", D(2027, 5, 22), "100.00 USD", 10),
        ]

    def test_one_installment_compressed_falls_on_the_first_due_date_or_the_cutoff(self) -> None:
        rule = ExplicitDates((D(2027, 2, 15),))
        cutoff = days_before(D(2027, 1, 31))
        on_first = plan_of(
            installments=1, dates=rule, final_due_days_before=cutoff, compress=True, first_due=D(2027, 1, 10)
        )
        assert lines(on_first)[1:] == [(2, "installment", D(2027, 1, 10), "300.00 USD", None)]
        on_cutoff = plan_of(installments=1, dates=rule, final_due_days_before=cutoff, compress=True)
        assert lines(on_cutoff)[1:] == [(2, "installment", D(2027, 1, 31), "300.00 USD", None)]

    def test_a_deposit_of_the_whole_fee_needs_no_dates(self) -> None:
        plan = plan_of(installments=0, deposit=DepositRule.percent(100), dates="weekly")
        assert lines(plan) == [(1, "deposit", BOOKED, "400.00 USD", None)]


class TestStartAndCutoffDays:
    def test_a_cadence_counts_from_the_first_due_date_itself(self) -> None:
        assert dues(plan_of(dates="monthly", first_due=D(2027, 1, 15))) == [
            D(2027, 1, 15),
            D(2027, 2, 15),
            D(2027, 3, 15),
        ]
        assert dues(plan_of(dates="weekly")) == [D(2027, 1, 8), D(2027, 1, 15), D(2027, 1, 22)]

    def test_booked_on_the_cutoff_day_every_line_compresses_onto_it(self) -> None:
        plan = plan_of(dates="monthly", final_due_days_before=days_before(BOOKED), compress=True)
        assert dues(plan) == [BOOKED] * 3

    def test_a_first_due_date_on_the_cutoff_takes_every_line(self) -> None:
        plan = plan_of(
            dates="monthly",
            final_due_days_before=days_before(D(2027, 3, 1)),
            compress=True,
            first_due=D(2027, 3, 1),
        )
        assert dues(plan) == [D(2027, 3, 1)] * 3

    def test_paying_in_full_after_the_cutoff_is_refused_not_compressed(self) -> None:
        with pytest.raises(
            ScheduleDoesNotFitError,
            match=message(
                "the last of 1 installment(s) would fall due on 2027-02-20, after the latest possible due date "
                "2027-02-19; use fewer installments, an earlier start, or compress (compress=True, --compress)"
            ),
        ) as info:
            PaymentPlan.pay_in_full(
                "f",
                usd("500.00"),
                booked=BOOKED,
                session=D(2027, 3, 1),
                due=D(2027, 2, 20),
                final_due_days_before=10,
            )
        assert info.value.latest_due == D(2027, 2, 19)

    def test_a_date_rule_of_its_own_kind_is_refused_naming_it(self) -> None:
        class Later(ExplicitDates):
            pass

        rule = Later((D(2027, 2, 1),))
        with pytest.raises(
            InvalidPlanError,
            match=message(f"expected a cadence, explicit dates or BeforeSession, got {rule!r}"),
        ):
            plan_of(installments=1, dates=rule)


class TestTheEndOfTheCalendar:
    def test_dates_past_9999_12_31_are_refused_naming_the_cutoff(self) -> None:
        with pytest.raises(
            ScheduleDoesNotFitError,
            match=message(
                "the last of 3 weekly date(s) from 9999-12-20 would fall after 9999-12-31, the last day of the "
                "calendar; the latest possible due date is 9999-12-30: use fewer installments, an earlier start, "
                "or compress (compress=True, --compress)"
            ),
        ) as info:
            plan_of(dates="weekly", session=D(9999, 12, 30), first_due=D(9999, 12, 20))
        assert info.value.latest_due == D(9999, 12, 30)

    def test_a_session_on_the_last_day_is_named_as_a_placeholder(self) -> None:
        with pytest.raises(
            ScheduleDoesNotFitError,
            match=message(
                "the last of 3 weekly date(s) from 9999-12-20 would fall after 9999-12-31, the last day of the "
                'calendar; the latest possible due date is 9999-12-31 (a session on 9999-12-31 used as "no session '
                'date yet" leaves no room after it: date the installments from the booking, or set the session '
                "when it is known): use fewer installments, an earlier start, or compress (compress=True, --compress)"
            ),
        ) as info:
            plan_of(dates="weekly", session=D(9999, 12, 31), first_due=D(9999, 12, 20))
        assert info.value.latest_due == D(9999, 12, 31)

    def test_compressing_brings_them_back_onto_the_calendar(self) -> None:
        """11 days from 12-20 to 12-31, in halves: 12-20, 12-25 (day 5) and 12-31."""
        plan = plan_of(dates="weekly", session=D(9999, 12, 31), first_due=D(9999, 12, 20), compress=True)
        assert dues(plan) == [D(9999, 12, 20), D(9999, 12, 25), D(9999, 12, 31)]


class TestDatesRefused:
    def test_explicit_dates_not_one_per_installment(self) -> None:
        with pytest.raises(
            InvalidPlanError, match=message("expected 3 explicit due date(s) for 3 installment(s), got 1")
        ):
            plan_of(dates=ExplicitDates((D(2027, 2, 1),)))

    def test_days_before_the_session_not_one_per_installment(self) -> None:
        with pytest.raises(
            InvalidPlanError,
            match=message("expected 3 'days before the session' for 3 installment(s), got 2"),
        ):
            plan_of(dates=BeforeSession((60, 30)))

    def test_a_date_before_the_booking(self) -> None:
        with pytest.raises(
            InvalidPlanError,
            match=message(
                "expected installments due on or after the booking date 2027-01-01, got one due 2026-12-31"
            ),
        ):
            plan_of(dates=ExplicitDates((D(2026, 12, 31), D(2027, 2, 1), D(2027, 3, 1))))
        assert dues(plan_of(dates=ExplicitDates((BOOKED, D(2027, 2, 1), D(2027, 3, 1)))))[0] == BOOKED

    def test_a_session_before_the_booking(self) -> None:
        with pytest.raises(
            InvalidPlanError,
            match=message("expected the session on or after the booking 2027-01-02, got 2027-01-01"),
        ):
            PaymentPlan.pay_in_full("f", usd("1.00"), booked=D(2027, 1, 2), session=D(2027, 1, 1))
        same_day = PaymentPlan.pay_in_full("f", usd("1.00"), booked=BOOKED, session=BOOKED)
        assert lines(same_day) == [(1, "balance", BOOKED, "1.00 USD", None)]


class TestSplitting:
    def test_the_cents_left_over_go_to_the_first_lines_or_the_last(self) -> None:
        assert [a for *_, a, _ in lines(plan_of("400.02", dates="monthly"))[1:]] == [
            "100.01 USD",
            "100.01 USD",
            "100.00 USD",
        ]
        assert [a for *_, a, _ in lines(plan_of("400.02", dates="monthly", remainder="last"))[1:]] == [
            "100.00 USD",
            "100.01 USD",
            "100.01 USD",
        ]
        assert [a for *_, a, _ in lines(plan_of("400.00", dates="monthly", remainder="last"))[1:]] == [
            "100.00 USD"
        ] * 3

    def test_a_cent_per_line_is_the_least_and_less_is_refused(self) -> None:
        assert [a for *_, a, _ in lines(plan_of("100.03", dates="monthly"))[1:]] == ["0.01 USD"] * 3
        with pytest.raises(
            InvalidPlanError,
            match=message(
                "a balance of 0.02 USD cannot be split into 3 positive installment(s); use fewer installments"
            ),
        ):
            plan_of("100.02", dates="monthly")

    def test_a_line_is_known_by_its_key_or_else_its_number(self) -> None:
        line = Installment(3, InstallmentKind.INSTALLMENT, BOOKED, usd("1.00"))
        assert (
            line.line_id,
            Installment(3, InstallmentKind.INSTALLMENT, BOOKED, usd("1.00"), key="v2.1").line_id,
        ) == (
            "3",
            "v2.1",
        )


class TestAmortize:
    def test_half_a_cent_of_interest_rounds_up(self) -> None:
        """$4,979.00 at 10% a year, weekly: the first week's interest is exactly $9.575, charged $9.58.

        Level payment $1,666.05 (1666.054...); interest 958, 639 and 320 cents; the last payment clears the rest.
        """
        assert amortize(usd("4979.00"), Decimal("10"), 3, 52) == (
            usd("1666.05"),
            usd("1666.05"),
            usd("1666.07"),
        )

    def test_a_level_payment_of_exactly_half_a_cent_rounds_up(self) -> None:
        """$4,228.25 over two weeks at 8%: the level payment is exactly $2,119.005, so $2,119.01.

        Worked with fractions: 422825 * (8/5200) * (5208/5200)^2 / ((5208/5200)^2 - 1) = 211900.5. Then the interest
        is 650.5 -> 651 cents, the balance 211575 cents, its interest 325.5 -> 326: the last payment is $2,119.01 too.
        A 50-digit decimal fell just short of the half and charged $2,119.00, then $2,119.02 (regression).
        """
        assert amortize(usd("4228.25"), Decimal("8"), 2, 52) == (usd("2119.01"), usd("2119.01"))
        # The same half cent of level payment from a principal whose decimal fell on the right side.
        assert amortize(Money(1082120, "USD"), Decimal("5"), 2, 52)[0] == Money(541841, "USD")

    def test_a_fractional_rate_is_kept_exactly(self) -> None:
        """12.5% a year monthly on $1,000.00: 100000 * (1/96) / (1 - (97/96)^-3) = 34030.18 cents; interest 1042, 698, 351."""
        assert amortize(usd("1000.00"), Decimal("12.5"), 3, 12) == (
            usd("340.30"),
            usd("340.30"),
            usd("340.31"),
        )

    def test_a_year_monthly_at_12_percent(self) -> None:
        assert amortize(usd("1000.00"), Decimal("12"), 12, 12) == (usd("88.85"),) * 11 + (usd("88.84"),)

    def test_at_zero_percent_the_principal_is_split_evenly_extra_cents_first(self) -> None:
        assert amortize(usd("1000.00"), Decimal("0"), 3, 12) == (usd("333.34"), usd("333.33"), usd("333.33"))

    def test_a_financed_plan_charges_the_interest_on_top(self) -> None:
        plan = plan_of("1100.00", installments=12, dates="monthly", apr="12", session=D(2028, 6, 1))
        assert [a for *_, a, _ in lines(plan)[1:]] == ["88.85 USD"] * 11 + ["88.84 USD"]
        assert str(plan.finance_charge) == "66.19 USD"

    def test_the_payment_never_exceeds_what_the_balance_and_its_interest_come_to(self) -> None:
        """100% a week on $300.00: the level payment is 30000 / (1 - 2^-2) = 40000 cents; $300.00 of interest, then $200.00."""
        assert amortize(usd("300.00"), Decimal("5200"), 2, 52) == (usd("400.00"), usd("400.00"))


class TestLinesKeepWhatTheyAreGiven:
    def test_a_progressive_plan_s_lines_carry_their_names_and_days_before_the_session(self) -> None:
        plan = PaymentPlan.progressive(
            "g",
            usd("1000.00"),
            upfront=DepositRule.percent(20),
            milestones=[
                Milestone("Shoot", percent=50, days_before_session=30),
                Milestone("Album", amount=usd("100.00"), due=D(2027, 2, 1)),
                Milestone("Final", percent=50, days_before_session=0),
            ],
            booked=BOOKED,
            session=D(2027, 3, 1),
        )
        assert [
            (i.number, i.kind.value, i.due, str(i.amount), i.label, i.days_before_session)
            for i in plan.installments
        ] == [
            (1, "deposit", BOOKED, "200.00 USD", "Upfront", None),
            (2, "installment", D(2027, 1, 30), "350.00 USD", "Shoot", 30),
            (3, "installment", D(2027, 2, 1), "100.00 USD", "Album", None),
            (4, "balance", D(2027, 3, 1), "350.00 USD", "Final", 0),
        ]

    def test_lines_renumbered_by_an_amendment_keep_their_ids(self) -> None:
        v1 = plan_of("300.00", installments=2, dates="monthly")
        v2, _ = amend(
            v1,
            AddAddOn("Album", usd("30.00"), D(2027, 1, 20)),
            by="staff",
            reason="album",
            on=D(2027, 1, 10),
            consent=True,
            paid=Ledger.empty(v1),
        )
        assert [(i.number, i.due, str(i.amount), i.label, i.key, i.line_id) for i in v2.installments] == [
            (1, BOOKED, "100.00 USD", None, None, "1"),
            (2, D(2027, 1, 20), "30.00 USD", "Album", "v2.1", "v2.1"),
            (3, D(2027, 2, 1), "100.00 USD", None, "2", "2"),
            (4, D(2027, 3, 1), "100.00 USD", None, "3", "3"),
        ]
