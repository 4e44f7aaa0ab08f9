"""Late fees on every provider that can charge them (issue #20 item 1, "must be true" 3).

The daily run charges a late fee through ``charge_fee`` wherever the plan's
provider declares ``CHARGE_FEES``, whoever collects the installments, at the
moment the terms say (``LateFeePolicy.collect``); a fee it does not charge
today is reported held, with why; and the fee's messages say it was
assessed and when it will be charged, never "overdue" or "final notice".

Pack A (deposit $500 charged at booking 2026-12-01; $500 due 2027-01-01, 02-01,
03-01; session 2027-04-15), a $25 late fee the day after a due date; the
client's card declines installment 2 on 2027-01-01 and they pay it on
2027-01-05.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import pytest

from payplan import (
    DepositRule,
    FeeCollection,
    LateFeePolicy,
    LateFeeStep,
    Money,
    PaymentPlan,
    PaymentReceived,
    PlanStatus,
    Terms,
    fees_due,
    plan_status,
    waive_fee,
)
from payplan.engine import RunSummary, run_due
from payplan.notify import Contact, InMemoryNotifier, Message
from payplan.providers import Capability, Payer, fee_key
from payplan.store import MemoryStore, Store, open_store
from payplan.testing import OnDemandSandboxProvider, SandboxCard, SandboxProvider

D = dt.date
BOOKED = D(2026, 12, 1)
ADA = Contact("Ada Lovelace", email="ada@example.com")


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def pack_a(collect: FeeCollection = FeeCollection.AFTER_LAST_INSTALLMENT, plan_id: str = "pack-a") -> PaymentPlan:
    return PaymentPlan.with_deposit(
        plan_id,
        usd("2000.00"),
        terms=Terms(
            deposit=DepositRule.percent_or_minimum(25, usd("500.00")), installments=3,
            late_fees=LateFeePolicy.single(usd("25"), collect=collect),
        ),
        booked=BOOKED,
        session=D(2027, 4, 15),
        client="ada",
    )


def fee_id(plan: PaymentPlan) -> str:
    return f"{plan.id}:late-fee:2:1"


class NoFeesSandbox(SandboxProvider):
    """A provider that autopays and cannot charge a fee on demand."""

    capabilities: ClassVar[frozenset[Capability]] = SandboxProvider.capabilities - {Capability.CHARGE_FEES}


def setup(provider: type[SandboxProvider], collect: FeeCollection) -> tuple[MemoryStore, SandboxProvider, PaymentPlan]:
    store = MemoryStore()
    sb = provider(today=BOOKED)
    plan = pack_a(collect)
    store.add_plan(plan)
    sb.script("pm_ada", SandboxCard.SUCCESS, SandboxCard.DECLINE)  # the deposit; installment 2's first charge
    store.save_binding(sb.publish(plan, Payer(payment_method_id="pm_ada")))
    return store, sb, plan


def run_days(
    store: Store,
    sb: SandboxProvider,
    start: dt.date,
    end: dt.date,
    *,
    plan: PaymentPlan,
    providers: list[SandboxProvider] | None = None,
) -> tuple[RunSummary, InMemoryNotifier]:
    """Each day: the provider's clock (its own charges' events land in the store), the client paying
    installment 2 by hand on 2027-01-05, then the daily run."""
    notifier = InMemoryNotifier()
    total = RunSummary(start)
    day = start
    while day <= end:
        for event in sb.advance_to(day):
            store.ingest(event, b"{}")
        if day == D(2027, 1, 5):
            owed = plan_status(plan, store.load(plan.id).ledger, day).installment(2).outstanding
            if owed.minor:
                store.record_entries(plan.id, [PaymentReceived("by-hand-2", day, owed, "bank_transfer")])
        summary = run_due(store, providers or [sb], day, notifier, contacts={"ada": ADA})
        assert summary.ok, summary.failures
        total = total.merge(summary)
        day += dt.timedelta(days=1)
    return total, notifier


def fee_calls(sb: SandboxProvider) -> list[Any]:
    return [c for c in sb.calls if c.verb == "charge_fee"]


def fee_messages(sent: tuple[Message, ...], plan: PaymentPlan) -> list[Message]:
    return [m for m in sent if f":reminder:fee:{fee_id(plan)}:" in m.id]


class TestFeesWhereTheProviderAutopays:
    """The autopaying sandbox (like Stripe, Square): the provider collects the installments, the run the fees."""

    def test_the_fee_is_charged_once_the_last_installment_is_paid(self) -> None:
        """Default timing: held until the last installment is paid (2027-03-01), then charged once, through charge_fee."""
        store, sb, plan = setup(SandboxProvider, FeeCollection.AFTER_LAST_INSTALLMENT)
        summary, _ = run_days(store, sb, BOOKED, D(2027, 3, 10), plan=plan)
        ledger = store.load(plan.id).ledger
        assert ledger.get(fee_id(plan)) is not None
        calls = fee_calls(sb)
        assert len(calls) == 1, calls
        assert calls[0].idempotency_key == fee_key(plan.id, fee_id(plan), usd("25"))
        paid = ledger.get(f"{plan.id}:fee-charge:{fee_id(plan)}:a1")
        assert isinstance(paid, PaymentReceived)
        assert (paid.on, paid.amount, paid.fee_id) == (D(2027, 3, 1), usd("25"), fee_id(plan))
        assert plan_status(plan, ledger, D(2027, 3, 10)).status is PlanStatus.PAID_IN_FULL
        assert ledger.balance.is_zero()
        # held every day from its assessment to the day it was charged, with why
        assert summary.held == (D(2027, 3, 1) - D(2027, 1, 2)).days
        assert summary.charges == summary.succeeded == 1  # the fee; the installments are the provider's
        held = [a for a in summary.actions if a.kind == "held"]
        assert held[0].detail == (
            f"late fee 25.00 USD ({fee_id(plan)}): charged once every installment is paid (the last is due on 2027-03-01)"
        )

    def test_at_once_pays_the_fee_not_the_installment(self) -> None:
        """At once: charged the day it is assessed, while installment 2 is unpaid; the money pays the fee."""
        store, sb, plan = setup(SandboxProvider, FeeCollection.AT_ONCE)
        summary, _ = run_days(store, sb, BOOKED, D(2027, 1, 2), plan=plan)
        ledger = store.load(plan.id).ledger
        assert [c.idempotency_key for c in fee_calls(sb)] == [fee_key(plan.id, fee_id(plan), usd("25"))]
        status = plan_status(plan, ledger, D(2027, 1, 2))
        assert status.installment(2).outstanding == usd("500")  # not $475: the $25 paid the fee
        assert status.fees_outstanding.is_zero()
        assert summary.held == 0
        # the rest of the plan: the provider collects the installments, nothing more is charged for the fee
        summary, _ = run_days(store, sb, D(2027, 1, 3), D(2027, 3, 10), plan=plan)
        ledger = store.load(plan.id).ledger
        assert len(fee_calls(sb)) == 1
        assert plan_status(plan, ledger, D(2027, 3, 10)).status is PlanStatus.PAID_IN_FULL
        assert ledger.balance.is_zero()

    def test_with_the_next_installment(self) -> None:
        """With the next installment: held until installment 3's due date, then charged on it."""
        store, sb, plan = setup(SandboxProvider, FeeCollection.WITH_NEXT_INSTALLMENT)
        summary, _ = run_days(store, sb, BOOKED, D(2027, 2, 5), plan=plan)
        assert len(fee_calls(sb)) == 1
        paid = store.load(plan.id).ledger.get(f"{plan.id}:fee-charge:{fee_id(plan)}:a1")
        assert paid is not None
        assert paid.on == D(2027, 2, 1)
        assert summary.held == (D(2027, 2, 1) - D(2027, 1, 2)).days
        assert {a.detail.split(": ", 1)[1] for a in summary.actions if a.kind == "held"} == {
            "charged with installment 3 on 2027-02-01"
        }
        ledger = store.load(plan.id).ledger
        assert plan_status(plan, ledger, D(2027, 2, 5)).fees_outstanding.is_zero()

    def test_the_fee_messages_say_assessed_and_when_it_is_charged(self) -> None:
        """Never "overdue" nor "final notice" for the fee the run holds, never "charged on" a day it was only assessed."""
        store, sb, plan = setup(SandboxProvider, FeeCollection.AFTER_LAST_INSTALLMENT)
        _, notifier = run_days(store, sb, BOOKED, D(2027, 3, 10), plan=plan)
        sent = fee_messages(notifier.sent, plan)
        assert [m.date for m in sent] == [D(2027, 1, 9), D(2027, 1, 16)]  # 7 and 14 days after, once installment 2 is paid
        for m in sent:
            assert m.kind == "fee_assessed"
            assert m.subject == "A late fee of $25.00 was added to your plan"
            assert "overdue" not in (m.subject + m.body).lower()
            assert "final notice" not in (m.subject + m.body).lower()
            assert "A late fee of $25.00 was assessed on installment 2 on 2027-01-02." in m.body
            assert "It will be charged to your payment method on file on 2027-03-01." in m.body
        assert not any("charged on 2027-01-02" in m.body for m in notifier.sent)

    def test_a_provider_that_cannot_charge_fees_holds_them_with_why(self) -> None:
        """No CHARGE_FEES: nothing is charged, every day the fee is owed it is reported held, its messages say so."""
        store, sb, plan = setup(NoFeesSandbox, FeeCollection.AT_ONCE)
        summary, notifier = run_days(store, sb, BOOKED, D(2027, 3, 10), plan=plan)
        assert fee_calls(sb) == []
        assert summary.held == (D(2027, 3, 10) - D(2027, 1, 2)).days + 1
        assert {a.detail.split(": ", 1)[1] for a in summary.actions if a.kind == "held"} == {
            "sandbox cannot charge fees: collect it another way and record the payment"
        }
        for m in fee_messages(notifier.sent, plan):
            assert "It is not charged automatically" in m.body
            assert "overdue" not in (m.subject + m.body).lower()

    def test_twice_the_same_day_charges_once_and_a_dry_run_writes_nothing(self) -> None:
        """The fee's day run again charges nothing more; a dry run says it would charge and writes nothing."""
        store, sb, plan = setup(SandboxProvider, FeeCollection.AT_ONCE)
        run_days(store, sb, BOOKED, D(2027, 1, 1), plan=plan)
        entries = len(store.load(plan.id).ledger)
        dry = run_due(store, [sb], D(2027, 1, 2), InMemoryNotifier(), contacts={"ada": ADA}, dry_run=True)
        assert ("charge", f"charge 25.00 USD (fee {fee_id(plan)}, attempt 1) through sandbox") in [
            (a.kind, a.detail) for a in dry.actions
        ]
        assert len(store.load(plan.id).ledger) == entries
        assert fee_calls(sb) == []
        assert store.operations(plan_id=plan.id) == ()
        for _ in range(2):
            run_due(store, [sb], D(2027, 1, 2), InMemoryNotifier(), contacts={"ada": ADA})
        assert len(fee_calls(sb)) == 1


