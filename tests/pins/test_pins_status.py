"""Pins for where a plan stands on a date, at its exact edges (#26 item 1: mutants of ``payplan._status`` found alive).

Each test pins a statement or the fees owed to the cent, the day and the
status, or a refusal word for word, and was checked to fail on the mutants it
was written against (mutmut). ``TestNextDue`` pins the replayed allocation
(``Allocation.NEXT_DUE``): a payment for a fee waived in full, a refund
recorded before its payment, a payment topping up a line then going back to
the oldest, money beyond the lines and a refund of it, a refund bigger than
the last line's money.

The plan: three lines of $100.00 due 2027-01-01 (the deposit, on the booking
day), 2027-02-01 and 2027-03-01; session 2027-06-01.
"""

from __future__ import annotations

import datetime as dt
import pickle
import re

import pytest
from attrs import evolve

from payplan import (
    AddAddOn,
    Allocation,
    CancellationPolicy,
    CancellationWindow,
    DepositRule,
    FeeDue,
    FeeWaived,
    InstallmentState,
    InvalidPlanError,
    LateFeeAssessed,
    LateFeePolicy,
    Ledger,
    LedgerError,
    Money,
    PaymentPlan,
    PaymentReceived,
    PlanDay,
    PlanStatement,
    PlanStatus,
    Refund,
    WriteOff,
    amend,
    fees_due,
    plan_status,
    render_statement,
    settle_cancellation,
)

D = dt.date
S = InstallmentState


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def plan_of(cancellation: CancellationPolicy | None = None) -> PaymentPlan:
    plan = PaymentPlan.with_deposit(
        "p",
        usd("300.00"),
        deposit=DepositRule.fixed(usd("100.00")),
        installments=2,
        booked=D(2027, 1, 1),
        session=D(2027, 6, 1),
    )
    return evolve(plan, terms=evolve(plan.terms, cancellation=cancellation))


BOOKED = D(2027, 1, 1)


def paid(amount: str, on: dt.date = BOOKED, entry_id: str = "pay") -> PaymentReceived:
    return PaymentReceived(entry_id, on, usd(amount))


def lines(st: PlanStatement) -> list[tuple[InstallmentState, str, str, str, int]]:
    """Each installment as (status, paid, written off, outstanding, days overdue)."""
    return [
        (s.status, str(s.paid), str(s.written_off), str(s.outstanding), s.days_overdue)
        for s in st.installments
    ]


def totals(st: PlanStatement) -> tuple[str, dt.date, PlanStatus, str, str, str, str, Allocation]:
    """The statement's own figures: plan, day, status, balance, paid, fees outstanding, credit, allocation."""
    return (
        st.plan_id,
        st.as_of,
        st.status,
        str(st.balance),
        str(st.paid),
        str(st.fees_outstanding),
        str(st.credit),
        st.allocation,
    )


def message(text: str) -> str:
    return f"^{re.escape(text)}$"


