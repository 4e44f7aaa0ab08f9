"""Worked examples for Money, Currency, split, allocate and percent_of."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest

from payplan import (
    Currency,
    CurrencyMismatchError,
    InvalidMoneyError,
    Money,
    Remainder,
    UnknownCurrencyError,
    allocate,
    percent_of,
    split,
    to_currency,
)


class TestCurrency:
    def test_exponent_comes_from_iso_4217(self) -> None:
        """JPY has 0 decimals, USD 2 and KWD 3, straight from the ISO table."""
        assert to_currency("JPY").exponent == 0
        assert to_currency("USD").exponent == 2
        assert to_currency("KWD").exponent == 3
        assert to_currency("IQD").exponent == 3

    def test_lower_case_codes_are_normalised(self) -> None:
        """A lower-case code names the same currency."""
        assert to_currency("usd") == to_currency("USD") == Currency("USD", 2)

    @pytest.mark.parametrize("code", ["ZZZ", "US", "", "XAU", "XXX"])
    def test_unknown_or_unitless_codes_are_refused(self, code: str) -> None:
        """Codes outside ISO 4217, or without a minor unit, raise UnknownCurrencyError."""
        with pytest.raises(UnknownCurrencyError, match="ISO 4217"):
            to_currency(code)

    def test_non_string_is_refused(self) -> None:
        """A number is not a currency."""
        with pytest.raises(UnknownCurrencyError, match="expected a currency code"):
            to_currency(840)  # type: ignore[arg-type]


class TestConstruction:
    def test_of_major_units(self) -> None:
        """Money.of reads major units from strings, Decimals and ints."""
        assert Money.of("500.00", "USD") == Money(50000, "USD")
        assert Money.of(Decimal("12.5"), "USD").minor == 1250
        assert Money.of(7, "JPY") == Money(7, "JPY")
        assert Money.of("1.234", "KWD").minor == 1234

    @pytest.mark.parametrize("bad", [1.5, True, None, [1]])
    def test_floats_bools_and_others_are_refused(self, bad: object) -> None:
        """Floats and bools never become money."""
        with pytest.raises(InvalidMoneyError, match="expected amount"):
            Money.of(bad, "USD")  # type: ignore[arg-type]

    def test_minor_units_must_be_an_int(self) -> None:
        """The raw constructor refuses floats and bools too."""
        with pytest.raises(InvalidMoneyError, match="integer count of minor units"):
            Money(1.0, "USD")  # type: ignore[arg-type]
        with pytest.raises(InvalidMoneyError):
            Money(True, "USD")

    @pytest.mark.parametrize(("amount", "code"), [("2000.001", "USD"), ("1.5", "JPY"), ("0.0001", "KWD")])
    def test_too_many_decimals_are_refused_not_rounded(self, amount: str, code: str) -> None:
        """An amount finer than the currency's minor unit is an error, never rounded."""
        with pytest.raises(InvalidMoneyError, match="decimal place"):
            Money.of(amount, code)

    def test_trailing_zeros_beyond_the_exponent_are_fine(self) -> None:
        """'5.000' USD is exact, so it is accepted."""
        assert Money.of("5.000", "USD").minor == 500

    @pytest.mark.parametrize("text", ["abc", "1,000", "NaN", "Infinity", ""])
    def test_malformed_numbers_are_refused(self, text: str) -> None:
        """Text that is not a finite decimal number is refused."""
        with pytest.raises(InvalidMoneyError):
            Money.of(text, "USD")


class TestArithmetic:
    def test_add_subtract_negate_multiply(self) -> None:
        """Arithmetic within one currency stays exact."""
        a, b = Money.of("10.05", "USD"), Money.of("0.10", "USD")
        assert a + b == Money(1015, "USD")
        assert a - b == Money(995, "USD")
        assert -a == Money(-1005, "USD")
        assert a * 3 == 3 * a == Money(3015, "USD")

    def test_currencies_never_mix(self) -> None:
        """Adding, subtracting or comparing two currencies raises CurrencyMismatchError."""
        usd, eur = Money(1, "USD"), Money(1, "EUR")
        with pytest.raises(CurrencyMismatchError, match="EUR and USD"):
            usd + eur
        with pytest.raises(CurrencyMismatchError):
            usd - eur
        with pytest.raises(CurrencyMismatchError):
            _ = usd < eur

    def test_equal_minor_units_in_different_currencies_are_not_equal(self) -> None:
        """5 USD is not 5 JPY."""
        assert Money(5, "USD") != Money(5, "JPY")

    def test_multiplying_by_a_float_is_refused(self) -> None:
        """Fractions go through percent_of, not *."""
        with pytest.raises(InvalidMoneyError, match="only be multiplied by an int"):
            Money(100, "USD") * 1.5  # type: ignore[operator]

    def test_there_is_no_division(self) -> None:
        """Money has no / operator."""
        with pytest.raises(TypeError):
            Money(100, "USD") / 3  # type: ignore[operator]

    def test_comparisons(self) -> None:
        """Amounts of one currency order by their minor units."""
        assert Money(1, "USD") < Money(2, "USD") <= Money(2, "USD")
        assert Money(3, "USD") > Money(2, "USD") >= Money(2, "USD")


