"""Worked examples for every amendment kind, amounts checked to the minor unit."""

from __future__ import annotations

import datetime as dt

import pytest

from payplan import (
    AddAddOn,
    AmendmentRecord,
    BeforeSession,
    ChangeTier,
    DepositRule,
    ExplicitDates,
    ExtendDueDate,
    HardshipReduction,
    InvalidPlanError,
    Money,
    MoveSession,
    PaymentPlan,
    PlanHistory,
    PlanKind,
    Resplit,
    RuleViolationError,
    SerializationError,
    SkipPayment,
    WaiveFee,
    amend,
    dump_history,
    dump_plan,
    dumps_history,
    load_history,
    load_plan,
    loads_history,
)
from payplan._ledger import CreditApplied, Ledger, PaymentReceived, Refund

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def pack_a() -> PaymentPlan:
    """The reference plan: $500 on 2026-12-01, 2027-01-01, 2027-02-01, 2027-03-01."""
    return PaymentPlan.with_deposit(
        "pack-a",
        usd("2000.00"),
        deposit=DepositRule.percent_or_minimum(25, usd("500.00")),
        installments=3,
        dates="monthly",
        booked=D(2026, 12, 1),
        session=D(2027, 4, 15),
        final_due_days_before=14,
    )


def schedule(plan: PaymentPlan) -> list[tuple[int, str, str]]:
    return [(i.number, i.due.isoformat(), i.amount.to_decimal_string()) for i in plan.installments]


WHO = {"by": "studio", "reason": "client asked", "on": D(2026, 12, 15)}


class TestExtendDueDate:
    def test_moves_one_unpaid_installment(self) -> None:
        """Installment 2 moves to Jan 20; amounts and the other dates stay."""
        plan, rec = amend(pack_a(), ExtendDueDate(2, D(2027, 1, 20)), paid=usd("500"), **WHO)
        assert schedule(plan) == [
            (1, "2026-12-01", "500.00"),
            (2, "2027-01-20", "500.00"),
            (3, "2027-02-01", "500.00"),
            (4, "2027-03-01", "500.00"),
        ]
        assert plan.version == 2
        assert rec.before == pack_a().installments
        assert rec.after == plan.installments
        assert rec.from_version == 1
        assert rec.to_version == 2

    def test_past_the_cutoff_is_refused(self) -> None:
        """A date after the cutoff (14 days before the session) is refused with the cutoff named."""
        with pytest.raises(RuleViolationError, match=r"after the cutoff 2027-04-01"):
            amend(pack_a(), ExtendDueDate(4, D(2027, 4, 2)), **WHO)

    def test_a_paid_installment_cannot_move(self) -> None:
        """The deposit, once paid, keeps its date."""
        with pytest.raises(RuleViolationError, match="already paid"):
            amend(pack_a(), ExtendDueDate(1, D(2026, 12, 20)), paid=usd("500"), **WHO)

    def test_an_earlier_date_is_not_an_extension(self) -> None:
        """Moving a due date earlier is refused."""
        with pytest.raises(RuleViolationError, match="an extension gives more time"):
            amend(pack_a(), ExtendDueDate(3, D(2027, 1, 20)), **WHO)

    def test_cannot_pass_the_next_installment(self) -> None:
        """An extension past the next installment's date is refused, naming the latest date."""
        with pytest.raises(RuleViolationError, match="extend to 2027-02-01 at the latest"):
            amend(pack_a(), ExtendDueDate(2, D(2027, 2, 10)), **WHO)

    def test_cannot_set_a_date_before_the_amendment(self) -> None:
        """A new date before the amendment date is refused."""
        late = {**WHO, "on": D(2027, 1, 25)}
        with pytest.raises(RuleViolationError, match="before the amendment date"):
            amend(pack_a(), ExtendDueDate(2, D(2027, 1, 20)), **late)

    def test_relative_installment_becomes_fixed(self) -> None:
        """An installment set N days before the session loses its N when extended."""
        plan = PaymentPlan.with_deposit(
            "rel", usd("900"), installments=3, dates=BeforeSession((60, 30, 10)),
            booked=D(2027, 1, 1), session=D(2027, 6, 1),
        )
        new, _ = amend(plan, ExtendDueDate(1, D(2027, 4, 5)), **{**WHO, "on": D(2027, 1, 2)})
        assert new.installments[0].days_before_session is None
        assert new.installments[1].days_before_session == 30
        assert isinstance(new.terms.dates, ExplicitDates)


