"""Dunning: which charges are due today, retries of declined ones, and the notices they need.

Pure functions of ``(plan, ledger, as_of)``, like the rest of collections:
no clock, no I/O. :func:`charges_due` says what to charge and under which
attempt number (the provider's idempotency key derives from it), so asking
twice, or after a crash, asks for the same attempts; :func:`dunning_notices`
gives the "your payment failed", "your card expires" and escalation notices,
each with a stable id so a site that records what it sent sends each once.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from string import Template
from types import MappingProxyType
from typing import Final

from attrs import frozen

from ._calendar import check_day
from ._ledger import Ledger, PaymentFailed, PaymentReceived
from ._money import Money, _money
from ._plan import PaymentPlan
from ._policies import FeeCollection
from ._retries import RetryPolicy
from ._status import FeeDue, InstallmentState, PlanDay, check_ledger_of, checked_day, day_of, fees_standing
from .exceptions import InvalidPlanError

__all__ = [
    "DEFAULT_NOTICE_TEMPLATES",
    "ChargeDue",
    "FeeChargeDue",
    "FeeHeld",
    "Notice",
    "NoticeKind",
    "charges_due",
    "dunning_notices",
    "fee_charges_due",
    "fees_held",
]

_OPEN = (InstallmentState.DUE, InstallmentState.OVERDUE)
_FAILED_NOTICE_DAYS = 7


class NoticeKind(enum.Enum):
    """What a dunning notice tells the client.

    .. versionadded:: 0.1.0
    """

    PAYMENT_FAILED = "payment_failed"
    """A charge was declined or needs the client's authentication."""
    CARD_EXPIRING = "card_expiring"
    """The card on file expires before an installment falls due."""
    ESCALATED = "escalated"
    """The retry ladder ended (or the session is too close) with the installment unpaid."""


DEFAULT_NOTICE_TEMPLATES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "payment_failed": (
            "Your payment of $amount for installment $installment (due $due) did not go through: $reason. "
            "We will try again on $next_attempt; please make sure your payment method is up to date."
        ),
        "card_expiring": (
            "The card on file expires on $expires, before installment $installment of $amount is due on $due. "
            "Please update your payment method before then."
        ),
        "escalated": (
            "We could not collect installment $installment of $amount (due $due) after $attempts attempts. "
            "No further automatic attempt will be made: please pay $amount or contact us."
        ),
    }
)
"""The default notice texts (:class:`string.Template` syntax). Placeholders: ``$plan_id``, ``$client``,
``$installment``, ``$amount``, ``$due``, ``$reason`` (the decline in words), ``$reason_code`` (the
provider's code), ``$attempts`` (attempts made), ``$next_attempt`` (the next attempt's day),
``$expires`` (the card's expiry, for ``card_expiring``).
"""

_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "card_declined": "your card was declined",
        "expired_card": "your card has expired",
        "insufficient_funds": "your card has insufficient funds",
        "authentication_required": "your bank asks you to confirm the payment",
        "payment_action_required": "your bank asks you to confirm the payment",
    }
)


def _charge_prefix(plan_id: str, installment: int) -> str:
    return f"{plan_id}:charge:{installment}:a"


def charge_entry_id(plan_id: str, installment: int, attempt: int) -> str:
    """The ledger id of the payment a charge attempt brought in (its failure adds ``:failed``)."""
    return f"{_charge_prefix(plan_id, installment)}{attempt}"


@frozen
class ChargeDue:
    """One charge to attempt today.

    Attributes:
        plan_id: The plan.
        installment: The installment to collect.
        amount: What to collect: what is owed on it, never above the plan's balance.
        attempt: The attempt number (1 for the first; the provider's
            idempotency key derives from it, so asking again asks the same).
        on: The day it became due (the due date, or the retry's day).
        retry: Whether it retries a failed attempt.

    .. versionadded:: 0.1.0
    """

    plan_id: str
    installment: int
    amount: Money
    attempt: int
    on: dt.date
    retry: bool = False

    @property
    def entry_id(self) -> str:
        """The ledger id of the payment this attempt brings in."""
        return charge_entry_id(self.plan_id, self.installment, self.attempt)

    @property
    def failure_id(self) -> str:
        """The ledger id of this attempt's failure."""
        return f"{self.entry_id}:failed"