class TestFormatting:
    def test_decimal_string_has_the_currency_decimals(self) -> None:
        """to_decimal_string pads to exactly the currency's decimals."""
        assert Money(5, "USD").to_decimal_string() == "0.05"
        assert Money(-5, "KWD").to_decimal_string() == "-0.005"
        assert Money(1200, "JPY").to_decimal_string() == "1200"

    def test_locale_formatting(self) -> None:
        """Babel formats for the locale but keeps ISO decimals."""
        assert Money.of("1234.50", "USD").format("en_US") == "$1,234.50"
        assert Money.of("1234.50", "EUR").format("de_DE") == "1.234,50\xa0€"
        assert Money.of("1234", "JPY").format("en_US") == "¥1,234"
        assert Money.of("1.234", "KWD").format("en_US") == "KWD1.234"

    def test_unknown_locale_is_refused(self) -> None:
        """A locale Babel does not know is a clear error."""
        with pytest.raises(InvalidMoneyError, match="expected a locale"):
            Money(1, "USD").format("xx_YY")

    def test_repr_and_str(self) -> None:
        """repr and str show the decimal amount and the code."""
        assert repr(Money(50000, "USD")) == "Money('500.00', 'USD')"
        assert str(Money(50000, "USD")) == "500.00 USD"


class TestSplit:
    def test_remainder_first(self) -> None:
        """Extra cents go to the earliest parts by default."""
        assert [m.minor for m in split(Money(1000, "USD"), 3)] == [334, 333, 333]

    def test_remainder_last(self) -> None:
        """With Remainder.LAST they go to the latest parts."""
        assert [m.minor for m in split(Money(1000, "USD"), 3, remainder=Remainder.LAST)] == [333, 333, 334]

    def test_negative_total_mirrors(self) -> None:
        """A negative total splits as the mirror image of the positive one."""
        assert [m.minor for m in split(Money(-1000, "USD"), 3)] == [-334, -333, -333]

    @pytest.mark.parametrize("n", [0, -1, 1.5, True])
    def test_bad_part_counts_are_refused(self, n: object) -> None:
        """The number of parts is a positive int."""
        with pytest.raises(InvalidMoneyError, match="positive number of parts"):
            split(Money(100, "USD"), n)  # type: ignore[arg-type]


class TestAllocate:
    def test_largest_remainders_get_the_extra_units(self) -> None:
        """Floors first, then leftover units to the largest fractional remainders."""
        assert [m.minor for m in allocate(Money(100, "USD"), [1, 1, 1])] == [34, 33, 33]
        assert [m.minor for m in allocate(Money(100, "USD"), [70, 20, 10])] == [70, 20, 10]
        assert [m.minor for m in allocate(Money(5, "JPY"), ["1.5", "1.5", "2"])] == [2, 1, 2]

    def test_ties_go_last_with_remainder_last(self) -> None:
        """Remainder.LAST breaks ties towards later parts."""
        assert [m.minor for m in allocate(Money(100, "USD"), [1, 1, 1], remainder=Remainder.LAST)] == [33, 33, 34]

    @pytest.mark.parametrize("weights", [[], [0, 0], [-1, 2], [0.5, 0.5]])
    def test_bad_weights_are_refused(self, weights: list[object]) -> None:
        """Empty, all-zero, negative and float weights are errors."""
        with pytest.raises(InvalidMoneyError):
            allocate(Money(100, "USD"), weights)  # type: ignore[arg-type]


class TestPercentOf:
    def test_rounding_is_stated(self) -> None:
        """percent_of rounds by the named decimal mode."""
        assert percent_of(Money(10, "USD"), 25, rounding=ROUND_HALF_UP).minor == 3
        assert percent_of(Money(10, "USD"), 25, rounding=ROUND_HALF_EVEN).minor == 2
        assert Money(200000, "USD").percent_of("12.5", rounding=ROUND_HALF_EVEN).minor == 25000

    def test_unknown_rounding_is_refused(self) -> None:
        """Only the decimal module's modes are accepted."""
        with pytest.raises(InvalidMoneyError, match="rounding mode"):
            percent_of(Money(10, "USD"), 25, rounding="ROUND_NEAREST")

    def test_float_percent_is_refused(self) -> None:
        """A float percentage is refused like a float amount."""
        with pytest.raises(InvalidMoneyError):
            percent_of(Money(10, "USD"), 2.5, rounding=ROUND_HALF_UP)  # type: ignore[arg-type]

    def test_percent_sign_is_accepted_in_text(self) -> None:
        """'25%' reads as 25."""
        assert percent_of(Money(400, "USD"), "25%", rounding=ROUND_HALF_UP).minor == 100
