"""The append-only ledger: what happened after the booking, and what it means.

A :class:`Ledger` holds entries (payments, failed attempts, refunds, fees,
waivers, credits, write-offs, a cancellation settlement), each with a stable
id. Recording returns a new ledger; the old one is unchanged. From a plan and
its ledger, :func:`~payplan.plan_status` (in ``_status``) derives the balance
and the status of every installment as of a date.

Performance: recording is O(1) amortized however long the ledger is. A
ledger and the ledger recorded from it share one append-only store (an
insertion-ordered ``dict`` from id to entry); only recording onto a ledger
that is no longer the newest of its line copies that store. Running totals
(paid, refunded, fees, waived, credits, written off) travel with each
ledger, so the balance and the status of a plan never replay the entries.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar, Final, TypeAlias

from attrs import field, frozen

from ._calendar import check_day
from ._money import Currency, Money, _money, to_currency
from .exceptions import LedgerError

if TYPE_CHECKING:
    from ._plan import PaymentPlan

__all__ = [
    "CancellationSettled",
    "CreditApplied",
    "FeeWaived",
    "LateFeeAssessed",
    "Ledger",
    "LedgerEntry",
    "PaymentFailed",
    "PaymentReceived",
    "Refund",
    "WriteOff",
]


# -- entry validators ----------------------------------------------------------


def _check_id(_: object, __: object, value: str) -> None:
    if type(value) is not str or not value or len(value) > 200:
        raise LedgerError(f"expected an entry id of 1 to 200 characters, got {value!r}")


def _check_on(_: object, __: object, value: dt.date) -> None:
    if type(value) is not dt.date:
        raise LedgerError(f"expected the entry date as a datetime.date, got {type(value).__name__} {value!r}")


def _check_bool(_: object, attribute: object, value: bool) -> None:
    if type(value) is not bool:
        raise LedgerError(f"expected {getattr(attribute, 'name', 'a flag')} as True or False, got {value!r}")


def _check_positive(_: object, attribute: object, value: Money) -> None:
    if type(value) is not Money or value.minor <= 0:
        name = getattr(attribute, "name", "amount")
        raise LedgerError(f"expected {name} as Money above zero, got {value!r}")


def _check_opt_installment(_: object, __: object, value: int | None) -> None:
    if value is not None and (type(value) is not int or value < 1):
        raise LedgerError(f"expected an installment number of 1 or more, got {value!r}")


def _check_installment(_: object, __: object, value: int) -> None:
    if type(value) is not int or value < 1:
        raise LedgerError(f"expected an installment number of 1 or more, got {value!r}")


def _check_non_negative(_: object, attribute: object, value: Money) -> None:
    if type(value) is not Money or value.minor < 0:
        name = getattr(attribute, "name", "amount")
        raise LedgerError(f"expected {name} as Money of zero or more, got {value!r}")


def _check_optional_non_negative(instance: object, attribute: object, value: Money | None) -> None:
    if value is not None:
        _check_non_negative(instance, attribute, value)


# -- entries ---------------------------------------------------------------------


@frozen
class PaymentReceived:
    """Money the client paid.

    Attributes:
        id: Stable id (a provider payment id, a bank reference, a row id).
        on: The date the money arrived.
        amount: How much; in the ledger's currency.
        method: How it was paid (``"card"``, ``"bank_transfer"``), if known.
        reference: The provider's payment or charge id, if any.
        fee_id: The late fee (its :class:`LateFeeAssessed` id) this payment
            was taken for, if any: it pays that fee before any installment
            (a fee charged while installments are still owed,
            :class:`~payplan.FeeCollection`); what it brings beyond the fee
            standing counts like any other payment.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       *fee_id*.
    """

    kind: ClassVar[str] = "payment"
    id: str = field(validator=_check_id)
    on: dt.date = field(validator=_check_on)
    amount: Money = field(validator=_check_positive)
    method: str | None = None
    reference: str | None = None
    fee_id: str | None = None


@frozen
class PaymentFailed:
    """A payment attempt that did not go through; no money moved.

    Attributes:
        id: Stable id of the attempt.
        on: The date of the attempt.
        reason: The decline code or message (``"card_declined"``).
        installment: The installment that was being collected, if known.
        amount: What was attempted, if known.
        reference: The provider's charge or invoice id of the attempt, if any:
            the same attempt reported by the provider's answer and by its
            webhook is one failure (see :func:`payplan.providers.held`).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *reference*.
    """

    kind: ClassVar[str] = "payment_failed"
    id: str = field(validator=_check_id)
    on: dt.date = field(validator=_check_on)
    reason: str = ""
    installment: int | None = field(default=None, validator=_check_opt_installment)
    amount: Money | None = None
    reference: str | None = None


@frozen
class Refund:
    """Money paid back to the client; never more than was paid.

    A refund is one of two things, and the caller must say which: build it
    with :meth:`reversal` or :meth:`price_reduction` (or pass
    ``lowers_price=`` by keyword; there is no default):

    * a **reversal** (``lowers_price=False``): the payment is
      undone, so the money is owed again, and an installment it paid
      reopens (and may become overdue);
    * a **price reduction** (``lowers_price=True``): a goodwill refund or a
      discount given back in cash; what the client owes drops by the same
      amount, so nothing reopens and nothing becomes overdue. It counts in
      :attr:`Ledger.refunded` (the cash went back) and in
      :attr:`Ledger.credits` (the discount).

    Refunds made through a provider arrive as reversals (a provider event
    cannot say why the money went back); record a goodwill refund with
    :meth:`price_reduction` yourself.

    Attributes:
        lowers_price: Whether the refund lowers the price (see above).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *lowers_price* is required (keyword-only); ledger documents written
       before it existed load their refunds as reversals.
    """

    kind: ClassVar[str] = "refund"
    id: str = field(validator=_check_id)
    on: dt.date = field(validator=_check_on)
    amount: Money = field(validator=_check_positive)
    reason: str = ""
    reference: str | None = None
    lowers_price: bool = field(kw_only=True, validator=_check_bool)

    @classmethod
    def reversal(
        cls, entry_id: str, on: dt.date, amount: Money, reason: str = "", reference: str | None = None
    ) -> Refund:
        """A refund that undoes a payment: the money is owed again."""
        return cls(entry_id, on, amount, reason, reference, lowers_price=False)

    @classmethod
    def price_reduction(
        cls, entry_id: str, on: dt.date, amount: Money, reason: str = "", reference: str | None = None
    ) -> Refund:
        """A refund that lowers the price (goodwill): what is owed drops, nothing becomes overdue."""
        return cls(entry_id, on, amount, reason, reference, lowers_price=True)


@frozen
class LateFeeAssessed:
    """A late fee charged on one installment.

    Attributes:
        installment: The installment that was late.
        step: The position of the ladder step that charged it (from 1).
        reason: The rule in words (``"5% after 15 days overdue"``).

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "late_fee"
    id: str = field(validator=_check_id)
    on: dt.date = field(validator=_check_on)
    amount: Money = field(validator=_check_positive)
    installment: int = field(default=1, validator=_check_installment)
    step: int = 1
    reason: str = ""


