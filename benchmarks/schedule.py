"""Schedule building: payplan against hand-written Decimal code and the CPython floor.

Every contender builds the same schedule for the same inputs: a deposit of
25% of the fee (rounded half up) or $500, whichever is larger, never above
the fee; then *count* equal installments (odd cents to the earliest), dated
by the cadence from the booking date, the last one no later than 14 days
before the session.

* payplan: ``PaymentPlan.with_deposit(plan_id, fee, booked=..., session=...,
  terms=terms)``, the public API with a tier's terms built once.
* hand-written: what a developer writes without payplan: ``Decimal``
  amounts, one ``dateutil.relativedelta`` per due date, a dict per line.
* floor: what CPython can do at all: integer cents, the month-end clamp
  from ``calendar.monthrange``, a tuple per line.

Before timing, the three outputs are compared line by line, so every row
times the same result.

The documented paths (issue 11, item 9), for 3 and 24 monthly installments,
each against the same hand-written baseline and checked against it first:

* ``Tier.quote(plan_id, booked=..., session=..., fee=..., installments=n)``
  from a catalog loaded once (a tier with no fixed fee, as the reference
  table's "Custom");
* ``PaymentPlan.with_deposit(..., deposit=rule, installments=n,
  dates="monthly", final_due_days_before=14)``: keyword rules, no Terms;
* ``PaymentPlan.with_deposit(..., terms=terms)``: prebuilt terms;
* ``payplan quote ... --format json`` as a process, against an interpreter
  that only imports ``decimal`` and ``dateutil`` (what the hand-written code
  needs before it does anything), and against the hand-written code as a
  process (``benchmarks/_hand_quote.py``: the same arguments, the same JSON
  lines); CPU time of the child processes.

Targets (issue 25, item 4): no documented path slower than the hand-written
code (>= 1x; 2x is the stretch), and ``payplan quote`` at most 2x the
interpreter that imports ``decimal`` and ``dateutil``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import random
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from payplan import Cadence, Catalog, DepositRule, Money, PaymentPlan, Terms, to_currency

from ._harness import Row, Settings, measure

AREA = "schedule"
USD = to_currency("USD")
CUTOFF_DAYS = 14
HAND_TARGET = 3.0
#: Every documented path to a plan, against the hand-written baseline (issue 25: >= 1x, 2x the stretch).
PATH_TARGET = 1.0
#: ``payplan quote`` as a process, against an interpreter importing decimal and dateutil (issue 25: <= 2x).
PROCESS_TARGET = 2.0
FLOOR_TARGET = 2.5

_PERIOD_DAYS = {
    Cadence.WEEKLY: 7,
    Cadence.BIWEEKLY: 14,
    Cadence.SEMIMONTHLY: 16,
    Cadence.MONTHLY: 31,
    Cadence.BIMONTHLY: 62,
}

Inputs = list[tuple[str, int, dt.date, dt.date]]


def make_inputs(cadence: Cadence, count: int, n: int, seed: int = 8) -> Inputs:
    """*n* bookings: (plan id, fee in cents, booked, session), month ends included."""
    rng = random.Random(seed)
    out: Inputs = []
    for i in range(n):
        booked = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(730))
        session = booked + dt.timedelta(days=_PERIOD_DAYS[cadence] * count + CUTOFF_DAYS + rng.randrange(60))
        out.append((f"booking-{i}", rng.randrange(100_000, 1_000_000), booked, session))
    return out


# -- (a) hand-written: Decimal and relativedelta -------------------------------

_CENT = Decimal("0.01")
_MIN_DEPOSIT = Decimal("500.00")
_QUARTER = Decimal(25) / 100


def _hand_offset(cadence: Cadence, booked: dt.date, i: int) -> relativedelta:
    if cadence is Cadence.MONTHLY:
        return relativedelta(months=i)
    if cadence is Cadence.WEEKLY:
        return relativedelta(weeks=i)
    if cadence is Cadence.BIWEEKLY:
        return relativedelta(weeks=2 * i)
    if cadence is Cadence.BIMONTHLY:
        return relativedelta(months=2 * i)
    months, odd = divmod(i, 2)
    if not odd:
        return relativedelta(months=months)
    if booked.day <= 15:
        return relativedelta(months=months, day=booked.day + 15)
    return relativedelta(months=months + 1, day=booked.day - 15)


def hand_written(fee: Decimal, booked: dt.date, session: dt.date, cadence: Cadence, count: int) -> list[dict[str, Any]]:
    """The schedule as a developer writes it with Decimal and relativedelta."""
    deposit = (fee * _QUARTER).quantize(_CENT, rounding=ROUND_HALF_UP)
    if deposit < _MIN_DEPOSIT:
        deposit = min(_MIN_DEPOSIT, fee)
    balance = fee - deposit
    base = (balance / count).quantize(_CENT, rounding=ROUND_DOWN)
    extra = int((balance - base * count) / _CENT)
    lines = [{"number": 1, "kind": "deposit", "due": booked, "amount": deposit}]
    for i in range(1, count + 1):
        lines.append(
            {
                "number": i + 1,
                "kind": "installment",
                "due": booked + _hand_offset(cadence, booked, i),
                "amount": base + _CENT if i <= extra else base,
            }
        )
    if lines[-1]["due"] > session - dt.timedelta(days=CUTOFF_DAYS):
        raise ValueError("schedule does not fit before the session")
    return lines


# -- (b) the floor: integers, calendar's month-end clamp, tuples --------------

_monthrange = calendar.monthrange
_date = dt.date
_fromordinal = dt.date.fromordinal


def _floor_months(booked: dt.date, months: int, day: int) -> dt.date:
    y, m = divmod(booked.month - 1 + months, 12)
    y += booked.year
    m += 1
    return _date(y, m, min(day, _monthrange(y, m)[1]))


def floor(fee: int, booked: dt.date, session: dt.date, cadence: Cadence, count: int) -> tuple[tuple[Any, ...], ...]:
    """The same schedule in plain integers and tuples."""
    deposit = (fee * 25 + 50) // 100
    if deposit < 50_000:
        deposit = min(50_000, fee)
    base, extra = divmod(fee - deposit, count)
    lines = [(1, "deposit", booked, deposit)]
    day = booked.day
    if cadence is Cadence.MONTHLY or cadence is Cadence.BIMONTHLY:
        step = 1 if cadence is Cadence.MONTHLY else 2
        for i in range(1, count + 1):
            lines.append((i + 1, "installment", _floor_months(booked, step * i, day), base + 1 if i <= extra else base))
    elif cadence is Cadence.WEEKLY or cadence is Cadence.BIWEEKLY:
        step = 7 if cadence is Cadence.WEEKLY else 14
        start = booked.toordinal()
        for i in range(1, count + 1):
            lines.append((i + 1, "installment", _fromordinal(start + step * i), base + 1 if i <= extra else base))
    else:
        for i in range(1, count + 1):
            months, odd = divmod(i, 2)
            if not odd:
                due = _floor_months(booked, months, day)
            elif day <= 15:
                due = _floor_months(booked, months, day + 15)
            else:
                due = _floor_months(booked, months + 1, day - 15)
            lines.append((i + 1, "installment", due, base + 1 if i <= extra else base))
    if lines[-1][2] > _fromordinal(session.toordinal() - CUTOFF_DAYS):
        raise ValueError("schedule does not fit before the session")
    return tuple(lines)


# -- payplan -------------------------------------------------------------------


def terms_for(cadence: Cadence, count: int) -> Terms:
    """The tier's terms: 25% or $500 deposit, *count* installments on *cadence*."""
    return Terms(
        deposit=DepositRule.percent_or_minimum(25, Money(50_000, USD)),
        installments=count,
        dates=cadence,
        final_due_days_before=CUTOFF_DAYS,
    )


