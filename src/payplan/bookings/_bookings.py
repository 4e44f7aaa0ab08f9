"""One booking's lifecycle over a store, the providers and a notifier: each step reserved, each resumable."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs
from attrs import field, frozen

from .._amendments import Amendment, PlanHistory, amend
from .._calendar import check_day
from .._cancellation import Settlement, settle_cancellation
from .._dunning import _attempts, charge_entry_id
from .._ledger import Ledger, LedgerEntry, PaymentFailed, PaymentReceived, Refund
from .._money import Money
from .._plan import PaymentPlan
from .._refunds import RefundInstruction, refund_instructions, refund_key
from .._status import InstallmentState, PlanStatement, fees_due, plan_status
from ..engine import RunSummary, run_due
from ..engine._run import Contacts, _provider_map
from ..exceptions import (
    DamagedRowError,
    InvalidPlanError,
    LedgerError,
    ProviderConnectionError,
    ProviderError,
    ProviderRequestError,
    StepInProgressError,
    StoreConflictError,
    UnknownPlanError,
    UnsupportedByProviderError,
)
from ..notify import Notifier
from ..providers import (
    Capability,
    ChargeOutcome,
    ChargeStatus,
    Payer,
    Provider,
    ProviderBinding,
    RefundOutcome,
    RefundStatus,
    idempotency_key,
    refund_entry_id,
)
from ..serialization import dump_plan, load_plan
from ..store import (
    Operation,
    OperationStatus,
    SignedAgreement,
    Step,
    StepStatus,
    Store,
    charge,
    charge_fee,
    reserved_call,
)
from . import _steps as j

__all__ = ["Booking", "Bookings"]

R = TypeVar("R")


def _as_steps(items: Iterable[Step]) -> tuple[Step, ...]:
    return tuple(items)


def _as_agreements(items: Iterable[SignedAgreement]) -> tuple[SignedAgreement, ...]:
    return tuple(items)


@frozen
class Booking:
    """One booking as the store holds it: the plan, its ledger, where it lives, what was signed.

    Attributes:
        plan: The plan's current version.
        ledger: Every entry recorded for it.
        active: Whether the daily run still looks at it (False once cancelled, or done).
        binding: Where the plan lives at its provider now
            (:meth:`Store.current_binding <payplan.store.Store.current_binding>`),
            or None if it was never published.
        agreements: The agreements the client signed, by plan version.
        history: Every version of the plan and the amendment records between them.
        steps: The lifecycle steps reserved for the plan, in order (see
            :class:`~payplan.store.Step`).
        settlement: The cancellation's settlement, once :meth:`Bookings.cancel` was called.

    .. versionadded:: 0.2.0
    """

    plan: PaymentPlan
    ledger: Ledger
    active: bool
    binding: ProviderBinding | None
    agreements: tuple[SignedAgreement, ...] = field(converter=_as_agreements)
    history: PlanHistory
    steps: tuple[Step, ...] = field(converter=_as_steps)
    settlement: Settlement | None = None

    @property
    def id(self) -> str:
        """The plan id."""
        return self.plan.id

    @property
    def cancelled(self) -> bool:
        """Whether a cancellation is recorded in the ledger."""
        return self.ledger.cancellation is not None

    @property
    def unfinished(self) -> tuple[Step, ...]:
        """The plan's steps a crash cut short (``STARTED``): :meth:`Bookings.resume` finishes them."""
        return tuple(s for s in self.steps if s.status is StepStatus.STARTED)

    @property
    def failed(self) -> tuple[Step, ...]:
        """The plan's steps a provider refused (``FAILED``, the reason in :attr:`Step.result <payplan.store.Step.result>`): calling the step again tries again."""
        return tuple(s for s in self.steps if s.status is StepStatus.FAILED)

    def status(self, on: dt.date) -> PlanStatement:
        """The plan's statement on *on*: each installment paid, due or overdue, the balance, the plan's status."""
        return plan_status(self.plan, self.ledger, on)


