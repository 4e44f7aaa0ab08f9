"""Property tests for exact money arithmetic and division."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from payplan import Money, Remainder, allocate, percent_of, split
from strategies import currencies, remainders

minors = st.integers(-(10**12), 10**12)


class TestSplitProperties:
    @given(minors, currencies, st.integers(1, 50), remainders)
    def test_parts_add_back_up(self, minor: int, cur: object, n: int, rem: Remainder) -> None:
        """Parts always add back up to the total."""
        parts = split(Money(minor, cur), n, remainder=rem)  # type: ignore[arg-type]
        assert len(parts) == n
        assert sum(p.minor for p in parts) == minor

    @given(minors, currencies, st.integers(1, 50), remainders)
    def test_no_part_is_a_whole_unit_from_its_share(self, minor: int, cur: object, n: int, rem: Remainder) -> None:
        """Every part is within one minor unit of the exact share total / n."""
        parts = split(Money(minor, cur), n, remainder=rem)  # type: ignore[arg-type]
        exact = Fraction(minor, n)
        assert all(abs(p.minor - exact) < 1 for p in parts)

    @given(st.integers(0, 10**12), st.integers(1, 50), remainders)
    def test_extra_units_sit_where_the_policy_says(self, minor: int, n: int, rem: Remainder) -> None:
        """The larger parts are the earliest (FIRST) or the latest (LAST)."""
        parts = [p.minor for p in split(Money(minor, "USD"), n, remainder=rem)]
        expected = sorted(parts, reverse=rem is Remainder.FIRST)
        assert parts == expected

    @given(st.integers(0, 10**12), st.integers(1, 50), remainders)
    def test_negative_total_mirrors_positive(self, minor: int, n: int, rem: Remainder) -> None:
        """split(-x) is the negation of split(x), part by part."""
        pos = split(Money(minor, "USD"), n, remainder=rem)
        neg = split(Money(-minor, "USD"), n, remainder=rem)
        assert [-p.minor for p in pos] == [p.minor for p in neg]


weights = st.lists(st.integers(0, 1000), min_size=1, max_size=20).filter(lambda w: sum(w) > 0)


class TestAllocateProperties:
    @given(minors, weights, remainders)
    def test_parts_add_back_up(self, minor: int, w: list[int], rem: Remainder) -> None:
        """Allocated parts always add back up to the total."""
        parts = allocate(Money(minor, "EUR"), w, remainder=rem)
        assert sum(p.minor for p in parts) == minor

    @given(minors, weights, remainders)
    def test_no_part_is_a_whole_unit_from_its_share(self, minor: int, w: list[int], rem: Remainder) -> None:
        """Every part is within one minor unit of total * w / sum(w)."""
        parts = allocate(Money(minor, "EUR"), w, remainder=rem)
        total = sum(w)
        assert all(abs(p.minor - Fraction(minor * wi, total)) < 1 for p, wi in zip(parts, w, strict=True))

    @given(st.integers(0, 10**9), weights)
    def test_zero_weight_gets_nothing(self, minor: int, w: list[int]) -> None:
        """A part with weight zero is allocated zero."""
        parts = allocate(Money(minor, "JPY"), w)
        assert all(p.minor == 0 for p, wi in zip(parts, w, strict=True) if wi == 0)


class TestPercentOfProperties:
    @given(minors, st.decimals(0, 1000, places=3, allow_nan=False, allow_infinity=False),
           st.sampled_from([ROUND_HALF_UP, ROUND_HALF_EVEN]))
    def test_matches_exact_decimal_rounding(self, minor: int, pct: Decimal, rounding: str) -> None:
        """percent_of equals the exact product rounded once by the stated mode (ties by the mode's own rule)."""
        got = percent_of(Money(minor, "USD"), pct, rounding=rounding).minor
        assert got == _rounded(Fraction(minor) * Fraction(pct) / 100, rounding)

    @given(st.integers(-(10**9), 10**9), st.sampled_from([ROUND_HALF_UP, ROUND_HALF_EVEN]))
    def test_ties_follow_the_mode(self, k: int, rounding: str) -> None:
        """Exactly half a minor unit (50% of an odd amount): half up goes away from zero, half even to even."""
        minor = 2 * k + 1
        got = percent_of(Money(minor, "USD"), Decimal(50), rounding=rounding).minor
        away = k + 1 if minor > 0 else k
        even = k if k % 2 == 0 else k + 1
        assert got == (away if rounding == ROUND_HALF_UP else even)


def _rounded(exact: Fraction, rounding: str) -> int:
    """*exact* to an integer with only integer arithmetic: the oracle for the rounding modes."""
    sign = -1 if exact < 0 else 1
    magnitude = abs(exact)
    whole, rest = divmod(magnitude.numerator, magnitude.denominator)
    twice = 2 * rest
    if twice > magnitude.denominator or (
        twice == magnitude.denominator and (rounding == ROUND_HALF_UP or whole % 2 == 1)
    ):
        whole += 1
    return sign * whole


class TestMajorUnitsRoundTrip:
    @given(minors, currencies)
    def test_decimal_string_round_trips(self, minor: int, cur: object) -> None:
        """Money.of(m.to_decimal_string()) == m for every currency exponent."""
        m = Money(minor, cur)  # type: ignore[arg-type]
        assert Money.of(m.to_decimal_string(), m.currency) == m
        assert Money.of(m.amount, m.currency) == m
