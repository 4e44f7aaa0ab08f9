"""Bookings: each lifecycle step over a real store and the sandbox provider, once however often it is called."""

from __future__ import annotations

import datetime as dt

import pytest

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    DepositRule,
    ExplicitDates,
    ExtendDueDate,
    InstallmentState,
    LedgerError,
    Money,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    ProviderConnectionError,
    Refund,
    RuleViolationError,
    StoreConflictError,
    Terms,
    UnsupportedByProviderError,
)
from payplan.bookings import Bookings
from payplan.providers import Capability, Payer
from payplan.store import OperationStatus, SignedAgreement, StepStatus, Store
from payplan.testing import OnDemandSandboxProvider, SandboxCard, SandboxFault, SandboxProvider

BOOKED = dt.date(2026, 12, 1)
SESSION = dt.date(2027, 4, 15)
PAYER = Payer(customer_id="cus_1", payment_method_id=SandboxCard.SUCCESS.value, email="jo@example.com")


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def pack_a(plan_id: str = "bk-1") -> PaymentPlan:
    """Pack A: $2000, $500 deposit, 3 monthly installments of $500; full refund with 30 days' notice."""
    return PaymentPlan.with_deposit(
        plan_id, usd("2000.00"), booked=BOOKED, session=SESSION, installments=3,
        deposit=DepositRule.percent(25), client="jo@example.com",
        terms=Terms(cancellation=CancellationPolicy((CancellationWindow(30, 100),), deposit_refundable=True)),
    )


def signed(plan: PaymentPlan) -> SignedAgreement:
    return SignedAgreement(plan.id, plan.version, "I agree to pay.", "Jo", dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC))


def moved(sandbox: SandboxProvider) -> list[tuple[str, str]]:
    """What the sandbox did (verb and key), for counting provider work."""
    return [(c.verb, c.idempotency_key) for c in sandbox.calls]