class Acme(SandboxProvider):
    """The provider a plan was first published at (its name sorts before the one it moved to)."""

    name: ClassVar[str] = "acme"


class Zed(SandboxProvider):
    """The provider the plan lives at now (saved last)."""

    name: ClassVar[str] = "zed"


class TestAPlanMovedToAnotherProvider:
    """A plan moved keeps its old binding in the store; the run charges where it lives now
    (:meth:`Store.current_binding`), whatever the order of the providers' names."""

    @pytest.mark.parametrize("backend", ["memory", "sqlite"])
    def test_the_fee_is_charged_at_the_provider_saved_last(self, backend: str, tmp_path: Any) -> None:
        store = MemoryStore() if backend == "memory" else open_store(f"sqlite:///{tmp_path}/p.db", create=True)
        old, new = Acme(today=BOOKED), Zed(today=BOOKED)
        plan = pack_a(FeeCollection.AT_ONCE)
        store.add_plan(plan)
        store.save_binding(old.publish(plan, Payer(payment_method_id="pm_ada")))
        new.script("pm_ada", SandboxCard.SUCCESS, SandboxCard.DECLINE)  # the deposit; installment 2's first charge
        store.save_binding(new.publish(plan, Payer(payment_method_id="pm_ada")))
        assert [b.provider for b in store.bindings(plan.id)] == ["acme", "zed"]
        run_days(store, new, BOOKED, D(2027, 1, 3), plan=plan, providers=[old, new])
        assert fee_calls(old) == []
        assert len(fee_calls(new)) == 1
        paid = store.load(plan.id).ledger.get(f"{plan.id}:fee-charge:{fee_id(plan)}:a1")
        assert isinstance(paid, PaymentReceived)
        assert (paid.amount, paid.method) == (usd("25"), "zed")

    def test_a_plan_whose_provider_is_not_in_the_run_is_not_charged_elsewhere(self) -> None:
        """The run has only the old provider: the fee is held, saying where the plan lives, and nothing is charged."""
        store = MemoryStore()
        old, new = Acme(today=BOOKED), Zed(today=BOOKED)
        plan = pack_a(FeeCollection.AT_ONCE)
        store.add_plan(plan)
        store.save_binding(old.publish(plan, Payer(payment_method_id="pm_ada")))
        new.script("pm_ada", SandboxCard.SUCCESS, SandboxCard.DECLINE)
        store.save_binding(new.publish(plan, Payer(payment_method_id="pm_ada")))
        summary, _ = run_days(store, new, BOOKED, D(2027, 1, 2), plan=plan, providers=[old])
        assert fee_calls(old) == []
        assert fee_calls(new) == []
        assert [a.detail for a in summary.actions if a.kind == "held"] == [
            f"late fee 25.00 USD ({fee_id(plan)}): its provider zed is not in this run: "
            "collect it another way and record the payment"
        ]