def contenders(cadence: Cadence, count: int, inputs: Inputs) -> dict[str, Callable[[], list[Any]]]:
    """The three ways to build every schedule of *inputs*, each returning them all."""
    terms = terms_for(cadence, count)
    with_deposit = PaymentPlan.with_deposit
    pp_in = [(pid, Money(fee, USD), b, s) for pid, fee, b, s in inputs]
    hand_in = [(Decimal(fee) / 100, b, s) for _, fee, b, s in inputs]
    floor_in = [(fee, b, s) for _, fee, b, s in inputs]

    def run_payplan() -> list[Any]:
        return [with_deposit(pid, fee, booked=b, session=s, terms=terms) for pid, fee, b, s in pp_in]

    def run_hand() -> list[Any]:
        return [hand_written(fee, b, s, cadence, count) for fee, b, s in hand_in]

    def run_floor() -> list[Any]:
        return [floor(fee, b, s, cadence, count) for fee, b, s in floor_in]

    return {"payplan": run_payplan, "hand": run_hand, "floor": run_floor}


def canonical(name: str, schedule: Any) -> list[tuple[int, str, dt.date, int]]:
    """A schedule from any contender as (number, kind, due, cents) tuples."""
    if name == "payplan":
        return [(i.number, i.kind.value, i.due, i.amount.minor) for i in schedule.installments]
    if name == "hand":
        return [(d["number"], d["kind"], d["due"], int(d["amount"] * 100)) for d in schedule]
    return [tuple(line) for line in schedule]  # type: ignore[misc]