class TestRefusals:
    """Each way in names what it expected and what arrived."""

    def test_a_date_that_is_not_a_date_is_refused_naming_as_of(self) -> None:
        plan = plan_of()
        ledger = Ledger.empty(plan)
        text = message("expected as_of as a datetime.date, got str '2027-02-05'")
        with pytest.raises(InvalidPlanError, match=text):
            plan_status(plan, ledger, "2027-02-05")  # type: ignore[arg-type]
        with pytest.raises(InvalidPlanError, match=text):
            fees_due(plan, ledger, "2027-02-05")  # type: ignore[arg-type]
        with pytest.raises(InvalidPlanError, match=text):
            PlanDay.of(plan, ledger, "2027-02-05")  # type: ignore[arg-type]

    def test_not_a_plan_and_not_a_ledger_are_refused_naming_what_arrived(self) -> None:
        plan = plan_of()
        with pytest.raises(InvalidPlanError, match=message("expected a PaymentPlan, got str 'p'")):
            fees_due("p", Ledger.empty(plan), D(2027, 2, 5))  # type: ignore[arg-type]
        with pytest.raises(LedgerError, match=message("expected a Ledger, got str 'ledger'")):
            fees_due(plan, "ledger", D(2027, 2, 5))  # type: ignore[arg-type]

    def test_an_installment_number_out_of_range_is_refused(self) -> None:
        st = plan_status(plan_of(), Ledger.empty(plan_of()), D(2027, 2, 5))
        assert st.installment(3).installment.due == D(2027, 3, 1)
        for number in (0, 4, "1"):
            with pytest.raises(
                LedgerError, match=message(f"expected an installment number from 1 to 3, got {number!r}")
            ):
                st.installment(number)  # type: ignore[arg-type]

    def test_the_ledger_of_the_same_plan_id_in_another_currency_is_refused(self) -> None:
        """Plan ``p`` in USD against the ledger of a plan ``p`` in EUR: refused naming both currencies."""
        eur = PaymentPlan.with_deposit(
            "p",
            Money.of("300.00", "EUR"),
            deposit=DepositRule.fixed(Money.of("100.00", "EUR")),
            installments=2,
            booked=D(2027, 1, 1),
            session=D(2027, 6, 1),
        )
        text = message("expected the ledger of plan 'p' in USD, got the ledger of 'p' in EUR")
        with pytest.raises(LedgerError, match=text):
            plan_status(plan_of(), Ledger.empty(eur), D(2027, 2, 5))

    def test_an_equal_currency_that_is_another_object_is_the_same_currency(self) -> None:
        """A plan whose USD came back through pickle (equal, not the same object) reads its USD ledger."""
        plan = plan_of()
        usd_again = pickle.loads(pickle.dumps(plan.fee.currency))
        assert usd_again == plan.fee.currency
        assert usd_again is not plan.fee.currency
        twin = PaymentPlan.with_deposit(
            "p",
            Money(30000, usd_again),
            deposit=DepositRule.fixed(Money(10000, usd_again)),
            installments=2,
            booked=D(2027, 1, 1),
            session=D(2027, 6, 1),
        )
        ledger = Ledger.empty(plan).record(paid("100.00"))
        assert str(plan_status(twin, ledger, D(2027, 2, 5)).balance) == "200.00 USD"


