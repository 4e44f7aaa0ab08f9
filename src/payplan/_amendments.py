"""Typed amendments: changes to an agreed plan that keep what was already paid.

Every amendment is a small frozen value (:class:`ExtendDueDate`,
:class:`Resplit`, :class:`HardshipReduction`, :class:`SkipPayment`,
:class:`MoveSession`, :class:`ChangeTier`, :class:`AddAddOn`,
:class:`WaiveFee`). :func:`amend` applies one to a plan and returns the next
plan version with an :class:`AmendmentRecord`; :class:`PlanHistory` keeps the
versions and replays them.

What was paid is read oldest first: the amount paid covers installment 1,
then 2, and so on. Installments it covers in full are *settled* and never
change; an installment it covers in part keeps its paid part. Everything the
client still owes is re-dated or re-split, and always adds up exactly to the
new total minus what was paid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal

from attrs import evolve, field, frozen

from ._calendar import BeforeSession, Cadence, DateRule, ExplicitDates, days_after, shift
from ._ledger import Ledger
from ._money import Money, _money, split
from ._plan import PaymentPlan, PlanKind
from ._schedule import Installment, InstallmentKind, _installment
from ._status import allocate_funds, check_ledger_of
from .exceptions import InvalidPlanError, RuleViolationError

__all__ = [
    "AddAddOn",
    "Amendment",
    "AmendmentRecord",
    "ChangeTier",
    "ExtendDueDate",
    "HardshipReduction",
    "MoveSession",
    "PlanHistory",
    "Resplit",
    "SkipPayment",
    "WaiveFee",
    "amend",
]

_DEPOSIT = InstallmentKind.DEPOSIT
_INSTALLMENT = InstallmentKind.INSTALLMENT


# -- reading what was paid -----------------------------------------------------


@frozen
class _Paid:
    """A schedule cut at what was paid, oldest first."""

    paid: Money
    settled: tuple[Installment, ...]
    partial: Installment | None
    partial_paid: int
    open: tuple[Installment, ...]

    @property
    def unpaid_lines(self) -> tuple[Installment, ...]:
        """The partial line (if any) and the untouched ones after it."""
        return ((self.partial,) if self.partial is not None else ()) + self.open

    @property
    def owed(self) -> int:
        """Minor units still owed under the current schedule."""
        return sum(i.amount.minor for i in self.unpaid_lines) - self.partial_paid


def _cut(plan: PaymentPlan, paid: Money) -> _Paid:
    left = paid.minor
    settled: list[Installment] = []
    lines = plan.installments
    for n, inst in enumerate(lines):
        if left >= inst.amount.minor:
            left -= inst.amount.minor
            settled.append(inst)
            continue
        if left:
            return _Paid(paid, tuple(settled), inst, left, lines[n + 1 :])
        return _Paid(paid, tuple(settled), None, 0, lines[n:])
    return _Paid(paid, tuple(settled), None, 0, ())


def paid_toward(plan: PaymentPlan, ledger: Ledger, on: dt.date) -> Money:
    """What *ledger* has settled of *plan*'s installments by *on*.

    Payments, credits and write-offs allocated to the installments (oldest
    due first); money beyond them (fees, credit) is not counted.

    Raises:
        LedgerError: *ledger* is the ledger of another plan or currency.

    .. versionadded:: 0.1.0
    """
    check_ledger_of(plan, ledger)
    view = ledger.as_of(on)
    if view.total != plan.total.minor:
        view = view.for_plan(plan)
    paid, written, _ = allocate_funds(plan, view)
    return _money(sum(paid) + sum(written), plan.fee.currency)


def _paid_amount(plan: PaymentPlan, paid: Money | Ledger | None, on: dt.date) -> Money:
    cur = plan.fee.currency
    if paid is None:
        return Money.zero(cur)
    if not isinstance(paid, Money):
        if isinstance(paid, Ledger):
            paid = paid_toward(plan, paid, on)
        else:
            raise RuleViolationError(
                f"expected what was paid as Money or a ledger, got {type(paid).__name__}"
            )
    if paid.currency != cur:
        raise RuleViolationError(f"expected what was paid in {cur.code}, got {paid}")
    if paid.minor < 0:
        raise RuleViolationError(f"expected what was paid as zero or more, got {paid}")
    if paid.minor > plan.total.minor:
        raise RuleViolationError(
            f"paid {paid} is more than the plan's total {plan.total}; "
            "settle the overpayment as a credit before amending"
        )
    return paid


# -- shared checks and building ------------------------------------------------


def _iso(d: dt.date) -> str:
    return d.isoformat()


def _check_money_arg(value: object, plan: PaymentPlan, what: str) -> None:
    cur = plan.fee.currency
    if type(value) is not Money:
        raise InvalidPlanError(f"expected {what} as Money in {cur.code}, got {type(value).__name__} {value!r}")
    if value.currency != cur:
        raise InvalidPlanError(f"expected {what} in {cur.code}, got {value}")


def _check_date_arg(value: object, what: str) -> None:
    if type(value) is not dt.date:
        raise InvalidPlanError(f"expected {what} as a datetime.date, got {type(value).__name__} {value!r}")


def _not_before(day: dt.date, on: dt.date, what: str) -> None:
    if day < on:
        raise RuleViolationError(
            f"{what} would be due {_iso(day)}, before the amendment date {_iso(on)}; "
            "an amendment cannot set a due date in the past"
        )


def _within_cutoff(day: dt.date, plan: PaymentPlan, what: str, *, session: dt.date | None = None) -> None:
    sess = plan.session if session is None else session
    cutoff = shift(sess, -plan.terms.final_due_days_before, f"the cutoff before the session {_iso(sess)}")
    if day > cutoff:
        raise RuleViolationError(
            f"{what} would be due {_iso(day)}, after the cutoff {_iso(cutoff)} "
            f"({plan.terms.final_due_days_before} days before the session on {_iso(sess)})"
        )


def _unpaid(plan: PaymentPlan, cut: _Paid, number: int, verb: str) -> Installment:
    """The installment *number*, which must have nothing paid on it."""
    inst = _lookup(plan, number)
    if number <= len(cut.settled):
        raise RuleViolationError(f"installment {number} is already paid; it cannot be {verb}")
    if cut.partial is inst:
        raise RuleViolationError(
            f"installment {number} is partly paid ({_money(cut.partial_paid, plan.fee.currency)} "
            f"of {inst.amount}); it cannot be {verb}, re-split the balance instead"
        )
    return inst


def _lookup(plan: PaymentPlan, number: int) -> Installment:
    if type(number) is not int or not 1 <= number <= len(plan.installments):
        raise RuleViolationError(
            f"expected an installment number from 1 to {len(plan.installments)}, got {number!r}"
        )
    return plan.installments[number - 1]


def _settled_lines(plan: PaymentPlan, cut: _Paid) -> list[Installment]:
    """Settled lines plus the paid part of the partial line, unchanged otherwise."""
    lines = list(cut.settled)
    if cut.partial is not None:
        lines.append(evolve(cut.partial, amount=_money(cut.partial_paid, plan.fee.currency)))
    return lines


def _derived_rule(lines: Sequence[Installment], old: DateRule) -> DateRule:
    rest = [i for i in lines if i.kind is not _DEPOSIT]
    if not rest:
        return old
    days = [i.days_before_session for i in rest]
    if all(d is not None for d in days):
        return BeforeSession(tuple(d for d in days if d is not None))
    return ExplicitDates(tuple(i.due for i in rest))


def _rebuild(
    plan: PaymentPlan,
    lines: Iterable[Installment],
    *,
    fee: Money | None = None,
    session: dt.date | None = None,
    tier: str | None = None,
) -> PaymentPlan:
    """The next version with *lines* renumbered 1..n, built through the constructor.

    Every line keeps its :attr:`~payplan.Installment.line_id` through the
    renumbering; a line the amendment adds (number 0) gets a new one,
    ``v<version>.<k>``, which no earlier line can have had.
    """
    version = plan.version + 1
    added = 0
    numbered_lines: list[Installment] = []
    for n, i in enumerate(lines, 1):
        if i.number == n:
            numbered_lines.append(i)
            continue
        if i.number == 0:
            added += 1
            key = f"v{version}.{added}"
        else:
            key = i.line_id
        numbered_lines.append(_installment(n, i.kind, i.due, i.amount, i.label, i.days_before_session, key))
    numbered = tuple(numbered_lines)
    terms = plan.terms
    old_rest = [i.due for i in plan.installments if i.kind is not _DEPOSIT]
    new_rest = [i.due for i in numbered if i.kind is not _DEPOSIT]
    if old_rest != new_rest:
        terms = evolve(
            terms,
            installments=len(new_rest),
            dates=_derived_rule(numbered, terms.dates),
            first_due=None,
            compress=False,
        )
    kind = plan.kind
    if kind is PlanKind.PAY_IN_FULL and len(numbered) > 1:
        kind = PlanKind.CUSTOM
    try:
        return evolve(
            plan,
            fee=plan.fee if fee is None else fee,
            installments=numbered,
            session=plan.session if session is None else session,
            tier=plan.tier if tier is None else tier,
            terms=terms,
            kind=kind,
            version=version,
        )
    except InvalidPlanError as exc:
        raise RuleViolationError(f"the amended plan would break its terms: {exc}") from None


def _spread(plan: PaymentPlan, minor: int, count: int, what: str) -> tuple[Money, ...]:
    cur = plan.fee.currency
    if count <= 0:
        raise RuleViolationError(f"no installment is left to carry {what} of {_money(minor, cur)}")
    if minor < count:
        raise RuleViolationError(
            f"{_money(minor, cur)} cannot be split into {count} positive payment(s)"
        )
    return split(_money(minor, cur), count, remainder=plan.terms.remainder)


def _ordered(lines: list[Installment], plan: PaymentPlan) -> None:
    previous = plan.booked
    for i in lines:
        if i.due < previous:
            raise RuleViolationError(
                f"the amended schedule would have a payment due {_iso(i.due)} after one due "
                f"{_iso(previous)}; due dates must stay in order"
            )
        previous = i.due


# -- the amendments ------------------------------------------------------------


@frozen
class ExtendDueDate:
    """Give one unpaid installment a later due date.

    The new date must be after the current one, on or before the cutoff, and
    no later than the next installment's date (re-split to move past it).
    An installment dated relative to the session becomes a fixed date.

    Attributes:
        number: The installment (1-based).
        to: The new due date.

    .. versionadded:: 0.1.0
    """

    number: int
    to: dt.date

    def _apply(self, plan: PaymentPlan, cut: _Paid, on: dt.date) -> PaymentPlan:
        _check_date_arg(self.to, "the new due date")
        inst = _lookup(plan, self.number)
        if inst.number <= len(cut.settled):
            raise RuleViolationError(f"installment {self.number} is already paid; its date cannot change")
        if self.to <= inst.due:
            raise RuleViolationError(
                f"expected a due date after {_iso(inst.due)} for installment {self.number}, "
                f"got {_iso(self.to)}; an extension gives more time"
            )
        what = f"installment {self.number}"
        _not_before(self.to, on, what)
        _within_cutoff(self.to, plan, what)
        if self.number < len(plan.installments):
            nxt = plan.installments[self.number]
            if self.to > nxt.due:
                raise RuleViolationError(
                    f"installment {self.number} would be due {_iso(self.to)}, after installment "
                    f"{nxt.number} ({_iso(nxt.due)}); extend to {_iso(nxt.due)} at the latest, "
                    "or re-split the balance"
                )
        lines = list(plan.installments)
        lines[self.number - 1] = evolve(inst, due=self.to, days_before_session=None)
        return _rebuild(plan, lines)


def _as_cadence(value: Cadence | str) -> Cadence:
    return Cadence.parse(value)


def _as_dates(items: Iterable[dt.date] | None) -> tuple[dt.date, ...] | None:
    return None if items is None else tuple(items)


@frozen
class Resplit:
    """Split everything still owed after the deposit over new dates.

    Give either *dates* (one payment per date) or *count* with *first_due*
    (and optionally a *cadence*, monthly by default). Settled installments
    and the paid part of a partly paid one stay as they were; the deposit
    line stays as it is. The new payments add up exactly to what is owed,
    with odd minor units placed by the plan's remainder policy.

    Build one with :meth:`over` or :meth:`into`.

    .. versionadded:: 0.1.0
    """

    dates: tuple[dt.date, ...] | None = field(default=None, converter=_as_dates)
    count: int | None = None
    first_due: dt.date | None = None
    cadence: Cadence = field(default=Cadence.MONTHLY, converter=_as_cadence)

    @classmethod
    def over(cls, dates: Iterable[dt.date]) -> Resplit:
        """One payment on each of *dates*."""
        return cls(dates=tuple(dates))

    @classmethod
    def into(cls, count: int, *, first_due: dt.date, cadence: Cadence | str = Cadence.MONTHLY) -> Resplit:
        """*count* payments from *first_due* on *cadence*."""
        return cls(count=count, first_due=first_due, cadence=Cadence.parse(cadence))

    def new_dates(self) -> tuple[dt.date, ...]:
        """The due dates of the new payments.

        Raises:
            InvalidPlanError: neither or both of *dates* and *count*, or dates out of order.
        """
        if (self.dates is None) == (self.count is None):
            raise InvalidPlanError("expected either dates or count (with first_due) for a re-split, not both")
        if self.dates is not None:
            if not self.dates:
                raise InvalidPlanError("expected at least one date for a re-split, got none")
            for d in self.dates:
                _check_date_arg(d, "a re-split date")
            if list(self.dates) != sorted(self.dates):
                raise InvalidPlanError(
                    f"expected re-split dates in order, got {[_iso(d) for d in self.dates]}"
                )
            return self.dates
        if type(self.count) is not int or self.count < 1:
            raise InvalidPlanError(f"expected a re-split count of 1 or more, got {self.count!r}")
        if self.first_due is None:
            raise InvalidPlanError("expected first_due with a re-split count")
        _check_date_arg(self.first_due, "first_due")
        return self.cadence.dates(self.first_due, self.count)

    def _apply(self, plan: PaymentPlan, cut: _Paid, on: dt.date) -> PaymentPlan:
        dates = self.new_dates()
        dep = plan.deposit
        if dep is not None and not cut.settled:
            # The deposit is not fully paid: it stays a line of its own (paid
            # part and all), and the re-split covers what is owed after it;
            # nothing after an unpaid deposit can have been paid.
            kept = [dep]
            owed = sum(i.amount.minor for i in plan.installments[1:])
        else:
            kept = _settled_lines(plan, cut)
            owed = cut.owed
        if owed == 0:
            raise RuleViolationError("nothing is owed after the deposit: there is nothing to re-split")
        for n, d in enumerate(dates, 1):
            what = f"re-split payment {n}"
            _not_before(d, on, what)
            _within_cutoff(d, plan, what)
        if kept and dates[0] < kept[-1].due:
            raise RuleViolationError(
                f"the first re-split payment would be due {_iso(dates[0])}, before installment "
                f"{kept[-1].number} ({_iso(kept[-1].due)}) that stays; due dates must stay in order"
            )
        parts = _spread(plan, owed, len(dates), "the balance")
        new = [_installment(0, _INSTALLMENT, d, a) for d, a in zip(dates, parts, strict=True)]
        return _rebuild(plan, kept + new)


@frozen
class HardshipReduction:
    """Smaller payments for a while; the difference is paid later, before the cutoff.

    Installments *first* to *first* + *count* - 1 (none of them paid yet) are
    reduced to *amount* each. The difference is spread evenly over the
    installments after the period, or, with *catch_up_on*, due as one
    catch-up payment on that date.

    Attributes:
        first: The first reduced installment (1-based).
        count: How many installments are reduced.
        amount: What each reduced installment becomes (above zero).
        catch_up_on: Optional date of a single catch-up payment.

    .. versionadded:: 0.1.0
    """

    first: int
    count: int
    amount: Money
    catch_up_on: dt.date | None = None

    def _apply(self, plan: PaymentPlan, cut: _Paid, on: dt.date) -> PaymentPlan:
        if type(self.count) is not int or self.count < 1:
            raise InvalidPlanError(f"expected a hardship period of 1 or more installments, got {self.count!r}")
        _lookup(plan, self.first)
        last = self.first + self.count - 1
        _lookup(plan, last)
        cur = plan.fee.currency
        _check_money_arg(self.amount, plan, "the reduced amount")
        if self.amount.minor <= 0:
            raise RuleViolationError(
                f"expected a reduced payment above zero, got {self.amount}; skip the payment instead"
            )
        lines = list(plan.installments)
        diff = 0
        for n in range(self.first, last + 1):
            inst = _unpaid(plan, cut, n, "reduced")
            if inst.kind is _DEPOSIT:
                raise RuleViolationError("the deposit cannot be reduced; a hardship reduction applies to installments")
            if self.amount.minor >= inst.amount.minor:
                raise RuleViolationError(
                    f"installment {n} is {inst.amount}; expected a reduced amount below it, got {self.amount}"
                )
            diff += inst.amount.minor - self.amount.minor
            lines[n - 1] = evolve(inst, amount=self.amount)
        if self.catch_up_on is None:
            after = lines[last:]
            parts = _spread(plan, diff, len(after), "the hardship difference")
            for k, part in enumerate(parts):
                lines[last + k] = evolve(after[k], amount=after[k].amount + part)
            return _rebuild(plan, lines)
        day = self.catch_up_on
        _check_date_arg(day, "catch_up_on")
        what = "the hardship catch-up payment"
        _not_before(day, on, what)
        _within_cutoff(day, plan, what)
        if day < lines[last - 1].due:
            raise RuleViolationError(
                f"{what} would be due {_iso(day)}, before the end of the reduced period "
                f"({_iso(lines[last - 1].due)})"
            )
        at = next((k for k, i in enumerate(lines) if i.due > day), len(lines))
        lines.insert(at, _installment(0, _INSTALLMENT, day, _money(diff, cur), "Hardship catch-up"))
        return _rebuild(plan, lines)


@frozen
class SkipPayment:
    """Skip one unpaid installment; its amount moves to later ones.

    With ``onto="spread"`` (the default) the amount is split evenly over
    every later installment; with ``onto="next"`` it is added to the next
    one. The deposit cannot be skipped, nor the last installment (there is
    nothing after it before the cutoff: extend or re-split instead).

    .. versionadded:: 0.1.0
    """

    number: int
    onto: Literal["spread", "next"] = "spread"

    def _apply(self, plan: PaymentPlan, cut: _Paid, on: dt.date) -> PaymentPlan:
        inst = _unpaid(plan, cut, self.number, "skipped")
        if inst.kind is _DEPOSIT:
            raise RuleViolationError("the deposit cannot be skipped; extend its due date instead")
        if self.onto not in ("spread", "next"):
            raise InvalidPlanError(f"expected onto='spread' or 'next', got {self.onto!r}")
        lines = list(plan.installments)
        after = lines[self.number :]
        if not after:
            raise RuleViolationError(
                f"installment {self.number} is the last one: no later payment can carry its "
                f"{inst.amount} before the cutoff; extend its due date or re-split instead"
            )
        if self.onto == "next":
            after[0] = evolve(after[0], amount=after[0].amount + inst.amount)
        else:
            parts = _spread(plan, inst.amount.minor, len(after), "the skipped payment")
            after = [evolve(a, amount=a.amount + p) for a, p in zip(after, parts, strict=True)]
        return _rebuild(plan, lines[: self.number - 1] + after)


@frozen
class MoveSession:
    """Move the session; unpaid installments dated relative to it move with it.

    Installments set as "N days before the session" that are not yet paid
    keep their N and get a new date; fixed dates stay. The cutoff is checked
    again against the new session date: an unpaid installment that would
    fall after it is refused. Installments already paid keep their amounts;
    one dated after the new cutoff is re-dated to the cutoff (it is paid, so
    the client owes nothing sooner).

    .. versionadded:: 0.1.0
    """

    to: dt.date

    def _apply(self, plan: PaymentPlan, cut: _Paid, on: dt.date) -> PaymentPlan:
        _check_date_arg(self.to, "the new session date")
        if self.to == plan.session:
            raise RuleViolationError(f"the session is already on {_iso(self.to)}")
        cutoff = days_after(self.to, -plan.terms.final_due_days_before) or dt.date.min  # None: before 0001-01-01
        if cutoff < plan.booked:
            raise RuleViolationError(
                f"a session on {_iso(self.to)} puts the cutoff at {_iso(cutoff)} "
                f"({plan.terms.final_due_days_before} days before it), before the booking on "
                f"{_iso(plan.booked)}"
            )
        settled = len(cut.settled)
        lines = []
        for inst in plan.installments:
            days = inst.days_before_session
            if inst.number <= settled:
                if inst.due > cutoff:
                    inst = evolve(inst, due=cutoff)
            elif days is not None:
                due = shift(self.to, -days, f"installment {inst.number} ({days} days before the session)")
                if due != inst.due:
                    _not_before(due, on, f"installment {inst.number} ({days} days before the session)")
                    inst = evolve(inst, due=due)
            lines.append(inst)
        _ordered(lines, plan)
        for inst in lines[settled:]:
            _within_cutoff(inst.due, plan, f"installment {inst.number}", session=self.to)
        return _rebuild(plan, lines, session=self.to)


def _spread_onto_unpaid(plan: PaymentPlan, cut: _Paid, new_owed: int, due: dt.date | None, on: dt.date,
                        label: str) -> list[Installment]:
    """Lines for a new total: settled kept, *new_owed* split evenly over the unpaid dates."""
    cur = plan.fee.currency
    kept = list(cut.settled)
    unpaid = list(cut.unpaid_lines)
    if new_owed == 0:
        return _settled_lines(plan, cut)
    if not unpaid:
        if due is None:
            raise RuleViolationError(
                f"every installment is paid; give a due date for the new {_money(new_owed, cur)}"
            )
        _not_before(due, on, label)
        _within_cutoff(due, plan, label)
        if kept and due < kept[-1].due:
            raise RuleViolationError(
                f"{label} would be due {_iso(due)}, before installment {kept[-1].number} "
                f"({_iso(kept[-1].due)}); due dates must stay in order"
            )
        return [*kept, _installment(0, _INSTALLMENT, due, _money(new_owed, cur), label)]
    paid_part = cut.partial_paid
    parts = _spread(plan, new_owed, len(unpaid), "the new balance")
    out = list(kept)
    for k, (inst, part) in enumerate(zip(unpaid, parts, strict=True)):
        extra = paid_part if k == 0 else 0
        out.append(evolve(inst, amount=_money(part.minor + extra, cur)))
    return out


@frozen
class ChangeTier:
    """Change to another package at a new fee; money already paid is kept.

    What is now owed (the new total minus what was paid) is split evenly
    over the payments not yet made, on their dates. A new fee below what
    was already paid is refused. When everything has been paid and the fee
    goes up, *due* dates the extra payment.

    Attributes:
        tier: The new package's name.
        fee: The new package's fee.
        due: The date of an extra payment, when nothing is left unpaid.

    .. versionadded:: 0.1.0
    """

    tier: str
    fee: Money
    due: dt.date | None = None

    def _apply(self, plan: PaymentPlan, cut: _Paid, on: dt.date) -> PaymentPlan:
        _check_money_arg(self.fee, plan, "the new fee")
        if self.fee.minor <= 0:
            raise InvalidPlanError(f"expected a new fee above zero, got {self.fee}")
        total = self.fee.minor + (plan.finance_charge.minor if plan.finance_charge else 0)
        if total < cut.paid.minor:
            raise RuleViolationError(
                f"the new fee {self.fee} is below what is already paid ({cut.paid}); "
                "refund the difference instead of amending below it"
            )
        lines = _spread_onto_unpaid(plan, cut, total - cut.paid.minor, self.due, on, f"{self.tier} balance")
        return _rebuild(plan, lines, fee=self.fee, tier=self.tier)


@frozen
class AddAddOn:
    """Add an add-on (an extra album, a second location) to the fee.

    The add-on's *amount* is split evenly over the payments not yet made,
    or, with *due*, is one payment of its own on that date.

    .. versionadded:: 0.1.0
    """

    name: str
    amount: Money
    due: dt.date | None = None

    def _apply(self, plan: PaymentPlan, cut: _Paid, on: dt.date) -> PaymentPlan:
        _check_money_arg(self.amount, plan, "the add-on")
        if self.amount.minor <= 0:
            raise InvalidPlanError(f"expected an add-on above zero, got {self.amount}")
        fee = plan.fee + self.amount
        if self.due is None:
            lines = _spread_onto_unpaid(plan, cut, cut.owed + self.amount.minor, None, on, self.name)
            return _rebuild(plan, lines, fee=fee)
        _check_date_arg(self.due, "the add-on's due date")
        _not_before(self.due, on, f"add-on {self.name!r}")
        _within_cutoff(self.due, plan, f"add-on {self.name!r}")
        lines = list(plan.installments)
        if cut.settled and self.due < cut.settled[-1].due:
            raise RuleViolationError(
                f"add-on {self.name!r} would be due {_iso(self.due)}, before installment "
                f"{cut.settled[-1].number} that is already paid"
            )
        partial = cut.partial
        if partial is not None and self.due < partial.due:
            # Inserted before it, the add-on would be paid first from what was
            # paid toward that installment (payments settle the oldest line first).
            raise RuleViolationError(
                f"add-on {self.name!r} would be due {_iso(self.due)}, before installment {partial.number} "
                f"(due {_iso(partial.due)}), which is partly paid "
                f"({_money(cut.partial_paid, plan.fee.currency)} of {partial.amount}); the add-on would take "
                f"over what was paid toward it: date it on or after {_iso(partial.due)}, or leave out its "
                "date to spread it over the payments not yet made"
            )
        settled = len(cut.settled)
        at = next((k for k, i in enumerate(lines) if k >= settled and i.due > self.due), len(lines))
        lines.insert(at, _installment(0, _INSTALLMENT, self.due, self.amount, self.name))
        return _rebuild(plan, lines, fee=fee)


@frozen
class WaiveFee:
    """Waive part of the fee (a goodwill reduction, a fee charged in error).

    The fee goes down by *amount*; what is still owed goes down by the same
    amount, taken from the latest unpaid payments first (a payment brought
    to zero disappears). It cannot waive more than is still owed. Late fees
    assessed in the ledger are waived with a ledger entry, not here.

    Attributes:
        amount: How much of the fee is waived.
        what: What is waived, in words (``"reschedule fee"``).

    .. versionadded:: 0.1.0
    """

    amount: Money
    what: str = "fee"

    def _apply(self, plan: PaymentPlan, cut: _Paid, on: dt.date) -> PaymentPlan:
        cur = plan.fee.currency
        _check_money_arg(self.amount, plan, "the waived amount")
        if self.amount.minor <= 0:
            raise InvalidPlanError(f"expected a waived amount above zero, got {self.amount}")
        owed = cut.owed
        if self.amount.minor > owed:
            raise RuleViolationError(
                f"cannot waive {self.amount}: only {_money(owed, cur)} is still owed, and what is "
                "already paid does not change (refund it instead)"
            )
        if self.amount >= plan.fee:
            raise RuleViolationError(f"cannot waive {self.amount}: the fee is {plan.fee}")
        left = self.amount.minor
        lines = list(plan.installments)
        first_unpaid = len(cut.settled)
        for k in range(len(lines) - 1, first_unpaid - 1, -1):
            if not left:
                break
            inst = lines[k]
            floor = cut.partial_paid if inst is cut.partial else 0
            take = min(left, inst.amount.minor - floor)
            left -= take
            lines[k] = evolve(inst, amount=_money(inst.amount.minor - take, cur))
        kept = [i for i in lines if i.amount.minor > 0]
        return _rebuild(plan, kept, fee=plan.fee - self.amount)


Amendment = (
    ExtendDueDate | Resplit | HardshipReduction | SkipPayment | MoveSession | ChangeTier | AddAddOn | WaiveFee
)
"""Every kind of amendment :func:`amend` accepts."""
_KINDS = (ExtendDueDate, Resplit, HardshipReduction, SkipPayment, MoveSession, ChangeTier, AddAddOn, WaiveFee)


# -- records and history ---------------------------------------------------------


def _as_lines(items: Iterable[Installment]) -> tuple[Installment, ...]:
    return tuple(items)


@frozen
class AmendmentRecord:
    """What changed, who changed it, why, when, and whether the client agreed.

    Attributes:
        plan_id: The plan's id.
        from_version: The version amended.
        to_version: The version it produced.
        amendment: The amendment applied.
        by: Who made the change (a staff member, "client portal").
        reason: Why, in words.
        on: The date of the change.
        consent: Whether the client consented.
        paid: What had been paid when it was applied (kept unchanged).
        before: The schedule before.
        after: The schedule after.

    .. versionadded:: 0.1.0
    """

    plan_id: str
    from_version: int
    to_version: int
    amendment: Amendment
    by: str
    reason: str
    on: dt.date
    consent: bool
    paid: Money
    before: tuple[Installment, ...] = field(converter=_as_lines)
    after: tuple[Installment, ...] = field(converter=_as_lines)

    def describe(self) -> str:
        """The amendment in words, as documents print it."""
        return describe_amendment(self.amendment)


def describe_amendment(a: Amendment) -> str:
    """One sentence saying what *a* does (used by documents).

    .. versionadded:: 0.1.0
    """
    if isinstance(a, ExtendDueDate):
        return f"Installment {a.number} moved to {_iso(a.to)}"
    if isinstance(a, Resplit):
        dates = a.new_dates()
        return f"Balance re-split into {len(dates)} payment(s) from {_iso(dates[0])} to {_iso(dates[-1])}"
    if isinstance(a, HardshipReduction):
        last = a.first + a.count - 1
        where = f"a catch-up payment on {_iso(a.catch_up_on)}" if a.catch_up_on else "the later installments"
        return f"Installments {a.first}-{last} reduced to {a.amount}, the difference moved to {where}"
    if isinstance(a, SkipPayment):
        return f"Installment {a.number} skipped, its amount moved to " + (
            "the next installment" if a.onto == "next" else "the later installments"
        )
    if isinstance(a, MoveSession):
        return f"Session moved to {_iso(a.to)}"
    if isinstance(a, ChangeTier):
        return f"Package changed to {a.tier} at {a.fee}"
    if isinstance(a, AddAddOn):
        return f"Add-on {a.name} ({a.amount}) added"
    return f"{a.amount} of the {a.what} waived"


def _client_pays_more_or_sooner(
    before: Sequence[Installment], after: Sequence[Installment], paid: int
) -> bool:
    """Whether, by some date, the client owes more after the change than before it.

    What is owed by a date is what falls due up to it less what was already
    paid, never below zero: re-dating a paid line asks nothing more.
    """
    days = sorted({i.due for i in before} | {i.due for i in after})
    b = a = 0
    bi = ai = 0
    for d in days:
        while bi < len(before) and before[bi].due <= d:
            b += before[bi].amount.minor
            bi += 1
        while ai < len(after) and after[ai].due <= d:
            a += after[ai].amount.minor
            ai += 1
        if max(a - paid, 0) > max(b - paid, 0):
            return True
    return False


def amend(
    plan: PaymentPlan,
    amendment: Amendment,
    *,
    by: str,
    reason: str,
    on: dt.date,
    consent: bool = False,
    paid: Money | Ledger | None = None,
) -> tuple[PaymentPlan, AmendmentRecord]:
    """Apply *amendment* to *plan*: the next plan version and its record.

    The new plan is built through :class:`PaymentPlan`'s constructor, so every
    invariant holds again, with ``version`` one higher. What was *paid*
    (a :class:`Money`, or the plan's :class:`Ledger`, read as of *on*) is allocated
    oldest first and never changes; the new schedule adds up exactly to the
    new total. A change that makes any amount due sooner or larger than
    before (an upgrade, an add-on, an earlier date) needs *consent*.

    Args:
        plan: The current version.
        amendment: What to change.
        by: Who makes the change.
        reason: Why.
        on: The date of the change; no due date it sets may be earlier.
        consent: Whether the client agreed to the change.
        paid: What the client has paid so far (default nothing).

    Returns:
        The new plan version and the :class:`AmendmentRecord`.

    Raises:
        RuleViolationError: the plan's terms forbid the change (past the
            cutoff, below what is already paid, an installment already paid,
            more or sooner without consent); the message says why.
        InvalidPlanError: the amendment itself is malformed.
        LedgerError: *paid* is the ledger of another plan or currency.

    .. versionadded:: 0.1.0
    """
    if not isinstance(amendment, _KINDS):
        raise InvalidPlanError(f"expected an amendment such as ExtendDueDate, got {type(amendment).__name__}")
    _check_date_arg(on, "the amendment date")
    if on < plan.booked:
        raise RuleViolationError(
            f"expected an amendment dated on or after the booking {_iso(plan.booked)}, got {_iso(on)}"
        )
    if not isinstance(by, str) or not by.strip():
        raise InvalidPlanError(f"expected who made the amendment (by=...), got {by!r}")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidPlanError(f"expected a reason for the amendment, got {reason!r}")
    if type(consent) is not bool:
        raise InvalidPlanError(f"expected consent as True or False, got {consent!r}")
    amount = _paid_amount(plan, paid, on)
    cut = _cut(plan, amount)
    new = amendment._apply(plan, cut, on)
    if not consent and _client_pays_more_or_sooner(plan.installments, new.installments, amount.minor):
        raise RuleViolationError(
            "this change makes a payment larger or due sooner than agreed; "
            "it needs the client's consent (consent=True)"
        )
    record = AmendmentRecord(
        plan.id, plan.version, new.version, amendment, by, reason, on, consent, amount,
        plan.installments, new.installments,
    )
    return new, record


def _as_plans(items: Iterable[PaymentPlan]) -> tuple[PaymentPlan, ...]:
    return tuple(items)


def _as_records(items: Iterable[AmendmentRecord]) -> tuple[AmendmentRecord, ...]:
    return tuple(items)


@frozen
class PlanHistory:
    """A plan's versions and the amendments between them, oldest first.

    ``versions[0]`` is the plan as first agreed; ``records[k]`` made
    ``versions[k + 1]`` from ``versions[k]``. Start one with :meth:`start`
    and add to it with :meth:`apply`, which returns a new history.

    .. versionadded:: 0.1.0
    """

    versions: tuple[PaymentPlan, ...] = field(converter=_as_plans)
    records: tuple[AmendmentRecord, ...] = field(converter=_as_records, factory=tuple)

    @records.validator
    def _chain(self, _: object, value: tuple[AmendmentRecord, ...]) -> None:
        if not self.versions:
            raise InvalidPlanError("expected at least the first plan version, got none")
        if len(value) != len(self.versions) - 1:
            raise InvalidPlanError(
                f"expected one record per amendment ({len(self.versions) - 1}), got {len(value)}"
            )
        for k, rec in enumerate(value):
            a, b = self.versions[k], self.versions[k + 1]
            if (rec.plan_id, rec.from_version, rec.to_version) != (a.id, a.version, b.version):
                raise InvalidPlanError(
                    f"record {k + 1} takes {rec.plan_id} v{rec.from_version} to v{rec.to_version}, "
                    f"expected {a.id} v{a.version} to v{b.version}"
                )

    @classmethod
    def start(cls, plan: PaymentPlan) -> PlanHistory:
        """A history whose only version is *plan*."""
        return cls((plan,), ())

    @property
    def current(self) -> PaymentPlan:
        """The latest version."""
        return self.versions[-1]

    @property
    def original(self) -> PaymentPlan:
        """The plan as first agreed."""
        return self.versions[0]

    def version(self, number: int) -> PaymentPlan:
        """The plan at version *number*.

        Raises:
            InvalidPlanError: no such version.
        """
        for p in self.versions:
            if p.version == number:
                return p
        raise InvalidPlanError(
            f"expected a version from {self.original.version} to {self.current.version}, got {number!r}"
        )

    def apply(
        self,
        amendment: Amendment,
        *,
        by: str,
        reason: str,
        on: dt.date,
        consent: bool = False,
        paid: Money | Ledger | None = None,
    ) -> PlanHistory:
        """This history with *amendment* applied to the current version (see :func:`amend`).

        Raises:
            RuleViolationError: the change is refused, or *on* is before the
                previous amendment's date.
        """
        if self.records and type(on) is dt.date and on < self.records[-1].on:
            raise RuleViolationError(
                f"expected an amendment dated on or after the last one ({_iso(self.records[-1].on)}), "
                f"got {_iso(on)}"
            )
        plan, record = amend(
            self.current, amendment, by=by, reason=reason, on=on, consent=consent, paid=paid
        )
        return PlanHistory((*self.versions, plan), (*self.records, record))

    def replay(self) -> PaymentPlan:
        """Re-apply every recorded amendment to the original plan.

        Returns the plan the records produce, which equals :attr:`current`
        for a history built with :meth:`apply`.

        Raises:
            RuleViolationError: a record no longer applies.
        """
        plan = self.original
        for rec in self.records:
            plan, _ = amend(
                plan, rec.amendment, by=rec.by, reason=rec.reason, on=rec.on,
                consent=rec.consent, paid=rec.paid,
            )
        return plan
