"""Argument types and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._money import Money
from .._plan import PaymentPlan
from ..exceptions import PayplanError, SerializationError
from ..serialization import loads_plan


class CliError(PayplanError):
    """A problem with the command's input files or values."""


def date_arg(text: str) -> dt.date:
    """argparse type for YYYY-MM-DD."""
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def count_arg(text: str) -> int:
    """argparse type for a whole number of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of 0 or more, got {text!r}")
    return value


_PLAIN_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # a sign, so "-5" gets the "above zero" message


def money_arg(text: str, currency: str, what: str) -> Money:
    """An amount in major units written plainly (``2000`` or ``2000.00``) in *currency*.

    Stricter than :meth:`Money.of`, which also reads ``5e2``, ``5_00``, ``+5``
    and non-ASCII digits: on a command line or in a spreadsheet those are
    typos or float exports, not amounts someone meant.

    Raises:
        InvalidMoneyError: not a number, or more decimals than *currency* has.
        CliError: a number in another notation; the message names *what*.
    """
    money = Money.of(text, currency)
    if not _PLAIN_AMOUNT.fullmatch(text.strip()):
        raise CliError(f"expected {what} as digits with an optional decimal point (e.g. 500.00), got {text!r}")
    return money


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
    """CSV text with a header row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue()


def dump_json(data: object) -> str:
    """Stable, readable JSON for stdout."""
    return json.dumps(data, indent=2, ensure_ascii=False)
