"""Pins for the calendar's due dates at their exact edges (#26 item 1: mutants of ``payplan._calendar`` found alive).

Each test pins a date to the day, or a refusal word for word with the date
it carries, and was checked to fail on the mutants it was written against
(mutmut, this session). The dates are worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from payplan import (
    BeforeSession,
    Cadence,
    ExplicitDates,
    InvalidPlanError,
    ScheduleDoesNotFitError,
    add_months,
)
from payplan._calendar import check_day, days_after, shift

D = dt.date


def message(text: str) -> str:
    return f"^{re.escape(text)}$"


class TestTwiceAMonth:
    """A twice-a-month cadence pairs the anchor's day with 15 days later up to the 15th, 15 days earlier after it."""

    def test_an_anchor_on_the_15th_pairs_with_the_30th_of_its_own_month(self) -> None:
        assert Cadence.SEMIMONTHLY.nth(D(2027, 1, 15), 1) == D(2027, 1, 30)
        assert Cadence.SEMIMONTHLY.nth(D(2027, 1, 15), 3) == D(2027, 2, 28)
        assert Cadence.SEMIMONTHLY.nth(D(2028, 2, 15), 1) == D(2028, 2, 29)

    def test_an_anchor_on_the_16th_pairs_with_the_1st_of_the_next_month(self) -> None:
        assert Cadence.SEMIMONTHLY.nth(D(2027, 1, 16), 1) == D(2027, 2, 1)
        assert Cadence.SEMIMONTHLY.nth(D(2027, 1, 16), 2) == D(2027, 2, 16)
        assert Cadence.SEMIMONTHLY.nth(D(2027, 12, 16), 1) == D(2028, 1, 1)

    def test_one_date_agrees_with_the_series(self) -> None:
        for anchor in (D(2027, 1, 15), D(2027, 1, 16), D(2027, 1, 31)):
            assert tuple(Cadence.SEMIMONTHLY.nth(anchor, n) for n in range(6)) == Cadence.SEMIMONTHLY.dates(
                anchor, 6
            )


class TestTheEndOfTheCalendar:
    def test_a_weekly_date_past_9999_12_31_is_refused_naming_it_and_the_last_day(self) -> None:
        with pytest.raises(ScheduleDoesNotFitError) as info:
            Cadence.WEEKLY.nth(D(9999, 12, 25), 1)
        assert str(info.value) == (
            "the weekly date 1 periods from 9999-12-25 would fall after 9999-12-31, the last day of the calendar"
        )
        assert info.value.latest_due == D(9999, 12, 31)

    def test_a_monthly_date_past_the_end_carries_the_last_day_too(self) -> None:
        with pytest.raises(
            ScheduleDoesNotFitError,
            match=message(
                "the monthly date 1 periods from 9999-12-01 would fall after 9999-12-31, the last day of the calendar"
            ),
        ) as info:
            Cadence.MONTHLY.nth(D(9999, 12, 1), 1)
        assert info.value.latest_due == D(9999, 12, 31)


class TestAddMonths:
    def test_the_first_and_the_last_year_of_the_calendar_are_on_it(self) -> None:
        assert add_months(D(1, 5, 31), -1) == D(1, 4, 30)
        assert add_months(D(2, 1, 1), -12) == D(1, 1, 1)
        assert add_months(D(9999, 1, 31), 1) == D(9999, 2, 28)
        assert add_months(D(9998, 12, 31), 12) == D(9999, 12, 31)

    def test_a_month_past_either_end_is_refused_naming_it(self) -> None:
        with pytest.raises(
            ScheduleDoesNotFitError,
            match=message(
                "the date 1 months from 9999-12-01 would fall after 9999-12-31, the last day of the calendar"
            ),
        ) as info:
            add_months(D(9999, 12, 1), 1)
        assert info.value.latest_due == D(9999, 12, 31)
        with pytest.raises(
            InvalidPlanError,
            match=message(
                "the date -1 months from 0001-01-31 would fall before 0001-01-01, the first day of the calendar"
            ),
        ) as before:
            add_months(D(1, 1, 31), -1)
        assert type(before.value) is InvalidPlanError


class TestMovingADay:
    """shift and days_after: the helpers every rule uses to move a date by days, at both ends of the calendar."""

    def test_the_last_and_the_first_day_are_reached(self) -> None:
        assert [
            days_after(D(9999, 12, 30), 1),
            days_after(D(9999, 12, 31), 0),
            days_after(D(1, 1, 2), -1),
        ] == [
            D(9999, 12, 31),
            D(9999, 12, 31),
            D(1, 1, 1),
        ]
        assert [
            shift(D(9999, 12, 30), 1, "x"),
            shift(D(1, 1, 2), -1, "x"),
            shift(D(2027, 1, 31), 29, "x"),
        ] == [
            D(9999, 12, 31),
            D(1, 1, 1),
            D(2027, 3, 1),
        ]
        assert (days_after(D(9999, 12, 31), 1), days_after(D(1, 1, 1), -1)) == (None, None)

    def test_a_day_past_either_end_is_refused_naming_it(self) -> None:
        with pytest.raises(
            ScheduleDoesNotFitError,
            match=message("the reminder would fall after 9999-12-31, the last day of the calendar"),
        ) as info:
            shift(D(9999, 12, 31), 1, "the reminder")
        assert info.value.latest_due == D(9999, 12, 31)
        with pytest.raises(
            InvalidPlanError,
            match=message("the cutoff would fall before 0001-01-01, the first day of the calendar"),
        ) as before:
            shift(D(1, 1, 1), -1, "the cutoff")
        assert type(before.value) is InvalidPlanError


