"""Money at its exact edges, and its refusals word for word (#26 item 1: mutants `make mutation` found alive).

Each test here was written against a mutant of ``payplan._money`` that the
suite let live (``tests/mutation/report.md``) and checked to fail on it. The
expected values are worked out by hand, not by the code under test.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from decimal import Decimal

import pytest

import payplan._money
from payplan import (
    Currency,
    CurrencyMismatchError,
    InvalidMoneyError,
    Money,
    Remainder,
    UnknownCurrencyError,
    allocate,
    format_money,
    split,
    to_currency,
)


def usd(minor: int) -> Money:
    return Money(minor, "USD")


class TestOrder:
    def test_each_comparison_at_equality_and_one_cent_apart(self) -> None:
        one, two = usd(1), usd(2)
        assert (one < two, two < one, one < usd(1)) == (True, False, False)
        assert (one <= two, two <= one, one <= usd(1)) == (True, False, True)
        assert (one > two, two > one, one > usd(1)) == (False, True, False)
        assert (one >= two, two >= one, one >= usd(1)) == (False, True, True)

    @pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge])
    def test_comparing_two_currencies_says_which(self, compare: Callable[[Money, Money], bool]) -> None:
        with pytest.raises(
            CurrencyMismatchError, match=r"^cannot compare EUR and USD: expected both amounts in USD$"
        ):
            compare(usd(1), Money(1, "EUR"))

    def test_comparing_with_a_number_is_not_an_order(self) -> None:
        """Money against a plain number falls back to Python's own refusal, not a silent answer."""
        for compare in (usd(1).__lt__, usd(1).__le__, usd(1).__gt__, usd(1).__ge__):
            assert compare(1) is NotImplemented  # type: ignore[arg-type]
            assert compare(usd(5)) in (True, False)

    def test_subtracting_two_currencies_says_which(self) -> None:
        with pytest.raises(
            CurrencyMismatchError, match=r"^cannot subtract EUR and USD: expected both amounts in USD$"
        ):
            usd(1) - Money(1, "EUR")


class TestArithmetic:
    def test_abs_and_zero(self) -> None:
        assert abs(usd(-250)) == usd(250)
        assert abs(usd(250)) == usd(250)
        assert abs(Money(-3, "JPY")).currency.code == "JPY"
        assert [usd(0).is_zero(), usd(1).is_zero(), usd(-1).is_zero()] == [True, False, False]

    def test_from_minor_is_the_count_of_minor_units(self) -> None:
        assert Money.from_minor(1005, "KWD") == Money.of("1.005", "KWD")
        assert Money.from_minor(1005, "usd").currency.code == "USD"

    def test_multiplying_by_a_fraction_is_refused_naming_it(self) -> None:
        with pytest.raises(
            InvalidMoneyError,
            match=re.escape(
                "Money can only be multiplied by an int, got float 1.5; use percent_of() for fractions"
            ),
        ):
            usd(100) * 1.5  # type: ignore[operator]


class TestOfAtItsLimits:
    def test_a_non_finite_amount_is_refused_naming_it(self) -> None:
        with pytest.raises(InvalidMoneyError, match=re.escape("expected a finite amount, got 'Infinity'")):
            Money.of("Infinity", "USD")

    def test_exactly_4000_digits_is_taken_exactly_and_one_more_is_refused(self) -> None:
        """3998 nines in dollars are 4000 digits of cents: the limit itself, taken to the last cent."""
        at_limit = Money.of("9" * 3998, "USD")
        assert at_limit.minor == int("9" * 3998) * 100
        with pytest.raises(InvalidMoneyError, match="expected an amount of at most 4000 digits"):
            Money.of("9" * 3999, "USD")