class TestBook:
    def test_book_keeps_signs_publishes_and_charges_the_deposit(self, store: Store) -> None:
        """One call stores the plan and the signature, publishes it, keeps the binding and records the deposit."""
        sandbox = SandboxProvider(BOOKED)
        bookings = Bookings(store, [sandbox])
        plan = pack_a()
        booking = bookings.book(plan, PAYER, provider="sandbox", on=BOOKED, agreement=signed(plan))
        assert booking.plan == plan
        assert [a.signed_by for a in booking.agreements] == ["Jo"]
        assert booking.binding is not None
        assert booking.binding.provider == "sandbox"
        assert booking.status(BOOKED).installments[0].status is InstallmentState.PAID
        assert [type(e) for e in booking.ledger] == [PaymentReceived]
        assert [s.status for s in booking.steps] == [StepStatus.DONE]
        assert [o.action for o in store.operations(plan_id=plan.id)] == ["publish", "charge"]

    def test_the_evidence_pack_is_kept_with_the_signature(self, store: Store) -> None:
        """An agreement signed with its evidence pack is stored with it, word for word."""
        from attrs import evolve

        from payplan.guardrails import Approval, EvidencePack, Sale

        plan = pack_a("bk-evidence")
        pack = EvidencePack.build(plan, Sale("US"), approval=Approval("Jo", dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC)))
        agreement = evolve(signed(plan), evidence=pack.to_json())
        booking = Bookings(store, [SandboxProvider(BOOKED)]).book(
            plan, PAYER, provider="sandbox", on=BOOKED, agreement=agreement
        )
        assert [a.evidence_pack() for a in booking.agreements] == [pack]

    @pytest.mark.parametrize(("day", "refund"), [(14, "500.00"), (15, "0.00")])
    def test_cancel_inside_the_withdrawal_period_refunds_the_deposit(self, store: Store, day: int, refund: str) -> None:
        """Signed in GB at a distance (the evidence pack's sale), a cancellation on day 14 refunds the non-refundable deposit; day 15 keeps it."""
        from attrs import evolve

        from payplan.guardrails import (
            Approval,
            EvidencePack,
            FirstPayment,
            Sale,
            Signing,
            StoredCredentialConsent,
        )

        plan = pack_a(f"bk-withdraw-{day}")
        plan = evolve(plan, terms=evolve(plan.terms, cancellation=CancellationPolicy(deposit_refundable=False)))
        pack = EvidencePack.build(
            plan, Sale("GB"), approval=Approval("Jo", dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC)),
            signing=Signing(StoredCredentialConsent.for_plan(plan, last4="4242"), FirstPayment("dep", "sandbox")),
        )
        bookings = Bookings(store, [SandboxProvider(BOOKED)])
        bookings.book(plan, PAYER, provider="sandbox", on=BOOKED, agreement=evolve(signed(plan), evidence=pack.to_json()))
        on = BOOKED + dt.timedelta(days=day)
        preview = bookings.cancel_preview(plan.id, on=on)
        assert preview.refund == usd(refund)
        assert bookings.cancel(plan.id, on=on).settlement.refund == usd(refund)  # type: ignore[union-attr]

    def test_an_accepted_proposal_is_booked_like_a_quote(self, store: Store) -> None:
        """The client's own amounts and dates (propose): stored, published and its first part charged."""
        from payplan import REFERENCE_CATALOG_TOML, Catalog, ProposedParts, propose

        pack_a = Catalog.from_toml(REFERENCE_CATALOG_TOML)["Session Pack A"]
        plan = propose(pack_a, "bk-p", ProposedParts([
            (BOOKED, usd("600.00")), (dt.date(2027, 1, 10), usd("500.00")), (dt.date(2027, 2, 1), usd("450.00")),
            (dt.date(2027, 3, 1), usd("450.00")),
        ]), booked=BOOKED, session=SESSION)
        sandbox = SandboxProvider(BOOKED)
        booking = Bookings(store, [sandbox]).book(plan, PAYER, provider="sandbox", on=BOOKED)
        assert booking.plan == plan
        assert booking.ledger.paid == usd("600.00")
        assert [c.verb for c in sandbox.calls] == ["publish", "charge"]

    def test_booking_again_does_nothing_more(self, store: Store) -> None:
        """A second book() with the same arguments sends nothing and records nothing."""
        sandbox = SandboxProvider(BOOKED)
        bookings = Bookings(store, [sandbox])
        plan = pack_a()
        first = bookings.book(plan, PAYER, provider="sandbox", on=BOOKED, agreement=signed(plan))
        calls = moved(sandbox)
        again = bookings.book(plan, PAYER, provider="sandbox", on=BOOKED, agreement=signed(plan))
        assert moved(sandbox) == calls
        assert again.ledger == first.ledger
        assert again.binding == first.binding

    def test_another_plan_under_the_same_id_is_refused(self, store: Store) -> None:
        """Booking a different plan under a booked id is a conflict, and nothing changes."""
        bookings = Bookings(store, [SandboxProvider(BOOKED)])
        bookings.book(pack_a(), PAYER, provider="sandbox", on=BOOKED)
        other = PaymentPlan.with_deposit("bk-1", usd("3000.00"), booked=BOOKED, session=SESSION, installments=3)
        with pytest.raises(StoreConflictError, match="other arguments"):
            bookings.book(other, PAYER, provider="sandbox", on=BOOKED)
        assert store.load("bk-1").plan == pack_a()

    def test_a_plan_the_provider_cannot_express_writes_nothing(self, store: Store) -> None:
        """A provider's refusal of the plan comes before anything is stored."""

        class NoCadence(SandboxProvider):
            capabilities = SandboxProvider.capabilities - {Capability.ARBITRARY_DATES}

        plan = PaymentPlan.with_deposit(
            "odd", usd("2000.00"), booked=BOOKED, session=SESSION, installments=2,
            dates=ExplicitDates((dt.date(2027, 1, 3), dt.date(2027, 3, 20))),
        )
        with pytest.raises(UnsupportedByProviderError):
            Bookings(store, [NoCadence(BOOKED)]).book(plan, PAYER, provider="sandbox", on=BOOKED)
        assert store.plan_ids() == ()
        assert store.steps() == ()

    def test_a_lost_answer_is_finished_by_resume_without_charging_twice(self, store: Store) -> None:
        """The deposit's answer is lost; resume() records the payment, and the sandbox charged once."""
        sandbox = SandboxProvider(BOOKED)
        bookings = Bookings(store, [sandbox])
        plan = pack_a()
        # publish goes through; the deposit's charge is done at the provider and its answer lost
        real_charge = sandbox.charge

        def lose_answer(*args: object, **kw: object) -> object:
            sandbox.inject_fault(SandboxFault.LOST_RESPONSE)
            return real_charge(*args, **kw)  # type: ignore[arg-type]

        sandbox.charge = lose_answer  # type: ignore[method-assign]
        with pytest.raises(ProviderConnectionError):
            bookings.book(plan, PAYER, provider="sandbox", on=BOOKED)
        sandbox.charge = real_charge  # type: ignore[method-assign]
        (step,) = store.steps(status=StepStatus.STARTED)
        assert step.name == "book"
        assert store.load(plan.id).ledger.paid.minor == 0
        assert [o.status for o in store.operations(plan_id=plan.id)] == [OperationStatus.SUCCEEDED, OperationStatus.UNKNOWN]
        bookings.resume()
        assert store.load(plan.id).ledger.paid == usd("500.00")
        assert store.steps(status=StepStatus.STARTED) == ()
        assert sandbox.created == 1 + 1  # one plan, one charge: the second call replayed the first