class TestParsing:
    def test_common_spellings_name_a_cadence(self) -> None:
        assert [
            Cadence.parse(n) for n in (" Every Two Weeks", "semi_monthly", "Twice a month", Cadence.WEEKLY)
        ] == [
            Cadence.BIWEEKLY,
            Cadence.SEMIMONTHLY,
            Cadence.SEMIMONTHLY,
            Cadence.WEEKLY,
        ]

    def test_a_name_of_no_cadence_is_refused_listing_them(self) -> None:
        with pytest.raises(
            InvalidPlanError,
            match=message(
                "expected a cadence (weekly, biweekly, semimonthly, monthly, bimonthly), got 'yearly'"
            ),
        ):
            Cadence.parse("yearly")


class TestEveryCadence:
    """Each cadence's dates from one anchor, one at a time and as a series."""

    def test_weekly_and_every_two_weeks(self) -> None:
        anchor = D(2027, 12, 20)
        assert [Cadence.WEEKLY.nth(anchor, n) for n in (0, 1, 2, -1)] == [
            anchor,
            D(2027, 12, 27),
            D(2028, 1, 3),
            D(2027, 12, 13),
        ]
        assert [Cadence.BIWEEKLY.nth(anchor, n) for n in (0, 1, 2, -1)] == [
            anchor,
            D(2028, 1, 3),
            D(2028, 1, 17),
            D(2027, 12, 6),
        ]
        assert Cadence.WEEKLY.series(anchor, 1, 3) == (D(2027, 12, 27), D(2028, 1, 3), D(2028, 1, 10))
        assert Cadence.BIWEEKLY.series(anchor, 2, 2) == (D(2028, 1, 17), D(2028, 1, 31))

    def test_monthly_and_every_two_months_keep_the_day_clamped_to_the_month(self) -> None:
        assert [Cadence.MONTHLY.nth(D(2027, 11, 30), n) for n in (0, 1, 2, 3, -1)] == [
            D(2027, 11, 30),
            D(2027, 12, 30),
            D(2028, 1, 30),
            D(2028, 2, 29),
            D(2027, 10, 30),
        ]
        assert [Cadence.BIMONTHLY.nth(D(2027, 12, 31), n) for n in (0, 1, 2, -1)] == [
            D(2027, 12, 31),
            D(2028, 2, 29),
            D(2028, 4, 30),
            D(2027, 10, 31),
        ]
        assert Cadence.MONTHLY.series(D(2027, 11, 30), 1, 4) == (
            D(2027, 12, 30),
            D(2028, 1, 30),
            D(2028, 2, 29),
            D(2028, 3, 30),
        )
        assert Cadence.BIMONTHLY.series(D(2027, 11, 28), 1, 3) == (
            D(2028, 1, 28),
            D(2028, 3, 28),
            D(2028, 5, 28),
        )
        assert Cadence.BIMONTHLY.series(D(2027, 12, 31), 0, 3) == (
            D(2027, 12, 31),
            D(2028, 2, 29),
            D(2028, 4, 30),
        )
        assert Cadence.MONTHLY.dates(D(2027, 1, 15), 3) == (D(2027, 1, 15), D(2027, 2, 15), D(2027, 3, 15))

    def test_twice_a_month_as_a_series(self) -> None:
        assert Cadence.SEMIMONTHLY.series(D(2027, 1, 31), 1, 4) == (
            D(2027, 2, 16),
            D(2027, 2, 28),
            D(2027, 3, 16),
            D(2027, 3, 31),
        )
        assert Cadence.SEMIMONTHLY.series(D(2027, 12, 14), 0, 4) == (
            D(2027, 12, 14),
            D(2027, 12, 29),
            D(2028, 1, 14),
            D(2028, 1, 29),
        )
        assert Cadence.SEMIMONTHLY.series(D(2028, 1, 15), 2, 2) == (D(2028, 2, 15), D(2028, 2, 29))

    def test_a_series_past_the_end_of_the_calendar_is_refused_naming_it(self) -> None:
        with pytest.raises(
            ScheduleDoesNotFitError,
            match=message(
                "the last of 3 monthly date(s) from 9999-11-01 would fall after 9999-12-31, the last day of the calendar"
            ),
        ) as info:
            Cadence.MONTHLY.series(D(9999, 11, 1), 0, 3)
        assert info.value.latest_due == D(9999, 12, 31)

    def test_periods_per_year(self) -> None:
        assert [c.periods_per_year for c in Cadence] == [52, 26, 24, 12, 6]


