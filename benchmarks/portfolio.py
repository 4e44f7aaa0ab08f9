"""Collections over a portfolio: late fees and reminders for 100,000 plans as of one date.

Each plan's ledger is a realistic mix as of :data:`~benchmarks._data.AS_OF`:
most clients paid every installment due so far on its due date, some only the
deposit, some part of the latest installment. Target (issue 8): under 20 µs
per plan for assessment and for reminders. Late fees are timed twice: the
first run over ledgers with no fee recorded yet (every fee is new), and the
nightly steady state where yesterday's run recorded its fees (only today's
are new). Each row's comparison is one
``plan_status`` per plan, measured in the same run: the least any
assessment must compute. Aging and the 12-month forecast run over the same
portfolio (a book of (plan, ledger) pairs); they have no target, only the
per-plan cost.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import payplan
from payplan import (
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    Money,
    PaymentPlan,
    PaymentReceived,
    ReminderPolicy,
    assess_late_fees,
    plan_status,
    reminders_due,
)

from ._data import AS_OF, USD, portfolio
from ._harness import Row, Settings, measure

AREA = "collections"
TARGET_NS = 20_000

POLICY = LateFeePolicy(
    (
        LateFeeStep.flat(5, Money(2_500, USD)),
        LateFeeStep.percent_of_overdue(15, 5),
        LateFeeStep.percent_of_overdue(30, 5),
    ),
    grace_days=3,
    cap_percent=10,
)
REMINDERS = ReminderPolicy()


def ledger_for(plan: PaymentPlan, rng: random.Random) -> Ledger:
    """A plausible history up to AS_OF: on time (60%), deposit only (20%), partial (20%)."""
    ledger = Ledger.empty(plan)
    due = [i for i in plan.installments if i.due <= AS_OF]
    kind = rng.random()
    if kind < 0.2:
        due = due[:1]
    for k, inst in enumerate(due):
        amount = inst.amount
        if kind >= 0.8 and k == len(due) - 1 and k:
            amount = Money(amount.minor // 2, amount.currency)
        ledger = ledger.record(PaymentReceived(f"{plan.id}:pay:{inst.number}", inst.due, amount, "card"))
    return ledger


def _report(name: str) -> Callable[..., Any] | None:
    return getattr(payplan, name, None)


def run(settings: Settings) -> list[Row]:
    """Assessment and reminders per plan, against one plan_status per plan."""
    n = settings.size(100_000, 2_000)
    plans = portfolio(n)
    rng = random.Random(3)
    pairs = [(p, ledger_for(p, rng)) for p in plans]

    def assess() -> list[Any]:
        return [assess_late_fees(p, led, AS_OF, policy=POLICY) for p, led in pairs]

    def remind() -> list[Any]:
        return [reminders_due(p, led, AS_OF, policy=REMINDERS) for p, led in pairs]

    def statuses() -> list[Any]:
        return [plan_status(p, led, AS_OF) for p, led in pairs]

    # The nightly steady state: yesterday's run already recorded its fees.
    yesterday = AS_OF - dt.timedelta(days=1)
    nightly = [(p, led.record_all(assess_late_fees(p, led, yesterday, policy=POLICY))) for p, led in pairs]

    def reassess() -> list[Any]:
        return [assess_late_fees(p, led, AS_OF, policy=POLICY) for p, led in nightly]

    fees = sum(len(f) for f in assess())
    new_fees = sum(len(f) for f in reassess())
    sent = sum(len(r) for r in remind())
    t = measure(
        {"assess": assess, "reassess": reassess, "remind": remind, "status": statuses},
        per=n, repeats=settings.size(5, 3),
    )
    rows = [
        Row(AREA, f"late fees, first run, {n:,} plans as of {AS_OF} ({fees:,} fees)", t["assess"], "ns/plan",
            "plan_status", t["status"], f"{t['assess'] / t['status']:.2f}x a status",
            "< 20 µs/plan", t["assess"] < TARGET_NS),
        Row(AREA, f"late fees, nightly (yesterday's recorded; {new_fees:,} new)", t["reassess"], "ns/plan",
            "plan_status", t["status"], f"{t['reassess'] / t['status']:.2f}x a status",
            "< 20 µs/plan", t["reassess"] < TARGET_NS),
        Row(AREA, f"reminders, {n:,} plans ({sent:,} reminders)", t["remind"], "ns/plan",
            "plan_status", t["status"], f"{t['remind'] / t['status']:.2f}x a status",
            "< 20 µs/plan", t["remind"] < TARGET_NS),
    ]
    aging, forecast = _report("aging"), _report("forecast")
    if aging is None or forecast is None:
        rows.append(Row(AREA, "aging and forecast", None, "", note="not in payplan yet: no reports module"))
        return rows
    t = measure(
        {
            "aging": lambda: aging(pairs, AS_OF),
            "forecast": lambda: forecast(pairs, AS_OF, by="month", periods=12),
            "status": statuses,
        },
        per=n, repeats=settings.size(5, 3),
    )
    for name, case in (("aging", "aging buckets"), ("forecast", "12-month forecast")):
        rows.append(
            Row(AREA, f"{case}, {n:,} plans", t[name], "ns/plan", "plan_status", t["status"],
                f"{t[name] / t['status']:.2f}x a status", "report")
        )
    return rows