class TestAmend:
    def test_amend_saves_the_version_and_syncs_the_provider(self, store: Store) -> None:
        """A new version with its record, the provider updated to it, the binding saved at it."""
        sandbox = SandboxProvider(BOOKED)
        bookings = Bookings(store, [sandbox])
        bookings.book(pack_a(), PAYER, provider="sandbox", on=BOOKED)
        booking = bookings.amend(
            "bk-1", ExtendDueDate(3, to=dt.date(2027, 2, 20)), on=dt.date(2026, 12, 5), by="owner",
            reason="client asked", consent=True,
        )
        assert booking.plan.version == 2
        assert booking.binding is not None
        assert booking.binding.plan_version == 2
        (record,) = booking.history.records
        assert (record.by, record.reason, record.consent) == ("owner", "client asked", True)
        calls = moved(sandbox)
        again = bookings.amend(
            "bk-1", ExtendDueDate(3, to=dt.date(2027, 2, 20)), on=dt.date(2026, 12, 5), by="owner",
            reason="client asked", consent=True,
        )
        assert again.plan.version == 2
        assert moved(sandbox) == calls

    def test_a_refused_amendment_leaves_nothing(self, store: Store) -> None:
        """An amendment the rules forbid raises before any step or version is written."""
        bookings = Bookings(store, [SandboxProvider(BOOKED)])
        bookings.book(pack_a(), PAYER, provider="sandbox", on=BOOKED)
        with pytest.raises(RuleViolationError):
            bookings.amend("bk-1", ExtendDueDate(3, to=dt.date(2027, 4, 14)), on=BOOKED, by="o", reason="r")
        assert [s.name for s in store.steps()] == ["book"]
        assert store.load("bk-1").plan.version == 1


class TestCancel:
    def test_preview_changes_nothing(self, store: Store) -> None:
        """cancel_preview settles on paper only."""
        bookings = Bookings(store, [SandboxProvider(BOOKED)])
        bookings.book(pack_a(), PAYER, provider="sandbox", on=BOOKED)
        before = store.load("bk-1")
        settlement = bookings.cancel_preview("bk-1", on=dt.date(2026, 12, 10))
        assert settlement.refund == usd("500.00")
        assert store.load("bk-1") == before
        assert [s.name for s in store.steps()] == ["book"]

    def test_cancel_settles_stops_refunds_and_deactivates_once(self, store: Store) -> None:
        """The settlement recorded, the sandbox stopped, the deposit refunded, the plan out of the run; once."""
        sandbox = SandboxProvider(BOOKED)
        bookings = Bookings(store, [sandbox])
        bookings.book(pack_a(), PAYER, provider="sandbox", on=BOOKED)
        booking = bookings.cancel("bk-1", on=dt.date(2026, 12, 10), reason="client cancelled")
        assert booking.cancelled
        assert not booking.active
        assert booking.settlement is not None
        assert booking.settlement.refund == usd("500.00")
        assert booking.ledger.refunded == usd("500.00")
        assert [c.verb for c in sandbox.calls].count("refund") == 1
        assert [c.verb for c in sandbox.calls].count("cancel") == 1
        calls = moved(sandbox)
        assert bookings.cancel("bk-1", on=dt.date(2026, 12, 10), reason="client cancelled").ledger == booking.ledger
        assert moved(sandbox) == calls
        with pytest.raises(StoreConflictError, match="2026-12-10"):
            bookings.cancel("bk-1", on=dt.date(2026, 12, 11))


