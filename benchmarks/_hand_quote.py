"""``payplan quote --format json``, hand-written: argparse, Decimal and relativedelta, no payplan.

The baseline of the ``payplan quote`` process row (``benchmarks/schedule.py``):
what a developer writes for the same command line (a percentage deposit with
a minimum, equal monthly installments with the odd cents first, the last no
later than the cutoff) and the same JSON lines. It imports nothing from
payplan, so its process pays only for what it uses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

_CENT = Decimal("0.01")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="hand-quote")
    p.add_argument("--fee", required=True)
    p.add_argument("--currency", required=True)
    p.add_argument("--deposit", required=True)
    p.add_argument("--deposit-min", default="0")
    p.add_argument("--installments", type=int, required=True)
    p.add_argument("--cadence", choices=["monthly"], required=True)
    p.add_argument("--booked", type=dt.date.fromisoformat, required=True)
    p.add_argument("--session", type=dt.date.fromisoformat, required=True)
    p.add_argument("--final-due-days-before", type=int, default=0)
    p.add_argument("--format", choices=["json"], default="json")
    a = p.parse_args(argv)
    fee = Decimal(a.fee)
    deposit = (fee * Decimal(a.deposit.rstrip("%")) / 100).quantize(_CENT, rounding=ROUND_HALF_UP)
    deposit = min(max(deposit, Decimal(a.deposit_min)), fee)
    balance = fee - deposit
    count = a.installments
    base = (balance / count).quantize(_CENT, rounding=ROUND_DOWN)
    extra = int((balance - base * count) / _CENT)
    lines = [(deposit, a.booked, "deposit")]
    lines += [(base + _CENT if i <= extra else base, a.booked + relativedelta(months=i), "installment")
              for i in range(1, count + 1)]
    if lines[-1][1] > a.session - dt.timedelta(days=a.final_due_days_before):
        print("schedule does not fit before the session", file=sys.stderr)
        return 2
    out = {
        "currency": a.currency,
        "total": str(fee),
        "total_minor": int(fee * 100),
        "installments": [
            {"number": n, "kind": kind, "due": due.isoformat(), "amount": str(amount), "amount_minor": int(amount * 100)}
            for n, (amount, due, kind) in enumerate(lines, 1)
        ],
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