class TestLeapYears:
    def test_february_has_29_days_every_4_years_but_not_every_100_unless_every_400(self) -> None:
        assert [add_months(D(y, 1, 31), 1) for y in (1900, 2000, 2024, 2027, 2100, 2400)] == [
            D(1900, 2, 28),
            D(2000, 2, 29),
            D(2024, 2, 29),
            D(2027, 2, 28),
            D(2100, 2, 28),
            D(2400, 2, 29),
        ]

    def test_the_29th_and_the_28th_of_january_a_month_on(self) -> None:
        assert [add_months(D(2027, 1, d), 1) for d in (28, 29, 30)] == [
            D(2027, 2, 28),
            D(2027, 2, 28),
            D(2027, 2, 28),
        ]
        assert add_months(D(2027, 1, 29), 2) == D(2027, 3, 29)


class TestDateRulesRefused:
    def test_explicit_dates_none_not_dates_or_out_of_order(self) -> None:
        with pytest.raises(
            InvalidPlanError, match=message("expected at least one explicit due date, got none")
        ):
            ExplicitDates(())
        when = dt.datetime(2027, 2, 1)
        with pytest.raises(
            InvalidPlanError, match=message(f"expected datetime.date values, got datetime {when!r}")
        ):
            ExplicitDates((D(2027, 1, 1), when))
        with pytest.raises(
            InvalidPlanError,
            match=message("expected explicit due dates in order, got ['2027-02-01', '2027-01-01']"),
        ):
            ExplicitDates((D(2027, 2, 1), D(2027, 1, 1)))
        assert ExplicitDates([D(2027, 1, 1), D(2027, 1, 1)]).dates == (D(2027, 1, 1), D(2027, 1, 1))

    def test_days_before_the_session_none_out_of_bounds_or_out_of_order(self) -> None:
        with pytest.raises(
            InvalidPlanError, match=message("expected at least one 'days before the session', got none")
        ):
            BeforeSession(())
        for bad in (-1, 3654, True, 1.0):
            with pytest.raises(
                InvalidPlanError,
                match=message(f"expected days before the session as whole days from 0 to 3653, got {bad!r}"),
            ):
                BeforeSession((bad,))  # type: ignore[arg-type]
        with pytest.raises(
            InvalidPlanError,
            match=message("expected days before the session from the largest to the smallest, got [30, 60]"),
        ):
            BeforeSession((30, 60))
        assert BeforeSession([3653, 30, 30, 0]).days == (3653, 30, 30, 0)

    def test_days_before_a_session_early_in_year_1(self) -> None:
        assert BeforeSession((4, 0)).dates(D(1, 1, 5)) == (D(1, 1, 1), D(1, 1, 5))
        with pytest.raises(
            InvalidPlanError,
            match=message(
                "the due date 10 days before the session 0001-01-05 would fall before 0001-01-01, "
                "the first day of the calendar"
            ),
        ) as info:
            BeforeSession((10, 2)).dates(D(1, 1, 5))
        assert type(info.value) is InvalidPlanError


class TestThe29thOfFebruary:
    def test_a_series_from_the_29th_clamps_to_the_28th_outside_leap_years(self) -> None:
        assert Cadence.MONTHLY.series(D(2027, 1, 29), 0, 3) == (
            D(2027, 1, 29),
            D(2027, 2, 28),
            D(2027, 3, 29),
        )
        assert Cadence.MONTHLY.series(D(2027, 1, 28), 0, 2) == (D(2027, 1, 28), D(2027, 2, 28))

    def test_twice_a_month_pairing_on_the_29th_clamps_too(self) -> None:
        assert Cadence.SEMIMONTHLY.series(D(2027, 1, 14), 0, 4) == (
            D(2027, 1, 14),
            D(2027, 1, 29),
            D(2027, 2, 14),
            D(2027, 2, 28),
        )
        assert Cadence.SEMIMONTHLY.series(D(2027, 1, 29), 0, 4) == (
            D(2027, 1, 29),
            D(2027, 2, 14),
            D(2027, 2, 28),
            D(2027, 3, 14),
        )
        assert Cadence.SEMIMONTHLY.series(D(2027, 1, 13), 2, 2) == (D(2027, 2, 13), D(2027, 2, 28))


class TestCheckDay:
    def test_only_a_date_is_a_date(self) -> None:
        assert check_day(D(2027, 1, 1), "as_of") is None
        for bad in (dt.datetime(2027, 1, 1), "2027-01-01", None):
            with pytest.raises(
                InvalidPlanError,
                match=message(f"expected as_of as a datetime.date, got {type(bad).__name__} {bad!r}"),
            ):
                check_day(bad, "as_of")