@frozen
class Notice:
    """A dunning notice to send on :attr:`date`.

    Attributes:
        id: Stable id (plan, kind, installment, attempt or card expiry):
            a site that records the ids it sent sends each notice once.
        plan_id: The plan.
        kind: What it tells.
        date: The day it is sent.
        installment: The installment concerned.
        due: That installment's due date.
        amount: What is owed on it.
        attempts: Charge attempts made on it so far.
        next_attempt: The day of the next automatic attempt, if any.
        message: The rendered text.

    .. versionadded:: 0.1.0
    """

    id: str
    plan_id: str
    kind: NoticeKind
    date: dt.date
    installment: int
    due: dt.date
    amount: Money
    attempts: int
    next_attempt: dt.date | None
    message: str


def _attempts(plan: PaymentPlan, ledger: Ledger) -> tuple[dict[int, list[PaymentFailed]], dict[int, int]]:
    """Failed attempts per installment, in ``(on, id)`` order, and the engine's successful ones."""
    failures: dict[int, list[PaymentFailed]] = {}
    succeeded: dict[int, int] = {}
    prefix = f"{plan.id}:charge:"
    for e in ledger:
        t = type(e)
        if t is PaymentFailed:
            n = e.installment  # type: ignore[union-attr]
            if n is not None:
                failures.setdefault(n, []).append(e)  # type: ignore[arg-type]
        elif t is PaymentReceived and e.id.startswith(prefix):
            n = int(e.id[len(prefix):].split(":", 1)[0])
            succeeded[n] = succeeded.get(n, 0) + 1
    for items in failures.values():
        items.sort(key=lambda f: (f.on, f.id))
    return failures, succeeded


def _check(plan: PaymentPlan, ledger: Ledger, as_of: dt.date, policy: RetryPolicy | None) -> RetryPolicy:
    check_day(as_of, "as_of")
    if type(plan) is not PaymentPlan:
        raise InvalidPlanError(f"expected a PaymentPlan, got {type(plan).__name__} {plan!r}")
    check_ledger_of(plan, ledger)
    pol = plan.terms.retries if policy is None else policy
    if type(pol) is not RetryPolicy:
        raise InvalidPlanError(f"expected a RetryPolicy, got {type(pol).__name__} {pol!r}")
    return pol


def charges_due(
    plan: PaymentPlan, ledger: Ledger, as_of: dt.date, *, policy: RetryPolicy | None = None,
    day: PlanDay | None = None,
) -> tuple[ChargeDue, ...]:
    """The charges to attempt on *as_of*: installments due, and retries of declined ones.

    An installment due on or before *as_of* and still owed is charged
    once (attempt 1); after a failed attempt it is retried on the days of
    the retry ladder (default: the plan's ``terms.retries``), counted from
    its first failure, each retry with the next attempt number. A retry
    day missed (no run that day) is caught up on the next run. Nothing is
    charged on a cancelled plan, past the ladder's end, or for a retry
    fewer than ``stop_days_before`` days before the session. Amounts are
    what is owed on each installment, oldest first, and together never
    above the plan's live balance (fees and credits included).

    *day* is the plan's :class:`~payplan.PlanDay` on *as_of*, if already
    worked out (read instead of deriving the standing again).

    Returns:
        The charges, oldest installment first.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       *day*.
    """
    pol = _check(plan, ledger, as_of, policy)
    day = checked_day(plan, ledger, as_of, day)
    if ledger.cancellation is not None or as_of < plan.booked:
        return ()
    status = day_of(plan, ledger, as_of, day).statement
    room = status.balance.minor
    if room <= 0:
        return ()
    failures, succeeded = _attempts(plan, ledger)
    out: list[ChargeDue] = []
    for s in status.installments:
        if s.status not in _OPEN or s.outstanding.minor <= 0:
            continue
        n = s.number
        fails = failures.get(n, ())
        made = len(fails) + succeeded.get(n, 0)
        if fails:
            when = pol.retry_on(fails[0].on, len(fails))
            if when is None or when > as_of or pol.too_close(as_of, plan.session):
                continue
        else:
            when = s.installment.due
        amount = min(s.outstanding.minor, room)
        if amount <= 0:
            break
        room -= amount
        out.append(ChargeDue(plan.id, n, _money(amount, plan.fee.currency), made + 1, when, bool(fails)))
    return tuple(out)


@frozen
class FeeChargeDue:
    """A fee (a late fee) to charge today, when the terms say (:class:`~payplan.FeeCollection`).

    Attributes:
        plan_id: The plan.
        fee_id: The :class:`~payplan.LateFeeAssessed` entry id.
        amount: What is still owed of it, never above the plan's balance.
        attempt: The attempt number (the provider's idempotency key derives from it).
        retry: Whether it retries a failed attempt.

    .. versionadded:: 0.2.0
    """

    plan_id: str
    fee_id: str
    amount: Money
    attempt: int
    retry: bool = False

    @property
    def entry_id(self) -> str:
        """The ledger id of the payment this attempt brings in."""
        return f"{self.plan_id}:fee-charge:{self.fee_id}:a{self.attempt}"

    @property
    def failure_id(self) -> str:
        """The ledger id of this attempt's failure."""
        return f"{self.entry_id}:failed"