class Bookings:
    """The steps a booking goes through, over a store, the providers by name and a notifier.

    A site calls one method per step and never orders store and provider
    calls itself::

        bookings = Bookings(store, {"stripe": StripeProvider(client, webhook_secret=...)}, notifier)
        booking = bookings.book(plan, payer, provider="stripe", on=today, agreement=signed)
        bookings.amend(plan.id, ExtendDueDate(3, to=day), on=today, by="owner", reason="asked", consent=True)
        settlement = bookings.cancel_preview(plan.id, on=today)      # changes nothing
        bookings.cancel(plan.id, on=today)
        bookings.collect(today)                                     # the nightly run

    **Each step is reserved in the store before it acts, and is
    resumable.** A step writes a :class:`~payplan.store.Step` (its key, its
    arguments and what it decided: a cancellation's settlement, a refund's
    split over the payments, the attempt numbers of a charge) before it
    writes or sends anything; each provider call inside it is reserved in
    the operations table under its idempotency key; each ledger entry has
    a stable id. Calling the step again with the same arguments, after a
    crash at any point inside it or after it finished, finishes it once:
    no second plan, charge, refund or provider object. :meth:`resume`
    finishes every step a crash cut short, from what the store kept. A
    provider's refusal (not a lost answer) ends the step ``FAILED``; the
    parts before it stay done, and calling the step again tries again.

    **A step runs in one place at a time.** After reserving a step, a
    call claims it (:meth:`Store.claim_step
    <payplan.store.Store.claim_step>`: a lock the database or the
    operating system takes back if the process dies) and holds the claim
    while it acts. Two ``book`` calls for the same plan in two processes
    (a double submit) send one deposit request: the second waits for the
    first and returns the booking as the first left it, or raises
    :class:`~payplan.StepInProgressError` after *step_wait* seconds
    (nothing of it done; call again). :meth:`resume` leaves a step that
    another process is running to that process.

    Steps and their keys: :meth:`book` and :meth:`cancel` happen once per
    plan; :meth:`amend`, :meth:`refund` and :meth:`pay_now` once per
    distinct arguments (pass *request*, your own id of the request such as
    a form's token, to ask for the same thing twice).

    Args:
        store: Where plans, ledgers, bindings, steps and operations live.
        providers: The providers by name (or an iterable of them, keyed by
            their :attr:`~payplan.providers.Provider.name`).
        notifier: Sends the daily run's reminders and notices (:meth:`collect`).
        contacts: Who each plan's client is, for the daily run's messages
            (see :func:`payplan.engine.run_due`).
        step_wait: How long a call waits, in seconds, for the same step
            running in another thread or process to finish before it raises
            :class:`~payplan.StepInProgressError` (see below).

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        store: Store,
        providers: Mapping[str, Provider] | Iterable[Provider],
        notifier: Notifier | None = None,
        contacts: Contacts | None = None,
        *,
        step_wait: float = 30.0,
    ) -> None:
        self.store = store
        self.providers: Mapping[str, Provider] = _provider_map(providers)
        self.notifier = notifier
        self.contacts = contacts
        if not isinstance(step_wait, int | float) or isinstance(step_wait, bool) or not 0 <= step_wait < 86400:
            raise InvalidPlanError(f"expected step_wait as a number of seconds from 0 to 86400, got {step_wait!r}")
        self.step_wait = float(step_wait)

    # -- reading -----------------------------------------------------------------------

    def booking(self, plan_id: str) -> Booking:
        """The booking of *plan_id*: plan, ledger, current binding, agreements, history and steps.

        Raises:
            UnknownPlanError: the store holds no such plan.
        """
        stored = self.store.load(plan_id)
        steps = self.store.steps(plan_id=plan_id)
        settlement = None
        for s in steps:
            if s.name == "cancel":
                settlement = j.settlement_from(json.loads(s.document)["settlement"], stored.plan.fee.currency)
        return Booking(
            stored.plan, stored.ledger, stored.active, self.store.current_binding(plan_id),
            self.store.agreements(plan_id), self.store.history(plan_id), steps, settlement,
        )

    def provider(self, name: str) -> Provider:
        """The provider called *name*.

        Raises:
            ProviderRequestError: no provider of that name was given to these bookings.
        """
        try:
            return self.providers[name]
        except KeyError:
            raise ProviderRequestError(
                f"expected one of the providers given to Bookings ({', '.join(sorted(self.providers)) or 'none'}), "
                f"got {name!r}",
                provider=name,
            ) from None

    # -- book ----------------------------------------------------------------------------

    def book(
        self,
        plan: PaymentPlan,
        payer: Payer,
        *,
        provider: str,
        on: dt.date,
        agreement: SignedAgreement | None = None,
        charge_deposit: bool = True,
    ) -> Booking:
        """Book *plan*: keep it, keep the signed agreement, publish it, keep the binding, charge the deposit.

        In that order, each part once: the plan is added (or found, if it
        is already stored as given); the *agreement* is saved; the plan is
        published on *provider* (reserved as a ``publish`` operation; the
        provider creates nothing twice for the same plan version) and its
        binding saved; then, with *charge_deposit*, the first installment is
        charged now (:func:`payplan.store.charge`, attempt 1: the key the
        daily run would use for it) and the payment, or the decline, is
        recorded in the ledger under the id the daily run uses. A provider
        that cannot charge on demand (no
        :attr:`~payplan.providers.Capability.CHARGE_NOW`: PayPal takes the
        deposit as the subscription's setup fee once the buyer approves at
        ``booking.binding.approval_url``; Square's invoice asks for it) takes
        the deposit itself, and its webhook records it. A declined
        deposit is a finished booking whose first installment is unpaid:
        :meth:`pay_now` asks again.

        A crash at any point leaves the step ``STARTED``; calling :meth:`book`
        again with the same plan (or :meth:`resume`) finishes what is missing.

        Args:
            plan: The plan to book (a tier's quote, an accepted proposal), at version 1.
            payer: Who pays, as the provider knows them.
            provider: The name of the provider to publish on.
            on: The day of the booking (the deposit's payment is recorded on it).
            agreement: The agreement the client signed for this plan version, if any.
            charge_deposit: Whether to charge the first installment now.

        Returns:
            The booking as stored.

        Raises:
            StoreConflictError: the store holds another plan under this id,
                or the plan was booked with other arguments.
            ProviderRequestError: no provider of that name.
            UnsupportedByProviderError: the provider cannot express the plan
                (nothing is written), or cannot charge the deposit now.
            ProviderError: a provider call reached no decision: call again.
        """
        check_day(on, "on")
        prov = self.provider(provider)
        prov.check(plan)
        if agreement is not None and (agreement.plan_id, agreement.version) != (plan.id, plan.version):
            raise InvalidPlanError(
                f"expected the agreement of {plan.id} v{plan.version}, got one of "
                f"{agreement.plan_id} v{agreement.version}"
            )
        args = {
            "plan": dump_plan(plan), "provider": provider, "charge_deposit": charge_deposit,
            "agreement": j.agreement_to(agreement),
        }
        doc = {**args, "payer": j.payer_to(payer), "on": on.isoformat()}
        step = self.store.reserve_step(Step(j.step_key(plan.id, "book"), plan.id, "book", j.canonical(doc)))
        kept = json.loads(step.document)
        if {k: kept[k] for k in args} != json.loads(j.canonical(args)):
            raise StoreConflictError(
                f"plan {plan.id} was booked (or its booking started) with other arguments; "
                "book it under a new plan id, or call book() with the same plan, provider and agreement"
            )
        return self._run(step, self._book)

    def _book(self, step: Step) -> Booking:
        doc = json.loads(step.document)
        plan = load_plan(doc["plan"])
        prov = self.provider(doc["provider"])
        on = dt.date.fromisoformat(doc["on"])
        if step.status is StepStatus.DONE:
            return self.booking(plan.id)
        # 1. the plan
        try:
            first = self.store.history(plan.id).versions[0]
        except UnknownPlanError:
            with contextlib.suppress(StoreConflictError):  # another worker added it meanwhile: checked below
                self.store.add_plan(plan)
            first = self.store.history(plan.id).versions[0]
        if first != plan:
            raise StoreConflictError(
                f"expected plan {plan.id} as booked, the store holds another plan under that id"
            )
        # 2. the signature
        agreement = j.agreement_from(doc["agreement"])
        if agreement is not None:
            held = {(a.version, a.sha256) for a in self.store.agreements(plan.id)}
            if (agreement.version, agreement.sha256) not in held:
                try:
                    self.store.save_agreement(agreement)
                except StoreConflictError:
                    # the same call running beside this one (a double submit) saved it first
                    held = {(a.version, a.sha256) for a in self.store.agreements(plan.id)}
                    if (agreement.version, agreement.sha256) not in held:
                        raise
        # 3. published, and the binding kept
        binding = self.store.current_binding(plan.id)
        if binding is None or binding.provider != prov.name:
            payer = j.payer_from(doc["payer"])
            op = Operation(idempotency_key(plan, "publish"), prov.name, plan.id, "publish")
            binding = self._act(op, lambda: prov.publish(plan, payer), lambda b: next(iter(b.ids.values()), None))
            self.store.save_binding(binding)
        # 4. the deposit
        result: dict[str, Any] = {}
        if doc["charge_deposit"] and Capability.CHARGE_NOW in prov.capabilities:
            outcome = self._charge_installment(prov, binding, plan, 1, 1, on)
            result["deposit"] = outcome.status.value
        elif doc["charge_deposit"]:
            result["deposit"] = "collected by the provider"  # its webhook records it
        self.store.finish_step(step.key, j.canonical(result))
        return self.booking(plan.id)

    # -- amend ---------------------------------------------------------------------------

    def amend(
        self,
        plan_id: str,
        amendment: Amendment,
        *,
        on: dt.date,
        by: str,
        reason: str,
        consent: bool = False,
        request: str | None = None,
    ) -> Booking:
        """Amend the plan: the next version with its amendment record, the provider synced, the binding kept.

        The new version is made by :func:`payplan.amend` from the stored
        version and ledger, and saved with its record (who, why, when,
        consent) by :meth:`Store.save_version
        <payplan.store.Store.save_version>`; then the published plan is
        changed to it (:meth:`Provider.update
        <payplan.providers.Provider.update>`, reserved as an ``update``
        operation) and the new binding saved. Checked before anything is
        written: the amendment is allowed, and the provider can update a
        published plan.

        The same amendment asked again (same arguments and *request*) is
        applied once; a crash in the middle is finished by calling again or
        by :meth:`resume`.

        Raises:
            RuleViolationError: the plan's rules forbid the change (nothing is written).
            UnsupportedByProviderError: the plan's provider cannot update a published plan.
            StoreConflictError: another amendment was saved between this
                one's reservation and its save (nothing of this one was
                saved: ask again with a new *request*).
            ProviderError: the provider reached no decision: call again.
        """
        check_day(on, "on")
        stored = self.store.load(plan_id)
        binding = self.store.current_binding(plan_id)
        if binding is not None and Capability.UPDATE not in self.provider(binding.provider).capabilities:
            raise UnsupportedByProviderError(
                f"{binding.provider} cannot update a published plan, so plan {plan_id} cannot be amended "
                "through Bookings: cancel and book it again",
                provider=binding.provider,
            )
        args = {
            "amendment": j.amendment_to(amendment), "on": on.isoformat(), "by": by, "reason": reason,
            "consent": consent, "request": request,
        }
        key = j.step_key(plan_id, "amend", args)
        earlier = [s for s in self.store.steps(plan_id=plan_id) if s.key == key]
        if not earlier:
            # checked before anything is written: a refused amendment leaves no step behind
            amend(stored.plan, amendment, by=by, reason=reason, on=on, consent=consent, paid=stored.ledger)
        doc = {**args, "from_version": stored.plan.version}
        step = self.store.reserve_step(Step(key, plan_id, "amend", j.canonical(doc)))
        return self._run(step, self._amend)

    def _amend(self, step: Step) -> Booking:
        doc = json.loads(step.document)
        plan_id = step.plan_id
        if step.status is StepStatus.DONE:
            return self.booking(plan_id)
        stored = self.store.load(plan_id)
        amendment = j.amendment_from(doc["amendment"], stored.plan.fee.currency)
        on = dt.date.fromisoformat(doc["on"])
        start = doc["from_version"]
        history = self.store.history(plan_id)
        if history.current.version == start:
            new, record = amend(
                history.current, amendment, by=doc["by"], reason=doc["reason"], on=on, consent=doc["consent"],
                paid=stored.ledger,
            )
            new = self.store.save_version(new, record).plan
        else:
            made = next((r for r in history.records if r.from_version == start), None)
            if made is None or made.amendment != amendment or (made.by, made.reason, made.on) != (
                doc["by"], doc["reason"], on
            ):
                self.store.finish_step(step.key, j.canonical({"superseded_by": history.current.version}))
                raise StoreConflictError(
                    f"plan {plan_id} moved from v{start} to v{history.current.version} by another amendment "
                    "before this one was saved; nothing of it was saved: amend the current version"
                )
            new = next(p for p in history.versions if p.version == made.to_version)
        binding = self.store.current_binding(plan_id)
        if binding is not None and binding.plan_version < new.version:
            prov = self.provider(binding.provider)
            op = Operation(idempotency_key(new, "update"), prov.name, plan_id, "update")
            was = binding
            binding = self._act(op, lambda: prov.update(was, new), lambda b: next(iter(b.ids.values()), None))
            self.store.save_binding(binding)
        self.store.finish_step(step.key, j.canonical({"version": new.version}))
        return self.booking(plan_id)

    # -- cancel --------------------------------------------------------------------------

    def _sold(self, plan: PaymentPlan) -> dict[str, Any]:
        """Where the plan was sold, from the evidence pack signed with it (the withdrawal period's facts).

        The pack of the latest signed agreement of the plan's version, else
        of any version; nothing without one (the cancellation policy alone).
        """
        agreements = sorted(self.store.agreements(plan.id), key=lambda a: (a.version == plan.version, a.version))
        for agreement in reversed(agreements):
            pack = agreement.evidence_pack()
            if pack is not None:
                return {"sale": pack.sale, "started_on_request": pack.express_request is not None}
        return {}

    def cancel_preview(self, plan_id: str, *, on: dt.date, credit: bool | None = None) -> Settlement:
        """What cancelling the plan on *on* would settle to; changes nothing.

        *credit* keeps what would be refunded as credit toward a new session
        (default: the cancellation policy's choice). When the plan was signed
        with an evidence pack (:class:`payplan.guardrails.EvidencePack`), its
        sale gives the 14-day withdrawal period of a UK or EEA consumer's
        distance booking (see :func:`payplan.settle_cancellation`), and its
        express request to start says the service began at the client's
        request.
        """
        check_day(on, "on")
        stored = self.store.load(plan_id)
        settlement = settle_cancellation(stored.plan, stored.ledger, on, as_credit=credit, **self._sold(stored.plan))
        return self._attributed(stored.ledger, settlement)

    def cancel(self, plan_id: str, *, on: dt.date, credit: bool | None = None, reason: str = "") -> Booking:
        """Cancel the plan on *on*: the settlement recorded, the provider stopped, the refunds sent, the plan out of the run.

        The settlement (:func:`payplan.settle_cancellation`, what
        :meth:`cancel_preview` shows, with the withdrawal period of the
        signed evidence pack's sale) is decided once and kept in the step,
        so a payment that lands between a crash and the rerun does not
        change it. Then, each part once: the settlement's entries are
        recorded (the ledger reads cancelled, so the daily run charges
        nothing more); the published plan is cancelled at the provider
        (``cancel`` operation), so no autopay charge follows a refund; each
        refund instruction is sent through the provider under its own key
        (reserved first) and recorded from the provider's answer under the
        id its refund events carry; the plan leaves the daily run.

        A plan is cancelled once: calling again with the same arguments
        finishes it (after a crash) or returns it.

        Returns:
            The booking; :attr:`Booking.settlement` is the settlement, and
            the step's result names any refund the provider refused.

        Raises:
            StoreConflictError: the plan was already cancelled (by hand, or
                by :meth:`cancel` with other arguments).
            ProviderError: a provider call reached no decision: call again.
        """
        check_day(on, "on")
        key = j.step_key(plan_id, "cancel")
        args = {"on": on.isoformat(), "credit": credit, "reason": reason}
        earlier = [s for s in self.store.steps(plan_id=plan_id) if s.key == key]
        if not earlier:
            stored = self.store.load(plan_id)
            if stored.ledger.cancellation is not None:
                raise StoreConflictError(f"expected a plan not yet cancelled, got {plan_id}, already cancelled")
            binding = self.store.current_binding(plan_id)
            if binding is not None:
                self.provider(binding.provider)
            settlement = settle_cancellation(stored.plan, stored.ledger, on, as_credit=credit, **self._sold(stored.plan))
            settlement = self._attributed(stored.ledger, settlement)
            doc = {**args, "settlement": j.settlement_to(settlement)}
            step = self.store.reserve_step(Step(key, plan_id, "cancel", j.canonical(doc)))
        else:
            step = earlier[0]
        kept = json.loads(step.document)
        if {k: kept[k] for k in args} != args:
            raise StoreConflictError(
                f"plan {plan_id} was cancelled (or its cancellation started) on {kept['on']}; "
                "call cancel() with the same arguments to finish it"
            )
        return self._run(step, self._cancel)

    def _attributed(self, ledger: Ledger, settlement: Settlement) -> Settlement:
        """*settlement* with its provider refunds split by what is left of each payment at the provider.

        :func:`payplan.settle_cancellation` takes earlier refunds to have come
        off the newest payments first; a refund made through :meth:`refund`
        came off the payments its step names (newest *at that time*), which
        a later payment makes different. A provider refuses to refund more of
        a payment than is left of it, so the split follows what each
        payment really has left; refunds made elsewhere are taken off the
        newest payments first, as the domain does.
        """
        plan_id = settlement.plan_id
        known: dict[str, int] = {}
        done = {o.key: o for o in self.store.operations(plan_id=plan_id)}
        for step in self.store.steps(plan_id=plan_id):
            if step.name != "refund":
                continue
            for d in json.loads(step.document)["instructions"]:
                i = j.instruction_from(d)
                op = done.get(i.idempotency_key)
                if (
                    op is not None and op.reference is not None
                    and refund_entry_id(op.provider, op.reference) in ledger
                ):
                    known[i.payment_id] = known.get(i.payment_id, 0) + i.amount.minor
        total = sum(i.amount.minor for i in settlement.refunds)
        if not known or not total:
            return settlement
        payments = sorted(
            (e for e in ledger if type(e) is PaymentReceived and e.reference is not None),
            key=lambda e: (e.on, e.id), reverse=True,
        )
        elsewhere = ledger.refunded.minor - sum(known.values())
        left = total
        reason = settlement.refunds[0].reason
        out: list[RefundInstruction] = []
        for payment in payments:
            room = payment.amount.minor - known.get(payment.id, 0)
            taken = min(max(room, 0), max(elsewhere, 0))
            elsewhere -= taken
            part = min(room - taken, left)
            if part <= 0:
                continue
            left -= part
            money = Money(part, payment.amount.currency)
            ref = payment.reference
            assert ref is not None
            out.append(RefundInstruction(
                plan_id, payment.id, ref, money, refund_key(plan_id, ref, money, purpose="cancellation"), reason,
            ))
            if not left:
                break
        if left:  # the provider payments cannot carry it: keep the domain's split (the provider will say why)
            return settlement
        return attrs.evolve(settlement, refunds=tuple(out))

    def _cancel(self, step: Step) -> Booking:
        plan_id = step.plan_id
        if step.status is StepStatus.DONE:
            return self.booking(plan_id)
        doc = json.loads(step.document)
        stored = self.store.load(plan_id)
        settlement = j.settlement_from(doc["settlement"], stored.plan.fee.currency)
        self.store.record_entries(plan_id, settlement.entries)
        binding = self.store.current_binding(plan_id)
        if binding is not None:
            prov = self.provider(binding.provider)
            if Capability.CANCEL in prov.capabilities:
                op = Operation(
                    idempotency_key(plan_id, "cancel", version=binding.plan_version), prov.name, plan_id, "cancel"
                )
                done = binding
                self._act(op, lambda: prov.cancel(done), lambda _: None)
        failed = self._refund_all(settlement.refunds, settlement.on, lowers_price=False)
        self.store.set_active(plan_id, False)
        self.store.finish_step(step.key, j.canonical({"failed_refunds": failed}))
        return self.booking(plan_id)

    # -- refund --------------------------------------------------------------------------

    def refund(
        self,
        plan_id: str,
        amount: Money,
        *,
        on: dt.date,
        reason: str,
        lowers_price: bool = False,
        request: str | None = None,
    ) -> tuple[RefundOutcome, ...]:
        """Refund *amount* of what the client paid, through the providers that took it.

        The amount is split over the payments (:func:`payplan.refund_instructions`:
        newest provider payments first) when the step is reserved, and that
        split is kept, so a rerun sends the same refunds under the same
        keys. Each refund the provider confirms is recorded under the id its
        refund events carry: a **reversal** (the money is owed again) by
        default, or with *lowers_price* a **price reduction** (goodwill:
        what is owed drops; see :class:`payplan.Refund`).

        The same refund asked again (same arguments and *request*) is sent
        once.

        Returns:
            The provider's answer for each payment refunded (a pending
            refund lands through the provider's refund event; a failed one
            is for you to act on).

        Raises:
            LedgerError: more than was paid, another currency, or a payment
                recorded without a provider reference (pay that back by hand
                and record :meth:`RefundInstruction.entry
                <payplan.RefundInstruction.entry>`); nothing is sent.
            ProviderError: the provider reached no decision on one refund: call again.
        """
        check_day(on, "on")
        if type(lowers_price) is not bool:
            raise InvalidPlanError(f"expected lowers_price as True or False, got {lowers_price!r}")
        args = {
            "amount": j.money_to(amount) if isinstance(amount, Money) else repr(amount), "on": on.isoformat(),
            "reason": reason, "lowers_price": lowers_price, "request": request,
        }
        key = j.step_key(plan_id, "refund", args)
        earlier = [s for s in self.store.steps(plan_id=plan_id) if s.key == key]
        if earlier:
            step = earlier[0]
        else:
            stored = self.store.load(plan_id)
            # the step's own keys: a second refund of the same amount of a payment (another reason,
            # day or request) is another refund, and a rerun of this one sends these keys again
            instructions = refund_instructions(
                plan_id, stored.ledger, amount, reason=reason, purpose=f"refund:{j.digest(args)[:16]}"
            )
            for i in instructions:
                if i.reference is None:
                    raise LedgerError(
                        f"expected payments a provider took, got payment {i.payment_id} recorded without a provider "
                        f"reference: pay {i.amount} of it back by hand and record RefundInstruction.entry(on)"
                    )
                prov, _ = self._refund_provider(plan_id, i)
                if lowers_price:
                    prov._check_goodwill()  # a provider that cannot carry the word back: nothing is sent
            doc = {**args, "instructions": [j.instruction_to(i) for i in instructions]}
            step = self.store.reserve_step(Step(key, plan_id, "refund", j.canonical(doc)))
        return self._run(step, self._refund)

    def _refund(self, step: Step) -> tuple[RefundOutcome, ...]:
        doc = json.loads(step.document)
        instructions = [j.instruction_from(i) for i in doc["instructions"]]
        on = dt.date.fromisoformat(doc["on"])
        outcomes = tuple(
            self._refund_one(i, on, lowers_price=doc["lowers_price"]) for i in instructions
        )
        if step.status is not StepStatus.DONE:
            self.store.finish_step(step.key, j.canonical([o.status.value for o in outcomes]))
        return outcomes

    def _refund_provider(self, plan_id: str, instruction: RefundInstruction) -> tuple[Provider, ProviderBinding]:
        """The provider that took the payment *instruction* refunds, and the plan's binding there."""
        ledger = self.store.load(plan_id).ledger
        payment = ledger.get(instruction.payment_id)
        method = payment.method if isinstance(payment, PaymentReceived) else None
        bindings = {b.provider: b for b in self.store.bindings(plan_id)}
        if method in bindings and method in self.providers:
            return self.providers[method], bindings[method]
        current = self.store.current_binding(plan_id)
        if current is None:
            raise ProviderRequestError(
                f"expected plan {plan_id} published at a provider to refund payment {instruction.payment_id}, "
                "got no binding",
                provider=method or "none",
            )
        return self.provider(current.provider), current

    def _refund_all(self, instructions: Iterable[RefundInstruction], on: dt.date, *, lowers_price: bool) -> list[str]:
        failed = []
        for i in instructions:
            outcome = self._refund_one(i, on, lowers_price=lowers_price)
            if outcome.status is RefundStatus.FAILED:
                failed.append(i.payment_id)
        return failed

    def _refund_one(self, instruction: RefundInstruction, on: dt.date, *, lowers_price: bool) -> RefundOutcome:
        """Send one refund (reserved under its key) unless its answer is already recorded; record it."""
        plan_id = instruction.plan_id
        prov, binding = self._refund_provider(plan_id, instruction)
        op = Operation(
            instruction.idempotency_key, prov.name, plan_id, "refund", amount=instruction.amount,
            reference=instruction.reference,
        )
        kept = self.store.reserve_operation(op)
        ledger = self.store.load(plan_id).ledger
        if (
            kept.status is OperationStatus.SUCCEEDED and kept.reference is not None
            and refund_entry_id(prov.name, kept.reference) in ledger
        ):
            return RefundOutcome(
                RefundStatus.SUCCEEDED, instruction.amount, instruction.reference or "", kept.reference,
                provider=prov.name, lowers_price=lowers_price,
            )
        outcome = reserved_call(
            self.store, op,
            lambda: prov.refund_instruction(binding, instruction, lowers_price=True) if lowers_price
            else prov.refund_instruction(binding, instruction),
        )
        entry: LedgerEntry | None = outcome.entry(on, instruction.reason)
        if entry is not None:
            if lowers_price and isinstance(entry, Refund) and not entry.lowers_price:
                # an adapter that does not say so on its answer: the step asked for a price reduction
                entry = Refund.price_reduction(entry.id, on, outcome.amount, instruction.reason, outcome.reference)
            self.store.record_entries(plan_id, [entry])
        return outcome

    # -- pay now -------------------------------------------------------------------------

    def pay_now(self, plan_id: str, *, on: dt.date, request: str | None = None) -> tuple[ChargeOutcome, ...]:
        """Charge what the client owes today, for a client who wants to catch up.

        Every installment due or overdue on *on* and unpaid (a whole one:
        providers charge whole installments; a part paid otherwise is left
        for another way), oldest first, each under the next attempt number
        of that installment, the key and ledger ids the daily run uses for
        it (so the two never charge it twice); then, once every installment
        due is paid, the late fees still owed, where the provider charges
        fees (:func:`payplan.store.charge_fee`). Never above the plan's live
        balance. What to charge is decided when the step is reserved; a
        rerun charges those, each once.

        The same call again (same day and *request*) charges nothing more:
        pass a new *request* (a form token) for a new try after a decline.

        Returns:
            The provider's answer for each charge (empty when nothing is owed today).

        Raises:
            UnsupportedByProviderError: the plan's provider cannot charge on demand.
            ProviderError: a charge reached no decision: call again.
        """
        check_day(on, "on")
        key = j.step_key(plan_id, "pay_now", {"on": on.isoformat(), "request": request})
        earlier = [s for s in self.store.steps(plan_id=plan_id) if s.key == key]
        if earlier:
            step = earlier[0]
        else:
            binding = self.store.current_binding(plan_id)
            if binding is None:
                raise ProviderRequestError(
                    f"expected plan {plan_id} published at a provider to charge it, got no binding", provider="none"
                )
            prov = self.provider(binding.provider)
            if Capability.CHARGE_NOW not in prov.capabilities:
                raise UnsupportedByProviderError(
                    f"{prov.name} cannot charge an installment on demand", provider=prov.name
                )
            stored = self.store.load(plan_id)
            doc = {
                "on": on.isoformat(), "request": request,
                "charges": self._owed_today(stored.plan, stored.ledger, on, fees=Capability.CHARGE_FEES in prov.capabilities),
            }
            step = self.store.reserve_step(Step(key, plan_id, "pay_now", j.canonical(doc)))
        return self._run(step, self._pay_now)

    @staticmethod
    def _owed_today(plan: PaymentPlan, ledger: Ledger, on: dt.date, *, fees: bool) -> list[dict[str, Any]]:
        if ledger.cancellation is not None:
            return []
        status = plan_status(plan, ledger, on)
        room = status.balance.minor
        failures, succeeded = _attempts(plan, ledger)
        out: list[dict[str, Any]] = []
        for s in status.installments:
            if s.status not in (InstallmentState.DUE, InstallmentState.OVERDUE):
                continue
            if s.outstanding != s.installment.amount or s.outstanding.minor > room:
                continue  # a part: providers charge whole installments
            n = s.number
            out.append({"installment": n, "attempt": len(failures.get(n, ())) + succeeded.get(n, 0) + 1})
            room -= s.outstanding.minor
        unpaid = any(
            s.status in (InstallmentState.DUE, InstallmentState.OVERDUE) and s.outstanding.minor > 0
            for s in status.installments
        )
        if fees and not unpaid and not out:
            for f in fees_due(plan, ledger, on):
                if f.kind != "late_fee" or f.outstanding.minor <= 0 or f.outstanding.minor > room:
                    continue
                prefix = f"{plan.id}:fee-charge:{f.id}:a"
                tried = sum(1 for e in ledger if e.id.startswith(prefix) and not e.id.endswith(":failed")) + sum(
                    1 for e in ledger if type(e) is PaymentFailed and e.id.startswith(prefix)
                )
                out.append({"fee": f.id, "amount": j.money_to(f.outstanding), "attempt": tried + 1})
                room -= f.outstanding.minor
        return out

    def _pay_now(self, step: Step) -> tuple[ChargeOutcome, ...]:
        doc = json.loads(step.document)
        plan_id = step.plan_id
        on = dt.date.fromisoformat(doc["on"])
        binding = self.store.current_binding(plan_id)
        if binding is None:  # pragma: no cover - checked when the step was reserved
            raise ProviderRequestError(f"expected plan {plan_id} published at a provider", provider="none")
        prov = self.provider(binding.provider)
        plan = self.store.load(plan_id).plan
        outcomes: list[ChargeOutcome] = []
        for c in doc["charges"]:
            if "fee" in c:
                outcome = self._charge_fee(prov, binding, plan, c["fee"], j.money_from(c["amount"]), c["attempt"], on)
            else:
                outcome = self._charge_installment(prov, binding, plan, c["installment"], c["attempt"], on)
            outcomes.append(outcome)
        if step.status is not StepStatus.DONE:
            self.store.finish_step(step.key, j.canonical([o.status.value for o in outcomes]))
        return tuple(outcomes)

    # -- the day's collections --------------------------------------------------------

    def collect(self, as_of: dt.date, **options: Any) -> RunSummary:
        """Run the day *as_of*: :func:`payplan.engine.run_due` over these bookings' store, providers and notifier.

        *options* are :func:`~payplan.engine.run_due`'s (``dry_run``,
        ``claim``, ``shard``/``shards``, ``templates``...). Running a day
        twice, or again after a crash, adds nothing twice.
        """
        options.setdefault("contacts", self.contacts)
        return run_due(self.store, self.providers, as_of, self.notifier, **options)

    # -- resuming ---------------------------------------------------------------------

    def resume(self, plan_id: str | None = None) -> tuple[Step, ...]:
        """Finish every step a crash cut short (of one plan, or all), from what the store kept; return them.

        Run it when a worker starts (or from the nightly job) before
        anything else: each ``STARTED`` step is carried out again from its
        kept arguments and decision, each of its parts once. A step another
        process holds right now is not cut short: it is left to that
        process and not returned. A step that
        fails again (a provider still not answering) stays started and the
        others go on; the error of the first such step is raised at the end.
        A row edited by hand (:class:`~payplan.DamagedRowError`: a step's,
        or the plan's own) stops only its own plan: the stored plans' other steps are finished, and
        the error is raised at the end (the steps of a booking whose plan
        was not stored yet wait until the row is repaired).

        Raises:
            PayplanError: a step could not be finished (the first such error).
            DamagedRowError: a step's or a plan's row no longer matches its checksum (after the others are finished).
        """
        damaged: list[DamagedRowError] = []
        try:
            started = self.store.steps(plan_id=plan_id, status=StepStatus.STARTED)
        except DamagedRowError as exc:
            if plan_id is not None:
                raise
            started, damaged = self._started_by_plan(exc)
        runners: dict[str, Callable[[Step], object]] = {
            "book": self._book, "amend": self._amend, "cancel": self._cancel, "refund": self._refund,
            "pay_now": self._pay_now,
        }
        first: Exception | None = None
        done = []
        for step in started:
            try:
                self._run(step, runners[step.name], wait=0)
            except StepInProgressError:
                continue  # another process is running it (not cut short): it finishes it
            except (ProviderError, StoreConflictError, LedgerError, DamagedRowError) as exc:
                first = first or exc
            done.append(step)
        first = first or (damaged[0] if damaged else None)
        if first is not None:
            raise first
        return tuple(done)

    def _started_by_plan(self, first: DamagedRowError) -> tuple[tuple[Step, ...], list[DamagedRowError]]:
        """The started steps read plan by plan, once the damaged step row *first* kept them from being read at once.

        A plan whose step rows cannot be read is left out (its error kept),
        so one hand-edited row does not stop every stored plan's resume.
        """
        started: list[Step] = []
        damaged: list[DamagedRowError] = []
        for pid in dict.fromkeys((*self.store.plan_ids(), first.plan_id)):
            try:
                started.extend(self.store.steps(plan_id=pid, status=StepStatus.STARTED))
            except DamagedRowError as exc:
                damaged.append(exc)
        return tuple(started), damaged

    # -- the parts ---------------------------------------------------------------------

    def _run(self, step: Step, runner: Callable[[Step], R], *, wait: float | None = None) -> R:
        """Carry out *step* while holding its claim; a provider's refusal marks it failed.

        A second call of the same step while the first runs (a double click
        on a threaded server, or a double submit served by another process)
        waits for the first's claim (:meth:`Store.claim_step
        <payplan.store.Store.claim_step>`, up to *wait*, else
        :attr:`step_wait`) and then reads the step as the first left it:
        done, it sends nothing.
        """
        with self.store.claim_step(step.key, step.plan_id, wait=self.step_wait if wait is None else wait):
            step = next((s for s in self.store.steps(plan_id=step.plan_id) if s.key == step.key), step)
            try:
                return runner(step)
            except ProviderError as exc:
                if not exc.retryable:
                    self.store.finish_step(
                        step.key, j.canonical({"error": str(exc), "provider": exc.provider}),
                        status=StepStatus.FAILED,
                    )
                raise

    def _act(self, op: Operation, call: Callable[[], R], reference: Callable[[R], str | None]) -> R:
        """Reserve *op*, make *call* (publish, update, cancel), record how it ended."""
        self.store.reserve_operation(op)
        try:
            result = call()
        except ProviderConnectionError as exc:
            self.store.complete_operation(op.key, OperationStatus.UNKNOWN, error=str(exc))
            raise
        except ProviderError as exc:
            self.store.complete_operation(op.key, OperationStatus.FAILED, error=str(exc))
            raise
        self.store.complete_operation(op.key, OperationStatus.SUCCEEDED, reference=reference(result))
        return result

    def _charge_installment(
        self, prov: Provider, binding: ProviderBinding, plan: PaymentPlan, n: int, attempt: int, on: dt.date
    ) -> ChargeOutcome:
        """Charge installment *n* (attempt *attempt*) once and record it; the recorded outcome if the ledger has it."""
        entry_id = charge_entry_id(plan.id, n, attempt)
        amount = plan.installment(n).amount
        ledger = self.store.load(plan.id).ledger
        if entry_id in ledger or f"{entry_id}:failed" in ledger:
            return _recorded(ledger, entry_id, plan.id, n, amount, attempt, None)
        outcome = charge(self.store, prov, binding, plan, n, attempt=attempt)
        self._record_charge(plan.id, outcome, entry_id, amount, on, n, prov.name)
        return outcome

    def _charge_fee(
        self, prov: Provider, binding: ProviderBinding, plan: PaymentPlan, fee_id: str, amount: Money, attempt: int,
        on: dt.date,
    ) -> ChargeOutcome:
        entry_id = f"{plan.id}:fee-charge:{fee_id}:a{attempt}"
        ledger = self.store.load(plan.id).ledger
        if entry_id in ledger or f"{entry_id}:failed" in ledger:
            return _recorded(ledger, entry_id, plan.id, 0, amount, attempt, fee_id)
        outcome = charge_fee(
            self.store, prov, binding, plan, fee_id, amount, description=f"late fee {fee_id}", attempt=attempt
        )
        self._record_charge(plan.id, outcome, entry_id, amount, on, None, prov.name)
        return outcome

    def _record_charge(
        self, plan_id: str, outcome: ChargeOutcome, entry_id: str, amount: Money, on: dt.date, n: int | None,
        provider: str,
    ) -> None:
        entry: LedgerEntry | None
        if outcome.status is ChargeStatus.SUCCEEDED:
            entry = PaymentReceived(entry_id, on, amount, provider, outcome.reference)
        elif outcome.status is ChargeStatus.PENDING:
            entry = None  # the provider's event records it
        else:
            entry = PaymentFailed(
                f"{entry_id}:failed", on, outcome.decline_code or outcome.status.value, n, amount, outcome.reference
            )
        if entry is not None:
            self.store.record_entries(plan_id, [entry])


def _recorded(
    ledger: Ledger, entry_id: str, plan_id: str, n: int, amount: Money, attempt: int, fee_id: str | None
) -> ChargeOutcome:
    """The outcome of a charge the ledger already records (a step run again): its payment, or its failure."""
    paid = ledger.get(entry_id)
    if isinstance(paid, PaymentReceived):
        return ChargeOutcome(ChargeStatus.SUCCEEDED, plan_id, n, amount, attempt, paid.reference, fee_id=fee_id)
    failed = ledger.get(f"{entry_id}:failed")
    assert isinstance(failed, PaymentFailed)
    status = ChargeStatus.REQUIRES_ACTION if failed.reason == ChargeStatus.REQUIRES_ACTION.value else ChargeStatus.DECLINED
    return ChargeOutcome(status, plan_id, n, amount, attempt, failed.reference, failed.reason, fee_id=fee_id)
