"""Reminders: what to tell a client about an installment, and when.

A pure function of ``(plan, ledger, as_of)``: each reminder has a stable id,
so a site that records the ids it sent never sends one twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from string import Template

from attrs import frozen

from ._calendar import days_after
from ._dunning import FeeHeld, _standing_now, fees_held
from ._late_fees import assess_late_fees
from ._ledger import FeeWaived, LateFeeAssessed, Ledger
from ._money import Money, _money
from ._plan import PaymentPlan
from ._policies import ReminderKind, ReminderPolicy, late_fee_id
from ._status import FeeDue, InstallmentState, PlanDay, _check_ledger, checked_day, day_of

__all__ = ["Reminder", "reminders_due"]

_OPEN = (InstallmentState.OVERDUE, InstallmentState.DUE, InstallmentState.PARTIAL, InstallmentState.UPCOMING)


@frozen
class Reminder:
    """A payment reminder to send on :attr:`date`.

    Attributes:
        id: Stable id: the plan, the installment, the offset from the due
            date and the amount owed. A site that records the ids it sent
            never sends the same reminder twice; a partial payment changes
            what is owed, so the reminders after it restate the new amount
            under new ids.
        plan_id: The plan.
        installment: The installment number.
        kind: Before the due date, on it, overdue, or the final notice.
        date: The day to send it.
        due: The installment's due date.
        owed: What is still owed on the installment.
        offset: Days from the due date (negative: before).
        late_fee: The next late fee that will apply, if any.
        late_fee_from: The day that fee applies from.
        message: The rendered text.
        fee_id: For a reminder about an amount owed that is not an
            installment (see :func:`~payplan.fees_due`), its id; then
            *installment* is the line the late fee was charged on (0 for
            what a cancellation left owed), *due* the day it became owed,
            *offset* the days since, and the message is the ``fee_owed``
            template's.

    .. versionadded:: 0.1.0
    """

    id: str
    plan_id: str
    installment: int
    kind: ReminderKind
    date: dt.date
    due: dt.date
    owed: Money
    offset: int
    late_fee: Money | None
    late_fee_from: dt.date | None
    message: str
    fee_id: str | None = None


def _next_fee(plan: PaymentPlan, pending: Ledger, line: str, due: dt.date, as_of: dt.date) -> tuple[Money | None, dt.date]:
    """The next late fee on the line *line* after *as_of*, exactly as :func:`assess_late_fees` will charge it.

    *pending* is the ledger with the fees due by *as_of* recorded. The fee
    is assessed on the day it applies, as if nothing more were paid, so the
    ladder's basis (``fee_on_fee`` included) and the cap are the ones the
    assessment uses.
    """
    pol = plan.terms.late_fees
    if pol is None:
        return None, as_of
    ids = {late_fee_id(plan.id, line, k) for k in range(1, len(pol.steps) + 1)}
    for k, _, after, _ in pol._ladder:
        day = days_after(due, after.days)
        if day is None:  # after 9999-12-31: this fee and the ones after it never apply
            return None, as_of
        if day <= as_of or late_fee_id(plan.id, line, k) in pending:
            continue
        # Every step of the line that applies that day (steps may share one).
        fees = [f for f in assess_late_fees(plan, pending, day) if f.id in ids and f.on == day]
        if fees:
            return _money(sum(f.amount.minor for f in fees), plan.fee.currency), day
    return None, as_of


def _fees_standing(plan: PaymentPlan, ledger: Ledger, line: str) -> int:
    """The late fees the ledger holds on the line *line* (its line id), less what was waived of them."""
    pol = plan.terms.late_fees
    if pol is None:
        return 0
    ids = {late_fee_id(plan.id, line, k) for k in range(1, len(pol.steps) + 1)}
    total = 0
    for fid in ids:
        entry = ledger.get(fid)
        if type(entry) is LateFeeAssessed:
            total += entry.amount.minor
    if total:
        total -= sum(e.amount.minor for e in ledger if type(e) is FeeWaived and e.fee_id in ids)
    return max(total, 0)


def reminders_due(
    plan: PaymentPlan,
    ledger: Ledger,
    as_of: dt.date,
    *,
    policy: ReminderPolicy | None = None,
    templates: Mapping[str, str] | None = None,
    locale: str = "en_US",
    client: str | None = None,
    charges_fees: bool = True,
    day: PlanDay | None = None,
) -> tuple[Reminder, ...]:
    """The reminders to send on *as_of*.

    One per installment whose due date is one of the policy's offsets away
    from *as_of* and that still has something owed: nothing for paid or
    waived installments, nothing before the booking, nothing once the
    plan is cancelled. Each states what is still owed (so a partial
    payment re-anchors it), the late fees still standing on the
    installment, and, where a late fee will apply, exactly the fee the
    assessment will charge and from which day.

    Money owed that is not an installment (:func:`~payplan.fees_due`: a late
    fee on a line paid since, what a cancellation left owed) gets its own
    reminder on the policy's offsets from the day it became owed (0 and
    after), with its ``fee_id``, once its installment is paid (until then
    the installment's own reminders state its fees).

    A late fee gets a reminder of kind :attr:`~payplan.ReminderKind.FEE_ASSESSED`
    (never "overdue": it is money the client is charged for, when the terms
    say), which says when it will be charged (:func:`~payplan.fees_held`):
    on a day, once every installment is paid, or, with *charges_fees*
    False (no provider that charges fees) or once its retry ladder ended,
    that it is not charged automatically. A late fee waived in full since
    (a waiver dated after *as_of*: a catch-up run for an earlier day) gets
    none: the run will not charge it.

    Args:
        plan: The plan.
        ledger: Its ledger.
        as_of: The day the reminders are sent.
        policy: The cadence (default: the plan's ``terms.reminders``).
        templates: Message templates by kind name, replacing the policy's
            (:class:`string.Template` syntax; see
            :data:`~payplan.DEFAULT_REMINDER_TEMPLATES` for the placeholders).
        locale: The locale money is formatted for.
        client: The client's name for ``$client`` (default: the plan's client id).
        charges_fees: Whether late fees are charged to the client's payment
            method by the daily run (the plan's provider charges fees).
        day: The plan's :class:`~payplan.PlanDay` on *as_of*, if already
            worked out (read instead of deriving the standing again).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       *charges_fees*; late fees get ``fee_assessed`` reminders; *day*.
    """
    _check_ledger(plan, ledger, as_of, "as_of")
    day = checked_day(plan, ledger, as_of, day)
    pol = policy if policy is not None else plan.terms.reminders
    texts = dict(pol.templates)
    if templates:
        texts.update(templates)
    offsets = set(pol.offsets)
    if as_of < plan.booked:
        return ()
    today = day_of(plan, ledger, as_of, day)
    if today.view.cancellation is not None:
        return _fee_reminders(plan, today, pol, texts, locale, client, set(), charges_fees)
    status = today.statement
    pending = ledger
    if plan.terms.late_fees is not None:
        pending = ledger.record_all(assess_late_fees(plan, ledger, as_of, day=today))
    out: list[Reminder] = []
    for s in status.installments:
        inst = s.installment
        offset = (as_of - inst.due).days
        if offset not in offsets or s.status not in _OPEN or s.outstanding.minor <= 0:
            continue
        kind = pol.kind_for(offset)
        fee, fee_day = _next_fee(plan, pending, inst.line_id, inst.due, as_of)
        fee_from = None if fee is None else fee_day
        charged = _fees_standing(plan, ledger, inst.line_id)
        notice = ""
        if charged:
            notice = f" Late fees of {_money(charged, s.outstanding.currency).format(locale)} have been assessed on it."
        if fee is not None and fee_from is not None:
            notice += f" A late fee of {fee.format(locale)} applies from {fee_from.isoformat()} if it is still unpaid."
        values = {
            "plan_id": plan.id,
            "client": client or plan.client or "",
            "installment": str(inst.number),
            "amount": s.outstanding.format(locale),
            "due": inst.due.isoformat(),
            "days": str(abs(offset)),
            "days_text": f"{abs(offset)} day{'' if abs(offset) == 1 else 's'}",
            "fee_notice": notice,
        }
        message = Template(texts[kind.value]).safe_substitute(values)
        rid = f"{plan.id}:reminder:{inst.line_id}:{offset}:{s.outstanding.minor}"
        out.append(
            Reminder(rid, plan.id, inst.number, kind, as_of, inst.due, s.outstanding, offset, fee, fee_from, message)
        )
    # A line still open has its own reminders, which state its fees.
    lines = {s.number for s in status.installments if s.status in _OPEN and s.outstanding.minor > 0}
    return tuple(out) + _fee_reminders(plan, today, pol, texts, locale, client, lines, charges_fees)


def _fee_reminders(
    plan: PaymentPlan,
    today: PlanDay,
    pol: ReminderPolicy,
    texts: Mapping[str, str],
    locale: str,
    client: str | None,
    open_lines: set[int],
    charges_fees: bool,
) -> tuple[Reminder, ...]:
    """Reminders of the amounts owed that are not installments, on the offsets from when each became owed."""
    out: list[Reminder] = []
    offsets = {o for o in pol.offsets if o >= 0}
    held: dict[str, FeeHeld] | None = None
    as_of = today.as_of
    # Fees waived since the day (waivers dated later): the run charges none of it, so no message says it will.
    ledger = today.ledger
    standing = _standing_now(ledger) if ledger.waived.minor > today.view.waived.minor else None
    for fee in today.fees:
        offset = (as_of - fee.on).days
        line = fee.installment or 0
        if offset not in offsets or line in open_lines:
            continue
        if fee.kind == "late_fee":
            if standing is not None and standing.get(fee.id, 0) <= 0:
                continue
            if held is None:
                held = {h.fee_id: h for h in fees_held(plan, today.ledger, as_of, day=today)}
            out.append(_fee_assessed(plan, fee, held.get(fee.id), as_of, offset, texts, locale, client, charges_fees))
            continue
        kind = pol.kind_for(offset)
        if fee.kind != "late_fee":
            what = f"the cancellation ({fee.reason})"
        else:
            what = f"the late fee on installment {line}" if line else "a late fee"
        values = {
            "plan_id": plan.id,
            "client": client or plan.client or "",
            "installment": str(line),
            "amount": fee.outstanding.format(locale),
            "due": fee.on.isoformat(),
            "days": str(offset),
            "days_text": f"{offset} day{'' if offset == 1 else 's'}",
            "fee_notice": "",
            "fee_reason": what,
        }
        message = Template(texts["fee_owed"]).safe_substitute(values)
        rid = f"{plan.id}:reminder:fee:{fee.id}:{offset}:{fee.outstanding.minor}"
        out.append(
            Reminder(
                rid, plan.id, line, kind, as_of, fee.on, fee.outstanding, offset, None, None, message, fee.id
            )
        )
    return tuple(out)


def _fee_assessed(
    plan: PaymentPlan,
    fee: FeeDue,
    held: FeeHeld | None,
    as_of: dt.date,
    offset: int,
    texts: Mapping[str, str],
    locale: str,
    client: str | None,
    charges_fees: bool,
) -> Reminder:
    """The reminder of a late fee still owed: assessed when, and when it will be charged."""
    values = {"charge_on": ""}
    if not charges_fees or (held is not None and not held.automatic):
        when = "fee_charge_manual"
    elif held is None:  # charged today (the run charges before it reminds): it is owed still after a decline
        when, values["charge_on"] = "fee_charge_on", as_of.isoformat()
    elif held.charge_on is not None:
        when, values["charge_on"] = "fee_charge_on", held.charge_on.isoformat()
    else:
        when = "fee_charge_later"
    line = fee.installment or 0
    values.update({
        "plan_id": plan.id,
        "client": client or plan.client or "",
        "installment": str(line),
        "amount": fee.outstanding.format(locale),
        "due": fee.on.isoformat(),
        "days": str(offset),
        "days_text": f"{offset} day{'' if offset == 1 else 's'}",
        "fee_notice": "",
        "fee_reason": f"the late fee on installment {line}" if line else "a late fee",
    })
    values["fee_charge"] = Template(texts[when]).safe_substitute(values)
    message = Template(texts["fee_assessed"]).safe_substitute(values)
    rid = f"{plan.id}:reminder:fee:{fee.id}:{offset}:{fee.outstanding.minor}"
    return Reminder(
        rid, plan.id, line, ReminderKind.FEE_ASSESSED, as_of, fee.on, fee.outstanding, offset, None, None, message,
        fee.id,
    )
