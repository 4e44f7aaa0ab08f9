"""Shared inputs: a portfolio of realistic plans, built once per size."""

from __future__ import annotations

import datetime as dt
import functools
import random

from payplan import Cadence, DepositRule, Money, PaymentPlan, Terms, to_currency

USD = to_currency("USD")
AS_OF = dt.date(2027, 3, 15)

_CADENCES = (Cadence.MONTHLY, Cadence.MONTHLY, Cadence.MONTHLY, Cadence.BIWEEKLY, Cadence.SEMIMONTHLY)


@functools.cache
def portfolio(n: int, seed: int = 8) -> tuple[PaymentPlan, ...]:
    """*n* deposit + installment plans: 2 to 6 installments, mostly monthly, booked over a year.

    Bookings run from 2026-06-01 for a year, so on :data:`AS_OF` some plans
    are paid up, some are mid-schedule and some have not started.
    """
    rng = random.Random(seed)
    terms = {
        (c, k): Terms(
            deposit=DepositRule.percent_or_minimum(25, Money(50_000, USD)),
            installments=k,
            dates=c,
            final_due_days_before=14,
        )
        for c in set(_CADENCES)
        for k in range(2, 7)
    }
    plans = []
    for i in range(n):
        cadence = rng.choice(_CADENCES)
        count = rng.randrange(2, 7)
        booked = dt.date(2026, 6, 1) + dt.timedelta(days=rng.randrange(365))
        session = booked + dt.timedelta(days=31 * count + 30 + rng.randrange(60))
        plans.append(
            PaymentPlan.with_deposit(
                f"plan-{i:06d}",
                Money(rng.randrange(100_000, 1_000_000), USD),
                booked=booked,
                session=session,
                terms=terms[cadence, count],
                client=f"client-{rng.randrange(n // 3 + 1):06d}",
            )
        )
    return tuple(plans)
