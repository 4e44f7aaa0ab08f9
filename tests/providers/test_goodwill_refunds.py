"""Goodwill refunds through providers: ``payplan.store.refund(..., lowers_price=True)``.

A $50 refund "for the late photos" lowers the price: the provider keeps the
word on the refund and sends it back in its refund event, so the ledger
records a price reduction whether the provider's answer or its webhook
arrives first, and installment 1 stays paid (no reminder, no late fee
follows). A refund made in the provider's dashboard stays a reversal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from payplan import (
    InstallmentState,
    Ledger,
    Money,
    PaymentPlan,
    Refund,
    UnsupportedByProviderError,
    assess_late_fees,
    plan_status,
    reminders_due,
    to_currency,
)
from payplan.providers import (
    Capability,
    EventKind,
    Payer,
    Provider,
    ProviderBinding,
    ProviderEvent,
    RefundStatus,
)
from payplan.store import MemoryStore, OperationStatus, Store, open_store, receive_webhook
from payplan.store import refund as store_refund
from payplan.testing import OnDemandSandboxProvider, SandboxCard, SandboxProvider

from .contract import reference_plan

USD = to_currency("USD")
FIFTY = Money.of("50.00", USD)


def check_stays_paid(plan: PaymentPlan, ledger: Ledger, refunded_on: dt.date) -> None:
    """Installment 1 stays paid after the goodwill refund, and nothing on it follows for 30 days."""
    goodwill = [e for e in ledger if isinstance(e, Refund)]
    assert len(goodwill) == 1
    assert goodwill[0].lowers_price
    assert goodwill[0].amount == FIFTY
    assert ledger.refunded == FIFTY
    for n in range(31):
        day = refunded_on + dt.timedelta(days=n)
        first = plan_status(plan, ledger, day).installment(1)
        assert first.status is InstallmentState.PAID, (day, first)
        assert first.outstanding.minor == 0
        assert [f for f in assess_late_fees(plan, ledger, day) if f.installment == 1] == []
        assert [r for r in reminders_due(plan, ledger, day) if r.installment == 1] == []


def sandbox_paid(provider: SandboxProvider, store: Store) -> tuple[PaymentPlan, ProviderBinding, str]:
    """Pack A on the sandbox with its deposit (installment 1) paid and its webhook delivered."""
    plan = reference_plan("goodwill")
    store.add_plan(plan)
    binding = provider.publish(plan, Payer(payment_method_id=SandboxCard.SUCCESS.value))
    store.save_binding(binding)
    if isinstance(provider, OnDemandSandboxProvider):
        outcome = provider.charge(binding, plan, 1)
        events: tuple[ProviderEvent, ...] = provider.events
    else:
        events = provider.advance_to(plan.installments[0].due)
    payment = next(e for e in events if e.kind is EventKind.PAYMENT_SUCCEEDED)
    if isinstance(provider, OnDemandSandboxProvider):
        assert payment.reference == outcome.reference
    assert receive_webhook(store, provider, *provider.delivery(payment)).status == 200
    assert payment.reference is not None
    return plan, binding, payment.reference


SANDBOXES: list[Callable[[dt.date], SandboxProvider]] = [SandboxProvider, OnDemandSandboxProvider]


@pytest.mark.parametrize("make", SANDBOXES, ids=["sandbox", "on-demand"])
@pytest.mark.parametrize("answer_first", [True, False], ids=["answer-first", "webhook-first"])
def test_goodwill_refund_keeps_installment_paid(make: Callable[[dt.date], SandboxProvider], answer_first: bool) -> None:
    """A $50 goodwill refund is a price reduction in the ledger whichever of the answer and the webhook lands first."""
    provider = make(dt.date(2026, 12, 1))
    store = MemoryStore()
    plan, binding, charge = sandbox_paid(provider, store)
    on = provider.today
    outcome = store_refund(store, provider, binding, charge, FIFTY, installment=1, reason="late photos", lowers_price=True)
    assert outcome.lowers_price
    assert outcome.status is RefundStatus.SUCCEEDED
    event = provider.events[-1]
    assert event.kind is EventKind.REFUNDED
    assert event.lowers_price
    entry = outcome.entry(on, "late photos")
    assert entry is not None
    assert entry.lowers_price

    def answer() -> None:
        store.record_entries(plan.id, [entry])

    def webhook() -> None:
        assert receive_webhook(store, provider, *provider.delivery(event)).status == 200

    for step in (answer, webhook) if answer_first else (webhook, answer):
        step()
    check_stays_paid(plan, store.load(plan.id).ledger, on)
    assert [op.status for op in store.operations(plan_id=plan.id) if op.action == "refund"] == [OperationStatus.SUCCEEDED]


def test_dashboard_refund_stays_a_reversal() -> None:
    """A refund made in the provider's dashboard carries no word: the money is owed again."""
    provider = SandboxProvider(dt.date(2026, 12, 1))
    store = MemoryStore()
    plan, _, charge = sandbox_paid(provider, store)
    event = provider.dashboard_refund(charge, FIFTY)
    assert not event.lowers_price
    assert receive_webhook(store, provider, *provider.delivery(event)).status == 200
    ledger = store.load(plan.id).ledger
    refund = next(e for e in ledger if isinstance(e, Refund))
    assert not refund.lowers_price
    assert plan_status(plan, ledger, provider.today).installment(1).status is not InstallmentState.PAID


def test_goodwill_refused_before_any_call_where_the_provider_cannot_carry_it() -> None:
    """A provider without GOODWILL_REFUNDS refuses lowers_price=True; nothing is reserved or sent."""

    class Plain(SandboxProvider):
        capabilities = SandboxProvider.capabilities - {Capability.GOODWILL_REFUNDS}

    provider: Provider = Plain(dt.date(2026, 12, 1))
    store = MemoryStore()
    assert isinstance(provider, SandboxProvider)
    plan, binding, charge = sandbox_paid(provider, store)
    calls = len(provider.calls)
    with pytest.raises(UnsupportedByProviderError, match="goodwill"):
        store_refund(store, provider, binding, charge, FIFTY, lowers_price=True)
    assert len(provider.calls) == calls
    assert [op for op in store.operations(plan_id=plan.id) if op.action == "refund"] == []


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_goodwill_word_survives_a_deferred_event_in_the_store(backend: str, tmp_path: Path) -> None:
    """A goodwill refund delivered before its payment waits in the inbox and is still a price reduction."""
    if backend == "sqlite":
        pytest.importorskip("sqlalchemy", reason="the store extra is not installed")
    provider = SandboxProvider(dt.date(2026, 12, 1))
    store = MemoryStore() if backend == "memory" else open_store(f"sqlite:///{tmp_path / 'p.db'}", create=True)
    plan = reference_plan("goodwill-early")
    store.add_plan(plan)
    binding = provider.publish(plan, Payer(payment_method_id=SandboxCard.SUCCESS.value))
    store.save_binding(binding)
    payment = next(e for e in provider.advance_to(plan.installments[0].due) if e.kind is EventKind.PAYMENT_SUCCEEDED)
    assert payment.reference is not None
    provider.refund(binding, payment.reference, FIFTY, lowers_price=True)
    refund_event = provider.events[-1]
    assert receive_webhook(store, provider, *provider.delivery(refund_event)).status == 202  # deferred
    assert receive_webhook(store, provider, *provider.delivery(payment)).status == 200
    store.retry_pending()
    check_stays_paid(plan, store.load(plan.id).ledger, provider.today)
