"""Argument types and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._calendar import MAX_DAYS
from .._money import Money, to_currency
from .._plan import PaymentPlan
from ..exceptions import PayplanError, SerializationError


class CliError(PayplanError):
    """A problem with the command's input files or values."""


def date_arg(text: str) -> dt.date:
    """argparse type for YYYY-MM-DD (0001-01-01 to 9999-12-31)."""
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def shown(text: str, limit: int = 40) -> str:
    """*text* quoted for a one-line message, cut to *limit* characters with its length when longer."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


# A sign, so "-5" gets the "from 0 to ..." message rather than "not a number".
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
#: Digits a number on the command line may have: no amount, day count or
#: rate needs more, and Python refuses to convert longer integers to text.
MAX_DIGITS = 4000


def number_arg(
    text: str,
    what: str,
    *,
    low: Decimal | int | None,
    high: Decimal | int | None,
    places: int,
    display: str | None = None,
    form: str | None = None,
) -> Decimal:
    """The one checked parser of every number the ``payplan`` command reads.

    A number is written plainly: digits, an optional decimal point with at
    most *places* decimals, no exponent (``1e-9999``), no ``_``, no ``+``,
    no non-ASCII digits, at most :data:`MAX_DIGITS` characters. It must lie
    from *low* to *high* (None: no bound on that side). Amounts
    (:func:`money_arg`), day counts (:func:`days_arg`), counts
    (:func:`whole_arg`), percentages (:func:`percent_arg`) and rates all come
    through here.

    Raises:
        CliError: the message names *what*, the form (*form*, when given,
            describes it) or the bounds expected, and what arrived
            (*display*, when given, else *text*).
    """
    body = text.strip()
    text = text if display is None else display
    if not _PLAIN_NUMBER.fullmatch(body):
        if form is None:
            form = "written as a plain whole number (e.g. 30)" if places == 0 else "written as a plain number (e.g. 9.9)"
        raise CliError(f"expected {what} {form}, got {shown(text)}")
    if len(body) > MAX_DIGITS:
        raise CliError(f"expected {what} of at most {MAX_DIGITS} digits, got {len(body)} characters")
    value = Decimal(body)
    if -int(value.as_tuple().exponent) > places:
        if places == 0:
            raise CliError(f"expected {what} as a whole number, got {shown(text)}")
        raise CliError(f"expected {what} with at most {places} decimals, got {shown(text)}")
    if (low is not None and value < low) or (high is not None and value > high):
        lower = f"from {low}" if low is not None else "of at most"
        upper = (f"to {high}" if low is not None else f"{high}") if high is not None else "or more"
        raise CliError(f"expected {what} {lower} {upper}, got {shown(text)}")
    return value


def whole_arg(what: str, *, low: int = 0, high: int | None = None) -> Callable[[str], int]:
    """argparse type for a whole number from *low* to *high*, checked by :func:`number_arg`.

    *what* is a noun for the message (``"days"``); argparse itself names the option.
    """

    def parse(text: str) -> int:
        try:
            return int(number_arg(text, what, low=low, high=high, places=0))
        except CliError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def days_arg(*, low: int = 0, high: int = MAX_DAYS) -> Callable[[str], int]:
    """argparse type for a day count, bounded as the terms bound it (0 to :data:`~payplan.MAX_DAYS`)."""
    return whole_arg("whole days", low=low, high=high)


#: argparse type for ``--installments``: Terms takes 0 to 520.
count_arg = whole_arg("a count", high=520)


def percent_arg(text: str, what: str, *, high: int = 100, places: int = 6) -> Decimal:
    """A percentage written ``12.5%`` or ``12.5``, from 0 to *high*, with at most *places* decimals."""
    body = text.strip()
    body = body[:-1] if body.endswith("%") else body
    return number_arg(body, what, low=0, high=high, places=places, display=text)


def money_arg(text: str, currency: str, what: str) -> Money:
    """An amount in major units written plainly (``2000`` or ``2000.00``) in *currency*.

    Stricter than :meth:`Money.of`, which also reads ``5e2``, ``5_00``, ``+5``
    and non-ASCII digits: on a command line or in a spreadsheet those are
    typos or float exports, not amounts someone meant.

    Raises:
        InvalidMoneyError: more decimals than *currency* has.
        CliError: a number in another notation; the message names *what*.
    """
    cur = to_currency(currency)
    value = number_arg(
        text, what, low=None, high=None, places=cur.exponent,
        form="as digits with an optional decimal point (e.g. 500.00)",
    )
    whole = len(value.as_tuple().digits) + int(value.as_tuple().exponent)
    limit = MAX_DIGITS - cur.exponent  # Money keeps at most MAX_DIGITS minor digits
    if whole > limit:
        raise CliError(f"expected {what} of at most {limit} digits before the decimal point, got {whole} digits")
    return Money.of(value, cur)


def read_text(path: str, what: str, expected: str, *, encoding: str = "utf-8") -> str:
    """The text of *path*; unreadable or undecodable files become one-line payplan errors.

    *what* names the file in the error (``"plan file"``), *expected* says
    what it should have been (``"a UTF-8 JSON plan file"``).
    """
    try:
        return Path(path).read_text(encoding=encoding)
    except OSError as exc:
        raise CliError(f"cannot read {what} {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: expected {expected}") from None


def add_plan_arguments(p: argparse.ArgumentParser) -> None:
    """The saved plan and the payments file, as every command on a saved plan takes them."""
    p.add_argument("plan", metavar="PLAN.json", help="a plan saved by `payplan quote --save`")
    p.add_argument("--payments", metavar="PAYMENTS.csv", help="payments received: date,amount[,reference]")


def read_plan(path: str) -> PaymentPlan:
    """Load a plan JSON file written by ``payplan quote --save``."""
    text = read_text(path, "plan file", "a UTF-8 JSON plan file")
    try:
        from ..serialization import loads_plan  # (only the commands that read a plan load it)

        return loads_plan(text)
    except SerializationError as exc:
        raise CliError(f"{path}: {exc}") from None


def write_text(path: str, text: str) -> None:
    """Write *text* to *path*, turning OS errors into a one-line payplan error."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {path!r}: {exc.strerror}") from None


def money_json(m: Money) -> dict[str, Any]:
    """``{"amount": "500.00", "amount_minor": 50000}``."""
    return {"amount": m.to_decimal_string(), "amount_minor": m.minor}


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> str:
    """A plain aligned terminal table; columns in *right* are right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """CSV text with a header row, cells neutralised against formula injection (see ``csv_text``)."""
    from .._reports import csv_text  # (only CSV output loads the reports)

    return csv_text(headers, rows, lineterminator="\n")


def dump_json(data: object) -> str:
    """Stable, readable JSON for stdout."""
    return json.dumps(data, indent=2, ensure_ascii=False)