class TestFeesOnDemand:
    """The on-demand sandbox, which the run charges for everything."""

    def test_at_once_leaves_the_installment_whole(self) -> None:
        """The fee charged at once pays the fee: installment 2's retry still charges the whole $500."""
        store, sb, plan = setup(OnDemandSandboxProvider, FeeCollection.AT_ONCE)
        sb.script("pm_ada", SandboxCard.SUCCESS, SandboxCard.DECLINE)  # installment 2's retry; the fee's first charge
        notifier = InMemoryNotifier()
        for k in range(70):
            day = BOOKED + dt.timedelta(days=k)
            sb.advance_to(day)
            assert run_due(store, [sb], day, notifier, contacts={"ada": ADA}).ok
        ledger = store.load(plan.id).ledger
        fee_failed = ledger.get(f"{plan.id}:fee-charge:{fee_id(plan)}:a1:failed")
        assert fee_failed is not None
        assert fee_failed.on == D(2027, 1, 2)
        assert ledger.get(f"{plan.id}:charge:2:a2") is not None  # the retry paid installment 2 whole
        assert ledger.get(f"{plan.id}:fee-charge:{fee_id(plan)}:a2") is not None  # retried on the ladder
        assert plan_status(plan, ledger, D(2027, 2, 8)).fees_outstanding.is_zero()


