"""When a late fee is collected (``LateFeePolicy.collect``), and what a payment taken for a fee pays (issue #20)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from payplan import (
    Catalog,
    DepositRule,
    FeeCollection,
    FeeWaived,
    InvalidPlanError,
    LateFeePolicy,
    Ledger,
    Money,
    PaymentPlan,
    PaymentReceived,
    Terms,
    assess_late_fees,
    fee_charges_due,
    fees_due,
    fees_held,
    plan_status,
    render_agreement,
)
from payplan.serialization import dumps_ledger, dumps_plan, loads_ledger, loads_plan

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def pack_a(collect: FeeCollection | str = FeeCollection.AFTER_LAST_INSTALLMENT) -> PaymentPlan:
    """$500 deposit 2026-12-01; $500 due 2027-01-01, 02-01, 03-01; a $25 fee the day after a due date."""
    return PaymentPlan.with_deposit(
        "pack-a", usd("2000.00"),
        terms=Terms(deposit=DepositRule.fixed(usd("500.00")), installments=3,
                    late_fees=LateFeePolicy.single(usd("25"), collect=collect)),
        booked=D(2026, 12, 1), session=D(2027, 4, 15),
    )


def late(plan: PaymentPlan) -> Ledger:
    """The deposit paid; installment 2 unpaid on 2027-01-02: its $25 fee assessed."""
    ledger = Ledger.empty(plan).record(PaymentReceived("dep", D(2026, 12, 1), usd("500")))
    return ledger.record_all(assess_late_fees(plan, ledger, D(2027, 1, 2)))


FEE = "pack-a:late-fee:2:1"


class TestTheSetting:
    def test_default_is_after_the_last_installment(self) -> None:
        """Without a word, fees are collected once the last installment is paid (payplan 0.2's behaviour)."""
        assert LateFeePolicy.single(usd("25")).collect is FeeCollection.AFTER_LAST_INSTALLMENT

    def test_a_bad_value_is_refused_naming_the_choices(self) -> None:
        """A value that is not a timing is an InvalidPlanError listing the three."""
        with pytest.raises(InvalidPlanError, match=r"at_once.*with_next_installment.*after_last_installment.*'soon'"):
            LateFeePolicy.single(usd("25"), collect="soon")

    @pytest.mark.parametrize("collect", list(FeeCollection))
    def test_plan_json_round_trip(self, collect: FeeCollection) -> None:
        """The timing is kept in the plan's JSON."""
        plan = pack_a(collect)
        assert loads_plan(dumps_plan(plan)).terms.late_fees.collect is collect  # type: ignore[union-attr]

    def test_a_document_written_before_the_setting_loads_as_before(self) -> None:
        """A plan document with no ``collect`` key loads as after the last installment."""
        doc = json.loads(dumps_plan(pack_a(FeeCollection.AT_ONCE)))
        del doc["plan"]["terms"]["late_fees"]["collect"]
        plan = loads_plan(json.dumps(doc))
        assert plan.terms.late_fees.collect is FeeCollection.AFTER_LAST_INSTALLMENT  # type: ignore[union-attr]

    def test_catalog_key(self) -> None:
        """``late_fee_collect`` in a catalog sets it; a bad value says where and what is expected."""
        toml = '''
[catalog]
currency = "USD"
[terms]
late_fee = "25.00"
late_fee_collect = "with_next_installment"
[[tier]]
name = "A"
fee = "2000.00"
installments = [3]
'''
        plan = Catalog.from_toml(toml)["A"].quote("q-1", booked=D(2026, 12, 1), session=D(2027, 4, 15))
        assert plan.terms.late_fees.collect is FeeCollection.WITH_NEXT_INSTALLMENT  # type: ignore[union-attr]
        with pytest.raises(InvalidPlanError, match="late_fee_collect: expected one of"):
            Catalog.from_toml(toml.replace('"with_next_installment"', '"later"'))

    @pytest.mark.parametrize(("collect", "words"), [
        (FeeCollection.AT_ONCE, "A late fee is collected on the day it applies."),
        (FeeCollection.WITH_NEXT_INSTALLMENT, "A late fee is collected with the next installment due."),
        (FeeCollection.AFTER_LAST_INSTALLMENT, "Late fees are collected once the last installment is paid."),
    ])
    def test_the_agreement_says_when(self, collect: FeeCollection, words: str) -> None:
        """The agreement the client signs says when a late fee is collected, as the run does it."""
        plan = pack_a(collect)
        assert words in render_agreement(plan)
        assert words in plan.terms.late_fees.describe()  # type: ignore[union-attr]


class TestWhenTheFeeIsDue:
    def test_after_the_last_installment(self) -> None:
        """Held while installments are owed, with the last due date; due once every installment is paid."""
        plan = pack_a()
        ledger = late(plan)
        assert fee_charges_due(plan, ledger, D(2027, 1, 2)) == ()
        (held,) = fees_held(plan, ledger, D(2027, 1, 2))
        assert (held.fee_id, held.amount, held.charge_on, held.automatic) == (FEE, usd("25"), D(2027, 3, 1), True)
        assert held.reason == "charged once every installment is paid (the last is due on 2027-03-01)"
        paid = ledger.record(PaymentReceived("rest", D(2027, 3, 1), usd("1500")))
        (due,) = fee_charges_due(plan, paid, D(2027, 3, 1))
        assert (due.fee_id, due.amount, due.attempt) == (FEE, usd("25"), 1)
        assert fees_held(plan, paid, D(2027, 3, 1)) == ()

    def test_with_the_next_installment(self) -> None:
        """Held until installment 3's due date, then due, though installments are still owed."""
        plan = pack_a(FeeCollection.WITH_NEXT_INSTALLMENT)
        ledger = late(plan)
        (held,) = fees_held(plan, ledger, D(2027, 1, 31))
        assert (held.reason, held.charge_on) == ("charged with installment 3 on 2027-02-01", D(2027, 2, 1))
        (due,) = fee_charges_due(plan, ledger, D(2027, 2, 1))
        assert due.amount == usd("25")

    def test_at_once(self) -> None:
        """Due the day it is assessed, while installment 2 is still owed."""
        plan = pack_a(FeeCollection.AT_ONCE)
        (due,) = fee_charges_due(plan, late(plan), D(2027, 1, 2))
        assert (due.fee_id, due.amount) == (FEE, usd("25"))

    def test_a_declined_fee_waits_for_its_retry_then_the_ladder_ends(self) -> None:
        """After a decline the fee is held until the ladder's next day; when the ladder ends, it is not charged again."""
        from payplan import PaymentFailed

        plan = pack_a(FeeCollection.AT_ONCE)
        ledger = late(plan)
        base = f"pack-a:fee-charge:{FEE}"
        ledger = ledger.record(PaymentFailed(f"{base}:a1:failed", D(2027, 1, 2), "card_declined", None, usd("25")))
        (held,) = fees_held(plan, ledger, D(2027, 1, 2))
        assert (held.reason, held.charge_on) == ("declined; tried again on 2027-01-03", D(2027, 1, 3))
        for k, day in enumerate((D(2027, 1, 3), D(2027, 1, 5), D(2027, 1, 9)), 2):
            (due,) = fee_charges_due(plan, ledger, day)
            assert due.attempt == k
            ledger = ledger.record(PaymentFailed(f"{base}:a{k}:failed", day, "card_declined", None, usd("25")))
        assert fee_charges_due(plan, ledger, D(2027, 2, 1)) == ()
        (held,) = fees_held(plan, ledger, D(2027, 2, 1))
        assert (held.automatic, held.charge_on) == (False, None)
        assert held.reason == "declined 4 time(s); the retry ladder ended"


class TestAPaymentForAFee:
    def test_it_pays_the_fee_not_the_installment(self) -> None:
        """$25 taken for the fee while installment 2 is owed: the fee is paid, installment 2 still owes $500."""
        plan = pack_a(FeeCollection.AT_ONCE)
        ledger = late(plan).record(PaymentReceived("f", D(2027, 1, 2), usd("25"), "card", "ch_1", fee_id=FEE))
        status = plan_status(plan, ledger, D(2027, 1, 2))
        assert status.installment(2).outstanding == usd("500")
        assert status.fees_outstanding == usd("0")
        assert fees_due(plan, ledger, D(2027, 1, 2)) == ()
        assert status.balance == usd("1500")

    def test_without_the_fee_id_it_pays_the_installment_first(self) -> None:
        """The same $25 without naming the fee goes to the oldest installment, as every payment does."""
        plan = pack_a()
        ledger = late(plan).record(PaymentReceived("f", D(2027, 1, 2), usd("25"), "card", "ch_1"))
        status = plan_status(plan, ledger, D(2027, 1, 2))
        assert status.installment(2).outstanding == usd("475")
        assert status.fees_outstanding == usd("25")

    def test_a_waiver_after_it_gives_the_money_to_the_installments(self) -> None:
        """The fee waived after it was paid: the $25 counts like any other payment (toward installment 2)."""
        plan = pack_a(FeeCollection.AT_ONCE)
        ledger = late(plan).record(PaymentReceived("f", D(2027, 1, 2), usd("25"), "card", "ch_1", fee_id=FEE))
        ledger = ledger.record(FeeWaived(f"{FEE}:waived", D(2027, 1, 3), usd("25"), "goodwill", FEE))
        status = plan_status(plan, ledger, D(2027, 1, 3))
        assert status.installment(2).outstanding == usd("475")
        assert status.fees_outstanding == usd("0")

    def test_no_further_late_fee_on_money_the_fee_took(self) -> None:
        """A later late-fee step sees installment 2 as owed in full: the fee's money never paid it."""
        plan = pack_a(FeeCollection.AT_ONCE)
        ledger = late(plan).record(PaymentReceived("f", D(2027, 1, 2), usd("25"), "card", "ch_1", fee_id=FEE))
        assert plan_status(plan, ledger, D(2027, 1, 20)).installment(2).outstanding == usd("500")

    def test_the_ledger_json_keeps_it_and_old_entries_read_as_before(self) -> None:
        """``fee_id`` round-trips; an entry without it is written (and read) as it always was."""
        plan = pack_a()
        ledger = late(plan).record(PaymentReceived("f", D(2027, 1, 2), usd("25"), "card", "ch_1", fee_id=FEE))
        text = dumps_ledger(ledger)
        again = loads_ledger(text, plan)
        assert again == ledger
        entries = json.loads(text)["ledger"]["entries"]
        assert [e.get("fee_id") for e in entries if e["kind"] == "payment"] == [None, FEE]
        assert "fee_id" not in entries[0]
