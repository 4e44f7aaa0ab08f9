"""Provider events applied to the ledger: duplicates and any order give the same ledger."""

from __future__ import annotations

import datetime as dt
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from payplan import Ledger, Money, PaymentPlan
from payplan.providers import EventKind, Payer, ProviderEvent, apply_events
from payplan.testing import SandboxCard, SandboxProvider
from providers.contract import reference_plan

PLAN: PaymentPlan = reference_plan("prop-events")
DAY = dt.date(2026, 12, 1)


@st.composite
def event_stories(draw: st.DrawFn) -> list[ProviderEvent]:
    """Payments, failures, refunds (never above what their payment paid) and a cancel notice."""
    events: list[ProviderEvent] = []
    seq = 0
    for n in range(1, draw(st.integers(1, 4)) + 1):
        seq += 1
        if draw(st.booleans()):
            events.append(
                ProviderEvent(f"t:fail{n}", "t", EventKind.PAYMENT_FAILED, PLAN.id, DAY, n, None, None, "card_declined", seq)
            )
            seq += 1
        paid = draw(st.integers(1, 50_000))
        events.append(
            ProviderEvent(f"t:pay{n}", "t", EventKind.PAYMENT_SUCCEEDED, PLAN.id, DAY, n, Money(paid, "USD"), f"p{n}", None, seq)
        )
        if draw(st.booleans()):
            seq += 1
            back = draw(st.integers(1, paid))
            events.append(
                ProviderEvent(f"t:ref{n}", "t", EventKind.REFUNDED, PLAN.id, DAY, n, Money(back, "USD"), f"r{n}", None, seq)
            )
    if draw(st.booleans()):
        events.append(ProviderEvent("t:cancel", "t", EventKind.PLAN_CANCELED, PLAN.id, DAY, sequence=seq + 1))
    return events


class TestApplyEvents:
    """apply_events is idempotent and order-free."""

    @given(event_stories(), st.randoms(use_true_random=False), st.integers(0, 6))
    def test_shuffled_and_duplicated_give_the_same_ledger(self, story: list[ProviderEvent], rnd: Random, dupes: int) -> None:
        """Any permutation of the events with any duplicates gives a ledger equal to one ordered delivery."""
        ordered = apply_events(Ledger.empty(PLAN), story)
        messy = story + [rnd.choice(story) for _ in range(dupes)]
        rnd.shuffle(messy)
        other = apply_events(Ledger.empty(PLAN), messy)
        assert other.ledger == ordered.ledger
        assert other.ledger.balance == ordered.ledger.balance
        assert other.deferred == ordered.deferred == ()
        assert {e.id for e in other.notices} == {e.id for e in ordered.notices}

    @given(event_stories())
    def test_applying_twice_changes_nothing(self, story: list[ProviderEvent]) -> None:
        """Applying the same events to the ledger they produced records nothing new."""
        once = apply_events(Ledger.empty(PLAN), story)
        twice = apply_events(once.ledger, story)
        assert twice.ledger == once.ledger
        assert len(twice.ledger) == len(once.ledger)

    @given(event_stories())
    def test_balance_is_total_less_net_payments(self, story: list[ProviderEvent]) -> None:
        """The balance is the plan total less payments plus refunds, to the cent."""
        ledger = apply_events(Ledger.empty(PLAN), story).ledger
        paid = sum(e.amount.minor for e in story if e.kind is EventKind.PAYMENT_SUCCEEDED and e.amount)
        back = sum(e.amount.minor for e in story if e.kind is EventKind.REFUNDED and e.amount)
        assert ledger.balance == Money(PLAN.total.minor - paid + back, "USD")


class TestDeferred:
    """Events the ledger cannot take yet are returned, not lost and not raised."""

    def test_refund_before_its_payment_is_deferred_then_recorded(self) -> None:
        """A refund delivered alone is deferred; delivered again with its payment it is recorded."""
        pay = ProviderEvent("t:pay", "t", EventKind.PAYMENT_SUCCEEDED, PLAN.id, DAY, 1, Money(50000, "USD"), sequence=1)
        ref = ProviderEvent("t:ref", "t", EventKind.REFUNDED, PLAN.id, DAY, 1, Money(10000, "USD"), sequence=2)
        first = apply_events(Ledger.empty(PLAN), [ref])
        assert first.deferred == (ref,)
        assert len(first.ledger) == 0
        second = apply_events(first.ledger, [*first.deferred, pay])
        assert second.deferred == ()
        assert second.ledger.net_paid == Money(40000, "USD")

    def test_sandbox_story_balances(self) -> None:
        """A whole sandbox run, applied from its events, leaves a zero balance after every installment is paid."""
        sandbox = SandboxProvider(today=DAY)
        sandbox.publish(PLAN, Payer(payment_method_id=SandboxCard.SUCCESS.value))
        sandbox.advance_to(dt.date(2027, 3, 1))
        result = apply_events(Ledger.empty(PLAN), reversed(sandbox.events))
        assert result.ledger.balance == Money(0, "USD")