class TestRefund:
    @pytest.mark.parametrize("lowers_price", [False, True])
    def test_refund_is_recorded_as_asked_and_sent_once(self, store: Store, lowers_price: bool) -> None:
        """A reversal or a price reduction, recorded under the provider refund's id, sent once."""
        sandbox = SandboxProvider(BOOKED)
        bookings = Bookings(store, [sandbox])
        bookings.book(pack_a(), PAYER, provider="sandbox", on=BOOKED)
        (outcome,) = bookings.refund("bk-1", usd("50.00"), on=BOOKED, reason="goodwill", lowers_price=lowers_price)
        (entry,) = [e for e in store.load("bk-1").ledger if isinstance(e, Refund)]
        assert entry.lowers_price is lowers_price
        assert entry.amount == usd("50.00")
        assert entry.reference == outcome.reference
        calls = moved(sandbox)
        bookings.refund("bk-1", usd("50.00"), on=BOOKED, reason="goodwill", lowers_price=lowers_price)
        assert moved(sandbox) == calls
        bookings.refund("bk-1", usd("50.00"), on=BOOKED, reason="goodwill", lowers_price=lowers_price, request="2")
        assert [c.verb for c in sandbox.calls].count("refund") == 2

    def test_more_than_was_paid_is_refused_before_anything_is_sent(self, store: Store) -> None:
        """A refund above what was paid is a LedgerError; no step, no call."""
        sandbox = SandboxProvider(BOOKED)
        bookings = Bookings(store, [sandbox])
        bookings.book(pack_a(), PAYER, provider="sandbox", on=BOOKED)
        with pytest.raises(LedgerError):
            bookings.refund("bk-1", usd("600.00"), on=BOOKED, reason="too much")
        assert "refund" not in [c.verb for c in sandbox.calls]
        assert [s.name for s in store.steps()] == ["book"]


class TestPayNow:
    def test_pay_now_charges_what_is_overdue_once(self, store: Store) -> None:
        """Two installments overdue: both charged, each once, under the daily run's keys and ids."""
        sandbox = OnDemandSandboxProvider(BOOKED)
        bookings = Bookings(store, [sandbox])
        bookings.book(pack_a(), PAYER, provider="sandbox", on=BOOKED)
        day = dt.date(2027, 2, 10)
        outcomes = bookings.pay_now("bk-1", on=day)
        assert [o.installment for o in outcomes] == [2, 3]
        ledger = store.load("bk-1").ledger
        assert ledger.paid == usd("1500.00")
        assert {e.id for e in ledger} >= {"bk-1:charge:2:a1", "bk-1:charge:3:a1"}
        assert bookings.pay_now("bk-1", on=day) == outcomes  # the same step: nothing charged again
        assert [c.verb for c in sandbox.calls].count("charge") == 3
        assert bookings.pay_now("bk-1", on=day, request="again") == ()  # nothing owed
        assert bookings.collect(day).charges == 0

    def test_a_decline_is_recorded_and_a_new_request_tries_again(self, store: Store) -> None:
        """A declined charge is a failure in the ledger; a new request is a new attempt number."""
        sandbox = OnDemandSandboxProvider(BOOKED)
        method = "pm-script"
        sandbox.script(method, SandboxCard.SUCCESS, SandboxCard.DECLINE, SandboxCard.SUCCESS)
        bookings = Bookings(store, [sandbox])
        bookings.book(pack_a(), Payer(customer_id="c", payment_method_id=method), provider="sandbox", on=BOOKED)
        day = dt.date(2027, 1, 5)
        (declined,) = bookings.pay_now("bk-1", on=day)
        assert declined.status.value == "declined"
        assert any(isinstance(e, PaymentFailed) for e in store.load("bk-1").ledger)
        (paid,) = bookings.pay_now("bk-1", on=day, request="card-updated")
        assert paid.succeeded
        assert paid.attempt == 2


    def test_pay_now_charges_a_late_fee_once_the_installments_are_paid(self, store: Store) -> None:
        """A late fee owed, installments paid: pay_now charges the fee (charge_fee, reserved under fee_key), once."""
        from payplan import LateFeePolicy
        from payplan.providers import fee_key

        plan = PaymentPlan.with_deposit(
            "bk-f", usd("2000.00"), booked=BOOKED, session=SESSION, installments=3,
            deposit=DepositRule.percent(25), terms=Terms(late_fees=LateFeePolicy.single(usd("25.00"), grace_days=5)),
        )
        sandbox = OnDemandSandboxProvider(BOOKED)
        sandbox.script("pm-late", SandboxCard.SUCCESS, SandboxCard.DECLINE, SandboxCard.SUCCESS, SandboxCard.SUCCESS)
        bookings = Bookings(store, [sandbox])
        bookings.book(plan, Payer(payment_method_id="pm-late"), provider="sandbox", on=BOOKED)
        day = dt.date(2027, 1, 10)
        bookings.collect(dt.date(2027, 1, 1))  # the installment is declined
        bookings.collect(day)  # a late fee once the grace period is over (and the retry)
        ledger = store.load("bk-f").ledger
        assert ledger.fees == usd("25.00")
        assert store.load("bk-f").ledger.paid == usd("1000.00")  # the retry paid the installment
        (fee,) = bookings.pay_now("bk-f", on=day, request="the fee")
        assert fee.succeeded
        assert fee.fee_id is not None
        ops = [o for o in store.operations(plan_id="bk-f") if o.action == "charge_fee"]
        assert [o.key for o in ops] == [fee_key("bk-f", fee.fee_id, usd("25.00"))]
        assert store.load("bk-f").ledger.balance == usd("1000.00")
        calls = moved(sandbox)
        assert bookings.pay_now("bk-f", on=day, request="the fee") == (fee,)
        assert moved(sandbox) == calls


