"""Clients choose within bounds: every accepted proposal keeps every bound, every refusal names one it breaks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from itertools import pairwise

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from payplan import (
    Bound,
    Bounds,
    Cadence,
    DepositRule,
    InstallmentKind,
    Money,
    OutOfBoundsError,
    PaymentPlan,
    ProposedCadence,
    ProposedParts,
    accept_proposal,
    split,
)
from strategies import currencies

Parts = Sequence[tuple[dt.date, Money]]


def attempt(build: Callable[[], PaymentPlan]) -> tuple[PaymentPlan | None, OutOfBoundsError | None]:
    """The plan *build* returns, or the OutOfBoundsError it raises."""
    try:
        return build(), None
    except OutOfBoundsError as exc:
        return None, exc


def broken(bound: Bound, parts: Parts, b: Bounds, fee: Money, booked: dt.date, session: dt.date) -> bool:
    """Whether *parts* break *bound*, written from the bounds' definitions (not from the module's checker)."""
    least = b.deposit.deposit_for(fee)
    has_deposit = least.minor > 0
    in_full = len(parts) == 1 and parts[0][0] == booked
    dates = [booked] + [d for d, _ in parts]
    installments = [m for d, m in (parts[1:] if has_deposit else parts)]
    if bound is Bound.TOTAL:
        return sum(m.minor for _, m in parts) != fee.minor
    if bound is Bound.ORDER:
        return any(later < earlier for earlier, later in pairwise(dates))
    if bound is Bound.COUNT:
        return not in_full and len(installments) not in b.counts
    if bound is Bound.DEPOSIT:
        return has_deposit and (parts[0][0] != booked or parts[0][1].minor < least.minor)
    if bound is Bound.CUTOFF:
        return parts[-1][0] > session - dt.timedelta(days=b.cutoff_days)
    if bound is Bound.GAP:
        gap = b.most_days_between
        return gap is not None and any((later - earlier).days > gap for earlier, later in pairwise(dates))
    if bound is Bound.RULE:
        return False  # a guardrail refuses only where the bounds say where the plan is sold; these never do
    assert bound is Bound.PAYMENT
    floor = b.least_payment
    return floor is not None and not in_full and any(m.minor < floor.minor for m in installments)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Bounds, Money, dt.date, dt.date]:
    """Bounds, a fee, a booking and a session, in one currency."""
    cur = draw(currencies)
    fee = Money(draw(st.integers(200, 500_000)), cur)
    kind = draw(st.sampled_from(["none", "percent", "percent_or_minimum", "fixed"]))
    pct = draw(st.integers(1, 60))
    if kind == "none":
        rule = DepositRule.none()
    elif kind == "percent":
        rule = DepositRule.percent(pct)
    elif kind == "fixed":
        rule = DepositRule.fixed(Money(draw(st.integers(1, fee.minor // 2)), cur))
    else:
        rule = DepositRule.percent_or_minimum(pct, Money(draw(st.integers(1, fee.minor // 2)), cur))
    least = draw(st.one_of(st.none(), st.integers(1, fee.minor // 6).map(lambda m: Money(m, cur))))
    gap = draw(st.one_of(st.none(), st.integers(7, 75)))
    counts = draw(st.sets(st.integers(1, 8), min_size=1, max_size=4))
    cutoff = draw(st.integers(0, 30))
    booked = draw(st.dates(dt.date(2025, 1, 1), dt.date(2030, 12, 31)))
    session = booked + dt.timedelta(days=draw(st.integers(cutoff, 420)))
    return Bounds(rule, least, gap, counts, cutoff), fee, booked, session


@st.composite
def part_proposals(draw: st.DrawFn, b: Bounds, fee: Money, booked: dt.date, session: dt.date) -> list[tuple[dt.date, Money]]:
    """Parts near the bounds: a deposit about the least, amounts about a fair split, dates about the gaps."""
    cur = fee.currency
    least = b.deposit.deposit_for(fee)
    count = draw(st.one_of(st.sampled_from(b.counts), st.integers(1, 8)))
    parts: list[tuple[dt.date, Money]] = []
    left = fee.minor
    if least.minor and left - least.minor >= count:
        dep = draw(st.integers(max(1, least.minor - 3), min(left - count, least.minor + fee.minor // 10)))
        day = booked if draw(st.integers(0, 9)) else booked + dt.timedelta(days=draw(st.integers(1, 5)))
        parts.append((day, Money(dep, cur)))
        left -= dep
    shares = split(Money(left, cur), count)
    nudge = draw(st.integers(-3, 3)) if draw(st.integers(0, 4)) == 0 else 0
    span = max(1, (session - booked).days - b.cutoff_days)
    step = max(1, span // (count + 1))
    day = booked
    for n, share in enumerate(shares):
        day = day + dt.timedelta(days=max(0, step + draw(st.integers(-step, step // 2 + 5))))
        minor = share.minor + (nudge if n == count - 1 else 0)
        if minor <= 0:
            minor = 1
        parts.append((day, Money(minor, cur)))
    return parts


class TestProposals:
    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data(), scenario=scenarios())
    def test_own_amounts_and_dates(self, data: st.DataObject, scenario: tuple[Bounds, Money, dt.date, dt.date]) -> None:
        """An accepted proposal keeps every bound and sums to the fee; a refused one breaks the bound it names."""
        b, fee, booked, session = scenario
        parts = data.draw(part_proposals(b, fee, booked, session))
        plan, exc = attempt(lambda: accept_proposal("p", ProposedParts(parts), bounds=b, fee=fee, booked=booked, session=session))
        if exc is not None:
            bound = Bound(exc.bound)
            event(f"refused: {bound.value}")
            assert broken(bound, parts, b, fee, booked, session), (bound, parts)
            if bound is Bound.DEPOSIT and isinstance(exc.got, dt.date):
                assert exc.nearest == booked  # a deposit proposed on another day than the booking
                assert exc.got != booked
            elif bound in (Bound.DEPOSIT, Bound.PAYMENT):
                # The nearest amount is the floor the part fell below.
                assert isinstance(exc.nearest, Money)
                assert isinstance(exc.got, Money)
                assert exc.got.minor < exc.nearest.minor
                floor = b.deposit.deposit_for(fee) if bound is Bound.DEPOSIT else b.least_payment
                assert exc.nearest == floor
            if bound in (Bound.CUTOFF, Bound.GAP):
                # The nearest date, put in place of the part's own, keeps the bound up to that part.
                assert exc.part is not None
                fixed = list(parts[: exc.part])
                fixed[-1] = (exc.nearest, fixed[-1][1])  # type: ignore[assignment]
                assert not broken(bound, fixed, b, fee, booked, session)
            if bound is Bound.COUNT:
                assert exc.nearest in b.counts
            return
        event("accepted")
        assert plan is not None
        got = [(i.due, i.amount) for i in plan.installments]
        assert got == parts
        assert sum(m.minor for _, m in got) == fee.minor == plan.total.minor
        for bound in Bound:
            assert not broken(bound, got, b, fee, booked, session), bound

    @settings(max_examples=300, deadline=None)
    @given(
        data=st.data(),
        scenario=scenarios(),
        cadence=st.sampled_from(list(Cadence)),
    )
    def test_count_and_cadence(
        self, data: st.DataObject, scenario: tuple[Bounds, Money, dt.date, dt.date], cadence: Cadence
    ) -> None:
        """A count and a cadence: accepted plans keep every bound; refusals break the bound they name."""
        b, fee, booked, session = scenario
        count = data.draw(st.one_of(st.sampled_from(b.counts), st.integers(1, 9)))
        least = b.deposit.deposit_for(fee)
        deposit = None
        if least.minor and data.draw(st.booleans()):
            deposit = Money(data.draw(st.integers(max(0, least.minor - 5), fee.minor)), fee.currency)
        proposal = ProposedCadence(count, cadence, deposit=deposit)
        plan, exc = attempt(lambda: accept_proposal("p", proposal, bounds=b, fee=fee, booked=booked, session=session))
        if exc is not None:
            bound = Bound(exc.bound)
            event(f"refused: {bound.value}")
            dep = least if deposit is None else deposit
            if bound is Bound.TOTAL:
                assert dep.minor + count > fee.minor  # no room for count positive installments
                return
            if bound is Bound.COUNT:
                assert count not in b.counts
                assert exc.nearest in b.counts
                return
            if bound is Bound.DEPOSIT:
                assert dep.minor < least.minor
                assert exc.nearest == least
                return
            # The proposal's own parts, from the definitions: deposit at booking, then the cadence's dates.
            amounts = split(Money(fee.minor - dep.minor, fee.currency), count)
            parts = ([(booked, dep)] if dep.minor else []) + list(zip(cadence.series(booked, 1, count), amounts, strict=True))
            assert broken(bound, parts, b, fee, booked, session), (bound, parts)
            return
        event("accepted")
        assert plan is not None
        got = [(i.due, i.amount) for i in plan.installments]
        assert sum(m.minor for _, m in got) == fee.minor
        rest = [i for i in plan.installments if i.kind is not InstallmentKind.DEPOSIT]
        assert len(rest) == count
        assert max(i.amount.minor for i in rest) - min(i.amount.minor for i in rest) <= 1
        for bound in Bound:
            assert not broken(bound, got, b, fee, booked, session), bound