stripe = pytest.importorskip("stripe", reason="the Stripe adapter needs payplan[stripe]")

from payplan.providers.stripe import StripeMode, StripeProvider  # noqa: E402
from payplan.store import charge, receive_webhook  # noqa: E402
from payplan.testing import stripe as fake  # noqa: E402
from payplan.testing.server import FakeServer  # noqa: E402


class TestFeesOnStripe:
    """Stripe collects the installments by itself (a subscription schedule by default, or invoices), through
    its clocked fake; the run charges the fee as an invoice of its own."""

    @pytest.mark.parametrize("mode", [StripeMode.AUTO, StripeMode.INVOICES])
    def test_the_run_charges_the_fee_once_stripe_collected_the_last_installment(self, mode: StripeMode) -> None:
        """Installment 2 declined on its date and paid by Stripe's retry; the $25 fee is held until the last
        installment, then charged once through Stripe; its invoice's own webhook counts the money once."""
        responder = fake.FakeStripe(start=dt.date(2026, 11, 30), webhook_secret="whsec_fees")
        with FakeServer(responder) as server:
            client = stripe.StripeClient("sk_test_fees", base_addresses={"api": server.url}, max_network_retries=0)
            provider = StripeProvider(client, webhook_secret="whsec_fees", mode=mode, clock=responder.clock)
            plan = pack_a()
            store = MemoryStore()
            store.add_plan(plan)
            # the deposit's and installment 2's first charges: then the card pays
            responder.script("pm_card_visa", "pm_card_visa", "pm_card_chargeDeclined")
            store.save_binding(provider.publish(plan, Payer(customer_id="cus_ada", payment_method_id="pm_card_visa")))
            if mode is StripeMode.INVOICES:
                charge(store, provider, store.bindings(plan.id)[0], plan, 1)  # the deposit at signing
            summaries = []
            day = BOOKED
            while day <= D(2027, 3, 10):
                for d in responder.advance_to(day):
                    assert receive_webhook(store, provider, d.headers, d.body).status == 200
                summaries.append(run_due(store, [provider], day, InMemoryNotifier(), contacts={"ada": ADA}))
                for d in responder.take_deliveries():  # what the run's own calls made Stripe send
                    assert receive_webhook(store, provider, d.headers, d.body).status == 200
                day += dt.timedelta(days=1)
        assert all(s.ok for s in summaries), [s.failures for s in summaries]
        ledger = store.load(plan.id).ledger
        assert ledger.get(fee_id(plan)) is not None  # installment 2 declined on 2027-01-01, the fee on 01-02
        charged = [s for s in summaries if s.charges]
        assert [s.as_of for s in charged] == [D(2027, 3, 1)]
        assert charged[0].succeeded == 1
        assert sum(s.held for s in summaries) == (D(2027, 3, 1) - D(2027, 1, 2)).days
        paid = ledger.get(f"{plan.id}:fee-charge:{fee_id(plan)}:a1")
        assert isinstance(paid, PaymentReceived)
        assert (paid.amount, paid.fee_id, paid.method) == (usd("25"), fee_id(plan), "stripe")
        fee_invoices = [o for o in responder.objects.values()
                        if o.get("object") == "invoice" and (o.get("metadata") or {}).get("payplan_fee")]
        assert [(o["id"], o["status"], o["amount_paid"]) for o in fee_invoices] == [(paid.reference, "paid", 2500)]
        (op,) = [o for o in store.operations(plan_id=plan.id) if o.action == "charge_fee"]
        assert op.key == fee_key(plan.id, fee_id(plan), usd("25"))
        assert plan_status(plan, ledger, D(2027, 3, 10)).status is PlanStatus.PAID_IN_FULL
        assert ledger.balance.is_zero()


