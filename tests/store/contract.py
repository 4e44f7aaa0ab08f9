"""StoreContract: the tests every Store back end passes (memory, SQLite, PostgreSQL).

A back end's test class subclasses :class:`StoreContract` and provides a
``store`` fixture returning an empty store::

    class TestSQLiteStore(StoreContract):
        @pytest.fixture
        def store(self, sqlite_url): return SQLStore.open(sqlite_url)
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
import threading
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payplan import (
    ExtendDueDate,
    LateFeeAssessed,
    Ledger,
    LedgerError,
    Money,
    PaymentReceived,
    Refund,
    StoreConflictError,
    StoreError,
    UnknownPlanError,
    WaiveFee,
    amend,
    settle_cancellation,
)
from payplan.providers import EventKind, Payer, ProviderBinding, ProviderEvent
from payplan.store import (
    InboxStatus,
    Operation,
    OperationStatus,
    ReminderStatus,
    SignedAgreement,
    Step,
    StepStatus,
    Store,
    WebhookOutcome,
    charge,
    receive_webhook,
    refund_settlement,
)
from payplan.testing import SandboxCard, SandboxFault, SandboxProvider

from .contract_claims import ClaimsContract
from .helpers import expected_ledger, make_plan, plan_events, sandbox

D = dt.date(2026, 12, 1)
AT = dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


def _pid() -> str:
    return f"plan-{uuid.uuid4().hex[:10]}"


def _pay(n: int, minor: int = 50000, on: dt.date = D) -> PaymentReceived:
    return PaymentReceived(f"pay-{n}", on, Money(minor, "USD"))


def _event(plan_id: str, n: int, kind: EventKind, minor: int | None, currency: str = "USD", seq: int = 0) -> ProviderEvent:
    return ProviderEvent(
        id=f"sandbox:evt_{plan_id}_{n}", provider="sandbox", kind=kind, plan_id=plan_id, occurred_on=D,
        installment=1, amount=None if minor is None else Money(minor, currency), reference=f"ch_{n}",
        sequence=seq or n,
    )


def deliveries_property(examples: int) -> Callable[..., None]:
    """The 'any deliveries give the ordered ledger' property, run with *examples* examples."""

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
    )
    @given(data=st.data(), refund_every=st.sampled_from([0, 1, 2, 3]))
    def test_any_deliveries_give_the_ordered_ledger(
        self: StoreContract, new_store: Callable[[], Store], shared_sandbox: SandboxProvider, data: st.DataObject,
        refund_every: int,
    ) -> None:
        """Each event delivered 1-5 times in any order: every ledger equals one ordered delivery's.

        Each example has an empty store of its own, and the copies and their
        order are drawn by Hypothesis (so a failure shrinks to the fewest
        copies in the simplest order).
        """
        store = new_store()
        plans = [make_plan(_pid(), installments=2 + k) for k in range(3)]
        for p in plans:
            store.add_plan(p)
        sb = shared_sandbox
        events = plan_events(sb, plans, refund_every=refund_every)
        copies = data.draw(st.lists(st.integers(1, 5), min_size=len(events), max_size=len(events)), label="copies")
        order = data.draw(st.permutations([e for e, n in zip(events, copies, strict=True) for _ in range(n)]),
                          label="order")
        for ev in order:
            headers, body = sb.delivery(ev)
            assert receive_webhook(store, sb, headers, body).status in (200, 202)
        for p in plans:
            assert store.load(p.id).ledger == expected_ledger(p, events)
        assert {e.status for e in store.inbox()} <= {InboxStatus.APPLIED}

    return test_any_deliveries_give_the_ordered_ledger


class StoreContract(ClaimsContract):
    """Behaviour every :class:`~payplan.store.Store` back end shares (the claims' own in :class:`ClaimsContract`)."""

    @pytest.fixture
    def store(self) -> Store:  # pragma: no cover - each back end overrides it
        raise NotImplementedError

    @pytest.fixture
    def shared_sandbox(self) -> SandboxProvider:
        """One sandbox for every example of a property: its event ids never repeat, as a real provider's."""
        return sandbox()

    # -- plans ---------------------------------------------------------------------

    def test_is_a_store(self, store: Store) -> None:
        """The back end satisfies the Store protocol."""
        assert isinstance(store, Store)

    def test_added_plan_loads_back_equal(self, store: Store) -> None:
        """A plan and its first entries load back equal, with an equal ledger."""
        plan = make_plan(_pid())
        store.add_plan(plan, entries=[_pay(1)])
        got = store.load(plan.id)
        assert got.plan == plan
        assert got.ledger == Ledger.empty(plan).record(_pay(1))
        assert got.active
        assert plan.id in store.plan_ids()

    def test_adding_a_plan_twice_is_a_conflict(self, store: Store) -> None:
        """The same plan id added twice is refused; the first stays as it was."""
        plan = make_plan(_pid())
        store.add_plan(plan, entries=[_pay(1)])
        with pytest.raises(StoreConflictError, match="already holds"):
            store.add_plan(make_plan(plan.id, fee="3000.00"))
        assert store.load(plan.id).plan == plan
        assert len(store.load(plan.id).ledger) == 1

    def test_unknown_plan(self, store: Store) -> None:
        """Reading or writing a plan the store lacks raises UnknownPlanError (a LookupError)."""
        with pytest.raises(UnknownPlanError, match="'nope'"):
            store.load("nope")
        with pytest.raises(LookupError):
            store.record_entries("nope", [_pay(1)])
        with pytest.raises(UnknownPlanError):
            store.history("nope")
        with pytest.raises(UnknownPlanError):
            store.set_active("nope", False)

    def test_record_entries_appends_and_counts_repeats_once(self, store: Store) -> None:
        """Recording the same entry again changes nothing; new ones are appended in order."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        store.record_entries(plan.id, [_pay(1)])
        store.record_entries(plan.id, [_pay(1), _pay(2, 10000)])
        ledger = store.load(plan.id).ledger
        assert [e.id for e in ledger] == ["pay-1", "pay-2"]
        assert ledger.paid == Money(60000, "USD")

    def test_a_refused_entry_writes_nothing(self, store: Store) -> None:
        """A reused id or a refund above what was paid is a LedgerError; nothing of the call is written."""
        plan = make_plan(_pid())
        store.add_plan(plan, entries=[_pay(1)])
        before = store.load(plan.id).ledger
        with pytest.raises(LedgerError, match="already used"):
            store.record_entries(plan.id, [_pay(2), _pay(1, minor=1)])
        with pytest.raises(LedgerError):
            store.record_entries(plan.id, [_pay(3), Refund.reversal("r-1", D, Money(10**9, "USD"))])
        with pytest.raises(LedgerError):
            store.record_entries(plan.id, [PaymentReceived("eur", D, Money(100, "EUR"))])
        assert store.load(plan.id).ledger == before

    def test_money_and_dates_come_back_exact(self, store: Store) -> None:
        """Amounts in JPY and KWD and every entry field come back exactly."""
        for currency, fee in (("JPY", "200000"), ("KWD", "2000.125")):
            plan = make_plan(_pid(), fee=fee, currency=currency)
            fee_entry = LateFeeAssessed("fee-1", dt.date(2027, 1, 20), Money.of("1", currency), 2, 1, "late")
            store.add_plan(plan, entries=[PaymentReceived("p", D, plan.installments[0].amount, "card", "ch_1"), fee_entry])
            ledger = store.load(plan.id).ledger
            assert ledger.get("fee-1") == fee_entry
            assert ledger.paid == plan.installments[0].amount

    # -- versions ------------------------------------------------------------------

    def test_saved_version_and_history(self, store: Store) -> None:
        """A new version is saved with its record; history replays to it; the ledger is kept."""
        plan = make_plan(_pid())
        store.add_plan(plan, entries=[_pay(1)])
        new, record = amend(plan, ExtendDueDate(2, dt.date(2027, 1, 15)), by="staff", reason="asked", on=D)
        saved = store.save_version(new, record)
        assert saved.plan == new
        assert store.load(plan.id).plan == new
        assert store.load(plan.id).ledger.total == new.total.minor
        history = store.history(plan.id)
        assert history.versions == (plan, new)
        assert history.records == (record,)
        assert history.replay() == new

    def test_stale_version_is_a_conflict_and_nothing_is_lost(self, store: Store) -> None:
        """Saving a version amended from an old one is a StoreConflictError; the stored history is unchanged."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        first, rec1 = amend(plan, ExtendDueDate(2, dt.date(2027, 1, 15)), by="a", reason="r", on=D)
        second, rec2 = amend(plan, WaiveFee(Money(1000, "USD"), "goodwill"), by="b", reason="r", on=D)
        store.save_version(first, rec1)
        with pytest.raises(StoreConflictError, match="reload"):
            store.save_version(second, rec2, entries=[_pay(9)])
        assert store.history(plan.id).versions == (plan, first)
        assert len(store.load(plan.id).ledger) == 0
        assert StoreConflictError.retryable

    def test_two_threads_amending_one_plan(self, store: Store) -> None:
        """Two workers save a version from the same one at once: one wins, one conflicts, no version is lost."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        amendments = [ExtendDueDate(2, dt.date(2027, 1, 10)), WaiveFee(Money(500, "USD"), "goodwill")]
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def worker(a: ExtendDueDate | WaiveFee) -> None:
            new, rec = amend(plan, a, by="w", reason="r", on=D)
            barrier.wait()
            try:
                store.save_version(new, rec)
                outcomes.append("won")
            except StoreConflictError:
                outcomes.append("conflict")

        threads = [threading.Thread(target=worker, args=(a,)) for a in amendments]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(outcomes) == ["conflict", "won"]
        history = store.history(plan.id)
        assert [p.version for p in history.versions] == [1, 2]
        assert history.replay() == history.current

    # -- iteration -----------------------------------------------------------------

    def test_active_plans_in_batches_and_shards(self, store: Store) -> None:
        """Batches cover every active plan once, in id order; shards split them without overlap."""
        ids = sorted(f"it-{n:03d}" for n in range(23))
        for pid in ids:
            store.add_plan(make_plan(pid))
        store.set_active("it-005", False)
        active = [pid for pid in ids if pid != "it-005"]
        batches = list(store.active_plans(batch_size=5))
        assert [len(b) for b in batches] == [5, 5, 5, 5, 2]
        assert [s.plan.id for b in batches for s in b] == active
        shards = [[s.plan.id for b in store.active_plans(batch_size=4, shard=k, shards=3) for s in b] for k in range(3)]
        assert sorted(functools.reduce(operator.iadd, shards, [])) == active
        assert all(shards)
        with pytest.raises(StoreError, match="shard"):
            list(store.active_plans(shard=3, shards=3))

    def test_active_plans_carry_their_ledgers(self, store: Store) -> None:
        """Each plan in a batch comes with its own ledger."""
        a, b = make_plan("aa-1"), make_plan("aa-2")
        store.add_plan(a, entries=[_pay(1)])
        store.add_plan(b)
        got = {s.plan.id: s.ledger for batch in store.active_plans() for s in batch}
        assert got["aa-1"] == Ledger.empty(a).record(_pay(1))
        assert got["aa-2"] == Ledger.empty(b)

    # -- bindings, reminders, agreements -----------------------------------------------

    def test_bindings_replace_per_provider(self, store: Store) -> None:
        """Saving a provider's binding again replaces it; other providers' stay."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        store.save_binding(ProviderBinding("stripe", plan.id, 1, {"schedule": "sub_1"}))
        store.save_binding(ProviderBinding("square", plan.id, 1, {"invoice": "inv_1"}, "https://x", "DRAFT"))
        store.save_binding(ProviderBinding("stripe", plan.id, 2, {"schedule": "sub_2"}))
        got = store.bindings(plan.id)
        assert got == (
            ProviderBinding("square", plan.id, 1, {"invoice": "inv_1"}, "https://x", "DRAFT"),
            ProviderBinding("stripe", plan.id, 2, {"schedule": "sub_2"}),
        )
        with pytest.raises(UnknownPlanError):
            store.save_binding(ProviderBinding("stripe", "nope", 1))

    def test_current_binding_is_the_one_saved_last(self, store: Store) -> None:
        """The current binding is the one saved last, not the last by provider name; none before publishing."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        assert store.current_binding(plan.id) is None
        store.save_binding(ProviderBinding("stripe", plan.id, 1, {"schedule": "sub_1"}))
        store.save_binding(ProviderBinding("square", plan.id, 1, {"invoice": "inv_1"}))
        assert store.current_binding(plan.id) == ProviderBinding("square", plan.id, 1, {"invoice": "inv_1"})
        store.save_binding(ProviderBinding("stripe", plan.id, 2, {"schedule": "sub_2"}))
        assert store.current_binding(plan.id) == ProviderBinding("stripe", plan.id, 2, {"schedule": "sub_2"})
        with pytest.raises(UnknownPlanError):
            store.current_binding("nope")

    def test_portfolio_is_every_plan_with_its_ledger(self, store: Store) -> None:
        """Every plan and its ledger by id, or only those in or out of the daily run."""
        a, b = make_plan("pf-a"), make_plan("pf-b")
        store.add_plan(a, entries=[PaymentReceived("p1", D, Money.of("500.00", "USD"))])
        store.add_plan(b)
        store.set_active(b.id, False)
        assert store.portfolio() == ((a, store.load(a.id).ledger), (b, Ledger.empty(b)))
        assert [p.id for p, _ in store.portfolio(active=True)] == ["pf-a"]
        assert [p.id for p, _ in store.portfolio(active=False)] == ["pf-b"]

    def test_steps_reserved_once_and_finished(self, store: Store) -> None:
        """A step's key is reserved once (the first document kept), then done or failed with its result."""
        first = store.reserve_step(Step("k1", "p1", "book", '{"a": 1}'))
        assert first == Step("k1", "p1", "book", '{"a": 1}')
        assert store.reserve_step(Step("k1", "p1", "book", '{"a": 2}')).document == '{"a": 1}'
        store.reserve_step(Step("k2", "p1", "refund", "{}"))
        store.reserve_step(Step("k3", "p2", "cancel", "{}"))
        assert store.finish_step("k1", '{"deposit": "succeeded"}').status is StepStatus.DONE
        assert store.finish_step("k2", '{"error": "no"}', status=StepStatus.FAILED).result == '{"error": "no"}'
        assert [s.key for s in store.steps(plan_id="p1")] == ["k1", "k2"]
        assert [s.key for s in store.steps(status=StepStatus.STARTED)] == ["k3"]
        assert [s.key for s in store.steps(status=StepStatus.FAILED)] == ["k2"]
        with pytest.raises(StoreError, match="reserved"):
            store.finish_step("never")

    def test_reminders_reserved_once(self, store: Store) -> None:
        """A reminder is reserved once; a second reservation says no; marking it sent is kept."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        assert store.reserve_reminder(plan.id, "r1", D) is True
        assert store.reserve_reminder(plan.id, "r1", D) is False
        store.mark_reminder_sent(plan.id, "r1")
        assert store.reserve_reminder(plan.id, "r1", D) is False
        assert [(r.reminder_id, r.status) for r in store.reminders(plan.id)] == [("r1", ReminderStatus.SENT)]
        with pytest.raises(StoreError, match="reserved"):
            store.mark_reminder_sent(plan.id, "never")

    def test_signed_agreement_once_per_version(self, store: Store) -> None:
        """A signed agreement is kept word for word; signing the same version again is refused."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        signed = SignedAgreement(plan.id, 1, "I agree to pay 2000.00 USD. ✓", "Ana", AT)
        store.save_agreement(signed)
        with pytest.raises(StoreConflictError):
            store.save_agreement(SignedAgreement(plan.id, 1, "other", "Bo", AT))
        assert store.agreements(plan.id) == (signed,)

    def test_evidence_pack_kept_with_the_agreement(self, store: Store) -> None:
        """The evidence pack frozen at signing comes back word for word with the agreement."""
        from payplan.guardrails import Approval, EvidencePack, Sale

        plan = make_plan(_pid())
        store.add_plan(plan)
        pack = EvidencePack.build(plan, Sale("US"), approval=Approval("Ana", AT, ip="203.0.113.7"))
        signed = SignedAgreement(plan.id, 1, "I agree.", "Ana", AT, evidence=pack.to_json())
        store.save_agreement(signed)
        (back,) = store.agreements(plan.id)
        assert back == signed
        assert back.evidence_pack() == pack
        assert back.evidence_sha256 == hashlib.sha256(pack.to_json().encode()).hexdigest()

    # -- operations ----------------------------------------------------------------

    def test_operations_reserved_once_then_completed(self, store: Store) -> None:
        """A key is reserved once (the second reservation returns the first); completion is recorded."""
        op = Operation("payplan:p:v1:charge:i2:a1", "sandbox", "p", "charge", installment=2, amount=Money(50000, "USD"))
        assert store.reserve_operation(op) == op
        again = Operation(op.key, "sandbox", "p", "charge", installment=2, amount=Money(1, "USD"))
        assert store.reserve_operation(again) == op
        done = store.complete_operation(op.key, OperationStatus.UNKNOWN, error="timeout")
        assert done.status is OperationStatus.UNKNOWN
        assert done.amount == Money(50000, "USD")
        assert store.operations(status=OperationStatus.UNKNOWN) == (done,)
        assert store.operations(status=OperationStatus.RESERVED) == ()
        with pytest.raises(StoreError, match="reserved"):
            store.complete_operation("never", OperationStatus.SUCCEEDED)

    def test_charge_through_the_store_after_a_lost_response(self, store: Store) -> None:
        """A charge whose answer was lost is UNKNOWN; the retry reuses the key and charges once."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        sb = sandbox()
        binding = sb.publish(plan, Payer(payment_method_id=SandboxCard.SUCCESS.value))
        sb.inject_fault(SandboxFault.LOST_RESPONSE)
        with pytest.raises(Exception, match="lost response"):
            charge(store, sb, binding, plan, 1)
        (op,) = store.operations(plan_id=plan.id)
        assert op.status is OperationStatus.UNKNOWN
        outcome = charge(store, sb, binding, plan, 1)
        assert outcome.succeeded
        (op,) = store.operations(plan_id=plan.id)
        assert op.status is OperationStatus.SUCCEEDED
        assert op.reference == outcome.reference
        assert [c.verb for c in sb.calls].count("charge") == 2
        assert len({c.idempotency_key for c in sb.calls if c.verb == "charge"}) == 1
        assert len([e for e in sb.reconcile(binding) if e.kind is EventKind.PAYMENT_SUCCEEDED]) == 1

    def test_cancellation_refunded_through_the_provider_once(self, store: Store) -> None:
        """A settlement's refunds go out once per instruction and land once, whatever the webhooks do.

        Plan A: refunded through the store, then the provider's refund events
        arrive twice. Plan B: the provider's events arrive first (the refund was
        sent, the answer lost), then the store carries the settlement out.
        Calling again refunds nothing more.
        """
        sb = sandbox()
        on = D + dt.timedelta(days=40)
        for events_first in (False, True):
            plan = make_plan(_pid())
            store.add_plan(plan)
            binding = sb.publish(plan, Payer(payment_method_id=SandboxCard.SUCCESS.value))
            for n in (1, 2):
                charge(store, sb, binding, plan, n)
            for ev in [e for e in sb.events if e.plan_id == plan.id]:
                store.ingest(ev, b"{}")
            ledger = store.load(plan.id).ledger
            assert ledger.paid == plan.installment(1).amount + plan.installment(2).amount
            settlement = settle_cancellation(plan, ledger, on)
            assert len(settlement.refunds) == 2  # one per provider payment
            store.record_entries(plan.id, settlement.entries)
            if events_first:
                for instruction in settlement.refunds:
                    sb.refund_instruction(binding, instruction)
                for ev in [e for e in sb.events if e.plan_id == plan.id and e.kind is EventKind.REFUNDED]:
                    store.ingest(ev, b"{}")
            made = sb.created
            outcomes = refund_settlement(store, sb, binding, settlement)
            assert [o.amount for o in outcomes] == [i.amount for i in settlement.refunds]
            for _ in range(2):
                for ev in [e for e in sb.events if e.plan_id == plan.id and e.kind is EventKind.REFUNDED]:
                    store.ingest(ev, b"{}")
                refund_settlement(store, sb, binding, settlement)
            after = store.load(plan.id).ledger
            assert after.refunded == settlement.refund == ledger.paid
            assert after.balance.minor == 0
            assert sb.created == made + (0 if events_first else 2)  # no refund made twice
            ops = [o for o in store.operations(plan_id=plan.id) if o.action == "refund"]
            assert sorted(o.key for o in ops) == sorted(i.idempotency_key for i in settlement.refunds)
            assert all(o.status is OperationStatus.SUCCEEDED for o in ops)
        with pytest.raises(StoreError, match="binding of plan"):
            refund_settlement(store, sb, binding, settle_cancellation(make_plan("other"), Ledger.empty(make_plan("other")), on))

    # -- the inbox -----------------------------------------------------------------

    def test_ingest_applies_once(self, store: Store) -> None:
        """An event is applied and kept; the same event again is a duplicate and changes nothing."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        ev = _event(plan.id, 1, EventKind.PAYMENT_SUCCEEDED, 50000)
        first = store.ingest(ev, b"{}")
        assert first.status is InboxStatus.APPLIED
        assert first.recorded == (ev.id,)
        assert store.ingest(ev, b"{}").duplicate
        assert store.load(plan.id).ledger.paid == Money(50000, "USD")
        (kept,) = store.inbox(plan_id=plan.id)
        assert (kept.event, kept.status, kept.attempts) == (ev, InboxStatus.APPLIED, 1)

    def test_refund_before_payment_is_deferred_then_applied(self, store: Store) -> None:
        """A refund before its payment waits as deferred, and applies when the payment arrives."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        pay = _event(plan.id, 1, EventKind.PAYMENT_SUCCEEDED, 50000, seq=1)
        ref = _event(plan.id, 2, EventKind.REFUNDED, 10000, seq=2)
        early = store.ingest(ref, b"r")
        assert early.status is InboxStatus.DEFERRED
        assert "cannot take it yet" in (early.error or "")
        assert len(store.load(plan.id).ledger) == 0
        late = store.ingest(pay, b"p")
        assert late.status is InboxStatus.APPLIED
        assert set(late.recorded) == {pay.id, ref.id}
        assert store.load(plan.id).ledger.net_paid == Money(40000, "USD")
        assert {e.status for e in store.inbox(plan_id=plan.id)} == {InboxStatus.APPLIED}

    def test_unknown_plan_fails_then_retries(self, store: Store) -> None:
        """An event of an unknown plan is kept as failed, and applies on retry once the plan exists."""
        pid = _pid()
        ev = _event(pid, 1, EventKind.PAYMENT_SUCCEEDED, 50000)
        got = store.ingest(ev, b"x")
        assert got.status is InboxStatus.FAILED
        assert pid in (got.error or "")
        assert store.ingest(ev, b"x").status is InboxStatus.FAILED
        (kept,) = store.inbox(status=InboxStatus.FAILED)
        assert kept.attempts == 2
        assert kept.body == b"x"
        store.add_plan(make_plan(pid))
        (retried,) = store.retry_pending()
        assert retried.status is InboxStatus.APPLIED
        assert store.load(pid).ledger.paid == Money(50000, "USD")
        assert store.retry_pending() == ()

    def test_other_currency_fails_and_changes_nothing(self, store: Store) -> None:
        """An event in another currency is kept as failed with a clear error; the ledger is unchanged."""
        plan = make_plan(_pid())
        store.add_plan(plan, entries=[_pay(1)])
        got = store.ingest(_event(plan.id, 1, EventKind.PAYMENT_SUCCEEDED, 50000, currency="EUR"), b"x")
        assert got.status is InboxStatus.FAILED
        assert "expected an amount in USD" in (got.error or "")
        assert store.load(plan.id).ledger == Ledger.empty(plan).record(_pay(1))

    def test_receive_webhook_statuses(self, store: Store) -> None:
        """Applied 200, repeat 200, forged 401, malformed 400, too large 413, ignored 200; only verified events kept."""
        plan = make_plan(_pid())
        store.add_plan(plan)
        sb = sandbox()
        (ev, *_) = plan_events(sb, [plan])
        headers, body = sb.delivery(ev)
        assert receive_webhook(store, sb, headers, body).status == 200
        again = receive_webhook(store, sb, headers, body)
        assert (again.status, again.outcome) == (200, WebhookOutcome.DUPLICATE)
        forged = receive_webhook(store, sb, sb.sign(body, secret="whsec_attacker"), body)
        assert (forged.status, forged.outcome) == (401, WebhookOutcome.FORGED)
        truncated = body[: len(body) // 2]
        assert receive_webhook(store, sb, sb.sign(truncated), truncated).status == 400
        assert receive_webhook(store, sb, headers, truncated).status == 401
        big = b"x" * (10 * 1024 * 1024)
        assert receive_webhook(store, sb, sb.sign(big), big).status == 413
        assert receive_webhook(store, sb, *sb.ping("evt_ping")).status == 200
        assert [e.event.id for e in store.inbox()] == [ev.id]
        assert store.load(plan.id).ledger.paid == ev.amount

    # -- the property --------------------------------------------------------------

    @pytest.fixture
    def new_store(self) -> Callable[[], Store]:  # pragma: no cover - each back end overrides it
        """A factory of empty stores, one per Hypothesis example."""
        raise NotImplementedError

    # Each back end runs it with as many examples as its speed allows in `make test` (see
    # test_backends.py): the memory store the most; the SQL stores run the same property.
    test_any_deliveries_give_the_ordered_ledger = deliveries_property(300)
