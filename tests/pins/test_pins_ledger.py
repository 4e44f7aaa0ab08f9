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
    CancellationSettled,
    CreditApplied,
    Currency,
    DepositRule,
    FeeWaived,
    InvalidPlanError,
    LateFeeAssessed,
    Ledger,
    LedgerError,
    Money,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    Refund,
    WriteOff,
    fees_due,
    plan_status,
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


def every_kind() -> Ledger:
    """One entry of each kind but a cancellation, recorded out of date order."""
    return Ledger.empty(plan_of()).record_all(
        [
            paid("a", "100.00"),
            PaymentFailed("x", D(2027, 2, 1), "card_declined", installment=2, amount=usd("100.00")),
            LateFeeAssessed("f1", D(2027, 2, 2), usd("10.00"), installment=2),
            paid("b", "60.00", D(2027, 2, 3)),
            Refund.reversal("r1", D(2027, 2, 5), usd("10.00")),
            Refund.price_reduction("r2", D(2027, 2, 6), usd("5.00")),
            FeeWaived("w1", D(2027, 2, 7), usd("4.00"), "goodwill", "f1"),
            CreditApplied("c1", D(2027, 2, 8), usd("20.00"), "referral credit"),
            WriteOff("wo-3", D(2027, 2, 9), usd("30.00"), "hardship", installment=3),
            WriteOff("wo-2", D(2027, 2, 4), usd("2.00"), "hardship", installment=2),
            WriteOff("wo-3b", D(2027, 2, 9), usd("1.00"), "hardship", installment=3),
            WriteOff("wo", D(2027, 2, 9), usd("0.50"), "rounding"),
        ]
    )


def figures(ledger: Ledger) -> tuple[str, ...]:
    """paid, refunded, net paid, fees, waived, credits, written off, charges, funds, balance."""
    return tuple(
        str(m)
        for m in (
            ledger.paid,
            ledger.refunded,
            ledger.net_paid,
            ledger.fees,
            ledger.waived,
            ledger.credits,
            ledger.written_off,
            ledger.charges,
            ledger.funds,
            ledger.balance,
        )
    )


class TestTotals:
    """The running totals to the cent: $300.00 owed, $160.00 paid, $15.00 back ($5.00 of it lowering the price)."""

    def test_every_total_of_every_kind(self) -> None:
        ledger = every_kind()
        assert figures(ledger) == (
            "160.00 USD",
            "15.00 USD",
            "145.00 USD",
            "10.00 USD",
            "4.00 USD",
            "25.00 USD",
            "33.50 USD",
            "306.00 USD",
            "203.50 USD",
            "102.50 USD",
        )
        assert (len(ledger), ledger.failed_attempts, ledger.last_on, ledger.cancellation) == (
            12,
            1,
            D(2027, 2, 9),
            None,
        )

    def test_write_offs_aimed_at_a_line_add_up_by_line(self) -> None:
        assert every_kind().installment_write_offs() == {2: usd("2.00"), 3: usd("31.00")}
        assert Ledger.empty(plan_of()).installment_write_offs() == {}

    def test_after_a_cancellation_the_client_owes_the_retained_credit_and_forgiven_amounts_and_fees(
        self,
    ) -> None:
        settled = CancellationSettled(
            "cancel",
            D(2027, 2, 10),
            usd("100.00"),
            usd("0.00"),
            usd("20.00"),
            "30 days out",
            forgiven=usd("33.50"),
        )
        ledger = every_kind().record(settled)
        # 100.00 + 20.00 + 33.50 + 10.00 fees - 4.00 waived = 159.50; funds stay 203.50.
        assert (str(ledger.charges), str(ledger.funds), str(ledger.balance)) == (
            "159.50 USD",
            "203.50 USD",
            "-44.00 USD",
        )
        assert (ledger.cancellation, ledger.last_on) == (settled, D(2027, 2, 10))
        none_forgiven = CancellationSettled(
            "cancel", D(2027, 2, 10), usd("100.00"), usd("0.00"), usd("20.00")
        )
        assert str(every_kind().record(none_forgiven).charges) == "126.00 USD"

    def test_a_second_cancellation_is_refused_naming_the_first(self) -> None:
        ledger = Ledger.empty(plan_of()).record(
            CancellationSettled("c1", BOOKED, usd("0"), usd("0"), usd("0"))
        )
        with pytest.raises(
            LedgerError,
            match=message(
                "the plan was already cancelled by 'c1'; expected no second cancellation, got 'c2'"
            ),
        ):
            ledger.record(CancellationSettled("c2", BOOKED, usd("0"), usd("0"), usd("0")))

    def test_the_view_as_of_a_day_adds_up_only_the_entries_dated_up_to_it(self) -> None:
        ledger = every_kind()
        view = ledger.as_of(D(2027, 2, 5))
        assert [e.id for e in view] == ["a", "x", "f1", "b", "r1", "wo-2"]
        # 300.00 + 10.00 fees - (160.00 - 10.00 + 2.00) = 158.00
        assert figures(view) == (
            "160.00 USD",
            "10.00 USD",
            "150.00 USD",
            "10.00 USD",
            "0.00 USD",
            "0.00 USD",
            "2.00 USD",
            "310.00 USD",
            "152.00 USD",
            "158.00 USD",
        )
        assert (view.failed_attempts, view.last_on, view.installment_write_offs()) == (
            1,
            D(2027, 2, 5),
            {2: usd("2.00")},
        )
        assert ledger.as_of(D(2027, 2, 9)) is ledger
        before = ledger.as_of(D(2026, 12, 31))
        assert (len(before), before.last_on, str(before.balance)) == (0, None, "300.00 USD")

    def test_the_view_as_of_something_not_a_date_is_refused(self) -> None:
        with pytest.raises(
            InvalidPlanError, match=message("expected day as a datetime.date, got str '2027-02-05'")
        ):
            every_kind().as_of("2027-02-05")  # type: ignore[arg-type]