@frozen
class FeeHeld:
    """A late fee owed that is not charged today, and why.

    Attributes:
        plan_id: The plan.
        fee_id: The :class:`~payplan.LateFeeAssessed` entry id.
        amount: What is still owed of it.
        reason: Why it is not charged today, in words ("charged with
            installment 3 on 2027-03-01", "declined; tried again on
            2027-02-04", "the retry ladder ended").
        charge_on: The day it will be charged, where that is known; None
            when it waits on the installments being paid, or will not be
            charged automatically again.
        automatic: Whether it will be charged automatically at all (False
            once its retry ladder ended, or where the caller cannot charge
            fees).

    .. versionadded:: 0.3.0
    """

    plan_id: str
    fee_id: str
    amount: Money
    reason: str
    charge_on: dt.date | None = None
    automatic: bool = True


def fee_charges_due(
    plan: PaymentPlan, ledger: Ledger, as_of: dt.date, *, policy: RetryPolicy | None = None,
    day: PlanDay | None = None,
) -> tuple[FeeChargeDue, ...]:
    """The late fees to charge on *as_of*, at the moment the terms say.

    When a fee is first charged is the late-fee policy's
    :attr:`~payplan.LateFeePolicy.collect`: on the day it is assessed, on
    the due date of the next installment, or once every installment is paid
    (the default). What is owed of each fee is :func:`~payplan.fees_due`'s
    (assessed, less waivers, less what paid it), charged oldest first, each
    under its own attempt number; a declined fee charge is retried on the
    same ladder as an installment (counted from its first failure), never
    fewer than ``stop_days_before`` days before the session. Together never
    above the plan's live balance. Nothing on a cancelled plan. The fees
    owed and not charged today are :func:`fees_held`'s, with why. *day* is
    the plan's :class:`~payplan.PlanDay` on *as_of*, if already worked out.

    A charge takes money now, whatever day it is for: a waiver recorded
    since (dated after *as_of*, as in a catch-up run for an earlier day)
    lowers what is charged by what it waives, though :func:`~payplan.fees_due`
    on *as_of* still counts the fee; a fee waived in full since is neither
    charged nor held.

    .. versionadded:: 0.2.0
    .. versionchanged:: 0.3.0
       Charged when :attr:`~payplan.LateFeePolicy.collect` says (was: once every installment is paid); *day*;
       never what was waived since *as_of*.
    """
    return tuple(c for c in fee_collection(plan, ledger, as_of, policy, day) if isinstance(c, FeeChargeDue))


def fees_held(
    plan: PaymentPlan, ledger: Ledger, as_of: dt.date, *, policy: RetryPolicy | None = None,
    day: PlanDay | None = None,
) -> tuple[FeeHeld, ...]:
    """The late fees owed on *as_of* that :func:`fee_charges_due` does not charge today, each with why.

    A fee waits for the moment the terms say
    (:attr:`~payplan.LateFeePolicy.collect`), for its next retry after a
    decline, or is no longer charged automatically (its retry ladder
    ended, or the session is too close for another attempt). *day* is the
    plan's :class:`~payplan.PlanDay` on *as_of*, if already worked out. A
    fee waived in full since *as_of* (a waiver dated later) is not held: it
    will never be charged (see :func:`fee_charges_due`).

    .. versionadded:: 0.3.0
    """
    return tuple(c for c in fee_collection(plan, ledger, as_of, policy, day) if isinstance(c, FeeHeld))


