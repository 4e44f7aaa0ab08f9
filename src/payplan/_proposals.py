"""Clients choose within the business's bounds: a client's own proposal becomes a plan, or is refused.

A tier declares :class:`Bounds`: the least deposit (its deposit rule), the
least payment, the most days between two payments, the installment counts
allowed and the cutoff before the session. A client proposes either their
own amounts and dates (:class:`ProposedParts`) or a count and a cadence
(:class:`ProposedCadence`); :func:`accept_proposal` turns a proposal that
keeps every bound into a :class:`PaymentPlan`, and refuses any other with an
:class:`OutOfBoundsError` naming the first bound it breaks and the nearest
value that would keep it.

Pure: no I/O, no clock. The booking date is an argument.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from attrs import evolve, field, frozen

from ._calendar import Cadence, DateRule
from ._money import Money, Remainder, _money, split
from ._plan import PaymentPlan, PlanKind
from ._terms import DepositRule, Terms
from .exceptions import InvalidPlanError, OutOfBoundsError

if TYPE_CHECKING:
    from ._catalog import Tier
    from .guardrails import Sale

__all__ = [
    "Bound",
    "Bounds",
    "ProposedCadence",
    "ProposedParts",
    "accept_proposal",
    "propose",
]


class Bound(enum.Enum):
    """The bound a refused proposal breaks (:attr:`OutOfBoundsError.bound`).

    Each names what :attr:`OutOfBoundsError.nearest` holds:

    - ``TOTAL``: the parts must add up to the fee; *nearest* is the fee.
    - ``ORDER``: due dates in order, none before the booking; *nearest* is
      the earliest date the part may take.
    - ``COUNT``: an installment count the tier allows; *nearest* is the
      closest allowed count.
    - ``DEPOSIT``: at least the deposit rule's amount, due at booking;
      *nearest* is the least deposit (or the booking date, for a deposit
      proposed on another day).
    - ``CUTOFF``: paid in full N days before the session; *nearest* is the
      latest date the last payment may fall due.
    - ``GAP``: no more than the most days between two payments (the booking
      counts as the first date); *nearest* is the latest date the part may
      take.
    - ``PAYMENT``: every installment at least the least payment; *nearest*
      is the least payment.
    - ``RULE``: a guardrail refuses the plan where it is sold
      (:class:`~payplan.GuardrailError`); *got* is the plan's number and
      *nearest* the rule's threshold.

    .. versionadded:: 0.1.0
    """

    TOTAL = "total"
    ORDER = "order"
    COUNT = "count"
    DEPOSIT = "deposit"
    CUTOFF = "cutoff"
    GAP = "gap"
    PAYMENT = "payment"
    RULE = "rule"


def _as_counts(items: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(set(items)))


def _check_counts(_: object, __: object, value: tuple[int, ...]) -> None:
    if not value or any(type(c) is not int or c < 1 for c in value):
        raise InvalidPlanError(f"expected allowed installment counts of 1 or more, got {list(value)}")


def _check_least_payment(_: object, __: object, value: Money | None) -> None:
    if value is not None and (type(value) is not Money or value.minor <= 0):
        raise InvalidPlanError(f"expected least_payment as Money above zero or None, got {value!r}")


def _check_days(_: object, attribute: object, value: int | None) -> None:
    name = getattr(attribute, "name", "days")
    if value is None and name == "most_days_between":
        return
    if type(value) is not int or value < (1 if name == "most_days_between" else 0):
        least = 1 if name == "most_days_between" else 0
        raise InvalidPlanError(f"expected {name} as whole days of {least} or more, got {value!r}")


def _check_deposit(_: object, __: object, value: DepositRule) -> None:
    if type(value) is not DepositRule:
        raise InvalidPlanError(f"expected the least deposit as a DepositRule, got {type(value).__name__} {value!r}")


@frozen
class Bounds:
    """What a client may choose within, for one tier.

    Attributes:
        deposit: The least deposit, as a deposit rule applied to the fee. A
            rule that comes to zero means no deposit: every part is an
            installment.
        least_payment: The least amount of any installment after the
            deposit; None for no floor.
        most_days_between: The most days from one payment to the next (from
            the booking to the first payment when there is no deposit);
            None for no limit.
        counts: The installment counts (after the deposit) a client may
            choose.
        cutoff_days: The last payment is due no later than this many days
            before the session.

    .. versionadded:: 0.1.0
    """

    deposit: DepositRule = field(factory=DepositRule.none, validator=_check_deposit)
    least_payment: Money | None = field(default=None, validator=_check_least_payment)
    most_days_between: int | None = field(default=None, validator=_check_days)
    counts: tuple[int, ...] = field(default=(1,), converter=_as_counts, validator=_check_counts)
    cutoff_days: int = field(default=0, validator=_check_days)

    @classmethod
    def of_tier(cls, tier: Tier) -> Bounds:
        """The bounds a catalog :class:`Tier` declares.

        The deposit rule, the cutoff and the counts come from the tier's
        terms and :attr:`Tier.installment_counts`; the least payment and the
        most days between payments from :attr:`Tier.least_payment` and
        :attr:`Tier.most_days_between` (TOML keys ``least_payment`` and
        ``most_days_between``).
        """
        return cls(
            deposit=tier.terms.deposit,
            least_payment=tier.least_payment,
            most_days_between=tier.most_days_between,
            counts=tier.installment_counts,
            cutoff_days=tier.terms.final_due_days_before,
        )

    def least_deposit(self, fee: Money) -> Money:
        """The least deposit on *fee* (zero when the rule asks for none)."""
        return self.deposit.deposit_for(fee)

    def cutoff(self, session: dt.date) -> dt.date:
        """The latest date the last payment may fall due for a session on *session*."""
        return session - dt.timedelta(days=self.cutoff_days)

    def nearest_count(self, count: int) -> int:
        """The allowed count closest to *count* (the smaller on a tie)."""
        return min(self.counts, key=lambda c: (abs(c - count), c))

    def describe(self) -> list[str]:
        """The bounds in words, one line each, as a booking form shows them."""
        lines = [f"deposit: {self.deposit.describe()}, due at booking"]
        if self.least_payment is not None:
            lines.append(f"each installment at least {self.least_payment}")
        if self.most_days_between is not None:
            lines.append(f"no more than {self.most_days_between} days between two payments")
        lines.append("installments: " + ", ".join(map(str, self.counts)))
        lines.append(f"paid in full {self.cutoff_days} days before the session")
        return lines


def _as_parts(items: Iterable[tuple[dt.date, Money]]) -> tuple[tuple[dt.date, Money], ...]:
    return tuple((d, m) for d, m in items)


def _check_parts(_: object, __: object, value: tuple[tuple[dt.date, Money], ...]) -> None:
    if not value:
        raise InvalidPlanError("expected at least one (date, amount) part, got none")
    for n, (due, amount) in enumerate(value, 1):
        if type(due) is not dt.date:
            raise InvalidPlanError(f"expected part {n}'s date as a datetime.date, got {type(due).__name__} {due!r}")
        if type(amount) is not Money or amount.minor <= 0:
            raise InvalidPlanError(f"expected part {n}'s amount as Money above zero, got {amount!r}")


@frozen
class ProposedParts:
    """A client's own amounts and dates: ``[(date, Money), ...]`` in order.

    When the bounds ask for a deposit, the first part is the deposit (due at
    booking) and the others are the installments; a single part of the
    whole fee at booking is paying in full. Without a deposit every part is
    an installment.

    .. versionadded:: 0.1.0
    """

    parts: tuple[tuple[dt.date, Money], ...] = field(converter=_as_parts, validator=_check_parts)


def _check_count(_: object, __: object, value: int) -> None:
    if type(value) is not int or not 1 <= value <= 520:
        raise InvalidPlanError(f"expected an installment count from 1 to 520, got {value!r}")


def _opt_deposit(_: object, __: object, value: Money | None) -> None:
    if value is not None and (type(value) is not Money or value.minor < 0):
        raise InvalidPlanError(f"expected a proposed deposit as Money of zero or more, got {value!r}")


def _opt_date(_: object, __: object, value: dt.date | None) -> None:
    if value is not None and type(value) is not dt.date:
        raise InvalidPlanError(f"expected first_due as a datetime.date, got {type(value).__name__} {value!r}")


def _cadence(value: Cadence | str) -> Cadence:
    return Cadence.parse(value)


@frozen
class ProposedCadence:
    """A count and a cadence: *count* equal installments every *cadence* after the deposit.

    Attributes:
        count: How many installments follow the deposit.
        cadence: Their rhythm.
        deposit: The deposit the client offers; None for the least the
            bounds allow.
        first_due: The first installment's date; None for one cadence
            period after the booking.

    .. versionadded:: 0.1.0
    """

    count: int = field(validator=_check_count)
    cadence: Cadence = field(default=Cadence.MONTHLY, converter=_cadence)
    deposit: Money | None = field(default=None, validator=_opt_deposit)
    first_due: dt.date | None = field(default=None, validator=_opt_date)


#: Either shape of proposal.
Proposal = ProposedParts | ProposedCadence


def _refuse(bound: Bound, message: str, *, got: object, nearest: object, part: int | None = None) -> OutOfBoundsError:
    return OutOfBoundsError(f"{message}", bound=bound.value, got=got, nearest=nearest, part=part)


def _cadence_parts(
    proposal: ProposedCadence, bounds: Bounds, fee: Money, booked: dt.date, remainder: Remainder
) -> tuple[tuple[dt.date, Money], ...]:
    """The (date, amount) parts a count-and-cadence proposal comes to, as the schedule builder dates them."""
    least = bounds.least_deposit(fee)
    deposit = least if proposal.deposit is None else proposal.deposit
    if deposit.currency != fee.currency:
        raise InvalidPlanError(f"expected the proposed deposit in {fee.currency.code}, got {deposit}")
    if deposit.minor and not least.minor:
        raise InvalidPlanError(f"this tier takes no deposit: every payment is an installment, got a deposit of {deposit}")
    if deposit.minor < least.minor:
        raise _refuse(
            Bound.DEPOSIT, f"a deposit of {deposit} is below the least deposit {least} ({bounds.deposit.describe()})",
            got=deposit, nearest=least, part=1,
        )
    if deposit.minor > fee.minor - proposal.count:
        largest = _money(fee.minor - proposal.count, fee.currency)
        raise _refuse(
            Bound.TOTAL,
            f"a deposit of {deposit} leaves less than {proposal.count} installment(s) can share "
            f"of the fee {fee}; the largest deposit is {largest}",
            got=deposit, nearest=largest,
        )
    cadence = proposal.cadence
    first = proposal.first_due
    dates = cadence.series(booked, 1, proposal.count) if first is None else cadence.series(first, 0, proposal.count)
    left = fee.minor - deposit.minor
    amounts = split(_money(left, fee.currency), proposal.count, remainder=remainder)
    head = ((booked, deposit),) if deposit.minor else ()
    return head + tuple(zip(dates, amounts, strict=True))


def check_parts(
    parts: Sequence[tuple[dt.date, Money]],
    bounds: Bounds,
    *,
    fee: Money,
    booked: dt.date,
    session: dt.date,
) -> None:
    """Check *parts* against *bounds*; raise for the first bound broken.

    Bounds are checked in the order of :class:`Bound` (total, order, count,
    deposit, cutoff, gap, payment), parts from first to last.

    Raises:
        OutOfBoundsError: naming the bound, the part (1-based, when one part
            breaks it), what arrived and the nearest value that keeps it.
    """
    cur = fee.currency
    for n, (_, amount) in enumerate(parts, 1):
        if amount.currency != cur:
            raise InvalidPlanError(f"expected part {n} in the fee's currency {cur.code}, got {amount}")
    total = sum(m.minor for _, m in parts)
    if total != fee.minor:
        raise _refuse(
            Bound.TOTAL, f"the parts add up to {_money(total, cur)}, expected the fee {fee}",
            got=_money(total, cur), nearest=fee,
        )
    previous = booked
    for n, (due, _) in enumerate(parts, 1):
        if due < previous:
            what = "the booking" if n == 1 else f"part {n - 1}"
            raise _refuse(
                Bound.ORDER, f"part {n} is due {due.isoformat()}, before {what} ({previous.isoformat()})",
                got=due, nearest=previous, part=n,
            )
        previous = due
    least = bounds.least_deposit(fee)
    has_deposit = least.minor > 0
    in_full = len(parts) == 1 and parts[0][0] == booked
    count = len(parts) - 1 if has_deposit else len(parts)
    if not in_full and count not in bounds.counts:
        nearest = bounds.nearest_count(count)
        allowed = ", ".join(map(str, bounds.counts))
        raise _refuse(
            Bound.COUNT, f"{count} installment(s) proposed, the tier allows {allowed}; nearest: {nearest}",
            got=count, nearest=nearest,
        )
    if has_deposit:
        due, amount = parts[0]
        if due != booked:
            raise _refuse(
                Bound.DEPOSIT, f"the deposit is due at booking ({booked.isoformat()}), proposed {due.isoformat()}",
                got=due, nearest=booked, part=1,
            )
        if amount.minor < least.minor:
            raise _refuse(
                Bound.DEPOSIT, f"a deposit of {amount} is below the least deposit {least} ({bounds.deposit.describe()})",
                got=amount, nearest=least, part=1,
            )
    cutoff = bounds.cutoff(session)
    last = parts[-1][0]
    if last > cutoff:
        raise _refuse(
            Bound.CUTOFF,
            f"the last payment is due {last.isoformat()}, after {cutoff.isoformat()} "
            f"(paid in full {bounds.cutoff_days} days before the session {session.isoformat()})",
            got=last, nearest=cutoff, part=len(parts),
        )
    gap = bounds.most_days_between
    if gap is not None:
        previous = booked
        for n, (due, _) in enumerate(parts, 1):
            if (due - previous).days > gap:
                latest = previous + dt.timedelta(days=gap)
                raise _refuse(
                    Bound.GAP,
                    f"part {n} is due {(due - previous).days} days after the previous date "
                    f"{previous.isoformat()}; at most {gap} days are allowed, so by {latest.isoformat()}",
                    got=due, nearest=latest, part=n,
                )
            previous = due
    floor = bounds.least_payment
    if floor is not None and not in_full:
        if floor.currency != cur:
            raise InvalidPlanError(f"expected the least payment in the fee's currency {cur.code}, got {floor}")
        for n, (_, amount) in enumerate(parts, 1):
            if n == 1 and has_deposit:
                continue
            if amount.minor < floor.minor:
                raise _refuse(
                    Bound.PAYMENT, f"installment of {amount} (part {n}) is below the least payment {floor}",
                    got=amount, nearest=floor, part=n,
                )


def accept_proposal(
    plan_id: str,
    proposal: Proposal,
    *,
    bounds: Bounds,
    fee: Money,
    booked: dt.date,
    session: dt.date,
    terms: Terms | None = None,
    timezone: str = "UTC",
    tier: str | None = None,
    client: str | None = None,
    sold_in: Iterable[Sale] = (),
) -> PaymentPlan:
    """Turn a client's *proposal* into a plan when it keeps every bound.

    The plan keeps *terms*' collection policies (late fees, reminders,
    cancellation, incentives); its deposit, installments, dates and cutoff
    are the proposal's, its cutoff the bounds'. A proposal is not financed:
    the plan's APR is zero.

    Args:
        plan_id: The booking's stable id.
        proposal: :class:`ProposedParts` or :class:`ProposedCadence`.
        bounds: What the client may choose within (:meth:`Bounds.of_tier`).
        fee: The fee the parts must add up to.
        booked: Booking date; a deposit is due then.
        session: Session date.
        terms: The tier's terms, for the collection policies.
        timezone: The plan's IANA time zone.
        tier: The catalog tier name.
        client: The client's id.
        sold_in: Where the plan is sold (:class:`payplan.guardrails.Sale`
            values): the plan is checked against the guardrails there.

    Returns:
        A :class:`PaymentPlan` whose schedule is exactly the proposal's.

    Raises:
        OutOfBoundsError: the first bound the proposal breaks, with the
            nearest value that keeps it.
        GuardrailError: a guardrail refuses the plan where it is sold
            (an :class:`OutOfBoundsError` whose bound is ``"rule"``), with
            the rule's words.
        InvalidPlanError: a malformed proposal (another currency, a
            session before the booking).
    """
    if type(fee) is not Money or fee.minor <= 0:
        raise InvalidPlanError(f"expected a fee above zero, got {fee!r}")
    for name, value in (("booked", booked), ("session", session)):
        if type(value) is not dt.date:
            raise InvalidPlanError(f"expected {name} as a datetime.date, got {type(value).__name__} {value!r}")
    if session < booked:
        raise InvalidPlanError(f"expected the session on or after the booking {booked.isoformat()}, got {session.isoformat()}")
    base = terms if terms is not None else Terms()
    if isinstance(proposal, ProposedCadence):
        if proposal.count not in bounds.counts:
            nearest = bounds.nearest_count(proposal.count)
            raise _refuse(
                Bound.COUNT,
                f"{proposal.count} installment(s) proposed, the tier allows "
                f"{', '.join(map(str, bounds.counts))}; nearest: {nearest}",
                got=proposal.count, nearest=nearest,
            )
        parts = _cadence_parts(proposal, bounds, fee, booked, base.remainder)
    elif isinstance(proposal, ProposedParts):
        parts = proposal.parts
    else:
        raise InvalidPlanError(f"expected ProposedParts or ProposedCadence, got {type(proposal).__name__} {proposal!r}")
    check_parts(parts, bounds, fee=fee, booked=booked, session=session)
    has_deposit = bounds.least_deposit(fee).minor > 0 and (len(parts) > 1 or parts[0][0] != booked)
    plan = PaymentPlan.custom(
        plan_id, parts, booked=booked, session=session, first_is_deposit=has_deposit,
        final_due_days_before=bounds.cutoff_days, timezone=timezone, tier=tier, client=client,
    )
    built = plan.terms
    kind = PlanKind.CUSTOM
    dates: DateRule = built.dates
    first_due: dt.date | None = None
    if len(parts) == 1 and parts[0][0] == booked:
        kind = PlanKind.PAY_IN_FULL
    elif isinstance(proposal, ProposedCadence):
        kind, dates, first_due = PlanKind.INSTALLMENTS, proposal.cadence, proposal.first_due
    agreed = evolve(
        base, deposit=built.deposit, installments=built.installments, dates=dates,
        final_due_days_before=built.final_due_days_before, first_due=first_due, compress=False, apr=0,
    )
    plan = evolve(plan, terms=agreed, kind=kind)
    sales = tuple(sold_in)
    if sales:
        from .guardrails import check
        from .guardrails._check import raise_for_refusals

        for sale in sales:
            raise_for_refusals(check(plan, sale), "the proposal", sale)
    return plan


def propose(
    tier: Tier,
    plan_id: str,
    proposal: Proposal,
    *,
    booked: dt.date,
    session: dt.date,
    fee: Money | None = None,
    timezone: str = "UTC",
    client: str | None = None,
) -> PaymentPlan:
    """A client's *proposal* for a catalog *tier*, within the tier's bounds.

    ``accept_proposal`` with the tier's :meth:`Bounds.of_tier`, fee and
    terms.

    Raises:
        OutOfBoundsError: the bound the proposal breaks and the nearest value that keeps it.
        GuardrailError: a guardrail refuses the plan where the tier is sold (:attr:`Tier.sold_in`).
        InvalidPlanError: a tier without a fee and no *fee* given.
    """
    price = fee if fee is not None else tier.fee
    if price is None:
        raise InvalidPlanError(f"tier {tier.name!r} has no fixed fee: pass the agreed fee")
    return accept_proposal(
        plan_id, proposal, bounds=Bounds.of_tier(tier), fee=price, booked=booked, session=session,
        terms=tier.terms, timezone=timezone, tier=tier.name, client=client, sold_in=tier.sold_in,
    )
