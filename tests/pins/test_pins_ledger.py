"""Pins for the ledger at its exact edges (#26 item 1: mutants of ``payplan._ledger`` found alive).

Each test pins what a ledger holds, refuses or says, to the cent and word
for word, and was checked to fail on the mutants it was written against
(mutmut, this session). The amounts are worked out by hand.

The plan: $300.00 in three lines of $100.00 due 2027-01-01 (the deposit,
on the booking day), 2027-02-01 and 2027-03-01; session 2027-06-01.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from payplan import (
    DepositRule,
    Ledger,
    LedgerError,
    Money,
    PaymentPlan,
    PaymentReceived,
)

D = dt.date
BOOKED = D(2027, 1, 1)


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def message(text: str) -> str:
    return f"^{re.escape(text)}$"


def plan_of(plan_id: str = "p", total: str = "300.00", currency: str = "USD") -> PaymentPlan:
    return PaymentPlan.with_deposit(
        plan_id,
        Money.of(total, currency),
        deposit=DepositRule.fixed(Money.of("100.00", currency)),
        installments=2,
        booked=D(2027, 1, 1),
        session=D(2027, 6, 1),
    )


def paid(entry_id: str, amount: str, on: dt.date = BOOKED) -> PaymentReceived:
    return PaymentReceived(entry_id, on, usd(amount))


class TestComparingAndShowing:
    def test_ledgers_of_the_same_entries_in_another_order_are_not_unequal(self) -> None:
        plan = plan_of()
        one = Ledger.empty(plan).record(paid("a", "100.00")).record(paid("b", "50.00", D(2027, 2, 1)))
        other = Ledger.empty(plan).record(paid("b", "50.00", D(2027, 2, 1))).record(paid("a", "100.00"))
        assert one is not other
        assert (one != other, one == other) == (False, True)
        fewer = Ledger.empty(plan).record(paid("a", "100.00"))
        assert (one != fewer, one == fewer) == (True, False)

    def test_a_ledger_is_unequal_to_what_is_not_a_ledger(self) -> None:
        ledger = Ledger.empty(plan_of())
        assert (ledger != "ledger", ledger == "ledger") == (True, False)
        assert ledger.__ne__("ledger") is NotImplemented

    def test_the_repr_names_the_plan_the_count_and_the_balance(self) -> None:
        ledger = Ledger.empty(plan_of()).record(paid("a", "100.01"))
        assert repr(ledger) == "<Ledger plan='p' entries=1 balance=199.99 USD>"
        assert repr(Ledger.empty("JPY")) == "<Ledger plan=None entries=0 balance=0 JPY>"


class TestANewVersionOfThePlan:
    """for_plan moves a ledger onto an amended plan: the same plan id and currency, a new total."""

    def test_the_new_total_is_owed_and_the_plan_id_is_kept(self) -> None:
        ledger = Ledger.empty(plan_of()).record(paid("a", "100.00"))
        moved = ledger.for_plan(plan_of(total="350.00"))
        assert (moved.plan_id, moved.total, str(moved.balance), len(moved)) == ("p", 35000, "250.00 USD", 1)
        assert (ledger.plan_id, ledger.total, str(ledger.balance)) == ("p", 30000, "200.00 USD")

    def test_a_ledger_of_a_bare_currency_takes_any_plan_in_it(self) -> None:
        moved = Ledger.empty("USD").record(paid("a", "100.00")).for_plan(plan_of("q"))
        assert (moved.plan_id, str(moved.balance)) == ("q", "200.00 USD")

    def test_another_plan_is_refused_naming_both(self) -> None:
        ledger = Ledger.empty(plan_of())
        with pytest.raises(
            LedgerError, match=message("expected a version of plan 'p' in USD, got plan 'q' in USD")
        ):
            ledger.for_plan(plan_of("q"))

    def test_the_same_plan_in_another_currency_is_refused_naming_both(self) -> None:
        with pytest.raises(
            LedgerError, match=message("expected a version of plan 'p' in USD, got plan 'p' in EUR")
        ):
            Ledger.empty(plan_of()).for_plan(plan_of(currency="EUR"))
        with pytest.raises(
            LedgerError, match=message("expected a version of plan None in USD, got plan 'q' in EUR")
        ):
            Ledger.empty("USD").for_plan(plan_of("q", currency="EUR"))
