"""PaymentPlan: what was agreed, with its exact schedule, and its named constructors."""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from attrs import evolve, field, frozen

from ._calendar import BeforeSession, Cadence, DateRule, ExplicitDates, shift
from ._money import Currency, Money, Remainder, _money, allocate, to_percent
from ._schedule import (
    Installment,
    InstallmentKind,
    _installment,
    amortize,
    append_even,
    fit_dates,
)
from ._terms import DepositRule, Terms, _remainder
from .exceptions import InvalidPlanError

if TYPE_CHECKING:
    from ._policies import LateFeePolicy

__all__ = ["Milestone", "PaymentPlan", "PlanKind"]

_DAY = dt.timedelta(days=1)
_fromordinal = dt.date.fromordinal
_DEPOSIT = InstallmentKind.DEPOSIT


class PlanKind(enum.Enum):
    """The shape of a plan, as the business owner names it.

    .. versionadded:: 0.1.0
    """

    INSTALLMENTS = "installments"
    """A deposit, then equal installments on a cadence (optionally financed)."""
    PROGRESSIVE = "progressive"
    """An upfront part, then parts by percent or amount, tied to milestones."""
    PAY_IN_FULL = "pay_in_full"
    """One payment of everything."""
    CUSTOM = "custom"
    """Agreed amounts on agreed dates."""
    PAY_AS_YOU_GO = "pay_as_you_go"
    """A charge per use or session, each due when incurred."""


def _as_installments(items: Iterable[Installment]) -> tuple[Installment, ...]:
    return tuple(items)


def _check_timezone(_: object, __: object, value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):  # OSError: a name too long for a file
        raise InvalidPlanError(
            f"expected an IANA time zone such as 'America/New_York', got {value!r}"
        ) from None


def _check_line_ids(lines: tuple[Installment, ...]) -> None:
    """Each line's key is a short printable name without ':', and no two lines share an id."""
    seen: set[str] = set()
    for inst in lines:
        key = inst.key
        if key is not None and (
            type(key) is not str or not 0 < len(key) <= 40 or not key.isprintable() or ":" in key
        ):
            raise InvalidPlanError(
                f"expected installment {inst.number}'s key as 1 to 40 printable characters without ':', got {key!r}"
            )
        line = inst.line_id
        if line in seen:
            raise InvalidPlanError(f"expected each line once, got two lines with the id {line!r}")
        seen.add(line)