class TestEntriesRefused:
    """Each entry refuses a bad field as it is built, naming the field and what arrived."""

    def test_an_id_of_1_to_200_characters(self) -> None:
        assert [len(paid(i, "1.00").id) for i in ("a", "x" * 200)] == [1, 200]
        for bad in ("", "x" * 201, 5):
            with pytest.raises(
                LedgerError, match=message(f"expected an entry id of 1 to 200 characters, got {bad!r}")
            ):
                PaymentReceived(bad, BOOKED, usd("1.00"))  # type: ignore[arg-type]

    def test_a_date_not_a_datetime(self) -> None:
        when = dt.datetime(2027, 1, 1)
        with pytest.raises(
            LedgerError, match=message(f"expected the entry date as a datetime.date, got datetime {when!r}")
        ):
            PaymentReceived("a", when, usd("1.00"))

    def test_an_amount_of_one_cent_or_more(self) -> None:
        assert paid("a", "0.01").amount.minor == 1
        for bad in (usd("0.00"), usd("-0.01"), 100):
            with pytest.raises(
                LedgerError, match=message(f"expected amount as Money above zero, got {bad!r}")
            ):
                CreditApplied("a", BOOKED, bad)  # type: ignore[arg-type]

    def test_a_refund_says_whether_it_lowers_the_price(self) -> None:
        back = Refund.reversal("r", BOOKED, usd("1.00"), "oops", "ch_1")
        down = Refund.price_reduction("r", BOOKED, usd("1.00"), "goodwill", "ch_2")
        assert (back.lowers_price, back.reason, back.reference) == (False, "oops", "ch_1")
        assert (down.lowers_price, down.reason, down.reference) == (True, "goodwill", "ch_2")
        plain = (Refund.reversal("r", BOOKED, usd("1.00")), Refund.price_reduction("r", BOOKED, usd("1.00")))
        assert [(r.reason, r.reference, r.lowers_price) for r in plain] == [
            ("", None, False),
            ("", None, True),
        ]
        with pytest.raises(LedgerError, match=message("expected lowers_price as True or False, got 1")):
            Refund("r", BOOKED, usd("1.00"), lowers_price=1)  # type: ignore[arg-type]

    def test_an_installment_number_of_1_or_more(self) -> None:
        assert LateFeeAssessed("f", BOOKED, usd("1.00"), installment=1).installment == 1
        assert [WriteOff("w", BOOKED, usd("1.00"), installment=n).installment for n in (None, 1)] == [None, 1]
        assert [PaymentFailed("x", BOOKED, installment=n).installment for n in (None, 1)] == [None, 1]
        for bad in (0, True, "1"):
            text = message(f"expected an installment number of 1 or more, got {bad!r}")
            with pytest.raises(LedgerError, match=text):
                LateFeeAssessed("f", BOOKED, usd("1.00"), installment=bad)  # type: ignore[arg-type]
            with pytest.raises(LedgerError, match=text):
                WriteOff("w", BOOKED, usd("1.00"), installment=bad)  # type: ignore[arg-type]
            with pytest.raises(LedgerError, match=text):
                PaymentFailed("x", BOOKED, installment=bad)  # type: ignore[arg-type]

    def test_a_settlement_of_zero_or_more_in_each_part(self) -> None:
        zero, cent = usd("0.00"), usd("-0.01")
        settled = CancellationSettled("c", BOOKED, zero, zero, zero, forgiven=zero)
        assert (settled.amount, settled.forgiven, settled.no_show) == (zero, zero, False)
        for name, parts in (
            ("amount", (cent, zero, zero)),
            ("refund", (zero, cent, zero)),
            ("credit", (zero, zero, cent)),
        ):
            with pytest.raises(
                LedgerError, match=message(f"expected {name} as Money of zero or more, got {cent!r}")
            ):
                CancellationSettled("c", BOOKED, *parts)
        for bad in (cent, 5):
            with pytest.raises(
                LedgerError, match=message(f"expected forgiven as Money of zero or more, got {bad!r}")
            ):
                CancellationSettled("c", BOOKED, zero, zero, zero, forgiven=bad)  # type: ignore[arg-type]