class TestStoreAdditions:
    def test_current_binding_is_the_one_saved_last(self, store: Store) -> None:
        """Of two providers' bindings, the current one is the one saved last, whatever the names sort to."""
        from payplan.providers import ProviderBinding

        store.add_plan(pack_a())
        assert store.current_binding("bk-1") is None
        store.save_binding(ProviderBinding("zeta", "bk-1", 1, {"plan": "z1"}))
        store.save_binding(ProviderBinding("alpha", "bk-1", 1, {"plan": "a1"}))
        assert store.current_binding("bk-1").provider == "alpha"  # type: ignore[union-attr]
        store.save_binding(ProviderBinding("zeta", "bk-1", 2, {"plan": "z2"}))
        assert store.current_binding("bk-1").ids["plan"] == "z2"  # type: ignore[union-attr]

    def test_portfolio_is_every_plan_with_its_ledger(self, store: Store) -> None:
        """The book the reports take, all plans or the active ones."""
        from payplan import aging

        bookings = Bookings(store, [SandboxProvider(BOOKED)])
        bookings.book(pack_a("a"), PAYER, provider="sandbox", on=BOOKED)
        bookings.book(pack_a("b"), PAYER, provider="sandbox", on=BOOKED)
        bookings.cancel("b", on=dt.date(2026, 12, 10))
        assert [p.id for p, _ in store.portfolio()] == ["a", "b"]
        assert [p.id for p, _ in store.portfolio(active=True)] == ["a"]
        assert [p.id for p, _ in store.portfolio(active=False)] == ["b"]
        assert store.portfolio()[0][1] == store.load("a").ledger
        assert aging(store.portfolio(), dt.date(2027, 2, 10)).total.minor > 0


class TestRefusals:
    def test_a_refused_charge_fails_the_step_and_resume_leaves_it(self, store: Store) -> None:
        """A provider that refuses a charge: the step is FAILED (not resumed forever); calling again retries it."""

        class NoCharges(OnDemandSandboxProvider):
            refuse = True

            def charge(self, *args: object, **kw: object) -> object:  # type: ignore[override]
                if self.refuse:
                    raise UnsupportedByProviderError("sandbox will not charge this plan now", provider="sandbox")
                return super().charge(*args, **kw)  # type: ignore[arg-type]

        sandbox = NoCharges(BOOKED)
        bookings = Bookings(store, [sandbox])
        bookings.book(pack_a(), PAYER, provider="sandbox", on=BOOKED, charge_deposit=False)
        with pytest.raises(UnsupportedByProviderError):
            bookings.pay_now("bk-1", on=dt.date(2027, 1, 5))
        (step,) = [s for s in store.steps() if s.name == "pay_now"]
        assert step.status is StepStatus.FAILED
        assert "will not charge" in (step.result or "")
        assert bookings.resume() == ()
        sandbox.refuse = False
        outcomes = bookings.pay_now("bk-1", on=dt.date(2027, 1, 5))
        assert [o.installment for o in outcomes] == [1, 2]
        assert [s.status for s in store.steps() if s.name == "pay_now"] == [StepStatus.DONE]

    def test_goodwill_on_a_provider_that_cannot_carry_it_sends_nothing(self, store: Store) -> None:
        """lowers_price=True where the provider lacks GOODWILL_REFUNDS: refused before any step or call."""

        class Plain(SandboxProvider):
            capabilities = SandboxProvider.capabilities - {Capability.GOODWILL_REFUNDS}

        sandbox = Plain(BOOKED)
        bookings = Bookings(store, [sandbox])
        bookings.book(pack_a(), PAYER, provider="sandbox", on=BOOKED)
        with pytest.raises(UnsupportedByProviderError, match="goodwill"):
            bookings.refund("bk-1", usd("50.00"), on=BOOKED, reason="late", lowers_price=True)
        assert [s.name for s in store.steps()] == ["book"]
        assert "refund" not in [c.verb for c in sandbox.calls]

    def test_a_provider_that_cannot_charge_on_demand_takes_the_deposit_itself(self, store: Store) -> None:
        """Without CHARGE_NOW (PayPal's setup fee, Square's deposit request) book() publishes and charges nothing."""

        class Approves(SandboxProvider):
            capabilities = SandboxProvider.capabilities - {Capability.CHARGE_NOW}

        sandbox = Approves(BOOKED)
        booking = Bookings(store, [sandbox]).book(pack_a(), PAYER, provider="sandbox", on=BOOKED)
        assert [c.verb for c in sandbox.calls] == ["publish"]
        assert booking.ledger.paid.minor == 0
        assert [s.status for s in booking.steps] == [StepStatus.DONE]
        assert "collected by the provider" in (booking.steps[0].result or "")