@frozen
class FeeWaived:
    """A fee forgiven, in whole or in part, with the reason.

    Attributes:
        fee_id: The id of the :class:`LateFeeAssessed` waived, if it is one
            fee; when that fee is in the ledger, the waiver may not be more
            than it.
        reason: Why (required by policy: who asked, who agreed).

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "fee_waived"
    id: str = field(validator=_check_id)
    on: dt.date = field(validator=_check_on)
    amount: Money = field(validator=_check_positive)
    reason: str = ""
    fee_id: str | None = None


@frozen
class CreditApplied:
    """A credit or discount that reduces what the client owes.

    Incentives (pay-in-full and early-payment discounts, loyalty, referral
    credit, credit carried over from a cancelled booking) are recorded as
    credits; they count toward the installments like a payment, but can
    never be refunded as cash.

    Attributes:
        reason: What it is for (``"referral credit"``).
        source: A machine-readable tag (``"pay_in_full_discount"``), if any.

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "credit"
    id: str = field(validator=_check_id)
    on: dt.date = field(validator=_check_on)
    amount: Money = field(validator=_check_positive)
    reason: str = ""
    source: str | None = None


@frozen
class WriteOff:
    """Debt the business gives up on.

    With an *installment*, that installment's unpaid amount is forgiven and
    it shows as ``WAIVED``; without one, the amount is forgiven from the
    balance as a whole and the plan shows as ``DEFAULTED``.

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "write_off"
    id: str = field(validator=_check_id)
    on: dt.date = field(validator=_check_on)
    amount: Money = field(validator=_check_positive)
    reason: str = ""
    installment: int | None = field(default=None, validator=_check_opt_installment)


@frozen
class CancellationSettled:
    """The plan was cancelled; what the business keeps replaces the plan's total.

    From this entry on, the plan's charges are *amount* (the retained
    amount) plus *credit* plus *forgiven* plus any fees, instead of the
    plan's total. The
    *refund* is paid back by a separate :class:`Refund` entry; the *credit*
    leaves this plan toward a new session (record it on the new plan's
    ledger as a :class:`CreditApplied`). Once both are recorded, the
    balance is what is still owed under the policy (usually zero).

    Attributes:
        amount: What the business retains under the cancellation policy
            (may be zero).
        refund: What is paid back.
        credit: What is kept as credit toward a new session.
        reason: The window or rule that applied, in words.
        no_show: Whether the client did not show up.
        forgiven: Write-offs recorded before the cancellation. They forgave
            installments the cancellation ends, so they are not money the
            client holds: they are neither refunded nor credited, and this
            amount offsets them so the settled ledger balances. None when
            there were none.

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "cancellation"
    id: str = field(validator=_check_id)
    on: dt.date = field(validator=_check_on)
    amount: Money = field(validator=_check_non_negative)
    refund: Money = field(validator=_check_non_negative)
    credit: Money = field(validator=_check_non_negative)
    reason: str = ""
    no_show: bool = False
    forgiven: Money | None = field(default=None, validator=_check_optional_non_negative)