def two_step_plan() -> PaymentPlan:
    """Pack A with a $25 late fee the day after a due date and $15 more once 10 days overdue,
    both charged with the next installment."""
    return PaymentPlan.with_deposit(
        "pack-a",
        usd("2000.00"),
        terms=Terms(
            deposit=DepositRule.percent_or_minimum(25, usd("500.00")), installments=3,
            late_fees=LateFeePolicy(
                (LateFeeStep.flat(1, usd("25")), LateFeeStep.flat(10, usd("15"))),
                collect=FeeCollection.WITH_NEXT_INSTALLMENT,
            ),
        ),
        booked=BOOKED,
        session=D(2027, 4, 15),
        client="ada",
    )


class TestACatchUpRunAfterAWaiver:
    """A run charges money now: a catch-up run for a day before a waiver recorded since (``payplan run
    --as-of 2027-02-01`` run on 2027-02-05, after the studio waived a fee on 2027-02-03) never charges the
    waived fee, though on 2027-02-01 the fee was still owed; a fee not waived is charged, once.

    Stripe collects the installments through its clocked fake; installment 2's card declines on its date
    and on every Smart Retry, so installment 2 stays unpaid and its late fees (charged with installment 3,
    due 2027-02-01) are held until then. The nightly runs stop after 2027-01-31 (the site's scheduler is
    down) while Stripe's webhooks still arrive; the studio waives a fee on 2027-02-03; on 2027-02-05 the
    operator runs the missed days 2027-02-01 to 2027-02-04.
    """

    def run(self, plan: PaymentPlan, waive: list[str]) -> tuple[Any, fake.FakeStripe, list[RunSummary], list[Any]]:
        """The story above; returns the store, the fake Stripe, the catch-up runs' summaries and the
        requests the fake received during them."""
        responder = fake.FakeStripe(start=dt.date(2026, 11, 30), webhook_secret="whsec_waive")
        store = MemoryStore()
        with FakeServer(responder) as server:
            client = stripe.StripeClient("sk_test_waive", base_addresses={"api": server.url}, max_network_retries=0)
            provider = StripeProvider(client, webhook_secret="whsec_waive", clock=responder.clock)
            store.add_plan(plan)
            # the deposit is paid; installment 2 declines on its date and on each of Stripe's 4 retries
            responder.script("pm_card_visa", "pm_card_visa", *["pm_card_chargeDeclined"] * 5)
            store.save_binding(provider.publish(plan, Payer(customer_id="cus_ada", payment_method_id="pm_card_visa")))

            def deliver(deliveries: list[Any]) -> None:
                for d in deliveries:
                    assert receive_webhook(store, provider, d.headers, d.body).status == 200

            day = BOOKED
            while day <= D(2027, 2, 5):
                deliver(responder.advance_to(day))
                if day <= D(2027, 1, 31):
                    assert run_due(store, [provider], day, InMemoryNotifier(), contacts={"ada": ADA}).ok
                    deliver(responder.take_deliveries())
                if day == D(2027, 2, 3):
                    ledger = store.load(plan.id).ledger
                    store.record_entries(plan.id, [waive_fee(ledger, f, day, "studio goodwill") for f in waive])
                day += dt.timedelta(days=1)
            server.clear()
            summaries = []
            catch_up = D(2027, 2, 1)
            while catch_up <= D(2027, 2, 4):
                summaries.append(run_due(store, [provider], catch_up, InMemoryNotifier(), contacts={"ada": ADA}))
                deliver(responder.take_deliveries())
                catch_up += dt.timedelta(days=1)
            requests = server.requests()
        assert all(s.ok for s in summaries), [s.failures for s in summaries]
        return store, responder, summaries, requests

    @staticmethod
    def fee_invoices(requests: list[Any]) -> list[str]:
        """The fee ids of the fee invoices the adapter asked the fake to create."""
        return [r.form()["metadata[payplan_fee]"] for r in requests
                if r.method == "POST" and r.path == "/v1/invoices" and "metadata[payplan_fee]" in r.form()]

    def test_a_fee_waived_since_is_not_charged(self) -> None:
        """The $25 fee on installment 2, waived on 2027-02-03: the runs for 2027-02-01 to 02-04 ask Stripe for
        no fee charge and record nothing collected, though fees_due as of those days still counts the fee.

        (Stripe's payment of 2027-02-01 pays installment 2, oldest due first, so installment 3 is late too:
        the run for 2027-02-02 assesses its fee, held until installment 4. payplan 0.3 charged the waived
        fee on that run: with a fee owed in the whole ledger, it charged the fees owed as of the day.)"""
        plan = pack_a(FeeCollection.WITH_NEXT_INSTALLMENT)
        store, responder, summaries, requests = self.run(plan, [fee_id(plan)])
        assert self.fee_invoices(requests) == []
        assert not [o for o in responder.objects.values()
                    if o.get("object") == "invoice" and (o.get("metadata") or {}).get("payplan_fee")]
        assert sum(s.charges for s in summaries) == 0
        ledger = store.load(plan.id).ledger
        assert ledger.get(fee_id(plan)) is not None
        assert not [e for e in ledger if ":fee-charge:" in e.id]
        assert not [e for e in ledger if isinstance(e, PaymentReceived) and e.fee_id is not None]
        # reporting stays as of the day: on 2027-02-01 and 02-02 the fee was owed, the waiver came later
        assert [f.id for f in fees_due(plan, ledger, D(2027, 2, 1))] == [fee_id(plan)]
        assert [f.id for f in fees_due(plan, ledger, D(2027, 2, 2))] == [fee_id(plan), f"{plan.id}:late-fee:3:1"]
        assert [f.id for f in fees_due(plan, ledger, D(2027, 2, 3))] == [f"{plan.id}:late-fee:3:1"]
        held = {a.detail for s in summaries for a in s.actions if a.kind == "held"}
        assert held == {f"late fee 25.00 USD ({plan.id}:late-fee:3:1): charged with installment 4 on 2027-03-01"}

    def test_of_two_fees_only_the_one_not_waived_is_charged_once(self) -> None:
        """$25 (2027-01-02) and $15 (2027-01-11) on installment 2, the $15 waived on 2027-02-03: the runs for
        2027-02-01 to 02-04 charge the $25 once, through Stripe, and never the $15."""
        plan = two_step_plan()
        first, second = f"{plan.id}:late-fee:2:1", f"{plan.id}:late-fee:2:2"
        store, responder, summaries, requests = self.run(plan, [second])
        assert self.fee_invoices(requests) == [first]
        assert [s.as_of for s in summaries if s.charges] == [D(2027, 2, 1)]
        assert sum(s.charges for s in summaries) == sum(s.succeeded for s in summaries) == 1
        ledger = store.load(plan.id).ledger
        assert ledger.get(second) is not None
        assert ledger.get(first) is not None
        paid = [e for e in ledger if isinstance(e, PaymentReceived) and e.fee_id is not None]
        assert [(e.id, e.on, e.amount, e.fee_id) for e in paid] == [
            (f"{plan.id}:fee-charge:{first}:a1", D(2027, 2, 1), usd("25"), first)
        ]
        fee_invoices = [o for o in responder.objects.values()
                        if o.get("object") == "invoice" and (o.get("metadata") or {}).get("payplan_fee")]
        assert [(o["metadata"]["payplan_fee"], o["status"], o["amount_paid"]) for o in fee_invoices] == [
            (first, "paid", 2500)
        ]
        assert not [e for e in ledger if e.id.startswith(f"{plan.id}:fee-charge:{second}")]