class TestRecordingRefused:
    """What the ledger refuses to record, word for word, and the edge it still takes."""

    def test_what_is_not_an_entry(self) -> None:
        for bad in ("x", None, BOOKED):
            with pytest.raises(
                LedgerError, match=message(f"expected a ledger entry such as PaymentReceived, got {bad!r}")
            ):
                Ledger.empty(plan_of()).record(bad)  # type: ignore[arg-type]
            with pytest.raises(
                LedgerError, match=message(f"expected a ledger entry such as PaymentReceived, got {bad!r}")
            ):
                Ledger.empty(plan_of()).record_all([bad])  # type: ignore[list-item]

    def test_an_amount_in_another_currency(self) -> None:
        ledger = Ledger.empty(plan_of())
        eur = Money.of("1.00", "EUR")
        text = message("expected 'a' in the ledger's currency USD, got 1.00 EUR")
        with pytest.raises(LedgerError, match=text):
            ledger.record(PaymentReceived("a", BOOKED, eur))
        with pytest.raises(LedgerError, match=text):
            ledger.record(PaymentFailed("a", BOOKED, amount=eur))
        failed = ledger.record(PaymentFailed("a", BOOKED, amount=usd("1.00"))).record(
            PaymentFailed("b", BOOKED)
        )
        assert (failed.failed_attempts, str(failed.balance), failed.last_on) == (2, "300.00 USD", BOOKED)

    def test_a_used_id_for_another_entry_and_the_same_entry_again(self) -> None:
        first = paid("a", "100.00")
        ledger = Ledger.empty(plan_of()).record(first)
        assert ledger.record(paid("a", "100.00")) is ledger
        assert ledger.record_all([paid("a", "100.00")]) is ledger
        again = paid("a", "100.01")
        with pytest.raises(
            LedgerError,
            match=message(f"entry id 'a' is already used by {first!r}; expected a new id for {again!r}"),
        ):
            ledger.record(again)

    def test_a_refund_of_the_cent_above_what_was_paid_and_not_refunded(self) -> None:
        ledger = Ledger.empty(plan_of()).record_all(
            [paid("a", "100.00"), Refund.reversal("r1", BOOKED, usd("40.00"))]
        )
        with pytest.raises(
            LedgerError,
            match=message(
                "refund 'r2' of 60.01 USD on 2027-01-01 is more than the 60.00 USD paid by then "
                "and not refunded at any date since"
            ),
        ):
            ledger.record(Refund.price_reduction("r2", BOOKED, usd("60.01")))
        assert str(ledger.record(Refund.price_reduction("r2", BOOKED, usd("60.00"))).net_paid) == "0.00 USD"

    def test_a_refund_dated_before_a_later_refund_counts_it(self) -> None:
        """$100.00 paid on 01-01 and refunded in full on 01-10: nothing may go back on 01-05, a payment on 01-20 or not."""
        ledger = Ledger.empty(plan_of()).record_all(
            [
                paid("a", "100.00"),
                Refund.reversal("r1", D(2027, 1, 10), usd("100.00")),
                paid("b", "50.00", D(2027, 1, 20)),
            ]
        )
        with pytest.raises(
            LedgerError,
            match=message(
                "refund 'r2' of 0.01 USD on 2027-01-05 is more than the 0.00 USD paid by then "
                "and not refunded at any date since"
            ),
        ):
            ledger.record(Refund.reversal("r2", D(2027, 1, 5), usd("0.01")))
        assert str(ledger.record(Refund.reversal("r2", D(2027, 1, 20), usd("50.00"))).net_paid) == "0.00 USD"

    def test_a_refund_dated_before_the_payment(self) -> None:
        """$5.00 paid on 01-03, $100.00 on 01-10 (a fee and a failed attempt between): $5.00 may go back on 01-05."""
        ledger = Ledger.empty(plan_of()).record_all(
            [
                paid("a", "100.00", D(2027, 1, 10)),
                paid("b", "5.00", D(2027, 1, 3)),
                LateFeeAssessed("f1", D(2027, 1, 4), usd("10.00"), installment=1),
                PaymentFailed("x", D(2027, 1, 6), "card_declined"),
                FeeWaived("w1", D(2027, 1, 7), usd("1.00"), "goodwill"),
            ]
        )
        with pytest.raises(
            LedgerError,
            match=message(
                "refund 'r' of 5.01 USD on 2027-01-05 is more than the 5.00 USD paid by then "
                "and not refunded at any date since"
            ),
        ):
            ledger.record(Refund.reversal("r", D(2027, 1, 5), usd("5.01")))
        assert str(ledger.record(Refund.reversal("r", D(2027, 1, 5), usd("5.00"))).net_paid) == "100.00 USD"

    def test_a_waiver_of_the_cent_above_the_fees_standing(self) -> None:
        ledger = Ledger.empty(plan_of()).record_all(
            [
                LateFeeAssessed("f1", D(2027, 2, 2), usd("10.00"), installment=2),
                LateFeeAssessed("f2", D(2027, 2, 9), usd("5.00"), installment=2),
            ]
        )
        with pytest.raises(
            LedgerError,
            match=message(
                "waiver 'w' of 10.01 USD on 2027-02-05 is more than the 10.00 USD of fees standing by then"
            ),
        ):
            ledger.record(FeeWaived("w", D(2027, 2, 5), usd("10.01")))
        with pytest.raises(
            LedgerError,
            match=message(
                "waiver 'w' of 0.01 USD on 2027-02-01 is more than the 0.00 USD of fees standing by then"
            ),
        ):
            ledger.record(FeeWaived("w", D(2027, 2, 1), usd("0.01")))
        assert str(ledger.record(FeeWaived("w", D(2027, 2, 9), usd("15.00"))).charges) == "300.00 USD"

    def test_a_waiver_dated_before_a_later_waiver_counts_it(self) -> None:
        """$10.00 of fees on 02-02 and $4.00 of it waived on 02-10: $6.00 may be waived on 02-05, not a cent more."""
        ledger = Ledger.empty(plan_of()).record_all(
            [
                LateFeeAssessed("f1", D(2027, 2, 2), usd("10.00"), installment=2),
                paid("a", "1.00", D(2027, 2, 3)),
                PaymentFailed("x", D(2027, 2, 4), "card_declined"),
                FeeWaived("w1", D(2027, 2, 10), usd("4.00"), "goodwill"),
            ]
        )
        with pytest.raises(
            LedgerError,
            match=message(
                "waiver 'w2' of 6.01 USD on 2027-02-05 is more than the 6.00 USD of fees standing by then"
            ),
        ):
            ledger.record(FeeWaived("w2", D(2027, 2, 5), usd("6.01")))
        assert str(ledger.record(FeeWaived("w2", D(2027, 2, 5), usd("6.00"))).waived) == "10.00 USD"

    def test_a_waiver_of_one_fee_is_bounded_by_that_fee_with_every_earlier_waiver_of_it(self) -> None:
        f2 = LateFeeAssessed("f2", D(2027, 2, 2), usd("5.00"), installment=2)
        ledger = Ledger.empty(plan_of()).record_all(
            [LateFeeAssessed("f1", D(2027, 2, 2), usd("10.00"), installment=2), f2, paid("a", "1.00")]
        )
        with pytest.raises(
            LedgerError,
            match=message(
                f"waiver 'w1' of 5.01 USD: expected a late fee of at least that under 'f2', got {f2!r}"
            ),
        ):
            ledger.record(FeeWaived("w1", D(2027, 2, 3), usd("5.01"), "goodwill", "f2"))
        ledger = ledger.record(FeeWaived("w1", D(2027, 2, 3), usd("3.00"), "goodwill", "f2"))
        with pytest.raises(
            LedgerError,
            match=message(
                f"waiver 'w2' of 2.01 USD: expected a late fee of at least that under 'f2' "
                f"beyond the 3.00 USD already waived on it, got {f2!r}"
            ),
        ):
            ledger.record(FeeWaived("w2", D(2027, 2, 3), usd("2.01"), "goodwill", "f2"))
        ledger = ledger.record(FeeWaived("w2", D(2027, 2, 3), usd("2.00"), "goodwill", "f2"))
        assert str(ledger.waived) == "5.00 USD"
        # A waiver naming a fee that is not in the ledger is bounded by the fees standing only.
        assert (
            str(ledger.record(FeeWaived("w3", D(2027, 2, 3), usd("10.00"), "goodwill", "gone")).waived)
            == "15.00 USD"
        )

    def test_a_waiver_naming_an_entry_that_is_not_a_fee(self) -> None:
        ledger = Ledger.empty(plan_of()).record_all(
            [paid("a", "1.00"), LateFeeAssessed("f1", D(2027, 2, 2), usd("10.00"), installment=2)]
        )
        with pytest.raises(
            LedgerError,
            match=message(
                f"waiver 'w' of 0.01 USD: expected a late fee of at least that under 'a', got {paid('a', '1.00')!r}"
            ),
        ):
            ledger.record(FeeWaived("w", D(2027, 2, 3), usd("0.01"), "goodwill", "a"))

    def test_a_write_off_of_the_cent_above_what_is_owed(self) -> None:
        ledger = Ledger.empty(plan_of()).record(paid("a", "100.00"))
        with pytest.raises(
            LedgerError,
            match=message("write-off 'wo' of 200.01 USD is more than the 200.00 USD owed on 2027-01-01"),
        ):
            ledger.record(WriteOff("wo", BOOKED, usd("200.01")))
        assert str(ledger.record(WriteOff("wo", BOOKED, usd("200.00"))).balance) == "0.00 USD"

    def test_a_write_off_is_bounded_by_what_was_owed_on_its_own_date(self) -> None:
        """$100.00 paid on 03-01, recorded first: on 02-01 all $300.00 was owed, on 03-01 only $200.00."""
        ledger = Ledger.empty(plan_of()).record(paid("a", "100.00", D(2027, 3, 1)))
        assert str(ledger.record(WriteOff("wo", D(2027, 2, 1), usd("300.00"))).balance) == "-100.00 USD"
        with pytest.raises(
            LedgerError,
            match=message("write-off 'wo' of 300.01 USD is more than the 300.00 USD owed on 2027-02-01"),
        ):
            ledger.record(WriteOff("wo", D(2027, 2, 1), usd("300.01")))
        with pytest.raises(
            LedgerError,
            match=message("write-off 'wo' of 200.01 USD is more than the 200.00 USD owed on 2027-03-01"),
        ):
            ledger.record(WriteOff("wo", D(2027, 3, 1), usd("200.01")))
        paid_up = ledger.record(paid("b", "250.00", D(2027, 3, 1)))
        with pytest.raises(
            LedgerError,
            match=message("write-off 'wo' of 0.01 USD is more than the 0.00 USD owed on 2027-03-02"),
        ):
            paid_up.record(WriteOff("wo", D(2027, 3, 2), usd("0.01")))