def fee_collection(
    plan: PaymentPlan, ledger: Ledger, as_of: dt.date, policy: RetryPolicy | None = None, day: PlanDay | None = None
) -> list[FeeChargeDue | FeeHeld]:
    """Every late fee owed on *as_of*: to charge today, or held with why (:func:`fee_charges_due` and :func:`fees_held` at once).

    Less what was waived since *as_of*: a run charges money now.
    """
    pol = _check(plan, ledger, as_of, policy)
    day = checked_day(plan, ledger, as_of, day)
    lf = plan.terms.late_fees
    if ledger.cancellation is not None or as_of < plan.booked or lf is None:
        return []
    # Fees standing on the day, as fees_due counts them: a waiver dated later does not count yet.
    today = day_of(plan, ledger, as_of, day)
    on_day = today.view
    if on_day.fees.minor <= on_day.waived.minor:
        return []
    owed = [f for f in today.fees if f.kind == "late_fee" and f.outstanding.minor > 0]
    if not owed:
        return []
    # A run charges money now: a waiver recorded since, dated after the day (a catch-up run for an
    # earlier day), still lowers what is charged, though the fee stood on the day.
    standing = _standing_now(ledger) if ledger.waived.minor > on_day.waived.minor else None
    status = today.statement
    room = status.balance.minor
    open_lines = [s for s in status.installments if s.outstanding.minor > 0]
    last = plan.installments[-1] if plan.installments else None
    tries: dict[str, list[PaymentFailed]] = {}
    paid: dict[str, int] = {}
    # What the run already collected for each fee (a payment recorded without the fee's id, by
    # payplan 0.2, is allocated oldest first, so the fee would still read as owed).
    taken: dict[str, int] = {}
    prefix = f"{plan.id}:fee-charge:"
    for e in ledger:
        if not e.id.startswith(prefix):
            continue
        fee_id = e.id[len(prefix):].rsplit(":a", 1)[0]
        if type(e) is PaymentFailed:
            tries.setdefault(fee_id, []).append(e)
        elif type(e) is PaymentReceived:
            paid[fee_id] = paid.get(fee_id, 0) + 1
            taken[fee_id] = taken.get(fee_id, 0) + e.amount.minor
    out: list[FeeChargeDue | FeeHeld] = []
    cur = plan.fee.currency
    for f in owed:
        stands = f.amount.minor if standing is None else standing.get(f.id, 0)
        amount = min(f.outstanding.minor, stands - taken.get(f.id, 0))
        if amount <= 0:
            continue
        fails = sorted(tries.get(f.id, ()), key=lambda x: (x.on, x.id))

        def hold(reason: str, on: dt.date | None = None, automatic: bool = True, f: FeeDue = f) -> None:
            out.append(FeeHeld(plan.id, f.id, f.outstanding, reason, on, automatic))

        if fails:
            retry = pol.retry_on(fails[0].on, len(fails))
            if retry is None:
                hold(f"declined {len(fails)} time(s); the retry ladder ended", automatic=False)
                continue
            if pol.too_close(max(retry, as_of), plan.session):
                hold("declined; the session is too close for another attempt", automatic=False)
                continue
            if retry > as_of:
                hold(f"declined; tried again on {retry.isoformat()}", retry)
                continue
        else:
            nxt = None
            if lf.collect is FeeCollection.WITH_NEXT_INSTALLMENT:
                nxt = next((i for i in plan.installments if i.due > f.on), None)
            if nxt is not None:
                if nxt.due > as_of:
                    hold(f"charged with installment {nxt.number} on {nxt.due.isoformat()}", nxt.due)
                    continue
            elif lf.collect is not FeeCollection.AT_ONCE and open_lines:
                # The ledger covers fees with the money left once every installment is paid.
                when = None if last is None or last.due <= as_of else last.due
                hold(
                    "charged once every installment is paid"
                    + (f" (the last is due on {when.isoformat()})" if when is not None else ""),
                    when,
                )
                continue
        amount = min(amount, room)
        if amount <= 0:
            continue
        room -= amount
        attempt = len(fails) + paid.get(f.id, 0) + 1
        out.append(FeeChargeDue(plan.id, f.id, _money(amount, cur), attempt, bool(fails)))
    return out


def _standing_now(ledger: Ledger) -> dict[str, int]:
    """Each late fee of *ledger* less every waiver it holds, whatever the waiver's date, in minor units.

    Waivers count as :func:`~payplan.fees_due` counts them (:func:`fees_standing`).
    """
    return {f.id: standing for f, standing in fees_standing(ledger)}


def _reason(code: str) -> str:
    return _REASONS.get(code, code.replace("_", " ") or "it was declined")


