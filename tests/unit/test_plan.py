"""Worked examples for plans, schedules, terms and cadences."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import attrs
import pytest

from payplan import (
    BeforeSession,
    Cadence,
    DepositRule,
    ExplicitDates,
    InstallmentKind,
    InvalidPlanError,
    Milestone,
    Money,
    PaymentPlan,
    PlanKind,
    Remainder,
    ScheduleDoesNotFitError,
    Terms,
)

D = dt.date
USD = "USD"
PACK_A_DEPOSIT = DepositRule.percent_or_minimum(25, Money.of("500.00", USD))


def rows(plan: PaymentPlan) -> list[tuple[str, str, str]]:
    return [(i.kind.value, i.due.isoformat(), i.amount.to_decimal_string()) for i in plan.installments]


class TestReferenceScenario:
    def test_pack_a(self) -> None:
        """Pack A: $500 deposit, then 3 x $500 monthly from the booking."""
        plan = PaymentPlan.with_deposit(
            "a", Money.of("2000.00", USD), deposit=PACK_A_DEPOSIT, installments=3, dates="monthly",
            booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )
        assert rows(plan) == [
            ("deposit", "2026-12-01", "500.00"),
            ("installment", "2027-01-01", "500.00"),
            ("installment", "2027-02-01", "500.00"),
            ("installment", "2027-03-01", "500.00"),
        ]

    def test_pack_b(self) -> None:
        """Pack B: 25% of $3000 beats the $500 minimum."""
        plan = PaymentPlan.with_deposit(
            "b", Money.of("3000.00", USD), deposit=PACK_A_DEPOSIT, installments=3, dates="monthly",
            booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )
        assert [r[2] for r in rows(plan)] == ["750.00"] * 4

    def test_minimum_never_exceeds_fee(self) -> None:
        """A $400 fee with a $500 minimum deposit is all deposit, when no installment is asked for."""
        plan = PaymentPlan.with_deposit(
            "c", Money.of("400.00", USD), deposit=PACK_A_DEPOSIT, installments=0,
            booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )
        assert rows(plan) == [("deposit", "2026-12-01", "400.00")]

    def test_installments_the_deposit_leaves_nothing_for_are_refused(self) -> None:
        """Issue 11.7: asking for 3 installments of a $400 fee the $500 minimum takes whole is said, not dropped."""
        with pytest.raises(InvalidPlanError) as err:
            PaymentPlan.with_deposit(
                "c", Money.of("400.00", USD), deposit=PACK_A_DEPOSIT, installments=3,
                booked=D(2026, 12, 1), session=D(2027, 4, 15),
            )
        assert str(err.value) == (
            "the deposit rule (25% of the fee or at least 500.00 USD, whichever is larger) takes the whole fee "
            "of 400.00 USD, which leaves nothing for the 3 installment(s) asked for; ask for 0 installments "
            "(the deposit is the whole plan), a smaller deposit, or PaymentPlan.pay_in_full"
        )


class TestDepositRules:
    def test_fixed_above_fee_is_refused(self) -> None:
        """A fixed deposit above the fee is an error naming both."""
        with pytest.raises(InvalidPlanError, match=r"deposit 600.00 USD is above the fee 500.00 USD"):
            DepositRule.fixed(Money.of("600", USD)).deposit_for(Money.of("500", USD))

    def test_percent_rounds_half_up(self) -> None:
        """25% of 10 cents is 3 cents (2.5 rounds up)."""
        assert DepositRule.percent(25).deposit_for(Money(10, USD)).minor == 3

    @pytest.mark.parametrize("pct", ["-1", "101", 2.5])
    def test_bad_percentages_are_refused(self, pct: object) -> None:
        """A percentage outside 0..100 or a float is refused."""
        with pytest.raises(InvalidPlanError):
            DepositRule.percent(pct)  # type: ignore[arg-type]

    def test_describe(self) -> None:
        """Rules describe themselves in words."""
        assert PACK_A_DEPOSIT.describe() == "25% of the fee or at least 500.00 USD, whichever is larger"
        assert DepositRule.none().describe() == "no deposit"


class TestMonthEnd:
    def test_jan_31_anchor(self) -> None:
        """Jan 31 gives Feb 29 (leap year), Mar 31, Apr 30: never drifting to the 29th."""
        plan = PaymentPlan.with_deposit(
            "m", Money.of("400", USD), installments=4, dates=Cadence.MONTHLY,
            booked=D(2024, 1, 31), session=D(2024, 6, 30),
        )
        assert [i.due for i in plan.installments] == [D(2024, 2, 29), D(2024, 3, 31), D(2024, 4, 30), D(2024, 5, 31)]

    def test_every_cadence(self) -> None:
        """Each cadence steps from the anchor as documented."""
        a = D(2025, 1, 31)
        assert Cadence.WEEKLY.dates(a, 3) == (a, D(2025, 2, 7), D(2025, 2, 14))
        assert Cadence.BIWEEKLY.dates(a, 3) == (a, D(2025, 2, 14), D(2025, 2, 28))
        assert Cadence.SEMIMONTHLY.dates(a, 4) == (a, D(2025, 2, 16), D(2025, 2, 28), D(2025, 3, 16))
        assert Cadence.SEMIMONTHLY.dates(D(2025, 1, 10), 3) == (D(2025, 1, 10), D(2025, 1, 25), D(2025, 2, 10))
        assert Cadence.BIMONTHLY.dates(a, 3) == (a, D(2025, 3, 31), D(2025, 5, 31))

    def test_cadence_names(self) -> None:
        """Cadences parse from common spellings and refuse unknown ones."""
        assert Cadence.parse("every two weeks") is Cadence.BIWEEKLY
        assert Cadence.parse("twice_a_month") is Cadence.SEMIMONTHLY
        with pytest.raises(InvalidPlanError, match="expected a cadence"):
            Cadence.parse("daily")


class TestCutoff:
    def test_does_not_fit_names_latest_due_date(self) -> None:
        """A schedule past the cutoff is refused with the latest possible due date."""
        with pytest.raises(ScheduleDoesNotFitError, match="2027-04-01") as info:
            PaymentPlan.with_deposit(
                "x", Money.of("2000", USD), installments=6, final_due_days_before=14,
                booked=D(2026, 12, 1), session=D(2027, 4, 15),
            )
        assert info.value.latest_due == D(2027, 4, 1)

    def test_compress_spreads_evenly_up_to_the_cutoff(self) -> None:
        """compress=True fits the installments between booking and cutoff, the last on the cutoff."""
        plan = PaymentPlan.with_deposit(
            "x", Money.of("2000", USD), installments=6, final_due_days_before=14, compress=True,
            booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )
        dues = [i.due for i in plan.installments]
        assert dues == sorted(dues)
        assert dues[-1] == D(2027, 4, 1)
        assert len(dues) == 6
        # Evenly: 2026-12-01 to the cutoff 2027-04-01 is 121 days, six steps of 121/6 = 20.17 days,
        # so five gaps of 20 days and one of 21 (the docstring's claim; it was not checked).
        gaps = [(b - a).days for a, b in itertools.pairwise([plan.booked, *dues])]
        assert sorted(gaps) == [20, 20, 20, 20, 20, 21]

    def test_booked_after_cutoff_cannot_fit_even_compressed(self) -> None:
        """Nothing can be due before a cutoff that has passed."""
        with pytest.raises(ScheduleDoesNotFitError):
            PaymentPlan.with_deposit(
                "x", Money.of("100", USD), installments=2, final_due_days_before=30, compress=True,
                booked=D(2027, 4, 1), session=D(2027, 4, 15),
            )

    def test_relative_dates(self) -> None:
        """BeforeSession dates count back from the session and remember their offsets."""
        plan = PaymentPlan.with_deposit(
            "r", Money.of("900", USD), deposit=DepositRule.fixed(Money.of("300", USD)), installments=2,
            dates=BeforeSession((60, 21)), booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )
        assert [(i.due, i.days_before_session) for i in plan.installments[1:]] == [
            (D(2027, 2, 14), 60), (D(2027, 3, 25), 21),
        ]

    def test_explicit_dates_must_match_the_count(self) -> None:
        """Two dates for three installments is an error."""
        with pytest.raises(InvalidPlanError, match="expected 3 explicit due date"):
            PaymentPlan.with_deposit(
                "e", Money.of("900", USD), installments=3, dates=ExplicitDates([D(2027, 1, 1), D(2027, 2, 1)]),
                booked=D(2026, 12, 1), session=D(2027, 4, 15),
            )


class TestRemainder:
    def test_first_and_last(self) -> None:
        """$1000 over 3: the odd cent goes first by default, last on request."""
        kw = {"installments": 3, "booked": D(2026, 1, 1), "session": D(2026, 12, 1)}
        first = PaymentPlan.with_deposit("f", Money.of("1000", USD), **kw)  # type: ignore[arg-type]
        last = PaymentPlan.with_deposit("l", Money.of("1000", USD), remainder=Remainder.LAST, **kw)  # type: ignore[arg-type]
        assert [i.amount.minor for i in first.installments] == [33334, 33333, 33333]
        assert [i.amount.minor for i in last.installments] == [33333, 33333, 33334]

    def test_balance_too_small_to_split(self) -> None:
        """Two cents cannot become three positive installments."""
        with pytest.raises(InvalidPlanError, match="cannot be split into 3 positive"):
            PaymentPlan.with_deposit("s", Money(2, USD), installments=3, booked=D(2026, 1, 1), session=D(2026, 12, 1))


class TestFinancing:
    def test_apr_amortizes_exactly(self) -> None:
        """$1500 at 12% APR over 3 months: level payments, the last clears the balance."""
        plan = PaymentPlan.with_deposit(
            "f", Money.of("2000", USD), deposit=PACK_A_DEPOSIT, installments=3, apr="12",
            booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )
        amounts = [i.amount.minor for i in plan.installments[1:]]
        assert amounts == [51003, 51003, 51004]
        assert plan.finance_charge == Money(3010, USD)
        assert plan.total == Money.of("2030.10", USD)

    def test_apr_needs_a_cadence(self) -> None:
        """Financing over explicit dates has no period, so it is refused."""
        with pytest.raises(InvalidPlanError, match="regular cadence"):
            PaymentPlan.with_deposit(
                "f", Money.of("900", USD), installments=1, apr=10, dates=ExplicitDates([D(2027, 1, 1)]),
                booked=D(2026, 12, 1), session=D(2027, 4, 15),
            )


class TestOtherKinds:
    def test_progressive_with_milestones(self) -> None:
        """30% upfront, then two milestones splitting the rest by percent."""
        plan = PaymentPlan.progressive(
            "p", Money.of("3000", USD), upfront=DepositRule.percent(30),
            milestones=[Milestone("Engagement shoot", percent=40, due=D(2027, 1, 15)),
                        Milestone("Final", percent=60, days_before_session=14)],
            booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )
        assert plan.kind is PlanKind.PROGRESSIVE
        assert rows(plan) == [
            ("deposit", "2026-12-01", "900.00"),
            ("installment", "2027-01-15", "840.00"),
            ("balance", "2027-04-01", "1260.00"),
        ]
        assert plan.installments[1].label == "Engagement shoot"

    def test_progressive_fixed_amounts_first(self) -> None:
        """A fixed milestone amount is taken first; percents share the rest."""
        plan = PaymentPlan.progressive(
            "p", Money.of("1000", USD), upfront=DepositRule.percent(30),
            milestones=[Milestone("Prints", amount=Money.of("100", USD), due=D(2027, 1, 1)),
                        Milestone("Rest", percent=1, due=D(2027, 2, 1))],
            booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )
        assert [r[2] for r in rows(plan)] == ["300.00", "100.00", "600.00"]

    def test_milestone_needs_one_amount_and_one_date(self) -> None:
        """A milestone with both percent and amount is refused."""
        with pytest.raises(InvalidPlanError, match="exactly one of percent and amount"):
            Milestone("x", percent=10, amount=Money(1, USD), due=D(2027, 1, 1))

    def test_pay_in_full(self) -> None:
        """One balance line of the whole fee."""
        plan = PaymentPlan.pay_in_full("f", Money.of("2000", USD), booked=D(2026, 12, 1), session=D(2027, 4, 15))
        assert rows(plan) == [("balance", "2026-12-01", "2000.00")]

    def test_custom(self) -> None:
        """Agreed amounts on agreed dates; the fee is their sum."""
        plan = PaymentPlan.custom(
            "c", [(D(2026, 12, 1), Money.of("250", USD)), (D(2027, 2, 10), Money.of("1000", USD))],
            booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )
        assert plan.fee == Money.of("1250", USD)
        assert plan.installments[0].kind is InstallmentKind.DEPOSIT

    def test_pay_as_you_go(self) -> None:
        """Each use is charged on its day; adding a use makes a new version."""
        plan = PaymentPlan.pay_as_you_go("g", Money(4500, "JPY"), [D(2026, 12, 3)], booked=D(2026, 12, 1))
        more = plan.add_use(D(2026, 12, 10))
        assert more.version == 2
        assert more.total == Money(9000, "JPY")
        assert [i.due for i in more.installments] == [D(2026, 12, 3), D(2026, 12, 10)]
        with pytest.raises(InvalidPlanError, match="pay-as-you-go"):
            PaymentPlan.pay_in_full("f", Money(1, USD), booked=D(2026, 1, 1), session=D(2026, 1, 1)).add_use(D(2026, 1, 2))


class TestInvariants:
    def base(self) -> PaymentPlan:
        return PaymentPlan.with_deposit(
            "a", Money.of("2000.00", USD), deposit=PACK_A_DEPOSIT, installments=3,
            booked=D(2026, 12, 1), session=D(2027, 4, 15),
        )

    def test_evolve_rechecks_the_sum(self) -> None:
        """Changing an amount so the parts no longer add up is refused."""
        plan = self.base()
        bad = (attrs.evolve(plan.installments[1], amount=Money.of("499.99", USD)),)
        with pytest.raises(InvalidPlanError, match=r"add up to 1999.99 USD, expected exactly 2000.00 USD"):
            attrs.evolve(plan, installments=plan.installments[:1] + bad + plan.installments[2:])

    def test_dates_must_not_go_backwards(self) -> None:
        """An installment due before the previous one is refused."""
        plan = self.base()
        moved = attrs.evolve(plan.installments[2], due=D(2026, 12, 15))
        with pytest.raises(InvalidPlanError, match="must not go backwards"):
            attrs.evolve(plan, installments=(plan.installments[0], plan.installments[1], moved, plan.installments[3]))

    def test_last_payment_on_the_cutoff_but_not_after(self) -> None:
        """The last payment may fall due on the cutoff, not a day after; with no days before, on the session."""
        plan = self.base()  # last due 2027-03-01
        cutoff = attrs.evolve(plan.terms, final_due_days_before=14)
        assert attrs.evolve(plan, session=D(2027, 3, 15), terms=cutoff).cutoff == D(2027, 3, 1)
        with pytest.raises(InvalidPlanError, match=r"after the cutoff 2027-02-28 \(14 days before the session\)"):
            attrs.evolve(plan, session=D(2027, 3, 14), terms=cutoff)
        assert attrs.evolve(plan, session=D(2027, 3, 1)).cutoff == D(2027, 3, 1)
        with pytest.raises(InvalidPlanError, match=r"after the cutoff 2027-02-28 \(0 days"):
            attrs.evolve(plan, session=D(2027, 2, 28))

    def test_bad_timezone_and_id(self) -> None:
        """Unknown time zones and empty ids are refused."""
        plan = self.base()
        with pytest.raises(InvalidPlanError, match="IANA time zone"):
            attrs.evolve(plan, timezone="Mars/Olympus")
        # a name longer than a file name may be (the zone database answers OSError, not "not found")
        with pytest.raises(InvalidPlanError, match="IANA time zone"):
            attrs.evolve(plan, timezone="9" * 300)
        with pytest.raises(InvalidPlanError, match="plan id"):
            attrs.evolve(plan, id="")

    def test_each_field_is_checked_before_the_rules_across_fields(self) -> None:
        """A plan with two faults names the field's own first: every field validator runs before the invariants.

        (They ran as the installments' validator, between the fields' own checks: a time zone unknown and
        the parts no longer adding up named the sum, a booking given as a datetime and a session before it
        named the datetime only because the invariants checked both dates again themselves.)
        """
        plan = self.base()
        short = plan.installments[:-1]
        with pytest.raises(InvalidPlanError, match="IANA time zone"):
            attrs.evolve(plan, timezone="Mars/Olympus", installments=short)
        with pytest.raises(InvalidPlanError, match=r"^expected session as a datetime\.date, got datetime "):
            attrs.evolve(plan, session=dt.datetime(2026, 1, 1), installments=short)

    def test_session_before_booking(self) -> None:
        """A session before the booking is refused."""
        with pytest.raises(InvalidPlanError, match="session on or after the booking"):
            PaymentPlan.pay_in_full("f", Money(1, USD), booked=D(2026, 2, 1), session=D(2026, 1, 1))

    def test_terms_validate(self) -> None:
        """Terms refuse negative cutoffs and absurd APRs."""
        with pytest.raises(InvalidPlanError):
            Terms(final_due_days_before=-1)
        with pytest.raises(InvalidPlanError):
            Terms(apr=Decimal(5000))
