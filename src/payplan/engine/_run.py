"""The daily run: assess, remind, charge and retry every active plan, exactly once in effect."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence

from attrs import define, field, frozen

from .._calendar import check_day
from .._dunning import (
    ChargeDue,
    FeeChargeDue,
    FeeHeld,
    Notice,
    NoticeKind,
    charges_due,
    dunning_notices,
    fee_collection,
)
from .._late_fees import assess_late_fees
from .._ledger import Ledger, LedgerEntry, PaymentFailed, PaymentReceived
from .._plan import PaymentPlan
from .._reminders import Reminder, reminders_due
from .._status import InstallmentState, PlanDay, PlanStatus, checked_day, day_of
from ..exceptions import DamagedRowError, InvalidPlanError, NotificationError, PayplanError, ProviderError
from ..notify import Contact, Message, Notifier, compose, notice_templates, reminder_templates, templates_for
from ..providers import (
    Capability,
    ChargeStatus,
    Provider,
    ProviderBinding,
    idempotency_key,
)
from ..store import Operation, ReminderRecord, ReminderStatus, Store, StoredPlan, charge_fee, reserved_call

__all__ = ["Action", "PlanFailure", "RESEND_WITHIN", "RunSummary", "finished", "run_due", "run_plan", "stale"]

Contacts = Mapping[str, Contact] | Callable[[PaymentPlan], Contact | None]

RESEND_WITHIN = 7
"""Days after its reservation a message cut short by a crash may still be sent by a later run."""

_OPEN = (InstallmentState.OVERDUE, InstallmentState.DUE, InstallmentState.PARTIAL, InstallmentState.UPCOMING)


@frozen
class Action:
    """One thing the run did (or, in a dry run, would do) to a plan.

    Attributes:
        plan_id: The plan.
        kind: ``fee``, ``reminder``, ``notice``, ``charge``, ``skip``,
            ``held`` (a late fee owed and not charged today) or ``done``.
        detail: In words ("late fee $25.00 on installment 2",
            "charge $500.00 (installment 2, attempt 1): declined",
            "late fee 25.00 USD (plan-1:late-fee:2:1): charged with installment 3 on 2027-03-01").

    .. versionadded:: 0.1.0
    """

    plan_id: str
    kind: str
    detail: str


@frozen
class PlanFailure:
    """A plan the run could not finish, and why (the others went on).

    .. versionadded:: 0.1.0
    """

    plan_id: str
    reason: str


@define
class RunSummary:
    """What one daily run did.

    Attributes:
        as_of: The run's date.
        plans: Active plans seen.
        fees: Late fees recorded.
        reminders: Reminders sent.
        notices: Dunning notices sent (payment failed, card expiring, escalated).
        resent: Messages found reserved but not marked sent (a crash cut
            them short) and sent again, with the same id.
        dropped: Messages a crash cut short on an earlier day that are no
            longer true (the installment was paid since, a retry came
            since, or over a week passed): never sent.
        charges: Charges attempted.
        succeeded: Charges that succeeded.
        declined: Charges declined or awaiting the client's authentication.
        pending: Charges the provider has yet to settle.
        skipped: Charges due that the run did not make (the reason is in
            :attr:`actions`), e.g. a part payment the provider cannot ask for.
        held: Late fees owed that the run did not charge today, each with
            its reason in :attr:`actions` (kind ``held``): the terms charge it
            later (:class:`~payplan.FeeCollection`), a declined fee waits for
            its retry or its retry ladder ended, or the plan's provider
            cannot charge fees (then the site collects it).
        escalated: Installments whose retry ladder ended this run.
        failures: Plans that failed, each with its reason.
        actions: What was done (or would be, in a dry run), in order.
        dry_run: Whether nothing was written, charged or sent.

    .. versionadded:: 0.1.0
    """

    as_of: dt.date
    plans: int = 0
    fees: int = 0
    reminders: int = 0
    notices: int = 0
    resent: int = 0
    dropped: int = 0
    charges: int = 0
    succeeded: int = 0
    declined: int = 0
    pending: int = 0
    skipped: int = 0
    held: int = 0
    escalated: int = 0
    failures: list[PlanFailure] = field(factory=list)
    actions: list[Action] = field(factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """Whether every plan was handled."""
        return not self.failures

    def merge(self, other: RunSummary) -> RunSummary:
        """The two summaries added up (several workers' shares of one day)."""
        out = RunSummary(self.as_of, dry_run=self.dry_run)
        for name in ("plans", "fees", "reminders", "notices", "resent", "dropped", "charges", "succeeded",
                     "declined", "pending", "skipped", "held", "escalated"):
            setattr(out, name, getattr(self, name) + getattr(other, name))
        out.failures = [*self.failures, *other.failures]
        out.actions = [*self.actions, *other.actions]
        return out

    def rows(self) -> list[tuple[str, int]]:
        """The counts as ``(label, number)`` rows, for a summary table."""
        return [
            ("plans seen", self.plans),
            ("late fees recorded", self.fees),
            ("reminders sent", self.reminders),
            ("notices sent", self.notices),
            ("messages resent after a crash", self.resent),
            ("stale messages dropped", self.dropped),
            ("charges attempted", self.charges),
            ("  succeeded", self.succeeded),
            ("  declined", self.declined),
            ("  pending", self.pending),
            ("charges skipped", self.skipped),
            ("late fees held", self.held),
            ("escalated", self.escalated),
            ("plans failed", len(self.failures)),
        ]


class _Outbox:
    """The message sent last and not yet marked sent: marked in the transaction that reserves the next one."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sent: tuple[str, str] | None = None

    def reserve(self, plan_id: str, reminder_id: str, on: dt.date) -> bool:
        if self.sent is None:
            return self.store.reserve_reminder(plan_id, reminder_id, on)
        reserved = self.store.mark_sent_and_reserve(self.sent, plan_id, reminder_id, on)
        self.sent = None  # only once the transaction went through: else it is marked later
        return reserved

    def flush(self) -> None:
        if self.sent is not None:
            self.store.mark_reminder_sent(*self.sent)
            self.sent = None


def _provider_map(providers: Mapping[str, Provider] | Iterable[Provider]) -> dict[str, Provider]:
    if isinstance(providers, Mapping):
        return dict(providers)
    out: dict[str, Provider] = {}
    for p in providers:
        if not isinstance(p, Provider):
            raise InvalidPlanError(f"expected Provider instances, got {type(p).__name__} {p!r}")
        out[p.name] = p
    return out


def _contact_of(contacts: Contacts | None, plan: PaymentPlan) -> Contact | None:
    if contacts is None:
        return None
    if isinstance(contacts, Mapping):
        found = contacts.get(plan.client) if plan.client is not None else None
        return found if found is not None else contacts.get(plan.id)
    return contacts(plan)


def _record(store: Store, plan: PaymentPlan, entries: list[LedgerEntry], dry_run: bool, ledger: Ledger) -> Ledger:
    if not entries:
        return ledger
    if dry_run:
        return ledger.record_all(entries)
    return store.record_entries(plan.id, entries).ledger


def run_plan(
    store: Store,
    stored: StoredPlan,
    providers: Mapping[str, Provider],
    as_of: dt.date,
    notifier: Notifier | None,
    summary: RunSummary,
    *,
    contacts: Contacts | None = None,
    templates: Mapping[str, Mapping[str, str]] | None = None,
    unsent: Sequence[ReminderRecord] = (),
    retire: list[str] | None = None,
    outbox: _Outbox | None = None,
) -> None:
    """Run one plan's day: fees, charges and retries, then reminders and notices; add to *summary*.

    Each step writes before the next reads, so a crash anywhere leaves
    what was done recorded and the rest to the next run: fees are recorded
    by their stable ids, each charge is reserved in the store's operations
    table under its idempotency key before the provider hears of it and
    its outcome recorded right after, and each message is reserved before
    it is sent and marked sent after. *unsent* are the plan's messages
    still reserved but never marked sent (:meth:`Store.reserved_reminders`):
    those of an earlier day are sent again with their id if still true
    (:func:`stale`), else dropped. A plan that needs no more runs is taken
    out of them (:meth:`Store.set_active`), or its id is added to *retire*
    for the caller to take out with the rest of its batch
    (:meth:`Store.deactivate`). With *outbox* (the run's), a message sent is
    marked sent in the transaction that reserves the next one.

    Raises:
        PayplanError: the plan could not be finished (the caller records it
            in :attr:`RunSummary.failures` and goes on).
    """
    plan, ledger = stored.plan, stored.ledger
    dry = summary.dry_run
    actions = summary.actions
    # The plan's standing today, worked out once and read by every step; again only when a step recorded entries.
    day = PlanDay.of(plan, ledger, as_of)

    # 1. late fees
    fees = assess_late_fees(plan, ledger, as_of, day=day)
    if fees:
        ledger = _record(store, plan, list(fees), dry, ledger)
        summary.fees += len(fees)
        for f in fees:
            actions.append(Action(plan.id, "fee", f"late fee {f.amount} on installment {f.installment}"))
        day = _today(day, ledger)

    # 2. charges and retries, where the provider charges on demand and does not autopay;
    #    then the late fees owed, wherever the provider charges fees (whoever collects the
    #    installments), when the terms say; the others are reported held, with why
    target = _Target(store, plan.id, providers)
    due = charges_due(plan, ledger, as_of, day=day)
    if due and any(_on_demand(p) for p in providers.values()):  # else no need to read the plan's bindings
        ledger = _charge(store, plan, ledger, due, target, as_of, summary)
        day = _today(day, ledger)
    fees_owed = False
    if ledger.fees.minor > ledger.waived.minor:
        ledger, fees_owed = _collect_fees(store, plan, day, target, summary)
        day = _today(day, ledger)

    if not dry and finished(plan, ledger, as_of, day=day):
        if retire is None:
            store.set_active(plan.id, False)
        else:
            retire.append(plan.id)  # the caller takes the batch's finished plans out in one transaction
        for record in unsent:  # nothing more is sent to a finished plan
            store.drop_reminder(plan.id, record.reminder_id)
            summary.dropped += 1
        actions.append(Action(plan.id, "done", "out of the daily run: " + (
            "cancelled" if ledger.cancellation is not None else "paid in full, session passed")))
        return

    # 3. reminders and dunning notices, in the client's language, on their channel
    contact = _contact_of(contacts, plan)
    if contact is None:
        return
    texts = templates_for(contact.locale, templates)
    # whether a fee's messages may say when it will be charged (the binding was read if a fee is owed)
    charges_fees = not fees_owed or target.charges_fees()
    items = _messages_due(plan, day, contact, texts, charges_fees)
    due_ids = {item.id for item in items}
    # messages a crash cut short on an earlier day (today's own are sent below, with the same id)
    earlier = [r for r in unsent if r.on < as_of and r.reminder_id not in due_ids]
    box = outbox if outbox is not None else _Outbox(store)
    try:
        if earlier:
            _resend(store, plan, day, contact, texts, notifier, summary, earlier, box, charges_fees)
        if not items:
            return
        status = day.statement
        reserved = {r.reminder_id for r in unsent}
        records: dict[str, ReminderStatus] | None = None
        for item in items:
            message = compose(item, plan, status, contact, texts=texts)
            kind = "notice" if isinstance(item, Notice) else "reminder"
            if dry:
                actions.append(Action(plan.id, kind, f"{message.to}: {message.subject}"))
                continue
            if notifier is None:
                raise NotificationError(f"expected a notifier to send {message.id}, got none")
            if not box.reserve(plan.id, message.id, as_of):
                # reserved before: sent, or cut short by a crash (then sent again, with the same id)
                if message.id not in reserved:
                    if records is None:
                        records = {r.reminder_id: r.status for r in store.reminders(plan.id)}
                    if records.get(message.id) is not ReminderStatus.RESERVED:
                        continue
                summary.resent += 1
            _send(box, notifier, message, item, summary)
    finally:
        if outbox is None:  # a run-wide outbox marks the last message in the run's next transaction
            box.flush()


def _today(day: PlanDay, ledger: Ledger) -> PlanDay:
    """*day*, or the plan's standing that day from *ledger* when a step recorded entries since."""
    return day if ledger is day.ledger else PlanDay.of(day.plan, ledger, day.as_of)


def _messages_due(
    plan: PaymentPlan, today: PlanDay, contact: Contact, texts: Mapping[str, str], charges_fees: bool = True,
) -> list[Reminder | Notice]:
    """The reminders and dunning notices due to *contact* on *today*'s date."""
    ledger, day = today.ledger, today.as_of
    notices = dunning_notices(
        plan, ledger, day, card_expires=contact.card_expires, templates=notice_templates(texts),
        locale=contact.locale, client=contact.name, day=today,
    )
    # a "your payment failed" notice says what a reminder of the same installment would: one message
    dunned = {n.installment for n in notices if n.kind is not NoticeKind.CARD_EXPIRING}
    return [
        *(
            r for r in reminders_due(
                plan, ledger, day, templates=reminder_templates(texts), locale=contact.locale, client=contact.name,
                charges_fees=charges_fees, day=today,
            )
            if r.installment not in dunned
        ),
        *notices,
    ]


def _send(box: _Outbox, notifier: Notifier, message: Message, item: Reminder | Notice, summary: RunSummary) -> None:
    notifier.send(message)
    box.sent = (message.plan_id, message.id)
    if isinstance(item, Notice):
        summary.notices += 1
        summary.escalated += item.kind is NoticeKind.ESCALATED
    else:
        summary.reminders += 1
    kind = "notice" if isinstance(item, Notice) else "reminder"
    summary.actions.append(Action(message.plan_id, kind, f"{message.to}: {message.subject}"))


def _resend(
    store: Store,
    plan: PaymentPlan,
    today: PlanDay,
    contact: Contact,
    texts: Mapping[str, str],
    notifier: Notifier | None,
    summary: RunSummary,
    records: Sequence[ReminderRecord],
    box: _Outbox,
    charges_fees: bool,
) -> None:
    """Send again, once and with the same id, what a crash cut short on an earlier day, if it is still true."""
    ledger, as_of = today.ledger, today.as_of
    for record in records:
        then = PlanDay.of(plan, ledger.as_of(record.on), record.on)
        item = next(
            (i for i in _messages_due(plan, then, contact, texts, charges_fees) if i.id == record.reminder_id),
            None,
        )
        why = "it is no longer due" if item is None else stale(item, plan, ledger, as_of, day=today)
        if summary.dry_run:
            verb = "drop" if why else "resend"
            summary.actions.append(Action(plan.id, "skip" if why else "notice", f"{verb} {record.reminder_id}"))
            continue
        if item is None or why is not None:
            store.drop_reminder(plan.id, record.reminder_id)
            summary.dropped += 1
            summary.actions.append(Action(plan.id, "skip", f"dropped {record.reminder_id}, cut short on "
                                          f"{record.on.isoformat()}: {why}"))
            continue
        if notifier is None:
            raise NotificationError(f"expected a notifier to send {record.reminder_id}, got none")
        message = compose(item, plan, then.statement, contact, texts=texts)
        summary.resent += 1
        box.flush()  # the message before it is marked sent before this one goes
        _send(box, notifier, message, item, summary)


def stale(
    item: Reminder | Notice, plan: PaymentPlan, ledger: Ledger, as_of: dt.date, *, day: PlanDay | None = None
) -> str | None:
    """Why a message composed for ``item.date`` would no longer be true on *as_of*; None if it still is.

    A message a crash cut short is sent by a later run only while it still
    tells the truth: within :data:`RESEND_WITHIN` days, the plan not
    cancelled, what it says is owed still owed (to the cent), a "due in N
    days" reminder or a card warning before that due date, and a "your
    payment failed" notice before the retry it announces (after the retry,
    that attempt's own outcome is the news). *day* is the plan's
    :class:`~payplan.PlanDay` on *as_of*, if already worked out.

    .. versionadded:: 0.2.0
    .. versionchanged:: 0.3.0
       *day*.
    """
    day = checked_day(plan, ledger, as_of, day)
    if (as_of - item.date).days > RESEND_WITHIN:
        return f"more than {RESEND_WITHIN} days old"
    if ledger.cancellation is not None:
        return "the plan was cancelled since"
    today = day_of(plan, ledger, as_of, day)
    if isinstance(item, Reminder) and item.fee_id is not None:
        owed = next((f.outstanding for f in today.fees if f.id == item.fee_id), None)
        return None if owed == item.owed else "the fee was paid or waived since"
    owes = item.owed if isinstance(item, Reminder) else item.amount
    s = today.statement.installment(item.installment)
    if s.status not in _OPEN or s.outstanding != owes:
        return f"installment {item.installment} was paid (or changed) since"
    if isinstance(item, Reminder):
        return "its due date has come" if item.offset < 0 and as_of >= item.due else None
    if item.kind is NoticeKind.CARD_EXPIRING and as_of >= item.due:
        return "its due date has come"
    if item.kind is NoticeKind.PAYMENT_FAILED and item.next_attempt is not None and as_of >= item.next_attempt:
        return "the retry it announces was made since"
    return None


def _on_demand(provider: Provider) -> bool:
    """Whether the run charges *provider*'s installments (it charges on demand and does not autopay)."""
    caps = provider.capabilities
    return Capability.CHARGE_NOW in caps and Capability.AUTOPAY not in caps


class _Target:
    """The plan's provider and binding, read from the store once, when first needed.

    The binding is the plan's current one (saved last, :meth:`Store.current_binding`): a plan moved to
    another provider keeps its old binding, which is never charged. When the current binding's provider
    is not among the run's, nothing is chosen and :attr:`missing` says why.
    """

    def __init__(self, store: Store, plan_id: str, providers: Mapping[str, Provider]) -> None:
        self.store, self.plan_id, self.providers = store, plan_id, providers
        self.read = False
        self.found: tuple[ProviderBinding, Provider] | None = None
        self.missing = "no provider binding"

    def get(self) -> tuple[ProviderBinding, Provider] | None:
        if not self.read:
            if self.providers:  # with no provider in the run, no binding can be used: none is read
                current = self.store.current_binding(self.plan_id)
                if current is not None and current.provider in self.providers:
                    self.found = (current, self.providers[current.provider])
                elif current is not None:
                    self.missing = f"its provider {current.provider} is not in this run"
            self.read = True
        return self.found

    def charges_fees(self) -> bool:
        chosen = self.get()
        return chosen is not None and Capability.CHARGE_FEES in chosen[1].capabilities


def _charge(
    store: Store,
    plan: PaymentPlan,
    ledger: Ledger,
    due: tuple[ChargeDue, ...],
    target: _Target,
    as_of: dt.date,
    summary: RunSummary,
) -> Ledger:
    """Charge the installments due where the plan's provider charges on demand and does not autopay."""
    chosen = target.get()
    if chosen is None or not _on_demand(chosen[1]):
        # the provider charges by itself (its outcomes arrive through the inbox), or cannot be asked to
        return ledger
    binding, provider = chosen
    for c in due:
        line = f"{c.amount} (installment {c.installment}, attempt {c.attempt})"
        if c.amount != plan.installment(c.installment).amount:
            summary.skipped += 1
            summary.actions.append(
                Action(plan.id, "skip", f"charge {line}: part of an installment; {provider.name} charges whole ones")
            )
            continue
        ledger = _charge_one(store, plan, ledger, c, line, binding, provider, as_of, summary)
    return ledger


def _hold(plan: PaymentPlan, fee_id: str, amount: object, reason: str, summary: RunSummary) -> None:
    summary.held += 1
    summary.actions.append(Action(plan.id, "held", f"late fee {amount} ({fee_id}): {reason}"))


def _collect_fees(
    store: Store,
    plan: PaymentPlan,
    today: PlanDay,
    target: _Target,
    summary: RunSummary,
) -> tuple[Ledger, bool]:
    """Charge the late fees the terms say to charge today, wherever the provider charges fees; report the rest held.

    Returns the ledger and whether any late fee was owed.
    """
    ledger, as_of = today.ledger, today.as_of
    owed_today = fee_collection(plan, ledger, as_of, day=today)
    due = tuple(c for c in owed_today if isinstance(c, FeeChargeDue))
    held: tuple[FeeHeld, ...] = tuple(c for c in owed_today if isinstance(c, FeeHeld))
    if not due and not held:
        return ledger, False
    chosen = target.get()
    if chosen is None or Capability.CHARGE_FEES not in chosen[1].capabilities:
        why = target.missing if chosen is None else f"{chosen[1].name} cannot charge fees"
        owed: list[FeeChargeDue | FeeHeld] = [*due, *held]
        for c in owed:
            _hold(plan, c.fee_id, c.amount, f"{why}: collect it another way and record the payment", summary)
        return ledger, True
    binding, provider = chosen
    for h in held:
        _hold(plan, h.fee_id, h.amount, h.reason, summary)
    for c in due:
        line = f"{c.amount} (fee {c.fee_id}, attempt {c.attempt})"
        ledger = _charge_one(store, plan, ledger, c, line, binding, provider, as_of, summary)
    return ledger, True


def _charge_one(
    store: Store,
    plan: PaymentPlan,
    ledger: Ledger,
    c: ChargeDue | FeeChargeDue,
    line: str,
    binding: ProviderBinding,
    provider: Provider,
    as_of: dt.date,
    summary: RunSummary,
) -> Ledger:
    """One charge: reserved under its idempotency key, made, its outcome recorded (in a dry run, only said).

    An installment's key is :func:`~payplan.providers.idempotency_key` of its attempt; a fee's is
    :func:`~payplan.providers.fee_key` (:func:`payplan.store.charge_fee` reserves it).
    """
    if summary.dry_run:
        summary.actions.append(Action(plan.id, "charge", f"charge {line} through {provider.name}"))
        return ledger
    summary.charges += 1
    try:
        if isinstance(c, FeeChargeDue):  # reserved under fee_key, as payplan.store.charge_fee reserves it
            installment = None
            outcome = charge_fee(
                store, provider, binding, plan, c.fee_id, c.amount, description=f"late fee {c.fee_id}",
                attempt=c.attempt,
            )
        else:
            installment = c.installment
            key = idempotency_key(plan, "charge", installment=c.installment, attempt=c.attempt)
            op = Operation(key, provider.name, plan.id, "charge", installment=installment, attempt=c.attempt,
                           amount=c.amount)
            outcome = reserved_call(store, op, lambda: provider.charge(binding, plan, c.installment, attempt=c.attempt))
    except ProviderError as exc:
        raise ProviderError(
            f"charge {line} through {provider.name}: {exc}", provider=provider.name, retryable=exc.retryable
        ) from exc
    entry: LedgerEntry | None
    if outcome.status is ChargeStatus.SUCCEEDED:
        summary.succeeded += 1
        entry = PaymentReceived(
            c.entry_id, as_of, c.amount, provider.name, outcome.reference,
            fee_id=c.fee_id if isinstance(c, FeeChargeDue) else None,
        )
    elif outcome.status is ChargeStatus.PENDING:
        summary.pending += 1
        entry = None
    else:
        summary.declined += 1
        entry = PaymentFailed(
            c.failure_id, as_of, outcome.decline_code or outcome.status.value, installment, c.amount,
            outcome.reference,
        )
    summary.actions.append(Action(plan.id, "charge", f"charge {line}: {outcome.status.value}"))
    if entry is not None:
        ledger = store.record_entries(plan.id, [entry]).ledger
    return ledger


def run_due(
    store: Store,
    providers: Mapping[str, Provider] | Iterable[Provider],
    as_of: dt.date,
    notifier: Notifier | None = None,
    *,
    contacts: Contacts | None = None,
    templates: Mapping[str, Mapping[str, str]] | None = None,
    shard: int = 0,
    shards: int = 1,
    batch_size: int = 500,
    dry_run: bool = False,
    progress: Callable[[StoredPlan], None] | None = None,
    claim: bool = False,
    worker: str | None = None,
    lease: dt.timedelta = dt.timedelta(minutes=15),
) -> RunSummary:
    """Run the day *as_of* for every active plan in *store* (or one shard of them).

    For each plan, in one pass over the store in batches: record the late
    fees due; charge what is due where the plan's provider charges on
    demand and does not autopay (installments, and retries of declined
    ones on the plan's retry ladder), never above the live balance, each
    attempt reserved under its own idempotency key and its outcome
    recorded; charge the late fees owed through
    :meth:`~payplan.providers.Provider.charge_fee` wherever the provider
    declares :attr:`~payplan.providers.Capability.CHARGE_FEES`, whoever
    collects the installments, when the terms say
    (:attr:`~payplan.LateFeePolicy.collect`), and report every fee owed
    and not charged as held with its reason (:attr:`RunSummary.held`); then
    send the reminders and dunning notices due through *notifier*, each
    recorded before it is sent and marked sent after. The installments of
    providers that autopay are not charged: their outcomes arrive through
    the webhook inbox (:func:`payplan.store.receive_webhook`).

    Running it again for the same date, or after a crash halfway, adds
    nothing twice: no second fee (stable ids), no second charge (the same
    attempt number, so the same idempotency key, and the operations
    table), no second message (the reminders table); a message reserved
    but never marked sent is sent again with the same ``Message-ID``, by
    the rerun of its day or by the next run of a later day while it is
    still true (:func:`stale`; otherwise it is dropped, never sent).

    Several workers can run the same day together. With *claim*, each
    takes batches of plans no other worker took for *as_of*
    (:meth:`Store.claim_plans`: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL)
    and marks them finished batch by batch, so every plan is run once per
    date however many workers overlap; a worker that dies holds its
    unfinished plans for *lease*, after which the next run of that date
    takes them over. Plans that failed are given back at the end, so the
    next run retries them. Without *claim*, *shard*/*shards* split the
    plans by a hash of their id (the two combine: claims within a shard).

    A plan that fails (a provider error, a refused message, a stored row
    that is damaged: :class:`~payplan.DamagedRowError`) is named in
    :attr:`RunSummary.failures` with its reason and the run goes on.

    Args:
        store: Where the plans live.
        providers: The providers by name (or a list of them); a plan is
            charged through the one its stored binding names.
        as_of: The day to run.
        notifier: Sends the messages (see :mod:`payplan.notify`); needed as
            soon as a plan with a contact has a message due.
        contacts: Who each plan's client is (a mapping from client id, or
            plan id, to :class:`~payplan.notify.Contact`, or a function of
            the plan); plans without a contact get no message.
        templates: Message template overrides by language.
        shard: Which share of the plans this worker takes (0 to *shards* - 1).
        shards: How many workers share the day.
        batch_size: Plans read from the store at a time.
        dry_run: Say what would be done (:attr:`RunSummary.actions`) and
            change nothing: no write, no charge, no message.
        progress: Called after each plan (for a progress bar).
        claim: Take the plans by claims in the store (several workers on
            one date); ignored in a dry run, which writes nothing.
        worker: This worker's name in the claims (default: host, process
            id and a random suffix: unique per run).
        lease: How long a claim holds before another run may take the
            plan over (a worker that died).

    Raises:
        InvalidPlanError: a bad date, shard, batch size or lease.

    .. versionadded:: 0.1.0
    """
    check_day(as_of, "as_of")
    if type(shards) is not int or type(shard) is not int or shards < 1 or not 0 <= shard < shards:
        raise InvalidPlanError(f"expected a shard K of N workers with 0 <= K < N, got {shard!r} of {shards!r}")
    if type(batch_size) is not int or batch_size < 1:
        raise InvalidPlanError(f"expected a batch size of 1 or more, got {batch_size!r}")
    if not isinstance(lease, dt.timedelta) or lease < dt.timedelta(0):
        raise InvalidPlanError(f"expected a lease as a timedelta of 0 or more, got {lease!r}")
    if worker is not None and (not isinstance(worker, str) or not 0 < len(worker) <= 255):
        raise InvalidPlanError(f"expected a worker name of 1 to 255 characters, got {worker!r}")
    by_name = _provider_map(providers)
    summary = RunSummary(as_of, dry_run=dry_run)
    unsent: dict[str, list[ReminderRecord]] = {}
    for record in store.reserved_reminders():
        unsent.setdefault(record.plan_id, []).append(record)

    outbox = _Outbox(store)

    def one(stored: StoredPlan, retire: list[str]) -> bool:
        summary.plans += 1
        ok = True
        try:
            run_plan(
                store, stored, by_name, as_of, notifier, summary, contacts=contacts, templates=templates,
                unsent=unsent.get(stored.plan.id, ()), retire=retire, outbox=outbox,
            )
        except PayplanError as exc:
            summary.failures.append(PlanFailure(stored.plan.id, str(exc)))
            ok = False
        if progress is not None:
            progress(stored)
        return ok

    def hurt(exc: DamagedRowError) -> None:
        # A plan whose stored rows cannot be read is that plan's failure; the run goes on.
        summary.plans += 1
        summary.failures.append(PlanFailure(exc.plan_id, str(exc)))
        failed.append(exc.plan_id)

    failed: list[str] = []
    if not claim or dry_run:
        for batch in store.active_plans(batch_size=batch_size, shard=shard, shards=shards, damaged=hurt):
            retire: list[str] = []
            for stored in batch:
                one(stored, retire)
            outbox.flush()
            store.deactivate(retire)
        return summary

    name = worker if worker is not None else f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    after, last_pass = "", False
    while True:
        batch = store.claim_plans(
            as_of, name, limit=batch_size, lease=lease, after=after, shard=shard, shards=shards, wait=last_pass,
            damaged=hurt,
        )
        if not batch:
            if last_pass or not after:
                break
            # a last pass from the start: plans skipped while another transaction held them,
            # and claims of a worker that died whose lease ran out meanwhile
            after, last_pass = "", True
            continue
        done: list[str] = []
        retire = []
        for stored in batch:
            (done if one(stored, retire) else failed).append(stored.plan.id)
        outbox.flush()  # before the plans are finished: a sent message is never left to resend
        store.deactivate(retire)
        store.finish_claims(as_of, name, done)
        after = batch[-1].plan.id
    if failed:
        store.finish_claims(as_of, name, released=failed)  # the next run of the date retries them
    return summary


def finished(plan: PaymentPlan, ledger: Ledger, as_of: dt.date, *, day: PlanDay | None = None) -> bool:
    """Whether *plan* needs no more daily runs: cancelled, or paid in full after its session.

    *day* is the plan's :class:`~payplan.PlanDay` on *as_of*, if already worked out.

    .. versionchanged:: 0.3.0
       *day*.
    """
    day = checked_day(plan, ledger, as_of, day)
    if ledger.cancellation is not None:
        return True
    return as_of > plan.session and day_of(plan, ledger, as_of, day).statement.status is PlanStatus.PAID_IN_FULL
