"""Idempotency keys name the operation, and refund instructions split a refund exactly (#12 items 1, 2)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import Ledger, Money, PaymentReceived, Refund, refund_instructions, refund_key
from payplan.providers import fee_key, idempotency_key

_refs = st.text("abcdefghij_0123456789", min_size=1, max_size=40)
_plan_ids = st.text("abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=80)
_refunds = st.tuples(_refs, st.integers(1, 10**9), st.sampled_from(["USD", "JPY", "KWD"]), st.integers(1, 5),
                     st.sampled_from(["refund", "cancellation"]))


class TestKeys:
    @given(_plan_ids, _refunds, _refunds)
    def test_refund_keys_are_equal_exactly_when_the_refunds_are(self, plan_id: str, a: tuple, b: tuple) -> None:
        """Two refunds share a key only when payment, amount, currency, sequence and purpose all agree."""
        def key(r: tuple) -> str:
            ref, minor, cur, seq, purpose = r
            return refund_key(plan_id, ref, Money(minor, cur), sequence=seq, purpose=purpose)

        assert (key(a) == key(b)) == (a == b)
        assert len(key(a)) <= 64

    @given(_plan_ids, _refs, _refs, st.integers(1, 10**6), st.integers(1, 10**6), st.integers(1, 4), st.integers(1, 4))
    def test_fee_keys_name_the_fee_and_attempt(
        self, plan_id: str, f1: str, f2: str, m1: int, m2: int, a1: int, a2: int
    ) -> None:
        """A fee's key changes with the fee, its amount and the attempt, and never equals a charge key."""
        k1 = fee_key(plan_id, f1, Money(m1, "USD"), attempt=a1)
        k2 = fee_key(plan_id, f2, Money(m2, "USD"), attempt=a2)
        assert (k1 == k2) == ((f1, m1, a1) == (f2, m2, a2))
        assert len(k1) <= 64
        assert k1 != idempotency_key(plan_id, "charge", installment=1, attempt=a1)


@st.composite
def _paid_ledgers(draw: st.DrawFn) -> tuple[Ledger, int]:
    ledger = Ledger.empty("USD")
    day = dt.date(2026, 12, 1)
    n = draw(st.integers(1, 6))
    for i in range(n):
        amount = Money(draw(st.integers(1, 100_000)), "USD")
        ref = draw(st.one_of(st.none(), st.just(f"ch_{i}")))
        ledger = ledger.record(PaymentReceived(f"p{i}", day + dt.timedelta(days=draw(st.integers(0, 90))), amount,
                                               reference=ref))
    earlier = draw(st.integers(0, ledger.paid.minor))
    if earlier:
        ledger = ledger.record(Refund.reversal("earlier", day + dt.timedelta(days=91), Money(earlier, "USD")))
    return ledger, draw(st.integers(0, ledger.net_paid.minor))


class TestInstructions:
    @settings(max_examples=150)
    @given(_paid_ledgers())
    def test_instructions_add_up_to_the_refund(self, case: tuple[Ledger, int]) -> None:
        """The instructions add up to the refund, each fits its payment, provider payments come first."""
        ledger, minor = case
        amount = Money(minor, "USD")
        instructions = refund_instructions("plan-x", ledger, amount, purpose="cancellation")
        assert sum(i.amount.minor for i in instructions) == minor
        payments = {e.id: e for e in ledger if isinstance(e, PaymentReceived)}
        for i in instructions:
            payment = payments[i.payment_id]
            assert payment.reference == i.reference
            assert 0 < i.amount.minor <= payment.amount.minor
        assert len({i.payment_id for i in instructions}) == len(instructions)
        assert len({i.idempotency_key for i in instructions}) == len(instructions)
        kinds = [i.reference is None for i in instructions]
        assert kinds == sorted(kinds), "payments a provider took are refunded before payments by hand"

    @given(_paid_ledgers())
    def test_the_same_refund_gives_the_same_instructions(self, case: tuple[Ledger, int]) -> None:
        """Settling again gives equal instructions (equal keys): carrying them out twice refunds once."""
        ledger, minor = case
        a = refund_instructions("plan-x", ledger, Money(minor, "USD"), purpose="cancellation")
        b = refund_instructions("plan-x", ledger, Money(minor, "USD"), purpose="cancellation")
        assert a == b