class TestSplitAndAllocate:
    def test_the_methods_are_the_functions(self) -> None:
        assert usd(10).split(3) == (usd(4), usd(3), usd(3))
        assert usd(10).split(3, remainder=Remainder.LAST) == (usd(3), usd(3), usd(4))
        assert usd(10).allocate([1, 1, 1]) == (usd(4), usd(3), usd(3))
        assert usd(10).allocate([1, 1, 1], remainder=Remainder.LAST) == (usd(3), usd(3), usd(4))
        assert usd(10).percent_of(25, rounding="ROUND_HALF_UP") == usd(3)  # 2.5 cents rounds up

    def test_one_cent_over_two_equal_weights_goes_to_the_last_with_last(self) -> None:
        assert allocate(usd(1), [1, 1], remainder=Remainder.LAST) == (usd(0), usd(1))
        assert allocate(usd(1), [1, 1]) == (usd(1), usd(0))

    def test_left_over_cents_go_to_the_largest_fractions_then_from_the_end(self) -> None:
        """10 cents by 14:14:14:58 is 1.4, 1.4, 1.4 and 5.8 cents: floors 1, 1, 1, 5 leave 2 cents.

        The first goes to the largest fraction (5.8, the last part); the
        second to a tie of 0.4s, which LAST breaks from the end (the third
        part): 1, 1, 2, 6. No part takes both.
        """
        assert allocate(usd(10), [14, 14, 14, 58], remainder=Remainder.LAST) == (
            usd(1),
            usd(1),
            usd(2),
            usd(6),
        )
        assert allocate(usd(10), [14, 14, 14, 58]) == (usd(2), usd(1), usd(1), usd(6))

    def test_a_negative_total_mirrors_the_positive_one(self) -> None:
        assert allocate(usd(-5), [1, 1]) == (usd(-3), usd(-2))
        assert allocate(usd(0), [1, 2]) == (usd(0), usd(0))
        assert split(usd(-5), 2) == (usd(-3), usd(-2))

    @pytest.mark.parametrize(
        ("weights", "message"),
        [
            ([], "expected at least one weight, got none"),
            ([1, -1], "expected weights of zero or more, got [1, -1]"),
            ([0, "0"], "expected weights that are not all zero, got [0, '0']"),
            (
                [1, 0.5],
                "expected a weight as a str, int or Decimal, got float 0.5; floats cannot hold money exactly",
            ),
            (["1", "half"], "expected a weight as a decimal number, got 'half'"),
        ],
    )
    def test_bad_weights_are_refused_saying_what_was_expected(
        self, weights: list[object], message: str
    ) -> None:
        with pytest.raises(InvalidMoneyError, match=f"^{re.escape(message)}$"):
            allocate(usd(10), weights)  # type: ignore[arg-type]


class TestFormat:
    def test_the_currency_keeps_its_iso_decimals_whatever_the_locale_data_says(self) -> None:
        """ISO 4217 gives the Iraqi dinar 3 decimals; Babel's CLDR data rounds it to none."""
        assert Money.of("1234.567", "IQD").format("en_US") == "IQD1,234.567"
        assert Money.of("1234.50", "EUR").format("de_DE") == "1.234,50\xa0€"
        assert Money.of("1234", "JPY").format() == "¥1,234"
        assert Money.of("1234.50", "USD").format("en_US") == "$1,234.50"

    def test_a_long_amount_is_formatted_to_the_last_cent(self) -> None:
        """10^60 dollars and a cent, 10^37 dinars and a fils: more digits than the default decimal context holds."""
        text = Money(10**62 + 1, "USD").format("en_US")
        assert text == "$1" + ",000" * 20 + ".01"
        assert Money(10**40 + 1, "KWD").format("en_US") == "KWD10" + ",000" * 12 + ".001"
        assert Money(10**40 + 1, "JPY").format("en_US") == "¥10" + ",000" * 12 + ",001"

    def test_an_unknown_locale_is_refused_naming_it(self) -> None:
        with pytest.raises(
            InvalidMoneyError, match=re.escape("expected a locale such as 'en_US' or 'de_DE', got 'xx_YY'")
        ):
            Money.of("1", "USD").format("xx_YY")

    def test_amount_is_exact(self) -> None:
        assert Money(-5, "KWD").amount == Decimal("-0.005")