class TestTheDayHandedIn:
    """A PlanDay handed to a rule is read only when it is the standing of that plan and ledger on that day."""

    def test_a_day_that_is_not_a_plan_day_is_refused(self) -> None:
        plan = plan_of()
        with pytest.raises(LedgerError, match=message("expected day as a PlanDay, got str 'today'")):
            fees_due(plan, Ledger.empty(plan), D(2027, 2, 5), day="today")  # type: ignore[arg-type]

    def test_the_day_of_another_date_is_refused(self) -> None:
        plan = plan_of()
        ledger = Ledger.empty(plan)
        text = "expected the day of plan 'p' on 2027-02-05 from the ledger given, got the day of plan 'p' on 2027-02-04"
        with pytest.raises(LedgerError, match=message(text)):
            fees_due(plan, ledger, D(2027, 2, 5), day=PlanDay.of(plan, ledger, D(2027, 2, 4)))

    def test_the_day_of_another_ledger_is_refused(self) -> None:
        plan = plan_of()
        ledger = Ledger.empty(plan)
        other = ledger.record(paid("100.00"))
        text = (
            "expected the day of plan 'p' on 2027-02-05 from the ledger given, got the day of plan 'p' on 2027-02-05"
            " from another ledger"
        )
        with pytest.raises(LedgerError, match=message(text)):
            fees_due(plan, ledger, D(2027, 2, 5), day=PlanDay.of(plan, other, D(2027, 2, 5)))

    def test_the_day_of_another_version_of_the_plan_is_refused(self) -> None:
        plan = plan_of()
        other = plan_of(CancellationPolicy((CancellationWindow(30, 50),)))
        ledger = Ledger.empty(plan)
        text = "expected the day of plan 'p' on 2027-02-05 from the ledger given, got the day of plan 'p' on 2027-02-05"
        with pytest.raises(LedgerError, match=message(text)):
            fees_due(plan, ledger, D(2027, 2, 5), day=PlanDay.of(other, ledger, D(2027, 2, 5)))

    def test_a_day_allocated_otherwise_is_refused(self) -> None:
        plan = plan_of()
        ledger = Ledger.empty(plan)
        day = PlanDay.of(plan, ledger, D(2027, 2, 5), allocation=Allocation.NEXT_DUE)
        text = "expected a day allocated oldest_due_first (the rules' allocation), got next_due"
        with pytest.raises(LedgerError, match=message(text)):
            fees_due(plan, ledger, D(2027, 2, 5), day=day)

    def test_the_day_of_an_equal_plan_and_ledger_is_read(self) -> None:
        """Equal values, not the same objects: the day is accepted, and says what working it out says."""
        plan, ledger = fees_ledger()
        twin_plan, twin_ledger = fees_ledger()
        assert (twin_plan, twin_ledger) == (plan, ledger)
        assert twin_ledger is not ledger
        assert twin_plan is not plan
        day = PlanDay.of(twin_plan, twin_ledger, D(2027, 3, 10))
        assert (
            fees_due(plan, ledger, D(2027, 3, 10), day=day)
            == fees_due(plan, ledger, D(2027, 3, 10))
            == FEES_OWED
        )

    def test_the_days_own_threshold_and_allocation_make_its_statement(self) -> None:
        """PlanDay.of(default_after_days=30, allocation=NEXT_DUE) is plan_status with the same arguments."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all([paid("100.00"), paid("100.00", D(2027, 2, 10), "pay-2")])
        on = D(2027, 3, 4)  # line 2 is 31 days overdue (the payment of 02-10 went to line 3, due next)
        day = PlanDay.of(plan, ledger, on, allocation=Allocation.NEXT_DUE, default_after_days=30)
        expected = plan_status(plan, ledger, on, allocation=Allocation.NEXT_DUE, default_after_days=30)
        assert day.statement == expected
        assert totals(expected) == (
            "p",
            on,
            PlanStatus.DEFAULTED,
            "100.00 USD",
            "200.00 USD",
            "0.00 USD",
            "0.00 USD",
            Allocation.NEXT_DUE,
        )
        assert lines(expected) == [
            (S.PAID, "100.00 USD", "0.00 USD", "0.00 USD", 0),
            (S.OVERDUE, "0.00 USD", "0.00 USD", "100.00 USD", 31),
            (S.PAID, "100.00 USD", "0.00 USD", "0.00 USD", 0),
        ]

    def test_the_statement_document_reads_the_day_it_is_handed(self) -> None:
        """A day worked out with a 30-day default threshold: the document says defaulted, as the day does."""
        plan = plan_of()
        ledger = Ledger.empty(plan)
        day = PlanDay.of(plan, ledger, D(2027, 2, 5), default_after_days=30)
        assert day.statement.status is PlanStatus.DEFAULTED
        assert "Status: defaulted." in render_statement(plan, ledger, D(2027, 2, 5), format="txt", day=day)
        assert "Status: overdue." in render_statement(plan, ledger, D(2027, 2, 5), format="txt")


class TestTheCent:
    """One cent decides: paid or not, owed or not, on track or not."""

    def test_a_single_cent_paid_toward_a_line_is_paid_on_it(self) -> None:
        st = plan_status(plan_of(), Ledger.empty(plan_of()).record(paid("200.01")), D(2027, 2, 15))
        assert lines(st)[2] == (S.PARTIAL, "0.01 USD", "0.00 USD", "99.99 USD", 0)
        assert totals(st)[2:4] == (PlanStatus.ON_TRACK, "99.99 USD")

    def test_a_single_cent_short_is_overdue_not_paid_in_full(self) -> None:
        st = plan_status(plan_of(), Ledger.empty(plan_of()).record(paid("299.99")), D(2027, 3, 15))
        assert lines(st)[2] == (S.OVERDUE, "99.99 USD", "0.00 USD", "0.01 USD", 14)
        assert totals(st) == (
            "p",
            D(2027, 3, 15),
            PlanStatus.OVERDUE,
            "0.01 USD",
            "299.99 USD",
            "0.00 USD",
            "0.00 USD",
            Allocation.OLDEST_DUE_FIRST,
        )

    def test_a_single_cent_of_fee_owed_is_overdue(self) -> None:
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [paid("300.00"), LateFeeAssessed("fee", D(2027, 1, 2), usd("0.01"), 1)]
        )
        st = plan_status(plan, ledger, D(2027, 3, 15))
        assert totals(st)[2:6] == (PlanStatus.OVERDUE, "0.01 USD", "300.00 USD", "0.01 USD")
        assert fees_due(plan, ledger, D(2027, 3, 15)) == (
            FeeDue("fee", "p", "late_fee", D(2027, 1, 2), usd("0.01"), usd("0.01"), 1, ""),
        )

    def test_a_single_cent_written_off_defaults_the_plan(self) -> None:
        """A write-off of the plan as a whole, even of the last cent owed, is debt given up: defaulted."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [paid("299.99"), WriteOff("wo", D(2027, 3, 2), usd("0.01"), "small")]
        )
        st = plan_status(plan, ledger, D(2027, 3, 15))
        assert totals(st)[2:4] == (PlanStatus.DEFAULTED, "0.00 USD")
        assert not st.paid_in_full
        assert not st.deliverables_released


