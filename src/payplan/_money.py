"""Exact money: integer minor units paired with an ISO 4217 currency."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import Any, Final, SupportsIndex

import iso4217
from attrs import field, frozen

from .exceptions import CurrencyMismatchError, InvalidMoneyError, UnknownCurrencyError

__all__ = [
    "Currency",
    "Money",
    "Remainder",
    "allocate",
    "format_money",
    "percent_of",
    "split",
    "to_currency",
]

#: The most digits (minor units) :meth:`Money.of` parses; a bound on the work a string can ask for.
_MAX_DIGITS: Final = 4000

#: Rounding modes accepted by :func:`percent_of`, named as in :mod:`decimal`.
_ROUNDINGS: Final = frozenset(
    {
        "ROUND_CEILING",
        "ROUND_DOWN",
        "ROUND_FLOOR",
        "ROUND_HALF_DOWN",
        "ROUND_HALF_EVEN",
        "ROUND_HALF_UP",
        "ROUND_UP",
        "ROUND_05UP",
    }
)


class Remainder(enum.Enum):
    """Where the minor units that do not divide evenly go.

    ``FIRST`` (the default everywhere) gives them to the earliest parts,
    ``LAST`` to the latest ones.

    .. versionadded:: 0.1.0
    """

    FIRST = "first"
    LAST = "last"


@frozen(repr=False)
class Currency:
    """An ISO 4217 currency and the exponent of its minor unit.

    Build one with :func:`to_currency` (or pass a code string wherever a
    currency is expected): the exponent comes from the ISO 4217 table
    maintained in the ``iso4217`` package (JPY 0, USD 2, KWD 3), never from a
    guess.

    .. versionadded:: 0.1.0
    """

    code: str
    exponent: int

    def __repr__(self) -> str:
        return f"Currency({self.code!r})"

    def __str__(self) -> str:
        return self.code


_CURRENCIES: dict[str, Currency] = {}


def to_currency(value: str | Currency) -> Currency:
    """Return the :class:`Currency` for an ISO 4217 code (any case).

    Raises:
        UnknownCurrencyError: *value* is not an ISO 4217 code, or the
            currency has no minor unit (precious metals, ``XXX``).

    .. versionadded:: 0.1.0
    """
    if type(value) is Currency:
        return value
    if isinstance(value, str):
        found = _CURRENCIES.get(value)
        if found is not None:
            return found
        code = value.strip().upper()
        try:
            exponent = iso4217.Currency(code).exponent
        except ValueError:
            exponent = None
            known = False
        else:
            known = True
        if not known or exponent is None or len(code) != 3:
            why = "has no minor unit" if known else "is not an ISO 4217 code"
            raise UnknownCurrencyError(
                f"expected an ISO 4217 currency code with a minor unit such as 'USD', "
                f"got {value!r}, which {why}"
            )
        currency = Currency(code, exponent)
        _CURRENCIES[value] = currency
        _CURRENCIES[code] = currency
        return currency
    raise UnknownCurrencyError(
        f"expected a currency code string or Currency, got {type(value).__name__} {value!r}"
    )


def _strict_int(_: object, attribute: object, value: int) -> None:
    if type(value) is not int:
        raise InvalidMoneyError(
            f"expected an integer count of minor units, got {type(value).__name__} {value!r}"
        )


_NEW = object.__new__


def _money(minor: int, currency: Currency) -> Money:
    """Build a Money without re-validating: for values computed here from valid ones."""
    m = _NEW(Money)
    _SET_MINOR(m, minor)
    _SET_CURRENCY(m, currency)
    return m


@frozen(repr=False, eq=True, order=False)
class Money:
    """An exact amount of one currency, as an integer count of minor units.

    ``Money(50000, "USD")`` is $500.00; :meth:`of` takes major units
    (``Money.of("500.00", "USD")``). Floats and bools are refused, and so is
    an amount with more decimals than its currency has.

    Supported arithmetic: ``+``, ``-``, negation, ``* int`` and comparisons,
    all within one currency (mixing raises :class:`CurrencyMismatchError`).
    There is no ``/``: use :meth:`split`, :meth:`allocate` or
    :meth:`percent_of`, which say where the odd minor units go.

    .. versionadded:: 0.1.0
    """

    minor: int = field(validator=_strict_int)
    currency: Currency = field(converter=to_currency)

    # -- construction -------------------------------------------------------

    @classmethod
    def of(cls, amount: str | Decimal | int, currency: str | Currency) -> Money:
        """Build from an amount in major units (``"12.50"``, ``Decimal("12.5")``, ``12``).

        Raises:
            InvalidMoneyError: *amount* is a float or bool, is not a number,
                or has more decimals than *currency* allows.
            UnknownCurrencyError: *currency* is not a known ISO 4217 code.
        """
        cur = to_currency(currency)
        value = _to_decimal(amount, what="amount")
        if not value.is_finite():
            raise InvalidMoneyError(f"expected a finite amount, got {amount!r}")
        digits, exponent = value.as_tuple()[1:]
        assert isinstance(exponent, int)  # finite
        if len(digits) + exponent + cur.exponent > _MAX_DIGITS:
            raise InvalidMoneyError(f"expected an amount of at most {_MAX_DIGITS} digits, got {amount!r}")
        with localcontext() as ctx:
            # Exact at any size: the default 28 digits would round large amounts silently.
            ctx.prec = _MAX_DIGITS + len(digits) + cur.exponent
            scaled = value.scaleb(cur.exponent)
        if scaled != scaled.to_integral_value():
            raise InvalidMoneyError(
                f"expected at most {cur.exponent} decimal place(s) for {cur.code}, "
                f"got {amount!r}; payplan refuses to round money silently"
            )
        return _money(int(scaled), cur)

    @classmethod
    def from_minor(cls, minor: int, currency: str | Currency) -> Money:
        """Build from an integer count of minor units (cents for USD)."""
        return cls(minor, currency)

    @classmethod
    def zero(cls, currency: str | Currency) -> Money:
        """Return nothing of *currency*."""
        return _money(0, to_currency(currency))

    # -- reading ------------------------------------------------------------

    @property
    def amount(self) -> Decimal:
        """The amount in major units, as an exact Decimal with the currency's decimals."""
        return Decimal(self.minor).scaleb(-self.currency.exponent)

    def to_decimal_string(self) -> str:
        """The amount as a plain string with exactly the currency's decimals (``"500.00"``)."""
        exp = self.currency.exponent
        sign = "-" if self.minor < 0 else ""
        digits = str(abs(self.minor))
        if exp == 0:
            return sign + digits
        digits = digits.rjust(exp + 1, "0")
        return f"{sign}{digits[:-exp]}.{digits[-exp:]}"

    def format(self, locale: str = "en_US") -> str:
        """Format for a locale with Babel, keeping the currency's own decimals.

        ``Money.of("1234.50", "EUR").format("de_DE")`` is ``'1.234,50 €'``.
        """
        return format_money(self, locale)

    def __repr__(self) -> str:
        return f"Money({self.to_decimal_string()!r}, {self.currency.code!r})"

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency.code}"

    def is_zero(self) -> bool:
        """Whether this is no money at all."""
        return self.minor == 0

    # -- arithmetic ---------------------------------------------------------

    def _same(self, other: Money, op: str) -> None:
        if self.currency is not other.currency and self.currency != other.currency:
            raise CurrencyMismatchError(
                f"cannot {op} {other.currency.code} and {self.currency.code}: "
                f"expected both amounts in {self.currency.code}"
            )

    def __add__(self, other: Money) -> Money:
        if type(other) is not Money:
            return NotImplemented
        self._same(other, "add")
        return _money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if type(other) is not Money:
            return NotImplemented
        self._same(other, "subtract")
        return _money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return _money(-self.minor, self.currency)

    def __abs__(self) -> Money:
        return _money(abs(self.minor), self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            raise InvalidMoneyError(
                f"Money can only be multiplied by an int, got {type(factor).__name__} {factor!r};"
                " use percent_of() for fractions"
            )
        return _money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        self._same(other, "compare")
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        self._same(other, "compare")
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        self._same(other, "compare")
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        self._same(other, "compare")
        return self.minor >= other.minor

    # -- division, stated --------------------------------------------------

    def split(self, n: int, *, remainder: Remainder = Remainder.FIRST) -> tuple[Money, ...]:
        """Split into *n* parts that add back up exactly; see :func:`split`."""
        return split(self, n, remainder=remainder)

    def allocate(
        self, weights: Sequence[int | Decimal | str], *, remainder: Remainder = Remainder.FIRST
    ) -> tuple[Money, ...]:
        """Split by *weights* into parts that add back up exactly; see :func:`allocate`."""
        return allocate(self, weights, remainder=remainder)

    def percent_of(self, percent: int | Decimal | str, *, rounding: str) -> Money:
        """Return *percent* % of this amount; see :func:`percent_of`."""
        return percent_of(self, percent, rounding=rounding)


# The slots' own setters: they write a frozen instance without going through
# __setattr__, and cost less than object.__setattr__ (no name lookup).
_SET_MINOR = Money.__dict__["minor"].__set__
_SET_CURRENCY = Money.__dict__["currency"].__set__

_PATTERNS: dict[tuple[str, int], tuple[Any, Any]] = {}


def format_money(money: Money, locale: str = "en_US") -> str:
    """Format *money* for *locale* (Babel/CLDR patterns, ISO 4217 decimals).

    Raises:
        InvalidMoneyError: *locale* is not a locale Babel knows.
    """
    import copy

    from babel import Locale, UnknownLocaleError

    key = (locale, money.currency.exponent)
    cached = _PATTERNS.get(key)
    if cached is None:
        try:
            loc = Locale.parse(locale)
        except (UnknownLocaleError, ValueError, TypeError):
            raise InvalidMoneyError(f"expected a locale such as 'en_US' or 'de_DE', got {locale!r}") from None
        pattern = copy.copy(loc.currency_formats["standard"])
        exp = money.currency.exponent
        pattern.frac_prec = (exp, exp)
        cached = _PATTERNS[key] = (loc, pattern)
    loc, pattern = cached
    with localcontext() as ctx:
        # Babel quantizes in the current context: give it every digit of the amount.
        ctx.prec = max(ctx.prec, len(str(abs(money.minor))) + money.currency.exponent + 2)
        return str(pattern.apply(money.amount, loc, currency=money.currency.code, currency_digits=False))


def _to_decimal(value: object, *, what: str) -> Decimal:
    if isinstance(value, (bool, float)):
        raise InvalidMoneyError(
            f"expected {what} as a str, int or Decimal, got {type(value).__name__} {value!r}; "
            "floats cannot hold money exactly"
        )
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            # Decimal reads PEP 515 digit groups ("1_000.50") itself; removing every "_" first
            # also turned "5 _" and "_ 5" into 5.
            return Decimal(value.strip())
        except InvalidOperation:
            raise InvalidMoneyError(f"expected {what} as a decimal number, got {value!r}") from None
    raise InvalidMoneyError(
        f"expected {what} as a str, int or Decimal, got {type(value).__name__} {value!r}"
    )


def split(total: Money, n: SupportsIndex, *, remainder: Remainder = Remainder.FIRST) -> tuple[Money, ...]:
    """Split *total* into *n* parts that always add back up to it.

    Every part is the floor of ``total / n`` or one minor unit more; the
    units left over go to the earliest parts (``Remainder.FIRST``) or the
    latest (``Remainder.LAST``). A negative total splits as the mirror
    image of the positive one.

    Raises:
        InvalidMoneyError: *n* is not a positive integer.

    .. versionadded:: 0.1.0
    """
    count = n if type(n) is int else -1
    if count < 1:
        raise InvalidMoneyError(f"expected a positive number of parts, got {n!r}")
    minor = total.minor
    cur = total.currency
    if minor < 0:
        base, extra = divmod(-minor, count)
        big = _money(-base - 1, cur)
        small = _money(-base, cur)
    else:
        base, extra = divmod(minor, count)
        if not extra:
            return (_money(base, cur),) * count
        big = _money(base + 1, cur)
        small = _money(base, cur)
    if remainder is _FIRST:
        return (big,) * extra + (small,) * (count - extra)
    return (small,) * (count - extra) + (big,) * extra


_FIRST = Remainder.FIRST


def allocate(
    total: Money,
    weights: Sequence[int | Decimal | str],
    *,
    remainder: Remainder = Remainder.FIRST,
) -> tuple[Money, ...]:
    """Split *total* in proportion to *weights*; the parts add back up exactly.

    Each part's exact share is ``total * w / sum(weights)``. Every part gets
    the floor of its share, then the units left over go one each to the
    parts with the largest fractional remainders; ties go to the earlier
    part (``Remainder.FIRST``) or the later one (``Remainder.LAST``). So no
    part is a whole minor unit away from its exact share. A negative total
    allocates as the mirror image of the positive one.

    Raises:
        InvalidMoneyError: a weight is negative, a float, or all are zero.

    .. versionadded:: 0.1.0
    """
    if not weights:
        raise InvalidMoneyError("expected at least one weight, got none")
    fracs = [Fraction(_to_decimal(w, what="a weight")) for w in weights]
    if any(f < 0 for f in fracs):
        raise InvalidMoneyError(f"expected weights of zero or more, got {list(weights)!r}")
    whole = sum(fracs)
    if whole == 0:
        raise InvalidMoneyError(f"expected weights that are not all zero, got {list(weights)!r}")
    minor = total.minor
    sign = -1 if minor < 0 else 1
    magnitude = minor * sign
    exact = [magnitude * f / whole for f in fracs]
    floors = [int(e) for e in exact]  # non-negative, so int() floors
    left = magnitude - sum(floors)
    order = range(len(exact)) if remainder is Remainder.FIRST else range(len(exact) - 1, -1, -1)
    ranked = sorted(order, key=lambda i: exact[i] - floors[i], reverse=True)
    for i in ranked[:left]:
        floors[i] += 1
    cur = total.currency
    return tuple(_money(sign * f, cur) for f in floors)


def to_percent(value: int | Decimal | str, *, what: str = "percent") -> Decimal:
    """Parse a percentage (``"12.5"``, ``Decimal(25)``, ``25``), refusing floats."""
    text = value.strip().rstrip("%") if isinstance(value, str) else value
    return _to_decimal(text, what=what)


def percent_of(total: Money, percent: int | Decimal | str, *, rounding: str) -> Money:
    """Return *percent* % of *total*, rounded to the minor unit by *rounding*.

    *rounding* is one of the :mod:`decimal` rounding names
    (``decimal.ROUND_HALF_EVEN``, ``decimal.ROUND_HALF_UP``, ...), and must
    be written out at the call site: payplan never picks one for you.

    Raises:
        InvalidMoneyError: *percent* is a float or not a number, or
            *rounding* is not a :mod:`decimal` rounding mode.

    .. versionadded:: 0.1.0
    """
    if rounding not in _ROUNDINGS:
        raise InvalidMoneyError(
            f"expected a decimal rounding mode such as ROUND_HALF_EVEN, got {rounding!r}"
        )
    kind = type(percent)
    cacheable = kind is int or (kind is Decimal and percent.is_finite())  # type: ignore[union-attr]
    ratio = _RATIOS.get(percent) if cacheable else None  # type: ignore[arg-type]
    if ratio is None:
        p = to_percent(percent)
        if not p.is_finite():
            raise InvalidMoneyError(f"expected a finite percentage, got {percent!r}")
        ratio = p.as_integer_ratio()
        if cacheable and len(_RATIOS) < 256:
            _RATIOS[percent] = ratio  # type: ignore[index]
    num, den = ratio
    return _money(_round_ratio(total.minor * num, den * 100, rounding), total.currency)


#: Percentages seen before (int or Decimal) as exact integer ratios: parsing
#: a Decimal costs more than the arithmetic, and a tier's percent recurs.
_RATIOS: dict[int | Decimal, tuple[int, int]] = {}


def _round_ratio(num: int, den: int, rounding: str) -> int:
    """``num / den`` (den > 0) rounded to an integer exactly as :mod:`decimal` rounds.

    Integer arithmetic throughout, so no context precision can truncate a
    large amount.
    """
    if num < 0:
        sign = -1
        q, r = divmod(-num, den)
    else:
        sign = 1
        q, r = divmod(num, den)
    if r:
        if rounding == "ROUND_HALF_UP":
            q += 2 * r >= den
        elif rounding == "ROUND_HALF_EVEN":
            twice = 2 * r
            q += twice > den or (twice == den and q & 1 == 1)
        elif rounding == "ROUND_HALF_DOWN":
            q += 2 * r > den
        elif rounding == "ROUND_UP":
            q += 1
        elif rounding == "ROUND_CEILING":
            q += sign > 0
        elif rounding == "ROUND_FLOOR":
            q += sign < 0
        elif rounding == "ROUND_05UP":
            q += q % 5 == 0
        # ROUND_DOWN: truncate toward zero
    return sign * q


