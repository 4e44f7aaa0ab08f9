"""The schedule builder's fast paths give exactly what the straightforward code gives."""

from __future__ import annotations

import datetime as dt
from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    localcontext,
)

from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from payplan import Cadence, Money, Remainder, percent_of, split
from strategies import cadences, dates

ROUNDINGS = [ROUND_05UP, ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP]
percents = st.one_of(
    st.integers(0, 1000),
    st.decimals(-200, 1000, places=4, allow_nan=False, allow_infinity=False),
    st.decimals(0, 100, places=1, allow_nan=False, allow_infinity=False).map(str),
)


def _reference_percent(minor: int, percent: object, rounding: str) -> int:
    with localcontext() as ctx:
        ctx.prec = 200
        value = Decimal(minor) * Decimal(str(percent)) / 100
        return int(value.quantize(Decimal(1), rounding=rounding))


class TestPercentOf:
    @given(st.integers(-(10**15), 10**15), percents, st.sampled_from(ROUNDINGS))
    def test_integer_rounding_matches_decimal(self, minor: int, percent: int | Decimal | str, rounding: str) -> None:
        """percent_of rounds exactly as Decimal.quantize does, in every rounding mode."""
        got = percent_of(Money(minor, "USD"), percent, rounding=rounding)
        assert got.minor == _reference_percent(minor, percent, rounding)

    @given(st.integers(-(10**40), 10**40), st.sampled_from(ROUNDINGS))
    def test_repeated_percent_gives_same_answer(self, minor: int, rounding: str) -> None:
        """A percent seen before (and cached) gives the same result as a fresh one."""
        first = percent_of(Money(minor, "EUR"), Decimal("12.5"), rounding=rounding)
        again = percent_of(Money(minor, "EUR"), "12.5", rounding=rounding)
        assert first == again
        assert first.minor == _reference_percent(minor, "12.5", rounding)


class TestSplit:
    @given(st.integers(-(10**12), 10**12), st.integers(1, 50), st.sampled_from(list(Remainder)))
    def test_parts_add_up_and_differ_by_at_most_one(self, minor: int, n: int, remainder: Remainder) -> None:
        """Split parts sum to the total, and no two parts differ by more than one unit."""
        parts = split(Money(minor, "USD"), n, remainder=remainder)
        assert len(parts) == n
        assert sum(p.minor for p in parts) == minor
        assert max(p.minor for p in parts) - min(p.minor for p in parts) <= 1


def _relativedelta_nth(cadence: Cadence, anchor: dt.date, i: int) -> dt.date:
    if cadence is Cadence.MONTHLY:
        return anchor + relativedelta(months=i)
    if cadence is Cadence.BIMONTHLY:
        return anchor + relativedelta(months=2 * i)
    if cadence is Cadence.WEEKLY:
        return anchor + relativedelta(weeks=i)
    if cadence is Cadence.BIWEEKLY:
        return anchor + relativedelta(weeks=2 * i)
    months, odd = divmod(i, 2)
    if not odd:
        return anchor + relativedelta(months=months)
    if anchor.day <= 15:
        return anchor + relativedelta(months=months, day=anchor.day + 15)
    return anchor + relativedelta(months=months + 1, day=anchor.day - 15)


class TestCadenceSeries:
    @given(cadences, dates, st.integers(0, 3), st.integers(0, 30))
    def test_series_is_nth_for_each(self, cadence: Cadence, anchor: dt.date, start: int, count: int) -> None:
        """series() gives the same dates as nth() called one by one."""
        assert cadence.series(anchor, start, count) == tuple(cadence.nth(anchor, i) for i in range(start, start + count))

    @given(cadences, dates, st.integers(0, 60))
    def test_nth_matches_relativedelta(self, cadence: Cadence, anchor: dt.date, i: int) -> None:
        """Every cadence's n-th date is dateutil's, counted from the anchor (month ends clamped)."""
        assert cadence.nth(anchor, i) == _relativedelta_nth(cadence, anchor, i)