class TestStepDocuments:
    def test_a_settlement_is_kept_whole(self) -> None:
        """Every field of a settlement comes back from the step's document, those added to the class later too."""
        import attrs

        from payplan import Ledger, settle_cancellation
        from payplan.bookings import _steps

        plan = pack_a()
        ledger = Ledger.empty(plan).record(PaymentReceived("p1", BOOKED, usd("500.00"), "sandbox", "ch_1"))
        settlement = settle_cancellation(plan, ledger, dt.date(2026, 12, 10))
        for field in attrs.fields(type(settlement)):
            assert field.name in _steps.settlement_to(settlement)
        assert settlement.refunds
        varied = attrs.evolve(settlement, no_show=True, reschedule=True)
        for s in (settlement, varied):
            assert _steps.settlement_from(_steps.settlement_to(s), plan.fee.currency) == s


class TestResumeDamaged:
    """A hand-edited step row stops its own plan's resume, not the other plans' (#21: one bad row, not the whole run)."""

    @pytest.mark.parametrize("row", ["step", "plan"])
    @pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
    def test_the_other_plans_are_finished_and_the_damage_is_raised(
        self, backend: str, row: str, request: pytest.FixtureRequest
    ) -> None:
        """bk-2's step row, or its plan document, edited by hand: bk-1 and bk-3 are finished all the same."""
        sqlalchemy = pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store]")
        from payplan import DamagedRowError
        from payplan.store._schema import plans as plans_table
        from payplan.store._schema import steps as steps_table

        store = Store.open(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
        try:
            sandbox = SandboxProvider(BOOKED)
            bookings = Bookings(store, [sandbox])
            real_charge = sandbox.charge

            def lose_answer(*args: object, **kw: object) -> object:
                sandbox.inject_fault(SandboxFault.LOST_RESPONSE)
                return real_charge(*args, **kw)  # type: ignore[arg-type]

            sandbox.charge = lose_answer  # type: ignore[method-assign]
            for plan_id in ("bk-1", "bk-2", "bk-3"):
                with pytest.raises(ProviderConnectionError):
                    bookings.book(pack_a(plan_id), PAYER, provider="sandbox", on=BOOKED)
            sandbox.charge = real_charge  # type: ignore[method-assign]
            with store.engine.begin() as conn:  # type: ignore[attr-defined]
                table = steps_table if row == "step" else plans_table
                document = '{"edited":1}' if row == "step" else str(conn.execute(
                    sqlalchemy.select(plans_table.c.document).where(plans_table.c.plan_id == "bk-2")
                ).scalar_one()).replace("2000", "1999", 1)
                edited = conn.execute(sqlalchemy.update(table).where(table.c.plan_id == "bk-2").values(document=document))
                assert edited.rowcount == 1
            with pytest.raises(DamagedRowError) as caught:
                bookings.resume()
            assert caught.value.plan_id == "bk-2"
            assert store.load("bk-1").ledger.paid == usd("500.00")
            assert store.load("bk-3").ledger.paid == usd("500.00")
            if row == "step":
                assert store.load("bk-2").ledger.paid == usd("0.00")
            else:
                with pytest.raises(DamagedRowError):
                    store.load("bk-2")
            with pytest.raises(DamagedRowError):  # asked for that plan alone, its damage is the answer
                bookings.resume("bk-2")
        finally:
            store.close()