LedgerEntry: TypeAlias = (
    PaymentReceived
    | PaymentFailed
    | Refund
    | LateFeeAssessed
    | FeeWaived
    | CreditApplied
    | WriteOff
    | CancellationSettled
)
"""Any ledger entry. Each kind has ``id``, ``on`` and a ``kind`` tag.

.. versionadded:: 0.1.0
"""

_ENTRY_TYPES: Final = (
    PaymentReceived,
    PaymentFailed,
    Refund,
    LateFeeAssessed,
    FeeWaived,
    CreditApplied,
    WriteOff,
    CancellationSettled,
)


# -- the ledger --------------------------------------------------------------------


class _Store:
    """The append-only backing store shared by a ledger and its successors.

    ``entries`` is the list of entries in the order recorded and ``index``
    maps each id to its position. A ledger sees the first ``n`` entries, so
    appending never changes what an older ledger sees: iterating a list by
    position tolerates appends from another thread, where iterating a
    ``dict`` raises. Appends happen under ``lock``, so two threads deriving
    versions from one base never both extend the same store.
    """

    __slots__ = ("entries", "index", "lock")

    def __init__(self, entries: list[LedgerEntry] | None = None) -> None:
        self.entries: list[LedgerEntry] = [] if entries is None else entries
        self.index: dict[str, int] = {e.id: k for k, e in enumerate(self.entries)}
        self.lock = threading.Lock()


_NEW = object.__new__
_SET = object.__setattr__