class TestResplit:
    def test_resplits_the_balance_after_a_partial_payment(self) -> None:
        """$600 paid: the deposit stays, $100 of installment 2 stays, $1400 splits into 4 x $350."""
        plan, rec = amend(
            pack_a(), Resplit.into(4, first_due=D(2027, 1, 1)), paid=usd("600"), consent=True, **WHO
        )
        assert schedule(plan) == [
            (1, "2026-12-01", "500.00"),
            (2, "2027-01-01", "100.00"),
            (3, "2027-01-01", "350.00"),
            (4, "2027-02-01", "350.00"),
            (5, "2027-03-01", "350.00"),
            (6, "2027-04-01", "350.00"),
        ]
        assert rec.paid == usd("600")
        assert plan.total == usd("2000")

    def test_odd_cents_go_first(self) -> None:
        """$1500 over 7 dates: $214.29 four times, then $214.28 three times (odd cents go first)."""
        dates = [D(2027, 1, d) for d in (5, 10, 15, 20, 25, 26, 27)]
        plan, _ = amend(pack_a(), Resplit.over(dates), paid=usd("500"), consent=True, **WHO)
        amounts = [i.amount.minor for i in plan.installments[1:]]
        assert amounts == [21429, 21429, 21429, 21429, 21428, 21428, 21428]
        assert sum(amounts) == 150000

    def test_unpaid_deposit_stays_its_own_line(self) -> None:
        """With nothing paid, the deposit stays and the $1500 after it is re-split."""
        plan, _ = amend(pack_a(), Resplit.into(2, first_due=D(2027, 2, 1)), **WHO)
        assert schedule(plan) == [
            (1, "2026-12-01", "500.00"),
            (2, "2027-02-01", "750.00"),
            (3, "2027-03-01", "750.00"),
        ]

    def test_sooner_payments_need_consent(self) -> None:
        """Re-splitting into earlier dates makes money due sooner, so consent is required."""
        with pytest.raises(RuleViolationError, match="consent"):
            amend(pack_a(), Resplit.into(1, first_due=D(2027, 1, 1)), paid=usd("500"), **WHO)

    def test_past_the_cutoff_is_refused(self) -> None:
        """Six monthly payments from January cannot end before the April 1 cutoff."""
        with pytest.raises(RuleViolationError, match="cutoff"):
            amend(pack_a(), Resplit.into(6, first_due=D(2027, 1, 1)), consent=True, **WHO)

    def test_needs_dates_or_count(self) -> None:
        """A re-split with neither dates nor a count is malformed."""
        with pytest.raises(InvalidPlanError, match="either dates or count"):
            amend(pack_a(), Resplit(), **WHO)