class TestTheDefaultThreshold:
    """With default_after_days=N an installment N days overdue is OVERDUE; one day more, DEFAULTED."""

    @pytest.mark.parametrize(
        ("on", "status"),
        [(D(2027, 1, 31), PlanStatus.OVERDUE), (D(2027, 2, 1), PlanStatus.DEFAULTED)],
    )
    def test_the_day_a_plan_defaults(self, on: dt.date, status: PlanStatus) -> None:
        """The deposit (due 2027-01-01) unpaid: 30 days overdue on 2027-01-31, 31 on 2027-02-01."""
        plan = plan_of()
        assert plan_status(plan, Ledger.empty(plan), on, default_after_days=30).status is status

    def test_a_threshold_of_zero_leaves_a_plan_on_track(self) -> None:
        plan = plan_of()
        st = plan_status(
            plan, Ledger.empty(plan).record(paid("100.00")), D(2027, 1, 15), default_after_days=0
        )
        assert st.status is PlanStatus.ON_TRACK


class TestWriteOffsAimedAtALine:
    @pytest.mark.parametrize("line", [1, 3])
    def test_the_first_and_the_last_line_take_their_write_off(self, line: int) -> None:
        """$40 written off line 1 or line 3 (of three): that line shows it, WAIVED, and owes the rest."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record(
            WriteOff("wo", D(2027, 1, 1), usd("40.00"), "hardship", installment=line)
        )
        st = plan_status(plan, ledger, D(2027, 1, 1))
        assert lines(st)[line - 1] == (S.WAIVED, "0.00 USD", "40.00 USD", "60.00 USD", 0)
        assert st.installment(line).written_off == usd("40.00")

    @pytest.mark.parametrize("allocation", list(Allocation))
    def test_a_line_takes_its_own_write_off_and_is_paid_only_the_rest(self, allocation: Allocation) -> None:
        """Lines of $50, $150 and $150: $150 written off line 2 waives it whole (not the deposit's $50 of it);
        $40 written off line 3 and $200 paid: line 3 takes only its $110, and $40 is left over as credit."""
        plan = PaymentPlan.with_deposit(
            "p",
            usd("350.00"),
            deposit=DepositRule.fixed(usd("50.00")),
            installments=2,
            booked=D(2027, 1, 1),
            session=D(2027, 6, 1),
        )
        ledger = Ledger.empty(plan).record_all(
            [
                WriteOff("wo-2", D(2027, 1, 1), usd("150.00"), "hardship", installment=2),
                WriteOff("wo-3", D(2027, 1, 1), usd("40.00"), "hardship", installment=3),
                paid("200.00"),
            ]
        )
        st = plan_status(plan, ledger, D(2027, 1, 1), allocation=allocation)
        assert [(str(s.paid), str(s.written_off), str(s.outstanding)) for s in st.installments] == [
            ("50.00 USD", "0.00 USD", "0.00 USD"),
            ("0.00 USD", "150.00 USD", "0.00 USD"),
            ("110.00 USD", "40.00 USD", "0.00 USD"),
        ]
        assert (str(st.balance), str(st.credit)) == ("-40.00 USD", "40.00 USD")


class TestCancelled:
    """Once a cancellation is settled the installments are no longer owed: the settlement says what is."""

    POLICY = CancellationPolicy((CancellationWindow(365, 100),), collect_shortfall=True)

    def test_a_single_cent_left_owed_by_a_cancellation_is_owed(self) -> None:
        plan = plan_of(self.POLICY)
        ledger = Ledger.empty(plan).record(paid("299.99"))
        ledger = ledger.record_all(settle_cancellation(plan, ledger, D(2027, 3, 10)).entries)
        reason = "100% of the fee retained with 83 days' notice"
        assert fees_due(plan, ledger, D(2027, 3, 10)) == (
            FeeDue(
                "p:cancellation", "p", "cancellation", D(2027, 3, 10), usd("0.01"), usd("0.01"), None, reason
            ),
        )
        st = plan_status(plan, ledger, D(2027, 3, 10))
        assert lines(st)[2] == (S.CANCELLED, "99.99 USD", "0.00 USD", "0.00 USD", 0)
        assert totals(st)[2:4] == (PlanStatus.CANCELLED, "0.01 USD")

    @pytest.mark.parametrize(
        ("payment", "fee", "waived", "last_line", "fees_outstanding"),
        [
            # $3 left over, $8 of fee standing: $5 of line 3's money is the fee's.
            ("303.00", "10.00", "2.00", "95.00 USD", "0.00 USD"),
            # Nothing left over, one cent of fee: that cent of line 3's money is the fee's.
            ("300.00", "0.01", None, "99.99 USD", "0.00 USD"),
            # $3 of credit and the fee waived in full: nothing moves.
            ("303.00", "10.00", "10.00", "100.00 USD", "0.00 USD"),
        ],
    )
    def test_money_kept_for_fees_is_taken_from_the_last_line(
        self, payment: str, fee: str, waived: str | None, last_line: str, fees_outstanding: str
    ) -> None:
        plan = plan_of(evolve(self.POLICY, credit_instead_of_refund=True))
        entries = [paid(payment), LateFeeAssessed("fee", D(2027, 2, 2), usd(fee), 2)]
        if waived is not None:
            entries.append(FeeWaived("fee:waived", D(2027, 2, 3), usd(waived), "goodwill", "fee"))
        ledger = Ledger.empty(plan).record_all(entries)
        ledger = ledger.record_all(settle_cancellation(plan, ledger, D(2027, 3, 10)).entries)
        st = plan_status(plan, ledger, D(2027, 3, 10))
        assert [line[1] for line in lines(st)] == ["100.00 USD", "100.00 USD", last_line]
        assert str(st.fees_outstanding) == fees_outstanding


class TestAmended:
    def test_the_ledger_of_the_plan_before_an_amendment_is_read_against_the_new_version(self) -> None:
        """An add-on of $30: the old ledger (total $300) reads as the re-based one (total $330)."""
        v1 = plan_of()
        ledger = Ledger.empty(v1).record(paid("100.00"))
        v2, _ = amend(
            v1,
            AddAddOn("Album", usd("30.00"), D(2027, 1, 20)),
            by="staff",
            reason="album",
            on=D(2027, 1, 10),
            consent=True,
            paid=ledger,
        )
        st = plan_status(v2, ledger, D(2027, 2, 5))
        assert st == plan_status(v2, ledger.for_plan(v2), D(2027, 2, 5))
        assert totals(st)[2:4] == (PlanStatus.OVERDUE, "230.00 USD")


# -- fees owed ---------------------------------------------------------------------------------------


def fees_ledger() -> tuple[PaymentPlan, Ledger]:
    """Four $10 fees, waived and paid in every way a ledger can, then $208 more.

    Fees (recorded out of date order): fee-1 (02-02, line 2), fee-3 (03-03, line 3), fee-2 (03-02, line 3),
    fee-4 (03-04, line 3). On 03-04: waivers naming no fee ($3 and $9), one naming a fee the ledger does not
    hold ($1, so it names none either), two naming fee-2 ($2 and $1); payments naming fee-2 ($3 and $2) and
    fee-3 ($4). On 03-05, $208 more.

    The waivers naming no fee ($13) lower the oldest fees first: fee-1 to $0, fee-2 from $7 to $4. So fee-2's
    $5 pays $4 of it, and its other $1 is paid on the lines like any other money; fee-3's $4 pays fee-3.
    """
    plan = plan_of()
    on = D(2027, 3, 4)
    ledger = Ledger.empty(plan).record_all(
        [
            paid("100.00"),
            LateFeeAssessed("fee-1", D(2027, 2, 2), usd("10.00"), 2),
            LateFeeAssessed("fee-3", D(2027, 3, 3), usd("10.00"), 3),
            LateFeeAssessed("fee-2", D(2027, 3, 2), usd("10.00"), 3),
            LateFeeAssessed("fee-4", D(2027, 3, 4), usd("10.00"), 3),
            FeeWaived("w-a", on, usd("3.00"), "goodwill"),
            FeeWaived("w-b", on, usd("9.00"), "goodwill"),
            FeeWaived("w-x", on, usd("1.00"), "goodwill", "fee-gone"),
            FeeWaived("w-2a", on, usd("2.00"), "goodwill", "fee-2"),
            FeeWaived("w-2b", on, usd("1.00"), "goodwill", "fee-2"),
            PaymentReceived("fp-2a", on, usd("3.00"), fee_id="fee-2"),
            PaymentReceived("fp-2b", on, usd("2.00"), fee_id="fee-2"),
            PaymentReceived("fp-3", on, usd("4.00"), fee_id="fee-3"),
            paid("208.00", D(2027, 3, 5), "pay-2"),
        ]
    )
    return plan, ledger


# Of $317 in, $8 paid fees by name and $300 the lines: $9 is left over, which pays the fees still standing
# oldest first: fee-3's other $6, then $3 of fee-4, which owes $7.
FEES_OWED = (FeeDue("fee-4", "p", "late_fee", D(2027, 3, 4), usd("10.00"), usd("7.00"), 3, ""),)


class TestFeesOwed:
    def test_what_each_fee_still_owes(self) -> None:
        plan, ledger = fees_ledger()
        assert fees_due(plan, ledger, D(2027, 3, 10)) == FEES_OWED
        st = plan_status(plan, ledger, D(2027, 3, 10))
        assert totals(st) == (
            "p",
            D(2027, 3, 10),
            PlanStatus.OVERDUE,
            "7.00 USD",
            "317.00 USD",
            "7.00 USD",
            "0.00 USD",
            Allocation.OLDEST_DUE_FIRST,
        )
        assert [line[:4] for line in lines(st)] == [(S.PAID, "100.00 USD", "0.00 USD", "0.00 USD")] * 3

    def test_before_the_last_payment(self) -> None:
        """On 03-04: fee-2's extra $1 is line 2's only money; fee-3 owes $6, fee-4 all of its $10."""
        plan, ledger = fees_ledger()
        assert fees_due(plan, ledger, D(2027, 3, 4)) == (
            FeeDue("fee-3", "p", "late_fee", D(2027, 3, 3), usd("10.00"), usd("6.00"), 3, ""),
            FeeDue("fee-4", "p", "late_fee", D(2027, 3, 4), usd("10.00"), usd("10.00"), 3, ""),
        )
        for allocation in Allocation:
            st = plan_status(plan, ledger, D(2027, 3, 4), allocation=allocation)
            assert [line[1] for line in lines(st)] == ["100.00 USD", "1.00 USD", "0.00 USD"], allocation
            assert str(st.fees_outstanding) == "16.00 USD"

    def test_a_fee_recorded_under_its_own_id_names_its_line_if_the_plan_has_it(self) -> None:
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [
                LateFeeAssessed("own-3", D(2027, 3, 2), usd("5.00"), 3, reason="late on the last line"),
                LateFeeAssessed(
                    "own-4", D(2027, 3, 2), usd("5.00"), 4, reason="a line the plan does not have"
                ),
            ]
        )
        assert [(f.id, f.installment, f.reason) for f in fees_due(plan, ledger, D(2027, 3, 5))] == [
            ("own-3", 3, "late on the last line"),
            ("own-4", None, "a line the plan does not have"),
        ]

    @pytest.mark.parametrize("ladder", [None, LateFeePolicy.single(Money.of("10.00", "USD"))])
    def test_a_fee_under_payplans_id_stays_on_the_line_it_names_whatever_the_ladder_now(
        self, ladder: LateFeePolicy | None
    ) -> None:
        """Fees of step 1 on line 2 and step 2 on line 3 (keyed ``album``), against no ladder or a one-step one.

        The id (``p:late-fee:<line id>:<step>``) names the line (its key once
        it has one; a line id holds no colon, so an id with more after the
        step names the same line); only a line the plan no longer has
        (``v2.1``) reads as none. (Regression: a step the plan's ladder does not have now, or no
        ladder at all, read as an installment removed by an amendment:
        ``installment`` None.)
        """
        base = plan_of()
        lines = (*base.installments[:2], evolve(base.installments[2], key="album"))
        plan = evolve(base, installments=lines, terms=evolve(base.terms, late_fees=ladder))
        ledger = Ledger.empty(plan).record_all(
            [
                LateFeeAssessed("p:late-fee:2:1", D(2027, 2, 2), usd("10.00"), 2, 1),
                LateFeeAssessed("p:late-fee:album:2", D(2027, 3, 11), usd("10.00"), 3, 2),
                LateFeeAssessed("p:late-fee:v2.1:1", D(2027, 3, 12), usd("10.00"), 3, 1),
                LateFeeAssessed("p:late-fee:2:1:manual", D(2027, 3, 13), usd("10.00"), 3, 1),
            ]
        )
        assert [(f.id, f.installment) for f in fees_due(plan, ledger, D(2027, 3, 15))] == [
            ("p:late-fee:2:1", 2),
            ("p:late-fee:album:2", 3),
            ("p:late-fee:v2.1:1", None),
            ("p:late-fee:2:1:manual", 2),
        ]

    def test_a_waiver_naming_one_fee_does_not_lower_another(self) -> None:
        """$5 waived of fee-2 by name: fee-1 still stands at $10, and the $10 taken for it pays it all."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [
                paid("100.00"),
                LateFeeAssessed("fee-1", D(2027, 2, 2), usd("10.00"), 2),
                LateFeeAssessed("fee-2", D(2027, 2, 3), usd("10.00"), 2),
                FeeWaived("w-2", D(2027, 2, 4), usd("5.00"), "goodwill", "fee-2"),
                PaymentReceived("fp-1", D(2027, 2, 4), usd("10.00"), fee_id="fee-1"),
            ]
        )
        assert fees_due(plan, ledger, D(2027, 2, 5)) == (
            FeeDue("fee-2", "p", "late_fee", D(2027, 2, 3), usd("5.00"), usd("5.00"), 2, ""),
        )
        assert [line[1] for line in lines(plan_status(plan, ledger, D(2027, 2, 5)))] == [
            "100.00 USD",
            "0.00 USD",
            "0.00 USD",
        ]


