"""Ledger: record a million payments over 100,000 plans, then every plan's status.

Targets (issue 8): recording cost per entry does not grow with the ledger's
length (10x the entries take at most 12x the time), queries do not replay
history, and the memory per entry (tracemalloc) is at most 300 bytes.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import tracemalloc
from typing import Any

from payplan import Ledger, Money, PaymentPlan, PaymentReceived, plan_status

from ._data import portfolio
from ._harness import Row, Settings, measure

AREA = "ledger"
PER_PLAN = 10
#: After every payment below, so no query has to leave later entries out.
AS_OF = dt.date(2030, 1, 1)
GROWTH_TARGET = 12.0
QUERY_TARGET = 2.0
MEMORY_TARGET = 300


def payments(plan: PaymentPlan, n: int = PER_PLAN, seed: int = 0) -> list[PaymentReceived]:
    """*n* payments on *plan*, a week apart from the booking: in full, or five-sixths of it."""
    rng = random.Random(f"{plan.id}:{seed}")
    parts = plan.total.split(n if rng.random() < 0.5 else n + n // 5)
    return [
        PaymentReceived(f"{plan.id}:pay:{k}", plan.booked + dt.timedelta(days=7 * k), parts[k % len(parts)], "card")
        for k in range(n)
    ]


def record_all(plans: tuple[PaymentPlan, ...], entries: list[list[PaymentReceived]]) -> list[Ledger]:
    """One ledger per plan, each payment recorded one call at a time."""
    out = []
    empty = Ledger.empty
    for plan, mine in zip(plans, entries, strict=True):
        ledger = empty(plan)
        for e in mine:
            ledger = ledger.record(e)
        out.append(ledger)
    return out


def _growth_rows(settings: Settings, plans: tuple[PaymentPlan, ...], entries: list[list[PaymentReceived]]) -> list[Row]:
    n = len(plans)
    small_plans, small_entries = plans[: n // 10], entries[: n // 10]
    repeats = settings.size(5, 3)
    t = measure(
        {"big": lambda: record_all(plans, entries), "small": lambda: record_all(small_plans, small_entries)},
        per=1, repeats=repeats,
    )
    big_n, small_n = n * PER_PLAN, (n // 10) * PER_PLAN
    growth = t["big"] / t["small"]
    rows = [
        Row(AREA, f"record {big_n:,} payments over {n:,} plans", t["big"] / big_n, "ns/entry",
            f"{small_n:,} over {n // 10:,} plans", t["small"] / small_n,
            f"10x entries: {growth:.1f}x time", f"≤ {GROWTH_TARGET:g}x time", growth <= GROWTH_TARGET),
    ]
    # One long ledger: does recording slow down as a single ledger grows?
    long_n = settings.size(100_000, 10_000)
    plan = plans[0]
    day = plan.booked
    one = Money(1, plan.fee.currency)
    line = [PaymentReceived(f"{plan.id}:long:{k}", day, one) for k in range(long_n)]

    def record_line(k: int) -> Ledger:
        ledger = Ledger.empty(plan)
        for e in line[:k]:
            ledger = ledger.record(e)
        return ledger

    t = measure({"long": lambda: record_line(long_n), "short": lambda: record_line(long_n // 10)}, per=1, repeats=repeats)
    growth = t["long"] / t["short"]
    rows.append(
        Row(AREA, f"one ledger, {long_n:,} entries", t["long"] / long_n, "ns/entry",
            f"{long_n // 10:,} entries", t["short"] / (long_n // 10),
            f"10x entries: {growth:.1f}x time", f"≤ {GROWTH_TARGET:g}x time", growth <= GROWTH_TARGET)
    )
    return rows


def _status_rows(settings: Settings, plans: tuple[PaymentPlan, ...], ledgers: list[Ledger]) -> list[Row]:
    n = len(plans)
    pairs = list(zip(plans, ledgers, strict=True))

    def statuses() -> list[Any]:
        return [plan_status(p, led, AS_OF) for p, led in pairs]

    # The first k plans again, each with ten times the history (100 payments instead of 10).
    k = settings.size(2_000, 500)
    deep = [(p, record_all((p,), [payments(p, PER_PLAN * 10, seed=1)])[0]) for p in plans[:k]]
    shallow = pairs[:k]
    t = measure(
        {
            "all": statuses,
            "deep": lambda: [plan_status(p, led, AS_OF) for p, led in deep],
            "shallow": lambda: [plan_status(p, led, AS_OF) for p, led in shallow],
        },
        per=1, repeats=settings.size(5, 3),
    )
    deeper = t["deep"] / t["shallow"]
    return [
        Row(AREA, f"plan_status of {n:,} plans", t["all"] / n, "ns/plan", "", None, "", "report"),
        Row(AREA, f"plan_status, {PER_PLAN * 10} entries per ledger", t["deep"] / k, "ns/plan",
            f"{PER_PLAN} entries per ledger", t["shallow"] / k,
            f"10x history: {deeper:.2f}x time", f"≤ {QUERY_TARGET:g}x (no replay)", deeper <= QUERY_TARGET),
    ]


def _memory_row(settings: Settings, plans: tuple[PaymentPlan, ...]) -> Row:
    """Bytes held per entry: the entries themselves, their ids, amounts and dates, and the ledgers."""
    n = settings.size(len(plans), 1_000)
    subset = plans[:n]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    ledgers = record_all(subset, [payments(p) for p in subset])
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    per = held / (n * PER_PLAN)
    del ledgers
    return Row(AREA, f"memory, {n * PER_PLAN:,} entries (tracemalloc)", per, "B/entry", "", None, "",
               f"≤ {MEMORY_TARGET} B/entry", per <= MEMORY_TARGET, "entry, id, amount, date, ledger")


def run(settings: Settings) -> list[Row]:
    """Recording growth, status queries and memory."""
    n = settings.size(100_000, 2_000)
    plans = portfolio(n)
    entries = [payments(p) for p in plans]
    rows = _growth_rows(settings, plans, entries)
    ledgers = record_all(plans, entries)
    rows += _status_rows(settings, plans, ledgers)
    del ledgers, entries
    rows.append(_memory_row(settings, plans))
    return rows
