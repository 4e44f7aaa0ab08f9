"""A schedule line keeps its identity across amendments: late fees and reminders stay on their line (issue 11, item 4)."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from payplan import (
    AddAddOn,
    DepositRule,
    InvalidPlanError,
    LateFeeAssessed,
    LateFeePolicy,
    Ledger,
    Money,
    PaymentPlan,
    PaymentReceived,
    SkipPayment,
    amend,
    assess_late_fees,
    dump_plan,
    dumps_plan,
    load_plan,
    loads_plan,
    reminders_due,
)
from payplan._schedule import Installment

D = dt.date
USD = "USD"


def _plan() -> PaymentPlan:
    """$2000: $500 deposit Dec 1, then $500 on Jan 1, Feb 1 and Mar 1; $25 once 5 days late."""
    plan = PaymentPlan.with_deposit(
        "p", Money(200_000, USD), booked=D(2026, 12, 1), session=D(2027, 4, 15),
        deposit=DepositRule.percent_or_minimum(25, Money(50_000, USD)), installments=3,
        dates="monthly", final_due_days_before=14,
    )
    fees = LateFeePolicy.single(Money(2_500, USD), grace_days=4)
    return attrs.evolve(plan, terms=attrs.evolve(plan.terms, late_fees=fees))


def _fees(ledger: Ledger) -> list[LateFeeAssessed]:
    return [e for e in ledger if isinstance(e, LateFeeAssessed)]


class TestTheIssueExample:
    def _skipped(self) -> tuple[PaymentPlan, PaymentPlan, Ledger]:
        v1 = _plan()
        ledger = Ledger.empty(v1).record(PaymentReceived("pay-dep", D(2026, 12, 1), Money(50_000, USD)))
        ledger = ledger.record_all(assess_late_fees(v1, ledger, D(2027, 1, 10)))  # January's fee
        v2, _ = amend(v1, SkipPayment(2), by="staff", reason="hardship", on=D(2027, 1, 10), paid=ledger)
        return v1, v2, ledger.for_plan(v2)

    def test_a_payment_19_days_overdue_after_skip_payment_2_is_charged(self) -> None:
        """The old Feb 1 line is now installment 2; its fee is charged under its own id, January's stays."""
        _, v2, ledger = self._skipped()
        assert [(f.id, f.installment) for f in _fees(ledger)] == [("p:late-fee:2:1", 2)]
        feb = v2.installment(2)
        assert (feb.due, feb.line_id) == (D(2027, 2, 1), "3")
        new = assess_late_fees(v2, ledger, D(2027, 2, 20))
        assert [(f.id, f.on, f.installment, f.amount) for f in new] == [
            ("p:late-fee:3:1", D(2027, 2, 6), 2, Money(2_500, USD))
        ]
        assert "due 2027-02-01" in new[0].reason
        ledger = ledger.record_all(new)
        assert ledger.get("p:late-fee:2:1") is not None  # January's fee is not lost
        assert assess_late_fees(v2, ledger, D(2027, 2, 21)) == ()  # nor charged twice

    def test_the_reminder_cites_the_fee_of_its_own_line(self) -> None:
        """A week after Feb 1, the reminder for the Feb line mentions no January fee, then its own."""
        _, v2, ledger = self._skipped()
        (before,) = reminders_due(v2, ledger, D(2027, 2, 8))
        assert before.installment == 2
        assert "have been assessed" not in before.message
        ledger = ledger.record_all(assess_late_fees(v2, ledger, D(2027, 2, 8)))
        (after,) = reminders_due(v2, ledger, D(2027, 2, 8))
        assert "Late fees of $25.00 have been assessed on it." in after.message

    def test_an_add_on_keeps_each_later_line_on_its_own_fee(self) -> None:
        """An add-on due Jan 10 becomes line 3: it and the Feb line (now 4) each get their own fee."""
        v1 = _plan()
        ledger = Ledger.empty(v1).record(PaymentReceived("pay-dep", D(2026, 12, 1), Money(50_000, USD)))
        ledger = ledger.record_all(assess_late_fees(v1, ledger, D(2027, 1, 10)))
        v2, _ = amend(
            v1, AddAddOn("Album", Money(10_000, USD), D(2027, 1, 10)), by="staff", reason="album",
            on=D(2027, 1, 10), consent=True, paid=ledger,
        )
        ledger = ledger.for_plan(v2)
        assert [i.line_id for i in v2.installments] == ["1", "2", "v2.1", "3", "4"]
        new = assess_late_fees(v2, ledger, D(2027, 2, 20))
        assert [(f.id, f.on, f.installment) for f in new] == [
            ("p:late-fee:v2.1:1", D(2027, 1, 15), 3),
            ("p:late-fee:3:1", D(2027, 2, 6), 4),
        ]


class TestLineIds:
    def test_a_line_never_renumbered_is_its_number(self) -> None:
        """Plans as built carry no keys; a line's id is its number, as fee ids always were."""
        plan = _plan()
        assert [i.key for i in plan.installments] == [None] * 4
        assert [i.line_id for i in plan.installments] == ["1", "2", "3", "4"]

    def test_two_lines_with_one_id_are_refused(self) -> None:
        """A key that repeats another line's id is refused, naming the id."""
        plan = _plan()
        lines = list(plan.installments)
        lines[1] = Installment(2, lines[1].kind, lines[1].due, lines[1].amount, key="3")
        with pytest.raises(InvalidPlanError, match="two lines with the id '3'"):
            PaymentPlan(plan.id, plan.fee, lines, plan.booked, plan.session, plan.terms)

    @pytest.mark.parametrize("key", ["", "a:b", "x" * 41, "tab\t"])
    def test_a_malformed_key_is_refused(self, key: str) -> None:
        """Keys are short printable names without ':' (fee ids are ':'-separated)."""
        plan = _plan()
        lines = list(plan.installments)
        lines[1] = Installment(2, lines[1].kind, lines[1].due, lines[1].amount, key=key)
        with pytest.raises(InvalidPlanError, match="installment 2's key"):
            PaymentPlan(plan.id, plan.fee, lines, plan.booked, plan.session, plan.terms)

    def test_keys_survive_the_plan_json(self) -> None:
        """An amended plan's keys round-trip; an unamended plan's JSON has no key field at all."""
        v1 = _plan()
        assert "key" not in dumps_plan(v1)
        v2, _ = amend(v1, SkipPayment(2), by="staff", reason="r", on=D(2026, 12, 1))
        back = loads_plan(dumps_plan(v2))
        assert back == v2
        assert [i.line_id for i in back.installments] == ["1", "3", "4"]

    def test_a_document_without_keys_loads_with_numbers_as_ids(self) -> None:
        """Today's documents of amended plans (no keys) load; each line's id is its number."""
        v2, _ = amend(_plan(), SkipPayment(2), by="staff", reason="r", on=D(2026, 12, 1))
        doc = dump_plan(v2)
        for line in doc["plan"]["installments"]:
            line.pop("key", None)
        assert "key" not in str(doc)
        old = load_plan(doc)
        assert [i.line_id for i in old.installments] == ["1", "2", "3"]