class TestVersions:
    """Every ledger sees exactly the entries recorded onto it, whatever was recorded onto its siblings."""

    def test_two_ledgers_recorded_from_one_base_each_see_only_their_own_entry(self) -> None:
        base = Ledger.empty(plan_of()).record(paid("a", "100.00"))
        one = base.record(paid("b", "10.00"))
        two = base.record(paid("c", "20.00"))
        three = one.record(paid("c", "30.00"))
        assert [[e.id for e in ledger] for ledger in (base, one, two, three)] == [
            ["a"],
            ["a", "b"],
            ["a", "c"],
            ["a", "b", "c"],
        ]
        assert [str(ledger.paid) for ledger in (base, one, two, three)] == [
            "100.00 USD",
            "110.00 USD",
            "120.00 USD",
            "140.00 USD",
        ]
        assert (base.get("b"), "b" in base, "c" in one, 5 in base, "b" in one) == (
            None,
            False,
            False,
            False,
            True,
        )
        assert (two.get("c"), three.get("c")) == (paid("c", "20.00"), paid("c", "30.00"))

    def test_a_refused_batch_records_nothing_and_leaves_its_ids_free(self) -> None:
        base = Ledger.empty(plan_of()).record(paid("a", "100.00"))
        with pytest.raises(LedgerError, match=r"^refund 'r' of 200\.00 USD on 2027-01-01 is more than"):
            base.record_all([paid("b", "10.00"), Refund.reversal("r", BOOKED, usd("200.00"))])
        assert ([e.id for e in base], str(base.paid), base.get("b"), "b" in base) == (
            ["a"],
            "100.00 USD",
            None,
            False,
        )
        after = base.record(paid("c", "5.00"))
        assert (after.get("b"), "b" in after, [e.id for e in after]) == (None, False, ["a", "c"])
        again = after.record(paid("b", "7.00"))
        assert (again.get("b"), str(again.paid), len(again)) == (paid("b", "7.00"), "112.00 USD", 3)

    def test_a_batch_skips_what_is_already_recorded_or_earlier_in_it(self) -> None:
        base = Ledger.empty(plan_of()).record(paid("a", "100.00"))
        batch = base.record_all([paid("a", "100.00"), paid("b", "10.00"), paid("b", "10.00")])
        assert ([e.id for e in batch], str(batch.paid)) == (["a", "b"], "110.00 USD")
        assert base.record_all([]) is base

    def test_equal_means_the_same_plan_and_the_same_entries(self) -> None:
        ledger = Ledger.empty(plan_of()).record(paid("a", "100.00"))
        assert ledger == Ledger.empty("USD").for_plan(plan_of()).record(paid("a", "100.00"))
        assert ledger != Ledger.empty(plan_of("q")).record(paid("a", "100.00"))
        assert ledger != Ledger.empty(plan_of(total="350.00")).record(paid("a", "100.00"))
        assert ledger != Ledger.empty(plan_of()).record(paid("a", "100.01"))
        assert ledger != Ledger.empty(plan_of()).record(paid("b", "100.00"))
        assert Ledger.empty("USD") != Ledger.empty("EUR")
        assert ledger.canonical() == tuple(ledger)
        mixed = Ledger.empty(plan_of()).record_all(
            [paid("z", "1.00"), paid("b", "1.00", D(2026, 12, 1)), paid("a", "1.00", D(2027, 1, 1))]
        )
        assert [e.id for e in mixed.canonical()] == ["b", "a", "z"]