class TestNextDue:
    """Allocation.NEXT_DUE replays the money: each payment to the first unpaid line due on or after its day."""

    @staticmethod
    def paid_lines(plan: PaymentPlan, ledger: Ledger, on: dt.date) -> list[str]:
        st = plan_status(plan, ledger, on, allocation=Allocation.NEXT_DUE)
        return [str(s.paid) for s in st.installments]

    def test_a_payment_naming_a_fee_waived_in_full_pays_the_installments(self) -> None:
        """$25 taken for a $25 fee, then the fee waived: the $25 pays line 2 (the next due), nothing is kept for it."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [
                paid("100.00", entry_id="dep"),
                LateFeeAssessed("fee", D(2027, 1, 2), usd("25.00"), 1),
                PaymentReceived("fp", D(2027, 1, 2), usd("25.00"), fee_id="fee"),
                FeeWaived("w", D(2027, 1, 3), usd("25.00"), "goodwill", "fee"),
            ]
        )
        assert self.paid_lines(plan, ledger, D(2027, 1, 5)) == ["100.00 USD", "25.00 USD", "0.00 USD"]

    def test_a_refund_recorded_before_its_payment_is_owed_back_once(self) -> None:
        """Refund ``a-r`` sorts before payment ``p-b`` (both $100 on the booking day): the $100 is owed back by
        ``p-b`` alone, so the $300 of 2027-03-01 fills every line (line 3 first, then the oldest)."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [
                paid("100.00", entry_id="p-b"),
                Refund.reversal("a-r", BOOKED, usd("100.00"), "charged twice"),
                paid("300.00", D(2027, 3, 1), "p-c"),
            ]
        )
        assert self.paid_lines(plan, ledger, D(2027, 3, 1)) == ["100.00 USD", "100.00 USD", "100.00 USD"]

    def test_a_second_payment_tops_up_its_line_then_goes_back_to_the_oldest(self) -> None:
        """Nothing on the deposit; $50 on 2027-02-10 and $100 on 02-20, both toward line 3 (the next due):
        line 3 takes only the $50 it still owes, and the other $50 goes to the deposit, the oldest unpaid."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [paid("50.00", D(2027, 2, 10), "p1"), paid("100.00", D(2027, 2, 20), "p2")]
        )
        st = plan_status(plan, ledger, D(2027, 2, 20), allocation=Allocation.NEXT_DUE)
        assert [str(s.paid) for s in st.installments] == ["50.00 USD", "0.00 USD", "100.00 USD"]
        assert str(st.credit) == "0.00 USD"

    def test_money_beyond_the_lines_covers_fees_and_a_refund_takes_it_back_first(self) -> None:
        """Every line paid and $25 more for a $25 fee: none owed; $10 refunded later: $10 of the fee owed again."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [
                paid("100.00", entry_id="dep"),
                LateFeeAssessed("fee", D(2027, 2, 2), usd("25.00"), 2),
                paid("225.00", D(2027, 2, 2), "p2"),
            ]
        )
        st = plan_status(plan, ledger, D(2027, 3, 1), allocation=Allocation.NEXT_DUE)
        assert (str(st.fees_outstanding), str(st.balance)) == ("0.00 USD", "0.00 USD")
        ledger = ledger.record(Refund.reversal("r", D(2027, 3, 5), usd("10.00"), "partial refund"))
        st = plan_status(plan, ledger, D(2027, 3, 5), allocation=Allocation.NEXT_DUE)
        assert (str(st.fees_outstanding), str(st.balance)) == ("10.00 USD", "10.00 USD")
        assert [str(s.paid) for s in st.installments] == ["100.00 USD"] * 3

    def test_a_refund_takes_back_the_latest_lines_money_and_no_more(self) -> None:
        """$150 refunded of lines 2 and 3 (paid $100 each): line 3 gives back $100, line 2 $50, the deposit nothing."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [
                paid("100.00", entry_id="dep"),
                paid("200.00", D(2027, 2, 1), "p2"),
                Refund.reversal("r", D(2027, 3, 5), usd("150.00"), "partial refund"),
            ]
        )
        assert self.paid_lines(plan, ledger, D(2027, 3, 5)) == ["100.00 USD", "50.00 USD", "0.00 USD"]

    def test_two_refunds_recorded_before_their_payments_are_both_owed_back(self) -> None:
        """Refunds ``a-1`` and ``a-2`` sort before payments ``p-1`` and ``p-2`` ($100 each, all on the booking
        day): both payments go to owing the refunds back, none to the deposit."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [
                paid("100.00", entry_id="p-1"),
                paid("100.00", entry_id="p-2"),
                Refund.reversal("a-1", BOOKED, usd("100.00"), "charged twice"),
                Refund.reversal("a-2", BOOKED, usd("100.00"), "charged twice"),
            ]
        )
        assert self.paid_lines(plan, ledger, BOOKED) == ["0.00 USD", "0.00 USD", "0.00 USD"]

    def test_a_refund_recorded_before_a_fee_payment_leaves_the_fee_owed(self) -> None:
        """Nothing paid on the lines; $25 taken for a $25 fee and refunded the same day (the refund's id sorts
        first): the refund is owed back by the fee's money, so the fee is owed again."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [
                LateFeeAssessed("fee", D(2027, 1, 2), usd("25.00"), 1),
                PaymentReceived("fp", D(2027, 1, 2), usd("25.00"), fee_id="fee"),
                Refund.reversal("a-r", D(2027, 1, 2), usd("25.00"), "charged in error"),
            ]
        )
        for allocation in Allocation:
            st = plan_status(plan, ledger, D(2027, 1, 5), allocation=allocation)
            assert (str(st.fees_outstanding), str(st.balance)) == ("25.00 USD", "325.00 USD"), allocation
            assert [str(s.paid) for s in st.installments] == ["0.00 USD"] * 3, allocation

    def test_a_write_off_beyond_the_lines_covers_the_fees(self) -> None:
        """$50 of line 3 and a $25 fee owed, $75 written off (no line named): the line and the fee are covered."""
        plan = plan_of()
        ledger = Ledger.empty(plan).record_all(
            [
                paid("100.00", entry_id="dep"),
                paid("150.00", D(2027, 2, 1), "p2"),
                LateFeeAssessed("fee", D(2027, 3, 2), usd("25.00"), 3),
                WriteOff("wo", D(2027, 3, 5), usd("75.00"), "hardship"),
            ]
        )
        st = plan_status(plan, ledger, D(2027, 3, 5), allocation=Allocation.NEXT_DUE)
        assert [str(s.written_off) for s in st.installments] == ["0.00 USD"] * 3
        assert (str(st.fees_outstanding), str(st.balance)) == ("0.00 USD", "0.00 USD")