class TestHardshipReduction:
    def test_difference_spread_over_later_installments(self) -> None:
        """Installments 2-3 drop to $200; the $600 difference lands on installment 4 ($1100)."""
        plan, _ = amend(pack_a(), HardshipReduction(2, 2, usd("200")), paid=usd("500"), **WHO)
        assert schedule(plan) == [
            (1, "2026-12-01", "500.00"),
            (2, "2027-01-01", "200.00"),
            (3, "2027-02-01", "200.00"),
            (4, "2027-03-01", "1100.00"),
        ]

    def test_catch_up_payment_before_the_cutoff(self) -> None:
        """With a catch-up date, the $600 difference is one payment on 2027-03-20."""
        plan, _ = amend(
            pack_a(), HardshipReduction(2, 2, usd("200"), catch_up_on=D(2027, 3, 20)), **WHO
        )
        assert schedule(plan)[-2:] == [(4, "2027-03-01", "500.00"), (5, "2027-03-20", "600.00")]
        assert plan.installments[-1].label == "Hardship catch-up"

    def test_catch_up_after_the_cutoff_is_refused(self) -> None:
        """A catch-up date after the cutoff is refused."""
        with pytest.raises(RuleViolationError, match="cutoff"):
            amend(pack_a(), HardshipReduction(2, 2, usd("200"), catch_up_on=D(2027, 4, 10)), **WHO)

    def test_reducing_the_last_installment_needs_a_catch_up(self) -> None:
        """With no installment after the period, the difference has nowhere to go."""
        with pytest.raises(RuleViolationError, match="no installment is left"):
            amend(pack_a(), HardshipReduction(4, 1, usd("100")), **WHO)

    def test_the_deposit_cannot_be_reduced(self) -> None:
        """A hardship reduction applies to installments, not the deposit."""
        with pytest.raises(RuleViolationError, match="deposit cannot be reduced"):
            amend(pack_a(), HardshipReduction(1, 1, usd("100")), **WHO)

    def test_a_reduction_must_be_smaller(self) -> None:
        """A 'reduced' amount at or above the installment is refused."""
        with pytest.raises(RuleViolationError, match="below it"):
            amend(pack_a(), HardshipReduction(2, 1, usd("500")), **WHO)


class TestSkipPayment:
    def test_spread_over_later_installments(self) -> None:
        """Skipping installment 2 adds $250 to each of the two later ones."""
        plan, _ = amend(pack_a(), SkipPayment(2), paid=usd("500"), **WHO)
        assert schedule(plan) == [
            (1, "2026-12-01", "500.00"),
            (2, "2027-02-01", "750.00"),
            (3, "2027-03-01", "750.00"),
        ]

    def test_onto_the_next(self) -> None:
        """Skipping installment 2 onto the next makes installment 3 $1000."""
        plan, _ = amend(pack_a(), SkipPayment(2, onto="next"), paid=usd("500"), **WHO)
        assert schedule(plan)[1] == (2, "2027-02-01", "1000.00")

    def test_the_last_cannot_be_skipped(self) -> None:
        """Nothing after the last installment can carry it."""
        with pytest.raises(RuleViolationError, match="last one"):
            amend(pack_a(), SkipPayment(4), **WHO)

    def test_a_partly_paid_installment_cannot_be_skipped(self) -> None:
        """$600 paid covers $100 of installment 2, so it cannot be skipped."""
        with pytest.raises(RuleViolationError, match="partly paid"):
            amend(pack_a(), SkipPayment(2), paid=usd("600"), **WHO)


class TestMoveSession:
    def relative(self) -> PaymentPlan:
        return PaymentPlan.with_deposit(
            "rel", usd("1000"), deposit=DepositRule.fixed(usd("100")), installments=3,
            dates=BeforeSession((60, 30, 14)), booked=D(2027, 1, 1), session=D(2027, 6, 1),
        )

    def test_relative_installments_move_with_the_session(self) -> None:
        """Moving the session 10 days later moves each unpaid relative date 10 days."""
        plan, _ = amend(self.relative(), MoveSession(D(2027, 6, 11)), paid=usd("100"), **{**WHO, "on": D(2027, 1, 5)})
        assert schedule(plan) == [
            (1, "2027-01-01", "100.00"),
            (2, "2027-04-12", "300.00"),
            (3, "2027-05-12", "300.00"),
            (4, "2027-05-28", "300.00"),
        ]
        assert plan.session == D(2027, 6, 11)
        assert plan.terms.dates == BeforeSession((60, 30, 14))

    def test_fixed_dates_stay_and_the_cutoff_is_checked_again(self) -> None:
        """Pack A's fixed dates stay; a session moved to March 10 puts the March 1 payment past the cutoff."""
        plan, _ = amend(pack_a(), MoveSession(D(2027, 5, 1)), **WHO)
        assert schedule(plan) == schedule(pack_a())
        with pytest.raises(RuleViolationError, match=r"after the cutoff 2027-02-24"):
            amend(pack_a(), MoveSession(D(2027, 3, 10)), **WHO)

    def test_paid_installment_after_the_new_cutoff_is_redated(self) -> None:
        """Everything paid, session moved to Feb 20: the paid Mar 1 line is re-dated to the cutoff."""
        plan, _ = amend(pack_a(), MoveSession(D(2027, 2, 20)), paid=usd("2000"), **WHO)
        assert schedule(plan) == [
            (1, "2026-12-01", "500.00"),
            (2, "2027-01-01", "500.00"),
            (3, "2027-02-01", "500.00"),
            (4, "2027-02-06", "500.00"),
        ]
        assert plan.cutoff == D(2027, 2, 6)

    def test_session_before_any_room_is_refused(self) -> None:
        """A session whose cutoff falls before the booking is refused."""
        with pytest.raises(RuleViolationError, match="before the booking"):
            amend(pack_a(), MoveSession(D(2026, 12, 10)), **WHO)

    def test_earlier_session_needs_consent(self) -> None:
        """Moving relative dates earlier makes money due sooner: consent is required."""
        kw = {**WHO, "on": D(2027, 1, 5)}
        with pytest.raises(RuleViolationError, match="consent"):
            amend(self.relative(), MoveSession(D(2027, 5, 20)), **kw)
        plan, rec = amend(self.relative(), MoveSession(D(2027, 5, 20)), consent=True, **kw)
        assert plan.installments[1].due == D(2027, 3, 21)
        assert rec.consent is True