@frozen(eq=False, repr=False)
class Ledger:
    """An immutable, append-only record of one plan's money events.

    Build one with :meth:`empty`, then :meth:`record` entries; each call
    returns a new ledger and leaves this one as it was::

        ledger = Ledger.empty(plan)
        ledger = ledger.record(PaymentReceived("pay-1", dt.date(2026, 12, 1), Money.of("500", "USD")))

    Ids are stable: recording an entry equal to one already recorded under
    the same id returns the same ledger; a different entry under a used id
    raises :class:`~payplan.LedgerError`. So do a refund above what was
    paid (net of earlier refunds), a waiver above the fees still standing,
    an amount in another currency, and a second cancellation.

    Two ledgers are equal when they belong to the same plan (id, currency
    and total) and hold the same *set* of entries, whatever the order they
    were recorded in: webhooks that arrive out of order give equal ledgers.
    :meth:`canonical` lists the entries in that order-free form, sorted by
    ``(on, id)``.

    Recording costs O(1) amortized; :attr:`balance` and the running totals
    are O(1). See the module docstring for how.

    Attributes:
        currency: The currency every amount is in.
        plan_id: The plan this ledger belongs to, if built from a plan.
        total: The plan's total (what is owed before fees), or zero.

    .. versionadded:: 0.1.0
    """

    currency: Currency
    plan_id: str | None
    total: int
    _store: _Store
    _n: int
    _paid: int
    _refunded: int
    _fees: int
    _waived: int
    _credits: int
    _written_off: int
    _failed: int
    _earmarked: int
    _installment_write_offs: tuple[tuple[int, int], ...]
    _cancellation: CancellationSettled | None
    _last_on: dt.date | None

    # -- construction -----------------------------------------------------------

    @classmethod
    def empty(cls, plan_or_currency: PaymentPlan | Currency | str) -> Ledger:
        """A ledger with no entries, for a plan (recommended) or a bare currency.

        A ledger built from a bare currency has a total of zero, so its
        :attr:`balance` counts fees against money received only.

        Raises:
            UnknownCurrencyError: *plan_or_currency* is not a known currency.
        """
        from ._plan import PaymentPlan

        if isinstance(plan_or_currency, PaymentPlan):
            total = plan_or_currency.total
            return _ledger(total.currency, plan_or_currency.id, total.minor, _Store(), 0)
        return _ledger(to_currency(plan_or_currency), None, 0, _Store(), 0)

    def for_plan(self, plan: PaymentPlan) -> Ledger:
        """This ledger's entries against a new version of the plan (an amendment).

        The entries and totals are kept; only the plan's total changes.

        Raises:
            LedgerError: *plan* is another plan or in another currency.
        """
        if plan.fee.currency != self.currency or (self.plan_id is not None and plan.id != self.plan_id):
            raise LedgerError(
                f"expected a version of plan {self.plan_id!r} in {self.currency.code}, "
                f"got plan {plan.id!r} in {plan.currency}"
            )
        new = self._copy()
        _SET(new, "plan_id", plan.id)
        _SET(new, "total", plan.total.minor)
        return new

    # -- reading ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[LedgerEntry]:
        # A list iterator reads by position, so entries appended meanwhile
        # (by this ledger's successors, in any thread) are never seen.
        return itertools.islice(self._store.entries, self._n)

    def __contains__(self, entry_id: object) -> bool:
        return isinstance(entry_id, str) and self.get(entry_id) is not None

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        """Every entry, in the order recorded (O(n): prefer the totals)."""
        return tuple(self)

    def get(self, entry_id: str) -> LedgerEntry | None:
        """The entry recorded under *entry_id*, or None (O(1) on the newest ledger)."""
        store = self._store
        k = store.index.get(entry_id)
        # An older ledger of a line that moved on does not see later entries.
        return None if k is None or k >= self._n else store.entries[k]

    def canonical(self) -> tuple[LedgerEntry, ...]:
        """The entries sorted by ``(on, id)``: the same for any recording order."""
        return tuple(sorted(self, key=_canonical_key))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ledger):
            return NotImplemented
        if (
            self.currency != other.currency
            or self.plan_id != other.plan_id
            or self.total != other.total
            or self._n != other._n
            or self.balance != other.balance
        ):
            return False
        return all(other.get(e.id) == e for e in self)

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<Ledger plan={self.plan_id!r} entries={self._n} "
            f"balance={_money(self._balance(), self.currency)}>"
        )

    def _m(self, minor: int) -> Money:
        return _money(minor, self.currency)

    @property
    def paid(self) -> Money:
        """Every payment received, before refunds."""
        return self._m(self._paid)

    @property
    def refunded(self) -> Money:
        """Every refund."""
        return self._m(self._refunded)

    @property
    def net_paid(self) -> Money:
        """Payments less refunds: the cash the business holds."""
        return self._m(self._paid - self._refunded)

    @property
    def fees(self) -> Money:
        """Every fee assessed, before waivers."""
        return self._m(self._fees)

    @property
    def waived(self) -> Money:
        """Every fee waived."""
        return self._m(self._waived)

    @property
    def credits(self) -> Money:
        """Every credit and discount applied."""
        return self._m(self._credits)

    @property
    def written_off(self) -> Money:
        """Every write-off."""
        return self._m(self._written_off)

    @property
    def failed_attempts(self) -> int:
        """How many payment attempts failed."""
        return self._failed

    @property
    def cancellation(self) -> CancellationSettled | None:
        """The cancellation settlement, once the plan was cancelled."""
        return self._cancellation

    @property
    def last_on(self) -> dt.date | None:
        """The latest entry date, or None for an empty ledger."""
        return self._last_on

    @property
    def charges(self) -> Money:
        """What the client owes in all: the total (or retained amount) plus fees less waivers."""
        return self._m(self._charges())

    @property
    def funds(self) -> Money:
        """What counts toward the charges: net payments, credits and write-offs."""
        return self._m(self._funds())

    @property
    def balance(self) -> Money:
        """What is still owed: charges less funds; negative when the client is in credit."""
        return self._m(self._balance())

    def installment_write_offs(self) -> dict[int, Money]:
        """Write-offs aimed at one installment, by installment number."""
        return {n: self._m(v) for n, v in self._installment_write_offs}

    def _charges(self) -> int:
        cancel = self._cancellation
        # After a cancellation the client owes what was retained, and the
        # credit carried toward a new session leaves this plan.
        if cancel is None:
            base = self.total
        else:
            forgiven = cancel.forgiven
            base = cancel.amount.minor + cancel.credit.minor + (0 if forgiven is None else forgiven.minor)
        return base + self._fees - self._waived

    def _funds(self) -> int:
        return self._paid - self._refunded + self._credits + self._written_off

    def _balance(self) -> int:
        return self._charges() - self._funds()

    # -- recording -----------------------------------------------------------------

    def record(self, entry: LedgerEntry) -> Ledger:
        """A new ledger with *entry* appended (this one is unchanged).

        Recording an entry equal to one already here returns this ledger.

        Raises:
            LedgerError: another entry already has this id; a refund above
                the net amount paid; a waiver above the fees standing; a
                write-off above what is owed; a second cancellation; an
                amount in another currency; not an entry.
        """
        if self._held(entry):
            return self
        new = self._copy()
        new._apply(entry, check=True)
        new._append(entry)
        return new

    def record_all(self, entries: Iterable[LedgerEntry]) -> Ledger:
        """Record each of *entries* in turn (see :meth:`record`), as one new ledger.

        The same as calling :meth:`record` on each entry in order: an entry
        equal to one already here, or earlier in *entries*, is skipped; but
        the batch is added up on one copy of this ledger instead of one per
        entry, so recording *k* entries costs O(k), not O(k) copies.

        Raises:
            LedgerError: one entry is refused; nothing is recorded then
                (this ledger is unchanged, as always).
        """
        new: Ledger | None = None
        try:
            for entry in entries:
                if (self if new is None else new)._held(entry):
                    continue
                if new is None:
                    new = self._copy()
                new._apply(entry, check=True)
                new._append(entry)
        except BaseException:
            if new is not None:
                new._release(self._n)
            raise
        return self if new is None else new

    def _held(self, entry: LedgerEntry) -> bool:
        """Whether *entry* is already here (True), or new (False); raise if it cannot be recorded."""
        try:
            entry_id = entry.id
        except AttributeError:
            entry_id = None
        if type(entry) not in _ENTRY_TYPES or entry_id is None:
            raise LedgerError(f"expected a ledger entry such as PaymentReceived, got {entry!r}")
        existing = self.get(entry_id)
        if existing is None:
            return False
        if existing == entry:
            return True
        raise LedgerError(
            f"entry id {entry_id!r} is already used by {existing!r}; "
            f"expected a new id for {entry!r}"
        )

    def _append(self, entry: LedgerEntry) -> None:
        """Append *entry*, already added up by :meth:`_apply`, to this fresh copy's entries."""
        n = self._n
        store = self._store
        with store.lock:
            # Extend the shared store only while this ledger is its newest
            # version; otherwise (a second version derived from the same
            # base, in this thread or another) take a store of its own.
            shared = len(store.entries) == n
            if shared:
                store.index[entry.id] = n
                store.entries.append(entry)
            else:
                entries = store.entries[:n]
        if not shared:
            entries.append(entry)
            _SET(self, "_store", _Store(entries))
        _SET(self, "_n", n + 1)

    def _release(self, base: int) -> None:
        """Take back what this abandoned copy appended past *base* entries to a store it shares.

        Only while nothing was appended after it, so the ledger it was
        copied from stays the newest of its line (its next record needs no
        copy); the entries past *base* were never visible to any ledger.
        """
        store = self._store
        with store.lock:
            if len(store.entries) == self._n:
                for entry in store.entries[base:]:
                    del store.index[entry.id]
                del store.entries[base:]

    def as_of(self, day: dt.date) -> Ledger:
        """The ledger of exactly the entries dated on or before *day* (O(1) when none is later).

        The entries keep the order they were recorded in, and none is left
        out: this ledger already accepted each of them, so the view only
        adds them up. The same view comes back for any recording order.
        """
        check_day(day, "day")
        last = self._last_on
        if last is None or last <= day:
            return self
        kept = [e for e in self if e.on <= day]
        out = _ledger(self.currency, self.plan_id, self.total, _Store(kept), len(kept))
        for entry in kept:
            out._apply(entry, check=False)
        return out

    def _copy(self) -> Ledger:
        new: Ledger = _NEW(Ledger)
        for set_slot, value in zip(_SLOT_SETTERS, _GET_FIELDS(self), strict=True):
            set_slot(new, value)
        return new

    def _apply(self, entry: LedgerEntry, *, check: bool) -> None:
        """Update the running totals for *entry* on a fresh copy.

        With *check*, raise if the ledger refuses *entry*. Without, only add
        it up: the totals are sums, so they do not depend on the order
        entries are added in (what :meth:`as_of` relies on).
        """
        t = type(entry)
        if not check:
            self._add(t, entry)
            return
        if t is not PaymentFailed:
            amount: Money = entry.amount  # type: ignore[assignment]
            if amount.currency is not self.currency and amount.currency != self.currency:
                raise LedgerError(
                    f"expected {entry.id!r} in the ledger's currency {self.currency.code}, got {amount}"
                )
            minor = amount.minor
        else:
            minor = 0
            attempted = entry.amount
            if attempted is not None and attempted.currency != self.currency:
                raise LedgerError(
                    f"expected {entry.id!r} in the ledger's currency {self.currency.code}, got {attempted}"
                )
        if t is Refund:
            room = self._room(entry.on, _cash)
            if minor > room:
                raise LedgerError(
                    f"refund {entry.id!r} of {entry.amount} on {entry.on.isoformat()} is more than the "
                    f"{self._m(max(room, 0))} paid by then and not refunded at any date since"
                )
        elif t is FeeWaived:
            room = self._room(entry.on, _fees_standing)
            if minor > room:
                raise LedgerError(
                    f"waiver {entry.id!r} of {entry.amount} on {entry.on.isoformat()} is more than the "
                    f"{self._m(max(room, 0))} of fees standing by then"
                )
            fee_id = entry.fee_id  # type: ignore[union-attr]
            fee = None if fee_id is None else self.get(fee_id)
            if fee is not None:
                # Every waiver of this one fee together, not only this one.
                before = sum(
                    e.amount.minor for e in self if type(e) is FeeWaived and e.fee_id == fee_id
                )
                if type(fee) is not LateFeeAssessed or before + minor > fee.amount.minor:
                    raise LedgerError(
                        f"waiver {entry.id!r} of {entry.amount}: expected a late fee of at least that under "
                        f"{fee_id!r}" + (f" beyond the {self._m(before)} already waived on it" if before else "")
                        + f", got {fee!r}"
                    )
        elif t is WriteOff:
            # What was owed on the write-off's own date, whatever was recorded
            # first: a payment dated after it does not make it refused.
            owed = self._balance() if self._last_on is None or entry.on >= self._last_on else (
                self.as_of(entry.on)._balance()
            )
            if minor > owed:
                # Forgiving more than is owed would turn into credit the client never paid for.
                raise LedgerError(
                    f"write-off {entry.id!r} of {entry.amount} is more than the {self._m(max(owed, 0))} "
                    f"owed on {entry.on.isoformat()}"
                )
        elif t is CancellationSettled and self._cancellation is not None:
            raise LedgerError(
                f"the plan was already cancelled by {self._cancellation.id!r}; "
                f"expected no second cancellation, got {entry.id!r}"
            )
        self._add(t, entry)

    def _room(self, day: dt.date, delta: Callable[[LedgerEntry], int]) -> int:
        """The least running sum of *delta*, over the entries dated up to each date from *day* on.

        What an entry dated *day* may take away without the sum going
        negative on any date from then on: O(1) when no entry is later.
        """
        last = self._last_on
        if last is None or day >= last:
            return self._paid - self._refunded if delta is _cash else self._fees - self._waived
        changes: dict[dt.date, int] = {}
        for e in self:
            d = delta(e)
            if d:
                changes[e.on] = changes.get(e.on, 0) + d
        running = sum(v for on, v in changes.items() if on <= day)
        low = running
        for on in sorted(k for k in changes if k > day):
            running += changes[on]
            low = min(low, running)
        return low

    def _add(self, t: type, entry: LedgerEntry) -> None:
        minor = 0 if t is PaymentFailed else entry.amount.minor  # type: ignore[union-attr]
        if t is PaymentReceived:
            _SET(self, "_paid", self._paid + minor)
            if entry.fee_id is not None:  # type: ignore[union-attr]
                _SET(self, "_earmarked", self._earmarked + minor)
        elif t is Refund:
            _SET(self, "_refunded", self._refunded + minor)
            if entry.lowers_price:  # type: ignore[union-attr]
                # The cash went back, and the price came down by as much.
                _SET(self, "_credits", self._credits + minor)
        elif t is LateFeeAssessed:
            _SET(self, "_fees", self._fees + minor)
        elif t is FeeWaived:
            _SET(self, "_waived", self._waived + minor)
        elif t is CreditApplied:
            _SET(self, "_credits", self._credits + minor)
        elif t is WriteOff:
            _SET(self, "_written_off", self._written_off + minor)
            number = entry.installment  # type: ignore[union-attr]
            if number is not None:
                pairs = dict(self._installment_write_offs)
                pairs[number] = pairs.get(number, 0) + minor
                _SET(self, "_installment_write_offs", tuple(sorted(pairs.items())))
        elif t is CancellationSettled:
            _SET(self, "_cancellation", entry)
        else:
            _SET(self, "_failed", self._failed + 1)
        last = self._last_on
        if last is None or entry.on > last:
            _SET(self, "_last_on", entry.on)


