"""A client's own proposal within a tier's bounds: accepted as a plan, or refused naming the bound."""

from __future__ import annotations

import datetime as dt

import pytest

from payplan import (
    Bounds,
    Cadence,
    Catalog,
    DepositRule,
    InvalidPlanError,
    LateFeePolicy,
    LateFeeStep,
    Money,
    OutOfBoundsError,
    PlanKind,
    ProposedCadence,
    ProposedParts,
    Terms,
    accept_proposal,
    propose,
)

D = dt.date
USD = "USD"

CATALOG = """\
[catalog]
currency = "USD"

[terms]
deposit = { percent = "25", minimum = "500.00" }
cadence = "monthly"
final_due_days_before = 14
late_fee = "25.00"

[[tier]]
name = "Session Pack A"
fee = "2000.00"
installments = [2, 3, 4]
least_payment = "200.00"
most_days_between = 45
"""


def usd(amount: str) -> Money:
    return Money.of(amount, USD)


@pytest.fixture
def pack_a():  # type: ignore[no-untyped-def]
    return Catalog.from_toml(CATALOG)["Session Pack A"]


BOOKED = D(2026, 12, 1)
SESSION = D(2027, 4, 15)


class TestBoundsFromTheCatalog:
    def test_toml_declares_bounds(self, pack_a) -> None:  # type: ignore[no-untyped-def]
        """least_payment and most_days_between come from the TOML; deposit, counts and cutoff from the terms."""
        b = Bounds.of_tier(pack_a)
        assert b.least_payment == usd("200.00")
        assert b.most_days_between == 45
        assert b.counts == (2, 3, 4)
        assert b.cutoff_days == 14
        assert b.least_deposit(usd("2000.00")) == usd("500.00")

    def test_bad_bounds_in_toml(self) -> None:
        """A least payment as a float or a gap of zero days is refused, naming the tier and key."""
        with pytest.raises(InvalidPlanError, match=r"least_payment: expected an amount as a quoted string"):
            Catalog.from_toml(CATALOG.replace('"200.00"', "200.0"))
        with pytest.raises(InvalidPlanError, match=r"most_days_between as whole days of 1 or more, got 0"):
            Catalog.from_toml(CATALOG.replace("most_days_between = 45", "most_days_between = 0"))


class TestOwnAmountsAndDates:
    def test_accepted_keeps_the_tier_policies(self, pack_a) -> None:  # type: ignore[no-untyped-def]
        """An accepted proposal is a custom plan with exactly its parts and the tier's late-fee policy."""
        parts = [(BOOKED, usd("600.00")), (D(2027, 1, 10), usd("700.00")), (D(2027, 2, 20), usd("700.00"))]
        plan = propose(pack_a, "b-1", ProposedParts(parts), booked=BOOKED, session=SESSION)
        assert [(i.due, i.amount) for i in plan.installments] == parts
        assert plan.kind is PlanKind.CUSTOM
        assert plan.terms.late_fees == pack_a.terms.late_fees
        assert plan.cutoff == D(2027, 4, 1)
        assert plan.tier == "Session Pack A"

    @pytest.mark.parametrize(
        ("parts", "bound", "nearest", "part"),
        [
            # 1900 in all, the fee is 2000
            ([(BOOKED, "500.00"), (D(2027, 1, 1), "700.00"), (D(2027, 2, 1), "700.00")], "total", "2000.00", None),
            # one installment: the tier allows 2, 3 or 4
            ([(BOOKED, "500.00"), (D(2027, 1, 1), "1500.00")], "count", 2, None),
            # a deposit below 25% or $500
            ([(BOOKED, "400.00"), (D(2027, 1, 1), "800.00"), (D(2027, 2, 1), "800.00")], "deposit", "500.00", 1),
            # the last payment after the cutoff (14 days before the session)
            ([(BOOKED, "500.00"), (D(2027, 2, 1), "750.00"), (D(2027, 4, 10), "750.00")], "cutoff", D(2027, 4, 1), 3),
            # 62 days between two payments, 45 allowed
            ([(BOOKED, "500.00"), (D(2027, 1, 1), "750.00"), (D(2027, 3, 4), "750.00")], "gap", D(2027, 2, 15), 3),
            # an installment below the least payment
            ([(BOOKED, "500.00"), (D(2027, 1, 1), "1350.00"), (D(2027, 2, 1), "150.00")], "payment", "200.00", 3),
            # a date before the previous one
            ([(BOOKED, "500.00"), (D(2027, 2, 1), "750.00"), (D(2027, 1, 1), "750.00")], "order", D(2027, 2, 1), 3),
        ],
    )
    def test_refusal_names_bound_and_nearest(self, pack_a, parts, bound, nearest, part) -> None:  # type: ignore[no-untyped-def]
        """Each bound broken is named, with the nearest value that keeps it and the part that breaks it."""
        proposal = ProposedParts([(d, usd(a)) for d, a in parts])
        with pytest.raises(OutOfBoundsError) as info:
            propose(pack_a, "b-1", proposal, booked=BOOKED, session=SESSION)
        err = info.value
        assert err.bound == bound
        assert err.nearest == (usd(nearest) if isinstance(nearest, str) else nearest)
        assert err.part == part
        assert isinstance(err, InvalidPlanError)

    def test_deposit_must_be_at_booking(self, pack_a) -> None:  # type: ignore[no-untyped-def]
        """A deposit proposed after the booking day is refused; the nearest is the booking date."""
        parts = [(D(2026, 12, 5), usd("500.00")), (D(2027, 1, 1), usd("750.00")), (D(2027, 2, 1), usd("750.00"))]
        with pytest.raises(OutOfBoundsError, match="due at booking") as info:
            propose(pack_a, "b-1", ProposedParts(parts), booked=BOOKED, session=SESSION)
        assert (info.value.bound, info.value.nearest) == ("deposit", BOOKED)

    def test_paying_in_full_at_booking(self, pack_a) -> None:  # type: ignore[no-untyped-def]
        """One part of the whole fee at booking is paying in full, whatever the counts."""
        plan = propose(pack_a, "b-1", ProposedParts([(BOOKED, usd("2000.00"))]), booked=BOOKED, session=SESSION)
        assert plan.kind is PlanKind.PAY_IN_FULL
        assert plan.total == usd("2000.00")

    def test_malformed_parts(self) -> None:
        """No parts, a float amount or a datetime is an InvalidPlanError saying what arrived."""
        with pytest.raises(InvalidPlanError, match="at least one"):
            ProposedParts([])
        with pytest.raises(InvalidPlanError, match="part 1's amount as Money"):
            ProposedParts([(BOOKED, 500.0)])  # type: ignore[list-item]
        with pytest.raises(InvalidPlanError, match=r"part 1's date as a datetime\.date"):
            ProposedParts([(dt.datetime(2026, 12, 1), usd("1"))])