class TestChangeTier:
    def test_upgrade_keeps_what_was_paid(self) -> None:
        """Pack A to Pack B ($3000) after $600: $2400 over the 3 unpaid dates, $100 kept on installment 2."""
        plan, _ = amend(
            pack_a(), ChangeTier("Session Pack B", usd("3000")), paid=usd("600"), consent=True, **WHO
        )
        assert schedule(plan) == [
            (1, "2026-12-01", "500.00"),
            (2, "2027-01-01", "900.00"),
            (3, "2027-02-01", "800.00"),
            (4, "2027-03-01", "800.00"),
        ]
        assert plan.fee == usd("3000")
        assert plan.tier == "Session Pack B"

    def test_below_what_was_paid_is_refused(self) -> None:
        """A new fee of $400 after $500 paid is refused, saying so."""
        with pytest.raises(RuleViolationError, match=r"below what is already paid \(500.00 USD\)"):
            amend(pack_a(), ChangeTier("Mini", usd("400")), paid=usd("500"), **WHO)

    def test_downgrade_exactly_to_what_was_paid(self) -> None:
        """A $1000 package after $1000 paid leaves only the two paid installments."""
        plan, _ = amend(pack_a(), ChangeTier("Mini", usd("1000")), paid=usd("1000"), **WHO)
        assert schedule(plan) == [(1, "2026-12-01", "500.00"), (2, "2027-01-01", "500.00")]

    def test_upgrade_without_consent_is_refused(self) -> None:
        """Charging more needs the client's consent."""
        with pytest.raises(RuleViolationError, match="consent"):
            amend(pack_a(), ChangeTier("Session Pack B", usd("3000")), **WHO)

    def test_everything_paid_needs_a_due_date(self) -> None:
        """After paying in full, an upgrade needs a date for the extra $1000."""
        with pytest.raises(RuleViolationError, match="give a due date"):
            amend(pack_a(), ChangeTier("B", usd("3000")), paid=usd("2000"), consent=True, **WHO)
        plan, _ = amend(
            pack_a(), ChangeTier("B", usd("3000"), due=D(2027, 3, 15)), paid=usd("2000"), consent=True, **WHO
        )
        assert schedule(plan)[-1] == (5, "2027-03-15", "1000.00")


class TestAddAddOn:
    def test_spread_over_unpaid_payments(self) -> None:
        """A $300 album after the deposit adds $100 to each of the 3 installments."""
        plan, _ = amend(pack_a(), AddAddOn("Album", usd("300")), paid=usd("500"), consent=True, **WHO)
        assert [i.amount for i in plan.installments] == [usd("500"), usd("600"), usd("600"), usd("600")]
        assert plan.fee == usd("2300")

    def test_own_payment_on_a_date(self) -> None:
        """With a due date, the add-on is its own $300 payment, in date order."""
        plan, _ = amend(pack_a(), AddAddOn("Album", usd("300"), due=D(2027, 2, 15)), consent=True, **WHO)
        assert schedule(plan)[3] == (4, "2027-02-15", "300.00")
        assert plan.installments[3].label == "Album"
        assert len(plan.installments) == 5