def _cash(entry: LedgerEntry) -> int:
    t = type(entry)
    if t is PaymentReceived:
        return entry.amount.minor  # type: ignore[union-attr]
    return -entry.amount.minor if t is Refund else 0  # type: ignore[union-attr]


def _fees_standing(entry: LedgerEntry) -> int:
    t = type(entry)
    if t is LateFeeAssessed:
        return entry.amount.minor  # type: ignore[union-attr]
    return -entry.amount.minor if t is FeeWaived else 0  # type: ignore[union-attr]


_FIELDS: Final = tuple(a.name for a in Ledger.__attrs_attrs__)
# Copying a ledger is the cost of every record(): read all the fields at once
# and write each through its slot's own setter (no name lookup, no frozen
# __setattr__ to go around): half the time of getattr/object.__setattr__.
_GET_FIELDS: Final = operator.attrgetter(*_FIELDS)
_SLOT_SETTERS: Final = tuple(Ledger.__dict__[name].__set__ for name in _FIELDS)


def _ledger(currency: Currency, plan_id: str | None, total: int, store: _Store, n: int) -> Ledger:
    new: Ledger = _NEW(Ledger)
    values = (currency, plan_id, total, store, n, 0, 0, 0, 0, 0, 0, 0, 0, (), None, None)
    for set_slot, value in zip(_SLOT_SETTERS, values, strict=True):
        set_slot(new, value)
    return new


def _canonical_key(entry: LedgerEntry) -> tuple[dt.date, str]:
    return (entry.on, entry.id)
