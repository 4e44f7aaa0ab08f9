"""Dunning as pure values: the retry ladder, charges due, and the notices a failed charge needs.

Pack A: $500 due on 2026-12-01 (deposit), 2027-01-01, 2027-02-01 and 2027-03-01,
session 2027-04-15.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import (
    Catalog,
    CreditApplied,
    DepositRule,
    InvalidPlanError,
    LateFeeAssessed,
    Ledger,
    Money,
    NoticeKind,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    RetryPolicy,
    Terms,
    charges_due,
    dumps_plan,
    dunning_notices,
    loads_plan,
    settle_cancellation,
)

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


SESSION = D(2027, 4, 15)


def pack_a(session: dt.date = SESSION, **terms: object) -> PaymentPlan:
    return PaymentPlan.with_deposit(
        "pack-a",
        usd("2000.00"),
        terms=Terms(deposit=DepositRule.percent_or_minimum(25, usd("500.00")), installments=3, **terms),  # type: ignore[arg-type]
        booked=D(2026, 12, 1),
        session=session,
        client="Ada Lovelace",
    )


def paid_deposit(plan: PaymentPlan) -> Ledger:
    return Ledger.empty(plan).record(PaymentReceived("dep", D(2026, 12, 1), usd("500")))


def fail(plan: PaymentPlan, n: int, attempt: int, on: dt.date, reason: str = "card_declined") -> PaymentFailed:
    return PaymentFailed(f"{plan.id}:charge:{n}:a{attempt}:failed", on, reason, n, usd("500"))


class TestRetryPolicy:
    def test_default_ladder_is_1_3_7_days_after_the_first_failure(self) -> None:
        pol = RetryPolicy()
        assert [pol.retry_on(D(2027, 1, 1), k) for k in (1, 2, 3, 4)] == [
            D(2027, 1, 2), D(2027, 1, 4), D(2027, 1, 8), None,
        ]

    @pytest.mark.parametrize("days", [(3, 1), (0, 2), (1, 1), ("1",), (1.5,), "137"])
    def test_bad_ladders_are_refused_with_the_value(self, days: object) -> None:
        with pytest.raises(InvalidPlanError, match="retry days"):
            RetryPolicy(days)  # type: ignore[arg-type]

    def test_describe(self) -> None:
        assert RetryPolicy().describe() == (
            "A failed payment is retried 1 day, 3 days, 7 days after the first failure, "
            "never less than 2 days before the session."
        )
        assert RetryPolicy(()).describe() == "A failed payment is not retried automatically."

    def test_catalog_toml_sets_the_ladder(self) -> None:
        cat = Catalog.from_toml(
            '[catalog]\ncurrency = "USD"\n[terms]\nretry_days = [2, 5]\nretry_stop_days_before = 4\n'
            '[[tier]]\nname = "A"\nfee = "2000.00"\ninstallments = [3]\n'
        )
        assert cat.tiers[0].terms.retries == RetryPolicy((2, 5), stop_days_before=4)

    def test_catalog_refuses_a_bad_ladder_naming_where(self) -> None:
        with pytest.raises(InvalidPlanError, match=r"terms.*retry"):
            Catalog.from_toml(
                '[catalog]\ncurrency = "USD"\n[terms]\nretry_days = [5, 2]\n'
                '[[tier]]\nname = "A"\nfee = "2000.00"\ninstallments = [3]\n'
            )

    def test_plan_json_round_trips_the_ladder(self) -> None:
        plan = pack_a(retries=RetryPolicy((2, 4), stop_days_before=5, card_warning_days=20))
        assert loads_plan(dumps_plan(plan)).terms.retries == plan.terms.retries


class TestChargesDue:
    def test_an_installment_is_charged_on_its_due_date_once_as_attempt_1(self) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan)
        assert charges_due(plan, ledger, D(2026, 12, 31)) == ()
        (c,) = charges_due(plan, ledger, D(2027, 1, 1))
        assert (c.installment, c.amount, c.attempt, c.retry) == (2, usd("500"), 1, False)
        # asked again the same day (a second run, a crash): the same attempt
        assert charges_due(plan, ledger, D(2027, 1, 1)) == (c,)

    def test_a_decline_is_retried_on_the_ladder_each_with_the_next_attempt(self) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 1)))
        seen = {}
        for day in (D(2027, 1, 1) + dt.timedelta(days=k) for k in range(12)):
            due = charges_due(plan, ledger, day)
            if due:
                (c,) = due
                seen[day] = c.attempt
                ledger = ledger.record(fail(plan, 2, c.attempt, day))
        assert seen == {D(2027, 1, 2): 2, D(2027, 1, 4): 3, D(2027, 1, 8): 4}
        # the ladder ended: nothing more is charged
        assert charges_due(plan, ledger, D(2027, 1, 20)) == ()

    def test_a_missed_retry_day_is_caught_up_once(self) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 1)))
        (c,) = charges_due(plan, ledger, D(2027, 1, 3))
        assert (c.attempt, c.on, c.retry) == (2, D(2027, 1, 2), True)

    def test_paid_stops_the_retries(self) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 1)))
        ledger = ledger.record(PaymentReceived("bank", D(2027, 1, 2), usd("500")))
        assert charges_due(plan, ledger, D(2027, 1, 2)) == ()
        assert dunning_notices(plan, ledger, D(2027, 1, 2)) == ()

    def test_no_retry_too_close_to_the_session(self) -> None:
        plan = pack_a(session=D(2027, 3, 5))
        ledger = paid_deposit(plan)
        for n, day in ((2, D(2027, 1, 1)), (3, D(2027, 2, 1))):
            ledger = ledger.record(PaymentReceived(f"p{n}", day, usd("500")))
        ledger = ledger.record(fail(plan, 4, 1, D(2027, 3, 1)))
        assert [c.attempt for c in charges_due(plan, ledger, D(2027, 3, 2))] == [2]
        ledger = ledger.record(fail(plan, 4, 2, D(2027, 3, 2)))
        # the next retry (Mar 4) is 1 day before the session: too close (2 days)
        assert charges_due(plan, ledger, D(2027, 3, 4)) == ()
        (n,) = dunning_notices(plan, ledger, D(2027, 3, 2))
        assert n.kind is NoticeKind.ESCALATED

    def test_never_above_the_live_balance(self) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan).record(CreditApplied("c", D(2026, 12, 2), usd("800"), "goodwill"))
        # credit covers installment 2 and $300 of 3: only what is left is asked
        (c,) = charges_due(plan, ledger, D(2027, 2, 1))
        assert (c.installment, c.amount) == (3, usd("200"))

    def test_nothing_on_a_cancelled_plan(self) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan)
        ledger = ledger.record_all(settle_cancellation(plan, ledger, D(2026, 12, 20)).entries)
        assert charges_due(plan, ledger, D(2027, 1, 1)) == ()

    @settings(max_examples=60, deadline=None)
    @given(
        credit=st.integers(0, 2000_00),
        fee=st.integers(0, 100_00),
        days=st.integers(0, 200),
        failures=st.lists(st.tuples(st.integers(2, 4), st.integers(0, 120)), max_size=6),
    )
    def test_charges_never_exceed_the_balance_and_attempts_are_new(
        self, credit: int, fee: int, days: int, failures: list[tuple[int, int]]
    ) -> None:
        """Whatever was paid, credited, charged as fees or declined: the sum asked is at most the
        balance, each installment at most what it owes, and no attempt number was used before."""
        plan = pack_a()
        ledger = paid_deposit(plan)
        if credit:
            ledger = ledger.record(CreditApplied("c", D(2026, 12, 2), Money(credit, "USD"), "credit"))
        if fee:
            ledger = ledger.record(LateFeeAssessed("f", D(2026, 12, 3), Money(fee, "USD"), 1, 1, "fee"))
        used: dict[int, int] = {}
        for n, offset in failures:
            used[n] = used.get(n, 0) + 1
            ledger = ledger.record(fail(plan, n, used[n], plan.installments[n - 1].due + dt.timedelta(days=offset)))
        as_of = D(2027, 1, 1) + dt.timedelta(days=days)
        from payplan import plan_status

        status = plan_status(plan, ledger, as_of)
        due = charges_due(plan, ledger, as_of)
        assert sum(c.amount.minor for c in due) <= max(status.balance.minor, 0)
        for c in due:
            assert 0 < c.amount.minor <= status.installment(c.installment).outstanding.minor
            assert c.attempt == used.get(c.installment, 0) + 1


class TestNotices:
    def test_payment_failed_says_amount_reason_and_next_try(self) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 1), "expired_card"))
        (n,) = dunning_notices(plan, ledger, D(2027, 1, 1))
        assert n.kind is NoticeKind.PAYMENT_FAILED
        assert n.id == "pack-a:notice:payment-failed:2:1"
        assert n.next_attempt == D(2027, 1, 2)
        assert n.message == (
            "Your payment of $500.00 for installment 2 (due 2027-01-01) did not go through: your card has expired. "
            "We will try again on 2027-01-02; please make sure your payment method is up to date."
        )

    def test_the_notice_is_in_the_locale(self) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 1)))
        (n,) = dunning_notices(
            plan, ledger, D(2027, 1, 1), locale="fr_FR", date_format="long",
            templates={"payment_failed": "Le paiement de $amount du $due a échoué ; nouvel essai le $next_attempt."},
        )
        amount = usd("500").format("fr_FR")
        assert amount.startswith("500,00")
        assert n.message == f"Le paiement de {amount} du 1 janvier 2027 a échoué ; nouvel essai le 2 janvier 2027."

    def test_ladder_end_escalates_once_per_installment(self) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan)
        for k, day in enumerate((D(2027, 1, 1), D(2027, 1, 2), D(2027, 1, 4), D(2027, 1, 8)), 1):
            ledger = ledger.record(fail(plan, 2, k, day))
        (n,) = dunning_notices(plan, ledger, D(2027, 1, 8))
        assert (n.kind, n.id, n.attempts) == (NoticeKind.ESCALATED, "pack-a:notice:escalated:2", 4)
        assert "after 4 attempts" in n.message

    def test_card_expiring_before_an_installment_warns_once_ahead(self) -> None:
        plan = pack_a()
        ledger = paid_deposit(plan).record(PaymentReceived("p2", D(2027, 1, 1), usd("500")))
        expires = D(2027, 1, 31)
        # installment 3 is due 2027-02-01, after the card expires; the warning goes 14 days ahead
        assert dunning_notices(plan, ledger, D(2027, 1, 17), card_expires=expires) == ()
        (n,) = dunning_notices(plan, ledger, D(2027, 1, 18), card_expires=expires)
        assert (n.kind, n.installment, n.id) == (NoticeKind.CARD_EXPIRING, 3, "pack-a:notice:card-expiring:2027-01-31")
        assert "expires on 2027-01-31, before installment 3 of $500.00 is due on 2027-02-01" in n.message
        # a card valid past the last installment: no warning
        assert dunning_notices(plan, ledger, D(2027, 1, 18), card_expires=D(2027, 12, 31)) == ()

    def test_old_failures_are_not_renotified(self) -> None:
        plan = pack_a(retries=RetryPolicy((20,)))
        ledger = paid_deposit(plan).record(fail(plan, 2, 1, D(2027, 1, 1)))
        assert len(dunning_notices(plan, ledger, D(2027, 1, 8))) == 1
        assert dunning_notices(plan, ledger, D(2027, 1, 9)) == ()


class TestFeeCharges:
    @settings(max_examples=60, deadline=None)
    @given(
        fees=st.lists(st.integers(1, 200_00), max_size=4),
        waive=st.lists(st.booleans(), min_size=4, max_size=4),
        extra=st.integers(0, 2500_00),
        taken=st.integers(0, 3),
    )
    def test_fee_charges_never_exceed_the_fees_or_the_balance(
        self, fees: list[int], waive: list[bool], extra: int, taken: int
    ) -> None:
        """Whatever the fees, waivers, payments and fee charges already made: nothing is asked while an
        installment is owed, each fee at most what is left of it, the whole at most the balance."""
        from payplan import FeeWaived, fee_charges_due, plan_status

        plan = pack_a()
        ledger = paid_deposit(plan)
        for k, amount in enumerate(fees):
            fid = f"{plan.id}:late-fee:2:{k + 1}"
            ledger = ledger.record(LateFeeAssessed(fid, D(2027, 1, 2 + k), Money(amount, "USD"), 2, k + 1, "fee"))
            if waive[k]:
                ledger = ledger.record(FeeWaived(f"{fid}:waived", D(2027, 1, 10), Money(amount, "USD"), "kind", fid))
        if extra:
            ledger = ledger.record(PaymentReceived("rest", D(2027, 1, 20), Money(extra, "USD")))
        for k in range(min(taken, len(fees))):
            fid = f"{plan.id}:late-fee:2:{k + 1}"
            ledger = ledger.record(PaymentReceived(f"{plan.id}:fee-charge:{fid}:a1", D(2027, 3, 1), Money(1, "USD")))
        as_of = D(2027, 3, 2)
        status = plan_status(plan, ledger, as_of)
        due = fee_charges_due(plan, ledger, as_of)
        if any(s.outstanding.minor for s in status.installments):
            assert due == ()
        assert sum(c.amount.minor for c in due) <= max(status.balance.minor, 0)
        for c in due:
            fee = ledger.get(c.fee_id)
            assert fee is not None
            assert 0 < c.amount.minor <= fee.amount.minor  # type: ignore[union-attr]