class TestCountAndCadence:
    def test_accepted_is_an_installment_plan(self, pack_a) -> None:  # type: ignore[no-untyped-def]
        """Three monthly installments of Pack A: the reference schedule, dated by the cadence."""
        plan = propose(pack_a, "b-1", ProposedCadence(3, "monthly"), booked=BOOKED, session=SESSION)
        assert [(i.due, i.amount) for i in plan.installments] == [
            (BOOKED, usd("500.00")), (D(2027, 1, 1), usd("500.00")), (D(2027, 2, 1), usd("500.00")), (D(2027, 3, 1), usd("500.00")),
        ]
        assert plan.kind is PlanKind.INSTALLMENTS
        assert plan.terms.dates is Cadence.MONTHLY

    def test_larger_deposit_and_biweekly(self, pack_a) -> None:  # type: ignore[no-untyped-def]
        """A client may pay more up front and choose another cadence within the bounds."""
        plan = propose(
            pack_a, "b-1", ProposedCadence(4, Cadence.BIWEEKLY, deposit=usd("800.00")), booked=BOOKED, session=SESSION,
        )
        assert plan.installments[0].amount == usd("800.00")
        assert [i.amount for i in plan.installments[1:]] == [usd("300.00")] * 4

    def test_too_many_for_the_cutoff(self) -> None:
        """Four monthly installments do not fit before the cutoff: refused on the cutoff, nearest the cutoff date."""
        b = Bounds(DepositRule.percent(25), counts=(2, 3, 4), cutoff_days=14)
        with pytest.raises(OutOfBoundsError, match="after 2027-03-01") as info:
            accept_proposal("p", ProposedCadence(4), bounds=b, fee=usd("2000.00"), booked=BOOKED, session=D(2027, 3, 15))
        assert (info.value.bound, info.value.nearest) == ("cutoff", D(2027, 3, 1))

    def test_count_not_offered(self, pack_a) -> None:  # type: ignore[no-untyped-def]
        """Six installments when the tier allows 2 to 4: the nearest allowed count is 4."""
        with pytest.raises(OutOfBoundsError, match="allows 2, 3, 4; nearest: 4") as info:
            propose(pack_a, "b-1", ProposedCadence(6), booked=BOOKED, session=SESSION)
        assert info.value.nearest == 4

    def test_gap_too_long(self, pack_a) -> None:  # type: ignore[no-untyped-def]
        """Every two months is more than 45 days between payments."""
        with pytest.raises(OutOfBoundsError) as info:
            propose(pack_a, "b-1", ProposedCadence(2, "bimonthly"), booked=BOOKED, session=SESSION)
        assert (info.value.bound, info.value.nearest, info.value.part) == ("gap", D(2027, 1, 15), 2)

    def test_deposit_leaving_no_room(self, pack_a) -> None:  # type: ignore[no-untyped-def]
        """A deposit of the whole fee leaves nothing for the installments: the largest deposit is named."""
        with pytest.raises(OutOfBoundsError) as info:
            propose(pack_a, "b-1", ProposedCadence(2, deposit=usd("2000.00")), booked=BOOKED, session=SESSION)
        assert (info.value.bound, info.value.nearest) == ("total", Money(199998, USD))

    def test_no_deposit_tier_refuses_a_deposit(self) -> None:
        """A tier without a deposit says so when a deposit is proposed."""
        b = Bounds(counts=(3,))
        with pytest.raises(InvalidPlanError, match="takes no deposit"):
            accept_proposal("p", ProposedCadence(3, deposit=usd("10")), bounds=b, fee=usd("300"), booked=BOOKED, session=SESSION)

    def test_terms_policies_kept(self) -> None:
        """The terms passed in keep their late fees; the schedule fields are the proposal's."""
        terms = Terms(late_fees=LateFeePolicy([LateFeeStep(1, amount=usd("25"))]), apr="12")
        plan = accept_proposal(
            "p", ProposedCadence(3), bounds=Bounds(counts=(3,)), fee=usd("300"), booked=BOOKED, session=SESSION, terms=terms,
        )
        assert plan.terms.late_fees == terms.late_fees
        assert plan.terms.apr == 0
        assert plan.total == usd("300")
