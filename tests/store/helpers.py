"""Builders shared by the store tests, the drills and the benchmarks' checks."""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Sequence

import pytest

from payplan import DepositRule, Ledger, Money, PaymentPlan
from payplan.providers import EventKind, Payer, ProviderEvent, apply_events
from payplan.testing import SandboxCard, SandboxProvider

BOOKED = dt.date(2026, 12, 1)
SESSION = dt.date(2027, 4, 15)
SECRET = "whsec_store_tests"

POSTGRES_ENV = "PAYPLAN_TEST_POSTGRES_URL"


def postgres_url() -> str:
    """The throwaway PostgreSQL server's URL; skip (fail in CI) when there is none."""
    pytest.importorskip("psycopg", reason="the PostgreSQL store needs payplan[postgres] (psycopg 3)")
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        reason = f"{POSTGRES_ENV} is not set: run `make test` (it starts a throwaway PostgreSQL server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the PostgreSQL suite: {reason}")
        print(f"\nskipping the PostgreSQL store tests: {reason}")
        pytest.skip(reason)
    return url


def make_plan(plan_id: str, fee: str = "2000.00", currency: str = "USD", installments: int = 3) -> PaymentPlan:
    """A deposit + monthly installments plan (Pack A by default) under *plan_id*."""
    return PaymentPlan.with_deposit(
        plan_id,
        Money.of(fee, currency),
        deposit=DepositRule.percent_or_minimum(25, Money.of("500.00", currency)),
        installments=installments,
        dates="monthly",
        booked=BOOKED,
        session=SESSION,
    )


def sandbox(today: dt.date = BOOKED) -> SandboxProvider:
    """A sandbox provider whose webhooks every worker can verify (same secret, same clock)."""
    return SandboxProvider(today=today, webhook_secret=SECRET, tolerance=dt.timedelta(days=3650))


def plan_events(sb: SandboxProvider, plans: Sequence[PaymentPlan], *, refund_every: int = 0) -> list[ProviderEvent]:
    """Publish *plans* to *sb*, charge them all, refund 1.00 of every *refund_every*-th payment; their events.

    One sandbox may serve many calls (its event ids stay unique, as a real provider's are).
    """
    payer = Payer(payment_method_id=SandboxCard.SUCCESS.value)
    bindings = {p.id: sb.publish(p, payer) for p in plans}
    sb.advance_to(SESSION)
    if refund_every:
        paid = [e for e in sb.events if e.kind is EventKind.PAYMENT_SUCCEEDED and e.plan_id in bindings]
        for n, e in enumerate(paid):
            if n % refund_every == 0 and e.amount is not None and e.reference is not None:
                sb.refund(bindings[e.plan_id], e.reference, Money(100, e.amount.currency))
    return [e for e in sb.events if e.plan_id in bindings]


def deliveries(events: Sequence[ProviderEvent], rng: random.Random, most: int = 5) -> list[ProviderEvent]:
    """Each event 1 to *most* times, shuffled: what a provider's retries look like."""
    out = [e for e in events for _ in range(rng.randint(1, most))]
    rng.shuffle(out)
    return out


def expected_ledger(plan: PaymentPlan, events: Sequence[ProviderEvent]) -> Ledger:
    """The ledger of one ordered delivery of *events* (the plan's own)."""
    mine = sorted((e for e in events if e.plan_id == plan.id), key=lambda e: (e.sequence, e.id))
    return apply_events(Ledger.empty(plan), mine).ledger