def check_same(runs: dict[str, Callable[[], list[Any]]]) -> None:
    """Raise AssertionError unless every contender built the same schedules."""
    results = {name: [canonical(name, s) for s in fn()] for name, fn in runs.items()}
    reference = results["payplan"]
    for name, got in results.items():
        for n, (want, have) in enumerate(zip(reference, got, strict=True)):
            if want != have:
                raise AssertionError(f"{name} differs from payplan on input {n}: {have} != {want}")


CASES = [(c, n) for c in (Cadence.MONTHLY, Cadence.WEEKLY, Cadence.BIWEEKLY, Cadence.SEMIMONTHLY, Cadence.BIMONTHLY) for n in (3, 24)]


# -- the documented paths ----------------------------------------------------------

CATALOG_TOML = f"""\
[catalog]
currency = "USD"

[terms]
deposit = {{ percent = "25", minimum = "500.00" }}
cadence = "monthly"
final_due_days_before = {CUTOFF_DAYS}

[[tier]]
name = "Custom"
installments = [3, 24]
"""

PATH_COUNTS = (3, 24)


def path_contenders(count: int, inputs: Inputs) -> dict[str, Callable[[], list[Any]]]:
    """Each documented way to build the deposit + *count* monthly plans of *inputs*, and the hand-written one."""
    tier = Catalog.from_toml(CATALOG_TOML)["Custom"]
    terms = terms_for(Cadence.MONTHLY, count)
    rule = DepositRule.percent_or_minimum(25, Money(50_000, USD))
    with_deposit = PaymentPlan.with_deposit
    quote = tier.quote
    pp_in = [(pid, Money(fee, USD), b, s) for pid, fee, b, s in inputs]
    hand_in = [(Decimal(fee) / 100, b, s) for _, fee, b, s in inputs]
    monthly = Cadence.MONTHLY

    def run_quote() -> list[Any]:
        return [quote(pid, booked=b, session=s, fee=fee, installments=count) for pid, fee, b, s in pp_in]

    def run_keywords() -> list[Any]:
        return [
            with_deposit(pid, fee, booked=b, session=s, deposit=rule, installments=count,
                         dates="monthly", final_due_days_before=CUTOFF_DAYS)
            for pid, fee, b, s in pp_in
        ]

    def run_terms() -> list[Any]:
        return [with_deposit(pid, fee, booked=b, session=s, terms=terms) for pid, fee, b, s in pp_in]

    def run_hand() -> list[Any]:
        return [hand_written(fee, b, s, monthly, count) for fee, b, s in hand_in]

    return {"quote": run_quote, "keywords": run_keywords, "terms": run_terms, "hand": run_hand}


PATH_NAMES = {
    "quote": "Tier.quote(fee=, installments=)",
    "keywords": "with_deposit(keyword rules)",
    "terms": "with_deposit(terms=)",
}

HAND_QUOTE = Path(__file__).with_name("_hand_quote.py")


def quote_argv(count: int, booked: dt.date, session: dt.date) -> list[str]:
    """The documented ``payplan quote`` arguments (README) for a deposit + *count* monthly plan."""
    return [
        "--fee", "2000.00", "--currency", "USD", "--deposit", "25%", "--deposit-min", "500.00",
        "--installments", str(count), "--cadence", "monthly", "--booked", booked.isoformat(),
        "--session", session.isoformat(), "--final-due-days-before", str(CUTOFF_DAYS), "--format", "json",
    ]


def process_commands(count: int) -> dict[str, list[str]]:
    """``payplan quote``, the hand-written script and the bare imports, each as the command line of its own process."""
    booked = dt.date(2026, 12, 1)
    session = booked + dt.timedelta(days=31 * count + CUTOFF_DAYS + 30)
    argv = quote_argv(count, booked, session)
    return {
        "payplan": [sys.executable, "-m", "payplan", "quote", *argv],
        "hand": [sys.executable, str(HAND_QUOTE), *argv],
        "imports": [sys.executable, "-c", "import decimal, dateutil.relativedelta"],
    }