class TestFormatFirstTime:
    """A locale's pattern is built on its first use and kept (``format_money``'s module-level cache).

    Each test starts from an empty cache, so the pattern it checks is the one built then, and
    formats twice, so the kept pattern gives the same text as the one just built.
    """

    @pytest.fixture(autouse=True)
    def _empty_pattern_cache(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(payplan._money, "_PATTERNS", {})

    @pytest.mark.parametrize(
        ("amount", "currency", "locale", "text"),
        [
            ("1234.567", "IQD", "en_US", "IQD1,234.567"),
            ("1234.50", "EUR", "de_DE", "1.234,50\xa0€"),
            ("1234", "JPY", "en_US", "¥1,234"),
            ("0.05", "USD", "en_US", "$0.05"),
        ],
    )
    def test_built_then_kept(self, amount: str, currency: str, locale: str, text: str) -> None:
        money = Money.of(amount, currency)
        assert (format_money(money, locale), format_money(money, locale)) == (text, text)

    def test_the_default_locale_is_en_us(self) -> None:
        assert format_money(Money.of("1234.5", "USD")) == "$1,234.50"
        assert Money.of("1234.5", "USD").format() == "$1,234.50"


class TestPercentRounding:
    MODES = (
        "ROUND_CEILING",
        "ROUND_DOWN",
        "ROUND_FLOOR",
        "ROUND_HALF_DOWN",
        "ROUND_HALF_EVEN",
        "ROUND_HALF_UP",
        "ROUND_UP",
        "ROUND_05UP",
    )

    @pytest.mark.parametrize("rounding", MODES)
    def test_every_mode_agrees_with_decimal_at_every_fraction_of_a_cent(self, rounding: str) -> None:
        """Against :mod:`decimal`'s own quantize (an oracle written apart from payplan's integer rounding).

        Percents from 0 to 100 in tenths of a cent's worth, on a cent and on a dime, either sign: every
        fraction of a cent a half-way or an off-by-one rule could get wrong (0.4, 0.5 and 0.6 of a cent,
        a ...5 or ...0 before it for ROUND_05UP).
        """
        for minor in (-101, -11, -1, 0, 1, 10, 11, 15, 101):
            for tenths in range(0, 1001, 5):
                percent = Decimal(tenths) / 10
                exact = Decimal(minor) * percent / 100
                expected = int(exact.quantize(Decimal(1), rounding=rounding))
                assert usd(minor).percent_of(percent, rounding=rounding) == usd(expected), (minor, percent)

    def test_a_percentage_that_is_not_finite_is_refused_naming_it(self) -> None:
        with pytest.raises(InvalidMoneyError, match=r"^expected a finite percentage, got 'NaN'$"):
            usd(100).percent_of("NaN", rounding="ROUND_HALF_UP")


class TestSameCurrency:
    def test_an_equal_currency_built_apart_is_the_same_currency(self) -> None:
        assert Money(1, Currency("USD", 2)) + usd(1) == usd(2)
        assert usd(3) - Money(1, Currency("USD", 2)) == usd(2)

    def test_adding_two_currencies_says_which(self) -> None:
        with pytest.raises(
            CurrencyMismatchError, match=r"^cannot add EUR and USD: expected both amounts in USD$"
        ):
            usd(1) + Money(1, "EUR")


class TestCurrencyFirstTime:
    """A code is looked up in ISO 4217 on its first use and kept (``to_currency``'s module-level cache).

    Each test starts from an empty cache, so the lookup it checks is the one made then.
    """

    @pytest.fixture(autouse=True)
    def _empty_currency_cache(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(payplan._money, "_CURRENCIES", {})

    @pytest.mark.parametrize(
        ("code", "expected"), [(" usd ", ("USD", 2)), ("JPY", ("JPY", 0)), ("kwd", ("KWD", 3))]
    )
    def test_a_code_in_any_case_is_its_iso_currency_with_its_decimals(
        self, code: str, expected: tuple[str, int]
    ) -> None:
        first = to_currency(code)
        assert (first.code, first.exponent) == expected
        assert to_currency(code) == first == to_currency(expected[0])

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (
                "ABC",
                "expected an ISO 4217 currency code with a minor unit such as 'USD', got 'ABC', which is not an ISO 4217 code",
            ),
            (
                "XAU",
                "expected an ISO 4217 currency code with a minor unit such as 'USD', got 'XAU', which has no minor unit",
            ),
            (
                "XXX",
                "expected an ISO 4217 currency code with a minor unit such as 'USD', got 'XXX', which has no minor unit",
            ),
            (840, "expected a currency code string or Currency, got int 840"),
        ],
    )
    def test_refused_saying_why(self, value: object, message: str) -> None:
        with pytest.raises(UnknownCurrencyError, match=f"^{re.escape(message)}$"):
            to_currency(value)  # type: ignore[arg-type]
        with pytest.raises(UnknownCurrencyError, match=f"^{re.escape(message)}$"):
            to_currency(value)  # type: ignore[arg-type]


class TestParsing:
    def test_underscores_group_digits(self) -> None:
        assert Money.of("1_000.50", "USD") == usd(100050)
        assert Money.of(" 1_000_000 ", "USD") == usd(100000000)

    @pytest.mark.parametrize("text", ["5 _", "_ 5", "+_0 _", "1_ 000"])
    def test_an_underscore_beside_a_space_is_not_a_digit_group(self, text: str) -> None:
        with pytest.raises(InvalidMoneyError, match=f"^expected amount as a decimal number, got {re.escape(repr(text))}$"):
            Money.of(text, "USD")

    def test_zero_has_no_sign(self) -> None:
        assert (
            Money(0, "USD").to_decimal_string(),
            str(Money(0, "JPY")),
            Money(-1, "USD").to_decimal_string(),
        ) == ("0.00", "0 JPY", "-0.01")

    @pytest.mark.parametrize(
        ("build", "message"),
        [
            (lambda: Money(1.5, "USD"), "expected an integer count of minor units, got float 1.5"),
            (lambda: Money.of([1], "USD"), "expected amount as a str, int or Decimal, got list [1]"),
            (
                lambda: usd(100).percent_of("x", rounding="ROUND_HALF_UP"),
                "expected percent as a decimal number, got 'x'",
            ),
            (
                lambda: usd(100).percent_of("5X", rounding="ROUND_HALF_UP"),
                "expected percent as a decimal number, got '5X'",
            ),
            (lambda: allocate(usd(100), ["1", "x"]), "expected a weight as a decimal number, got 'x'"),
        ],
    )
    def test_refused_naming_what_arrived(self, build: Callable[[], object], message: str) -> None:
        with pytest.raises(InvalidMoneyError, match=f"^{re.escape(message)}$"):
            build()

    def test_a_percent_sign_is_allowed(self) -> None:
        assert usd(1000).percent_of("12.5%", rounding="ROUND_HALF_UP") == usd(125)