class TestWaiveFee:
    def test_taken_from_the_latest_payments(self) -> None:
        """Waiving $700 removes installment 4 and $200 of installment 3."""
        plan, _ = amend(pack_a(), WaiveFee(usd("700"), "reschedule fee"), paid=usd("500"), **WHO)
        assert schedule(plan) == [
            (1, "2026-12-01", "500.00"),
            (2, "2027-01-01", "500.00"),
            (3, "2027-02-01", "300.00"),
        ]
        assert plan.fee == usd("1300")

    def test_cannot_waive_what_was_paid(self) -> None:
        """Only what is still owed can be waived; paid money is refunded, not waived."""
        with pytest.raises(RuleViolationError, match=r"only 500.00 USD is still owed"):
            amend(pack_a(), WaiveFee(usd("600")), paid=usd("1500"), **WHO)


class TestAmend:
    def test_paid_can_come_from_the_ledger(self) -> None:
        """A ledger with $500 paid, $100 refunded and a $200 credit counts $600 toward the plan."""
        plan = pack_a()
        ledger = Ledger.empty(plan).record_all(
            [
                PaymentReceived("p1", D(2026, 12, 1), usd("500")),
                Refund.reversal("r1", D(2026, 12, 2), usd("100")),
                CreditApplied("c1", D(2026, 12, 3), usd("200")),
                PaymentReceived("p2", D(2027, 1, 1), usd("500")),
            ]
        )
        _, rec = amend(plan, SkipPayment(3), paid=ledger, **WHO)
        assert rec.paid == usd("600")

    def test_before_the_booking_is_refused(self) -> None:
        """An amendment dated before the plan was booked is refused."""
        with pytest.raises(RuleViolationError, match="on or after the booking 2026-12-01"):
            amend(pack_a(), SkipPayment(3), by="a", reason="b", on=D(2026, 11, 30))

    def test_overpaid_is_refused(self) -> None:
        """Paid above the total is an overpayment to settle first."""
        with pytest.raises(RuleViolationError, match="more than the plan's total"):
            amend(pack_a(), SkipPayment(3), paid=usd("2000.01"), **WHO)

    def test_record_needs_who_and_why(self) -> None:
        """An amendment without who or why is refused."""
        with pytest.raises(InvalidPlanError, match="who made"):
            amend(pack_a(), SkipPayment(3), by="", reason="x", on=D(2026, 12, 15))
        with pytest.raises(InvalidPlanError, match="reason"):
            amend(pack_a(), SkipPayment(3), by="a", reason=" ", on=D(2026, 12, 15))

    def test_pay_in_full_resplit_becomes_custom(self) -> None:
        """A pay-in-full plan re-split into two payments is a custom plan."""
        plan = PaymentPlan.pay_in_full("pif", usd("1000"), booked=D(2027, 1, 1), session=D(2027, 3, 1))
        new, _ = amend(plan, Resplit.over([D(2027, 1, 10), D(2027, 2, 10)]), **{**WHO, "on": D(2027, 1, 2)})
        assert new.kind is PlanKind.CUSTOM
        assert schedule(new) == [(1, "2027-01-10", "500.00"), (2, "2027-02-10", "500.00")]

    def test_amended_plan_round_trips_through_json(self) -> None:
        """An amended plan (terms rewritten to explicit dates) loads back equal."""
        plan, _ = amend(pack_a(), HardshipReduction(2, 1, usd("100"), catch_up_on=D(2027, 3, 25)), **WHO)
        assert load_plan(dump_plan(plan)) == plan


