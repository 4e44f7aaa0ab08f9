"""Bad input through the public API and the ``payplan`` command: a payplan error, never a traceback."""

from __future__ import annotations

from decimal import Decimal

import pytest

import payplan
from payplan import InvalidMoneyError, Money


class TestMoneyOfLargeAmounts:
    @pytest.mark.parametrize(
        ("text", "minor"),
        [
            ("99999999999999999999999999999", 9999999999999999999999999999900),
            ("99999999999999999999999999999.99", 9999999999999999999999999999999),
            ("1e30", 10**32),
        ],
    )
    def test_exact_beyond_the_default_decimal_precision(self, text: str, minor: int) -> None:
        """An amount with more than 28 digits is kept exactly, never rounded by the decimal context."""
        assert Money.of(text, "USD").minor == minor
        assert Money.of(Decimal(text), "USD").minor == minor

    @pytest.mark.parametrize("text", ["1e4000", "1e999999999", "9" * 4001])
    def test_absurdly_large_amount_refused(self, text: str) -> None:
        """An amount too large to be money is refused with a payplan error, not a ValueError or a hang."""
        with pytest.raises(InvalidMoneyError, match="at most 4000 digits"):
            Money.of(text, "USD")

    def test_large_amount_formats(self) -> None:
        """A large amount formats with all its digits instead of raising decimal.InvalidOperation."""
        m = Money.of("99999999999999999999999999999.99", "USD")
        assert m.format("en_US") == "$99,999,999,999,999,999,999,999,999,999.99"
        assert isinstance(m.format("de_DE"), str)


def test_errors_are_payplan_errors() -> None:
    """InvalidMoneyError is part of the payplan tree (callers catch one base class)."""
    assert issubclass(InvalidMoneyError, payplan.PayplanError)