def dunning_notices(
    plan: PaymentPlan,
    ledger: Ledger,
    as_of: dt.date,
    *,
    card_expires: dt.date | None = None,
    policy: RetryPolicy | None = None,
    templates: Mapping[str, str] | None = None,
    locale: str = "en_US",
    client: str | None = None,
    date_format: str = "iso",
    day: PlanDay | None = None,
) -> tuple[Notice, ...]:
    """The dunning notices to send on *as_of*.

    * ``payment_failed``: an open installment's latest attempt failed, the
      ladder has another try, and it is at most 7 days old (until the next
      retry): the amount, the reason in words and the next attempt's day.
      One per failed attempt (the id carries the attempt count).
    * ``escalated``: the ladder ended, or the session is too close for the
      next retry, with the installment unpaid; due for 7 days from the last
      failure. One per installment.
    * ``card_expiring``: *card_expires* (the last day the card works) falls
      before the due date of an open installment; sent from
      ``card_warning_days`` before that installment is due. One per card.

    Args:
        plan: The plan.
        ledger: Its ledger.
        as_of: The day the notices are sent.
        card_expires: The last day the client's saved card works, if known.
        policy: The retry ladder (default: the plan's ``terms.retries``).
        templates: Texts by kind name, replacing :data:`DEFAULT_NOTICE_TEMPLATES`.
        locale: The locale money (and, with ``date_format="long"``, dates) are formatted for.
        client: The client's name for ``$client``.
        date_format: ``"iso"`` (2027-01-31) or a Babel date format (``"long"``).
        day: The plan's :class:`~payplan.PlanDay` on *as_of*, if already
            worked out (read instead of deriving the standing again).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       *day*.
    """
    pol = _check(plan, ledger, as_of, policy)
    day = checked_day(plan, ledger, as_of, day)
    if card_expires is not None:
        check_day(card_expires, "card_expires")
    texts = dict(DEFAULT_NOTICE_TEMPLATES)
    for key, text in (templates or {}).items():
        if key not in texts or not isinstance(text, str):
            raise InvalidPlanError(f"expected notice templates named {sorted(texts)} as text, got {key!r}: {text!r}")
        texts[key] = text
    if ledger.cancellation is not None or as_of < plan.booked:
        return ()
    status = day_of(plan, ledger, as_of, day).statement
    failures, succeeded = _attempts(plan, ledger)

    def day_text(d: dt.date) -> str:
        if date_format == "iso":
            return d.isoformat()
        from babel.dates import format_date

        return str(format_date(d, format=date_format, locale=locale))

    def render(kind: NoticeKind, s_number: int, amount: Money, due: dt.date, **extra: str) -> str:
        values = {
            "plan_id": plan.id,
            "client": client or plan.client or "",
            "installment": str(s_number),
            "amount": amount.format(locale),
            "due": day_text(due),
            **extra,
        }
        return Template(texts[kind.value]).safe_substitute(values)

    out: list[Notice] = []
    for s in status.installments:
        if s.outstanding.minor <= 0 or s.status not in _OPEN:
            continue
        n = s.number
        fails = failures.get(n)
        if not fails:
            continue
        latest = fails[-1]
        attempts = len(fails) + succeeded.get(n, 0)
        nxt = pol.retry_on(fails[0].on, len(fails))
        if nxt is not None and pol.too_close(max(nxt, as_of), plan.session):
            nxt = None
        due = s.installment.due
        if (as_of - latest.on).days > _FAILED_NOTICE_DAYS or latest.on > as_of:
            continue
        if nxt is None:
            nid = f"{plan.id}:notice:escalated:{n}"
            msg = render(NoticeKind.ESCALATED, n, s.outstanding, due, attempts=str(attempts))
            out.append(Notice(nid, plan.id, NoticeKind.ESCALATED, as_of, n, due, s.outstanding, attempts, None, msg))
            continue
        msg = render(
            NoticeKind.PAYMENT_FAILED, n, s.outstanding, due, reason=_reason(latest.reason),
            reason_code=latest.reason, attempts=str(attempts), next_attempt=day_text(nxt),
        )
        nid = f"{plan.id}:notice:payment-failed:{n}:{len(fails)}"
        out.append(Notice(nid, plan.id, NoticeKind.PAYMENT_FAILED, as_of, n, due, s.outstanding, attempts, nxt, msg))
    if card_expires is not None:
        for s in status.installments:
            inst = s.installment
            if s.outstanding.minor <= 0 or s.status in (InstallmentState.WAIVED, InstallmentState.CANCELLED):
                continue
            if inst.due <= card_expires or inst.due < as_of:
                continue
            if as_of < inst.due - dt.timedelta(days=pol.card_warning_days):
                break
            nid = f"{plan.id}:notice:card-expiring:{card_expires.isoformat()}"
            msg = render(NoticeKind.CARD_EXPIRING, inst.number, s.outstanding, inst.due, expires=day_text(card_expires))
            out.append(
                Notice(nid, plan.id, NoticeKind.CARD_EXPIRING, as_of, inst.number, inst.due, s.outstanding, 0, None, msg)
            )
            break
    return tuple(out)
