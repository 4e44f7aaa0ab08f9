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
from ._late_fees import late_fee_id
from ._ledger import LateFeeAssessed, Ledger
from ._money import Money, _money
from ._plan import PaymentPlan
from ._policies import ReminderKind, ReminderPolicy
from ._status import InstallmentState, _check_ledger, plan_status

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


def _next_fee(
    plan: PaymentPlan, ledger: Ledger, line: str, due: dt.date, owed: Money, as_of: dt.date
) -> tuple[Money | None, dt.date | None]:
    pol = plan.terms.late_fees
    if pol is None:
        return None, None
    for k, step in enumerate(pol.steps, 1):
        day = days_after(due, pol.applies_on(step))
        if day is None:  # after 9999-12-31: this fee and the ones after it never apply
            return None, None
        if day <= as_of or late_fee_id(plan.id, line, k) in ledger:
            continue
        fee = step.fee_for(owed)
        cap = pol.cap_for(plan.fee)
        if cap is not None:
            fee = _money(max(min(fee.minor, cap.minor - ledger.fees.minor), 0), fee.currency)
        if fee.minor > 0:
            return fee, day
        return None, None
    return None, None


def _fees_charged(plan: PaymentPlan, ledger: Ledger, line: str) -> int:
    """The late fees the ledger holds on the line *line* (its line id), by their stable ids."""
    pol = plan.terms.late_fees
    if pol is None:
        return 0
    total = 0
    for k in range(1, len(pol.steps) + 1):
        entry = ledger.get(late_fee_id(plan.id, line, k))
        if type(entry) is LateFeeAssessed:
            total += entry.amount.minor
    return total


def reminders_due(
    plan: PaymentPlan,
    ledger: Ledger,
    as_of: dt.date,
    *,
    policy: ReminderPolicy | None = None,
    templates: Mapping[str, str] | None = None,
    locale: str = "en_US",
    client: str | None = None,
) -> tuple[Reminder, ...]:
    """The reminders to send on *as_of*.

    One per installment whose due date is one of the policy's offsets away
    from *as_of* and that still has something owed: nothing for paid or
    waived installments, nothing before the booking, nothing once the
    plan is cancelled. Each states what is still owed (so a partial
    payment re-anchors it), the late fees already charged on the
    installment, and, where a late fee will apply, which fee and from
    which day.

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

    .. versionadded:: 0.1.0
    """
    _check_ledger(plan, ledger, as_of, "as_of")
    pol = policy if policy is not None else plan.terms.reminders
    texts = dict(pol.templates)
    if templates:
        texts.update(templates)
    offsets = set(pol.offsets)
    if as_of < plan.booked or ledger.as_of(as_of).cancellation is not None:
        return ()
    status = plan_status(plan, ledger, as_of)
    out: list[Reminder] = []
    for s in status.installments:
        inst = s.installment
        offset = (as_of - inst.due).days
        if offset not in offsets or s.state not in _OPEN or s.outstanding.minor <= 0:
            continue
        kind = pol.kind_for(offset)
        fee, fee_from = _next_fee(plan, ledger, inst.line_id, inst.due, s.outstanding, as_of)
        charged = _fees_charged(plan, ledger, inst.line_id)
        notice = ""
        if charged:
            notice = f" Late fees of {_money(charged, s.outstanding.currency).format(locale)} have been charged on it."
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
    return tuple(out)