class TestEdgesOfTheBounds:
    """The refund, waiver and write-off bounds on an empty ledger, on their own day, and with several entries a day."""

    def test_nothing_may_go_back_or_be_waived_from_an_empty_ledger(self) -> None:
        ledger = Ledger.empty(plan_of())
        with pytest.raises(
            LedgerError,
            match=message(
                "refund 'r' of 0.01 USD on 2027-01-01 is more than the 0.00 USD paid by then "
                "and not refunded at any date since"
            ),
        ):
            ledger.record(Refund.reversal("r", BOOKED, usd("0.01")))
        with pytest.raises(
            LedgerError,
            match=message(
                "waiver 'w' of 0.01 USD on 2027-01-01 is more than the 0.00 USD of fees standing by then"
            ),
        ):
            ledger.record(FeeWaived("w", BOOKED, usd("0.01")))

    def test_a_write_off_on_an_empty_ledger_is_bounded_by_the_total(self) -> None:
        ledger = Ledger.empty(plan_of())
        assert str(ledger.record(WriteOff("wo", BOOKED, usd("300.00"))).balance) == "0.00 USD"
        with pytest.raises(
            LedgerError,
            match=message("write-off 'wo' of 300.01 USD is more than the 300.00 USD owed on 2027-01-01"),
        ):
            ledger.record(WriteOff("wo", BOOKED, usd("300.01")))

    def test_a_waiver_counts_the_earlier_waivers_of_every_fee(self) -> None:
        ledger = Ledger.empty(plan_of()).record_all(
            [
                LateFeeAssessed("f1", D(2027, 2, 2), usd("10.00"), installment=2),
                FeeWaived("w1", D(2027, 2, 3), usd("4.00"), "goodwill"),
            ]
        )
        with pytest.raises(
            LedgerError,
            match=message(
                "waiver 'w2' of 6.01 USD on 2027-02-03 is more than the 6.00 USD of fees standing by then"
            ),
        ):
            ledger.record(FeeWaived("w2", D(2027, 2, 3), usd("6.01")))
        assert str(ledger.record(FeeWaived("w2", D(2027, 2, 4), usd("6.00"))).waived) == "10.00 USD"

    def test_two_payments_on_one_day_both_count_for_a_refund_dated_later(self) -> None:
        """$50.00 and $50.00 on 01-01, $10.00 on 01-20: $100.00 may go back on 01-05."""
        ledger = Ledger.empty(plan_of()).record_all(
            [paid("a", "50.00"), paid("b", "50.00"), paid("c", "10.00", D(2027, 1, 20))]
        )
        assert str(ledger.record(Refund.reversal("r", D(2027, 1, 5), usd("100.00"))).net_paid) == "10.00 USD"
        with pytest.raises(
            LedgerError, match=r"^refund 'r' of 100\.01 USD on 2027-01-05 is more than the 100\.00 USD"
        ):
            ledger.record(Refund.reversal("r", D(2027, 1, 5), usd("100.01")))

    def test_entries_on_the_refund_s_own_day_count_once(self) -> None:
        """$100.00 on 01-05 and $10.00 on 01-20: all $100.00 may go back on 01-05.

        $100.00 on 01-01, $40.00 of it back on 01-05 and $10.00 in on 01-20: $60.00 more may go back on 01-05.
        """
        ledger = Ledger.empty(plan_of()).record_all(
            [paid("a", "100.00", D(2027, 1, 5)), paid("c", "10.00", D(2027, 1, 20))]
        )
        assert str(ledger.record(Refund.reversal("r", D(2027, 1, 5), usd("100.00"))).net_paid) == "10.00 USD"
        ledger = Ledger.empty(plan_of()).record_all(
            [
                paid("a", "100.00"),
                Refund.reversal("r1", D(2027, 1, 5), usd("40.00")),
                paid("c", "10.00", D(2027, 1, 20)),
            ]
        )
        assert str(ledger.record(Refund.reversal("r", D(2027, 1, 5), usd("60.00"))).net_paid) == "10.00 USD"
        with pytest.raises(
            LedgerError, match=r"^refund 'r' of 60\.01 USD on 2027-01-05 is more than the 60\.00 USD"
        ):
            ledger.record(Refund.reversal("r", D(2027, 1, 5), usd("60.01")))

    def test_an_amount_in_an_equal_currency_built_apart_is_the_ledger_s(self) -> None:
        own = Currency("USD", 2)
        assert own is not usd("1.00").currency
        ledger = Ledger.empty(plan_of()).record(PaymentReceived("a", BOOKED, Money(10000, own)))
        assert (str(ledger.paid), str(ledger.balance)) == ("100.00 USD", "200.00 USD")

    def test_a_plan_is_not_an_entry(self) -> None:
        plan = plan_of()
        with pytest.raises(
            LedgerError, match=message(f"expected a ledger entry such as PaymentReceived, got {plan!r}")
        ):
            Ledger.empty(plan).record(plan)  # type: ignore[arg-type]