def _check_id(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not value or len(value) > 200 or not value.isprintable():
        raise InvalidPlanError(f"expected a plan id of 1 to 200 printable characters, got {value!r}")


def _check_date(_: object, attribute: object, value: dt.date) -> None:
    if type(value) is not dt.date:
        name = getattr(attribute, "name", "date")
        raise InvalidPlanError(f"expected {name} as a datetime.date, got {type(value).__name__} {value!r}")


@frozen
class PaymentPlan:
    """A client's plan: the fee, the agreed terms and the exact dated schedule.

    A plan is an immutable value. Every construction, including
    ``attrs.evolve``, checks its invariants: the installments add up exactly
    to :attr:`total`, every amount is positive and in the fee's currency,
    numbers run 1, 2, 3, ..., dates never go backwards, a deposit can only be
    first, nothing is due before the booking, and the last payment is due on
    or before :attr:`cutoff`.

    Build plans with the named constructors (:meth:`with_deposit`,
    :meth:`progressive`, :meth:`pay_in_full`, :meth:`custom`,
    :meth:`pay_as_you_go`) or from a catalog :class:`Tier`.

    Attributes:
        id: The booking site's stable id for this plan; provider idempotency
            keys are derived from it.
        fee: The price of what was booked.
        installments: The schedule.
        booked: The booking date (deposit due date).
        session: The session date.
        terms: The agreed terms.
        kind: The plan's shape.
        finance_charge: Interest added by financing (zero unless an APR is set).
        timezone: IANA time zone the due dates are local to.
        tier: The catalog tier name, if any.
        client: The booking site's client id, if any.
        version: Starts at 1; every amendment makes the next version.

    .. versionadded:: 0.1.0
    """

    id: str = field(validator=_check_id)
    fee: Money
    installments: tuple[Installment, ...] = field(converter=_as_installments)
    booked: dt.date = field(validator=_check_date)
    session: dt.date = field(validator=_check_date)
    terms: Terms = field(factory=Terms)
    kind: PlanKind = PlanKind.INSTALLMENTS
    finance_charge: Money | None = None
    timezone: str = field(default="UTC", validator=_check_timezone)
    tier: str | None = None
    client: str | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        # The rules that span fields run once every field's own validator has run (attrs calls this
        # last, in __init__ and so in evolve): booked and session are dates by now, the timezone known.
        fee = self.fee
        if type(fee) is not Money or fee.minor <= 0:
            raise InvalidPlanError(f"expected a fee above zero, got {fee!r}")
        if self.session < self.booked:
            raise InvalidPlanError(
                f"expected the session on or after the booking {self.booked.isoformat()}, "
                f"got {self.session.isoformat()}"
            )
        if type(self.version) is not int or self.version < 1:
            raise InvalidPlanError(f"expected a plan version of 1 or more, got {self.version!r}")
        charge = self.finance_charge
        total = fee.minor
        if charge is not None:
            if charge.currency != fee.currency or charge.minor < 0:
                raise InvalidPlanError(f"expected a finance charge of zero or more in {fee.currency}, got {charge}")
            total += charge.minor
        value = self.installments
        if not value:
            raise InvalidPlanError("expected at least one installment, got none")
        cur = fee.currency
        paid = 0
        previous = self.booked
        keyed = False
        for position, inst in enumerate(value, 1):
            amount = inst.amount
            if inst.number != position:
                raise InvalidPlanError(f"expected installment number {position}, got {inst.number}")
            if amount.currency is not cur and amount.currency != cur:
                raise InvalidPlanError(
                    f"expected installment {position} in {cur.code}, got {amount}"
                )
            minor = amount.minor
            if minor <= 0:
                raise InvalidPlanError(f"expected installment {position} above zero, got {amount}")
            due = inst.due
            if due < previous:
                what = "the booking" if position == 1 else f"installment {position - 1}"
                raise InvalidPlanError(
                    f"installment {position} is due {due.isoformat()}, before {what} "
                    f"({previous.isoformat()}); due dates must not go backwards"
                )
            if inst.kind is _DEPOSIT and position != 1:
                raise InvalidPlanError(f"expected the deposit first, got one at position {position}")
            if inst.key is not None:
                keyed = True
            paid += minor
            previous = due
        if keyed:
            _check_line_ids(value)
        if paid != total:
            raise InvalidPlanError(
                f"installments add up to {_money(paid, cur)}, expected exactly {_money(total, cur)}"
            )
        # previous > self.cutoff, in day numbers: no cutoff date is built unless it is passed.
        session = self.session
        days = self.terms.final_due_days_before
        if previous > session if not days else previous.toordinal() + days > session.toordinal():
            ordinal = session.toordinal() - days
            # final_due_days_before may reach past year 1 (a hand-edited plan file): say so, not OverflowError.
            cutoff = _fromordinal(ordinal).isoformat() if ordinal >= 1 else "before 0001-01-01"
            raise InvalidPlanError(
                f"the last payment is due {previous.isoformat()}, after the cutoff "
                f"{cutoff} ({self.terms.final_due_days_before} days before the session)"
            )
        late_fees = self.terms.late_fees
        if late_fees is not None:
            _check_late_fee_currency(late_fees, cur)

    # -- reading ------------------------------------------------------------

    @property
    def currency(self) -> str:
        """The plan's ISO 4217 currency code."""
        return self.fee.currency.code

    @property
    def total(self) -> Money:
        """Everything the client pays: the fee plus any finance charge."""
        charge = self.finance_charge
        return self.fee if charge is None else self.fee + charge

    @property
    def cutoff(self) -> dt.date:
        """The latest date the last payment may fall due."""
        days = self.terms.final_due_days_before
        return _fromordinal(self.session.toordinal() - days) if days else self.session

    @property
    def deposit(self) -> Installment | None:
        """The deposit line, if the plan has one."""
        first = self.installments[0]
        return first if first.kind is _DEPOSIT else None

    def installment(self, number: int) -> Installment:
        """The installment with *number* (1-based).

        Raises:
            InvalidPlanError: no such installment.
        """
        if type(number) is int and 1 <= number <= len(self.installments):
            return self.installments[number - 1]
        raise InvalidPlanError(
            f"expected an installment number from 1 to {len(self.installments)}, got {number!r}"
        )

    # -- named constructors -------------------------------------------------

    @classmethod
    def with_deposit(
        cls,
        plan_id: str,
        fee: Money,
        *,
        booked: dt.date,
        session: dt.date,
        terms: Terms | None = None,
        deposit: DepositRule | None = None,
        installments: int | None = None,
        dates: DateRule | str | None = None,
        final_due_days_before: int | None = None,
        remainder: Remainder | str | None = None,
        apr: int | Decimal | str | None = None,
        first_due: dt.date | None = None,
        compress: bool | None = None,
        timezone: str = "UTC",
        tier: str | None = None,
        client: str | None = None,
    ) -> PaymentPlan:
        """A deposit due at booking, then *installments* equal payments.

        Pass a whole :class:`Terms`, or its fields one by one (a field given
        here overrides the same field of *terms*). With an *apr* above zero
        the balance is amortized exactly (:func:`amortize`) and the interest
        becomes the plan's :attr:`finance_charge`.

        Reference: Pack A ($2000, 25% or $500 deposit, 3 monthly) booked
        2026-12-01 gives $500 on 2026-12-01, 2027-01-01, 2027-02-01 and
        2027-03-01.

        Raises:
            InvalidPlanError: a term is invalid, the deposit is above the fee,
                or the balance cannot be split into positive parts.
            ScheduleDoesNotFitError: the last installment would fall after
                the cutoff (and *compress* is off), or a financed plan would
                need compressing (its interest is charged per cadence period).
            InvalidPlanError: installments are asked for but the deposit
                takes the whole fee.
        """
        changes: dict[str, Any] = {}
        for name, value in (
            ("deposit", deposit),
            ("installments", installments),
            ("dates", dates),
            ("final_due_days_before", final_due_days_before),
            ("remainder", remainder),
            ("apr", apr),
            ("first_due", first_due),
            ("compress", compress),
        ):
            if value is not None:
                changes[name] = value
        if terms is None:
            terms = Terms(**changes)
        elif changes:
            terms = evolve(terms, **changes)
        return _build_installment_plan(cls, plan_id, fee, terms, booked, session, timezone, tier, client)

    @classmethod
    def pay_in_full(
        cls,
        plan_id: str,
        fee: Money,
        *,
        booked: dt.date,
        session: dt.date,
        due: dt.date | None = None,
        final_due_days_before: int = 0,
        timezone: str = "UTC",
        tier: str | None = None,
        client: str | None = None,
    ) -> PaymentPlan:
        """One payment of the whole fee, due at booking or on *due*.

        Raises:
            ScheduleDoesNotFitError: *due* is after the cutoff.
        """
        terms = Terms(
            deposit=DepositRule.none(),
            installments=1,
            dates=ExplicitDates((due or booked,)),
            final_due_days_before=final_due_days_before,
        )
        dates, _ = fit_dates(
            terms.dates, 1, booked=booked, session=session,
            cutoff=_cutoff(booked, session, final_due_days_before),
        )
        line = _installment(1, InstallmentKind.BALANCE, dates[0], fee)
        return cls(
            plan_id, fee, (line,), booked, session, terms, PlanKind.PAY_IN_FULL,
            None, timezone, tier, client,
        )

    @classmethod
    def progressive(
        cls,
        plan_id: str,
        fee: Money,
        *,
        upfront: DepositRule,
        milestones: Sequence[Milestone],
        booked: dt.date,
        session: dt.date,
        final_due_days_before: int = 0,
        remainder: Remainder | str = Remainder.FIRST,
        timezone: str = "UTC",
        tier: str | None = None,
        client: str | None = None,
    ) -> PaymentPlan:
        """An upfront part, then the rest in milestone parts by percent or amount.

        Each :class:`Milestone` gives its share of what is left after the
        upfront part, either as a *percent* (the percents are weights, split
        exactly with :func:`allocate`) or as a fixed *amount*; fixed amounts
        are taken first and the percents share the rest. The last milestone
        is the balance. Each is due on its *due* date, or *days_before_session*.

        Raises:
            InvalidPlanError: no milestones, a milestone with both or neither
                of percent and amount, amounts above what is left.
            ScheduleDoesNotFitError: a milestone after the cutoff.
        """
        if not milestones:
            raise InvalidPlanError("expected at least one milestone, got none")
        if type(upfront) is not DepositRule or not all(type(m) is Milestone for m in milestones):
            raise InvalidPlanError(
                f"expected upfront as a DepositRule and milestones as Milestone values, got {upfront!r}, {milestones!r}"
            )
        rem = _remainder(remainder)
        cutoff = _cutoff(booked, session, final_due_days_before)
        deposit = upfront.deposit_for(fee)
        left = fee - deposit
        fixed = sum((m.amount.minor for m in milestones if m.amount is not None), 0)
        weighted = [m for m in milestones if m.percent is not None]
        if fixed > left.minor or (fixed == left.minor and weighted):
            raise InvalidPlanError(
                f"milestone amounts add up to {_money(fixed, fee.currency)}, "
                f"more than the {left} left after the upfront part"
            )
        shares = iter(
            allocate(_money(left.minor - fixed, fee.currency), [m.percent for m in weighted], remainder=rem)  # type: ignore[misc]
            if weighted
            else ()
        )
        lines: list[Installment] = []
        if deposit.minor:
            lines.append(_installment(1, _DEPOSIT, booked, deposit, "Upfront"))
        for i, m in enumerate(milestones):
            due, rel = m.date_for(session)
            if due > cutoff:
                from .exceptions import ScheduleDoesNotFitError

                raise ScheduleDoesNotFitError(
                    f"milestone {m.name!r} would fall due {due.isoformat()}, after the latest "
                    f"possible due date {cutoff.isoformat()}",
                    latest_due=cutoff,
                )
            amount = m.amount if m.amount is not None else next(shares)
            kind = InstallmentKind.BALANCE if i == len(milestones) - 1 else InstallmentKind.INSTALLMENT
            lines.append(_installment(len(lines) + 1, kind, due, amount, m.name, rel))
        terms = Terms(
            deposit=upfront,
            installments=len(milestones),
            dates=_milestone_rule(milestones, session),
            final_due_days_before=final_due_days_before,
            remainder=rem,
        )
        return cls(
            plan_id, fee, lines, booked, session, terms, PlanKind.PROGRESSIVE,
            None, timezone, tier, client,
        )

    @classmethod
    def custom(
        cls,
        plan_id: str,
        parts: Sequence[tuple[dt.date, Money]],
        *,
        booked: dt.date,
        session: dt.date,
        first_is_deposit: bool = True,
        final_due_days_before: int = 0,
        timezone: str = "UTC",
        tier: str | None = None,
        client: str | None = None,
    ) -> PaymentPlan:
        """Agreed amounts on agreed dates; the fee is their sum.

        Raises:
            InvalidPlanError: no parts, a part of zero or less, mixed
                currencies, dates out of order.
            ScheduleDoesNotFitError: a part after the cutoff.
        """
        if not parts:
            raise InvalidPlanError("expected at least one (date, amount) part, got none")
        for n, part in enumerate(parts, 1):
            if not (
                isinstance(part, (tuple, list)) and len(part) == 2
                and type(part[0]) is dt.date and type(part[1]) is Money
            ):
                raise InvalidPlanError(f"expected part {n} as a (datetime.date, Money) pair, got {part!r}")
        cur = parts[0][1].currency
        total = 0
        for _, amount in parts:
            if amount.currency != cur:
                raise InvalidPlanError(f"expected every part in {cur.code}, got {amount}")
            total += amount.minor
        fee = _money(total, cur)
        cutoff = _cutoff(booked, session, final_due_days_before)
        last = parts[-1][0]
        if last > cutoff:
            from .exceptions import ScheduleDoesNotFitError

            raise ScheduleDoesNotFitError(
                f"the last part would fall due {last.isoformat()}, after the latest possible "
                f"due date {cutoff.isoformat()}",
                latest_due=cutoff,
            )
        lines = tuple(
            Installment(
                i + 1,
                _DEPOSIT if i == 0 and first_is_deposit and len(parts) > 1 else InstallmentKind.INSTALLMENT,
                due,
                amount,
            )
            for i, (due, amount) in enumerate(parts)
        )
        dated = [due for due, _ in parts[1:]] if first_is_deposit and len(parts) > 1 else [d for d, _ in parts]
        terms = Terms(
            deposit=DepositRule.fixed(parts[0][1]) if first_is_deposit and len(parts) > 1 else DepositRule.none(),
            installments=len(dated),
            dates=ExplicitDates(dated),
            final_due_days_before=final_due_days_before,
        )
        return cls(
            plan_id, fee, lines, booked, session, terms, PlanKind.CUSTOM,
            None, timezone, tier, client,
        )

    @classmethod
    def pay_as_you_go(
        cls,
        plan_id: str,
        price: Money,
        uses: Sequence[dt.date],
        *,
        booked: dt.date,
        timezone: str = "UTC",
        tier: str | None = None,
        client: str | None = None,
    ) -> PaymentPlan:
        """A charge of *price* per use (session, class, visit), each due on its day.

        The plan's session is the last use; add uses with :meth:`add_use`.

        Raises:
            InvalidPlanError: no uses, uses out of order or before the booking,
                a price of zero or less.
        """
        if not uses:
            raise InvalidPlanError("expected at least one use date, got none")
        for d in (booked, *uses):
            if type(d) is not dt.date:
                raise InvalidPlanError(f"expected booked and use dates as datetime.date, got {type(d).__name__} {d!r}")
        if type(price) is not Money or price.minor <= 0:
            raise InvalidPlanError(f"expected a price per use above zero, got {price}")
        lines = tuple(
            _installment(i + 1, InstallmentKind.INSTALLMENT, d, price, f"Use on {d.isoformat()}")
            for i, d in enumerate(uses)
        )
        terms = Terms(deposit=DepositRule.none(), installments=len(uses), dates=ExplicitDates(uses))
        return cls(
            plan_id, price * len(uses), lines, booked, uses[-1], terms,
            PlanKind.PAY_AS_YOU_GO, None, timezone, tier, client,
        )

    def add_use(self, on: dt.date) -> PaymentPlan:
        """A pay-as-you-go plan with one more use charged on *on*.

        Raises:
            InvalidPlanError: not a pay-as-you-go plan, or *on* is before the last use.
        """
        if self.kind is not PlanKind.PAY_AS_YOU_GO:
            raise InvalidPlanError(f"expected a pay-as-you-go plan, got a {self.kind.value} plan")
        price = self.installments[-1].amount
        uses = [i.due for i in self.installments] + [on]
        return evolve(
            PaymentPlan.pay_as_you_go(
                self.id, price, uses, booked=self.booked, timezone=self.timezone,
                tier=self.tier, client=self.client,
            ),
            version=self.version + 1,
        )


def _check_late_fee_currency(policy: LateFeePolicy, cur: Currency) -> None:
    """Every flat late fee and the cap in the plan's currency (a fee of 10.00 EUR on a USD plan is refused)."""
    for number, step in enumerate(policy.steps, 1):
        if step.amount is not None and step.amount.currency != cur:
            raise InvalidPlanError(f"expected late-fee step {number}'s amount in {cur.code}, got {step.amount}")
    policy._check_cap_currency(cur)


def _opt_weight(value: int | Decimal | str | None) -> Decimal | None:
    return None if value is None else to_percent(value, what="a milestone percent")


@frozen
class Milestone:
    """One part of a progressive plan.

    Give exactly one of *percent* (a weight of what is left after the
    upfront part) and *amount*, and exactly one of *due* and
    *days_before_session*.

    .. versionadded:: 0.1.0
    """

    name: str
    percent: Decimal | None = field(default=None, converter=_opt_weight)
    amount: Money | None = None
    due: dt.date | None = None
    days_before_session: int | None = None

    def __attrs_post_init__(self) -> None:
        if (self.percent is None) == (self.amount is None):
            raise InvalidPlanError(
                f"milestone {self.name!r}: expected exactly one of percent and amount"
            )
        if self.percent is not None and self.percent <= 0:
            raise InvalidPlanError(f"milestone {self.name!r}: expected a percent above zero, got {self.percent}")
        if self.amount is not None and (type(self.amount) is not Money or self.amount.minor <= 0):
            raise InvalidPlanError(f"milestone {self.name!r}: expected an amount above zero, got {self.amount!r}")
        if self.due is not None and type(self.due) is not dt.date:
            raise InvalidPlanError(f"milestone {self.name!r}: expected due as a datetime.date, got {self.due!r}")
        days = self.days_before_session
        if days is not None and (type(days) is not int or days < 0):
            raise InvalidPlanError(
                f"milestone {self.name!r}: expected days_before_session as whole days of 0 or more, got {days!r}"
            )
        if (self.due is None) == (self.days_before_session is None):
            raise InvalidPlanError(
                f"milestone {self.name!r}: expected exactly one of due and days_before_session"
            )

    def date_for(self, session: dt.date) -> tuple[dt.date, int | None]:
        """The due date for a session on *session*, and the relative days if any."""
        if self.due is not None:
            return self.due, None
        days = self.days_before_session or 0
        return shift(session, -days, f"milestone {self.name!r} ({days} days before the session)"), days


def _milestone_rule(milestones: Sequence[Milestone], session: dt.date) -> DateRule:
    if all(m.days_before_session is not None for m in milestones):
        return BeforeSession(tuple(m.days_before_session or 0 for m in milestones))
    return ExplicitDates(tuple(m.date_for(session)[0] for m in milestones))


def _cutoff(booked: dt.date, session: dt.date, days_before: int) -> dt.date:
    """The latest due date, *days_before* the session, after checking the types of the three.

    Raises:
        InvalidPlanError: *booked* or *session* is not a ``datetime.date``
            (a ``datetime`` is refused too), or *days_before* is not whole
            days of 0 or more that leave a date on the calendar.
    """
    if type(booked) is not dt.date or type(session) is not dt.date:
        for name, value in (("booked", booked), ("session", session)):
            if type(value) is not dt.date:
                raise InvalidPlanError(f"expected {name} as a datetime.date, got {type(value).__name__} {value!r}")
    if type(days_before) is not int or days_before < 0:
        raise InvalidPlanError(f"expected final_due_days_before as whole days of 0 or more, got {days_before!r}")
    if not days_before:
        return session
    ordinal = session.toordinal() - days_before
    if ordinal < 1:
        raise InvalidPlanError(
            f"expected final_due_days_before of at most {session.toordinal() - 1} days before the session "
            f"{session.isoformat()}, got {days_before}"
        )
    return _fromordinal(ordinal)


def _build_installment_plan(
    cls: type[PaymentPlan],
    plan_id: str,
    fee: Money,
    terms: Terms,
    booked: dt.date,
    session: dt.date,
    timezone: str,
    tier: str | None,
    client: str | None,
) -> PaymentPlan:
    if type(fee) is not Money or fee.minor <= 0:
        raise InvalidPlanError(f"expected a fee above zero, got {fee!r}")
    if type(terms) is not Terms:
        raise InvalidPlanError(f"expected terms as Terms, got {type(terms).__name__} {terms!r}")
    deposit = terms.deposit.deposit_for(fee)  # in the fee's currency, or it raised
    cur = fee.currency
    left = fee.minor - deposit.minor
    count = terms.installments
    if count == 0 and left:
        raise InvalidPlanError(
            f"expected at least one installment for the balance of {_money(left, cur)}, got 0"
        )
    if count and not left:
        raise InvalidPlanError(
            f"the deposit rule ({terms.deposit.describe()}) takes the whole fee of {fee}, which leaves "
            f"nothing for the {count} installment(s) asked for; ask for 0 installments (the deposit is "
            "the whole plan), a smaller deposit, or PaymentPlan.pay_in_full"
        )
    cutoff = _cutoff(booked, session, terms.final_due_days_before)
    if session < booked:
        raise InvalidPlanError(
            f"expected the session on or after the booking {booked.isoformat()}, got {session.isoformat()}"
        )
    if booked > cutoff:
        from .exceptions import ScheduleDoesNotFitError

        raise ScheduleDoesNotFitError(
            f"booked {booked.isoformat()}, after the latest possible due date "
            f"{cutoff.isoformat()}: nothing can fall due in time",
            latest_due=cutoff,
        )
    dates, relative = fit_dates(
        terms.dates, count, booked=booked, session=session, cutoff=cutoff,
        first_due=terms.first_due, compress=terms.compress,
    )
    # One list for the whole schedule, the deposit first: one tuple at the end.
    lines = [_installment(1, _DEPOSIT, booked, deposit, None, None)] if deposit.minor else []
    charge: Money | None = None
    if terms.apr and count:
        rule = terms.dates
        if type(rule) is not Cadence:
            raise InvalidPlanError(
                "expected a regular cadence for a financed plan (the APR needs a period), "
                f"got {type(rule).__name__}"
            )
        first = terms.first_due
        if dates != (rule.series(booked, 1, count) if first is None else rule.series(first, 0, count)):
            from .exceptions import ScheduleDoesNotFitError

            # amortize() charges a whole cadence period of interest per installment:
            # on compressed dates that is interest for time that is not financed.
            raise ScheduleDoesNotFitError(
                f"a financed plan (APR {terms.apr}%) cannot be compressed: its interest is charged per "
                f"{rule.value} period, and {count} installment(s) compressed before the latest possible due "
                f"date {cutoff.isoformat()} would be charged interest for periods that are not financed; "
                "use fewer installments, an earlier start, or no APR",
                latest_due=cutoff,
            )
        balance = _money(left, cur)
        payments = amortize(balance, terms.apr, count, rule.periods_per_year)
        charge = _money(sum(p.minor for p in payments) - left, cur)
        if any(p.minor <= 0 for p in payments):
            raise InvalidPlanError(
                f"a balance of {balance} cannot be financed over {count} positive installment(s)"
            )
        start = len(lines) + 1
        lines += [
            _installment(start + i, InstallmentKind.INSTALLMENT, dates[i], payments[i])
            for i in range(count)
        ]
    else:
        append_even(lines, len(lines) + 1, left, cur, dates, terms.remainder, relative)
    return cls(
        plan_id, fee, lines, booked, session, terms, PlanKind.INSTALLMENTS,
        charge, timezone, tier, client,
    )