class TestPlanHistory:
    def test_keeps_versions_and_replays(self) -> None:
        """Three amendments give versions 1-4, and replaying the records gives the current plan."""
        h = PlanHistory.start(pack_a())
        h = h.apply(ExtendDueDate(2, D(2027, 1, 15)), paid=usd("500"), **WHO)
        h = h.apply(AddAddOn("Album", usd("150")), paid=usd("500"), consent=True, by="studio",
                    reason="upsell", on=D(2027, 1, 2))
        h = h.apply(SkipPayment(3), paid=usd("1050"), by="studio", reason="hardship", on=D(2027, 1, 20))
        assert [p.version for p in h.versions] == [1, 2, 3, 4]
        assert all(isinstance(r, AmendmentRecord) for r in h.records)
        assert h.replay() == h.current
        assert schedule(h.current) == [
            (1, "2026-12-01", "500.00"),
            (2, "2027-01-15", "550.00"),
            (3, "2027-03-01", "1100.00"),
        ]
        assert h.version(2).installments[1].due == D(2027, 1, 15)

    def test_refused_amendment_leaves_history_unchanged(self) -> None:
        """A refused amendment raises and the history keeps its versions."""
        h = PlanHistory.start(pack_a())
        with pytest.raises(RuleViolationError):
            h.apply(SkipPayment(4), **WHO)
        assert len(h.versions) == 1

    def test_amendments_must_be_in_date_order(self) -> None:
        """An amendment dated before the previous one is refused."""
        h = PlanHistory.start(pack_a()).apply(SkipPayment(3), **WHO)
        with pytest.raises(RuleViolationError, match="on or after the last one"):
            h.apply(ExtendDueDate(2, D(2027, 1, 5)), by="x", reason="y", on=D(2026, 12, 1))

    def test_mismatched_records_are_refused(self) -> None:
        """A history whose records do not chain its versions is refused."""
        with pytest.raises(InvalidPlanError, match="expected one record per amendment"):
            PlanHistory((pack_a(), pack_a()), ())


class TestHistoryJson:
    def every_kind(self) -> PlanHistory:
        h = PlanHistory.start(pack_a())
        steps = [
            (ExtendDueDate(2, D(2027, 1, 15)), D(2026, 12, 10)),
            (Resplit.into(2, first_due=D(2027, 2, 1)), D(2026, 12, 11)),
            (HardshipReduction(2, 1, usd("100"), catch_up_on=D(2027, 3, 20)), D(2026, 12, 12)),
            (SkipPayment(2, "next"), D(2026, 12, 13)),
            (MoveSession(D(2027, 5, 1)), D(2026, 12, 14)),
            (ChangeTier("Session Pack B", usd("3000")), D(2026, 12, 15)),
            (AddAddOn("Album", usd("100"), due=D(2027, 4, 1)), D(2026, 12, 16)),
            (WaiveFee(usd("50"), "album"), D(2026, 12, 17)),
        ]
        for amendment, on in steps:
            h = h.apply(amendment, by="Sam", reason="asked", on=on, paid=usd("500"), consent=True)
        return h

    def test_round_trip_of_every_kind(self) -> None:
        """A history with one amendment of each kind loads back equal, records and all."""
        h = self.every_kind()
        assert loads_history(dumps_history(h)) == h
        assert [p.version for p in h.versions] == list(range(1, 10))

    def test_tampered_version_is_refused(self) -> None:
        """A history whose last version was edited no longer replays and is refused."""
        doc = dump_history(self.every_kind())
        doc["versions"][-1]["plan"]["installments"][1]["due"] = "2027-01-16"
        with pytest.raises(SerializationError):
            load_history(doc)

    def test_unknown_amendment_type_is_refused(self) -> None:
        """An amendment type this payplan does not know is refused with its path."""
        doc = dump_history(self.every_kind())
        doc["records"][0]["amendment"]["type"] = "teleport"
        with pytest.raises(SerializationError, match=r"records\[0\]\.amendment\.type"):
            load_history(doc)

    def test_newer_schema_is_refused(self) -> None:
        """A document from a newer schema version is refused, never guessed at."""
        doc = dump_history(PlanHistory.start(pack_a()))
        doc["schema_version"] = 99
        with pytest.raises(SerializationError, match="schema_version"):
            load_history(doc)