def process_lines(command: list[str]) -> list[tuple[int, str, str, int]]:
    """Run *command*; its JSON's installments as (number, kind, due, minor units)."""
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [(i["number"], i["kind"], i["due"], i["amount_minor"]) for i in json.loads(out)["installments"]]


def _children_cpu_ns() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1e9


def measure_processes(commands: dict[str, list[str]], repeats: int) -> dict[str, float]:
    """Median CPU time (ns, user + system) of one run of each command, interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = _children_cpu_ns()
            subprocess.run(commands[name], check=True, capture_output=True)
            samples[name].append(_children_cpu_ns() - t0)
    return {name: statistics.median(s) for name, s in samples.items()}


def path_rows(settings: Settings) -> list[Row]:
    """One row per documented path and count, each against the hand-written baseline."""
    rows: list[Row] = []
    for count in PATH_COUNTS:
        per = settings.size(1000 if count == 3 else 250, 100 if count == 3 else 25)
        inputs = make_inputs(Cadence.MONTHLY, count, per)
        runs = path_contenders(count, inputs)
        check_same_paths(runs)
        t = measure(runs, per=per, repeats=settings.repeats)
        for name, label in PATH_NAMES.items():
            faster = t["hand"] / t[name]
            rows.append(
                Row(
                    AREA, f"{label}, deposit + {count} monthly", t[name], "ns/plan", "Decimal + relativedelta",
                    t["hand"], f"{faster:.2f}x faster", f"≥ {PATH_TARGET:g}x faster", faster >= PATH_TARGET,
                )
            )
        commands = process_commands(count)
        lines = {name: process_lines(commands[name]) for name in ("payplan", "hand")}
        if lines["payplan"] != lines["hand"]:
            raise AssertionError(f"the hand-written quote process differs from payplan quote: {lines}")
        p = measure_processes(commands, settings.size(11, 3))
        over = p["payplan"] / p["imports"]
        rows.append(
            Row(
                AREA, f"payplan quote (a process), deposit + {count} monthly", p["payplan"], "ns/run",
                "python importing decimal and dateutil", p["imports"], f"{over:.2f}x the imports",
                f"≤ {PROCESS_TARGET:g}x the imports", over <= PROCESS_TARGET,
            )
        )
        faster = p["hand"] / p["payplan"]
        rows.append(
            Row(
                AREA, f"payplan quote (a process), deposit + {count} monthly", p["payplan"], "ns/run",
                "the hand-written script as a process", p["hand"], f"{faster:.2f}x faster", "report", None,
            )
        )
    return rows


def check_same_paths(runs: dict[str, Callable[[], list[Any]]]) -> None:
    """Raise AssertionError unless every path built the hand-written schedules."""
    want = [canonical("hand", s) for s in runs["hand"]()]
    for name in PATH_NAMES:
        got = [canonical("payplan", s) for s in runs[name]()]
        for n, (a, b) in enumerate(zip(want, got, strict=True)):
            if a != b:
                raise AssertionError(f"{name} differs from the hand-written schedule on input {n}: {b} != {a}")


def run(settings: Settings) -> list[Row]:
    """Time every case; two rows each (hand-written, floor), then the documented paths."""
    rows: list[Row] = path_rows(settings)
    for cadence, count in CASES:
        per = settings.size(1000 if count == 3 else 250, 100 if count == 3 else 25)
        inputs = make_inputs(cadence, count, per)
        runs = contenders(cadence, count, inputs)
        check_same(runs)
        t = measure(runs, per=per, repeats=settings.repeats)
        case = f"deposit + {count} {cadence.value}"
        faster = t["hand"] / t["payplan"]
        rows.append(
            Row(
                AREA, case, t["payplan"], "ns/plan", "Decimal + relativedelta", t["hand"],
                f"{faster:.2f}x faster", f"≥ {HAND_TARGET:g}x faster", faster >= HAND_TARGET,
            )
        )
        over = t["payplan"] / t["floor"]
        rows.append(
            Row(
                AREA, case, t["payplan"], "ns/plan", "floor: int + calendar + tuple", t["floor"],
                f"{over:.2f}x the floor", f"≤ {FLOOR_TARGET:g}x the floor", over <= FLOOR_TARGET,
            )
        )
    return rows