class TestViewsAndEquality:
    def test_the_view_of_a_ledger_recorded_out_of_date_order_keeps_its_plan_and_every_entry(self) -> None:
        """$100.00 on 01-05 recorded before $50.00 on 01-01 and its refund on 01-02: the view on 01-10 holds all three."""
        ledger = Ledger.empty(plan_of()).record_all(
            [
                paid("a", "100.00", D(2027, 1, 5)),
                paid("b", "50.00"),
                Refund.reversal("r", D(2027, 1, 2), usd("50.00")),
                paid("c", "10.00", D(2027, 2, 1)),
            ]
        )
        view = ledger.as_of(D(2027, 1, 10))
        assert (view.plan_id, view.total, [e.id for e in view], str(view.net_paid), str(view.balance)) == (
            "p",
            30000,
            ["a", "b", "r"],
            "100.00 USD",
            "200.00 USD",
        )

    def test_the_view_keeps_a_waiver_naming_an_id_used_later_by_a_payment(self) -> None:
        ledger = Ledger.empty(plan_of()).record_all(
            [
                LateFeeAssessed("f1", D(2027, 2, 2), usd("10.00"), installment=2),
                FeeWaived("w", D(2027, 2, 3), usd("1.00"), "goodwill", "f9"),
                paid("f9", "10.00", D(2027, 2, 4)),
                paid("z", "1.00", D(2027, 3, 1)),
            ]
        )
        view = ledger.as_of(D(2027, 2, 10))
        assert ([e.id for e in view], str(view.waived), str(view.balance)) == (
            ["f1", "w", "f9"],
            "1.00 USD",
            "299.00 USD",
        )

    def test_one_more_entry_with_no_money_makes_a_ledger_unequal(self) -> None:
        ledger = Ledger.empty(plan_of()).record(paid("a", "100.00"))
        more = ledger.record(PaymentFailed("x", D(2027, 2, 1), "card_declined"))
        assert str(more.balance) == str(ledger.balance)
        assert (ledger == more, more == ledger, ledger != more) == (False, False, True)

    def test_cancelled_ledgers_of_two_totals_are_unequal_though_they_balance_alike(self) -> None:
        entries = [
            paid("a", "100.00"),
            CancellationSettled("c", D(2027, 1, 2), usd("100.00"), usd("0"), usd("0")),
        ]
        one = Ledger.empty(plan_of()).record_all(entries)
        other = Ledger.empty(plan_of(total="350.00")).record_all(entries)
        assert (str(one.balance), str(other.balance), len(one), len(other)) == ("0.00 USD", "0.00 USD", 2, 2)
        assert (one == other, one != other) == (False, True)


class TestMoneyTakenForAFee:
    """A payment naming a fee pays that fee first, even when it is the only money in the ledger."""

    def test_a_fee_paid_by_money_naming_it_is_not_owed_and_pays_no_line(self) -> None:
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [
                LateFeeAssessed("fee-1", D(2027, 1, 2), usd("10.00"), installment=1),
                PaymentReceived("fp", D(2027, 1, 3), usd("10.00"), fee_id="fee-1"),
            ]
        )
        assert fees_due(plan, ledger, D(2027, 1, 5)) == ()
        st = plan_status(plan, ledger, D(2027, 1, 5))
        assert [str(s.paid) for s in st.installments] == ["0.00 USD", "0.00 USD", "0.00 USD"]
        assert (str(st.balance), str(st.fees_outstanding)) == ("300.00 USD", "0.00 USD")
