"""Pins for the calendar's due dates at their exact edges (#26 item 1: mutants of ``payplan._calendar`` found alive).

Each test pins a date to the day, or a refusal word for word with the date
it carries, and was checked to fail on the mutants it was written against
(mutmut, this session). The dates are worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from payplan import Cadence, InvalidPlanError, ScheduleDoesNotFitError, add_months

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
